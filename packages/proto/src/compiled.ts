// Straight-line encoders and decoders for each message type, generated from
// the schema on first use (as protobufjs itself generates code from
// reflection). They are the codecs' fast path: the bus encodes and decodes
// every message, and going through protobufjs's generated classes costs a
// schema walk to validate, a class instance with Long fields built by
// fromObject, and on decode another instance, toObject and a defaults pass.
//
// Each fast function does one pass over the plain value or the bytes and
// gives up (encoder: false, decoder: undefined) on anything that is not the
// ordinary case: a value that fails a check, an unknown key, an object that
// is not a plain one, an unknown field or an unexpected wire type, a field
// given twice that protobuf would merge, a varint longer than needed. The
// codec then takes the reference path (validate.ts, then protobufjs's
// generated code), which names the problem or handles the rare case. So the
// fast path never has to reproduce an error message, only the bytes and
// objects of the ordinary case, and codec.test.ts / compiled.test.ts check
// exactly that against the reference, over every message type.
import protobuf from "protobufjs/light.js";
import { reflectedType } from "./schema.js";
import { defaultOf } from "./plain.js";

type Writer = protobuf.Writer;
type PlainObject = Record<string, unknown>;

/** Checks and writes a value; false means "not the ordinary case": the writer must be reset and the reference path used. */
export type FastEncoder = (value: unknown, writer: Writer, depth: number) => boolean;
/** Decodes bytes[pos, end); undefined means "not the ordinary case": use the reference path. */
export type FastDecoder = (bytes: Uint8Array, pos: number, end: number, depth: number) => PlainObject | undefined;

/** As validate.ts: deeper nesting is refused there (the reference path names it). */
const MAX_DEPTH = 32;

// ---- runtime helpers the generated code calls ------------------------------

const TWO_32 = 4294967296;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const utf8 = (protobuf.util as unknown as { utf8: { readStrict(b: Uint8Array, s: number, e: number): string } }).utf8;

interface Lib {
  /** Position after the last helper read. */
  P: number;
  enc: (FastEncoder | undefined)[];
  dec: (FastDecoder | undefined)[];
  defaults: unknown[];
  OBJ: object;
  proto: (o: object) => object | null;
  isArray: (v: unknown) => v is unknown[];
  U8: typeof Uint8Array;
  /** A 64-bit value as the writer takes it: a number, or low/high words beyond 2^53. */
  long(v: number | bigint): number | { low: number; high: number };
  /** A varint of up to 32 bits at pos (a length, a tag or a uint32); -1 if truncated or longer than 5 bytes. */
  v32(b: Uint8Array, pos: number, end: number, strict: boolean): number;
  u64(b: Uint8Array, pos: number, end: number): bigint | undefined;
  i64(b: Uint8Array, pos: number, end: number): bigint | undefined;
  s64(b: Uint8Array, pos: number, end: number): bigint | undefined;
  fu64(b: Uint8Array, pos: number): bigint;
  fi64(b: Uint8Array, pos: number): bigint;
  f64(b: Uint8Array, pos: number): number;
  f32(b: Uint8Array, pos: number): number;
  str(b: Uint8Array, start: number, end: number): string;
}

let LO = 0;
let HI = 0;

/** Reads a varint of up to 10 bytes into LO/HI (as protobufjs's readLongVarint); false if truncated or longer. */
function readLong(lib: Lib, b: Uint8Array, pos: number, end: number): boolean {
  let lo = 0;
  let hi = 0;
  let byte = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) return false;
    byte = b[pos++]!;
    lo = (lo | ((byte & 127) << (i * 7))) >>> 0;
    if (byte < 128) {
      LO = lo;
      HI = 0;
      lib.P = pos;
      return true;
    }
  }
  if (pos >= end) return false;
  byte = b[pos++]!;
  lo = (lo | ((byte & 127) << 28)) >>> 0;
  hi = (byte & 127) >> 4;
  if (byte < 128) {
    LO = lo;
    HI = hi;
    lib.P = pos;
    return true;
  }
  for (let i = 0; i < 5; i++) {
    if (pos >= end) return false;
    byte = b[pos++]!;
    hi = (hi | ((byte & 127) << (i * 7 + 3))) >>> 0;
    if (byte < 128) {
      LO = lo;
      HI = hi;
      lib.P = pos;
      return true;
    }
  }
  return false;
}

