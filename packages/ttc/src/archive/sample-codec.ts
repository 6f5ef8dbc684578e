// Binary layouts of archived telemetry samples. Pure logic, no I/O.
//
// Samples are not stored one SQLite row each: a table keyed (parameter, time)
// takes one batch of 1,000 parameters into ~1,000 different B-tree leaves, so
// every commit rewrites ~1,000 pages (measured: 14x slower than appending the
// same rows to a plain table). Instead:
//
// - A batch is staged as ONE row holding a columnar blob (this file's
//   "staged batch"): one insert and a few pages per commit.
// - Compaction turns the staged rows into one "block" per parameter (its
//   samples sorted by time, delta-coded), so a time-range query for one
//   parameter reads a few blocks instead of every staged sample.
//
// Both layouts are little-endian and carry a format byte first, so a later
// format can be told apart from this one.
import type { SampleValue } from "./types.js";

/** Value tags, shared by both layouts. */
export const TAG_F64 = 0; // number, 8-byte IEEE 754
export const TAG_INT = 1; // number with an integer value |v| <= 2^52 (not -0): zigzag varint (blocks only)
export const TAG_I64 = 2; // bigint, 8-byte two's complement
export const TAG_FALSE = 3; // boolean, no payload
export const TAG_TRUE = 4;
export const TAG_STRING = 5; // UTF-8 (staged: offset+length into the string area; blocks: varint length + bytes)

const STAGED_FORMAT = 1;
const BLOCK_FORMAT = 1;
const STAGED_HEADER = 8;
const MAX_INT_TAG = 2 ** 52;
const TWO_POW_31 = 2 ** 31;
const TWO_POW_32 = 2 ** 32;
/** Which 32-bit half of a BigInt64Array element is the low one on this host. */
const LOW_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH_WORD = 1 - LOW_WORD;

/** Staged batch header + per-sample columns: where each column starts for n samples. */
function stagedLayout(n: number): { params: number; tags: number; times: number; values: number; strings: number } {
  const params = STAGED_HEADER;
  const tags = params + 4 * n;
  const times = (tags + n + 7) & ~7; // 8-aligned, so a copy can be viewed as typed arrays if ever wanted
  const values = times + 8 * n;
  return { params, tags, times, values, strings: values + 8 * n };
}

