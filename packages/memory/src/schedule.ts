// How fast to scrub: pure functions of region size, upset rate and CPU budget.
//
// Upsets arrive as a Poisson process, λ per bit per second. A codeword of
// n = 72 bits visited every T seconds collects μ = nλT upsets between visits;
// it becomes uncorrectable when two or more land before the next visit:
// p2 = 1 − e^−μ(1 + μ) ≤ μ²/2. A region of N codewords therefore turns up
// N·p2 uncorrectable codewords per pass, N·p2/T per second. Requiring that to
// stay below a target rate R gives the longest allowed pass period
//   T_req = 2R / (N · (nλ)²)            (R per second; from μ²/2 ≥ p2, so safe)
// Big regions need quadratically more scrub bandwidth (N·size/T_req ∝ size²),
// and the SAA's ×10 rate needs a 100× shorter period.
//
// The CPU budget bounds it from the other side: a full pass costs
// size / throughput CPU-seconds, so the period is at least
//   T_cpu = size / (throughput · budget).
// Several regions in one process share one budget; when their periods do not
// fit it, all are slowed by the same factor and flagged budget-limited.
//
// Multi-bit upsets wider than the interleave depth, and any upset that hits a
// codeword already holding one, are outside this model's reach: scrubbing
// faster does not prevent the first kind at all. The golden copy is for those.

export const SECONDS_PER_DAY = 86_400;
export const SECONDS_PER_YEAR = 31_557_600;
/** Bits per SECDED codeword (64 data + 8 check). */
export const CODEWORD_BITS = 72;

export interface ScheduleSettings {
  /** Upsets per bit per day the plan must cope with (>= 0). */
  upsetRatePerBitDay: number;
  /** Expected uncorrectable codewords per year and region the plan aims below (> 0). */
  targetUncorrectablePerYear: number;
  /** Fraction of one core all regions of a process may use together, (0, 1]. */
  cpuBudget: number;
  /** Scrub throughput, bytes per CPU-second (> 0); measured by the agent. */
  bytesPerCpuSecond: number;
  /** Scrub every region at least this often, s (> 0): also when the rate is ~0. */
  maxPassPeriodS: number;
}

export interface RegionPlan {
  bytes: number;
  /** Longest pass period that meets the reliability target; Infinity at rate 0. */
  requiredPassPeriodS: number;
  /** The period aimed for: min(required, maxPassPeriodS), stretched if the budget cannot pay for it. */
  passPeriodS: number;
  /** Bytes per second to scrub to keep that period. */
  bytesPerSecond: number;
  /** The budget forced a period longer than the reliability target asks for. */
  budgetLimited: boolean;
  /** Expected uncorrectable codewords per year at passPeriodS (exact Poisson). */
  expectedUncorrectablePerYear: number;
  /** CPU fraction of one core this region uses at passPeriodS. */
  cpuFraction: number;
}

function finiteAtLeast(value: unknown, min: number, what: string, inclusive = true): number {
  if (typeof value !== "number" || !Number.isFinite(value) || (inclusive ? value < min : value <= min)) {
    throw new RangeError(`${what} must be a finite number ${inclusive ? ">=" : ">"} ${min}, got ${String(value)}`);
  }
  return value;
}

/** Throws RangeError naming the first bad setting. */
export function checkScheduleSettings(s: ScheduleSettings): ScheduleSettings {
  finiteAtLeast(s.upsetRatePerBitDay, 0, "upsetRatePerBitDay");
  if (s.upsetRatePerBitDay > 1) throw new RangeError(`upsetRatePerBitDay must be at most 1, got ${s.upsetRatePerBitDay}`);
  finiteAtLeast(s.targetUncorrectablePerYear, 0, "targetUncorrectablePerYear", false);
  finiteAtLeast(s.cpuBudget, 0, "cpuBudget", false);
  if (s.cpuBudget > 1) throw new RangeError(`cpuBudget must be at most 1 (one core), got ${s.cpuBudget}`);
  finiteAtLeast(s.bytesPerCpuSecond, 0, "bytesPerCpuSecond", false);
  finiteAtLeast(s.maxPassPeriodS, 0, "maxPassPeriodS", false);
  return s;
}