function unsignedBig(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo);
  if (hi < 0x200000) return BigInt(hi * TWO_32 + lo); // below 2^53: exact as a double
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function signedBig(lo: number, hi: number): bigint {
  return hi < 0x80000000 ? unsignedBig(lo, hi) : BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

const lib: Lib = {
  P: 0,
  enc: [],
  dec: [],
  defaults: [],
  OBJ: Object.prototype,
  proto: Object.getPrototypeOf,
  isArray: Array.isArray,
  U8: Uint8Array,
  long(v) {
    if (typeof v === "number") return v;
    if (v >= -SAFE && v <= SAFE) return Number(v);
    return { low: Number(BigInt.asUintN(32, v)), high: Number(BigInt.asUintN(32, v >> 32n)) };
  },
  v32(b, pos, end, strict) {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      if (pos >= end) return -1;
      const byte = b[pos++]!;
      value = (value | ((byte & 127) << (i * 7))) >>> 0;
      if (byte < 128) {
        lib.P = pos;
        return value;
      }
    }
    if (pos >= end) return -1;
    const byte = b[pos++]!;
    value = (value | ((byte & 15) << 28)) >>> 0;
    // A tag or a length with bits past 32 is refused by protobufjs.
    if (strict) {
      if (byte > 15) return -1;
      lib.P = pos;
      return value;
    }
    // A value keeps its low 32 bits of up to 10 bytes: a negative int32 is sign-extended to 64 bits.
    if (byte >= 128) {
      for (let more = 1; ; more++) {
        if (more > 5 || pos >= end) return -1;
        if (b[pos++]! < 128) break;
      }
    }
    lib.P = pos;
    return value;
  },
  u64(b, pos, end) {
    return readLong(lib, b, pos, end) ? unsignedBig(LO, HI) : undefined;
  },
  i64(b, pos, end) {
    return readLong(lib, b, pos, end) ? signedBig(LO, HI) : undefined;
  },
  s64(b, pos, end) {
    if (!readLong(lib, b, pos, end)) return undefined;
    const mask = -(LO & 1);
    return signedBig((((LO >>> 1) | (HI << 31)) ^ mask) >>> 0, ((HI >>> 1) ^ mask) >>> 0);
  },
  fu64(b, pos) {
    return unsignedBig((b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16) | (b[pos + 3]! << 24)) >>> 0, (b[pos + 4]! | (b[pos + 5]! << 8) | (b[pos + 6]! << 16) | (b[pos + 7]! << 24)) >>> 0);
  },
  fi64(b, pos) {
    return signedBig((b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16) | (b[pos + 3]! << 24)) >>> 0, (b[pos + 4]! | (b[pos + 5]! << 8) | (b[pos + 6]! << 16) | (b[pos + 7]! << 24)) >>> 0);
  },
  f64(b, pos) {
    for (let i = 0; i < 8; i++) f64Bytes[i] = b[pos + i]!;
    return f64[0]!;
  },
  f32(b, pos) {
    for (let i = 0; i < 4; i++) f32Bytes[i] = b[pos + i]!;
    return f32[0]!;
  },
  str(b, start, end) {
    return utf8.readStrict(b, start, end); // as protobufjs's stringVerify: invalid UTF-8 throws
  },
};

// ---- the schema, as the generators see it ----------------------------------

type Scalar =
  | "double"
  | "float"
  | "int32"
  | "uint32"
  | "sint32"
  | "fixed32"
  | "sfixed32"
  | "int64"
  | "uint64"
  | "sint64"
  | "fixed64"
  | "sfixed64"
  | "bool"
  | "string"
  | "bytes";

