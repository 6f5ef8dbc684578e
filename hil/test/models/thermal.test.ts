import { describe, expect, it } from "vitest";
import {
  Rng,
  STEFAN_BOLTZMANN,
  ThermalModel,
  radiatedPowerW,
  radiatorEquilibriumK,
  type ThermalSpec,
} from "../../src/models/index.js";

/** A GPU-class payload: die+lid+cold plate, board, 1.5 m² white-painted radiator on heat pipes. */
const SPEC: ThermalSpec = {
  nodes: {
    die: { heatCapacityJK: 150, initialC: 20 },
    board: { heatCapacityJK: 2000, initialC: 20 },
    radiator: { heatCapacityJK: 8000, initialC: 20 },
  },
  conductancesWK: { dieBoard: 10, boardRadiator: 10 },
  radiator: { areaM2: 1.5, emissivity: 0.85, absorptivity: 0.2, earthViewFactor: 0.3, solarIncidenceFactor: 0 },
  sensorNoiseSdC: 0.5,
};

/** Same, with no environmental input: the radiator only sees 3 K space. */
const DARK: ThermalSpec = { ...SPEC, radiator: { ...SPEC.radiator, earthViewFactor: 0 } };

function run(model: ThermalModel, totalS: number, dtS: number, input: (t: number) => { payloadPowerW: number; sunFraction: number; radiatorHeatW?: number }): void {
  for (let t = 0; t < totalS; t += dtS) model.step(dtS, input(t));
}

describe("Stefan–Boltzmann radiation", () => {
  it("radiates σT⁴ ≈ 459.3 W from 1 m² of a black body at 300 K", () => {
    expect(radiatedPowerW(1, 1, 300)).toBeCloseTo(459.3, 1);
    expect(radiatedPowerW(1, 1, 300, 0)).toBeCloseTo(STEFAN_BOLTZMANN * 300 ** 4, 9);
    expect(STEFAN_BOLTZMANN).toBe(5.670374419e-8);
  });

  it("scales linearly with emissivity and area", () => {
    expect(radiatedPowerW(1, 0.5, 300, 0)).toBeCloseTo(0.5 * radiatedPowerW(1, 1, 300, 0), 9);
    expect(radiatedPowerW(2.5, 0.85, 300, 0)).toBeCloseTo(2.5 * 0.85 * radiatedPowerW(1, 1, 300, 0), 9);
  });

  it("scales as T⁴ (doubling T gives 16×) and is zero at the sink temperature", () => {
    expect(radiatedPowerW(1, 1, 600, 0) / radiatedPowerW(1, 1, 300, 0)).toBeCloseTo(16, 12);
    expect(radiatedPowerW(1, 1, 450, 0) / radiatedPowerW(1, 1, 300, 0)).toBeCloseTo(1.5 ** 4, 12);
    expect(radiatedPowerW(1, 0.9, 3)).toBe(0);
  });
});

