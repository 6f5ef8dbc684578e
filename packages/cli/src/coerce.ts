// Typing telecommand arguments from the dictionary's JSON Schema of the
// argument message (pure). `key=value` pairs from the command line are typed
// (integers, numbers, booleans, strings, enums, 64-bit integers as decimal
// strings) and checked (unknown field, wrong type, out of range) before
// anything is sent; a JSON document from --args is checked the same way.
import { UsageError } from "./errors.js";

/** The part of JSON Schema the gateway's argument schemas use. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  not?: JsonSchema;
  format?: string;
  pattern?: string;
  minimum?: number | string;
  maximum?: number | string;
  exclusiveMinimum?: number | string;
  exclusiveMaximum?: number | string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  default?: unknown;
  unit?: string;
  [extension: string]: unknown;
}

export type ArgValue = string | number | boolean | null | ArgValue[] | { [k: string]: ArgValue };

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const UINT64 = { min: 0n, max: 2n ** 64n - 1n };

function types(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === "string") return [schema.type];
  if (schema.properties) return ["object"];
  if (schema.enum) return [...new Set(schema.enum.map((e) => (typeof e === "number" ? (Number.isInteger(e) ? "integer" : "number") : typeof e)))];
  return [];
}

const SIXTY_FOUR_BIT = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const UNSIGNED_64 = new Set(["uint64", "fixed64"]);

/** A 64-bit integer: sent as a decimal string, so no digit is lost (protobuf's JSON mapping). */
function is64(schema: JsonSchema): boolean {
  return typeof schema.format === "string" && SIXTY_FOUR_BIT.has(schema.format);
}

function bounds64(schema: JsonSchema): { min: bigint; max: bigint } {
  return UNSIGNED_64.has(schema.format ?? "") ? UINT64 : INT64;
}

/** The declared range of a 64-bit field: the x-minimum/x-maximum the gateway adds (its anyOf carries only the safe-integer range). */
function range64(schema: JsonSchema): JsonSchema {
  const r: JsonSchema = {};
  const min = schema["x-minimum"] ?? schema.minimum;
  const max = schema["x-maximum"] ?? schema.maximum;
  if (typeof min === "number" || typeof min === "string") r.minimum = typeof min === "number" ? Math.ceil(min) : min;
  if (typeof max === "number" || typeof max === "string") r.maximum = typeof max === "number" ? Math.floor(max) : max;
  return r;
}

/** Declared not-zero (the gateway's x-nonZero, or not: { const: 0 }). */
function nonZero(schema: JsonSchema): boolean {
  return schema["x-nonZero"] === true || schema.not?.const === 0;
}

function big(v: number | string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  try {
    return BigInt(v);
  } catch {
    return undefined;
  }
}

const withArticle = (text: string) => `${/^[aeiou]/i.test(text) ? "an" : "a"} ${text}`;

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));

/** "integer", "number 0..1", "int64 as a decimal string", ... for messages and the dictionary listing. */
export function describeType(schemaIn: JsonSchema): string {
  const schema = pick(schemaIn);
  if (schema.enum) return `one of ${schema.enum.map(String).join(", ")}`;
  const t = types(schema);
  if (is64(schema)) return UNSIGNED_64.has(schema.format ?? "") ? "unsigned 64-bit integer" : "64-bit integer";
  if (t.includes("array")) return `list of ${schema.items ? describeType(schema.items) : "values"}`;
  if (t.includes("object")) return "object";
  if (t.includes("integer")) return "integer";
  if (t.includes("number")) return "number";
  if (t.includes("boolean")) return "boolean (true/false)";
  if (t.includes("string")) return schema.format === "byte" || schema.contentEncoding === "base64" ? "bytes (base64)" : "string";
  return "value";
}

/** The range of a numeric schema, as "-1000..1000", ">= 1", or "" when unbounded. */
export function describeRange(schemaIn: JsonSchema): string {
  const picked = pick(schemaIn);
  if (picked.enum) return "";
  const schema = is64(picked) ? { ...range64(picked), "x-nonZero": nonZero(picked) } : picked;
  const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? `>${schema.exclusiveMinimum}` : undefined);
  const hi = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? `<${schema.exclusiveMaximum}` : undefined);
  let range = "";
  if (lo !== undefined && hi !== undefined) range = `${lo}..${hi}`;
  else if (lo !== undefined) range = typeof lo === "string" && lo.startsWith(">") ? lo : `>= ${lo}`;
  else if (hi !== undefined) range = typeof hi === "string" && hi.startsWith("<") ? hi : `<= ${hi}`;
  if (schema.minLength !== undefined || schema.maxLength !== undefined) range = `length ${schema.minLength ?? 0}..${schema.maxLength ?? "∞"}`;
  const not = nonZero(schema) ? "not 0" : schema.not?.const !== undefined ? `not ${show(schema.not.const)}` : schema.not?.enum ? `not ${schema.not.enum.map(show).join("/")}` : "";
  return [range, not].filter(Boolean).join(", ");
}