const WIRE: Record<Scalar, number> = {
  double: 1,
  float: 5,
  int32: 0,
  uint32: 0,
  sint32: 0,
  fixed32: 5,
  sfixed32: 5,
  int64: 0,
  uint64: 0,
  sint64: 0,
  fixed64: 1,
  sfixed64: 1,
  bool: 0,
  string: 2,
  bytes: 2,
};

const SIXTY_FOUR: Record<string, readonly [string, string]> = {
  int64: ["-9223372036854775808n", "9223372036854775807n"],
  sint64: ["-9223372036854775808n", "9223372036854775807n"],
  sfixed64: ["-9223372036854775808n", "9223372036854775807n"],
  uint64: ["0n", "18446744073709551615n"],
  fixed64: ["0n", "18446744073709551615n"],
};

/** What a field's single value is. */
type Element = { kind: "scalar"; type: Scalar } | { kind: "enum"; values: number[] } | { kind: "message"; index: number };

/** Index of each compiled type in lib.enc / lib.dec. */
const indexOf = new Map<protobuf.Type, number>();
/** Types that cannot take the fast path (a field kind it does not handle), directly or through a nested type. */
const unsupported = new Set<protobuf.Type>();

function elementOf(field: protobuf.Field): Element | null {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return { kind: "enum", values: [...new Set(Object.values(resolved.values))] };
  if (resolved instanceof protobuf.Type) return { kind: "message", index: typeIndex(resolved) };
  if (Object.prototype.hasOwnProperty.call(WIRE, field.type)) return { kind: "scalar", type: field.type as Scalar };
  return null;
}

function typeIndex(type: protobuf.Type): number {
  let index = indexOf.get(type);
  if (index === undefined) {
    index = lib.enc.length;
    indexOf.set(type, index);
    lib.enc.push(undefined);
    lib.dec.push(undefined);
  }
  return index;
}

/** Whether every field of the type, and of every type it nests, is one the generators handle. */
function supported(type: protobuf.Type, visiting = new Set<protobuf.Type>()): boolean {
  if (unsupported.has(type)) return false;
  if (visiting.has(type)) return true;
  visiting.add(type);
  for (const field of type.fieldsArray) {
    const element = elementOf(field);
    let ok = element !== null;
    if (field instanceof protobuf.MapField) {
      // String keys and scalar or enum values: all the schema has.
      ok = ok && field.keyType === "string" && element!.kind !== "message" && !(element!.kind === "scalar" && element!.type === "bytes");
    }
    if (ok && element!.kind === "message") ok = supported(field.resolvedType as protobuf.Type, visiting);
    if (!ok) {
      unsupported.add(type);
      return false;
    }
  }
  return true;
}

const byId = (a: protobuf.Field, b: protobuf.Field) => a.id - b.id;
const q = (s: string) => JSON.stringify(s);
const prop = (name: string) => `[${q(name)}]`;

// ---- encoder generation ----------------------------------------------------

/** Source that returns false unless `v` is a valid value of the element (as validate.ts checks it). */
function checkSource(element: Element, v: string): string {
  if (element.kind === "enum") return `switch (${v}) { ${element.values.map((n) => `case ${n}:`).join(" ")} break; default: return false; }`;
  if (element.kind === "message") return ""; // the nested encoder checks its own value
  switch (element.type) {
    case "int32":
    case "sint32":
    case "sfixed32":
      return `if (typeof ${v} !== "number" || (${v} | 0) !== ${v}) return false;`;
    case "uint32":
    case "fixed32":
      return `if (typeof ${v} !== "number" || (${v} >>> 0) !== ${v}) return false;`;
    case "double":
    case "float":
      return `if (typeof ${v} !== "number") return false;`;
    case "bool":
      return `if (typeof ${v} !== "boolean") return false;`;
    case "string":
      return `if (typeof ${v} !== "string") return false;`;
    case "bytes":
      return `if (!(${v} instanceof lib.U8)) return false;`;
    default: {
      const [min, max] = SIXTY_FOUR[element.type]!;
      const minNumber = element.type.startsWith("u") || element.type === "fixed64" ? "0" : "-9007199254740991";
      return (
        `if (typeof ${v} === "bigint") { if (${v} < ${min} || ${v} > ${max}) return false; }` +
        ` else if (typeof ${v} !== "number" || !Number.isSafeInteger(${v}) || ${v} < ${minNumber}) return false;`
      );
    }
  }
}