describe("thermal model", () => {
  it("a radiator with a constant heat input settles at T = (Q/(εσA) + T_sink⁴)^¼ within 0.5 K", () => {
    for (const q of [50, 300, 1200]) {
      const m = new ThermalModel(DARK);
      run(m, 48 * 3600, 60, () => ({ payloadPowerW: 0, sunFraction: 0, radiatorHeatW: q }));
      const expected = (q / (0.85 * STEFAN_BOLTZMANN * 1.5) + 3 ** 4) ** 0.25;
      expect(expected).toBeCloseTo(radiatorEquilibriumK(q, 1.5, 0.85), 9);
      expect(Math.abs(m.temperaturesK().radiator - expected)).toBeLessThan(0.5);
      expect(Math.abs(m.radiatedW() - q)).toBeLessThan(0.01 * q);
    }
  });

  it("includes Earth IR and albedo in the radiator's equilibrium (F = 0.3, 237 W/m², albedo 0.30)", () => {
    const m = new ThermalModel(SPEC);
    // Payload off, sunlit: Q_env = ε·237·F·A + α·0.30·1361·F·A = 90.65 + 36.75 W.
    const qEnv = 0.85 * 237 * 0.3 * 1.5 + 0.2 * 0.3 * 1361 * 0.3 * 1.5;
    expect(m.environmentHeatW(1)).toBeCloseTo(qEnv, 9);
    expect(m.environmentHeatW(0)).toBeCloseTo(0.85 * 237 * 0.3 * 1.5, 9);
    run(m, 48 * 3600, 60, () => ({ payloadPowerW: 0, sunFraction: 1 }));
    expect(Math.abs(m.temperaturesK().radiator - radiatorEquilibriumK(qEnv, 1.5, 0.85))).toBeLessThan(0.5);
  });

  it("direct sun on the radiator adds α·S·A·sunFraction·incidence", () => {
    const m = new ThermalModel({ ...DARK, radiator: { ...DARK.radiator, solarIncidenceFactor: 0.5 } });
    expect(m.environmentHeatW(0.8)).toBeCloseTo(0.2 * 1361 * 1.5 * 0.8 * 0.5, 9);
  });

  it("at steady state with payload power the die runs hotter than the board, hotter than the radiator, by P/G", () => {
    const m = new ThermalModel(SPEC);
    const p = 300;
    run(m, 48 * 3600, 60, () => ({ payloadPowerW: p, sunFraction: 1 }));
    const t = m.temperaturesK();
    expect(t.die).toBeGreaterThan(t.board);
    expect(t.board).toBeGreaterThan(t.radiator);
    expect(t.die - t.board).toBeCloseTo(p / 10, 2); // all 300 W cross G_db = 10 W/K
    expect(t.board - t.radiator).toBeCloseTo(p / 10, 2);
    const qEnv = m.environmentHeatW(1);
    expect(Math.abs(t.radiator - radiatorEquilibriumK(p + qEnv, 1.5, 0.85))).toBeLessThan(0.5);
    const c = m.temperaturesC();
    expect(c.die).toBeCloseTo(t.die - 273.15, 9);
  });

  it("is stable for any caller dt: dt = 1 s, 10 s, 60 s, 600 s end in the same state within 0.1 K", () => {
    // 6 h of orbits, 94.6-min period with 35.8 min eclipse, payload duty-cycled; inputs change on 600-s boundaries.
    const input = (t: number) => {
      const slot = Math.floor(t / 600);
      return { payloadPowerW: slot % 3 === 0 ? 50 : 400, sunFraction: (slot * 600) % 5676 < 2148 ? 0 : 1 };
    };
    const finals = [1, 10, 60, 600].map((dt) => {
      const m = new ThermalModel(SPEC);
      run(m, 6 * 3600, dt, input);
      return m.temperaturesC();
    });
    const ref = finals[0]!;
    for (const f of finals.slice(1)) {
      for (const node of ["die", "board", "radiator"] as const) {
        expect(Math.abs(f[node] - ref[node])).toBeLessThan(0.1);
      }
    }
    expect(ref.die).toBeGreaterThan(ref.board);
  });

  it("substeps below a fraction of the smallest time constant, so a stiff die node (τ = 0.1 s) survives dt = 60 s", () => {
    const stiff: ThermalSpec = { ...DARK, nodes: { ...DARK.nodes, die: { heatCapacityJK: 1, initialC: 20 } } };
    const m = new ThermalModel(stiff);
    expect(m.minTimeConstantS()).toBeCloseTo(0.1, 9);
    m.step(60, { payloadPowerW: 100, sunFraction: 0 });
    expect(m.substepCount).toBeGreaterThanOrEqual(3000); // h ≤ 0.2 × 0.1 s
    const t = m.temperaturesK();
    expect(Number.isFinite(t.die)).toBe(true);
    // The die tracks the board quasi-statically: T_die − T_board → P/G_db = 10 K.
    expect(t.die - t.board).toBeCloseTo(10, 1);
    const ref = new ThermalModel(stiff);
    run(ref, 60, 0.5, () => ({ payloadPowerW: 100, sunFraction: 0 }));
    expect(Math.abs(ref.temperaturesK().die - t.die)).toBeLessThan(0.01);
  });

  it("conserves energy: ∫(P_in − Q_rad) dt = Σ C·ΔT (within 0.1 %)", () => {
    const m = new ThermalModel(DARK);
    const before = m.temperaturesK();
    let qRadJ = 0;
    let prev = m.radiatedW();
    const dt = 1;
    const p = 500;
    for (let t = 0; t < 3 * 3600; t += dt) {
      m.step(dt, { payloadPowerW: p, sunFraction: 0 });
      const now = m.radiatedW();
      qRadJ += ((prev + now) / 2) * dt;
      prev = now;
    }
    const after = m.temperaturesK();
    const stored = 150 * (after.die - before.die) + 2000 * (after.board - before.board) + 8000 * (after.radiator - before.radiator);
    const net = p * 3 * 3600 - qRadJ;
    expect(Math.abs(stored - net) / Math.abs(net)).toBeLessThan(1e-3);
  });

  it("sensor readings are the true temperature plus N(0, sd²) noise, deterministic for a seed", () => {
    const m = new ThermalModel(SPEC);
    m.step(600, { payloadPowerW: 200, sunFraction: 1 });
    const truth = m.temperaturesC().die;
    const rng = new Rng("sensor");
    const n = 20_000;
    let s = 0;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const r = m.sensorReadingC("die", rng) - truth;
      s += r;
      ss += r * r;
    }
    const mean = s / n;
    const sd = Math.sqrt(ss / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan((4 * 0.5) / Math.sqrt(n));
    expect(Math.abs(sd - 0.5)).toBeLessThan(4 * 0.5 * Math.sqrt(1 / (2 * n)));
    expect(m.sensorReadingC("board", new Rng(3))).toBe(m.sensorReadingC("board", new Rng(3)));
    const quiet = new ThermalModel({ ...SPEC, sensorNoiseSdC: 0 });
    expect(quiet.sensorReadingC("radiator", new Rng(1))).toBeCloseTo(20, 12);
  });

  it("rejects invalid specs with a RangeError naming the field", () => {
    const cases: [ThermalSpec, RegExp][] = [
      [{ ...SPEC, nodes: { ...SPEC.nodes, die: { heatCapacityJK: 0, initialC: 20 } } }, /nodes\.die\.heatCapacityJK/],
      [{ ...SPEC, nodes: { ...SPEC.nodes, board: { heatCapacityJK: 10, initialC: -300 } } }, /nodes\.board\.initialC/],
      [{ ...SPEC, conductancesWK: { dieBoard: -1, boardRadiator: 10 } }, /conductancesWK\.dieBoard/],
      [{ ...SPEC, conductancesWK: { dieBoard: 1, boardRadiator: 0 } }, /conductancesWK\.boardRadiator/],
      [{ ...SPEC, radiator: { ...SPEC.radiator, areaM2: 0 } }, /radiator\.areaM2/],
      [{ ...SPEC, radiator: { ...SPEC.radiator, emissivity: 1.2 } }, /radiator\.emissivity/],
      [{ ...SPEC, radiator: { ...SPEC.radiator, absorptivity: -0.1 } }, /radiator\.absorptivity/],
      [{ ...SPEC, radiator: { ...SPEC.radiator, earthViewFactor: 2 } }, /radiator\.earthViewFactor/],
      [{ ...SPEC, environment: { albedo: 1.5 } }, /environment\.albedo/],
      [{ ...SPEC, sensorNoiseSdC: -1 }, /sensorNoiseSdC/],
      [{ ...SPEC, stabilityFraction: 0 }, /stabilityFraction/],
    ];
    for (const [spec, re] of cases) {
      expect(() => new ThermalModel(spec)).toThrow(RangeError);
      expect(() => new ThermalModel(spec)).toThrow(re);
    }
    const m = new ThermalModel(SPEC);
    expect(() => m.step(0, { payloadPowerW: 1, sunFraction: 0 })).toThrow(/dtS/);
    expect(() => m.step(1, { payloadPowerW: -1, sunFraction: 0 })).toThrow(/payloadPowerW/);
    expect(() => m.step(1, { payloadPowerW: 1, sunFraction: 2 })).toThrow(/sunFraction/);
  });
});
