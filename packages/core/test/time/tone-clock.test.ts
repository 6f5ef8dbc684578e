import { describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { Bus } from "../../src/bus/bus.js";
import { BusTimeoutError } from "../../src/bus/errors.js";
import { InProcessLink } from "../../src/bus/in-process-link.js";
import { MAX_TONE_TAI_NS, MIN_TONE_TAI_NS, SimClock, ToneClock, utcMsToTaiNs, type TimeToneLike } from "../../src/time/index.js";

const T0 = utcMsToTaiNs(Date.UTC(2026, 0, 1));
const S = 1_000_000_000n;

/** The tone n seconds after T0, sequence n. */
function tone(n: number, extra: Partial<TimeToneLike> = {}): TimeToneLike {
  return { missionTimeNs: T0 + BigInt(n) * S, rate: 60, sequence: BigInt(n), ...extra };
}

function quietClock(initialTaiNs = 123n): ToneClock {
  return new ToneClock({ initialTaiNs, onTimerError: () => undefined });
}

describe("ToneClock before the first tone", () => {
  it("stands still at the placeholder, monotonic 0, not synced", async () => {
    const clock = quietClock(T0 - 5n * S);
    expect(clock.synced).toBe(false);
    expect(clock.nowTaiNs()).toBe(T0 - 5n * S);
    expect(clock.monotonicMs()).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.nowTaiNs()).toBe(T0 - 5n * S);
    expect(clock.monotonicMs()).toBe(0);
  });

  it("defaults the placeholder to the system clock's TAI at construction", () => {
    const before = utcMsToTaiNs(Date.now());
    const clock = new ToneClock();
    const after = utcMsToTaiNs(Date.now());
    expect(clock.nowTaiNs() >= before && clock.nowTaiNs() <= after).toBe(true);
  });

  it("measures timers set before the first tone from the first tone", async () => {
    const clock = quietClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`zero@${clock.monotonicMs()}`), 0);
    clock.setTimeout(() => fired.push(`1500@${clock.monotonicMs()}`), 1500);
    await clock.receive(tone(100));
    // The first tone is monotonic 0: only the zero-delay timer is due.
    expect(fired).toEqual(["zero@0"]);
    expect(clock.nowTaiNs()).toBe(tone(100).missionTimeNs);
    expect(clock.monotonicMs()).toBe(0);
    await clock.receive(tone(101));
    expect(fired).toEqual(["zero@0"]);
    await clock.receive(tone(102));
    expect(fired).toEqual(["zero@0", "1500@1500"]);
    expect(clock.monotonicMs()).toBe(2000);
  });
});

describe("ToneClock following tones", () => {
  it("nowTaiNs equals the tone's time after each tone; utcMs follows", async () => {
    const clock = quietClock();
    for (const n of [0, 1, 2, 10]) {
      await clock.receive(tone(n));
      expect(clock.nowTaiNs()).toBe(T0 + BigInt(n) * S);
      expect(clock.utcMs()).toBe(Date.UTC(2026, 0, 1) + n * 1000);
    }
    expect(clock.lastTone).toEqual(tone(10));
  });

  it("gives exact nanoseconds for tones off the ms grid", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    const odd = T0 + 1_234_567_891n;
    await clock.receive({ missionTimeNs: odd, rate: 1, sequence: 1n });
    expect(clock.nowTaiNs()).toBe(odd);
  });

  it("fires timers in simulated order across tones, with now at each due time", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    const fired: [string, number, bigint][] = [];
    const at = (name: string) => () => fired.push([name, clock.monotonicMs(), clock.nowTaiNs() - T0]);
    clock.setTimeout(at("c"), 2500);
    clock.setTimeout(at("a"), 500);
    clock.setTimeout(at("b"), 1000);
    clock.setTimeout(at("d"), 2500);
    // One tone jumping 3 s fires all four, in due order, ties in creation order.
    await clock.receive(tone(3));
    expect(fired).toEqual([
      ["a", 500, 500_000_000n],
      ["b", 1000, S],
      ["c", 2500, 2_500_000_000n],
      ["d", 2500, 2_500_000_000n],
    ]);
  });

  it("runs intervals on simulated time and stops them on cancel", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    const ticks: number[] = [];
    const handle = clock.setInterval(() => ticks.push(clock.monotonicMs()), 400);
    await clock.receive(tone(1));
    expect(ticks).toEqual([400, 800]);
    await clock.receive(tone(2));
    expect(ticks).toEqual([400, 800, 1200, 1600, 2000]);
    handle.cancel();
    expect(handle.active).toBe(false);
    await clock.receive(tone(5));
    expect(ticks).toHaveLength(5);
  });

  it("cancels timeouts, also from inside another timer", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    const fired: string[] = [];
    const late = clock.setTimeout(() => fired.push("late"), 1500);
    clock.setTimeout(() => {
      fired.push("first");
      late.cancel();
    }, 1000);
    const never = clock.setTimeout(() => fired.push("never"), 200);
    never.cancel();
    await clock.receive(tone(2));
    expect(fired).toEqual(["first"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("resolves sleep on simulated time", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    let woke = false;
    void clock.sleep(1000).then(() => (woke = true));
    await clock.receive(tone(0, { sequence: 1n }));
    expect(woke).toBe(false);
    await clock.receive(tone(1, { sequence: 2n }));
    expect(woke).toBe(true);
  });

  it("keeps monotonicMs at simulated ms since the first tone, never backwards", async () => {
    const clock = quietClock();
    await clock.receive(tone(50));
    await clock.receive(tone(52));
    expect(clock.monotonicMs()).toBe(2000);
    await clock.receive(tone(51, { sequence: 53n }));
    expect(clock.monotonicMs()).toBe(2000);
    await clock.receive(tone(60));
    expect(clock.monotonicMs()).toBe(10_000);
  });

  it("runs async work a timer starts before the next timer fires", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    const order: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => order.push("a's follow-up"));
      order.push("a");
    }, 100);
    clock.setTimeout(() => order.push("b"), 200);
    await clock.receive(tone(1));
    expect(order).toEqual(["a", "a's follow-up", "b"]);
  });
});

