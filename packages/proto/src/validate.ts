// Checks a value against its message type before encoding. The static code
// pbjs generates coerces silently (-1 into a uint64 becomes 2^64-1, 1.5 into an
// int becomes 1, a string "12" becomes 12, an unknown enum number goes out as
// is), so a publisher's mistake would reach the wire as a plausible number.
// This names the first bad field instead.
//
// Every publish on the bus runs this, so each message type's schema is turned
// once into a table of per-field check functions (compiled on first use) rather
// than walked by name on every call; a field's path is only spelled out when
// there is a problem to report.
import protobuf from "protobufjs/light.js";
import { reflectedType } from "./schema.js";
import { INTEGER_RANGES, isSixtyFourBit } from "./scalars.js";

const MAX_DEPTH = 32;

/** Checks one value; `path` names it in the message, `depth` is its nesting. */
type Check = (value: unknown, path: string, depth: number) => string | undefined;

interface CompiledType {
  readonly name: string;
  /** Field name (as in the generated code, camelCase) to its check. */
  readonly fields: Map<string, Check>;
  /** Oneof name to its member field names (the oneof's own name may be given to say which is set). */
  readonly oneofs: Map<string, readonly string[]>;
}

function show(value: unknown): string {
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  if (typeof value === "bigint") return `bigint ${value}`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  return `${typeof value} ${typeof value === "object" ? "" : String(value)}`.trim();
}

/** Integers up to 32 bits: numbers only, compared as numbers. */
function int32Check(type: string, min: number, max: number): Check {
  return (v, path) => {
    if (typeof v === "number" && Number.isInteger(v)) {
      return v >= min && v <= max ? undefined : `${path}: ${BigInt(v)} is out of range for ${type}`;
    }
    if (typeof v === "bigint") return `${path}: expected a number (${type}), got ${show(v)}`;
    return `${path}: expected an integer (${type}), got ${show(v)}`;
  };
}

/** 64-bit integers: a bigint in range, or a safe integer number. */
function int64Check(type: string, min: bigint, max: bigint): Check {
  const minNumber = Number(min);
  return (v, path) => {
    if (typeof v === "bigint") return v >= min && v <= max ? undefined : `${path}: ${v} is out of range for ${type}`;
    if (typeof v === "number" && Number.isInteger(v)) {
      if (!Number.isSafeInteger(v)) return `${path}: ${v} is not a safe integer; give a ${type} as bigint`;
      // A safe integer is below every 64-bit maximum; only the unsigned minimum (0) can be crossed.
      return v >= minNumber ? undefined : `${path}: ${BigInt(v)} is out of range for ${type}`;
    }
    return `${path}: expected an integer (${type}), got ${show(v)}`;
  };
}

const SCALAR_CHECKS: Record<string, Check> = {
  ...Object.fromEntries(
    Object.entries(INTEGER_RANGES).map(([type, [min, max]]) => [
      type,
      isSixtyFourBit(type) ? int64Check(type, min, max) : int32Check(type, Number(min), Number(max)),
    ]),
  ),
  double: (v, path) => (typeof v === "number" ? undefined : `${path}: expected a number (double), got ${show(v)}`),
  float: (v, path) => (typeof v === "number" ? undefined : `${path}: expected a number (float), got ${show(v)}`),
  bool: (v, path) => (typeof v === "boolean" ? undefined : `${path}: expected a boolean, got ${show(v)}`),
  string: (v, path) => (typeof v === "string" ? undefined : `${path}: expected a string, got ${show(v)}`),
  bytes: (v, path) => (v instanceof Uint8Array ? undefined : `${path}: expected bytes (Uint8Array), got ${show(v)}`),
};

function enumCheck(e: protobuf.Enum): Check {
  const values = new Set(Object.values(e.values));
  return (v, path) => {
    if (typeof v !== "number" || !Number.isInteger(v)) return `${path}: expected a ${e.name} value, got ${show(v)}`;
    return values.has(v) ? undefined : `${path}: ${v} is not a ${e.name} value`;
  };
}

