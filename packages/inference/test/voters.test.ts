import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { close, DEFAULT_TOLERANCE, tensorsAgree, voteArgmax, voteBitwise, voteMedian, VoteError } from "../src/voters.js";

const tol = DEFAULT_TOLERANCE;
const finiteTensor = fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true, noDefaultInfinity: true });

/** A copy of t with the given bits flipped (index into elements, bit 0..31). */
function flip(t: Float32Array, flips: { index: number; bit: number }[]): Float32Array {
  const copy = new Float32Array(t);
  const words = new Uint32Array(copy.buffer);
  for (const f of flips) words[f.index % words.length] = words[f.index % words.length]! ^ (1 << f.bit);
  return copy;
}
const flipsArb = fc.array(fc.record({ index: fc.nat(), bit: fc.integer({ min: 0, max: 31 }) }), { minLength: 1, maxLength: 8 });
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("close", () => {
  it("treats NaN as agreeing only with NaN, and infinities only with themselves", () => {
    expect(close(NaN, NaN, tol)).toBe(true);
    expect(close(NaN, 0, tol)).toBe(false);
    expect(close(Infinity, Infinity, tol)).toBe(true);
    expect(close(Infinity, 1e38, tol)).toBe(false);
    expect(close(1, 1 + 1e-6, tol)).toBe(true);
    expect(close(1, 1.01, tol)).toBe(false);
  });
});

for (const [name, vote] of [
  ["median", voteMedian],
  ["bitwise", voteBitwise],
] as const) {
  describe(`${name} voter`, () => {
    it("is unanimous when the three replicas are identical", () => {
      fc.assert(
        fc.property(finiteTensor, (t) => {
          const v = vote([t, new Float32Array(t), new Float32Array(t)], tol);
          expect(v.status).toBe("unanimous");
          expect(v.dissenters).toEqual([]);
          expect(sameBits(v.value, t)).toBe(true);
        }),
      );
    });

    it("masks any bit flips in one replica exactly, and names that replica when it changed beyond the tolerance", () => {
      fc.assert(
        fc.property(finiteTensor, flipsArb, fc.integer({ min: 0, max: 2 }), (t, flips, bad) => {
          const replicas = [new Float32Array(t), new Float32Array(t), new Float32Array(t)];
          replicas[bad] = flip(t, flips);
          const v = vote(replicas, tol);
          expect(sameBits(v.value, t)).toBe(true);
          const visible = !tensorsAgree(replicas[bad]!, t, tol);
          expect(v.status).toBe(visible ? "corrected" : "unanimous");
          expect(v.dissenters).toEqual(visible ? [bad] : []);
        }),
      );
    });

    it("reports no majority when two replicas are wrong in the same element in different ways", () => {
      fc.assert(
        fc.property(fc.float32Array({ minLength: 1, maxLength: 16, noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }), fc.nat(), (t, i) => {
          const index = i % t.length;
          const a = new Float32Array(t);
          const b = new Float32Array(t);
          a[index] = t[index]! + 1000;
          b[index] = t[index]! - 1000;
          const v = vote([new Float32Array(t), a, b], tol);
          expect(v.status).toBe("no-majority");
        }),
      );
    });

    it("refuses a wrong number of replicas, mismatched lengths and a bad tolerance, with a clear error", () => {
      const t = new Float32Array([1, 2]);
      expect(() => vote([t, t], tol)).toThrow(VoteError);
      expect(() => vote([t, t, t, t], tol)).toThrow(/exactly 3 replicas/);
      expect(() => vote([t, t, new Float32Array(3)], tol)).toThrow(/replica 2 has 3 elements/);
      expect(() => vote([t, t, t], { abs: -1, rel: 0 })).toThrow(/tolerance.abs/);
      expect(() => vote([t, t, t], { abs: 0, rel: NaN })).toThrow(/tolerance.rel/);
    });
  });
}

