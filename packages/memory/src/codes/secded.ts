// SECDED Hamming (72,64) with bit interleaving, on a data buffer that stays
// as it is (ONNX Runtime reads it) and check bits in a side table.
//
// Layout. The data is cut into groups of 64 symbols of D bits (D = the
// interleave depth: 8, 16 or 32), so a group is 8·D bytes. Codeword k of a
// group (k = 0..D-1) is bit k of each of its 64 symbols: physical bit i of the
// group belongs to codeword i mod D. Any run of up to D adjacent flipped bits
// therefore hits D different codewords, one bit each, and every one of them is
// corrected. The 8 check symbols of a group (7 Hamming check bits and the
// overall parity bit, for all D codewords at once) are D bytes in the side
// table: check symbol c at byte c·D/8 of the group's slot, little-endian.
// Adjacent bits of the side table also belong to different codewords.
//
// The code. Data bit j (0..63) of a codeword has the 7-bit column h(j); check
// bit c has the unit column 1 << c; the syndrome of a word is the XOR of the
// columns of its flipped bits. With every column distinct and nonzero, and an
// overall parity bit over all 72 bits, one flip is located (syndrome = its
// column, parity odd) and two are detected (syndrome nonzero, parity even):
// extended Hamming SECDED. The columns are chosen so that encoding decomposes
// over 32-bit words: h(j) = j for the 57 values of j with two or more bits set;
// h(j) = j | 64 for j = 1, 2, 4, 8, 16, 32; h(0) = 64 | 3. Then check bits 0..5
// are parities over the bits of j, i.e. over lanes and words of the group
// (a handful of word XORs, not a loop over bits), and bit 6 covers 7 symbols.
//
// Only little-endian hosts are supported (symbols are read as Uint32 lanes):
// every Node target of this project is (x86-64, arm64).
import os from "node:os";

export type InterleaveDepth = 8 | 16 | 32;
export const INTERLEAVE_DEPTHS: readonly InterleaveDepth[] = [8, 16, 32];

/** Data bits per codeword. */
export const DATA_BITS = 64;
/** Hamming check bits per codeword, before the overall parity bit. */
export const HAMMING_BITS = 7;
/** Check symbols per group (7 Hamming + 1 overall parity). */
export const CHECK_SYMBOLS = 8;

if (os.endianness() !== "LE") {
  throw new Error("@umbra/memory: the SECDED layout assumes a little-endian host");
}

/** Bytes of data in one group of depth D: 64 symbols of D bits. */
export function groupBytes(depth: InterleaveDepth): number {
  return 8 * depth;
}

/** Bytes of side table per group: 8 check symbols of D bits. */
export function checkBytesPerGroup(depth: InterleaveDepth): number {
  return depth;
}

export function isInterleaveDepth(value: unknown): value is InterleaveDepth {
  return value === 8 || value === 16 || value === 32;
}

/** The 7-bit column of data bit j (see the top of this file). */
export function dataColumn(j: number): number {
  if (!Number.isInteger(j) || j < 0 || j >= DATA_BITS) throw new RangeError(`data bit ${j} is not in 0..63`);
  if (j === 0) return 64 | 3;
  if ((j & (j - 1)) === 0) return j | 64;
  return j;
}

/** Syndrome -> data bit (or -1: a check bit when a power of two, else no single flip gives it). */
const DATA_BIT_OF_SYNDROME: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let j = 0; j < DATA_BITS; j++) table[dataColumn(j)] = j;
  return table;
})();

/** Syndrome symbols of the group being decoded (module scratch: decoding is synchronous). */
const SYNDROMES = new Uint32Array(HAMMING_BITS);

/** Data bit whose column is `syndrome`, or -1. */
export function dataBitOfSyndrome(syndrome: number): number {
  return DATA_BIT_OF_SYNDROME[syndrome & 127]!;
}

/**
 * The 8 check symbols of one group, for data given as 32-bit words starting
 * at `w0` (2·D words). out[0..6] are the Hamming check symbols, out[7] the
 * parity of the data symbols alone (the stored parity symbol is out[7] XOR
 * out[0..6]; see encodeGroup).
 */