/** The writer method for an element. */
function writeMethod(element: Element): string {
  if (element.kind === "enum") return "int32";
  if (element.kind === "message") throw new Error("messages are written by their encoder");
  return element.type;
}

/** Source that writes value `v` (already checked) after the tag has been written. */
function writeValue(element: Element, v: string): string {
  if (element.kind === "message") return `w.fork(); if (!lib.enc[${element.index}](${v}, w, d + 1)) return false; w.ldelim();`;
  const method = writeMethod(element);
  return element.kind === "scalar" && SIXTY_FOUR[element.type] ? `w.${method}(lib.long(${v}));` : `w.${method}(${v});`;
}

function wireOf(element: Element): number {
  if (element.kind === "message") return 2;
  if (element.kind === "enum") return 0;
  return WIRE[element.type];
}

/** Whether a repeated field of this element is packed (proto3: every scalar number, bool and enum). */
function packed(element: Element): boolean {
  return element.kind === "enum" || (element.kind === "scalar" && element.type !== "string" && element.type !== "bytes");
}

/** Source of the condition under which protobufjs leaves a singular field out as its default. */
function isNotDefault(element: Element, v: string): string {
  if (element.kind === "message") return "true";
  if (element.kind === "enum") return `${v} !== 0`;
  switch (element.type) {
    case "double":
    case "float":
      return `(${v} !== 0 || 1 / ${v} < 0)`; // -0 is written, as protobufjs does
    case "bool":
      return v;
    case "string":
      return `${v} !== ""`;
    case "bytes":
      return `${v}.length !== 0`;
    default:
      return SIXTY_FOUR[element.type] ? `${v} != 0` : `${v} !== 0`; // != also takes 0n
  }
}

function encoderSource(type: protobuf.Type): string {
  const fields = type.fieldsArray.slice().sort(byId);
  const oneofs = type.oneofsArray;
  const lines: string[] = [];
  lines.push(`if (d > ${MAX_DEPTH} || typeof m !== "object" || m === null) return false;`);
  lines.push(`const p = lib.proto(m); if (p !== lib.OBJ && p !== null) return false;`);
  // Every key must be a field or a oneof's name: anything else is for validate.ts to name.
  const cases = fields.map((f) => `case ${q(f.name)}:`).join(" ");
  const oneofCases = oneofs
    .map((o) => `case ${q(o.name)}: { const v = m${prop(o.name)}; if (v != null && ${o.oneof.map((n) => `v !== ${q(n)}`).join(" && ")}) return false; break; }`)
    .join(" ");
  lines.push(`for (const k in m) { switch (k) { ${cases ? `${cases} break;` : ""} ${oneofCases} default: return false; } }`);
  lines.push(`let v;`);
  for (const o of oneofs) lines.push(`let set_${o.name.replace(/\W/g, "_")} = 0;`);
  for (const field of fields) {
    const element = elementOf(field)!;
    const name = prop(field.name);
    const oneof = field.partOf && type.oneofsArray.includes(field.partOf) ? field.partOf : null;
    lines.push(`v = m${name};`);
    lines.push(`if (v != null) {`);
    if (field instanceof protobuf.MapField) {
      const valueTag = (2 << 3) | wireOf(element);
      lines.push(`  if (typeof v !== "object") return false; const mp = lib.proto(v); if (mp !== lib.OBJ && mp !== null) return false;`);
      lines.push(`  for (const key in v) { if (key === "__proto__") return false; const x = v[key]; ${checkSource(element, "x")}`);
      lines.push(`    w.uint32(${(field.id << 3) | 2}).fork().uint32(10).string(key).uint32(${valueTag}); ${writeValue(element, "x")} w.ldelim(); }`);
    } else if (field.repeated) {
      lines.push(`  if (!lib.isArray(v)) return false;`);
      if (packed(element)) {
        lines.push(`  if (v.length !== 0) { w.uint32(${(field.id << 3) | 2}).fork();`);
        lines.push(`    for (let i = 0; i < v.length; i++) { const x = v[i]; ${checkSource(element, "x")} ${writeValue(element, "x")} }`);
        lines.push(`    w.ldelim(); }`);
      } else {
        lines.push(`  for (let i = 0; i < v.length; i++) { const x = v[i]; ${checkSource(element, "x")} w.uint32(${(field.id << 3) | wireOf(element)}); ${writeValue(element, "x")} }`);
      }
    } else {
      lines.push(`  ${checkSource(element, "v")}`);
      const tag = (field.id << 3) | wireOf(element);
      // Oneof members are written whenever set; other fields only when not at their default.
      const condition = oneof ? "true" : isNotDefault(element, "v");
      lines.push(`  if (${condition}) { w.uint32(${tag}); ${writeValue(element, "v")} }`);
      if (oneof) lines.push(`  set_${oneof.name.replace(/\W/g, "_")}++;`);
    }
    lines.push(`}`);
  }
  for (const o of oneofs) lines.push(`if (set_${o.name.replace(/\W/g, "_")} > 1) return false;`);
  lines.push(`return true;`);
  return lines.join("\n");
}