describe("median voter with non-finite outputs", () => {
  it("outvotes a replica that produced NaN or an infinity", () => {
    const t = new Float32Array([0.25, -3, 7]);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const c = new Float32Array(t);
      c[1] = bad;
      const v = voteMedian([c, new Float32Array(t), new Float32Array(t)], tol);
      expect([...v.value]).toEqual([...t]);
      expect(v.dissenters).toEqual([0]);
      expect(v.status).toBe("corrected");
    }
  });
});

describe("argmax voter", () => {
  const probabilities = (rows: number, classes: number) =>
    fc.array(fc.array(fc.float({ min: Math.fround(0.001), max: 1, noNaN: true }), { minLength: classes, maxLength: classes }), { minLength: rows, maxLength: rows }).map((r) => {
      // Normalised rows with a unique maximum, like a softmax.
      const out = new Float32Array(rows * classes);
      r.forEach((row, i) => {
        const sum = row.reduce((a, b) => a + b, 0);
        row.forEach((p, k) => (out[i * classes + k] = p / sum));
      });
      return out;
    });
  const argmax = (t: Float32Array, classes: number) =>
    Array.from({ length: t.length / classes }, (_, row) => {
      let best = 0;
      for (let k = 1; k < classes; k++) if (t[row * classes + k]! > t[row * classes + best]!) best = k;
      return best;
    });

  it("keeps the true labels whatever one replica outputs, with the agreeing confidence", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((rows) => fc.tuple(fc.constant(rows), probabilities(rows, 3), fc.float32Array({ minLength: rows * 3, maxLength: rows * 3 }), fc.integer({ min: 0, max: 2 }))),
        ([, truth, garbage, bad]) => {
          const replicas = [new Float32Array(truth), new Float32Array(truth), new Float32Array(truth)];
          replicas[bad] = garbage;
          const v = voteArgmax(replicas, 3, tol);
          expect(v.status).not.toBe("no-majority");
          expect(v.labels).toEqual(argmax(truth, 3));
          expect(v.confidences).toEqual(argmax(truth, 3).map((label, row) => truth[row * 3 + label]));
          if (v.status === "corrected") expect(v.dissenters).toEqual([bad]);
        },
      ),
    );
  });

  it("counts a replica whose confidence is off as a dissenter even when its label survived, and reports the median", () => {
    const truth = new Float32Array([0.1, 0.7, 0.2]);
    const skewed = new Float32Array([0.05, 0.9, 0.05]);
    const v = voteArgmax([truth, skewed, new Float32Array(truth)], 3, tol);
    expect(v.labels).toEqual([1]);
    expect(v.confidences[0]).toBeCloseTo(0.7, 6);
    expect(v.dissenters).toEqual([1]);
    expect(v.status).toBe("corrected");
  });

  it("reports no majority when all three replicas pick different classes, and when NaN spoils two of them", () => {
    const v = voteArgmax([new Float32Array([0.8, 0.1, 0.1]), new Float32Array([0.1, 0.8, 0.1]), new Float32Array([0.1, 0.1, 0.8])], 3, tol);
    expect(v.status).toBe("no-majority");
    expect(v.labels).toEqual([-1]);
    const n = voteArgmax([new Float32Array([NaN, 0.1, 0.1]), new Float32Array([0.1, NaN, 0.1]), new Float32Array([0.1, 0.1, 0.8])], 3, tol);
    expect(n.status).toBe("no-majority");
  });

  it("takes the lower confidence when only two replicas agree", () => {
    const v = voteArgmax([new Float32Array([0.6, 0.4]), new Float32Array([0.1, 0.9]), new Float32Array([0.7, 0.3])], 2, tol);
    expect(v.labels).toEqual([0]);
    expect(v.confidences[0]).toBeCloseTo(0.6, 6);
    expect(v.dissenters).toEqual([1]);
  });

  it("refuses outputs that are not whole rows of the class count", () => {
    const t = new Float32Array(5);
    expect(() => voteArgmax([t, t, t], 2, tol)).toThrow(/whole number of rows/);
    expect(() => voteArgmax([t, t, t], 0, tol)).toThrow(/classes must be a positive integer/);
  });
});
