// Events and alarms as the console lists them: severities in order, the
// filter an operator sets (least severity, services, free text), and a
// bounded log that merges what the gateway's recent list, its archive and
// the live stream give, each event once.

export const SEVERITIES = ["info", "low", "medium", "high"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface EventItem {
  service: string;
  id: number;
  name: string;
  severity: string;
  message: string;
  /** Mission time, decimal TAI ns. */
  missionTimeNs: string;
  /** UTC ISO time, when the gateway gave it. */
  time?: string;
  args: Record<string, string>;
}

export function isSeverity(s: unknown): s is Severity {
  return typeof s === "string" && (SEVERITIES as readonly string[]).includes(s);
}

/** 0 info .. 3 high; -1 for anything else (shown, but below every filter but "all"). */
export function severityRank(s: string): number {
  return (SEVERITIES as readonly string[]).indexOf(s);
}

export interface EventFilter {
  /** Least severity shown; "" = all. */
  minSeverity: Severity | "";
  /** Services shown; empty = all. */
  services: readonly string[];
  /** Words that must all appear (case-insensitive) in service, name, message or arguments. */
  text: string;
}

export const NO_FILTER: EventFilter = { minSeverity: "", services: [], text: "" };

/** Longest filter text taken (longer input is cut, never an error). */
export const MAX_FILTER_TEXT = 200;

function words(text: string): string[] {
  return String(text ?? "")
    .slice(0, MAX_FILTER_TEXT)
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean);
}

export function matchesFilter(e: EventItem, f: EventFilter): boolean {
  if (f.minSeverity && severityRank(e.severity) < severityRank(f.minSeverity)) return false;
  if (f.services.length && !f.services.includes(e.service)) return false;
  const w = words(f.text);
  if (!w.length) return true;
  const hay = [e.service, e.name, e.message, e.severity, ...Object.entries(e.args ?? {}).map(([k, v]) => `${k}=${v}`)].join(" ").toLowerCase();
  return w.every((x) => hay.includes(x));
}

/** Turns whatever came over the wire into an event, or undefined if it is not one. */
export function toEventItem(raw: unknown): EventItem | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r["service"] !== "string" || typeof r["name"] !== "string") return undefined;
  const args: Record<string, string> = {};
  const a = r["args"];
  if (a && typeof a === "object" && !Array.isArray(a)) {
    for (const [k, v] of Object.entries(a as Record<string, unknown>)) args[k] = typeof v === "string" ? v : JSON.stringify(v) ?? "";
  }
  return {
    service: r["service"],
    id: typeof r["id"] === "number" ? r["id"] : 0,
    name: r["name"],
    severity: typeof r["severity"] === "string" ? r["severity"] : "unspecified",
    message: typeof r["message"] === "string" ? r["message"] : "",
    missionTimeNs: typeof r["missionTimeNs"] === "string" ? r["missionTimeNs"] : "0",
    ...(typeof r["time"] === "string" && r["time"] ? { time: r["time"] } : {}),
    args,
  };
}

function key(e: EventItem): string {
  return `${e.service}\u0000${e.id}\u0000${e.name}\u0000${e.missionTimeNs}\u0000${e.message}`;
}

/** Mission times compare as numbers; they are decimal strings of up to 20 digits. */
function compareTime(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The events the console holds: each once, newest first, at most `capacity` (the oldest go). */
export class EventLog {
  private items: EventItem[] = [];
  private readonly keys = new Set<string>();

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity: must be a positive integer, got ${String(capacity)}`);
  }

  get length(): number {
    return this.items.length;
  }

  /** Adds events (any order); returns how many were new. */
  add(events: Iterable<EventItem>): number {
    let added = 0;
    for (const e of events) {
      const k = key(e);
      if (this.keys.has(k)) continue;
      this.keys.add(k);
      this.items.push(e);
      added++;
    }
    if (!added) return 0;
    // Newest first; equal times keep their arrival order, newest arrival first.
    const order = new Map(this.items.map((e, i) => [e, i]));
    this.items.sort((a, b) => compareTime(b.missionTimeNs, a.missionTimeNs) || order.get(b)! - order.get(a)!);
    if (this.items.length > this.capacity) {
      for (const gone of this.items.splice(this.capacity)) this.keys.delete(key(gone));
    }
    return added;
  }

  list(filter: EventFilter = NO_FILTER): EventItem[] {
    return this.items.filter((e) => matchesFilter(e, filter));
  }

  /** Every service seen, sorted. */
  services(): string[] {
    return [...new Set(this.items.map((e) => e.service))].sort();
  }
}
