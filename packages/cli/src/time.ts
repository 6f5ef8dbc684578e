// Times on the command line (pure): --from/--to as an ISO 8601 date-time,
// "now", a relative age ("-15m", "2h", "1d ago" all mean in the past), or
// milliseconds since the Unix epoch.
import { UsageError } from "./errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds since the Unix epoch (UTC) for `text`, relative to `nowMs`; throws a UsageError naming `flag`. */
export function parseTime(text: string, nowMs: number, flag = "time"): number {
  const t = text.trim();
  if (t === "") throw new UsageError(`${flag}: empty time`);
  if (t === "now") return nowMs;
  const rel = /^(?:-)?(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)(?:\s+ago)?$/.exec(t);
  if (rel) return Math.round(nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  if (/^\d{12,}$/.test(t)) return Number(t);
  // A date-time: require a date, so "12" or "abc" are not taken for one.
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a time: use an ISO 8601 date-time (2026-06-01T12:00:00Z), "now", an age such as 15m, 2h or 1d, or milliseconds since 1970`);
}

/** --from/--to checked together: from before to. */
export function parseRange(from: string | undefined, to: string | undefined, nowMs: number): { fromMs?: number; toMs?: number } {
  const out: { fromMs?: number; toMs?: number } = {};
  if (from !== undefined) out.fromMs = parseTime(from, nowMs, "--from");
  if (to !== undefined) out.toMs = parseTime(to, nowMs, "--to");
  if (out.fromMs !== undefined && out.toMs !== undefined && out.fromMs > out.toMs) {
    throw new UsageError(`--from (${new Date(out.fromMs).toISOString()}) is after --to (${new Date(out.toMs).toISOString()})`);
  }
  return out;
}

/** A positive integer option such as --limit or --count. */
export function parsePositiveInt(text: string, flag: string, max = 1_000_000): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer 1..${max}, got ${JSON.stringify(text)}`);
  return n;
}

/** A time the gateway sent (ISO string or epoch milliseconds), for display. */
export function isoOrDash(value: unknown): string {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return new Date(value).toISOString();
  return "-";
}
