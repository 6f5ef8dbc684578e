// Human output (pure): tables, values, verification stages, the dictionary,
// telemetry, events, jobs and users. --json bypasses all of this.
import { taiNsToUtcMs } from "@umbra/core";
import { describeRange, describeType, type JsonSchema } from "./coerce.js";
import type { CommandRecord, DictionaryJson, EventJson, HistoryJson, JobJson, LatestJson, ServiceJson, StageJson, UserJson } from "./client/types.js";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header ? [header, ...rows] : [...rows];
  if (all.length === 0) return "";
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - [...c].length)))
      .join("  ")
      .trimEnd();
  return all.map(line).join("\n");
}

/** A value for display: numbers to 6 significant digits, null/undefined as "-", objects as JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    return String(Number.parseFloat(v.toPrecision(6)));
  }
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v);
}

/** A time the gateway sent (ISO string, or epoch ms) as ISO 8601; "-" when missing. */
export function formatTime(t: unknown): string {
  if (typeof t === "string" && t !== "") return /^\d+$/.test(t) ? new Date(Number(t)).toISOString() : t;
  if (typeof t === "number" && Number.isFinite(t)) return new Date(t).toISOString();
  return "-";
}

/** Mission time (TAI nanoseconds as a decimal string) as ISO 8601 UTC; "-" when missing or not a time. */
export function formatMissionTime(ns: unknown): string {
  if (typeof ns !== "string" || !/^\d{1,20}$/.test(ns)) return "-";
  const ms = taiNsToUtcMs(BigInt(ns));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "-";
}

/** The time of something the gateway sent: its ISO `time`, else its mission time. */
export function timeOf(x: { time?: unknown; missionTimeNs?: unknown }): string {
  const t = formatTime(x.time);
  return t !== "-" ? t : formatMissionTime(x.missionTimeNs);
}

const hex = (apid: number | undefined) => (apid === undefined ? "?" : `0x${apid.toString(16).padStart(3, "0")}`);

/** One verification stage: "  acceptance  ok" or "  completion  FAILED  CODE: detail". */
export function formatStage(s: StageJson): string {
  const code = s.code === undefined || s.code === "" || s.code === 0 || s.code === "FAILURE_NONE" ? "" : String(s.code);
  const detail = [s.success ? "" : code, s.detail ?? ""].filter(Boolean).join(": ");
  return `  ${s.stage.padEnd(11)} ${s.success ? "ok    " : "FAILED"}${detail ? `  ${detail}` : ""}`.trimEnd();
}

/** The line before the stages: what was sent, to whom, under which id. */
export function formatCommandHeader(r: CommandRecord): string {
  const seq = r.sequenceCount === undefined ? "" : `, sequence count ${r.sequenceCount}`;
  return `${r.service}.${r.command}: command ${r.id} sent to APID ${hex(r.apid)}${seq}${r.user ? ` by ${r.user}` : ""}`;
}

/** The last line: how it ended. */
export function formatCommandOutcome(r: CommandRecord): string {
  if (r.state === "completed") return "completed";
  const failed = [...r.stages].reverse().find((s) => !s.success);
  if (r.state === "timeout") return `timeout: no completion reported in time${failed?.detail ? ` (${failed.detail})` : ""}`;
  if (r.state === "failed") return `failed${failed ? ` at ${failed.stage}: ${[failed.code, failed.detail].filter((x) => x !== undefined && x !== "").join(": ")}` : ""}`;
  return r.state;
}

/** A command record with all its stages (umbra commands show). */
export function formatCommand(r: CommandRecord): string {
  return [formatCommandHeader(r), ...r.stages.map(formatStage), formatCommandOutcome(r)].join("\n");
}

export function formatCommandList(list: readonly CommandRecord[]): string {
  if (list.length === 0) return "no commands";
  return table(
    list.map((r) => [String(r.id), formatTime(r["createdAt"]), `${r.service}.${r.command}`, r["kind"] === "arm" ? `arm ${formatValue((r.args as Record<string, unknown> | undefined)?.["service"])}.${formatValue((r.args as Record<string, unknown> | undefined)?.["function"])}` : "", r.state, r.user ?? "-"]),
    ["ID", "SENT", "COMMAND", "NOTE", "STATE", "USER"],
  );
}

function limitsText(l: { low?: number; high?: number } | undefined): string {
  if (!l || (l.low === undefined && l.high === undefined)) return "";
  if (l.low !== undefined && l.high !== undefined) return `${l.low}..${l.high}`;
  return l.low !== undefined ? `< ${l.low}` : `> ${l.high}`;
}