/** A growable scratch buffer: encoders write into it and hand out a view that is valid until the next encode. */
export class Scratch {
  buf: Buffer;
  view: DataView;
  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  ensure(bytes: number): void {
    if (bytes <= this.buf.length) return;
    let size = this.buf.length;
    while (size < bytes) size *= 2;
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
}

/** One sample to stage: the value was validated before it got here. */
export interface StageSource {
  readonly tNs: bigint;
  readonly value: SampleValue;
}

export interface EncodedStaged {
  /** A view of the scratch buffer, valid until the next encode with it. */
  readonly data: Buffer;
  readonly tMin: bigint;
  readonly tMax: bigint;
}

/**
 * Encodes samples[start..end) with their parameter ids (ids[i - start]) as a
 * staged batch: header (format, count), then columns: parameter ids (u32),
 * tags (u8), times (i64), values (8 bytes: f64, i64, or string offset and
 * length as two u32), then the string bytes.
 */
export function encodeStagedBatch(
  samples: readonly StageSource[],
  start: number,
  end: number,
  ids: Uint32Array,
  scratch: Scratch,
): EncodedStaged {
  const n = end - start;
  const layout = stagedLayout(n);
  let stringBytes = 0;
  for (let i = start; i < end; i++) {
    const v = samples[i]!.value;
    if (typeof v === "string") stringBytes += Buffer.byteLength(v, "utf8");
  }
  const size = layout.strings + stringBytes;
  scratch.ensure(size);
  const { buf, view } = scratch;
  buf[0] = STAGED_FORMAT;
  buf[1] = 0;
  buf[2] = 0;
  buf[3] = 0;
  view.setUint32(4, n, true);
  let tMin = samples[start]!.tNs;
  let tMax = tMin;
  let stringOffset = 0;
  for (let k = 0; k < n; k++) {
    const s = samples[start + k]!;
    const t = s.tNs;
    if (t < tMin) tMin = t;
    if (t > tMax) tMax = t;
    view.setUint32(layout.params + 4 * k, ids[k]!, true);
    view.setBigInt64(layout.times + 8 * k, t, true);
    const at = layout.values + 8 * k;
    const v = s.value;
    let tag: number;
    switch (typeof v) {
      case "number":
        tag = TAG_F64;
        view.setFloat64(at, v, true);
        break;
      case "bigint":
        tag = TAG_I64;
        view.setBigInt64(at, v, true);
        break;
      case "boolean":
        tag = v ? TAG_TRUE : TAG_FALSE;
        view.setFloat64(at, 0, true);
        break;
      default: {
        tag = TAG_STRING;
        const written = buf.write(v, layout.strings + stringOffset, "utf8");
        view.setUint32(at, stringOffset, true);
        view.setUint32(at + 4, written, true);
        stringOffset += written;
      }
    }
    buf[layout.tags + k] = tag;
  }
  return { data: buf.subarray(0, size), tMin, tMax };
}

function stagedHeader(data: Uint8Array): { n: number; view: DataView } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < STAGED_HEADER || data[0] !== STAGED_FORMAT) {
    throw new Error(`staged sample batch has unknown format ${data[0] ?? "(empty)"}`);
  }
  const n = view.getUint32(4, true);
  if (stagedLayout(n).strings > data.byteLength) throw new Error(`staged sample batch is truncated (${n} samples, ${data.byteLength} bytes)`);
  return { n, view };
}

/**
 * Samples decoded into columns (no object per sample): what compaction works
 * on. Values live in the column their tag says (f64 for TAG_F64, i64 for
 * TAG_I64, strings for TAG_STRING; booleans are in the tag).
 */
export class SampleColumns {
  length = 0;
  paramIds = new Uint32Array(0);
  tags = new Uint8Array(0);
  times = new BigInt64Array(0);
  f64 = new Float64Array(0);
  i64 = new BigInt64Array(0);
  strings = new Map<number, string>();

  reset(): void {
    this.length = 0;
    this.strings.clear();
  }

  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.paramIds.length) return;
    let size = Math.max(1024, this.paramIds.length);
    while (size < need) size *= 2;
    const n = this.length;
    const paramIds = new Uint32Array(size);
    paramIds.set(this.paramIds.subarray(0, n));
    const tags = new Uint8Array(size);
    tags.set(this.tags.subarray(0, n));
    const times = new BigInt64Array(size);
    times.set(this.times.subarray(0, n));
    const f64 = new Float64Array(size);
    f64.set(this.f64.subarray(0, n));
    const i64 = new BigInt64Array(size);
    i64.set(this.i64.subarray(0, n));
    this.paramIds = paramIds;
    this.tags = tags;
    this.times = times;
    this.f64 = f64;
    this.i64 = i64;
  }

  /** The value of sample i as the caller gave it. */
  value(i: number): SampleValue {
    return columnValue(this, i);
  }
}

function columnValue(c: SampleColumns, i: number): SampleValue {
  switch (c.tags[i]) {
    case TAG_F64:
    case TAG_INT:
      return c.f64[i]!;
    case TAG_I64:
      return c.i64[i]!;
    case TAG_FALSE:
      return false;
    case TAG_TRUE:
      return true;
    default:
      return c.strings.get(i) ?? "";
  }
}

