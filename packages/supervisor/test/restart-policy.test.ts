import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FailureHistory, backoffMs, type RestartPolicy } from "../src/restart-policy.js";

const POLICY: RestartPolicy = { initialBackoffS: 1, factor: 2, maxBackoffS: 30, maxFailures: 8, windowS: 300 };

function delays(h: FailureHistory, times: number[]): (number | "give-up")[] {
  return times.map((t) => {
    const d = h.fail(t);
    return d.action === "restart" ? d.delayMs : "give-up";
  });
}

describe("backoffMs", () => {
  it("starts at initialBackoffS, multiplies by factor and stops at maxBackoffS", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(POLICY, n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("uses the factor given, not always 2", () => {
    const p = { ...POLICY, initialBackoffS: 0.5, factor: 3, maxBackoffS: 10 };
    expect([1, 2, 3, 4].map((n) => backoffMs(p, n))).toEqual([500, 1500, 4500, 10000]);
  });

  it("factor 1 keeps the delay constant", () => {
    expect([1, 2, 10].map((n) => backoffMs({ ...POLICY, factor: 1, initialBackoffS: 3 }, n))).toEqual([3000, 3000, 3000]);
  });

  it("stays at the ceiling for very many failures (no overflow to Infinity or NaN)", () => {
    expect(backoffMs({ ...POLICY, factor: 100 }, 10_000)).toBe(30_000);
  });

  it("a zero initial delay stays zero however many failures (factor^n overflowing is not NaN)", () => {
    expect(backoffMs({ ...POLICY, initialBackoffS: 0, factor: 100, maxBackoffS: 10 }, 200)).toBe(0);
    expect(backoffMs({ ...POLICY, initialBackoffS: 0, factor: 2, maxBackoffS: 10 }, 2000)).toBe(0);
  });
});

describe("FailureHistory", () => {
  it("gives the backoff sequence for failures in a burst", () => {
    const h = new FailureHistory(POLICY);
    expect(delays(h, [0, 1000, 3000, 7000, 15000, 31000, 61000])).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(h.recent(61000)).toBe(7);
  });

  it("reports the count of recent failures with each decision", () => {
    const h = new FailureHistory(POLICY);
    expect(h.fail(0)).toEqual({ action: "restart", delayMs: 1000, recentFailures: 1 });
    expect(h.fail(10)).toEqual({ action: "restart", delayMs: 2000, recentFailures: 2 });
  });

  it("gives up exactly at the maxFailures-th failure inside the window", () => {
    const h = new FailureHistory({ ...POLICY, maxFailures: 3 });
    expect(h.fail(0).action).toBe("restart");
    expect(h.fail(1000).action).toBe("restart");
    expect(h.fail(2000)).toEqual({ action: "give-up", recentFailures: 3 });
  });

  it("maxFailures 1 gives up on the first failure", () => {
    expect(new FailureHistory({ ...POLICY, maxFailures: 1 }).fail(5)).toEqual({ action: "give-up", recentFailures: 1 });
  });

  it("forgets failures that left the window", () => {
    const h = new FailureHistory({ ...POLICY, maxFailures: 3, windowS: 10 });
    h.fail(0);
    h.fail(5_000);
    expect(h.recent(9_999)).toBe(2);
    // The first failure is exactly windowS old at 10 s: out of the window.
    expect(h.recent(10_000)).toBe(1);
    // So the next one is the 2nd in the window, not the 3rd: restart, with the 2nd delay.
    expect(h.fail(10_000)).toEqual({ action: "restart", delayMs: 2000, recentFailures: 2 });
    // Long after, the backoff starts over from the initial delay.
    expect(h.fail(100_000)).toEqual({ action: "restart", delayMs: 1000, recentFailures: 1 });
  });

  it("spread-out failures never reach maxFailures", () => {
    const h = new FailureHistory({ ...POLICY, maxFailures: 2, windowS: 60 });
    for (let i = 0; i < 20; i++) expect(h.fail(i * 61_000)).toEqual({ action: "restart", delayMs: 1000, recentFailures: 1 });
  });

  it("clear() forgets every failure", () => {
    const h = new FailureHistory({ ...POLICY, maxFailures: 3 });
    h.fail(0);
    h.fail(1);
    h.clear();
    expect(h.recent(2)).toBe(0);
    expect(h.fail(3)).toEqual({ action: "restart", delayMs: 1000, recentFailures: 1 });
  });

  it.each([
    ["negative initial backoff", { initialBackoffS: -1 }],
    ["NaN initial backoff", { initialBackoffS: Number.NaN }],
    ["ceiling below the initial delay", { initialBackoffS: 10, maxBackoffS: 5 }],
    ["NaN ceiling", { maxBackoffS: Number.NaN }],
    ["infinite ceiling", { maxBackoffS: Number.POSITIVE_INFINITY }],
    ["factor below 1", { factor: 0.5 }],
    ["NaN factor", { factor: Number.NaN }],
    ["infinite factor", { factor: Number.POSITIVE_INFINITY }],
    ["zero maxFailures", { maxFailures: 0 }],
    ["fractional maxFailures", { maxFailures: 2.5 }],
    ["zero window", { windowS: 0 }],
    ["negative window", { windowS: -5 }],
    ["NaN window", { windowS: Number.NaN }],
  ] as [string, Partial<RestartPolicy>][])("rejects a policy with %s", (_what, bad) => {
    expect(() => new FailureHistory({ ...POLICY, ...bad })).toThrow(RangeError);
  });

  it("accepts a zero initial backoff (restart at once)", () => {
    const h = new FailureHistory({ ...POLICY, initialBackoffS: 0, maxBackoffS: 0 });
    expect(h.fail(0)).toEqual({ action: "restart", delayMs: 0, recentFailures: 1 });
  });

  it("property: within a burst delays never decrease and never exceed maxBackoffS; give-up exactly at maxFailures", () => {
    const policy = fc.record({
      initialBackoffS: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 100, noNaN: true })),
      factor: fc.double({ min: 1, max: 100, noNaN: true }),
      extraCeiling: fc.double({ min: 0, max: 1000, noNaN: true }),
      maxFailures: fc.integer({ min: 1, max: 2000 }),
    });
    fc.assert(
      fc.property(policy, fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 1500 }), (p, gaps) => {
        const pol: RestartPolicy = { initialBackoffS: p.initialBackoffS, factor: p.factor, maxBackoffS: p.initialBackoffS + p.extraCeiling, maxFailures: p.maxFailures, windowS: 86_400 };
        // Failures 0..5 ms apart over at most 7.5 s: with a window of a day they are all one burst.
        const h = new FailureHistory({ ...pol, windowS: 86_400 });
        let t = 0;
        let last = -1;
        for (let i = 0; i < gaps.length; i++) {
          t += gaps[i]!;
          const d = h.fail(t);
          if (i + 1 >= pol.maxFailures) {
            expect(d).toEqual({ action: "give-up", recentFailures: i + 1 });
            return;
          }
          expect(d.action).toBe("restart");
          if (d.action !== "restart") return;
          expect(Number.isFinite(d.delayMs)).toBe(true);
          expect(d.delayMs).toBeGreaterThanOrEqual(last);
          expect(d.delayMs).toBeLessThanOrEqual(Math.round(pol.maxBackoffS * 1000));
          expect(d.recentFailures).toBe(i + 1);
          last = d.delayMs;
        }
      }),
      { numRuns: 300 },
    );
  });
});