export function groupChecks(words: Uint32Array, w0: number, depth: InterleaveDepth, out: Uint32Array): void {
  const chunks = depth >>> 3; // 16-word chunks: 1, 2 or 4
  let t = 0;
  let u0 = 0;
  let u1 = 0;
  let u2 = 0;
  let u3 = 0;
  let u4 = 0;
  let u5 = 0;
  for (let c = 0; c < chunks; c++) {
    const p = w0 + (c << 4);
    const x0 = words[p]!, x1 = words[p + 1]!, x2 = words[p + 2]!, x3 = words[p + 3]!;
    const x4 = words[p + 4]!, x5 = words[p + 5]!, x6 = words[p + 6]!, x7 = words[p + 7]!;
    const x8 = words[p + 8]!, x9 = words[p + 9]!, x10 = words[p + 10]!, x11 = words[p + 11]!;
    const x12 = words[p + 12]!, x13 = words[p + 13]!, x14 = words[p + 14]!, x15 = words[p + 15]!;
    const s23 = x2 ^ x3, s67 = x6 ^ x7, s1011 = x10 ^ x11, s1415 = x14 ^ x15;
    const q4 = x4 ^ x5 ^ s67; // x4..x7
    const q12 = x12 ^ x13 ^ s1415; // x12..x15
    const q0 = x0 ^ x1 ^ s23; // x0..x3
    const q8 = x8 ^ x9 ^ s1011; // x8..x11
    const hi = q8 ^ q12; // x8..x15
    const all = q0 ^ q4 ^ hi;
    t ^= all;
    u0 ^= x1 ^ x3 ^ x5 ^ x7 ^ x9 ^ x11 ^ x13 ^ x15;
    u1 ^= s23 ^ s67 ^ s1011 ^ s1415;
    u2 ^= q4 ^ q12;
    u3 ^= hi;
    if (c & 1) u4 ^= all;
    if (c & 2) u5 ^= all;
  }
  // Symbols that need individual treatment: 0 (column 64|3) and the powers of two (bit 6).
  let s0: number, s1: number, s2: number, s4: number, s8: number, s16: number, s32: number;
  let c0: number, c1: number, c2: number, c3: number, c4: number, c5: number, parity: number;
  if (depth === 8) {
    // j = 4w + l: lane bits are j's bits 0..1, word bits are j's bits 2..5.
    const f = (v: number) => (v ^ (v >>> 8) ^ (v >>> 16) ^ (v >>> 24)) & 0xff;
    c0 = ((t >>> 8) ^ (t >>> 24)) & 0xff;
    c1 = ((t >>> 16) ^ (t >>> 24)) & 0xff;
    c2 = f(u0);
    c3 = f(u1);
    c4 = f(u2);
    c5 = f(u3);
    parity = f(t);
    const w0v = words[w0]!;
    s0 = w0v & 0xff;
    s1 = (w0v >>> 8) & 0xff;
    s2 = (w0v >>> 16) & 0xff;
    s4 = words[w0 + 1]! & 0xff;
    s8 = words[w0 + 2]! & 0xff;
    s16 = words[w0 + 4]! & 0xff;
    s32 = words[w0 + 8]! & 0xff;
  } else if (depth === 16) {
    // j = 2w + l: lane bit is j's bit 0, word bits are j's bits 1..5.
    const f = (v: number) => (v ^ (v >>> 16)) & 0xffff;
    c0 = t >>> 16;
    c1 = f(u0);
    c2 = f(u1);
    c3 = f(u2);
    c4 = f(u3);
    c5 = f(u4);
    parity = f(t);
    const w0v = words[w0]!;
    s0 = w0v & 0xffff;
    s1 = w0v >>> 16;
    s2 = words[w0 + 1]! & 0xffff;
    s4 = words[w0 + 2]! & 0xffff;
    s8 = words[w0 + 4]! & 0xffff;
    s16 = words[w0 + 8]! & 0xffff;
    s32 = words[w0 + 16]! & 0xffff;
  } else {
    // j = w.
    c0 = u0;
    c1 = u1;
    c2 = u2;
    c3 = u3;
    c4 = u4;
    c5 = u5;
    parity = t;
    s0 = words[w0]!;
    s1 = words[w0 + 1]!;
    s2 = words[w0 + 2]!;
    s4 = words[w0 + 4]!;
    s8 = words[w0 + 8]!;
    s16 = words[w0 + 16]!;
    s32 = words[w0 + 32]!;
  }
  out[0] = c0 ^ s0;
  out[1] = c1 ^ s0;
  out[2] = c2;
  out[3] = c3;
  out[4] = c4;
  out[5] = c5;
  out[6] = s0 ^ s1 ^ s2 ^ s4 ^ s8 ^ s16 ^ s32;
  out[7] = parity;
}