/** Appends every sample of a staged batch to `into`. */
export function decodeStagedBatch(data: Uint8Array, into: SampleColumns): void {
  const { n, view } = stagedHeader(data);
  const layout = stagedLayout(n);
  into.reserve(n);
  const base = into.length;
  for (let k = 0; k < n; k++) {
    const i = base + k;
    into.paramIds[i] = view.getUint32(layout.params + 4 * k, true);
    into.times[i] = view.getBigInt64(layout.times + 8 * k, true);
    const tag = data[layout.tags + k]!;
    into.tags[i] = tag;
    const at = layout.values + 8 * k;
    if (tag === TAG_F64) into.f64[i] = view.getFloat64(at, true);
    else if (tag === TAG_I64) into.i64[i] = view.getBigInt64(at, true);
    else if (tag === TAG_STRING) into.strings.set(i, stagedString(data, view, layout.strings, at));
    else if (tag !== TAG_TRUE && tag !== TAG_FALSE) throw new Error(`staged sample batch: unknown value tag ${tag}`);
  }
  into.length = base + n;
}

function stagedString(data: Uint8Array, view: DataView, stringsAt: number, at: number): string {
  const offset = stringsAt + view.getUint32(at, true);
  const length = view.getUint32(at + 4, true);
  if (offset + length > data.byteLength) throw new Error("staged sample batch: string runs past the end");
  return Buffer.from(data.buffer, data.byteOffset + offset, length).toString("utf8");
}

/**
 * One parameter's samples as queries return them: columns, not an object per
 * sample (a day at 1 Hz is 86,400 samples; as objects with a bigint each they
 * cost ~6x the memory and most of the query time in garbage collection).
 */
export interface SampleSeries {
  readonly length: number;
  /** Mission times (TAI ns), ascending; equal times in the order they were archived. */
  readonly tNs: BigInt64Array;
  /** values[i] is the value at tNs[i]. */
  readonly values: SampleValue[];
}

/** One sample, for callers that want objects: see {@link seriesSamples}. */
export interface ArchivedSample {
  readonly tNs: bigint;
  readonly value: SampleValue;
}

/** The series as one object per sample. */
export function seriesSamples(series: SampleSeries): ArchivedSample[] {
  const out: ArchivedSample[] = new Array<ArchivedSample>(series.length);
  for (let i = 0; i < series.length; i++) out[i] = { tNs: series.tNs[i]!, value: series.values[i]! };
  return out;
}

/**
 * Collects a SampleSeries: times in a growable BigInt64Array, values in an
 * array (unboxed while all are numbers). Samples come in runs (one block, one
 * staged batch) with a rank saying which arrived first, so that a sort keeps
 * equal times in arrival order.
 */
export class SeriesBuilder {
  length = 0;
  tNs = new BigInt64Array(1024);
  values: SampleValue[] = [];
  #runStarts: number[] = [];
  #runRanks: number[] = [];

  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.tNs.length) return;
    let size = this.tNs.length * 2;
    while (size < need) size *= 2;
    const next = new BigInt64Array(size);
    next.set(this.tNs.subarray(0, this.length));
    this.tNs = next;
  }

  /** The samples pushed from now on arrived after those of lower ranks. */
  startRun(rank: number): void {
    this.#runStarts.push(this.length);
    this.#runRanks.push(rank);
  }

  push(t: bigint, value: SampleValue): void {
    if (this.length === this.tNs.length) this.reserve(1);
    this.tNs[this.length++] = t;
    this.values.push(value);
  }

  /** Whether times are non-decreasing from index `from` on. */
  sortedFrom(from: number): boolean {
    const t = this.tNs;
    for (let k = Math.max(1, from); k < this.length; k++) if (t[k]! < t[k - 1]!) return false;
    return true;
  }

  /** Sorts by time; equal times by rank, then in the order they were pushed. */
  sort(): void {
    const n = this.length;
    const t = this.tNs;
    const rank = new Float64Array(n);
    const runs = this.#runStarts.length;
    for (let r = 0; r < runs; r++) {
      rank.fill(this.#runRanks[r]!, this.#runStarts[r]!, r + 1 < runs ? this.#runStarts[r + 1]! : n);
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (t[a]! < t[b]! ? -1 : t[a]! > t[b]! ? 1 : rank[a]! - rank[b]! || a - b));
    const times = new BigInt64Array(this.tNs.length);
    const values: SampleValue[] = new Array<SampleValue>(n);
    this.#runStarts = [];
    this.#runRanks = [];
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      times[k] = t[i]!;
      values[k] = this.values[i]!;
      if (k === 0 || rank[i] !== this.#runRanks[this.#runRanks.length - 1]) {
        this.#runStarts.push(k);
        this.#runRanks.push(rank[i]!);
      }
    }
    this.tNs = times;
    this.values = values;
  }

  truncate(n: number): void {
    if (n >= this.length) return;
    this.length = n;
    this.values.length = n;
    while (this.#runStarts.length > 0 && this.#runStarts[this.#runStarts.length - 1]! >= n) {
      this.#runStarts.pop();
      this.#runRanks.pop();
    }
  }

  finish(): SampleSeries {
    return { length: this.length, tNs: this.tNs.slice(0, this.length), values: this.values };
  }
}

