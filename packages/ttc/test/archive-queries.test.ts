// The archive queries the TTC answers over the bus (QueryTelemetry,
// QueryEvents): what ground tools such as the gateway read history with.
import { afterEach, describe, expect, it } from "vitest";
import { umbra, type InitOf } from "@umbra/proto";
import { Ack } from "@umbra/ccsds";
import { startStack, type Stack } from "./support/stack.js";

const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop();
});

const COUNTER = 0x7f0;

async function stack(): Promise<Stack> {
  const s = await startStack();
  stacks.push(s);
  return s;
}

const queryTelemetry = (s: Stack, q: InitOf<typeof umbra.ttc.v1.QueryTelemetry>) =>
  s.bus.request(umbra.ttc.v1.QueryTelemetry, q, umbra.ttc.v1.TelemetrySeries, { target: "ttc", timeoutMs: 5_000 });
const queryEvents = (s: Stack, q: InitOf<typeof umbra.ttc.v1.QueryEvents>) =>
  s.bus.request(umbra.ttc.v1.QueryEvents, q, umbra.ttc.v1.EventList, { target: "ttc", timeoutMs: 5_000 });

/** Some history: the counter's count moving and its limit event. */
async function history(s: Stack): Promise<{ t0: bigint; t1: bigint }> {
  const t0 = s.clock.nowTaiNs();
  await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 5n }]));
  await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 10n }, Ack.ALL));
  await s.clock.advance(5_000);
  await s.settle();
  return { t0, t1: s.clock.nowTaiNs() };
}

describe("TTC archive queries over the bus", () => {
  it("answers a telemetry range with the archived samples, in time order, exact for int64", async () => {
    const s = await stack();
    const { t0, t1 } = await history(s);
    const r = await queryTelemetry(s, { service: "counter", name: "count", fromNs: t0, toNs: t1 });
    expect(r.error).toBe("");
    const direct = s.archive.samples("counter", "count", t0, t1);
    expect(r.points.length).toBe(direct.length);
    expect(r.points.length).toBeGreaterThanOrEqual(3);
    expect(r.truncated).toBe(false);
    const times = r.points.map((p) => BigInt(p.tNs));
    expect(times).toEqual([...direct.tNs]);
    const last = r.points.at(-1)!;
    expect(last.value).toBe("integer");
    expect(BigInt(last.integer!)).toBe(10n);
  });

  it("keeps the earliest `limit` samples and says the range held more", async () => {
    const s = await stack();
    const { t0, t1 } = await history(s);
    const r = await queryTelemetry(s, { service: "counter", name: "count", fromNs: t0, toNs: t1, limit: 2 });
    expect(r.points).toHaveLength(2);
    expect(r.truncated).toBe(true);
    expect(r.points.map((p) => BigInt(p.tNs))).toEqual([...s.archive.samples("counter", "count", t0, t1).tNs].slice(0, 2));
  });

  it("answers an unknown parameter with an empty series, not an error", async () => {
    const s = await stack();
    const { t0, t1 } = await history(s);
    const r = await queryTelemetry(s, { service: "counter", name: "nope", fromNs: t0, toNs: t1 });
    expect(r.error).toBe("");
    expect(r.points).toHaveLength(0);
  });

  it("refuses bad queries with the reason and answers the next good one", async () => {
    const s = await stack();
    const { t0, t1 } = await history(s);
    const backwards = await queryTelemetry(s, { service: "counter", name: "count", fromNs: t1, toNs: t0 });
    expect(backwards.error).toMatch(/toNs/);
    expect(backwards.points).toHaveLength(0);
    expect((await queryTelemetry(s, { service: "", name: "count", fromNs: t0, toNs: t1 })).error).toMatch(/service/);
    expect((await queryTelemetry(s, { service: "x".repeat(500), name: "count", fromNs: t0, toNs: t1 })).error).toMatch(/service/);
    expect((await queryTelemetry(s, { service: "counter", name: "count", fromNs: t0, toNs: t1, limit: 100_001 })).error).toMatch(/limit/);
    expect((await queryEvents(s, { fromNs: t0, toNs: t1, minSeverity: "catastrophic" })).error).toMatch(/minSeverity/);
    expect((await queryEvents(s, { fromNs: t0, toNs: t1, limit: 10_001 })).error).toMatch(/limit/);
    const good = await queryTelemetry(s, { service: "counter", name: "count", fromNs: t0, toNs: t1 });
    expect(good.error).toBe("");
    expect(good.points.length).toBeGreaterThan(0);
  });

  it("answers events by range, severity and service, with their arguments as JSON", async () => {
    const s = await stack();
    const { t0, t1 } = await history(s);
    const all = await queryEvents(s, { fromNs: t0, toNs: t1 });
    expect(all.error).toBe("");
    const limit = all.events.find((e) => e.service === "counter" && e.name === "limitExceeded");
    expect(limit).toBeDefined();
    expect(typeof JSON.parse(limit!.argsJson)).toBe("object");
    expect(["info", "low", "medium", "high"]).toContain(limit!.severity);
    const onlyCounter = await queryEvents(s, { fromNs: t0, toNs: t1, service: "counter" });
    expect(onlyCounter.events.every((e) => e.service === "counter")).toBe(true);
    const high = await queryEvents(s, { fromNs: t0, toNs: t1, minSeverity: "high" });
    expect(high.events.every((e) => e.severity === "high")).toBe(true);
    const none = await queryEvents(s, { fromNs: t1 + 1n, toNs: t1 + 1_000_000_000n });
    expect(none.events).toHaveLength(0);
    if (all.events.length > 1) {
      const one = await queryEvents(s, { fromNs: t0, toNs: t1, limit: 1 });
      expect(one.events).toHaveLength(1);
      expect(one.truncated).toBe(true);
    }
  });
});
