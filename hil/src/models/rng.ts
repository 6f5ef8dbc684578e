/**
 * Seeded, deterministic pseudo-random numbers for the HIL physical models.
 *
 * Generator: xoshiro128** 1.1 (D. Blackman & S. Vigna, "Scrambled linear pseudorandom
 * number generators", ACM TOMS 47(4), 2021; reference code https://prng.di.unimi.it/
 * xoshiro128starstar.c). 128-bit state, period 2^128 − 1, passes BigCrush; 32-bit output.
 * Known answer (also used by Rust's rand_xoshiro tests): from state {1, 2, 3, 4} the first
 * outputs are 11520, 0, 5927040, 70819200, 2031721883, …
 *
 * Seeding: the seed (a number is first converted with `String(seed)`, so `new Rng(42)` and
 * `new Rng("42")` are the same stream) is hashed with cyrb128 (bryc, public domain, a
 * MurmurHash3-style 128-bit string hash) into the four state words; an all-zero state is
 * replaced by a fixed non-zero one, and the first 16 outputs are discarded to diffuse
 * similar seeds.
 *
 * Streams: `fork(label)` derives a new generator from the *seed key* and the label only
 * (key = parentKey + "/" + label), never from the parent's current state. A model that forks
 * its own stream is therefore unaffected by how many draws any other model makes, and adding
 * a model (a new fork label) does not shift anyone else's draws.
 *
 * Nothing here reads the clock or Math.random.
 */

const TWO_POW_32 = 4294967296;
const TWO_POW_21 = 2097152;
const TWO_POW_53 = 9007199254740992;

/** Threshold above which `poisson` uses PTRS instead of Knuth's multiplication method. */
export const POISSON_PTRS_THRESHOLD = 10;

/** cyrb128 string hash (bryc, public domain): four 32-bit unsigned words. */
export function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * ln(k!) for a non-negative integer k: exact table below 30, Stirling series above
 * (ln k! = k ln k − k + ½ ln(2πk) + 1/(12k) − 1/(360k³) + 1/(1260k⁵), error < 1e-14 for k ≥ 30).
 */
const LOG_FACTORIAL_TABLE: number[] = (() => {
  const t = [0];
  for (let k = 1; k < 30; k++) t.push((t[k - 1] ?? 0) + Math.log(k));
  return t;
})();

export function logFactorial(k: number): number {
  if (k < 30) return LOG_FACTORIAL_TABLE[k] ?? 0;
  const k2 = k * k;
  return (
    k * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI * k) + 1 / (12 * k) - 1 / (360 * k * k2) + 1 / (1260 * k2 * k2 * k)
  );
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  /** The string the state was derived from; forks hash `seedKey + "/" + label`. */
  readonly seedKey: string;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | undefined = undefined;

  constructor(seed: number | string) {
    if (typeof seed === "number" && !Number.isFinite(seed)) {
      throw new RangeError(`seed must be a finite number or a string, got ${seed}`);
    }
    if (typeof seed !== "number" && typeof seed !== "string") {
      throw new TypeError("seed must be a number or a string");
    }
    this.seedKey = String(seed);
    const [a, b, c, d] = cyrb128(this.seedKey);
    this.setState(a, b, c, d);
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  /** A generator with the exact xoshiro128** state given (for known-answer tests); no warm-up. */
  static fromState(state: readonly [number, number, number, number], seedKey = "state"): Rng {
    const r = new Rng(seedKey);
    r.setState(state[0], state[1], state[2], state[3]);
    r.spareNormal = undefined;
    return r;
  }

  private setState(a: number, b: number, c: number, d: number): void {
    this.s0 = a >>> 0;
    this.s1 = b >>> 0;
    this.s2 = c >>> 0;
    this.s3 = d >>> 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 0x9e3779b9; // xoshiro forbids all-zero
  }

  /** Raw xoshiro128** output: an unsigned 32-bit integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution (one draw). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * Uniform integer in [0, maxExclusive), unbiased (rejection sampling). maxExclusive may be up
   * to 2^53 (e.g. a bit offset in an 8e9-bit memory): above 2^32 two draws make a 53-bit value.
   */
  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1) {
      throw new RangeError(`maxExclusive must be a positive safe integer, got ${maxExclusive}`);
    }
    if (maxExclusive <= TWO_POW_32) {
      const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
      for (;;) {
        const r = this.nextUint32();
        if (r < limit) return r % maxExclusive;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % maxExclusive);
    for (;;) {
      const r = this.nextUint32() * TWO_POW_21 + (this.nextUint32() >>> 11);
      if (r < limit) return r % maxExclusive;
    }
  }

  /** Gaussian draw (Box–Muller; the second variate of each pair is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (!(sd >= 0) || !Number.isFinite(sd)) throw new RangeError(`sd must be finite and >= 0, got ${sd}`);
    let z: number;
    if (this.spareNormal !== undefined) {
      z = this.spareNormal;
      this.spareNormal = undefined;
    } else {
      const u1 = 1 - this.next(); // (0, 1]
      const u2 = this.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      z = r * Math.cos(2 * Math.PI * u2);
      this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    }
    return mean + sd * z;
  }

  /** Exponential waiting time with the given rate (mean 1/rate), by inversion. */
  exponential(rate: number): number {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be finite and > 0, got ${rate}`);
    return -Math.log(1 - this.next()) / rate;
  }

  /**
   * Poisson-distributed count with mean lambda.
   * - lambda < 10: Knuth's multiplication method (Knuth, TAOCP vol. 2, 3.4.1), exact.
   * - lambda ≥ 10: PTRS, transformed rejection with squeeze (W. Hörmann, "The transformed
   *   rejection method for generating Poisson random variables", Insurance: Mathematics and
   *   Economics 12, 1993), exact for any lambda (also used by NumPy); cost O(1) in lambda.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0) || !Number.isFinite(lambda)) {
      throw new RangeError(`lambda must be finite and >= 0, got ${lambda}`);
    }
    if (lambda === 0) return 0;
    if (lambda < POISSON_PTRS_THRESHOLD) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.next() - 0.5;
      const v = 1 - this.next(); // (0, 1]
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) {
        return k;
      }
    }
  }

  /** Bernoulli trial with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * An independent stream derived from this generator's seed key and `label` only (not from its
   * current state, and without advancing it). `a.fork("x").fork("y")` ≡ `new Rng(a.seedKey + "/x/y")`.
   */
  fork(label: string): Rng {
    return new Rng(`${this.seedKey}/${label}`);
  }
}