/**
 * Pushes the samples of one parameter with fromNs <= t <= toNs from a staged
 * batch onto `out`, in the batch's order.
 */
export function collectStaged(data: Uint8Array, paramId: number, fromNs: bigint, toNs: bigint, out: SeriesBuilder): void {
  const { n, view } = stagedHeader(data);
  const layout = stagedLayout(n);
  for (let k = 0; k < n; k++) {
    if (view.getUint32(layout.params + 4 * k, true) !== paramId) continue;
    const tNs = view.getBigInt64(layout.times + 8 * k, true);
    if (tNs < fromNs || tNs > toNs) continue;
    const at = layout.values + 8 * k;
    const tag = data[layout.tags + k];
    let value: SampleValue;
    if (tag === TAG_F64) value = view.getFloat64(at, true);
    else if (tag === TAG_I64) value = view.getBigInt64(at, true);
    else if (tag === TAG_TRUE) value = true;
    else if (tag === TAG_FALSE) value = false;
    else if (tag === TAG_STRING) value = stagedString(data, view, layout.strings, at);
    else throw new Error(`staged sample batch: unknown value tag ${String(tag)}`);
    out.push(tNs, value);
  }
}

// ---------------------------------------------------------------------------
// Blocks: [format u8][count varint] then per sample
//   [time delta varint: t - previous t (the first against the row's t_first)]
//   [tag u8][payload: f64 8 bytes | zigzag varint | i64 8 bytes | none | varint length + UTF-8]
// Samples are in time order, so every delta is >= 0; at 1 Hz a delta is 5 bytes,
// a float sample 14 bytes, a counter 7-9.

const SAFE_DELTA = BigInt(Number.MAX_SAFE_INTEGER);

