import { describe, expect, it } from "vitest";
import { ServiceHarness } from "@umbra/core/testing";
import { umbra } from "@umbra/proto";
import { CounterService } from "../src/service.js";

const { CommandStatus, ServiceState } = umbra.core.v1;

describe("counter service", () => {
  it("adds, reports telemetry and raises limitExceeded once when crossing the limit", async () => {
    const h = await ServiceHarness.start((ctx) => new CounterService(ctx), { parameters: { limit: 10 } });
    const r1 = await h.command("add", { amount: 7 });
    expect(r1.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r1.message).toBe("count is 7");
    await h.command("add", { amount: 5 });
    await h.command("add", { amount: 5 });
    expect(h.events("limitExceeded")).toHaveLength(1);
    expect(h.events("limitExceeded")[0]!.args["count"]).toBe("12");
    expect(h.telemetry("count").map((s) => s.value)).toEqual([7, 12, 17]);
    await h.stop();
  });

  it("rejects out-of-range arguments without changing the count", async () => {
    const h = await ServiceHarness.start((ctx) => new CounterService(ctx));
    for (const amount of [0, 1001, -1001, 2n ** 62n]) {
      const r = await h.command("add", { amount });
      expect(r.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT);
      expect(r.message).toMatch(/^amount: (-?\d+ is (below the minimum -1000|above the maximum 1000)|must not be 0)$/);
    }
    expect(h.service.value).toBe(0);
    await h.stop();
  });

  it("refuses add while frozen (precondition) and accepts it again after unfreezing", async () => {
    const h = await ServiceHarness.start((ctx) => new CounterService(ctx));
    expect((await h.setParameters({ frozen: true })).ok).toBe(true);
    const r = await h.command("add", { amount: 1 });
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION);
    expect(h.service.value).toBe(0);
    await h.setParameters({ frozen: false });
    expect((await h.command("add", { amount: 1 })).status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    await h.stop();
  });

  it("reports telemetry at the period parameter in simulated time and heartbeats every second", async () => {
    const h = await ServiceHarness.start((ctx) => new CounterService(ctx));
    await h.advance(10_000);
    expect(h.telemetry("count")).toHaveLength(10);
    await h.setParameters({ reportPeriodMs: 500 });
    await h.advance(10_000);
    expect(h.telemetry("count")).toHaveLength(30);
    const beats = h.heartbeats();
    expect(beats.length).toBeGreaterThanOrEqual(21);
    expect(beats.at(-1)!.state).toBe(ServiceState.SERVICE_STATE_RUNNING);
    expect(beats.at(-1)!.uptimeMs).toBe(20_000n);
    await h.stop();
  });

  it("keeps every parameter unchanged when one value of an atomic set is out of range", async () => {
    const h = await ServiceHarness.start((ctx) => new CounterService(ctx));
    const report = await h.setParameters({ limit: 50, reportPeriodMs: 5 });
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/reportPeriodMs: 5 is below the minimum 100/);
    expect(await h.getParameters()).toEqual({ limit: 100, reportPeriodMs: 1000, frozen: false });
    await h.stop();
  });
});
