import { describe, expect, it } from "vitest";
import { RadiationModel, Rng, type RadiationContext, type RadiationSpec } from "../../src/models/index.js";

const QUIET: RadiationContext = { inSaa: false, spe: false };
const SAA: RadiationContext = { inSaa: true, spe: false };
const SPE: RadiationContext = { inSaa: false, spe: true };
const BOTH: RadiationContext = { inSaa: true, spe: true };
const DAY = 86400;
/** 1 GB of exposed memory: 8e9 bits (above 2^32, so offsets need 53-bit draws). */
const BITS = 8e9;

/** |observed − λ| < 4√λ: a 4σ bound for a Poisson count (false-alarm probability ≈ 6e-5). */
function expectPoisson(observed: number, lambda: number): void {
  expect(Math.abs(observed - lambda)).toBeLessThan(4 * Math.sqrt(lambda));
}

/** |k − np| < 4√(np(1−p)) for a binomial proportion. */
function expectBinomial(k: number, n: number, p: number): void {
  expect(Math.abs(k - n * p)).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)));
}

function runFor(model: RadiationModel, days: number, dtS: number, ctx: RadiationContext | ((t: number) => RadiationContext), bits = BITS) {
  let upsets = 0;
  for (let t = 0; t < days * DAY; t += dtS) {
    upsets += model.step(dtS, typeof ctx === "function" ? ctx(t) : ctx, bits).upsetCount;
  }
  return upsets;
}

describe("radiation: rates", () => {
  it("uses 1e-8 upsets/bit/day quiet, ×10 in the SAA, ×100 in an SPE by default", () => {
    const m = new RadiationModel({}, new Rng(1));
    expect(m.rate(QUIET)).toBe(1e-8);
    expect(m.rate(SAA)).toBeCloseTo(1e-7, 20);
    expect(m.rate(SPE)).toBeCloseTo(1e-6, 20);
    // Independent populations add: 1 + 9 + 99 = 109 × quiet.
    expect(m.rate(BOTH)).toBeCloseTo(1.09e-6, 20);
  });

  it("takes configured rates and multipliers", () => {
    const m = new RadiationModel({ seu: { quietPerBitPerDay: 3e-9, saaMultiplier: 20, speMultiplier: 50 } }, new Rng(1));
    expect(m.rate(QUIET)).toBe(3e-9);
    expect(m.rate(SAA)).toBeCloseTo(6e-8, 20);
    expect(m.rate(SPE)).toBeCloseTo(1.5e-7, 20);
    expect(m.spec.seu.mbuFraction).toBe(0.014); // defaults kept for unspecified fields
  });
});