function checkNumberRange(path: string, value: number | bigint, schema: JsonSchema): void {
  const n = typeof value === "bigint" ? value : value;
  const cmp = (limit: number | string | undefined): number | bigint | undefined => {
    if (limit === undefined) return undefined;
    if (typeof n === "bigint") return big(limit);
    return typeof limit === "number" ? limit : Number(limit);
  };
  const min = cmp(schema.minimum);
  const max = cmp(schema.maximum);
  const xmin = cmp(schema.exclusiveMinimum);
  const xmax = cmp(schema.exclusiveMaximum);
  if (min !== undefined && n < min) throw new UsageError(`${path}: ${n} is below the minimum ${min}`);
  if (max !== undefined && n > max) throw new UsageError(`${path}: ${n} is above the maximum ${max}`);
  if (xmin !== undefined && n <= xmin) throw new UsageError(`${path}: ${n} must be above ${xmin}`);
  if (xmax !== undefined && n >= xmax) throw new UsageError(`${path}: ${n} must be below ${xmax}`);
}

function checkNot(path: string, value: ArgValue, schema: JsonSchema): void {
  const not = schema.not;
  if (!not) return;
  const same = (a: unknown) => a === value || (typeof value === "string" && typeof a === "number" && value === String(a));
  if (not.const !== undefined && same(not.const)) throw new UsageError(`${path}: must not be ${show(not.const)}`);
  if (not.enum?.some(same)) throw new UsageError(`${path}: must not be ${show(value)}`);
}

/** An enum value: exact, or a unique case-insensitive match of the whole name or of its last words ("class_counts" for SUMMARY_KIND_CLASS_COUNTS). */
function matchEnum(path: string, raw: unknown, options: unknown[]): ArgValue {
  if (options.some((o) => o === raw)) return raw as ArgValue;
  if (typeof raw === "string") {
    const lower = raw.toLowerCase();
    const byName = options.filter((o) => typeof o === "string" && (o.toLowerCase() === lower || o.toLowerCase().endsWith(`_${lower}`)));
    if (byName.length === 1) return byName[0] as ArgValue;
    const asNumber = options.filter((o) => typeof o === "number" && String(o) === raw);
    if (asNumber.length === 1) return asNumber[0] as ArgValue;
    if (byName.length > 1) throw new UsageError(`${path}: ${JSON.stringify(raw)} is ambiguous: it could be ${byName.map(String).join(", ")}`);
  }
  throw new UsageError(`${path}: ${show(raw)} is not one of ${options.map(String).join(", ")}`);
}

function pick(schema: JsonSchema): JsonSchema {
  const alts = schema.oneOf ?? schema.anyOf;
  // A protobuf enum: its value names or their numbers, one list.
  if (alts && !schema.type && alts.length > 0 && alts.every((a) => Array.isArray(a.enum))) {
    return { ...schema, enum: alts.flatMap((a) => a.enum ?? []), oneOf: undefined, anyOf: undefined } as JsonSchema;
  }
  // A oneOf/anyOf of a type and null (an optional field) is taken as the type.
  if (alts && !schema.type && !is64(schema)) {
    const real = alts.filter((a) => a.type !== "null");
    if (real.length === 1) return { ...schema, ...real[0], oneOf: undefined, anyOf: undefined } as JsonSchema;
  }
  return schema;
}

/**
 * Checks and normalises one value against its schema. Strings from the
 * command line are typed (`fromText`); JSON values must already have the
 * right type, except that 64-bit integers may be given as safe JSON numbers.
 */
