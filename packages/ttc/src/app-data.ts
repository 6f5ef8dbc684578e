// The application data of the PUS services the TTC implements, as bytes.
// Pure codecs: decoders never throw on arbitrary bytes, they say which field
// was wrong; encoders are their exact inverses (used by the ground side and
// the tests). Layouts are in docs/icd.md.
import type { CucFormat, CucTime } from "@umbra/ccsds";
import { decodeCuc, encodeCuc, cucOctets } from "@umbra/ccsds";
import { Reader } from "./telemetry/wire.js";

export type Parsed<T> = { ok: true; value: T } | { ok: false; field: string; reason: string };

const fail = (field: string, reason: string): { ok: false; field: string; reason: string } => ({ ok: false, field, reason });
const MAX_NAME = 64;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Reads ASCII names; the shared cursor does the rest. */
function ascii(r: Reader, n: number): string | undefined {
  const v = r.bytes(n);
  return v === undefined ? undefined : Buffer.from(v).toString("latin1");
}

function asciiName(field: string, s: string): Uint8Array {
  if (!NAME.test(s)) throw new RangeError(`${field}: ${JSON.stringify(s.slice(0, 80))} is not a name`);
  return Buffer.from(s, "latin1");
}

// ---- ST[08] perform function ----------------------------------------------

/** (8,1): a function name, then its argument message in protobuf encoding. */
export interface FunctionCall {
  name: string;
  args: Uint8Array;
}

export function encodeFunctionCall(call: FunctionCall): Uint8Array {
  const name = asciiName("name", call.name);
  return Buffer.concat([Buffer.from([name.length]), name, call.args]);
}

export function decodeFunctionCall(data: Uint8Array): Parsed<FunctionCall> {
  const r = new Reader(data);
  const n = r.u8();
  if (n === undefined) return fail("function", "missing");
  if (n === 0 || n > MAX_NAME) return fail("function", `name length ${n} is not 1..${MAX_NAME}`);
  const name = ascii(r, n);
  if (name === undefined) return fail("function", `name of ${n} bytes runs past the end`);
  if (!NAME.test(name)) return fail("function", "name is not a letter followed by letters, digits or _");
  return { ok: true, value: { name, args: data.subarray(r.p) } };
}

// ---- ST[20] parameter management ------------------------------------------

export type ParamValue = boolean | bigint | number | string;

const TYPE_BOOL = 1;
const TYPE_INT = 2;
const TYPE_FLOAT = 3;
const TYPE_STRING = 4;

/** (20,1): the names of the parameters to report (none = all). */
export function encodeParameterNames(names: string[]): Uint8Array {
  if (names.length > 255) throw new RangeError("names: more than 255");
  const parts: Uint8Array[] = [Buffer.from([names.length])];
  for (const n of names) {
    const b = asciiName("names", n);
    parts.push(Buffer.from([b.length]), b);
  }
  return Buffer.concat(parts);
}

export function decodeParameterNames(data: Uint8Array): Parsed<string[]> {
  const r = new Reader(data);
  const count = r.u8();
  if (count === undefined) return fail("count", "missing");
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = r.u8();
    if (n === undefined || n === 0 || n > MAX_NAME) return fail(`names[${i}]`, "bad length");
    const name = ascii(r, n);
    if (name === undefined) return fail(`names[${i}]`, "runs past the end");
    if (!NAME.test(name)) return fail(`names[${i}]`, "not a name");
    names.push(name);
  }
  if (r.left !== 0) return fail("names", `${r.left} bytes after the last name`);
  return { ok: true, value: names };
}

/** (20,3) and (20,2): name, type octet, value — for each parameter. */
export function encodeParameterValues(values: { name: string; value: ParamValue }[]): Uint8Array {
  if (values.length > 255) throw new RangeError("values: more than 255");
  const parts: Uint8Array[] = [Buffer.from([values.length])];
  for (const { name, value } of values) {
    const b = asciiName("name", name);
    parts.push(Buffer.from([b.length]), b);
    if (typeof value === "boolean") parts.push(Buffer.from([TYPE_BOOL, value ? 1 : 0]));
    else if (typeof value === "bigint") {
      const v = Buffer.alloc(9);
      v[0] = TYPE_INT;
      v.writeBigInt64BE(BigInt.asIntN(64, value), 1);
      if (BigInt.asIntN(64, value) !== value) throw new RangeError(`${name}: ${value} does not fit an int64`);
      parts.push(v);
    } else if (typeof value === "number") {
      const v = Buffer.alloc(9);
      v[0] = TYPE_FLOAT;
      v.writeDoubleBE(value, 1);
      parts.push(v);
    } else {
      const s = Buffer.from(value, "utf8");
      if (s.length > 255) throw new RangeError(`${name}: string longer than 255 bytes`);
      parts.push(Buffer.from([TYPE_STRING, s.length]), s);
    }
  }
  return Buffer.concat(parts);
}

