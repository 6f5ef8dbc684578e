// Command forms from the dictionary. GET /api/dictionary gives each command
// the JSON Schema of its argument message with the declared rules in it
// (minimum/maximum, enum of allowed strings, x-nonZero; 64-bit integers as
// an integer-or-decimal-string anyOf with x-minimum/x-maximum); see
// packages/gateway/src/dictionary/json-schema.ts. From it:
//
// - fieldsOf(schema): one field spec per argument field (kind, range, unit,
//   choices), nested messages as groups, lists of scalars as comma-separated
//   lists, anything else (lists of messages, maps) as JSON text;
// - parseArguments(fields, raw): the operator's input turned into the
//   arguments JSON the gateway takes, or every problem, each naming its
//   field ("amount: 5000 is above the maximum 1000").
//
// The gateway checks again and is the authority; this gives the reason
// before anything is sent. Pure, and never throws: whatever the input (text
// of any size, values of the wrong type, hostile JSON), the answer is
// arguments or reasons. Units are not declared for arguments; fields carry
// them in their names by the project's convention (deadlineInS, quotaJoules,
// timeoutMs), and unitOfField reads them from there.
import { integerRange, isSixtyFourBit } from "@umbra/proto/scalars";

export type JsonSchema = Record<string, unknown>;

export type FieldKind = "integer" | "int64" | "number" | "boolean" | "string" | "choice" | "enum" | "bytes" | "list" | "group" | "json";

export interface FieldSpec {
  /** The field's name in its message. */
  name: string;
  /** Dotted path from the argument message ("output.keep"): the form's key for the field. */
  path: string;
  kind: FieldKind;
  /** The protobuf type as the schema names it (int32, uint64, double, an enum's full name, ...), or "". */
  type: string;
  /** The unit, from the field's name; "" when it names none. */
  unit: string;
  /** Bounds (64-bit integers: as decimal strings, exact). */
  min?: number | string;
  max?: number | string;
  nonZero: boolean;
  /** choice: the allowed strings; enum: the value names. */
  options?: string[];
  /** list: what each item is. */
  item?: FieldSpec;
  /** group: the nested message's fields. */
  fields?: FieldSpec[];
  /** The field's own schema (json fields are checked against it). */
  schema: JsonSchema;
  description: string;
  /** A field of the argument message itself: the declared rules apply to its default value too. */
  top: boolean;
}

/** What the form holds: per field path, its text (or a checkbox's boolean). */
export type RawForm = Record<string, unknown>;

export interface FieldError {
  path: string;
  message: string;
}

export type ParsedArguments = { ok: true; args: Record<string, unknown> } | { ok: false; errors: FieldError[] };

/** The most text one field takes (the gateway's whole body is 64 KiB by default). */
export const MAX_FIELD_CHARS = 65_536;
/** How deep nested messages become nested groups (deeper ones are JSON text). */
const MAX_GROUP_DEPTH = 3;
const MAX_JSON_DEPTH = 32;

// ---- units from names -------------------------------------------------------

/** Longest suffix first; the suffix must follow a lower-case letter or a digit (lowerCamel). */
const UNIT_SUFFIXES: [string, string][] = [
  ["Seconds", "s"],
  ["Joules", "J"],
  ["Bytes", "B"],
  ["KHz", "kHz"],
  ["MHz", "MHz"],
  ["Pct", "%"],
  ["Deg", "°"],
  ["Hz", "Hz"],
  ["Ns", "ns (TAI)"],
  ["Ms", "ms"],
  ["Wh", "Wh"],
  ["C", "°C"],
  ["J", "J"],
  ["S", "s"],
  ["A", "A"],
  ["V", "V"],
  ["W", "W"],
];

/** The unit a field's name says by the project's convention (deadlineInS -> "s", quotaJoules -> "J"), or "". */
export function unitOfField(name: string): string {
  if (typeof name !== "string" || name.length > 200) return "";
  for (const [suffix, unit] of UNIT_SUFFIXES) {
    if (name.length > suffix.length && name.endsWith(suffix) && /[a-z0-9]/.test(name[name.length - suffix.length - 1]!)) return unit;
  }
  return "";
}

// ---- schema to fields ---------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function numberOr(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
}