function messageCheck(type: protobuf.Type): Check {
  // Resolved on first use, so recursive types compile.
  let compiled: CompiledType | undefined;
  return (v, path, depth) => {
    if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array) {
      return `${path}: expected a ${type.name} message, got ${show(v)}`;
    }
    compiled ??= compile(type);
    return checkMessage(compiled, v as Record<string, unknown>, path, depth + 1);
  };
}

/** The check for one value of a field's element type (a scalar, an enum or a message). */
function elementCheck(type: string, resolved: protobuf.ReflectionObject | null): Check {
  const scalar = SCALAR_CHECKS[type];
  if (scalar) return scalar;
  if (resolved instanceof protobuf.Enum) return enumCheck(resolved);
  if (resolved instanceof protobuf.Type) return messageCheck(resolved);
  return (_v, path) => `${path}: unsupported field type ${type}`;
}

function fieldCheck(field: protobuf.Field): Check {
  const element = elementCheck(field.type, field.resolvedType);
  if (field instanceof protobuf.MapField) {
    const integerKeys = field.keyType !== "string" && field.keyType !== "bool";
    return (v, path, depth) => {
      if (typeof v !== "object" || Array.isArray(v)) return `${path}: expected a map (plain object), got ${show(v)}`;
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        if (integerKeys && !/^-?\d+$/.test(k)) return `${path}[${k}]: key is not an integer`;
        const problem = element(item, `${path}[${JSON.stringify(k)}]`, depth);
        if (problem) return problem;
      }
      return undefined;
    };
  }
  if (field.repeated) {
    return (v, path, depth) => {
      if (!Array.isArray(v)) return `${path}: expected an array, got ${show(v)}`;
      for (let i = 0; i < v.length; i++) {
        // The element's path is only built when it is wrong (then checked again to name it).
        if (element(v[i], "", depth) !== undefined) return element(v[i], `${path}[${i}]`, depth);
      }
      return undefined;
    };
  }
  return element;
}

function compile(type: protobuf.Type): CompiledType {
  const fields = new Map<string, Check>();
  for (const [name, field] of Object.entries(type.fields)) fields.set(name, fieldCheck(field));
  const oneofs = new Map<string, readonly string[]>();
  for (const oneof of type.oneofsArray) oneofs.set(oneof.name, oneof.oneof);
  return { name: type.name, fields, oneofs };
}

function checkMessage(type: CompiledType, value: Record<string, unknown>, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${path || type.name}: nested deeper than ${MAX_DEPTH}`;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const v = value[key];
    if (v === undefined || v === null) continue;
    const check = type.fields.get(key);
    if (!check) {
      const members = type.oneofs.get(key);
      if (members) {
        if (typeof v !== "string" || !members.includes(v)) return `${path ? `${path}.` : ""}${key}: must name one of ${members.join(", ")}`;
        continue;
      }
      return `${path ? `${path}.` : ""}${key}: ${type.name} has no such field`;
    }
    // Checked once without a path; only a problem is worth spelling the path for.
    if (check(v, key, depth) !== undefined) return check(v, path ? `${path}.${key}` : key, depth);
  }
  for (const [name, members] of type.oneofs) {
    let set = 0;
    for (const member of members) if (value[member] !== undefined && value[member] !== null) set++;
    if (set > 1) {
      const names = members.filter((m) => value[m] !== undefined && value[m] !== null);
      return `${path ? `${path}.` : ""}${name}: only one of ${names.join(", ")} may be set`;
    }
  }
  return undefined;
}

// Compiled on first use; null marks a name that is not a message type.
const types = new Map<string, CompiledType | null>();

function typeFor(typeName: string): CompiledType | null {
  let type = types.get(typeName);
  if (type === undefined) {
    const reflected = reflectedType(typeName);
    type = reflected ? compile(reflected) : null;
    if (types.size < 10_000) types.set(typeName, type);
  }
  return type;
}

/** Why a value is not a valid instance of the named message type, or undefined if it is. */
export function validateMessage(typeName: string, value: unknown): string | undefined {
  const type = typeFor(typeName);
  if (!type) return `no message type ${typeName}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `message must be an object, got ${show(value)}`;
  return checkMessage(type, value as Record<string, unknown>, "", 0);
}