// ---- decoder generation ----------------------------------------------------

/** Source that reads a varint of up to 32 bits at `pos` (bounded by `end`) into `x`, or returns undefined. */
function varint32Source(end: string): string {
  return `if (pos >= ${end}) return undefined; x = b[pos]; if (x < 128) pos++; else { x = lib.v32(b, pos, ${end}, false); if (x < 0) return undefined; pos = lib.P; }`;
}

/** Source that reads a length prefix into `n` and returns undefined unless `n` bytes follow before `end`. */
function lengthSource(end: string): string {
  return `if (pos >= ${end}) return undefined; n = b[pos]; if (n < 128) pos++; else { n = lib.v32(b, pos, ${end}, true); if (n < 0) return undefined; pos = lib.P; } if (n > ${end} - pos) return undefined;`;
}

/** Source that reads one value of the element at `pos` (bounded by `end`) into `x`, or returns undefined. */
function readValue(element: Element, end: string, emptyBytes?: string): string {
  const varint32 = varint32Source(end);
  const length = lengthSource(end);
  if (element.kind === "enum") return `${varint32} x = x | 0;`;
  if (element.kind === "message") return `${length} x = lib.dec[${element.index}](b, pos, pos + n, d + 1); if (x === undefined) return undefined; pos += n;`;
  switch (element.type) {
    case "uint32":
      return varint32;
    case "int32":
      return `${varint32} x = x | 0;`;
    case "sint32":
      return `${varint32} x = (x >>> 1) ^ -(x & 1);`;
    case "bool":
      // Only the one-byte forms; anything longer goes the reference way.
      return `if (pos >= ${end}) return undefined; x = b[pos++]; if (x > 1) return undefined; x = x === 1;`;
    case "fixed32":
      return `if (${end} - pos < 4) return undefined; x = (b[pos] | b[pos + 1] << 8 | b[pos + 2] << 16 | b[pos + 3] << 24) >>> 0; pos += 4;`;
    case "sfixed32":
      return `if (${end} - pos < 4) return undefined; x = b[pos] | b[pos + 1] << 8 | b[pos + 2] << 16 | b[pos + 3] << 24; pos += 4;`;
    case "double":
      return `if (${end} - pos < 8) return undefined; x = lib.f64(b, pos); pos += 8;`;
    case "float":
      return `if (${end} - pos < 4) return undefined; x = lib.f32(b, pos); pos += 4;`;
    case "uint64":
      return `x = lib.u64(b, pos, ${end}); if (x === undefined) return undefined; pos = lib.P;`;
    case "int64":
      return `x = lib.i64(b, pos, ${end}); if (x === undefined) return undefined; pos = lib.P;`;
    case "sint64":
      return `x = lib.s64(b, pos, ${end}); if (x === undefined) return undefined; pos = lib.P;`;
    case "fixed64":
      return `if (${end} - pos < 8) return undefined; x = lib.fu64(b, pos); pos += 8;`;
    case "sfixed64":
      return `if (${end} - pos < 8) return undefined; x = lib.fi64(b, pos); pos += 8;`;
    case "string":
      return `${length} x = n === 0 ? "" : lib.str(b, pos, pos + n); pos += n;`;
    case "bytes":
      return `${length} x = ${emptyBytes ? `n === 0 ? ${emptyBytes} : ` : ""}b.subarray(pos, pos + n); pos += n;`;
  }
}

