// Checks a command's arguments as they come in JSON and turns them into the
// argument message: every field must exist in the message and have the
// right JSON type, integers must fit their protobuf type (64-bit ones as safe
// integers or decimal strings), and the declared argument rules must hold.
// The rules are checked with checkArgumentRules from @umbra/core on the
// message decoded from the very bytes that go into the TC, exactly as the
// TTC will check them, defaults included.
//
// Pure, and it never throws: any input gives either the message or a
// refusal whose text names the field (`args.windows[0].startNs: ...`).
import { checkArgumentRules, type ArgumentRuleSpec } from "@umbra/core";
import { codecByName, integerRange } from "@umbra/proto";
import { SIXTY_FOUR_BIT, type FieldInfo, type ProtoTypes } from "./proto-types.js";

export type ArgumentCheck =
  | { ok: true; init: Record<string, unknown>; encoded: Uint8Array; decoded: Record<string, unknown> }
  | { ok: false; field: string; message: string };

const MAX_DEPTH = 32;

class Refusal {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {}
}

function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function scalar(type: string, value: unknown, path: string): unknown {
  const range = integerRange(type);
  if (range) {
    let n: bigint;
    if (typeof value === "number") {
      if (!Number.isInteger(value)) throw new Refusal(path, `expected an integer (${type}), got ${show(value)}`);
      if (!Number.isSafeInteger(value)) throw new Refusal(path, `${value} is not a safe integer; give it as a decimal string`);
      n = BigInt(value);
    } else if (typeof value === "string" && SIXTY_FOUR_BIT.has(type)) {
      if (!/^-?[0-9]{1,20}$/.test(value)) throw new Refusal(path, `expected an integer (${type}) as a decimal string, got ${show(value)}`);
      n = BigInt(value);
    } else {
      throw new Refusal(path, `expected an integer (${type}), got ${show(value)}`);
    }
    if (n < range[0] || n > range[1]) throw new Refusal(path, `${n} is out of range for ${type} (${range[0]}..${range[1]})`);
    return SIXTY_FOUR_BIT.has(type) ? n : Number(n);
  }
  switch (type) {
    case "double":
    case "float":
      if (typeof value !== "number") throw new Refusal(path, `expected a number, got ${show(value)}`);
      return value;
    case "bool":
      if (typeof value !== "boolean") throw new Refusal(path, `expected true or false, got ${show(value)}`);
      return value;
    case "string":
      if (typeof value !== "string") throw new Refusal(path, `expected a string, got ${show(value)}`);
      return value;
    case "bytes":
      if (typeof value !== "string" || !(BASE64.test(value) || BASE64URL.test(value))) throw new Refusal(path, `expected bytes as a base64 string, got ${show(value)}`);
      return new Uint8Array(Buffer.from(value, BASE64.test(value) ? "base64" : "base64url"));
  }
  throw new Refusal(path, `has an unsupported type ${type}`);
}

function enumValue(types: ProtoTypes, type: string, value: unknown, path: string): number {
  const e = types.enum(type);
  if (!e) throw new Refusal(path, `has an unknown enum type ${type}`);
  if (typeof value === "string") {
    const n = e.values.get(value);
    if (n === undefined) throw new Refusal(path, `${JSON.stringify(value.slice(0, 40))} is not one of ${[...e.values.keys()].join(", ")}`);
    return n;
  }
  if (typeof value === "number" && Number.isInteger(value) && [...e.values.values()].includes(value)) return value;
  throw new Refusal(path, `expected one of ${[...e.values.keys()].join(", ")} (or its number), got ${show(value)}`);
}

function single(types: ProtoTypes, f: FieldInfo, value: unknown, path: string, depth: number): unknown {
  if (f.kind === "scalar") return scalar(f.type, value, path);
  if (f.kind === "enum") return enumValue(types, f.type, value, path);
  return message(types, f.type, value, path, depth + 1);
}

