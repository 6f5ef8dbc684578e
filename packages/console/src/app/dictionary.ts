// The mission dictionary as GET /api/dictionary gives it: per service its
// commands (argument JSON Schemas), telemetry (type, unit, limits), events
// and parameters. The command forms, the parameter picker, units and limit
// colours all come from it; nothing about a command or a parameter is
// written into the console.
import type { Limits } from "../logic/limits.js";

export interface CommandDef {
  name: string;
  description: string;
  critical: boolean;
  argumentType: string;
  arguments: Record<string, unknown>;
}

export interface TelemetryDef {
  name: string;
  type: string;
  unit: string;
  description: string;
  limits: Limits;
  criticalLimits: Limits;
}

export interface ServiceDef {
  name: string;
  apid: number;
  description: string;
  commands: CommandDef[];
  telemetry: TelemetryDef[];
  events: { id: number; name: string; severity: string; description: string }[];
}

export interface Dictionary {
  services: ServiceDef[];
}

export const EMPTY_DICTIONARY: Dictionary = { services: [] };

function arr<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/** The dictionary from the gateway's JSON, sorted by service name; malformed entries are left out. */
export function toDictionary(raw: unknown): Dictionary {
  const services = arr<Record<string, unknown>>((raw as Record<string, unknown> | null)?.["services"])
    .filter((s) => s && typeof s === "object" && typeof s["name"] === "string")
    .map(
      (s): ServiceDef => ({
        name: s["name"] as string,
        apid: typeof s["apid"] === "number" ? s["apid"] : 0,
        description: typeof s["description"] === "string" ? s["description"] : "",
        commands: arr<CommandDef>(s["commands"]).filter((c) => c && typeof c.name === "string"),
        telemetry: arr<TelemetryDef>(s["telemetry"])
          .filter((t) => t && typeof t.name === "string")
          .map((t) => ({ ...t, unit: typeof t.unit === "string" ? t.unit : "", limits: t.limits ?? {}, criticalLimits: t.criticalLimits ?? {} })),
        events: arr(s["events"]),
      }),
    );
  services.sort((a, b) => a.name.localeCompare(b.name));
  return { services };
}

export function telemetryDef(d: Dictionary, service: string, name: string): TelemetryDef | undefined {
  return d.services.find((s) => s.name === service)?.telemetry.find((t) => t.name === name);
}