/** The default a map entry's value takes when the entry leaves it out. */
function mapValueDefault(element: Element): string {
  if (element.kind === "enum") return "0";
  if (element.kind === "message") throw new Error("message map values take the reference path");
  switch (element.type) {
    case "string":
      return `""`;
    case "bool":
      return "false";
    default:
      return SIXTY_FOUR[element.type] ? "0n" : "0";
  }
}

function decoderSource(type: protobuf.Type): string {
  const fields = type.fieldsArray.slice().sort(byId);
  const inOneof = (f: protobuf.Field) => f.partOf !== null && type.oneofsArray.includes(f.partOf!);
  const oneofs = type.oneofsArray;
  const oneofVar = (o: protobuf.OneOf) => o.name.replace(/\W/g, "_");
  // Keys in the order the reference gives them: repeated fields, maps, then the
  // other fields outside oneofs (each group by id); oneof members come last.
  const template: string[] = [];
  const templateValue = new Map<string, string>();
  for (const f of fields) if (!inOneof(f) && f.repeated && !(f instanceof protobuf.MapField)) template.push(`${q(f.name)}: []`);
  for (const f of fields) if (!inOneof(f) && f instanceof protobuf.MapField) template.push(`${q(f.name)}: {}`);
  for (const f of fields) {
    if (inOneof(f) || f.repeated || f instanceof protobuf.MapField) continue;
    const d = defaultOf(f);
    let literal: string;
    if (d === null) literal = "null";
    else if (typeof d === "string") literal = q(d);
    else if (typeof d === "bigint") literal = `${d}n`;
    else if (typeof d === "number" || typeof d === "boolean") literal = Object.is(d, -0) ? "-0" : String(d);
    else {
      // bytes: the shared Buffer every decode of an unset field gets (one slot per distinct default)
      let slot = lib.defaults.indexOf(d);
      if (slot < 0) slot = lib.defaults.push(d) - 1;
      literal = `lib.defaults[${slot}]`;
    }
    template.push(`${q(f.name)}: ${literal}`);
    templateValue.set(f.name, literal);
  }
  const lines: string[] = [];
  lines.push(`if (d > ${MAX_DEPTH}) return undefined;`);
  lines.push(`const o = { ${template.join(", ")} };`);
  lines.push(`let x, n;`);
  for (const o of oneofs) lines.push(`let which_${oneofVar(o)} = "", value_${oneofVar(o)};`);
  lines.push(`while (pos < end) {`);
  lines.push(`  let t = b[pos]; if (t < 128) pos++; else { t = lib.v32(b, pos, end, true); if (t < 0) return undefined; pos = lib.P; }`);
  lines.push(`  switch (t) {`);
  for (const field of fields) {
    const element = elementOf(field)!;
    const name = prop(field.name);
    if (field instanceof protobuf.MapField) {
      const valueTag = (2 << 3) | wireOf(element);
      lines.push(`  case ${(field.id << 3) | 2}: {`);
      lines.push(`    ${lengthSource("end")} const e = pos + n;`);
      lines.push(`    let key = "", val = ${mapValueDefault(element)};`);
      lines.push(`    while (pos < e) { let t2 = b[pos]; if (t2 < 128) pos++; else return undefined;`);
      lines.push(`      if (t2 === 10) { ${readValue({ kind: "scalar", type: "string" }, "e")} key = x; }`);
      lines.push(`      else if (t2 === ${valueTag}) { ${readValue(element, "e")} val = x; }`);
      lines.push(`      else return undefined; }`);
      lines.push(`    if (pos !== e || key === "__proto__") return undefined;`);
      lines.push(`    o${name}[key] = val; break; }`);
    } else if (field.repeated) {
      if (packed(element)) {
        lines.push(`  case ${(field.id << 3) | 2}: {`);
        lines.push(`    ${lengthSource("end")} const e = pos + n;`);
        lines.push(`    const a = o${name}; while (pos < e) { ${readValue(element, "e")} a.push(x); }`);
        lines.push(`    break; }`);
      } else {
        lines.push(`  case ${(field.id << 3) | wireOf(element)}: { ${readValue(element, "end")} o${name}.push(x); break; }`);
      }
    } else if (inOneof(field)) {
      const v = oneofVar(field.partOf!);
      // A message member given twice would be merged by protobuf: the reference path does that.
      const twice = element.kind === "message" ? `if (which_${v} === ${q(field.name)}) return undefined; ` : "";
      lines.push(`  case ${(field.id << 3) | wireOf(element)}: { ${twice}${readValue(element, "end")} which_${v} = ${q(field.name)}; value_${v} = x; break; }`);
    } else {
      const twice = element.kind === "message" ? `if (o${name} !== null) return undefined; ` : "";
      // An empty bytes field is left at its default, as protobufjs leaves it unset.
      const emptyBytes = element.kind === "scalar" && element.type === "bytes" ? templateValue.get(field.name) : undefined;
      lines.push(`  case ${(field.id << 3) | wireOf(element)}: { ${twice}${readValue(element, "end", emptyBytes)} o${name} = x; break; }`);
    }
  }
  lines.push(`  default: return undefined;`);
  lines.push(`  }`);
  lines.push(`}`);
  lines.push(`if (pos !== end) return undefined;`);
  // Set oneof members after the rest, by id, each followed by its oneof's name (as toObject with `oneofs`).
  for (const field of fields) {
    if (!inOneof(field)) continue;
    const v = oneofVar(field.partOf!);
    lines.push(`if (which_${v} === ${q(field.name)}) { o${prop(field.name)} = value_${v}; o${prop(field.partOf!.name)} = ${q(field.name)}; }`);
  }
  lines.push(`return o;`);
  return lines.join("\n");
}

