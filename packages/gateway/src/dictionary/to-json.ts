// A decoded bus message as JSON for the REST API: 64-bit integers as decimal
// strings (JSON numbers would round them), bytes as base64, enum numbers as
// their names. Driven by the message's schema, so any reply can be passed
// through without restating its fields.
import type { ProtoTypes } from "./proto-types.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function scalarToJson(value: unknown): Json {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  return null;
}

function valueToJson(types: ProtoTypes, type: string, kind: "scalar" | "enum" | "message", value: unknown, depth: number): Json {
  if (kind === "scalar") return scalarToJson(value);
  if (kind === "enum") {
    const e = types.enum(type);
    if (e) for (const [name, n] of e.values) if (n === value) return name;
    return scalarToJson(value);
  }
  return messageToJson(types, type, value, depth + 1);
}

export function messageToJson(types: ProtoTypes, typeName: string, value: unknown, depth = 0): Json {
  if (value === null || value === undefined || typeof value !== "object" || depth > 32) return null;
  const info = types.message(typeName);
  const obj = value as Record<string, unknown>;
  const out: { [k: string]: Json } = {};
  for (const [key, v] of Object.entries(obj)) {
    const f = info?.fields.get(key);
    if (!f) {
      // The oneof's own name (which member is set) and anything unknown pass as plain values.
      out[key] = scalarToJson(v);
      continue;
    }
    if (v === null || v === undefined) {
      out[key] = null;
    } else if (f.keyType) {
      const map: { [k: string]: Json } = {};
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) map[k] = valueToJson(types, f.type, f.kind, item, depth);
      out[key] = map;
    } else if (f.repeated && Array.isArray(v)) {
      out[key] = v.map((item) => valueToJson(types, f.type, f.kind, item, depth));
    } else {
      out[key] = valueToJson(types, f.type, f.kind, v, depth);
    }
  }
  return out;
}
