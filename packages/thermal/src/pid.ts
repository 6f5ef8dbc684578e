// The power allocator's PID loop, in the manner of the Linux kernel's
// power_allocator governor (drivers/thermal/gov_power_allocator.c): the error
// is target minus temperature (positive when there is headroom), and the
// output is a power budget around the sustainable power:
//
//   budget = sustainable + P + I + D, clamped to [minW, maxW]
//   P = kPu·e when e > 0 (under target), kPo·e when e <= 0 (overshoot)
//   I = kI·∫e dt, accumulated only while e < integralCutoffC, clamped to
//       ±integralMaxW, and not grown while the output is saturated in the
//       direction the error pushes (conditional integration: anti-windup)
//   D = kD·de/dt
//
// Unlike the kernel, I and D use the real sample interval, so the gains do not
// change meaning with the polling period. Pure: no clock, no I/O.

export interface PidGains {
  /** Sustainable power: what the radiator can take away with the zone at its target, W. */
  sustainableW: number;
  /** Proportional gain when over target (e < 0), W/°C. */
  kPo: number;
  /** Proportional gain when under target (e > 0), W/°C. */
  kPu: number;
  /** Integral gain, W/(°C·s). */
  kI: number;
  /** Derivative gain, W·s/°C. */
  kD: number;
  /** The integral accumulates only while e < this (°C): far below target it stays out of the way. */
  integralCutoffC: number;
  /** |I| never exceeds this, W. */
  integralMaxW: number;
}

export interface PidOutput {
  budgetW: number;
  pW: number;
  iW: number;
  dW: number;
  /** The unclamped sum, W. */
  rawW: number;
  /** The budget hit minW or maxW. */
  saturated: boolean;
}

/** Why the gains are unusable, or undefined. */
export function checkGains(g: PidGains): string | undefined {
  const finite: (keyof PidGains)[] = ["sustainableW", "kPo", "kPu", "kI", "kD", "integralCutoffC", "integralMaxW"];
  for (const k of finite) {
    const v = g[k];
    if (typeof v !== "number" || !Number.isFinite(v)) return `${k} must be a finite number, got ${String(v)}`;
    if (v < 0) return `${k} must not be negative, got ${v}`;
  }
  return undefined;
}

export class PidController {
  private integralC_s = 0;
  private lastErrorC: number | undefined;

  constructor(private gains: PidGains) {
    const problem = checkGains(gains);
    if (problem) throw new RangeError(`pid: ${problem}`);
  }

  setGains(gains: PidGains): void {
    const problem = checkGains(gains);
    if (problem) throw new RangeError(`pid: ${problem}`);
    this.gains = gains;
    // A smaller integral limit applies at once.
    this.integralC_s = this.clampIntegral(this.integralC_s);
  }

  /** Forgets the integral and the last error (switch-on, after an emergency, on command). */
  reset(): void {
    this.integralC_s = 0;
    this.lastErrorC = undefined;
  }

  /** Integral term now, W. */
  get integralW(): number {
    return this.gains.kI * this.integralC_s;
  }

  /**
   * One step. errorC = target − temperature; dtS > 0 is the time since the
   * last update; the budget is clamped to [minW, maxW].
   */
  update(errorC: number, dtS: number, minW: number, maxW: number): PidOutput {
    if (!Number.isFinite(errorC)) throw new RangeError(`pid: error must be finite, got ${errorC}`);
    if (!(dtS > 0) || !Number.isFinite(dtS)) throw new RangeError(`pid: dt must be a positive number of seconds, got ${dtS}`);
    if (!(minW <= maxW) || !Number.isFinite(minW) || !Number.isFinite(maxW)) throw new RangeError(`pid: bad output range ${minW}..${maxW}`);
    const g = this.gains;
    const pW = (errorC > 0 ? g.kPu : g.kPo) * errorC;
    const dW = this.lastErrorC === undefined ? 0 : (g.kD * (errorC - this.lastErrorC)) / dtS;
    this.lastErrorC = errorC;

    let iW = g.kI * this.integralC_s;
    if (errorC < g.integralCutoffC && g.kI > 0) {
      const candidate = this.clampIntegral(this.integralC_s + errorC * dtS);
      const trial = g.sustainableW + pW + g.kI * candidate + dW;
      // Conditional integration: when the output is pinned at a limit, only
      // let the integral move back towards the range, never further out.
      const pushingUp = errorC > 0 && trial > maxW;
      const pushingDown = errorC < 0 && trial < minW;
      if (!pushingUp && !pushingDown) {
        this.integralC_s = candidate;
        iW = g.kI * candidate;
      }
    }
    const rawW = g.sustainableW + pW + iW + dW;
    const budgetW = Math.min(maxW, Math.max(minW, rawW));
    return { budgetW, pW, iW, dW, rawW, saturated: budgetW !== rawW };
  }

  private clampIntegral(valueC_s: number): number {
    const g = this.gains;
    if (g.kI <= 0) return 0;
    const limit = g.integralMaxW / g.kI;
    return Math.min(limit, Math.max(-limit, valueC_s));
  }
}

/**
 * Starting gains as the kernel derives them when none are given: with
 * ΔT = target − switch-on temperature, kPo = sustainable/ΔT and
 * kPu = 2·sustainable/ΔT, so the full swing of the budget spans the
 * switch-on band. kI and kD are left to tuning (see the README).
 */
export function defaultGains(sustainableW: number, switchOnBandC: number): Pick<PidGains, "kPo" | "kPu"> {
  if (!(sustainableW >= 0) || !(switchOnBandC > 0)) throw new RangeError("defaultGains: need sustainable >= 0 and a positive switch-on band");
  return { kPo: sustainableW / switchOnBandC, kPu: (2 * sustainableW) / switchOnBandC };
}