/** P(two or more upsets in one codeword) over `periodS`. Accurate for tiny μ too. */
export function doubleUpsetProbability(ratePerBitDay: number, periodS: number, codewordBits = CODEWORD_BITS): number {
  const mu = (codewordBits * ratePerBitDay * periodS) / SECONDS_PER_DAY;
  if (mu < 1e-4) return (mu * mu) / 2 - (mu * mu * mu) / 3; // series; avoids cancellation
  return 1 - Math.exp(-mu) * (1 + mu);
}

/** Expected uncorrectable codewords per year for a region scrubbed every `periodS`. */
export function expectedUncorrectablePerYear(bytes: number, ratePerBitDay: number, periodS: number): number {
  if (!(periodS > 0) || !Number.isFinite(periodS)) return ratePerBitDay > 0 ? Infinity : 0;
  const codewords = (bytes * 8) / 64;
  return ((codewords * doubleUpsetProbability(ratePerBitDay, periodS)) / periodS) * SECONDS_PER_YEAR;
}

/** Longest pass period meeting the target (Infinity when the rate is 0). */
export function requiredPassPeriodS(bytes: number, ratePerBitDay: number, targetPerYear: number): number {
  if (ratePerBitDay === 0) return Infinity;
  const codewords = (bytes * 8) / 64;
  const perCodewordPerS = (CODEWORD_BITS * ratePerBitDay) / SECONDS_PER_DAY;
  return (2 * (targetPerYear / SECONDS_PER_YEAR)) / (codewords * perCodewordPerS * perCodewordPerS);
}

/**
 * Plans every region of one process under one CPU budget. Throws RangeError
 * for a bad setting or a region size that is not a positive integer.
 */
export function planScrubbing(regionBytes: readonly number[], settings: ScheduleSettings): RegionPlan[] {
  checkScheduleSettings(settings);
  for (const [i, b] of regionBytes.entries()) {
    if (typeof b !== "number" || !Number.isSafeInteger(b) || b <= 0) throw new RangeError(`region ${i}: size must be a positive integer, got ${String(b)}`);
  }
  const rate = settings.upsetRatePerBitDay;
  const wanted = regionBytes.map((bytes) => {
    const required = requiredPassPeriodS(bytes, rate, settings.targetUncorrectablePerYear);
    return { bytes, required, period: Math.min(required, settings.maxPassPeriodS) };
  });
  const cpuOf = (bytes: number, period: number) => bytes / period / settings.bytesPerCpuSecond;
  const totalCpu = wanted.reduce((sum, w) => sum + cpuOf(w.bytes, w.period), 0);
  const stretch = totalCpu > settings.cpuBudget ? totalCpu / settings.cpuBudget : 1;
  return wanted.map(({ bytes, required, period }) => {
    const passPeriodS = period * stretch;
    return {
      bytes,
      requiredPassPeriodS: required,
      passPeriodS,
      bytesPerSecond: bytes / passPeriodS,
      budgetLimited: stretch > 1 && passPeriodS > required,
      expectedUncorrectablePerYear: expectedUncorrectablePerYear(bytes, rate, passPeriodS),
      cpuFraction: cpuOf(bytes, passPeriodS),
    };
  });
}

/**
 * Upset rate as flight software sees it: corrections found by scrubbing per
 * bit of protected memory per unit time, over an exponentially decaying
 * window (time constant `timeConstantS`), so a pass through the SAA shows
 * within minutes and fades after it. It starts as if one quiet window had
 * already been watched: without that, the first correction found (which may
 * have sat in memory for a long time) would read as an enormous rate.
 */
export class UpsetRateEstimator {
  private count = 0;
  private exposureBitS = 0;

  constructor(readonly timeConstantS = 600) {
    finiteAtLeast(timeConstantS, 0, "timeConstantS", false);
  }

  /** `upsets` seen over the last `dtS` seconds in `bits` of protected memory. */
  observe(upsets: number, bits: number, dtS: number): void {
    finiteAtLeast(upsets, 0, "upsets");
    finiteAtLeast(bits, 0, "bits");
    finiteAtLeast(dtS, 0, "dtS");
    if (this.exposureBitS === 0) this.exposureBitS = bits * this.timeConstantS;
    const decay = Math.exp(-dtS / this.timeConstantS);
    this.count = this.count * decay + upsets;
    this.exposureBitS = this.exposureBitS * decay + bits * dtS;
  }

  /** Upsets per bit per day; 0 before any exposure. */
  get perBitDay(): number {
    return this.exposureBitS > 0 ? (this.count / this.exposureBitS) * SECONDS_PER_DAY : 0;
  }
}
