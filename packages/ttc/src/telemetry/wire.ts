// Byte-level pieces shared by the ST[03], ST[05], ST[12] and ST[19] codecs.
// Every decoder built on these is canonical: it accepts exactly the bytes its
// encoder writes, so encode(decode(b)) == b whenever decode(b) succeeds, and
// it never throws (a Reader method that runs past the end returns undefined).
import type { Parsed, ParamValue } from "../app-data.js";

export type { Parsed, ParamValue };

/** A refusal: which field of a request or definition, and why. */
export interface Refusal {
  ok: false;
  field: string;
  reason: string;
}

/** The outcome of a table operation: done (state changed) or refused (nothing changed). */
export type Checked = { ok: true } | Refusal;

export const fail = (field: string, reason: string): Refusal => ({ ok: false, field, reason });
export const OK: { ok: true } = Object.freeze({ ok: true as const });

/** Service names are bus node names (see isValidNodeName in @umbra/core). */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Parameter names, as ST[20] uses them (app-data.ts). */
export const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Value type tags, shared with ST[20] (app-data.ts) plus 0 for "no value". */
export const TAG_NONE = 0;
export const TAG_BOOL = 1;
export const TAG_INT = 2;
export const TAG_FLOAT = 3;
export const TAG_STRING = 4;
/** A string value is 1 length octet + UTF-8, so at most this many bytes. */
export const MAX_STRING_VALUE_BYTES = 255;