describe("radiation: SEU Poisson process", () => {
  it("quiet: 8e9 bits × 1e-8/bit/day × 10 days = 800 upsets, observed within 4σ (60-s steps)", () => {
    const m = new RadiationModel({}, new Rng("seu-quiet"));
    const n = runFor(m, 10, 60, QUIET);
    expectPoisson(n, 800);
    expect(m.totals().upsetEvents).toBe(n);
    expect(m.totals().elapsedS).toBe(10 * DAY);
  });

  it("SAA ×10 (8000 in 10 days) and SPE ×100 (80 000 in 10 days) show in the counts", () => {
    const saa = runFor(new RadiationModel({}, new Rng("seu-saa")), 10, 60, SAA);
    expectPoisson(saa, 8000);
    const spe = runFor(new RadiationModel({}, new Rng("seu-spe")), 10, 600, SPE);
    expectPoisson(spe, 80_000);
    const quiet = runFor(new RadiationModel({}, new Rng("seu-q2")), 10, 60, QUIET);
    expect(saa / quiet).toBeGreaterThan(7);
    expect(saa / quiet).toBeLessThan(14);
    expect(spe / saa).toBeGreaterThan(9);
    expect(spe / saa).toBeLessThan(11);
  });

  it("an orbit with SAA passes 10 % of the time gives λ = 800·(0.9 + 0.1·10) = 1520 in 10 days", () => {
    const m = new RadiationModel({}, new Rng("seu-mixed"));
    // SAA for 570 s of every 5700-s orbit (10 %).
    const n = runFor(m, 10, 30, (t) => ({ inSaa: t % 5700 < 570, spe: false }));
    expect(m.totals().saaS / m.totals().elapsedS).toBeCloseTo(0.1, 2);
    const lambda = 8e9 * 1e-8 * ((10 * DAY - m.totals().saaS) / DAY + (10 * m.totals().saaS) / DAY);
    expectPoisson(n, lambda);
  });

  it("per-step counts are Poisson: mean and variance both ≈ λ (index of dispersion ≈ 1)", () => {
    const m = new RadiationModel({}, new Rng("dispersion"));
    const steps = 20_000;
    const counts = new Float64Array(steps);
    for (let i = 0; i < steps; i++) counts[i] = m.step(3 * 3600, QUIET, BITS).upsetCount; // λ = 10 per step
    let s = 0;
    for (const c of counts) s += c;
    const mean = s / steps;
    let ss = 0;
    for (const c of counts) ss += (c - mean) ** 2;
    const variance = ss / (steps - 1);
    expect(Math.abs(mean - 10)).toBeLessThan(4 * Math.sqrt(10 / steps));
    expect(Math.abs(variance - 10)).toBeLessThan(4 * Math.sqrt((10 + 2 * 100) / steps));
  });

  it("multi-bit upsets are ≈1.4 % of events (4σ binomial bound over ~300 000 events), 20 % of them 3-bit", () => {
    const m = new RadiationModel({ seu: { quietPerBitPerDay: 1e-5 } }, new Rng("mbu"));
    const r = m.step(3.75 * DAY, QUIET, BITS); // λ = 300 000
    expectPoisson(r.upsetCount, 300_000);
    expect(r.upsets).toHaveLength(r.upsetCount);
    let multi = 0;
    let triple = 0;
    let bits = 0;
    let bad = 0;
    let offsetSum = 0;
    let above32 = 0;
    for (const u of r.upsets) {
      if (!Number.isInteger(u.bitOffset) || u.bitOffset < 0 || u.bitOffset + u.bits > BITS) bad++;
      if (u.bits < 1 || u.bits > 3) bad++;
      if (u.bits > 1) multi++;
      if (u.bits === 3) triple++;
      if (u.bitOffset >= 2 ** 32) above32++;
      bits += u.bits;
      offsetSum += u.bitOffset;
    }
    expect(bad).toBe(0);
    expectBinomial(multi, r.upsetCount, 0.014);
    expectBinomial(triple, multi, 0.2);
    const t = m.totals();
    expect(t.multiBitUpsets).toBe(multi);
    expect(t.singleBitUpsets).toBe(r.upsetCount - multi);
    expect(t.upsetBits).toBe(bits);
    // Offsets uniform over [0, 8e9): mean within 4σ of 4e9, and the upper 46 % (≥ 2^32) is reached.
    expect(Math.abs(offsetSum / r.upsetCount - (BITS - 1) / 2)).toBeLessThan((4 * BITS) / Math.sqrt(12 * r.upsetCount));
    expectBinomial(above32, r.upsetCount, (BITS - 2 ** 32) / BITS);
  });

  it("keeps an MBU inside a tiny exposed region, and zero bits means no upsets", () => {
    const m = new RadiationModel({ seu: { quietPerBitPerDay: 1, mbuFraction: 1, mbuTripleFraction: 1 } }, new Rng(5));
    const r = m.step(DAY, QUIET, 4);
    for (const u of r.upsets) {
      expect(u.bits).toBe(3);
      expect(u.bitOffset + u.bits).toBeLessThanOrEqual(4);
    }
    const r2 = m.step(DAY, QUIET, 2);
    for (const u of r2.upsets) expect(u.bits).toBe(2);
    expect(m.step(DAY, SPE, 0).upsets).toEqual([]);
  });

  it("caps the listed upsets but still counts them all", () => {
    const m = new RadiationModel({ seu: { quietPerBitPerDay: 1e-6 }, maxListedUpsetsPerStep: 100 }, new Rng(9));
    const r = m.step(DAY, QUIET, BITS); // λ = 8000
    expect(r.upsets).toHaveLength(100);
    expect(r.upsetCount).toBeGreaterThan(7000);
    expect(m.totals().upsetEvents).toBe(r.upsetCount);
  });
});

