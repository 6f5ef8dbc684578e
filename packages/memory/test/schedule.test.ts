import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  UpsetRateEstimator,
  doubleUpsetProbability,
  expectedUncorrectablePerYear,
  planScrubbing,
  requiredPassPeriodS,
  type ScheduleSettings,
} from "../src/schedule.js";

const GiB = 1024 ** 3;
const base: ScheduleSettings = {
  upsetRatePerBitDay: 1e-8,
  targetUncorrectablePerYear: 1e-3,
  cpuBudget: 0.05,
  bytesPerCpuSecond: 4e9,
  maxPassPeriodS: 3600,
};

describe("scrub schedule", () => {
  it("P(two or more upsets in a codeword) is the Poisson tail, continuous across the series cut-over", () => {
    expect(doubleUpsetProbability(0, 100)).toBe(0);
    const mu = 2; // 72 bits · rate · T / day = 2
    const T = (2 * 86_400) / (72 * 1e-3);
    expect(doubleUpsetProbability(1e-3, T)).toBeCloseTo(1 - Math.exp(-mu) * (1 + mu), 12);
    const cut = (1e-4 * 86_400) / (72 * 1e-6);
    expect(doubleUpsetProbability(1e-6, cut * 0.999999) / doubleUpsetProbability(1e-6, cut * 1.000001)).toBeCloseTo(1, 4);
  });

  it("the required period meets the target: expected uncorrectable per year at it is the target (to first order)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 4 * GiB }),
        fc.double({ min: 1e-12, max: 1e-5, noNaN: true }),
        fc.double({ min: 1e-6, max: 10, noNaN: true }),
        (bytes, rate, target) => {
          const T = requiredPassPeriodS(bytes, rate, target);
          const expected = expectedUncorrectablePerYear(bytes, rate, T);
          expect(expected).toBeLessThanOrEqual(target * 1.000001);
          // μ²/2 over-estimates p2 by a factor 1 + O(μ): close to the target unless μ is large.
          const mu = (72 * rate * T) / 86_400;
          if (mu < 0.01) expect(expected / target).toBeGreaterThan(0.99);
        },
      ),
    );
  });

  it("a 10x higher upset rate (the SAA) needs a 100x shorter pass; a 2x larger region a 2x shorter one (so 4x the bandwidth)", () => {
    const quiet = requiredPassPeriodS(GiB, 1e-8, 1e-3);
    expect(requiredPassPeriodS(GiB, 1e-7, 1e-3) / quiet).toBeCloseTo(0.01, 10);
    expect(requiredPassPeriodS(2 * GiB, 1e-8, 1e-3) / quiet).toBeCloseTo(0.5, 10);
    expect(requiredPassPeriodS(GiB, 0, 1e-3)).toBe(Infinity);
    // 1 GiB at 1e-7 /bit/day (SAA at the HIL's defaults) for 1e-3 per year: about a minute.
    expect(requiredPassPeriodS(GiB, 1e-7, 1e-3)).toBeGreaterThan(30);
    expect(requiredPassPeriodS(GiB, 1e-7, 1e-3)).toBeLessThan(120);
  });

  it("plans within the cap when quiet, faster in the SAA, and budget-limited when the budget cannot pay", () => {
    const [quiet] = planScrubbing([GiB], base);
    expect(quiet!.passPeriodS).toBe(Math.min(3600, requiredPassPeriodS(GiB, 1e-8, 1e-3)));
    expect(quiet!.budgetLimited).toBe(false);
    expect(quiet!.bytesPerSecond).toBeCloseTo(GiB / quiet!.passPeriodS, 6);
    const [saa] = planScrubbing([GiB], { ...base, upsetRatePerBitDay: 1e-6 });
    expect(saa!.passPeriodS).toBeLessThan(quiet!.passPeriodS);
    // 1e-6 needs ~0.7 s per GiB pass: 1.5 GB/s, far more than 5 % of 4 GB/s.
    expect(saa!.budgetLimited).toBe(true);
    expect(saa!.cpuFraction).toBeCloseTo(0.05, 10);
    expect(saa!.expectedUncorrectablePerYear).toBeGreaterThan(1e-3);
    expect(saa!.passPeriodS).toBeCloseTo(GiB / (4e9 * 0.05), 6);
  });

  it("shares one budget between regions: all slowed by the same factor", () => {
    const plans = planScrubbing([GiB, GiB / 4, 4096], { ...base, upsetRatePerBitDay: 1e-6 });
    const total = plans.reduce((s, p) => s + p.cpuFraction, 0);
    expect(total).toBeCloseTo(0.05, 10);
    for (const p of plans) expect(p.passPeriodS / Math.min(p.requiredPassPeriodS, 3600)).toBeCloseTo(plans[0]!.passPeriodS / Math.min(plans[0]!.requiredPassPeriodS, 3600), 6);
    expect(plans[2]!.budgetLimited).toBe(false); // stretched, but still well within its own requirement
    expect(planScrubbing([], base)).toEqual([]);
  });

  it("refuses bad settings and sizes, naming them", () => {
    const bad: [Partial<ScheduleSettings>, RegExp][] = [
      [{ upsetRatePerBitDay: -1 }, /upsetRatePerBitDay must be a finite number >= 0/],
      [{ upsetRatePerBitDay: 2 }, /at most 1/],
      [{ upsetRatePerBitDay: Number.NaN }, /upsetRatePerBitDay/],
      [{ cpuBudget: 0 }, /cpuBudget must be a finite number > 0/],
      [{ cpuBudget: 1.5 }, /at most 1 \(one core\)/],
      [{ bytesPerCpuSecond: Infinity }, /bytesPerCpuSecond/],
      [{ targetUncorrectablePerYear: 0 }, /targetUncorrectablePerYear/],
      [{ maxPassPeriodS: -5 }, /maxPassPeriodS/],
    ];
    for (const [patch, message] of bad) expect(() => planScrubbing([1024], { ...base, ...patch })).toThrow(message);
    for (const size of [0, -1, 1.5, Number.NaN, 2 ** 60]) expect(() => planScrubbing([size], base)).toThrow(/size must be a positive integer/);
  });

  it("estimates the upset rate from corrections per bit and time, and forgets an SAA pass", () => {
    const e = new UpsetRateEstimator(600);
    expect(e.perBitDay).toBe(0);
    // The first upset, seen at once, reads as one upset per quiet window, not as an enormous rate.
    const first = new UpsetRateEstimator(600);
    first.observe(1, 8e9, 1);
    expect(first.perBitDay / ((1 / (8e9 * 600)) * 86_400)).toBeCloseTo(1, 3);
    const bits = 8 * GiB;
    const rate = 1e-7 / 86_400; // per bit per second
    // Steady: the expected count every second.
    for (let s = 0; s < 6000; s++) e.observe(rate * bits, bits, 1);
    expect(e.perBitDay / 1e-7).toBeCloseTo(1, 3);
    // Then quiet for an hour: the estimate decays towards 0.
    for (let s = 0; s < 3600; s++) e.observe(0, bits, 1);
    expect(e.perBitDay).toBeLessThan(1e-7 * Math.exp(-3600 / 600) * 1.5);
    expect(() => e.observe(-1, bits, 1)).toThrow(RangeError);
    expect(() => e.observe(1, bits, Number.NaN)).toThrow(RangeError);
    expect(() => new UpsetRateEstimator(0)).toThrow(RangeError);
  });
});