/** An argument schema's fields as "name  type  range  description" rows, nested messages dotted. */
export function argumentRows(schema: JsonSchema, prefix = "", depth = 0): string[][] {
  const rows: string[][] = [];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const key = prefix + name;
    if (sub.properties && depth < 4) {
      rows.push([key, "message", "", sub.description ?? ""]);
      rows.push(...argumentRows(sub, `${key}.`, depth + 1));
      continue;
    }
    rows.push([key, describeType(sub), describeRange(sub), sub.unit ?? (typeof sub.description === "string" && !sub.description.startsWith(`${sub.format ?? "\0"}:`) ? sub.description : "")]);
  }
  return rows;
}

function indent(text: string, by = "    "): string {
  return text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");
}

/** One service of the dictionary: commands with their arguments, telemetry, events, parameters. */
export function formatService(s: ServiceJson): string {
  const out: string[] = [`${s.name} (APID ${hex(s.apid)})${s.description ? `: ${s.description}` : ""}`];
  out.push("  commands:");
  if (s.commands.length === 0) out.push("    (none)");
  for (const c of s.commands) {
    out.push(`    ${s.name}.${c.name}${c.critical ? " [critical: needs --arm]" : ""}${c.description ? ` - ${c.description}` : ""}`);
    const rows = argumentRows(c.arguments ?? {});
    out.push(rows.length ? indent(table(rows), "        ") : "        (no arguments)");
  }
  out.push("  telemetry:");
  if (s.telemetry.length === 0) out.push("    (none)");
  else {
    const rows = s.telemetry.map((t) => {
      const warn = limitsText(t.limits);
      const crit = limitsText(t.criticalLimits);
      const limits = [warn && `warning ${warn}`, crit && `critical ${crit}`].filter(Boolean).join(", ");
      return [`${s.name}.${t.name}`, t.type, t.unit || "-", limits || "-", t.description];
    });
    out.push(indent(table(rows, ["NAME", "TYPE", "UNIT", "LIMITS", "DESCRIPTION"])));
  }
  out.push("  events:");
  if (s.events.length === 0) out.push("    (none)");
  else out.push(indent(table(s.events.map((e) => [String(e.id), e.name, e.severity, e.description]), ["ID", "NAME", "SEVERITY", "DESCRIPTION"])));
  if (s.parameters.length) {
    out.push("  parameters:");
    const rows = s.parameters.map((p) => {
      const range = p.allowed?.length ? p.allowed.join("|") : p.min !== undefined || p.max !== undefined ? `${p.min ?? ""}..${p.max ?? ""}` : "-";
      return [p.name, p.type, p.unit || "-", formatValue(p.default), range, p.description];
    });
    out.push(indent(table(rows, ["NAME", "TYPE", "UNIT", "DEFAULT", "RANGE", "DESCRIPTION"])));
  }
  return out.join("\n");
}

export function formatDictionary(d: DictionaryJson): string {
  if (d.services.length === 0) return "the dictionary is empty: no service has declared itself to the TTC yet";
  return d.services.map(formatService).join("\n\n");
}

/** Units by "service.name", from the dictionary, to print beside values. */
export function unitsOf(d: DictionaryJson | undefined): Map<string, string> {
  const units = new Map<string, string>();
  for (const s of d?.services ?? []) for (const t of s.telemetry) if (t.unit) units.set(`${s.name}.${t.name}`, t.unit);
  return units;
}

export function formatLatest(latest: LatestJson, units = new Map<string, string>()): string {
  const rows: string[][] = [];
  for (const [service, params] of Object.entries(latest).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [name, s] of Object.entries(params).sort(([a], [b]) => a.localeCompare(b))) {
      rows.push([`${service}.${name}`, formatValue(s.value), units.get(`${service}.${name}`) ?? "", formatTime(s.receivedAt)]);
    }
  }
  if (rows.length === 0) return "no telemetry received yet";
  return table(rows, ["PARAMETER", "VALUE", "UNIT", "RECEIVED"]);
}

export function formatHistory(h: HistoryJson, unit = ""): string {
  const rows = h.points.map((p) => [timeOf(p), formatValue(p.value) + (unit ? ` ${unit}` : "")]);
  const head = `${h.service}.${h.name}: ${h.points.length} point(s)${h.truncated ? " (truncated: narrow --from/--to or raise --limit)" : ""}`;
  return rows.length ? `${head}\n${table(rows, ["TIME", "VALUE"])}` : `${head}`;
}

/** One live telemetry sample: "time  service.name = value unit" (time: ISO, or mission time ns). */
export function formatSampleLine(service: string, name: string, value: unknown, time: { time?: unknown; missionTimeNs?: unknown }, unit = ""): string {
  return `${timeOf(time)}  ${service}.${name} = ${formatValue(value)}${unit ? ` ${unit}` : ""}`;
}

export function formatEventLine(e: EventJson): string {
  const sev = String(e.severity ?? "?").toUpperCase();
  return `${timeOf(e)}  ${sev.padEnd(6)}  ${e.service ?? "?"}.${e.name ?? e.id ?? "?"}: ${e.message ?? ""}`.trimEnd();
}