describe("radiation: SEFI, latch-up, dose", () => {
  it("SEFIs: Poisson count per day with hang/crash split by the configured probability", () => {
    const m = new RadiationModel({ sefi: { quietPerDay: 2, hangProbability: 0.7 } }, new Rng("sefi"));
    let hangs = 0;
    let crashes = 0;
    for (let t = 0; t < 1000 * DAY; t += 3600) {
      for (const s of m.step(3600, QUIET, 0).sefis) {
        if (s === "hang") hangs++;
        else crashes++;
      }
    }
    expectPoisson(hangs + crashes, 2000);
    expectBinomial(hangs, hangs + crashes, 0.7);
    expect(m.totals()).toMatchObject({ sefis: hangs + crashes, hangs, crashes });
  });

  it("SEFI and latch-up rates take their SAA/SPE multipliers", () => {
    const spec: RadiationSpec = {
      sefi: { quietPerDay: 0.5, saaMultiplier: 4, speMultiplier: 30 },
      latchup: { quietPerDay: 0.2, saaMultiplier: 5, speMultiplier: 50 },
    };
    const m = new RadiationModel(spec, new Rng("x"));
    expect(m.sefiRate(SAA)).toBe(2);
    expect(m.sefiRate(SPE)).toBe(15);
    expect(m.latchupRate(SAA)).toBeCloseTo(1, 12);
    expect(m.latchupRate(SPE)).toBeCloseTo(10, 12);
    let sefis = 0;
    let latchups = 0;
    for (let t = 0; t < 100 * DAY; t += 600) {
      const r = m.step(600, SAA, 0);
      sefis += r.sefis.length;
      latchups += r.latchups;
    }
    expectPoisson(sefis, 200);
    expectPoisson(latchups, 100);
    expect(m.totals().latchups).toBe(latchups);
  });

  it("accumulates total ionising dose at the quiet, SAA and SPE rates", () => {
    const m = new RadiationModel({ dose: { quietKradPerDay: 0.002, saaKradPerDay: 0.05, speKradPerDay: 1 } }, new Rng(0));
    expect(m.step(DAY, QUIET, 0).doseKrad).toBeCloseTo(0.002, 12);
    expect(m.step(DAY / 2, SAA, 0).doseKrad).toBeCloseTo(0.025, 12);
    expect(m.step(DAY / 4, SPE, 0).doseKrad).toBeCloseTo(0.25, 12);
    const r = m.step(DAY, BOTH, 0);
    expect(r.doseKrad).toBeCloseTo(0.05 + 1 - 0.002, 12);
    expect(r.totalDoseKrad).toBeCloseTo(0.002 + 0.025 + 0.25 + 1.048, 12);
    expect(m.totals().doseKrad).toBeCloseTo(r.totalDoseKrad, 12);
    // A year at the defaults with 10 % of the time in the SAA: ≈ 2.15 krad(Si).
    const y = new RadiationModel({}, new Rng(0));
    for (let t = 0; t < 365 * DAY; t += 570) y.step(570, { inSaa: (t / 570) % 10 === 0, spe: false }, 0);
    expect(y.totals().doseKrad).toBeCloseTo(365 * (0.9 * 0.001 + 0.1 * 0.05), 2);
  });
});

describe("radiation: determinism and streams", () => {
  it("the same seed gives identical upsets, SEFIs and latch-ups", () => {
    const spec: RadiationSpec = { sefi: { quietPerDay: 5 }, latchup: { quietPerDay: 2 } };
    const a = new RadiationModel(spec, new Rng("det"));
    const b = new RadiationModel(spec, new Rng("det"));
    for (let i = 0; i < 500; i++) {
      const ctx = { inSaa: i % 7 === 0, spe: i % 50 === 0 };
      expect(a.step(600, ctx, BITS)).toEqual(b.step(600, ctx, BITS));
    }
    expect(a.totals()).toEqual(b.totals());
  });

  it("changing the SEFI rate does not shift the SEU draws (each effect has its own forked stream)", () => {
    const a = new RadiationModel({ sefi: { quietPerDay: 0 } }, new Rng("streams"));
    const b = new RadiationModel({ sefi: { quietPerDay: 50 }, latchup: { quietPerDay: 10 } }, new Rng("streams"));
    for (let i = 0; i < 200; i++) {
      expect(a.step(3600, QUIET, BITS).upsets).toEqual(b.step(3600, QUIET, BITS).upsets);
    }
    expect(b.totals().sefis).toBeGreaterThan(0);
  });

  it("handles a 1-day step over 8e9 bits in the SPE quickly (≈8000 events, no per-bit loop)", () => {
    const m = new RadiationModel({}, new Rng("fast"));
    const r = m.step(DAY, SPE, BITS);
    expectPoisson(r.upsetCount, 8000);
  });
});

describe("radiation: validation", () => {
  it("rejects invalid specs and inputs with errors naming the field", () => {
    const cases: [RadiationSpec, RegExp][] = [
      [{ seu: { quietPerBitPerDay: -1 } }, /seu\.quietPerBitPerDay/],
      [{ seu: { saaMultiplier: 0.5 } }, /seu\.saaMultiplier/],
      [{ seu: { speMultiplier: Number.NaN } }, /seu\.speMultiplier/],
      [{ seu: { mbuFraction: 1.5 } }, /seu\.mbuFraction/],
      [{ seu: { mbuTripleFraction: -0.1 } }, /seu\.mbuTripleFraction/],
      [{ sefi: { quietPerDay: -2 } }, /sefi\.quietPerDay/],
      [{ sefi: { hangProbability: 2 } }, /sefi\.hangProbability/],
      [{ latchup: { speMultiplier: 0 } }, /latchup\.speMultiplier/],
      [{ dose: { saaKradPerDay: -1 } }, /dose\.saaKradPerDay/],
      [{ maxListedUpsetsPerStep: 0 }, /maxListedUpsetsPerStep/],
    ];
    for (const [spec, re] of cases) {
      expect(() => new RadiationModel(spec, new Rng(1))).toThrow(RangeError);
      expect(() => new RadiationModel(spec, new Rng(1))).toThrow(re);
    }
    const m = new RadiationModel({}, new Rng(1));
    expect(() => m.step(0, QUIET, 10)).toThrow(/dtS/);
    expect(() => m.step(60, QUIET, -1)).toThrow(/exposedBits/);
    expect(() => m.step(60, QUIET, 1.5)).toThrow(/exposedBits/);
  });
});