const CANONICAL_NAN = Buffer.from([0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class Reader {
  p = 0;
  constructor(readonly b: Uint8Array) {}
  get left(): number {
    return this.b.length - this.p;
  }
  u8(): number | undefined {
    return this.left >= 1 ? this.b[this.p++] : undefined;
  }
  u16(): number | undefined {
    if (this.left < 2) return undefined;
    const v = (this.b[this.p]! << 8) | this.b[this.p + 1]!;
    this.p += 2;
    return v;
  }
  u32(): number | undefined {
    const hi = this.u16();
    if (hi === undefined) return undefined;
    const lo = this.u16();
    return lo === undefined ? undefined : hi * 0x10000 + lo;
  }
  bytes(n: number): Uint8Array | undefined {
    if (this.left < n) return undefined;
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  i64(): bigint | undefined {
    const b = this.bytes(8);
    return b === undefined ? undefined : Buffer.from(b).readBigInt64BE(0);
  }
  u64(): bigint | undefined {
    const b = this.bytes(8);
    return b === undefined ? undefined : Buffer.from(b).readBigUInt64BE(0);
  }
  /** A float64; undefined also for a NaN other than the canonical one (so that bytes round-trip). */
  f64(): number | undefined {
    const b = this.bytes(8);
    if (b === undefined) return undefined;
    const v = Buffer.from(b).readDoubleBE(0);
    if (Number.isNaN(v) && Buffer.compare(Buffer.from(b), CANONICAL_NAN) !== 0) return undefined;
    return v;
  }
  /** `n` bytes of strict UTF-8. */
  utf8(n: number): string | undefined {
    const b = this.bytes(n);
    if (b === undefined) return undefined;
    try {
      return utf8Strict.decode(b);
    } catch {
      return undefined;
    }
  }
}

/** Collects big-endian fields; encoders throw RangeError naming the field on what cannot be written. */
export class Writer {
  private readonly parts: Uint8Array[] = [];
  u8(field: string, v: number): this {
    checkUint(field, v, 0xff);
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u16(field: string, v: number): this {
    checkUint(field, v, 0xffff);
    this.parts.push(Buffer.from([v >> 8, v & 0xff]));
    return this;
  }
  u32(field: string, v: number): this {
    checkUint(field, v, 0xffffffff);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v, 0);
    this.parts.push(b);
    return this;
  }
  i64(field: string, v: bigint): this {
    if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) throw new RangeError(`${field}: ${String(v)} does not fit an int64`);
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v, 0);
    this.parts.push(b);
    return this;
  }
  u64(field: string, v: bigint): this {
    if (typeof v !== "bigint" || v < 0n || v > U64_MAX) throw new RangeError(`${field}: ${String(v)} does not fit a uint64`);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v, 0);
    this.parts.push(b);
    return this;
  }
  f64(field: string, v: number): this {
    if (typeof v !== "number") throw new RangeError(`${field}: not a number`);
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v, 0);
    this.parts.push(b);
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  /** 1 length octet + the name's ASCII bytes. */
  name(field: string, s: string, pattern: RegExp): this {
    if (typeof s !== "string" || !pattern.test(s)) throw new RangeError(`${field}: ${JSON.stringify(String(s).slice(0, 80))} is not a valid name`);
    return this.u8(field, s.length).raw(Buffer.from(s, "latin1"));
  }
  /** A length (u8 or u16, as `lengthOctets`) + UTF-8; the string must be well-formed Unicode. */
  utf8(field: string, s: string, lengthOctets: 1 | 2, max: number): this {
    const b = utf8Bytes(field, s);
    if (b.length > max) throw new RangeError(`${field}: ${b.length} bytes, more than ${max}`);
    return (lengthOctets === 1 ? this.u8(field, b.length) : this.u16(field, b.length)).raw(b);
  }
  /** A type tag and the value; `undefined` is written as tag 0 (no value). */
  value(field: string, v: ParamValue | undefined): this {
    if (v === undefined) return this.u8(field, TAG_NONE);
    switch (typeof v) {
      case "boolean":
        return this.u8(field, TAG_BOOL).u8(field, v ? 1 : 0);
      case "bigint":
        return this.u8(field, TAG_INT).i64(field, v);
      case "number":
        return this.u8(field, TAG_FLOAT).f64(field, v);
      case "string":
        return this.u8(field, TAG_STRING).utf8(field, v, 1, MAX_STRING_VALUE_BYTES);
      default:
        throw new RangeError(`${field}: not a bool, int64, float64 or string`);
    }
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export function checkUint(field: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${field}: ${String(v)} is not an integer in 0..${max}`);
}

export function isUint(v: unknown, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
}

/** UTF-8 of a well-formed string; a lone surrogate would not come back as itself. */
export function utf8Bytes(field: string, s: string): Buffer {
  if (typeof s !== "string") throw new RangeError(`${field}: not a string`);
  const b = Buffer.from(s, "utf8");
  if (b.toString("utf8") !== s) throw new RangeError(`${field}: not well-formed Unicode (lone surrogate)`);
  return b;
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character (lone surrogates become U+FFFD). */
export function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s, "utf8");
  if (b.length <= max) return b.toString("utf8");
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return b.subarray(0, end).toString("utf8");
}

/** Whether `v` can be written by Writer.value (int64 range, well-formed short string). */
export function isEncodableValue(v: ParamValue): boolean {
  switch (typeof v) {
    case "boolean":
    case "number":
      return true;
    case "bigint":
      return v >= INT64_MIN && v <= INT64_MAX;
    case "string": {
      const b = Buffer.from(v, "utf8");
      return b.length <= MAX_STRING_VALUE_BYTES && b.toString("utf8") === v;
    }
    default:
      return false;
  }
}

export function readName(r: Reader, field: string, pattern: RegExp): Parsed<string> {
  const n = r.u8();
  if (n === undefined) return fail(field, "missing");
  if (n === 0 || n > 64) return fail(field, `name length ${n} is not 1..64`);
  const b = r.bytes(n);
  if (b === undefined) return fail(field, `name of ${n} bytes runs past the end`);
  const s = Buffer.from(b).toString("latin1");
  if (!pattern.test(s)) return fail(field, "not a valid name");
  return { ok: true, value: s };
}

export function readUtf8(r: Reader, field: string, lengthOctets: 1 | 2, max: number): Parsed<string> {
  const n = lengthOctets === 1 ? r.u8() : r.u16();
  if (n === undefined) return fail(field, "length missing");
  if (n > max) return fail(field, `${n} bytes, more than ${max}`);
  if (r.left < n) return fail(field, `${n} bytes run past the end`);
  const s = r.utf8(n);
  if (s === undefined) return fail(field, "not valid UTF-8");
  return { ok: true, value: s };
}

/** A tagged value; tag 0 (no value) only where `allowNone`. */
export function readValue(r: Reader, field: string, allowNone: boolean): Parsed<ParamValue | undefined> {
  const tag = r.u8();
  switch (tag) {
    case undefined:
      return fail(field, "type missing");
    case TAG_NONE:
      return allowNone ? { ok: true, value: undefined } : fail(field, "a value is required here (type 0)");
    case TAG_BOOL: {
      const v = r.u8();
      if (v === undefined || v > 1) return fail(field, "bool must be 0 or 1");
      return { ok: true, value: v === 1 };
    }
    case TAG_INT: {
      const v = r.i64();
      return v === undefined ? fail(field, "int64 runs past the end") : { ok: true, value: v };
    }
    case TAG_FLOAT: {
      if (r.left < 8) return fail(field, "float64 runs past the end");
      const v = r.f64();
      return v === undefined ? fail(field, "NaN with a non-canonical payload") : { ok: true, value: v };
    }
    case TAG_STRING:
      return readUtf8(r, field, 1, MAX_STRING_VALUE_BYTES);
    default:
      return fail(field, `unknown type ${tag}`);
  }
}

/** Count (u16) + that many u16 identifiers: SIDs, PMON ids. */
export function encodeIdList(field: string, ids: readonly number[]): Uint8Array {
  const w = new Writer().u16(`${field}.count`, ids.length);
  ids.forEach((id, i) => w.u16(`${field}[${i}]`, id));
  return w.bytes();
}

export function decodeIdList(field: string, data: Uint8Array): Parsed<number[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail(`${field}.count`, "missing");
  if (r.left !== count * 2) return fail(field, `count ${count} needs ${count * 2} bytes, ${r.left} follow`);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(r.u16()!);
  return { ok: true, value: out };
}

/** A value as protobuf Value decodes (kind says which member is set), or null/undefined. */
export interface ProtoValueLike {
  kind?: "boolValue" | "intValue" | "floatValue" | "stringValue" | undefined;
  boolValue?: boolean | null | undefined;
  intValue?: bigint | number | null | undefined;
  floatValue?: number | null | undefined;
  stringValue?: string | null | undefined;
}

/** The plain value of a decoded umbra.core.v1.Value; undefined when none is set. */
export function valueFromProto(v: ProtoValueLike | null | undefined): ParamValue | undefined {
  if (!v) return undefined;
  switch (v.kind) {
    case "boolValue":
      return typeof v.boolValue === "boolean" ? v.boolValue : undefined;
    case "intValue":
      return typeof v.intValue === "bigint" ? v.intValue : typeof v.intValue === "number" && Number.isSafeInteger(v.intValue) ? BigInt(v.intValue) : undefined;
    case "floatValue":
      return typeof v.floatValue === "number" ? v.floatValue : undefined;
    case "stringValue":
      return typeof v.stringValue === "string" ? v.stringValue : undefined;
    default:
      return undefined;
  }
}

/** Applies `check` to each id; the first refusal wins. Used to make list commands all-or-nothing. */
export function checkEach<T>(field: string, items: readonly T[], check: (item: T, field: string) => Refusal | undefined): Refusal | undefined {
  if (items.length === 0) return fail(field, "empty list");
  for (let i = 0; i < items.length; i++) {
    const r = check(items[i]!, `${field}[${i}]`);
    if (r) return r;
  }
  return undefined;
}

/**
 * What the tables ask of the mission dictionary: whether a service declared a
 * telemetry parameter or an event. The TTC answers from MissionDictionary;
 * a service it has not heard from yet declares nothing.
 */
export interface TelemetryLookup {
  hasParameter(service: string, name: string): boolean;
  hasEvent(service: string, eventId: number): boolean;
}
