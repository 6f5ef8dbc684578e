import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHECK_SYMBOLS,
  DATA_BITS,
  INTERLEAVE_DEPTHS,
  dataBitOfSyndrome,
  dataColumn,
  decodeGroup,
  encodeGroups,
  groupBytes,
  readCheckSymbol,
  type InterleaveDepth,
} from "../src/codes/secded.js";

/** One group of random data, as bytes and as the aligned words the kernel reads. */
function group(depth: InterleaveDepth, bytes: Uint8Array) {
  const words = new Uint32Array(groupBytes(depth) / 4);
  new Uint8Array(words.buffer).set(bytes);
  const checks = new Uint8Array(depth);
  encodeGroups(words, 0, 1, depth, checks, 0, new Uint32Array(8));
  return { words, data: new Uint8Array(words.buffer), checks };
}

const bit = (buf: Uint8Array, i: number) => (buf[i >>> 3]! >>> (i & 7)) & 1;
const flip = (buf: Uint8Array, i: number) => {
  buf[i >>> 3] = buf[i >>> 3]! ^ (1 << (i & 7));
};

/** The code written out bit by bit: what the word-parallel kernel must equal. */
function referenceChecks(depth: InterleaveDepth, data: Uint8Array): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < depth; k++) {
    const c = new Array<number>(8).fill(0);
    for (let j = 0; j < DATA_BITS; j++) {
      const d = bit(data, j * depth + k); // physical bit j·D + k is data bit j of codeword k
      const h = dataColumn(j);
      for (let b = 0; b < 7; b++) if ((h >>> b) & 1) c[b] ^= d;
      c[7] ^= d;
    }
    for (let b = 0; b < 7; b++) c[7] ^= c[b]!;
    out.push(c);
  }
  return out;
}

const groupData = (depth: InterleaveDepth) => fc.uint8Array({ minLength: groupBytes(depth), maxLength: groupBytes(depth) });

describe("SECDED (72,64) columns", () => {
  it("gives 64 distinct data columns of weight >= 2, none a check bit's, and inverts them", () => {
    const columns = Array.from({ length: DATA_BITS }, (_, j) => dataColumn(j));
    expect(new Set(columns).size).toBe(64);
    for (const [j, h] of columns.entries()) {
      expect(h).toBeGreaterThan(0);
      expect(h).toBeLessThan(128);
      expect(h & (h - 1)).not.toBe(0); // not a unit column
      expect(dataBitOfSyndrome(h)).toBe(j);
    }
    for (let c = 0; c < 7; c++) expect(dataBitOfSyndrome(1 << c)).toBe(-1);
    expect(() => dataColumn(64)).toThrow(RangeError);
    expect(() => dataColumn(-1)).toThrow(RangeError);
    expect(CHECK_SYMBOLS).toBe(8);
  });
});