describe("ToneClock bad tones", () => {
  it("ignores and counts tones earlier than the newest (a restarted HIL)", async () => {
    const clock = quietClock();
    await clock.receive(tone(10));
    await clock.receive(tone(11));
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonicMs()), 500);
    // The HIL restarted from an earlier time: its tones are ignored until they pass ours.
    await clock.receive(tone(3, { sequence: 0n }));
    await clock.receive(tone(4, { sequence: 1n }));
    expect(clock.nowTaiNs()).toBe(tone(11).missionTimeNs);
    expect(fired).toEqual([]);
    await clock.receive(tone(12, { sequence: 2n }));
    expect(fired).toEqual([1500]);
    const c = clock.counters;
    expect(c).toMatchObject({ tones: 5, accepted: 3, ignored: 2, stale: 2, malformed: 0, sequenceRestarts: 1 });
  });

  it("accepts a repeat of the newest tone's time (time stands)", async () => {
    const clock = quietClock();
    await clock.receive(tone(10));
    await clock.receive(tone(10, { sequence: 11n }));
    expect(clock.counters).toMatchObject({ accepted: 2, ignored: 0 });
    expect(clock.nowTaiNs()).toBe(tone(10).missionTimeNs);
  });

  it("ignores and counts malformed tones: non-positive, absurd, a bad rate", async () => {
    const clock = quietClock(77n);
    for (const missionTimeNs of [0n, -5n, 1n, MIN_TONE_TAI_NS - 1n, MAX_TONE_TAI_NS, 2n ** 63n - 1n]) {
      await clock.receive({ missionTimeNs, rate: 1, sequence: 0n });
    }
    await clock.receive(tone(1, { rate: Number.NaN }));
    await clock.receive(tone(1, { rate: -1 }));
    await clock.receive(tone(1, { rate: Number.POSITIVE_INFINITY }));
    expect(clock.synced).toBe(false);
    expect(clock.nowTaiNs()).toBe(77n);
    expect(clock.counters).toMatchObject({ tones: 9, accepted: 0, ignored: 9, malformed: 9, stale: 0 });
    // A good tone after them is taken; rate 0 (as fast as possible) is fine.
    await clock.receive(tone(1, { rate: 0 }));
    expect(clock.synced).toBe(true);
    expect(clock.nowTaiNs()).toBe(tone(1).missionTimeNs);
  });

  it("counts sequence gaps and the tones missing in them", async () => {
    const clock = quietClock();
    for (const n of [0, 1, 2, 5, 6, 10]) await clock.receive(tone(n));
    expect(clock.counters).toMatchObject({ tones: 6, accepted: 6, gaps: 2, missedTones: 5, sequenceRestarts: 0 });
    // Time still follows the tones that came.
    expect(clock.nowTaiNs()).toBe(tone(10).missionTimeNs);
  });

  it("goes on past a timer that throws, and reports it", async () => {
    const errors: unknown[] = [];
    const clock = new ToneClock({ initialTaiNs: 0n, onTimerError: (err) => errors.push(err) });
    await clock.receive(tone(0));
    const fired: number[] = [];
    clock.setTimeout(() => {
      throw new Error("boom");
    }, 100);
    clock.setTimeout(() => fired.push(clock.monotonicMs()), 200);
    await clock.receive(tone(1));
    expect((errors[0] as Error).message).toBe("boom");
    expect(fired).toEqual([200]);
    expect(clock.counters.timerErrors).toBe(1);
    expect(clock.monotonicMs()).toBe(1000);
  });
});

