import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Rng, logFactorial } from "../../src/models/index.js";

/** Sample mean and (unbiased) variance. */
function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i]!;
  const mean = sum / xs.length;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i]! - mean) ** 2;
  return { mean, variance: ss / (xs.length - 1) };
}

describe("Rng: xoshiro128**", () => {
  it("matches the reference xoshiro128** outputs from state {1,2,3,4} (Vigna's C code, rand_xoshiro test vector)", () => {
    const r = Rng.fromState([1, 2, 3, 4]);
    const got = Array.from({ length: 10 }, () => r.nextUint32());
    expect(got).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it("is deterministic: the same seed gives the identical sequence of every kind of draw", () => {
    const draw = (r: Rng) => [
      r.next(),
      r.int(1000),
      r.int(8e9),
      r.normal(5, 2),
      r.exponential(3),
      r.poisson(0.5),
      r.poisson(20),
      r.poisson(5000),
    ];
    const a = new Rng("umbra-seed");
    const b = new Rng("umbra-seed");
    for (let i = 0; i < 200; i++) expect(draw(a)).toEqual(draw(b));
    expect(new Rng(42).next()).toBe(new Rng("42").next());
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
  });

  it("forks are reproducible, independent of the parent's state, and do not advance the parent", () => {
    const p1 = new Rng(7);
    const p2 = new Rng(7);
    for (let i = 0; i < 1000; i++) p2.next(); // p2 has consumed draws
    const f1 = p1.fork("thermal");
    const f2 = p2.fork("thermal");
    for (let i = 0; i < 100; i++) expect(f1.nextUint32()).toBe(f2.nextUint32());
    const p3 = new Rng(7);
    const before = new Rng(7).nextUint32();
    p3.fork("x");
    expect(p3.nextUint32()).toBe(before);
  });

  it("forks with different labels are uncorrelated streams (|r| < 4/√n) and differ from the parent", () => {
    const root = new Rng("mission");
    const a = root.fork("seu");
    const b = root.fork("sefi");
    const n = 100_000;
    let sa = 0;
    let sb = 0;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    let equal = 0;
    const p = new Rng("mission");
    const a2 = root.fork("seu");
    for (let i = 0; i < n; i++) {
      const x = a.next();
      const y = b.next();
      if (p.next() === a2.next()) equal++;
      sa += x;
      sb += y;
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    const cov = sab / n - (sa / n) * (sb / n);
    const r = cov / Math.sqrt((saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2));
    expect(Math.abs(r)).toBeLessThan(4 / Math.sqrt(n));
    expect(equal).toBeLessThan(5);
  });

  it("next() is uniform on [0,1): mean 1/2 and variance 1/12 within 4σ, and a 16-bin χ² test passes", () => {
    const r = new Rng("uniform");
    const n = 200_000;
    const xs = new Float64Array(n);
    const bins = new Array<number>(16).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outOfRange++;
      xs[i] = x;
      bins[Math.floor(x * 16)]!++;
    }
    expect(outOfRange).toBe(0);
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    // Var of the sample variance of U(0,1): (μ4 − σ⁴)/n = (1/80 − 1/144)/n.
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(4 * Math.sqrt((1 / 80 - 1 / 144) / n));
    const e = n / 16;
    const chi2 = bins.reduce((s, o) => s + (o - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(37.7); // χ²(15) 0.999 quantile
  });

  it("int() stays in range for any bound, including above 2^32", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seed, max) => {
        const r = new Rng(seed);
        for (let i = 0; i < 20; i++) {
          const k = r.int(max);
          if (!Number.isInteger(k) || k < 0 || k >= max) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
    expect(() => new Rng(1).int(0)).toThrow(RangeError);
    expect(() => new Rng(1).int(2.5)).toThrow(RangeError);
  });

  it("int(8e9) is uniform over an 8-Gbit range: mean within 4σ of (n−1)/2 and both halves above 2^32 are reached", () => {
    const r = new Rng("bits");
    const max = 8e9;
    const n = 100_000;
    let sum = 0;
    let above = 0;
    for (let i = 0; i < n; i++) {
      const k = r.int(max);
      sum += k;
      if (k >= 2 ** 32) above++;
    }
    const sd = max / Math.sqrt(12);
    expect(Math.abs(sum / n - (max - 1) / 2)).toBeLessThan((4 * sd) / Math.sqrt(n));
    const pAbove = (max - 2 ** 32) / max;
    expect(Math.abs(above / n - pAbove)).toBeLessThan(4 * Math.sqrt((pAbove * (1 - pAbove)) / n));
  });

  it("normal(mean, sd) and exponential(rate) have the right first two moments", () => {
    const r = new Rng("gauss");
    const n = 200_000;
    const g = new Float64Array(n);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      g[i] = r.normal(10, 3);
      x[i] = r.exponential(0.5);
    }
    const mg = moments(g);
    expect(Math.abs(mg.mean - 10)).toBeLessThan(4 * (3 / Math.sqrt(n)));
    expect(Math.abs(mg.variance - 9)).toBeLessThan(4 * 9 * Math.sqrt(2 / n));
    const mx = moments(x);
    expect(Math.abs(mx.mean - 2)).toBeLessThan(4 * (2 / Math.sqrt(n)));
    // Exponential: Var(s²) ≈ (μ4 − σ⁴)/n = 8/rate⁴/n.
    expect(Math.abs(mx.variance - 4)).toBeLessThan(4 * Math.sqrt(8 * 16 / n));
  });

  it.each([0.5, 20, 5000])("poisson(%d): mean and variance ≈ λ within 4 standard errors", (lambda) => {
    const r = new Rng(`poisson-${lambda}`);
    const n = 200_000;
    const xs = new Float64Array(n);
    let invalid = 0;
    for (let i = 0; i < n; i++) {
      const k = r.poisson(lambda);
      if (!(Number.isInteger(k) && k >= 0)) invalid++;
      xs[i] = k;
    }
    expect(invalid).toBe(0);
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean - lambda)).toBeLessThan(4 * Math.sqrt(lambda / n));
    // For Poisson μ4 = λ + 3λ², so Var(s²) ≈ (λ + 2λ²)/n.
    expect(Math.abs(variance - lambda)).toBeLessThan(4 * Math.sqrt((lambda + 2 * lambda * lambda) / n));
  });

  it("poisson(20) (PTRS branch) matches the Poisson pmf: χ² over k = 8..32 with tails pooled", () => {
    const r = new Rng("ptrs-shape");
    const lambda = 20;
    const n = 200_000;
    const lo = 8;
    const hi = 32;
    const counts = new Array<number>(hi - lo + 3).fill(0); // [<lo, lo..hi, >hi]
    for (let i = 0; i < n; i++) {
      const k = r.poisson(lambda);
      const idx = k < lo ? 0 : k > hi ? hi - lo + 2 : k - lo + 1;
      counts[idx]!++;
    }
    const pmf = (k: number) => Math.exp(-lambda + k * Math.log(lambda) - logFactorial(k));
    let pLow = 0;
    for (let k = 0; k < lo; k++) pLow += pmf(k);
    let pMid = 0;
    const expected: number[] = [pLow * n];
    for (let k = lo; k <= hi; k++) {
      expected.push(pmf(k) * n);
      pMid += pmf(k);
    }
    expected.push((1 - pLow - pMid) * n);
    const chi2 = counts.reduce((s, o, i) => s + (o - expected[i]!) ** 2 / expected[i]!, 0);
    // 27 cells → 26 degrees of freedom; χ²(26) 0.999 quantile = 54.05.
    expect(chi2).toBeLessThan(54.05);
  });

  it("poisson() handles very large λ (1e12) in O(1) with the right scale, and λ = 0", () => {
    const r = new Rng("huge");
    for (let i = 0; i < 100; i++) {
      const k = r.poisson(1e12);
      expect(Math.abs(k - 1e12)).toBeLessThan(6 * 1e6);
    }
    expect(r.poisson(0)).toBe(0);
    expect(() => r.poisson(-1)).toThrow(RangeError);
    expect(() => r.poisson(Number.NaN)).toThrow(RangeError);
  });

  it("logFactorial matches exact values across the table/Stirling boundary", () => {
    let exact = 0;
    for (let k = 1; k <= 170; k++) {
      exact += Math.log(k);
      expect(logFactorial(k)).toBeCloseTo(exact, 9);
    }
  });
});
