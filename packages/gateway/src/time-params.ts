// Time bounds in queries: ISO 8601 (UTC or with an offset) or TAI
// nanoseconds as a decimal string. Pure.
import { taiNsToUtcMs, utcMsToTaiNs } from "@umbra/core";

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_U64 = 2n ** 64n - 1n;

export type TimeParse = { ok: true; ns: bigint } | { ok: false; message: string };

export function parseTime(name: string, text: string): TimeParse {
  if (/^[0-9]{1,20}$/.test(text)) {
    const ns = BigInt(text);
    if (ns > MAX_U64) return { ok: false, message: `${name}: ${text} is beyond the largest mission time` };
    return { ok: true, ns };
  }
  if (ISO.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms) && ms >= Date.UTC(1958, 0, 1)) return { ok: true, ns: utcMsToTaiNs(ms) };
  }
  return { ok: false, message: `${name}: expected an ISO 8601 time (2026-06-01T12:00:00Z) or TAI nanoseconds as a decimal string, got ${JSON.stringify(text.slice(0, 60))}` };
}

export function isoOfTaiNs(ns: bigint): string {
  const d = new Date(taiNsToUtcMs(ns));
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}