export function decodeParameterValues(data: Uint8Array): Parsed<{ name: string; value: ParamValue }[]> {
  const r = new Reader(data);
  const count = r.u8();
  if (count === undefined) return fail("count", "missing");
  const out: { name: string; value: ParamValue }[] = [];
  for (let i = 0; i < count; i++) {
    const n = r.u8();
    if (n === undefined || n === 0 || n > MAX_NAME) return fail(`values[${i}].name`, "bad length");
    const name = ascii(r, n);
    if (name === undefined || !NAME.test(name)) return fail(`values[${i}].name`, "not a name");
    const type = r.u8();
    let value: ParamValue;
    if (type === TYPE_BOOL) {
      const v = r.u8();
      if (v === undefined || v > 1) return fail(`values[${i}].value`, "bool must be 0 or 1");
      value = v === 1;
    } else if (type === TYPE_INT || type === TYPE_FLOAT) {
      const b = r.bytes(8);
      if (b === undefined) return fail(`values[${i}].value`, "runs past the end");
      const buf = Buffer.from(b);
      value = type === TYPE_INT ? buf.readBigInt64BE(0) : buf.readDoubleBE(0);
    } else if (type === TYPE_STRING) {
      const len = r.u8();
      const b = len === undefined ? undefined : r.bytes(len);
      if (b === undefined) return fail(`values[${i}].value`, "runs past the end");
      value = Buffer.from(b).toString("utf8");
    } else {
      return fail(`values[${i}].type`, `unknown type ${type ?? "(missing)"}`);
    }
    out.push({ name, value });
  }
  if (r.left !== 0) return fail("values", `${r.left} bytes after the last value`);
  return { ok: true, value: out };
}

// ---- ST[11] time-based scheduling -------------------------------------------

export interface ScheduledActivity {
  release: CucTime;
  /** One complete (authenticated) TC packet. */
  packet: Uint8Array;
}

/** (11,4): count, then release time (CUC) + packet length + packet for each. */
export function encodeInsertActivities(items: ScheduledActivity[], format?: CucFormat): Uint8Array {
  if (items.length > 0xffff) throw new RangeError("activities: more than 65535");
  const parts: Uint8Array[] = [Buffer.from([items.length >> 8, items.length & 0xff])];
  for (const it of items) {
    if (it.packet.length > 0xffff) throw new RangeError("packet: longer than 65535 bytes");
    parts.push(encodeCuc(it.release, format), Buffer.from([it.packet.length >> 8, it.packet.length & 0xff]), it.packet);
  }
  return Buffer.concat(parts);
}

export function decodeInsertActivities(data: Uint8Array, format?: CucFormat): Parsed<ScheduledActivity[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail("count", "missing");
  if (count === 0) return fail("count", "no activities");
  const size = cucOctets(format);
  const out: ScheduledActivity[] = [];
  for (let i = 0; i < count; i++) {
    const t = r.bytes(size);
    if (t === undefined) return fail(`activities[${i}].release`, "runs past the end");
    const cuc = decodeCuc(t, format);
    if (!cuc.ok) return fail(`activities[${i}].release`, cuc.error.reason);
    const len = r.u16();
    const packet = len === undefined ? undefined : r.bytes(len);
    if (packet === undefined || len === 0) return fail(`activities[${i}].packet`, "missing or runs past the end");
    out.push({ release: cuc.value, packet });
  }
  if (r.left !== 0) return fail("activities", `${r.left} bytes after the last activity`);
  return { ok: true, value: out };
}

export interface RequestId {
  sourceId: number;
  apid: number;
  sequenceCount: number;
}

/** (11,5): count, then (source id, APID, sequence count) of each activity to delete. */
export function encodeRequestIds(ids: RequestId[]): Uint8Array {
  const b = Buffer.alloc(2 + ids.length * 6);
  b.writeUInt16BE(ids.length, 0);
  ids.forEach((id, i) => {
    b.writeUInt16BE(id.sourceId, 2 + i * 6);
    b.writeUInt16BE(id.apid, 4 + i * 6);
    b.writeUInt16BE(id.sequenceCount, 6 + i * 6);
  });
  return b;
}

export function decodeRequestIds(data: Uint8Array): Parsed<RequestId[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined || count === 0) return fail("count", "missing or zero");
  const out: RequestId[] = [];
  for (let i = 0; i < count; i++) {
    const sourceId = r.u16();
    const apid = r.u16();
    const sequenceCount = r.u16();
    if (sequenceCount === undefined) return fail(`ids[${i}]`, "runs past the end");
    if (apid! > 2047 || sequenceCount > 16383) return fail(`ids[${i}]`, "APID or sequence count out of range");
    out.push({ sourceId: sourceId!, apid: apid!, sequenceCount });
  }
  if (r.left !== 0) return fail("ids", `${r.left} bytes after the last id`);
  return { ok: true, value: out };
}

/** (11,15): the shift in milliseconds, signed 64-bit. */
export function encodeTimeShift(deltaMs: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(deltaMs, 0);
  return b;
}

export function decodeTimeShift(data: Uint8Array): Parsed<bigint> {
  if (data.length !== 8) return fail("shift", `expected 8 bytes, got ${data.length}`);
  return { ok: true, value: Buffer.from(data).readBigInt64BE(0) };
}

// ---- ST[01] request verification ---------------------------------------------

/**
 * A report's data: the request id (the TC's packet id and sequence control,
 * 4 octets), then for failures the failure code (2 octets) and a reason
 * (1 length octet + UTF-8, at most 255 bytes); progress adds the step number.
 */
export function encodeVerification(requestHeader: Uint8Array, failure?: { code: number; detail: string }, step?: number): Uint8Array {
  const parts: Uint8Array[] = [requestHeader.subarray(0, 4)];
  if (step !== undefined) parts.push(Buffer.from([step >> 8, step & 0xff]));
  if (failure) {
    let detail = Buffer.from(failure.detail, "utf8");
    if (detail.length > 255) detail = detail.subarray(0, 255);
    parts.push(Buffer.from([failure.code >> 8, failure.code & 0xff, detail.length]), detail);
  }
  return Buffer.concat(parts);
}
