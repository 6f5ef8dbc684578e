// The service contract (DESIGN.md "Service contract"): a service declares its
// name and APID, commands, telemetry, events and parameters in one place. The
// TTC builds the mission dictionary from these declarations, so nothing about
// a command or a parameter is written twice.
import { typeNameOf, umbra, type GeneratedMessageClass, type Init, type MessageOf } from "@umbra/proto";
import { isValidNodeName } from "../bus/envelope.js";

export type ValueTypeName = "bool" | "int" | "float" | "string";
export type SeverityName = "info" | "low" | "medium" | "high";
export type ParameterValue = boolean | number | string;

/** A value of the declared type: what telemetry samples and parameters hold. */
export type ValueOf<T extends ValueTypeName> = T extends "bool" ? boolean : T extends "string" ? string : number;

/** Limits on one top-level argument field, published in the declaration so the TTC checks them before dispatch. */
export interface ArgumentRuleSpec {
  min?: number;
  max?: number;
  /** String fields: the only values accepted. */
  allowed?: readonly string[];
  /** Numeric fields: refuse 0. */
  nonZero?: boolean;
}

export interface CommandSpec<C extends GeneratedMessageClass = GeneratedMessageClass> {
  /** The argument message; its full name is the command's bus topic. */
  type: C;
  description: string;
  /** Critical commands must be armed before they execute (enforced by TTC). */
  critical?: boolean;
  /** Declared limits per argument field, checked by the TTC and again by the service. */
  arguments?: { [K in keyof MessageOf<C> & string]?: ArgumentRuleSpec };
  /** Argument check run before the handler; returns the reason if invalid. */
  check?(args: MessageOf<C>): string | undefined;
}

/** Declares a command, typing its argument check by the argument message. */
export function command<C extends GeneratedMessageClass>(type: C, spec: Omit<CommandSpec<C>, "type">): CommandSpec<C> {
  return { ...spec, type };
}

export interface LimitSpec {
  low?: number;
  high?: number;
}

export interface TelemetrySpec {
  type: ValueTypeName;
  description: string;
  unit?: string;
  warning?: LimitSpec;
  critical?: LimitSpec;
}

export interface EventSpec {
  /** Unique within the service; goes into PUS ST[05] reports. */
  id: number;
  severity: SeverityName;
  description: string;
}

export interface ParameterSpec {
  type: ValueTypeName;
  default: ParameterValue;
  description: string;
  unit?: string;
  min?: number;
  max?: number;
  /** For string parameters: the only values accepted. */
  allowed?: readonly string[];
}

export interface ServiceSpec {
  /** Bus target name of the service: letters, digits and _ . : - */
  name: string;
  /** CCSDS application process id, 0..2046 (2047 is the idle APID). */
  apid: number;
  description: string;
  commands: Record<string, CommandSpec>;
  telemetry: Record<string, TelemetrySpec>;
  events: Record<string, EventSpec>;
  parameters: Record<string, ParameterSpec>;
}

const IDENTIFIER = /^[a-z][a-zA-Z0-9_]{0,63}$/;
export const MAX_STRING_PARAMETER_LENGTH = 256;

/** Raised when a declaration is inconsistent; names the service and the field. */
export class DeclarationError extends Error {
  constructor(service: string, field: string, problem: string) {
    super(`service ${JSON.stringify(service)}: ${field}: ${problem}`);
    this.name = "DeclarationError";
  }
}