export function formatEvents(events: readonly EventJson[], truncated = false): string {
  if (events.length === 0) return "no events";
  return events.map(formatEventLine).join("\n") + (truncated ? "\n(truncated: narrow --from/--to or raise --limit)" : "");
}

const jobId = (j: JobJson) => String(j.jobId ?? j.id ?? "?");
/** "JOB_STATE_RUNNING" -> "running". */
export const jobState = (s: unknown) => (typeof s === "string" ? s.replace(/^JOB_STATE_/, "").toLowerCase() : formatValue(s));

export function formatJobs(jobs: readonly JobJson[]): string {
  if (jobs.length === 0) return "no jobs";
  return table(
    jobs.map((j) => [jobId(j), formatValue(j.tenant), jobState(j.state), j.variant && j.variant !== j.model ? `${j.model ?? "?"} (as ${j.variant})` : formatValue(j.model), `${j.tilesDone ?? 0}/${j.tilesTotal ?? 0}`, formatValue(j.reason)]),
    ["JOB", "TENANT", "STATE", "MODEL", "TILES", "REASON"],
  );
}

/** A job field for display: mission times (…Ns) as UTC, 0 as "none", states short. */
function jobField(key: string, v: unknown): string {
  if (key.endsWith("Ns") && typeof v === "string") return v === "0" ? "none" : formatMissionTime(v);
  if (key === "state") return jobState(v);
  return formatValue(v);
}

/** A job report (GET /api/jobs/:id): its status field by field, its class counts, and its decisions in order. */
export function formatJobReport(report: Record<string, unknown>): string {
  const status = (report["status"] && typeof report["status"] === "object" ? report["status"] : report) as Record<string, unknown>;
  const rows = Object.entries(status)
    .filter(([k, v]) => k !== "decisions" && k !== "classCounts" && !(v !== null && typeof v === "object"))
    .map(([k, v]) => [k, jobField(k, v)]);
  const out = [table(rows)];
  const counts = (report["classCounts"] ?? status["classCounts"]) as Record<string, unknown> | undefined;
  if (counts && Object.keys(counts).length) out.push(`classCounts      ${Object.entries(counts).map(([k, n]) => `${k} ${formatValue(n)}`).join(", ")}`);
  for (const [k, v] of Object.entries(report)) {
    if (k === "status" || k === "decisions" || k === "classCounts" || v === null || typeof v !== "object" || Array.isArray(v)) continue;
    out.push(`${k}: ${formatValue(v)}`);
  }
  const decisions = (report["decisions"] ?? status["decisions"]) as Record<string, unknown>[] | undefined;
  if (Array.isArray(decisions) && decisions.length) {
    out.push("decisions:");
    out.push(
      table(decisions.map((d) => [`  ${formatMissionTime(d["missionTimeNs"])}`, `${jobState(d["from"])} -> ${jobState(d["to"])}`, formatValue(d["reason"])])),
    );
  }
  return out.join("\n");
}

export function formatUsers(users: readonly UserJson[]): string {
  if (users.length === 0) return "no users";
  return table(
    users.map((u) => [u.name, u.role, formatTime(u["createdAt"]), u["tokens"] === undefined ? "-" : formatValue(u["tokens"])]),
    ["NAME", "ROLE", "CREATED", "TOKENS"],
  );
}

export interface ServiceStatusJson {
  name: string;
  alive?: boolean;
  state?: string;
  pid?: number;
  uptimeMs?: number;
  lastHeartbeat?: string;
  [field: string]: unknown;
}

/** Nested fields flattened to "a.b  value" rows. */
export function flatten(value: unknown, prefix = "", rows: string[][] = []): string[][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, rows);
  } else rows.push([prefix, formatValue(value)]);
  return rows;
}

/** GET /api/status: the services (alive or not) and the latest of each area's telemetry. */
export function formatStatus(status: Record<string, unknown>): string {
  const out: string[] = [];
  const services = Array.isArray(status["services"]) ? (status["services"] as ServiceStatusJson[]) : [];
  if (services.length) {
    out.push(
      table(
        services.map((s) => [s.name, s.alive === false ? "NOT ALIVE" : "alive", formatValue(s.state), formatValue(s.pid), s.uptimeMs === undefined ? "-" : `${Math.round(s.uptimeMs / 1000)} s`, formatTime(s.lastHeartbeat)]),
        ["SERVICE", "HEARTBEAT", "STATE", "PID", "UPTIME", "LAST HEARTBEAT"],
      ),
    );
  } else out.push("no service heartbeats seen yet");
  const rest = Object.fromEntries(Object.entries(status).filter(([k]) => k !== "services"));
  // Mission times are for machines (--json); the heartbeat table has the times that matter.
  const rows = flatten(rest).filter(([k, v]) => v !== "-" && !k!.endsWith("missionTimeNs"));
  if (rows.length) out.push("", table(rows));
  return out.join("\n");
}