function writeVarint(buf: Buffer, off: number, v: number): number {
  while (v >= TWO_POW_31) {
    buf[off++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    buf[off++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off++] = v;
  return off;
}

function writeVarintBig(buf: Buffer, off: number, v: bigint): number {
  while (v > 0x7fn) {
    buf[off++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[off++] = Number(v);
  return off;
}

/** A cursor over a block; `pos` moves as values are read. */
class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly view: DataView,
  ) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new Error("sample block is truncated");
    return this.buf[this.pos++]!;
  }

  /** An unsigned varint; exact up to 2^53, else see `varintBig`. Returns -1 when it needs more than 7 bytes. */
  varint(): number {
    const start = this.pos;
    let b = this.byte();
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let scale = 128;
    for (let i = 1; i < 7; i++) {
      b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    this.pos = start;
    return -1;
  }

  varintBig(): bigint {
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return value;
      shift += 7n;
    }
    throw new Error("sample block: varint longer than 10 bytes");
  }

  delta(): bigint {
    const v = this.varint();
    return v >= 0 ? BigInt(v) : this.varintBig();
  }

  value(): SampleValue {
    const tag = this.byte();
    switch (tag) {
      case TAG_F64: {
        this.need(8);
        const v = this.view.getFloat64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case TAG_INT: {
        const z = this.varint();
        if (z < 0) throw new Error("sample block: integer value out of range");
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case TAG_I64: {
        this.need(8);
        const v = this.view.getBigInt64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case TAG_FALSE:
        return false;
      case TAG_TRUE:
        return true;
      case TAG_STRING: {
        const length = this.varint();
        if (length < 0) throw new Error("sample block: string too long");
        this.need(length);
        const s = this.buf.toString("utf8", this.pos, this.pos + length);
        this.pos += length;
        return s;
      }
      default:
        throw new Error(`sample block: unknown value tag ${tag}`);
    }
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.buf.length) throw new Error("sample block is truncated");
  }
}

/** Worst-case encoded size of one block sample, not counting string bytes. */
const BLOCK_SAMPLE_MAX = 10 + 1 + 10 + 5;

export interface EncodedBlock {
  /** A view of the scratch buffer, valid until the next encode with it. */
  readonly data: Buffer;
  readonly tFirst: bigint;
  readonly tLast: bigint;
  readonly count: number;
}

/**
 * Encodes the samples cols[order[start..end)] (already in time order) as one
 * block. Times are deltas from the previous sample, the first from tFirst
 * (the row keeps tFirst in its own column).
 */
export function encodeBlock(cols: SampleColumns, order: ArrayLike<number>, start: number, end: number, scratch: Scratch): EncodedBlock {
  const count = end - start;
  let stringBytes = 0;
  for (let k = start; k < end; k++) {
    const i = order[k]!;
    if (cols.tags[i] === TAG_STRING) stringBytes += Buffer.byteLength(cols.strings.get(i) ?? "", "utf8");
  }
  scratch.ensure(1 + 5 + count * BLOCK_SAMPLE_MAX + stringBytes);
  const { buf, view } = scratch;
  buf[0] = BLOCK_FORMAT;
  let off = writeVarint(buf, 1, count);
  const tFirst = cols.times[order[start]!]!;
  let prev = tFirst;
  for (let k = start; k < end; k++) {
    const i = order[k]!;
    const t = cols.times[i]!;
    const delta = t - prev;
    if (delta < 0n) throw new Error("encodeBlock: samples are not in time order");
    off = delta <= SAFE_DELTA ? writeVarint(buf, off, Number(delta)) : writeVarintBig(buf, off, delta);
    prev = t;
    const tag = cols.tags[i]!;
    if (tag === TAG_F64) {
      const v = cols.f64[i]!;
      if (Number.isInteger(v) && v <= MAX_INT_TAG && v >= -MAX_INT_TAG && !Object.is(v, -0)) {
        buf[off++] = TAG_INT;
        off = writeVarint(buf, off, v >= 0 ? v * 2 : -v * 2 - 1);
      } else {
        buf[off++] = TAG_F64;
        view.setFloat64(off, v, true);
        off += 8;
      }
    } else if (tag === TAG_I64) {
      buf[off++] = TAG_I64;
      view.setBigInt64(off, cols.i64[i]!, true);
      off += 8;
    } else if (tag === TAG_STRING) {
      buf[off++] = TAG_STRING;
      const s = cols.strings.get(i) ?? "";
      const length = Buffer.byteLength(s, "utf8");
      off = writeVarint(buf, off, length);
      off += buf.write(s, off, "utf8");
    } else {
      buf[off++] = tag;
    }
  }
  return { data: buf.subarray(0, off), tFirst, tLast: prev, count };
}

function blockReader(data: Buffer): { reader: Reader; count: number } {
  if (data.length < 2 || data[0] !== BLOCK_FORMAT) throw new Error(`sample block has unknown format ${data[0] ?? "(empty)"}`);
  const reader = new Reader(data, new DataView(data.buffer, data.byteOffset, data.byteLength));
  reader.pos = 1;
  const count = reader.varint();
  if (count < 0) throw new Error("sample block: bad count");
  return { reader, count };
}

/**
 * Pushes the block's samples with fromNs <= t <= toNs onto `out`, in time
 * order. The hot loop of a query: varints and the common tags are read
 * inline, and times are summed as numbers (a block lies within one generation,
 * under an hour, so its offsets from tFirst are far below 2^53).
 */
export function decodeBlock(data: Buffer, tFirst: bigint, fromNs: bigint, toNs: bigint, out: SeriesBuilder): void {
  const { reader, count } = blockReader(data);
  const end = data.length;
  const view = reader.view;
  out.reserve(count);
  // Times are written as two 32-bit halves, with number arithmetic: no bigint per sample.
  const words = new Uint32Array(out.tNs.buffer, out.tNs.byteOffset, out.tNs.length * 2);
  const firstHigh = Number(tFirst >> 32n);
  const firstLow = Number(tFirst & 0xffff_ffffn);
  const values = out.values;
  let n = out.length;
  let pos = reader.pos;
  let offset = 0;
  // Offsets (numbers) of the window relative to tFirst; clamped so that they compare exactly.
  const fromOffset = fromNs <= tFirst ? 0 : fromNs - tFirst > SAFE_DELTA ? Number.MAX_SAFE_INTEGER : Number(fromNs - tFirst);
  const toOffset = toNs - tFirst > SAFE_DELTA ? Number.MAX_SAFE_INTEGER : Number(toNs - tFirst);
  if (toOffset < 0) return;
  for (let k = 0; k < count; k++) {
    if (pos + 2 > end) throw new Error("sample block is truncated");
    let b = data[pos++]!;
    let delta = b & 0x7f;
    let scale = 128;
    while (b >= 0x80) {
      if (scale > 2 ** 49 || pos >= end) throw new Error("sample block: time delta out of range");
      b = data[pos++]!;
      delta += (b & 0x7f) * scale;
      scale *= 128;
    }
    offset += delta;
    if (offset > toOffset) break; // sorted: nothing later can be in range
    const tag = data[pos++]!;
    let value: SampleValue;
    if (tag === TAG_F64) {
      if (pos + 8 > end) throw new Error("sample block is truncated");
      value = view.getFloat64(pos, true);
      pos += 8;
    } else if (tag === TAG_INT) {
      b = data[pos++]!;
      let z = b & 0x7f;
      scale = 128;
      while (b >= 0x80) {
        if (scale > 2 ** 49 || pos >= end) throw new Error("sample block: integer value out of range");
        b = data[pos++]!;
        z += (b & 0x7f) * scale;
        scale *= 128;
      }
      value = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    } else {
      reader.pos = pos - 1;
      value = reader.value();
      pos = reader.pos;
    }
    if (offset >= fromOffset) {
      const low = firstLow + offset; // < 2^54: exact
      const carry = Math.floor(low / TWO_POW_32);
      words[2 * n + LOW_WORD] = low - carry * TWO_POW_32;
      words[2 * n + HIGH_WORD] = firstHigh + carry;
      n++;
      values.push(value);
    }
  }
  out.length = n;
}

/** Appends every sample of a block to `into` with the given parameter id (retention rewrites blocks this way). */
export function decodeBlockInto(data: Buffer, tFirst: bigint, paramId: number, into: SampleColumns): void {
  const { reader, count } = blockReader(data);
  into.reserve(count);
  let t = tFirst;
  for (let k = 0; k < count; k++) {
    t += reader.delta();
    const i = into.length;
    into.paramIds[i] = paramId;
    into.times[i] = t;
    const v = reader.value();
    switch (typeof v) {
      case "number":
        into.tags[i] = TAG_F64;
        into.f64[i] = v;
        break;
      case "bigint":
        into.tags[i] = TAG_I64;
        into.i64[i] = v;
        break;
      case "boolean":
        into.tags[i] = v ? TAG_TRUE : TAG_FALSE;
        break;
      default:
        into.tags[i] = TAG_STRING;
        into.strings.set(i, v);
    }
    into.length = i + 1;
  }
}
