// The mission dictionary as the REST API shows it: per service its commands
// (with the JSON Schema of their arguments), telemetry (type, unit, limits),
// events and parameters. Pure: from the ServiceDeclaration messages.
import { umbra, type MessageOf } from "@umbra/proto";
import { argumentSchema, type JsonSchema } from "./json-schema.js";
import type { ProtoTypes } from "./proto-types.js";
import { ruleSpecs } from "./rules.js";

export type Declaration = MessageOf<typeof umbra.core.v1.ServiceDeclaration>;

export type ValueTypeName = "bool" | "int" | "float" | "string" | "unspecified";
export type SeverityName = "info" | "low" | "medium" | "high" | "unspecified";

export interface LimitsJson {
  low?: number;
  high?: number;
}

export interface CommandJson {
  name: string;
  description: string;
  critical: boolean;
  argumentType: string;
  arguments: JsonSchema;
}

export interface ServiceJson {
  name: string;
  apid: number;
  description: string;
  commands: CommandJson[];
  telemetry: { name: string; type: ValueTypeName; unit: string; description: string; limits: LimitsJson; criticalLimits: LimitsJson }[];
  events: { id: number; name: string; severity: SeverityName; description: string }[];
  parameters: { name: string; type: ValueTypeName; unit: string; description: string; default: boolean | number | string | null; min?: number; max?: number; allowed?: string[] }[];
}

const VALUE_TYPES: Record<number, ValueTypeName> = { 0: "unspecified", 1: "bool", 2: "int", 3: "float", 4: "string" };
const SEVERITIES: Record<number, SeverityName> = { 0: "unspecified", 1: "info", 2: "low", 3: "medium", 4: "high" };

export function valueTypeName(t: number): ValueTypeName {
  return VALUE_TYPES[t] ?? "unspecified";
}

export function severityName(s: number): SeverityName {
  return SEVERITIES[s] ?? "unspecified";
}

function limits(l: { hasLow: boolean; low: number; hasHigh: boolean; high: number } | null): LimitsJson {
  if (!l) return {};
  return { ...(l.hasLow ? { low: l.low } : {}), ...(l.hasHigh ? { high: l.high } : {}) };
}

/** A declared Value as JSON (64-bit integers beyond the safe range as strings). */
export function valueJson(v: MessageOf<typeof umbra.core.v1.Value> | null | undefined): boolean | number | string | null {
  if (!v) return null;
  switch (v.kind) {
    case "boolValue":
      return v.boolValue ?? null;
    case "intValue": {
      const n = v.intValue;
      if (n === undefined || n === null) return null;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
    case "floatValue":
      return v.floatValue ?? null;
    case "stringValue":
      return v.stringValue ?? null;
    default:
      return null;
  }
}

export function serviceJson(types: ProtoTypes, d: Declaration): ServiceJson {
  return {
    name: d.name,
    apid: d.apid,
    description: d.description,
    commands: d.commands.map((c) => ({
      name: c.name,
      description: c.description,
      critical: c.critical,
      argumentType: c.argumentType,
      arguments: argumentSchema(types, c.argumentType, ruleSpecs(c.arguments)),
    })),
    telemetry: d.telemetry.map((t) => ({
      name: t.name,
      type: valueTypeName(t.type),
      unit: t.unit,
      description: t.description,
      limits: limits(t.warning),
      criticalLimits: limits(t.critical),
    })),
    events: d.events.map((e) => ({ id: e.id, name: e.name, severity: severityName(e.severity), description: e.description })),
    parameters: d.parameters.map((p) => ({
      name: p.name,
      type: valueTypeName(p.type),
      unit: p.unit,
      description: p.description,
      default: valueJson(p.defaultValue),
      ...(p.hasMin ? { min: p.min } : {}),
      ...(p.hasMax ? { max: p.max } : {}),
      ...(p.allowed.length ? { allowed: [...p.allowed] } : {}),
    })),
  };
}