/** Reads check symbol `c` of the group whose slot starts at byte `at` of the side table. */
export function readCheckSymbol(checks: Uint8Array, at: number, depth: InterleaveDepth, c: number): number {
  if (depth === 8) return checks[at + c]!;
  if (depth === 16) return checks[at + 2 * c]! | (checks[at + 2 * c + 1]! << 8);
  const p = at + 4 * c;
  return (checks[p]! | (checks[p + 1]! << 8) | (checks[p + 2]! << 16) | (checks[p + 3]! << 24)) >>> 0;
}

function writeCheckSymbol(checks: Uint8Array, at: number, depth: InterleaveDepth, c: number, value: number): void {
  if (depth === 8) {
    checks[at + c] = value;
  } else if (depth === 16) {
    checks[at + 2 * c] = value;
    checks[at + 2 * c + 1] = value >>> 8;
  } else {
    const p = at + 4 * c;
    checks[p] = value;
    checks[p + 1] = value >>> 8;
    checks[p + 2] = value >>> 16;
    checks[p + 3] = value >>> 24;
  }
}

/**
 * Encodes `groups` groups of data words starting at word `w0` into the side
 * table, starting at byte `checkAt`. `scratch` is a Uint32Array(8).
 */
export function encodeGroups(
  words: Uint32Array,
  w0: number,
  groups: number,
  depth: InterleaveDepth,
  checks: Uint8Array,
  checkAt: number,
  scratch: Uint32Array,
): void {
  const wordsPerGroup = depth * 2;
  for (let g = 0; g < groups; g++) {
    groupChecks(words, w0 + g * wordsPerGroup, depth, scratch);
    const at = checkAt + g * depth;
    let p = scratch[7]!;
    for (let c = 0; c < HAMMING_BITS; c++) {
      const v = scratch[c]!;
      p ^= v;
      writeCheckSymbol(checks, at, depth, c, v);
    }
    writeCheckSymbol(checks, at, depth, 7, p);
  }
}

/** What decoding one group found. */
export interface GroupDecode {
  /** Data bits corrected: offsets in bits from the start of the group. */
  dataBits: number[];
  /** Side-table bits corrected (check symbol c, codeword k): offsets in bits from the start of the group's slot. */
  checkBits: number[];
  /** Codewords (0..D-1) with an error SECDED cannot correct (two flips, or an odd number > 1 that points nowhere). */
  uncorrectable: number[];
}

/**
 * Decodes one group: compares the side table with the checks recomputed from
 * `words` (the group's data, from word `w0`) and, per codeword, classifies the
 * syndrome. Changes nothing; the caller applies the corrections (the data may
 * be a padded copy). Returns undefined when the group is clean.
 */
export function decodeGroup(
  words: Uint32Array,
  w0: number,
  depth: InterleaveDepth,
  checks: Uint8Array,
  checkAt: number,
  scratch: Uint32Array,
): GroupDecode | undefined {
  groupChecks(words, w0, depth, scratch);
  let q = scratch[7]! ^ readCheckSymbol(checks, checkAt, depth, 7);
  let any = 0;
  const syn = SYNDROMES;
  for (let c = 0; c < HAMMING_BITS; c++) {
    const stored = readCheckSymbol(checks, checkAt, depth, c);
    q ^= stored;
    const s = (stored ^ scratch[c]!) >>> 0;
    syn[c] = s;
    any |= s;
  }
  q >>>= 0;
  if (any === 0 && q === 0) return undefined;
  const result: GroupDecode = { dataBits: [], checkBits: [], uncorrectable: [] };
  for (let k = 0; k < depth; k++) {
    let s = 0;
    for (let c = 0; c < HAMMING_BITS; c++) s |= ((syn[c]! >>> k) & 1) << c;
    const odd = (q >>> k) & 1;
    if (s === 0) {
      if (odd) result.checkBits.push(7 * depth + k); // the overall parity bit itself
      continue;
    }
    if (!odd) {
      result.uncorrectable.push(k); // even number of flips, at least two
      continue;
    }
    if ((s & (s - 1)) === 0) {
      result.checkBits.push(Math.log2(s) * depth + k);
      continue;
    }
    const j = DATA_BIT_OF_SYNDROME[s]!;
    if (j < 0) result.uncorrectable.push(k); // three or more flips
    else result.dataBits.push(j * depth + k);
  }
  return result;
}
