// The schema walker validate.ts used before it compiled a checker per type,
// kept as the reference model: validate.test.ts checks that the compiled
// checkers give the same answer, word for word, on generated values.
import protobuf from "protobufjs/light.js";
import descriptor from "../../generated/descriptor.js";

const root = protobuf.Root.fromJSON(descriptor);
root.resolveAll();

const INT32: [bigint, bigint] = [-(2n ** 31n), 2n ** 31n - 1n];
const UINT32: [bigint, bigint] = [0n, 2n ** 32n - 1n];
const INT64: [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64: [bigint, bigint] = [0n, 2n ** 64n - 1n];

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  int32: INT32,
  sint32: INT32,
  sfixed32: INT32,
  uint32: UINT32,
  fixed32: UINT32,
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: UINT64,
  fixed64: UINT64,
};
const SIXTY_FOUR = new Set(["int64", "sint64", "sfixed64", "uint64", "fixed64"]);
const MAX_DEPTH = 32;

function show(value: unknown): string {
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  if (typeof value === "bigint") return `bigint ${value}`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  return `${typeof value} ${typeof value === "object" ? "" : String(value)}`.trim();
}

function checkScalar(type: string, resolved: protobuf.ReflectionObject | null, value: unknown, path: string, depth: number): string | undefined {
  const range = INTEGER_RANGES[type];
  if (range) {
    let n: bigint;
    if (typeof value === "bigint") {
      if (!SIXTY_FOUR.has(type)) return `${path}: expected a number (${type}), got ${show(value)}`;
      n = value;
    } else if (typeof value === "number" && Number.isInteger(value)) {
      if (SIXTY_FOUR.has(type) && !Number.isSafeInteger(value)) return `${path}: ${value} is not a safe integer; give a ${type} as bigint`;
      n = BigInt(value);
    } else {
      return `${path}: expected an integer (${type}), got ${show(value)}`;
    }
    if (n < range[0] || n > range[1]) return `${path}: ${n} is out of range for ${type}`;
    return undefined;
  }
  switch (type) {
    case "double":
    case "float":
      return typeof value === "number" ? undefined : `${path}: expected a number (${type}), got ${show(value)}`;
    case "bool":
      return typeof value === "boolean" ? undefined : `${path}: expected a boolean, got ${show(value)}`;
    case "string":
      return typeof value === "string" ? undefined : `${path}: expected a string, got ${show(value)}`;
    case "bytes":
      return value instanceof Uint8Array ? undefined : `${path}: expected bytes (Uint8Array), got ${show(value)}`;
  }
  if (resolved instanceof protobuf.Enum) {
    if (typeof value !== "number" || !Number.isInteger(value)) return `${path}: expected a ${resolved.name} value, got ${show(value)}`;
    return Object.values(resolved.values).includes(value) ? undefined : `${path}: ${value} is not a ${resolved.name} value`;
  }
  if (resolved instanceof protobuf.Type) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
      return `${path}: expected a ${resolved.name} message, got ${show(value)}`;
    }
    return checkMessage(resolved, value as Record<string, unknown>, path, depth + 1);
  }
  return `${path}: unsupported field type ${type}`;
}

function checkMessage(type: protobuf.Type, value: Record<string, unknown>, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${path || type.name}: nested deeper than ${MAX_DEPTH}`;
  const prefix = path ? `${path}.` : "";
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    const field = type.fields[key];
    if (!field) {
      const oneof = type.oneofs?.[key];
      if (oneof) {
        if (typeof v !== "string" || !oneof.oneof.includes(v)) return `${prefix}${key}: must name one of ${oneof.oneof.join(", ")}`;
        continue;
      }
      return `${prefix}${key}: ${type.name} has no such field`;
    }
    const here = `${prefix}${key}`;
    if (field instanceof protobuf.MapField) {
      if (typeof v !== "object" || Array.isArray(v)) return `${here}: expected a map (plain object), got ${show(v)}`;
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        if (field.keyType !== "string" && field.keyType !== "bool" && !/^-?\d+$/.test(k)) return `${here}[${k}]: key is not an integer`;
        const problem = checkScalar(field.type, field.resolvedType, item, `${here}[${JSON.stringify(k)}]`, depth);
        if (problem) return problem;
      }
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) return `${here}: expected an array, got ${show(v)}`;
      for (let i = 0; i < v.length; i++) {
        const problem = checkScalar(field.type, field.resolvedType, v[i], `${here}[${i}]`, depth);
        if (problem) return problem;
      }
      continue;
    }
    const problem = checkScalar(field.type, field.resolvedType, v, here, depth);
    if (problem) return problem;
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => value[name] !== undefined && value[name] !== null);
    if (set.length > 1) return `${prefix}${oneof.name}: only one of ${set.join(", ")} may be set`;
  }
  return undefined;
}

// Name lookups walk the namespace tree; every publish validates, so remember them.
const types = new Map<string, protobuf.Type | null>();

function typeFor(typeName: string): protobuf.Type | null {
  let type = types.get(typeName);
  if (type === undefined) {
    try {
      type = root.lookupType(typeName);
    } catch {
      type = null;
    }
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
