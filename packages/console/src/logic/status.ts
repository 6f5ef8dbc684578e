// The payload status page's words, from GET /api/status: the supervisor's
// mode and reset reason (its telemetry carries them as numbers), the
// thermal governor's throttle state, and the contact window.
import { formatDuration } from "./time.js";

export type Mode = "nominal" | "safe" | "unknown";

/** umbra.supervisor.v1.PayloadMode: 1 nominal, 2 safe. */
export function modeName(mode: unknown): Mode {
  const n = Number(mode);
  return n === 1 ? "nominal" : n === 2 ? "safe" : "unknown";
}

/** umbra.supervisor.v1.ResetReason: 1 power-on, 2 watchdog, 3 command, 4 crash. */
export function resetReasonName(reason: unknown): string {
  return ["-", "power-on", "watchdog", "command", "crash"][Number(reason)] ?? "-";
}

/** The thermal governor's throttleState: 1 none, 2 controlling, 3 hot, 4 critical (docs/operations.md §9.4). */
export function throttleStateName(state: unknown): string {
  return ["-", "none", "controlling", "hot", "critical"][Number(state)] ?? "-";
}

export interface ContactWindowView {
  state: "in contact" | "no contact" | "unknown";
  stations: string[];
  /** What an operator reads: "in contact with svalbard since 09:12:00Z (3 min)". */
  text: string;
  /** The last contact window the gateway saw end, as text, or "". */
  last: string;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function isoMs(v: unknown): number | undefined {
  if (typeof v !== "string" || !v) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19) + "Z";
}

/**
 * The contact window from /api/status's `contact`: in contact or not, with
 * which stations, since when (mission time, as the gateway saw the change),
 * and the last window that ended. `nowMs` is the latest mission time the
 * console knows (UTC ms), for "how long".
 */
export function contactWindow(contact: unknown, nowMs?: number): ContactWindowView {
  const c = contact && typeof contact === "object" ? (contact as Record<string, unknown>) : {};
  const stations = Array.isArray(c["stationsInView"]) ? (c["stationsInView"] as unknown[]).filter((s): s is string => typeof s === "string") : [];
  const last = (() => {
    const w = c["lastWindow"] && typeof c["lastWindow"] === "object" ? (c["lastWindow"] as Record<string, unknown>) : undefined;
    const start = isoMs(w?.["startTime"]);
    const end = isoMs(w?.["endTime"]);
    if (start === undefined || end === undefined) return "";
    const names = Array.isArray(w?.["stations"]) ? (w!["stations"] as unknown[]).filter((s): s is string => typeof s === "string") : [];
    return `last contact ${hhmmss(start)}–${hhmmss(end)} (${formatDuration((end - start) / 1000)})${names.length ? ` with ${names.join(", ")}` : ""}`;
  })();
  if (typeof c["inContact"] !== "boolean") return { state: "unknown", stations, text: "no contact data (no HIL environment, or none received yet)", last };
  const since = isoMs(c["sinceTime"]);
  const now = nowMs ?? isoMs(str(c["time"]));
  const forHow = since !== undefined && now !== undefined && now >= since ? ` (${formatDuration((now - since) / 1000)})` : "";
  const sinceText = since !== undefined ? ` since ${hhmmss(since)}${forHow}` : "";
  if (c["inContact"]) return { state: "in contact", stations, text: `in contact${stations.length ? ` with ${stations.join(", ")}` : ""}${sinceText}`, last };
  return { state: "no contact", stations, text: `no station in view${sinceText}`, last };
}