describe("ToneClock advance serialization", () => {
  it("takes a burst of tones without overlapping advances, firing everything once and in order", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    const ticks: number[] = [];
    clock.setInterval(() => ticks.push(clock.monotonicMs()), 250);
    const fired: string[] = [];
    for (let i = 1; i <= 20; i++) clock.setTimeout(() => fired.push(`t${i}`), i * 333);
    // 50 tones at once, none awaited: SimClock would throw if two advances overlapped.
    const all = [];
    for (let n = 1; n <= 50; n++) all.push(clock.receive(tone(n)));
    await Promise.all(all);
    expect(clock.nowTaiNs()).toBe(tone(50).missionTimeNs);
    expect(clock.monotonicMs()).toBe(50_000);
    expect(ticks).toHaveLength(200);
    expect(ticks).toEqual(ticks.map((_, i) => (i + 1) * 250));
    expect(fired).toEqual(Array.from({ length: 20 }, (_, i) => `t${i + 1}`));
    expect(clock.counters).toMatchObject({ tones: 51, accepted: 51, ignored: 0, timerErrors: 0 });
  });

  it("a stale tone in a burst is judged against the newest accepted tone, not the lagging clock", async () => {
    const clock = quietClock();
    await clock.receive(tone(0));
    clock.setInterval(() => undefined, 10); // makes the advance take many macrotasks
    const a = clock.receive(tone(5));
    const b = clock.receive(tone(3, { sequence: 6n }));
    await Promise.all([a, b]);
    expect(clock.counters.stale).toBe(1);
    expect(clock.nowTaiNs()).toBe(tone(5).missionTimeNs);
  });

  it("idle() resolves once caught up", async () => {
    const clock = quietClock();
    void clock.receive(tone(0));
    void clock.receive(tone(30));
    await clock.idle();
    expect(clock.monotonicMs()).toBe(30_000);
    await clock.idle();
  });
});

describe("ToneClock.waitForFirstTone", () => {
  it("resolves false after the wall-time timeout without a tone", async () => {
    const clock = quietClock();
    const started = performance.now();
    expect(await clock.waitForFirstTone(60)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("resolves true when the first tone comes, and at once after it", async () => {
    const clock = quietClock();
    const waiting = clock.waitForFirstTone(5000);
    setTimeout(() => void clock.receive(tone(0)), 10);
    const started = performance.now();
    expect(await waiting).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await clock.waitForFirstTone(0)).toBe(true);
  });

  it("does not count an ignored tone as the first", async () => {
    const clock = quietClock();
    const waiting = clock.waitForFirstTone(50);
    await clock.receive({ missionTimeNs: 0n, rate: 1, sequence: 0n });
    expect(await waiting).toBe(false);
  });

  it("rejects a bad timeout", async () => {
    await expect(quietClock().waitForFirstTone(Number.NaN)).rejects.toThrow(RangeError);
  });
});

describe("ToneClock on a bus", () => {
  it("follows TimeTones published on a linked bus, and stops following on unsubscribe", async () => {
    const hilClock = new SimClock();
    const hil = new Bus({ node: "hil", clock: hilClock });
    const clock = quietClock();
    const svc = new Bus({ node: "svc", clock });
    const [a, b] = InProcessLink.pair();
    hil.attach(a);
    svc.attach(b);
    const unfollow = clock.follow(svc);
    await hil.idle();
    await svc.idle();
    const fired: bigint[] = [];
    clock.setInterval(() => fired.push(clock.nowTaiNs()), 1000);
    const publishTone = async (n: number) => {
      hil.publish(umbra.core.v1.TimeTone, tone(n));
      await hil.idle();
      await svc.idle();
      await clock.idle();
    };
    await publishTone(0);
    expect(clock.nowTaiNs()).toBe(T0);
    await publishTone(1);
    await publishTone(2);
    expect(fired).toEqual([T0 + S, T0 + 2n * S]);
    // Messages the service bus sends carry the tone's mission time.
    const stamps: bigint[] = [];
    hil.subscribe(umbra.core.v1.Heartbeat, (_m, meta) => void stamps.push(meta.missionTimeNs));
    await hil.idle();
    await svc.idle();
    svc.publish(umbra.core.v1.Heartbeat, { service: "x" });
    await svc.idle();
    await hil.idle();
    expect(stamps).toEqual([T0 + 2n * S]);
    unfollow();
    await publishTone(3);
    expect(clock.nowTaiNs()).toBe(T0 + 2n * S);
    hil.close();
    svc.close();
  });

  it("with a RealClock as timeoutClock, a request times out in wall time while tones stand still", async () => {
    const { RealClock } = await import("../../src/time/real-clock.js");
    const clock = quietClock();
    const bus = new Bus({ node: "svc", clock, timeoutClock: new RealClock() });
    await clock.receive(tone(0));
    const started = performance.now();
    await expect(bus.request(umbra.core.v1.GetParameters, { service: "nobody" }, umbra.core.v1.ParameterReport, { timeoutMs: 50 })).rejects.toBeInstanceOf(BusTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(clock.monotonicMs()).toBe(0);
    bus.close();
  });
});