export function checkValue(path: string, raw: unknown, schemaIn: JsonSchema, fromText = false): ArgValue {
  const schema = pick(schemaIn);
  if (schema.enum) {
    const v = matchEnum(path, raw, schema.enum);
    checkNot(path, v, schema);
    return v;
  }
  if (schema.const !== undefined && raw !== schema.const) throw new UsageError(`${path}: must be ${show(schema.const)}`);
  const t = types(schema);
  if (raw === null && t.includes("null")) return null;
  if (is64(schema)) {
    let text: string;
    if (typeof raw === "string") text = raw.trim();
    else if (typeof raw === "number" && Number.isSafeInteger(raw)) text = String(raw);
    else throw new UsageError(`${path}: expected ${withArticle(describeType(schema))}, got ${show(raw)}`);
    if (!/^[-+]?\d+$/.test(text)) throw new UsageError(`${path}: expected ${withArticle(describeType(schema))}, got ${show(raw)}`);
    const n = BigInt(text);
    const { min, max } = bounds64(schema);
    if (n < min || n > max) throw new UsageError(`${path}: ${n} is out of range for ${withArticle(describeType(schema))} (${min}..${max})`);
    checkNumberRange(path, n, range64(schema));
    if (n === 0n && nonZero(schema)) throw new UsageError(`${path}: must not be 0`);
    return n.toString();
  }
  if (t.includes("integer") || t.includes("number")) {
    let n: number;
    if (typeof raw === "number") n = raw;
    else if (fromText && typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw.trim()))) n = Number(raw.trim());
    else if (t.includes("string") && typeof raw === "string") return checkString(path, raw, schema);
    else throw new UsageError(`${path}: expected ${t.includes("integer") ? "an integer" : "a number"}, got ${show(raw)}`);
    if (!Number.isFinite(n)) throw new UsageError(`${path}: expected a finite number, got ${show(raw)}`);
    if (t.includes("integer") && !t.includes("number") && !Number.isInteger(n)) throw new UsageError(`${path}: expected an integer, got ${show(raw)}`);
    if (t.includes("integer") && !t.includes("number") && !Number.isSafeInteger(n)) throw new UsageError(`${path}: ${show(raw)} is too large for an exact integer`);
    checkNumberRange(path, n, schema);
    checkNot(path, n, schema);
    return n;
  }
  if (t.includes("boolean")) {
    if (typeof raw === "boolean") return raw;
    if (fromText && typeof raw === "string") {
      const b = raw.trim().toLowerCase();
      if (["true", "yes", "on", "1"].includes(b)) return true;
      if (["false", "no", "off", "0"].includes(b)) return false;
    }
    throw new UsageError(`${path}: expected true or false, got ${show(raw)}`);
  }
  if (t.includes("array")) {
    let items: unknown[];
    if (Array.isArray(raw)) items = raw;
    else if (fromText && typeof raw === "string") items = raw.trim().startsWith("[") ? (parseJson(path, raw) as unknown[]) : raw === "" ? [] : raw.split(",");
    else throw new UsageError(`${path}: expected a list, got ${show(raw)}`);
    if (!Array.isArray(items)) throw new UsageError(`${path}: expected a list, got ${show(raw)}`);
    if (schema.minItems !== undefined && items.length < schema.minItems) throw new UsageError(`${path}: needs at least ${schema.minItems} item(s), got ${items.length}`);
    if (schema.maxItems !== undefined && items.length > schema.maxItems) throw new UsageError(`${path}: takes at most ${schema.maxItems} item(s), got ${items.length}`);
    const itemSchema = schema.items ?? {};
    return items.map((item, i) => checkValue(`${path}[${i}]`, typeof item === "string" ? item.trim() : item, itemSchema, fromText && typeof item === "string"));
  }
  if (t.includes("object")) {
    const value = fromText && typeof raw === "string" ? parseJson(path, raw) : raw;
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${path}: expected an object, got ${show(raw)}`);
    return checkObject(path, value as Record<string, unknown>, schema, false);
  }
  if (t.includes("string")) {
    if (typeof raw !== "string") throw new UsageError(`${path}: expected a string, got ${show(raw)}`);
    return checkString(path, raw, schema);
  }
  // No type: take it as it is (JSON) or as text.
  return raw as ArgValue;
}

function checkString(path: string, raw: string, schema: JsonSchema): string {
  const length = [...raw].length;
  if (schema.minLength !== undefined && length < schema.minLength) throw new UsageError(`${path}: must be at least ${schema.minLength} character(s), got ${length}`);
  if (schema.maxLength !== undefined && length > schema.maxLength) throw new UsageError(`${path}: must be at most ${schema.maxLength} character(s), got ${length}`);
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(raw)) throw new UsageError(`${path}: ${JSON.stringify(raw)} does not match ${schema.pattern}`);
  checkNot(path, raw, schema);
  return raw;
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Protobuf oneofs (the gateway's x-oneofs): at most one member of each may be set. */
function checkOneofs(path: string, value: Record<string, unknown>, schema: JsonSchema): void {
  const oneofs = schema["x-oneofs"];
  if (!oneofs || typeof oneofs !== "object") return;
  for (const [name, members] of Object.entries(oneofs as Record<string, unknown>)) {
    if (!Array.isArray(members)) continue;
    const set = members.filter((m): m is string => typeof m === "string" && m in value);
    if (set.length > 1) throw new UsageError(`${path ? `${path}: ` : ""}give at most one of ${set.join(", ")} (they are the oneof ${name})`);
  }
}

function fieldNames(schema: JsonSchema): string[] {
  return Object.keys(schema.properties ?? {});
}

function unknownField(path: string, name: string, schema: JsonSchema, what: string): UsageError {
  const names = fieldNames(schema);
  const prefix = path ? `${path}.` : "";
  return new UsageError(`${what} has no argument ${JSON.stringify(prefix + name)} (${names.length ? `its arguments: ${names.map((n) => prefix + n).join(", ")}` : "it takes no arguments"})`);
}

function checkObject(path: string, value: Record<string, unknown>, schema: JsonSchema, fromText: boolean, what = path || "the command"): { [k: string]: ArgValue } {
  const props = schema.properties ?? {};
  const out: { [k: string]: ArgValue } = {};
  for (const [name, v] of Object.entries(value)) {
    const sub = props[name];
    const at = path ? `${path}.${name}` : name;
    if (!sub) {
      if (schema.additionalProperties === false || schema.properties) throw unknownField(path, name, schema, what);
      // A map field: its values have one schema.
      out[name] = typeof schema.additionalProperties === "object" ? checkValue(at, v, schema.additionalProperties, fromText) : (v as ArgValue);
      continue;
    }
    out[name] = checkValue(at, v, sub, fromText);
  }
  checkOneofs(path, out, schema);
  for (const name of schema.required ?? []) {
    if (!(name in out)) throw new UsageError(`${what} needs the argument ${JSON.stringify(path ? `${path}.${name}` : name)} (${describeType(props[name] ?? {})})`);
  }
  return out;
}

/** A `key=value` pair split at its first "="; keys may be dotted for nested messages (output.summary=...). */
export function splitPair(pair: string): { key: string; value: string } {
  const eq = pair.indexOf("=");
  if (eq <= 0) throw new UsageError(`argument ${JSON.stringify(pair)} must be key=value`);
  return { key: pair.slice(0, eq).trim(), value: pair.slice(eq + 1) };
}

/**
 * The arguments of `what` (e.g. "counter.add") from key=value pairs and/or
 * a JSON object (--args), typed and checked against the argument schema.
 * Pairs override fields of the JSON object. Throws a UsageError naming the
 * field for an unknown field, a wrong type or a value out of range.
 */
export function coerceArguments(schema: JsonSchema | undefined, pairs: readonly string[], json: string | undefined, what: string): Record<string, ArgValue> {
  const root: JsonSchema = schema ?? { type: "object", properties: {} };
  let base: Record<string, unknown> = {};
  if (json !== undefined) {
    const parsed = parseJson("--args", json);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError(`--args must be a JSON object, e.g. '{"amount": 5}'`);
    base = parsed as Record<string, unknown>;
  }
  const checked = checkObject("", base, { ...root, required: [] }, false, what);
  const seen = new Set<string>();
  for (const pair of pairs) {
    const { key, value } = splitPair(pair);
    if (seen.has(key)) throw new UsageError(`argument ${JSON.stringify(key)} is given twice`);
    seen.add(key);
    const parts = key.split(".");
    let schemaAt = root;
    let target: Record<string, ArgValue> = checked;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const path = parts.slice(0, i).join(".");
      const sub = pick(schemaAt).properties?.[name];
      if (!sub) throw unknownField(path, name, pick(schemaAt), what);
      if (i === parts.length - 1) {
        target[name] = checkValue(key, value, sub, true);
      } else {
        const next = target[name];
        if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) target[name] = {};
        target = target[name] as Record<string, ArgValue>;
        schemaAt = sub;
      }
    }
  }
  checkOneofs("", checked, root);
  for (const name of root.required ?? []) {
    if (!(name in checked)) throw new UsageError(`${what} needs the argument ${JSON.stringify(name)} (${describeType(root.properties?.[name] ?? {})})`);
  }
  return checked;
}