function message(types: ProtoTypes, typeName: string, value: unknown, path: string, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new Refusal(path, `is nested deeper than ${MAX_DEPTH}`);
  const info = types.message(typeName);
  if (!info) throw new Refusal(path, `has an unknown message type ${typeName}`);
  if (!isPlainObject(value)) throw new Refusal(path, `expected an object (${typeName}), got ${show(value)}`);
  const out: Record<string, unknown> = {};
  const setOneofs = new Map<string, string>();
  for (const key of Object.keys(value)) {
    const here = `${path}.${key}`;
    const f = info.fields.get(key);
    if (!f) throw new Refusal(here, `unknown field: ${typeName.split(".").pop()} has ${[...info.fields.keys()].join(", ") || "no fields"}`);
    const v = value[key];
    if (v === null) continue; // null = not set, as in the codecs
    if (f.oneof) {
      const other = setOneofs.get(f.oneof);
      if (other) throw new Refusal(here, `only one of ${other} and ${key} may be set (oneof ${f.oneof})`);
      setOneofs.set(f.oneof, key);
    }
    if (f.keyType) {
      if (!isPlainObject(v)) throw new Refusal(here, `expected an object (map<${f.keyType}, ${f.type.split(".").pop()}>), got ${show(v)}`);
      const map: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        const at = `${here}[${JSON.stringify(k.slice(0, 40))}]`;
        if (f.keyType === "bool" ? k !== "true" && k !== "false" : f.keyType !== "string" && scalarKey(f.keyType, k) === undefined) {
          throw new Refusal(at, `the key is not a ${f.keyType}`);
        }
        map[k] = single(types, f, item, at, depth);
      }
      out[key] = map;
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw new Refusal(here, `expected an array, got ${show(v)}`);
      out[key] = v.map((item, i) => single(types, f, item, `${here}[${i}]`, depth));
    } else {
      out[key] = single(types, f, v, here, depth);
    }
  }
  return out;
}

function scalarKey(type: string, key: string): bigint | undefined {
  const range = integerRange(type);
  if (!range || !/^-?[0-9]{1,20}$/.test(key)) return undefined;
  const n = BigInt(key);
  return n < range[0] || n > range[1] ? undefined : n;
}

/** "field: reason" from the codecs or the rule check, as a refusal under `args`. */
function fromProblem(problem: string): { field: string; message: string } {
  const colon = problem.indexOf(": ");
  const field = colon > 0 ? problem.slice(0, colon) : "";
  const path = field ? `args.${field}` : "args";
  return { field: path, message: `${path}: ${colon > 0 ? problem.slice(colon + 2) : problem}` };
}

/**
 * Checks JSON arguments against a command's argument message and declared
 * rules. Never throws; a refusal names the field (`args.<path>`).
 */
export function checkArguments(types: ProtoTypes, argumentType: string, rules: readonly (readonly [string, ArgumentRuleSpec])[], json: unknown): ArgumentCheck {
  try {
    const init = message(types, argumentType, json === undefined ? {} : json, "args", 0);
    const codec = codecByName(argumentType);
    if (!codec) return { ok: false, field: "args", message: `args: the argument type ${argumentType} is not known to this gateway (built from other schemas?)` };
    let encoded: Uint8Array;
    try {
      encoded = codec.encode(init as never);
    } catch (err) {
      const reason = (err as { reason?: unknown }).reason;
      return { ok: false, ...fromProblem(typeof reason === "string" ? reason : String((err as Error).message)) };
    }
    const decoded = codec.decode(encoded) as Record<string, unknown>;
    const broken = checkArgumentRules(rules, decoded);
    if (broken) return { ok: false, ...fromProblem(broken) };
    return { ok: true, init, encoded, decoded };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, field: err.field, message: `${err.field}: ${err.reason}` };
    // Not expected: still a refusal, never a crash.
    return { ok: false, field: "args", message: `args: could not be checked: ${err instanceof Error ? err.message : String(err)}` };
  }
}