/** Validates a declaration and returns it unchanged (typed exactly as written). */
export function defineService<const S extends ServiceSpec>(spec: S): S {
  const name = spec.name;
  const fail = (field: string, problem: string): never => {
    throw new DeclarationError(name, field, problem);
  };
  if (!isValidNodeName(name)) fail("name", "must match [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}");
  if (!Number.isInteger(spec.apid) || spec.apid < 0 || spec.apid > 2046) fail("apid", `${spec.apid} is not in 0..2046`);

  const commandTypes = new Set<string>();
  for (const [cmd, c] of Object.entries(spec.commands)) {
    if (!IDENTIFIER.test(cmd)) fail(`commands.${cmd}`, "name must be a lowerCamel identifier");
    const typeName = typeNameOf(c.type);
    if (commandTypes.has(typeName)) fail(`commands.${cmd}`, `argument type ${typeName} is already used by another command`);
    for (const [field, r] of Object.entries((c.arguments ?? {}) as Record<string, ArgumentRuleSpec>)) {
      if (r.min !== undefined && r.max !== undefined && r.min > r.max) fail(`commands.${cmd}.arguments.${field}`, "min is above max");
    }
    commandTypes.add(typeName);
  }
  for (const [t, spec_] of Object.entries(spec.telemetry)) {
    if (!IDENTIFIER.test(t)) fail(`telemetry.${t}`, "name must be a lowerCamel identifier");
    for (const which of ["warning", "critical"] as const) {
      const l = spec_[which];
      if (l && l.low !== undefined && l.high !== undefined && !(l.low < l.high)) fail(`telemetry.${t}.${which}`, "low must be below high");
    }
  }
  const ids = new Set<number>();
  for (const [e, ev] of Object.entries(spec.events)) {
    if (!IDENTIFIER.test(e)) fail(`events.${e}`, "name must be a lowerCamel identifier");
    if (!Number.isInteger(ev.id) || ev.id < 0 || ev.id > 0xffff) fail(`events.${e}.id`, `${ev.id} is not in 0..65535`);
    if (ids.has(ev.id)) fail(`events.${e}.id`, `${ev.id} is used by another event`);
    ids.add(ev.id);
  }
  for (const [p, ps] of Object.entries(spec.parameters)) {
    if (!IDENTIFIER.test(p)) fail(`parameters.${p}`, "name must be a lowerCamel identifier");
    if (ps.min !== undefined && ps.max !== undefined && ps.min > ps.max) fail(`parameters.${p}`, "min is above max");
    const problem = checkParameterValue(ps, ps.default);
    if (problem) fail(`parameters.${p}.default`, problem);
  }
  return spec;
}

/**
 * Why a decoded argument message breaks its declared rules, or undefined.
 * Shared by the service base and the TTC, so both check the same thing.
 */
export function checkArgumentRules(rules: Iterable<readonly [string, ArgumentRuleSpec]>, args: Record<string, unknown>): string | undefined {
  for (const [field, rule] of rules) {
    const value = args[field];
    if (typeof value === "number" || typeof value === "bigint") {
      const n = typeof value === "bigint" ? value : value;
      const below = rule.min !== undefined && (typeof n === "bigint" ? n < BigInt(Math.ceil(rule.min)) : n < rule.min);
      const above = rule.max !== undefined && (typeof n === "bigint" ? n > BigInt(Math.floor(rule.max)) : n > rule.max);
      if (below) return `${field}: ${value} is below the minimum ${rule.min}`;
      if (above) return `${field}: ${value} is above the maximum ${rule.max}`;
      if (rule.nonZero && (value === 0 || value === 0n)) return `${field}: must not be 0`;
      if (typeof value === "number" && !Number.isFinite(value) && (rule.min !== undefined || rule.max !== undefined)) return `${field}: ${value} is not a finite number`;
    } else if (typeof value === "string") {
      if (rule.allowed && !rule.allowed.includes(value)) return `${field}: ${JSON.stringify(value.slice(0, 40))} is not one of ${rule.allowed.join(", ")}`;
    }
  }
  return undefined;
}