// ---- entry points ------------------------------------------------------------

function build<F>(type: protobuf.Type, what: "encode" | "decode", table: (F | undefined)[], source: (type: protobuf.Type) => string, params: string): F {
  const index = typeIndex(type);
  const existing = table[index];
  if (existing) return existing;
  // The generated code finds nested types' functions in the table when it runs,
  // so each is built here too; the placeholder ends the recursion of a type that nests itself.
  table[index] = (() => {
    throw new Error("unreachable: a type's fast function is used before it is built");
  }) as F;
  for (const field of type.fieldsArray) {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) build(resolved, what, table, source, params);
  }
  const fn = new Function("lib", `"use strict"; return function ${what}_${type.name}(${params}) {\n${source(type)}\n};`)(lib) as F;
  table[index] = fn;
  return fn;
}

/** The fast encoder of a message type, or null if the type has a field kind it does not handle. */
export function fastEncoderFor(typeName: string): FastEncoder | null {
  const type = reflectedType(typeName);
  if (!type || !supported(type)) return null;
  return build<FastEncoder>(type, "encode", lib.enc, encoderSource, "m, w, d");
}

/** The fast decoder of a message type, or null if the type has a field kind it does not handle (or this host is big-endian). */
export function fastDecoderFor(typeName: string): FastDecoder | null {
  const type = reflectedType(typeName);
  if (!type || !supported(type) || !LITTLE_ENDIAN) return null;
  return build<FastDecoder>(type, "decode", lib.dec, decoderSource, "b, pos, end, d");
}

/** The generated source of a type's fast functions, for tests and for reading. */
export function fastSourceOf(typeName: string): { encoder: string; decoder: string } | null {
  const type = reflectedType(typeName);
  if (!type || !supported(type)) return null;
  return { encoder: encoderSource(type), decoder: decoderSource(type) };
}
