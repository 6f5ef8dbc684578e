// BusOptions.timeoutClock: request timeouts run on it, everything else on the bus's clock.
import { describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { Bus } from "../../src/bus/bus.js";
import { BusTimeoutError } from "../../src/bus/errors.js";
import { SimClock } from "../../src/time/sim-clock.js";

describe("Bus timeoutClock", () => {
  it("times requests out on the timeout clock, not on the mission clock", async () => {
    const mission = new SimClock();
    const wall = new SimClock();
    const bus = new Bus({ node: "n", clock: mission, timeoutClock: wall, requestTimeoutMs: 1000 });
    expect(bus.timeoutClock).toBe(wall);
    let outcome: unknown;
    bus.request(umbra.core.v1.GetParameters, { service: "nobody" }, umbra.core.v1.ParameterReport).then(
      () => (outcome = "answered"),
      (err: unknown) => (outcome = err),
    );
    await mission.advance(10_000);
    expect(outcome).toBeUndefined();
    await wall.advance(999);
    expect(outcome).toBeUndefined();
    await wall.advance(1);
    expect(outcome).toBeInstanceOf(BusTimeoutError);
    expect(bus.stats().requestsTimedOut).toBe(1n);
    bus.close();
  });

  it("stamps envelopes and runs stats on the mission clock", async () => {
    const mission = new SimClock({ startUtcMs: Date.UTC(2030, 0, 1) });
    const wall = new SimClock();
    const bus = new Bus({ node: "n", clock: mission, timeoutClock: wall, statsIntervalMs: 1000 });
    const stamps: bigint[] = [];
    bus.subscribe(umbra.bus.v1.BusStats, (_s, meta) => void stamps.push(meta.missionTimeNs));
    await wall.advance(5000);
    await bus.idle();
    expect(stamps).toEqual([]);
    await mission.advance(1000);
    await bus.idle();
    expect(stamps).toEqual([mission.nowTaiNs()]);
    bus.close();
  });

  it("defaults to the bus's clock", () => {
    const clock = new SimClock();
    expect(new Bus({ node: "n", clock }).timeoutClock).toBe(clock);
  });
});