/** Why a value is not acceptable for a parameter, or undefined if it is. */
export function checkParameterValue(spec: ParameterSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case "bool":
      return typeof value === "boolean" ? undefined : `expected a boolean, got ${describe(value)}`;
    case "int":
    case "float": {
      if (typeof value !== "number" || !Number.isFinite(value)) return `expected a finite number, got ${describe(value)}`;
      if (spec.type === "int" && !Number.isSafeInteger(value)) return `expected an integer, got ${value}`;
      if (spec.min !== undefined && value < spec.min) return `${value} is below the minimum ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `${value} is above the maximum ${spec.max}`;
      return undefined;
    }
    case "string": {
      if (typeof value !== "string") return `expected a string, got ${describe(value)}`;
      if (value.length > MAX_STRING_PARAMETER_LENGTH) return `longer than ${MAX_STRING_PARAMETER_LENGTH} characters`;
      if (spec.allowed && !spec.allowed.includes(value)) return `${JSON.stringify(value)} is not one of ${spec.allowed.join(", ")}`;
      return undefined;
    }
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return `string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "bigint") return `bigint ${value}`;
  if (value === null) return "null";
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

// ---- conversions between declared values and bus messages ----------------

const ValueType = umbra.core.v1.ValueType;
const Severity = umbra.core.v1.Severity;

export const VALUE_TYPES: Record<ValueTypeName, umbra.core.v1.ValueType> = {
  bool: ValueType.VALUE_TYPE_BOOL,
  int: ValueType.VALUE_TYPE_INT,
  float: ValueType.VALUE_TYPE_FLOAT,
  string: ValueType.VALUE_TYPE_STRING,
};

export const SEVERITIES: Record<SeverityName, umbra.core.v1.Severity> = {
  info: Severity.SEVERITY_INFO,
  low: Severity.SEVERITY_LOW,
  medium: Severity.SEVERITY_MEDIUM,
  high: Severity.SEVERITY_HIGH,
};

type ValueMessage = Init<umbra.core.v1.Value.$Shape>;
type PlainValue = MessageOf<typeof umbra.core.v1.Value>;

/** Encodes a declared value as a Value message. */
export function toValueMessage(type: ValueTypeName, value: ParameterValue): ValueMessage {
  switch (type) {
    case "bool":
      return { boolValue: value as boolean };
    case "int":
      return { intValue: BigInt(value as number) };
    case "float":
      return { floatValue: value as number };
    case "string":
      return { stringValue: value as string };
  }
}

/** Reads a Value message as a JS value; undefined if it holds nothing. */
export function fromValueMessage(value: PlainValue | null | undefined): ParameterValue | undefined {
  if (!value) return undefined;
  switch (value.kind) {
    case "boolValue":
      return value.boolValue;
    case "intValue": {
      const n = value.intValue;
      // An integer outside the safe range cannot be a parameter: say so rather than round it.
      return n !== undefined && n !== null && n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : Number.NaN;
    }
    case "floatValue":
      return value.floatValue;
    case "stringValue":
      return value.stringValue;
    default:
      return undefined;
  }
}

function limits(l: LimitSpec | undefined): Init<umbra.core.v1.Limits.$Shape> | null {
  if (!l) return null;
  return { hasLow: l.low !== undefined, low: l.low ?? 0, hasHigh: l.high !== undefined, high: l.high ?? 0 };
}

/** The declaration as the bus message the TTC and tools read. */
export function declarationMessage(spec: ServiceSpec): Init<umbra.core.v1.ServiceDeclaration.$Shape> {
  return {
    name: spec.name,
    apid: spec.apid,
    description: spec.description,
    commands: Object.entries(spec.commands).map(([name, c]) => ({
      name,
      argumentType: typeNameOf(c.type),
      critical: c.critical ?? false,
      description: c.description,
      arguments: Object.entries((c.arguments ?? {}) as Record<string, ArgumentRuleSpec>).map(([field, r]) => ({
        field,
        hasMin: r.min !== undefined,
        min: r.min ?? 0,
        hasMax: r.max !== undefined,
        max: r.max ?? 0,
        allowed: [...(r.allowed ?? [])],
        nonZero: r.nonZero ?? false,
      })),
    })),
    telemetry: Object.entries(spec.telemetry).map(([name, t]) => ({
      name,
      type: VALUE_TYPES[t.type],
      unit: t.unit ?? "",
      description: t.description,
      warning: limits(t.warning),
      critical: limits(t.critical),
    })),
    events: Object.entries(spec.events).map(([name, e]) => ({
      id: e.id,
      name,
      severity: SEVERITIES[e.severity],
      description: e.description,
    })),
    parameters: Object.entries(spec.parameters).map(([name, p]) => ({
      name,
      type: VALUE_TYPES[p.type],
      defaultValue: toValueMessage(p.type, p.default),
      hasMin: p.min !== undefined,
      min: p.min ?? 0,
      hasMax: p.max !== undefined,
      max: p.max ?? 0,
      unit: p.unit ?? "",
      description: p.description,
      allowed: [...(p.allowed ?? [])],
    })),
  };
}