function fieldOf(name: string, path: string, schema: JsonSchema, top: boolean, depth: number): FieldSpec {
  const base = {
    name,
    path,
    unit: unitOfField(name),
    nonZero: schema["x-nonZero"] === true,
    schema,
    description: typeof schema["description"] === "string" ? schema["description"] : "",
    top,
  };
  const format = typeof schema["format"] === "string" ? schema["format"] : "";
  const anyOf = Array.isArray(schema["anyOf"]) ? (schema["anyOf"] as unknown[]).filter(isObject) : undefined;
  // 64-bit integers: an integer (safe range) or a decimal string; the rules in x-minimum / x-maximum.
  const formatRange = integerRange(format);
  if (anyOf && formatRange && isSixtyFourBit(format)) {
    const [lo, hi] = formatRange;
    const rmin = numberOr(schema["x-minimum"]);
    const rmax = numberOr(schema["x-maximum"]);
    const min = rmin === undefined ? lo : bigMax(lo, BigInt(Math.ceil(rmin)));
    const max = rmax === undefined ? hi : bigMin(hi, BigInt(Math.floor(rmax)));
    return { ...base, kind: "int64", type: format, min: min.toString(), max: max.toString() };
  }
  // Enums: a value name or its number.
  if (anyOf) {
    const names = anyOf.map((a) => strings(a["enum"])).find((e) => e !== undefined);
    if (names && names.length) return { ...base, kind: "enum", type: typeof schema["title"] === "string" ? schema["title"] : "", options: names };
    return { ...base, kind: "json", type: "" };
  }
  switch (schema["type"]) {
    case "integer":
      return {
        ...base,
        kind: "integer",
        type: format || "integer",
        ...(numberOr(schema["minimum"]) !== undefined ? { min: numberOr(schema["minimum"])! } : {}),
        ...(numberOr(schema["maximum"]) !== undefined ? { max: numberOr(schema["maximum"])! } : {}),
      };
    case "number":
      return {
        ...base,
        kind: "number",
        type: format || "number",
        ...(numberOr(schema["minimum"]) !== undefined ? { min: numberOr(schema["minimum"])! } : {}),
        ...(numberOr(schema["maximum"]) !== undefined ? { max: numberOr(schema["maximum"])! } : {}),
      };
    case "boolean":
      return { ...base, kind: "boolean", type: "bool" };
    case "string": {
      if (schema["contentEncoding"] === "base64") return { ...base, kind: "bytes", type: "bytes" };
      const allowed = strings(schema["enum"]);
      if (allowed && allowed.length) return { ...base, kind: "choice", type: "string", options: allowed };
      return { ...base, kind: "string", type: "string" };
    }
    case "array": {
      const items = isObject(schema["items"]) ? schema["items"] : {};
      const item = fieldOf(name, `${path}[]`, items, false, depth + 1);
      if (["integer", "int64", "number", "boolean", "string", "choice", "enum"].includes(item.kind)) return { ...base, kind: "list", type: item.type, item };
      return { ...base, kind: "json", type: "" };
    }
    case "object": {
      const props = schema["properties"];
      if (isObject(props) && depth < MAX_GROUP_DEPTH && schema["additionalProperties"] === false) {
        const fields = Object.entries(props)
          .filter((e): e is [string, JsonSchema] => isObject(e[1]))
          .map(([n, s]) => fieldOf(n, `${path}.${n}`, s, false, depth + 1));
        return { ...base, kind: "group", type: typeof schema["title"] === "string" ? schema["title"] : "", fields };
      }
      return { ...base, kind: "json", type: typeof schema["title"] === "string" ? schema["title"] : "" };
    }
  }
  return { ...base, kind: "json", type: "" };
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** The form's fields for a command's argument schema (an object schema); [] for a command without arguments or a schema that is not one. */
export function fieldsOf(argumentSchema: unknown): FieldSpec[] {
  if (!isObject(argumentSchema)) return [];
  const props = argumentSchema["properties"];
  if (!isObject(props)) return [];
  return Object.entries(props)
    .filter((e): e is [string, JsonSchema] => isObject(e[1]))
    .map(([name, schema]) => fieldOf(name, name, schema, true, 0));
}

/** Every field a form shows input for (groups opened up), in order. */
export function leafFields(fields: readonly FieldSpec[]): FieldSpec[] {
  const out: FieldSpec[] = [];
  for (const f of fields) {
    if (f.kind === "group" && f.fields) out.push(...leafFields(f.fields));
    else out.push(f);
  }
  return out;
}

/** The range as a hint: "-1000..1000, not 0", "≥ 0", "one of alpha, beta". */
export function rangeText(f: FieldSpec): string {
  const parts: string[] = [];
  if (f.kind === "choice" || f.kind === "enum") return f.options?.length ? `one of ${f.options.join(", ")}` : "";
  const typeRange = integerRange(f.type);
  const min = f.min !== undefined && !(typeRange && String(typeRange[0]) === String(f.min)) ? f.min : undefined;
  const max = f.max !== undefined && !(typeRange && String(typeRange[1]) === String(f.max)) ? f.max : undefined;
  if (min !== undefined && max !== undefined) parts.push(`${min}..${max}`);
  else if (min !== undefined) parts.push(`≥ ${min}`);
  else if (max !== undefined) parts.push(`≤ ${max}`);
  else if (typeRange) parts.push(f.type);
  if (f.nonZero) parts.push("not 0");
  if (f.kind === "list") parts.push("comma-separated, or a JSON array");
  if (f.kind === "bytes") parts.push("base64");
  if (f.kind === "json") parts.push("JSON");
  return parts.join(", ");
}

// ---- input to arguments ----------------------------------------------------------

class Problem {
  /** `whole`: the message already names its field (a path inside a JSON value). */
  constructor(
    readonly message: string,
    readonly whole = false,
  ) {}
}

function show(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

const INTEGER_TEXT = /^[+-]?[0-9]{1,40}$/;
const NUMBER_TEXT = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function checkBounds(f: FieldSpec, n: bigint | number, shown: string): void {
  const lo = f.min === undefined ? undefined : typeof n === "bigint" ? BigInt(f.min) : Number(f.min);
  const hi = f.max === undefined ? undefined : typeof n === "bigint" ? BigInt(f.max) : Number(f.max);
  if (lo !== undefined && n < lo) throw new Problem(`${shown} is below the minimum ${f.min}`);
  if (hi !== undefined && n > hi) throw new Problem(`${shown} is above the maximum ${f.max}`);
  if (f.nonZero && (n === 0 || n === 0n)) throw new Problem("must not be 0");
}

/** One scalar from its text; `undefined` = leave the field out (the protobuf default). */
function scalarFromText(f: FieldSpec, text: string): unknown {
  const t = text.trim();
  switch (f.kind) {
    case "integer":
    case "int64": {
      if (!INTEGER_TEXT.test(t)) throw new Problem(`expected a whole number, got ${show(t)}`);
      const n = BigInt(t);
      const range = integerRange(f.type);
      if (range && (n < range[0] || n > range[1])) throw new Problem(`${n} is out of range for ${f.type} (${range[0]}..${range[1]})`);
      if (!range && (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))) throw new Problem(`${n} is too large`);
      checkBounds(f, f.kind === "int64" ? n : Number(n), n.toString());
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
    case "number": {
      if (!NUMBER_TEXT.test(t)) throw new Problem(`expected a number, got ${show(t)}`);
      const n = Number(t);
      if (!Number.isFinite(n)) throw new Problem(`${show(t)} is not a finite number`);
      checkBounds(f, n, String(n));
      return n;
    }
    case "boolean":
      if (t === "true") return true;
      if (t === "false") return false;
      throw new Problem(`expected true or false, got ${show(t)}`);
    case "choice":
    case "enum":
      if (!f.options?.includes(t)) throw new Problem(`${show(t)} is not one of ${f.options?.join(", ") ?? "(none)"}`);
      return t;
    case "bytes":
      if (!(BASE64.test(t) || BASE64URL.test(t))) throw new Problem("expected bytes as base64");
      return t;
    case "string":
      return text;
  }
  throw new Problem(`cannot be given as text (${f.kind})`);
}

/** The value the TTC sees when a top-level field is left out, and whether the declared rules take it. */
function checkDefault(f: FieldSpec): void {
  if (!f.top) return;
  if (f.kind === "integer" || f.kind === "int64" || f.kind === "number") {
    if (f.nonZero) throw new Problem("required (0, the default, is not allowed)");
    const lo = f.min === undefined ? undefined : Number(f.min);
    const hi = f.max === undefined ? undefined : Number(f.max);
    if (lo !== undefined && 0 < lo) throw new Problem(`required (0, the default, is below the minimum ${f.min})`);
    if (hi !== undefined && 0 > hi) throw new Problem(`required (0, the default, is above the maximum ${f.max})`);
  }
  if (f.kind === "choice" && !f.options?.includes("")) throw new Problem(`required: one of ${f.options?.join(", ") ?? ""}`);
}

/** JSON.parse that refuses __proto__ and constructor.prototype, as the gateway does. */
export function parseJsonSafely(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (typeof text !== "string") return { ok: false, message: "expected JSON text" };
  if (text.length > MAX_FIELD_CHARS) return { ok: false, message: `longer than ${MAX_FIELD_CHARS} characters` };
  try {
    const value: unknown = JSON.parse(text, (key, v: unknown) => {
      if (key === "__proto__") throw new Problem("a __proto__ property is not accepted");
      if (key === "constructor" && isObject(v) && Object.prototype.hasOwnProperty.call(v, "prototype")) throw new Problem("a constructor.prototype property is not accepted");
      return v;
    });
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Problem) return { ok: false, message: err.message };
    return { ok: false, message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Checks a JSON value against the subset of JSON Schema the gateway's argument schemas use. Returns the first problem as "path: reason", or undefined. */
export function checkJson(schema: unknown, value: unknown, path: string, depth = 0, nullMeansUnset = true): string | undefined {
  if (depth > MAX_JSON_DEPTH) return `${path}: nested deeper than ${MAX_JSON_DEPTH}`;
  if (!isObject(schema)) return undefined;
  // A field set to null is not set, as the gateway reads it; an item of a list or a map's value has no "unset".
  if (value === null) return nullMeansUnset ? undefined : `${path}: null is not a value here (a list item or a map value must be given)`;
  const anyOf = Array.isArray(schema["anyOf"]) ? (schema["anyOf"] as unknown[]) : undefined;
  if (anyOf) {
    const problems = anyOf.map((s) => checkJson(s, value, path, depth + 1, nullMeansUnset));
    if (problems.some((p) => p === undefined)) return undefined;
    // The reason from the branch of the value's own JSON type says most ("12x" is a malformed number string, not "not an integer").
    const jsonType = typeof value === "number" ? ["integer", "number"] : [typeof value === "object" ? (Array.isArray(value) ? "array" : "object") : typeof value];
    const own = anyOf.findIndex((s) => isObject(s) && jsonType.includes(String(s["type"])));
    return problems[own >= 0 ? own : 0] ?? `${path}: not an accepted value`;
  }
  const type = schema["type"];
  switch (type) {
    case "object": {
      if (!isObject(value)) return `${path}: expected an object`;
      const props = isObject(schema["properties"]) ? schema["properties"] : {};
      for (const [k, v] of Object.entries(value)) {
        if (Object.prototype.hasOwnProperty.call(props, k)) {
          const p = checkJson(props[k], v, `${path}.${k}`, depth + 1);
          if (p) return p;
        } else if (schema["additionalProperties"] === false) {
          return `${path}.${k}: unknown field (expected ${Object.keys(props).join(", ") || "none"})`;
        } else if (isObject(schema["additionalProperties"])) {
          const p = checkJson(schema["additionalProperties"], v, `${path}[${JSON.stringify(k.slice(0, 40))}]`, depth + 1, false);
          if (p) return p;
        }
      }
      return undefined;
    }
    case "array": {
      if (!Array.isArray(value)) return `${path}: expected an array`;
      for (let i = 0; i < value.length; i++) {
        const p = checkJson(schema["items"], value[i], `${path}[${i}]`, depth + 1, false);
        if (p) return p;
      }
      return undefined;
    }
    case "integer":
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return `${path}: expected ${type === "integer" ? "a whole number" : "a number"}`;
      if (type === "integer" && !Number.isInteger(value)) return `${path}: expected a whole number, got ${value}`;
      const min = numberOr(schema["minimum"]);
      const max = numberOr(schema["maximum"]);
      if (min !== undefined && value < min) return `${path}: ${value} is below the minimum ${min}`;
      if (max !== undefined && value > max) return `${path}: ${value} is above the maximum ${max}`;
      const e = schema["enum"];
      if (Array.isArray(e) && !e.includes(value)) return `${path}: ${value} is not one of ${e.join(", ")}`;
      return undefined;
    }
    case "string": {
      if (typeof value !== "string") return `${path}: expected a string`;
      const e = strings(schema["enum"]);
      if (e && !e.includes(value)) return `${path}: ${show(value)} is not one of ${e.join(", ")}`;
      if (typeof schema["pattern"] === "string") {
        let re: RegExp | undefined;
        try {
          re = new RegExp(schema["pattern"]);
        } catch {
          re = undefined;
        }
        if (re && !re.test(value)) return `${path}: ${show(value)} does not have the expected form`;
      }
      if (schema["contentEncoding"] === "base64" && !(BASE64.test(value) || BASE64URL.test(value))) return `${path}: expected bytes as base64`;
      return undefined;
    }
    case "boolean":
      return typeof value === "boolean" ? undefined : `${path}: expected true or false`;
  }
  return undefined;
}

function textOf(raw: unknown): string {
  if (raw === undefined || raw === null) return "";
  if (typeof raw === "string") {
    if (raw.length > MAX_FIELD_CHARS) throw new Problem(`longer than ${MAX_FIELD_CHARS} characters`);
    return raw;
  }
  if (typeof raw === "number" && Number.isFinite(raw)) return String(raw);
  if (typeof raw === "boolean") return String(raw);
  throw new Problem("expected text");
}

/** One field's value from the form, or undefined to leave it out. */
function valueOf(f: FieldSpec, raw: RawForm, errors: FieldError[]): unknown {
  try {
    switch (f.kind) {
      case "group": {
        const out: Record<string, unknown> = {};
        for (const child of f.fields ?? []) {
          const v = valueOf(child, raw, errors);
          if (v !== undefined) out[child.name] = v;
        }
        return Object.keys(out).length ? out : undefined;
      }
      case "boolean": {
        const r = raw[f.path];
        if (r === undefined || r === null || r === "") return f.top ? false : undefined;
        if (typeof r === "boolean") return r;
        return scalarFromText(f, textOf(r));
      }
      case "list": {
        const text = textOf(raw[f.path]).trim();
        if (!text) return undefined;
        if (text.startsWith("[")) {
          // A JSON array: each item checked as JSON against the item's schema.
          const parsed = parseJsonSafely(text);
          if (!parsed.ok) throw new Problem(parsed.message);
          if (!Array.isArray(parsed.value)) throw new Problem("expected a JSON array");
          const p = checkJson(f.schema, parsed.value, f.path);
          if (p) throw new Problem(p, true);
          return parsed.value;
        }
        const items = text.split(",").map((s) => s.trim());
        if (items.length > 10_000) throw new Problem("more than 10000 items");
        return items.map((item, i) => {
          try {
            if (item === "") throw new Problem("is empty (give a JSON array for empty strings)");
            return scalarFromText(f.item!, item);
          } catch (err) {
            if (err instanceof Problem) throw new Problem(`item ${i + 1}: ${err.message}`);
            throw err;
          }
        });
      }
      case "json": {
        const text = textOf(raw[f.path]).trim();
        if (!text) return undefined;
        const parsed = parseJsonSafely(text);
        if (!parsed.ok) throw new Problem(parsed.message);
        const p = checkJson(f.schema, parsed.value, f.path);
        if (p) throw new Problem(p, true);
        return parsed.value;
      }
      default: {
        const text = textOf(raw[f.path]);
        if (f.kind === "string") return text === "" ? undefined : text;
        if (text.trim() === "") {
          checkDefault(f);
          return undefined;
        }
        return scalarFromText(f, text);
      }
    }
  } catch (err) {
    if (!(err instanceof Problem)) throw err;
    errors.push({ path: f.path, message: err.whole ? err.message : `${f.path}: ${err.message}` });
    return undefined;
  }
}

/**
 * The arguments JSON for POST /api/commands from what the form holds, or
 * every problem found (each "path: reason"). Fields left empty are left out
 * (the protobuf default), except where the declared rules refuse the default.
 */
export function parseArguments(fields: readonly FieldSpec[], raw: unknown): ParsedArguments {
  const form: RawForm = isObject(raw) ? raw : {};
  const errors: FieldError[] = [];
  const args: Record<string, unknown> = {};
  for (const f of fields) {
    let v: unknown;
    try {
      v = valueOf(f, form, errors);
    } catch (err) {
      // Not expected: still a reason, never an exception.
      errors.push({ path: f.path, message: `${f.path}: could not be read (${err instanceof Error ? err.message : String(err)})` });
      continue;
    }
    if (v !== undefined) Object.defineProperty(args, f.name, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return errors.length ? { ok: false, errors } : { ok: true, args };
}