describe.each(INTERLEAVE_DEPTHS.map((d) => [d]))("SECDED with interleave depth %i", (depth) => {
  it("encodes exactly as the bit-by-bit definition", () => {
    fc.assert(
      fc.property(groupData(depth), (bytes) => {
        const g = group(depth, bytes);
        const ref = referenceChecks(depth, g.data);
        for (let c = 0; c < 8; c++) {
          const sym = readCheckSymbol(g.checks, 0, depth, c);
          for (let k = 0; k < depth; k++) expect((sym >>> k) & 1).toBe(ref[k]![c]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("finds a clean group clean", () => {
    fc.assert(
      fc.property(groupData(depth), (bytes) => {
        const g = group(depth, bytes);
        expect(decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8))).toBeUndefined();
      }),
    );
  });

  it("corrects every single data-bit flip of a group", () => {
    fc.assert(
      fc.property(groupData(depth), (bytes) => {
        const g = group(depth, bytes);
        for (let i = 0; i < groupBytes(depth) * 8; i++) {
          flip(g.data, i);
          const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
          expect(found).toEqual({ dataBits: [i], checkBits: [], uncorrectable: [] });
          flip(g.data, i);
        }
      }),
      { numRuns: 5 },
    );
  });

  it("corrects every single flip in the side table as a check-bit error", () => {
    fc.assert(
      fc.property(groupData(depth), (bytes) => {
        const g = group(depth, bytes);
        for (let i = 0; i < depth * 8; i++) {
          flip(g.checks, i);
          const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
          expect(found).toEqual({ dataBits: [], checkBits: [i], uncorrectable: [] });
          flip(g.checks, i);
        }
      }),
      { numRuns: 5 },
    );
  });

  // All 72 bits of one codeword, as (where, physical bit offset).
  const codewordBits = (k: number): [ "data" | "check", number][] => [
    ...Array.from({ length: 64 }, (_, j) => ["data", j * depth + k] as ["data", number]),
    ...Array.from({ length: 8 }, (_, c) => ["check", c * depth + k] as ["check", number]),
  ];

  it("detects every double flip within one codeword (data and check bits)", () => {
    fc.assert(
      fc.property(groupData(depth), fc.nat({ max: depth - 1 }), fc.nat({ max: 71 }), fc.nat({ max: 71 }), (bytes, k, a, b) => {
        fc.pre(a !== b);
        const g = group(depth, bytes);
        const bits = codewordBits(k);
        for (const [where, i] of [bits[a]!, bits[b]!]) flip(where === "data" ? g.data : g.checks, i);
        const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
        expect(found?.uncorrectable).toEqual([k]);
        expect(found?.dataBits).toEqual([]);
        expect(found?.checkBits).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it("detects every one of the 72·71/2 double flips of a codeword", () => {
    const g = group(depth, new Uint8Array(groupBytes(depth)).map((_, i) => (i * 37 + 11) & 255));
    const k = depth - 1;
    const bits = codewordBits(k);
    for (let a = 0; a < 72; a++) {
      for (let b = a + 1; b < 72; b++) {
        for (const [where, i] of [bits[a]!, bits[b]!]) flip(where === "data" ? g.data : g.checks, i);
        const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
        expect(found?.uncorrectable).toEqual([k]);
        for (const [where, i] of [bits[a]!, bits[b]!]) flip(where === "data" ? g.data : g.checks, i);
      }
    }
  });

  it(`corrects every burst of 1..${depth} adjacent flipped bits, in the data and in the side table`, () => {
    fc.assert(
      fc.property(groupData(depth), fc.integer({ min: 1, max: depth }), fc.boolean(), fc.nat(), (bytes, length, inChecks, at) => {
        const g = group(depth, bytes);
        const target = inChecks ? g.checks : g.data;
        const start = at % (target.length * 8 - length + 1);
        for (let i = start; i < start + length; i++) flip(target, i);
        const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
        const expected = Array.from({ length }, (_, n) => start + n).sort((x, y) => (x % depth) - (y % depth));
        expect(found?.uncorrectable).toEqual([]);
        expect(inChecks ? found?.checkBits : found?.dataBits).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it(`detects a burst of ${depth + 1} adjacent bits (two land in one codeword)`, () => {
    fc.assert(
      fc.property(groupData(depth), fc.nat({ max: groupBytes(depth) * 8 - depth - 1 }), (bytes, start) => {
        const g = group(depth, bytes);
        for (let i = start; i <= start + depth; i++) flip(g.data, i);
        const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
        expect(found?.uncorrectable).toEqual([start % depth]);
      }),
    );
  });

  it("corrects one flip in each of several codewords at once", () => {
    fc.assert(
      fc.property(groupData(depth), fc.uniqueArray(fc.nat({ max: groupBytes(depth) * 8 - 1 }), { selector: (i) => i % depth, minLength: 1, maxLength: depth }), (bytes, offsets) => {
        const g = group(depth, bytes);
        const original = g.data.slice();
        for (const i of offsets) flip(g.data, i);
        const found = decodeGroup(g.words, 0, depth, g.checks, 0, new Uint32Array(8));
        expect(found?.uncorrectable).toEqual([]);
        expect([...found!.dataBits].sort((a, b) => a - b)).toEqual([...offsets].sort((a, b) => a - b));
        for (const i of found!.dataBits) flip(g.data, i);
        expect(g.data).toEqual(original);
      }),
    );
  });
});
