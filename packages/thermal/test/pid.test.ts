import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { PidController, defaultGains, type PidGains } from "../src/pid.js";

const GAINS: PidGains = { sustainableW: 20, kPo: 2, kPu: 4, kI: 0.02, kD: 0, integralCutoffC: 3, integralMaxW: 20 };

/**
 * A first-order thermal plant: τ dT/dt = −(T − T_amb) + R·P. Equilibrium at
 * power P is T_amb + R·P; with T_amb = 30 °C and R = 2 °C/W the target 80 °C
 * needs 25 W, not the 20 W the controller believes is sustainable, so the
 * integral has to find the difference.
 */
function simulate(gains: PidGains, opts: { tauS?: number; steps?: number; dtS?: number; ambientC?: number; startC?: number } = {}) {
  const tau = opts.tauS ?? 60;
  const dt = opts.dtS ?? 1;
  const ambient = opts.ambientC ?? 30;
  const r = 2;
  let t = opts.startC ?? 40;
  const pid = new PidController(gains);
  const temps: number[] = [];
  const budgets: number[] = [];
  for (let i = 0; i < (opts.steps ?? 4000); i++) {
    const out = pid.update(80 - t, dt, 0, 60);
    budgets.push(out.budgetW);
    // Exact discretisation of the first-order plant over dt with the power held.
    const eq = ambient + r * out.budgetW;
    t = eq + (t - eq) * Math.exp(-dt / tau);
    temps.push(t);
  }
  return { temps, budgets, pid };
}

const maxAbs = (xs: number[]) => Math.max(...xs.map(Math.abs));

describe("PidController on a first-order plant", () => {
  it("settles at the target: bounded overshoot, decaying error, no sustained oscillation", () => {
    const { temps } = simulate(GAINS);
    const err = temps.map((t) => t - 80);
    const overshoot = Math.max(...err);
    expect(overshoot).toBeLessThan(2); // °C above target, at most
    const q = Math.floor(err.length / 4);
    const first = maxAbs(err.slice(q, 2 * q));
    const last = maxAbs(err.slice(3 * q));
    expect(last).toBeLessThan(0.05); // settled
    expect(last).toBeLessThanOrEqual(first); // and the error decays
    // No sustained oscillation: in the last quarter the temperature barely moves at all.
    const tail = temps.slice(3 * q);
    expect(Math.max(...tail) - Math.min(...tail)).toBeLessThan(0.05);
  });

  it("settles for plants slower and faster than the one it was tuned on (no limit cycle)", () => {
    for (const tauS of [20, 60, 200]) {
      const { temps } = simulate(GAINS, { tauS, steps: 8000 });
      const tail = temps.slice(-2000);
      expect(Math.max(...tail.map((t) => Math.abs(t - 80)))).toBeLessThan(0.1);
    }
  });

  it("without an integral it settles off target by the model error; the integral removes it", () => {
    const pOnly = simulate({ ...GAINS, kI: 0 }).temps.at(-1)!;
    // Equilibrium: T = 30 + 2·(20 + 4·(80 − T)) → 9T = 710 → T = 78.89 °C
    expect(pOnly).toBeCloseTo(710 / 9, 3);
    expect(Math.abs(simulate(GAINS).temps.at(-1)! - 80)).toBeLessThan(0.01);
  });

  it("does not wind up while the output is saturated", () => {
    // A plant that cannot reach the target even at full power: the budget saturates at max.
    const { pid, budgets } = simulate(GAINS, { ambientC: -200, steps: 2000 });
    expect(budgets.at(-1)).toBe(60);
    // The error is 100+ °C, far past the cutoff: the integral never started.
    expect(pid.integralW).toBe(0);
    // Near target but saturated: P alone exceeds the range, so the integral does not grow.
    const p2 = new PidController({ ...GAINS, integralCutoffC: 1000 });
    for (let i = 0; i < 1000; i++) p2.update(10, 1, 0, 30);
    expect(p2.integralW).toBe(0);
  });

  it("clamps the integral to integralMaxW", () => {
    const pid = new PidController({ ...GAINS, kPo: 0, kPu: 0, integralMaxW: 5 });
    for (let i = 0; i < 10_000; i++) pid.update(-2, 1, -1000, 1000);
    expect(pid.integralW).toBeCloseTo(-5, 9);
  });

  it("uses kPo above target and kPu below it", () => {
    const pid = new PidController({ ...GAINS, kI: 0 });
    expect(pid.update(2, 1, -1e6, 1e6).pW).toBe(8);
    pid.reset();
    expect(pid.update(-2, 1, -1e6, 1e6).pW).toBe(-4);
  });

  it("derivative uses the real interval", () => {
    const pid = new PidController({ ...GAINS, kI: 0, kD: 10 });
    pid.update(1, 5, -1e6, 1e6);
    expect(pid.update(0, 5, -1e6, 1e6).dW).toBeCloseTo(-2, 9);
  });

  it("keeps the budget in range for any error sequence", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -200, max: 200, noNaN: true }), { minLength: 1, maxLength: 200 }), (errors) => {
        const pid = new PidController({ ...GAINS, kD: 3 });
        for (const e of errors) {
          const out = pid.update(e, 0.5, 2, 40);
          if (!(out.budgetW >= 2 && out.budgetW <= 40)) return false;
          if (Math.abs(out.iW) > GAINS.integralMaxW + 1e-9) return false;
        }
        return true;
      }),
    );
  });

  it("refuses garbage inputs and gains", () => {
    const pid = new PidController(GAINS);
    expect(() => pid.update(Number.NaN, 1, 0, 10)).toThrow(/finite/);
    expect(() => pid.update(1, 0, 0, 10)).toThrow(/dt/);
    expect(() => pid.update(1, 1, 10, 0)).toThrow(/range/);
    expect(() => new PidController({ ...GAINS, kI: Number.NaN })).toThrow(/kI/);
    expect(() => new PidController({ ...GAINS, kPo: -1 })).toThrow(/kPo/);
    expect(defaultGains(20, 10)).toEqual({ kPo: 2, kPu: 4 });
  });
});
