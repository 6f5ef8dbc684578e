// Jobs as the console lists them, from the jobs service's JobList (through
// GET /api/jobs): state names, energy in readable units, and why a job
// waits, with what an operator can do about it (docs/operations.md §9.5,
// "Why is my job waiting?").
import { formatNumber } from "./format.js";

export interface JobRow {
  jobId: string;
  tenant: string;
  /** "queued", "running", ... (the enum name without JOB_STATE_, lower case). */
  state: string;
  priority: number;
  model: string;
  variant: string;
  tilesTotal: number;
  tilesDone: number;
  energyJ: number;
  forecastEnergyJ: number;
  reason: string;
}

/** "JOB_STATE_QUEUED" (or 1..8) -> "queued". */
export function jobStateName(raw: unknown): string {
  const NAMES = ["unspecified", "queued", "admitted", "running", "paused", "done", "failed", "cancelled", "expired"];
  if (typeof raw === "number") return NAMES[raw] ?? `state ${raw}`;
  if (typeof raw !== "string") return "unspecified";
  return raw.replace(/^JOB_STATE_/, "").toLowerCase();
}

/** States in which a job waits for something. */
export function isWaiting(state: string): boolean {
  return state === "queued" || state === "admitted" || state === "paused";
}

function num(v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v);
  return 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** One job from the gateway's JSON (JobStatus), or undefined if it is not one. */
export function toJobRow(raw: unknown): JobRow | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r["jobId"] !== "string") return undefined;
  return {
    jobId: r["jobId"],
    tenant: str(r["tenant"]),
    state: jobStateName(r["state"]),
    priority: num(r["priority"]),
    model: str(r["model"]),
    variant: str(r["variant"]),
    tilesTotal: num(r["tilesTotal"]),
    tilesDone: num(r["tilesDone"]),
    energyJ: num(r["energyJ"]),
    forecastEnergyJ: num(r["forecastEnergyJ"]),
    reason: str(r["reason"]),
  };
}

/** Every job of a JobList's JSON; anything that is not a job is left out. */
export function toJobRows(list: unknown): JobRow[] {
  const jobs = list && typeof list === "object" ? (list as Record<string, unknown>)["jobs"] : undefined;
  return Array.isArray(jobs) ? jobs.map(toJobRow).filter((j): j is JobRow => j !== undefined) : [];
}

export interface WaitingReason {
  /** What holds the job: energy, quota, slots, emergency, model, deadline, power, paused, or other. */
  kind: string;
  /** The runner's own words. */
  text: string;
  /** What an operator can do, or "" when nothing is known. */
  hint: string;
}

const REASONS: { test: RegExp; kind: string; hint: string }[] = [
  { test: /^energy:/, kind: "energy", hint: "wait for sunlight, lower other jobs' priority, or allow a cheaper variant" },
  { test: /^quota:/, kind: "quota", hint: "wait for the quota period to reset, or setTenant with a larger quota" },
  { test: /^no job slot:|^all \d+ job slot\(s\) taken/, kind: "slots", hint: "the thermal budget or higher-priority jobs hold the slots: reprioritise" },
  { test: /^emergency:/, kind: "emergency", hint: "a thermal emergency or the battery at its floor holds every job; it clears by itself" },
  { test: /^no model to run on:/, kind: "model", hint: "activateModel, or setAccuracy for a variant" },
  { test: /^cannot finish a tile before the deadline/, kind: "deadline", hint: "too late for even one inference: cancel it" },
  { test: /^power readings unavailable/, kind: "power", hint: "the power port gives no trustworthy reading: check the platform" },
];

/** Why a waiting job waits, or undefined for a job that does not wait. */
export function waitingReason(job: Pick<JobRow, "state" | "reason">): WaitingReason | undefined {
  if (!isWaiting(job.state)) return undefined;
  if (job.state === "paused") return { kind: "paused", text: job.reason || "paused by an operator", hint: "only resume moves it" };
  const text = job.reason.trim();
  if (!text) return { kind: "other", text: job.state === "admitted" ? "starting in the next slot" : "no reason given yet", hint: "" };
  const known = REASONS.find((r) => r.test.test(text));
  return { kind: known?.kind ?? "other", text, hint: known?.hint ?? "" };
}

/** Joules in readable units: "0.42 mJ", "12.3 J", "4.56 kJ", "1.2 MJ". */
export function formatEnergy(joules: number): string {
  if (!Number.isFinite(joules)) return "-";
  const a = Math.abs(joules);
  const fmt = (v: number, unit: string) => `${formatNumber(Math.abs(v) >= 100 ? Math.round(v) : v)} ${unit}`;
  if (a === 0) return "0 J";
  if (a < 1) return fmt(joules * 1000, "mJ");
  if (a < 1000) return fmt(joules, "J");
  if (a < 1e6) return fmt(joules / 1000, "kJ");
  return fmt(joules / 1e6, "MJ");
}

/** "7/20 tiles" with the percentage when there are tiles. */
export function formatProgress(job: Pick<JobRow, "tilesDone" | "tilesTotal">): string {
  if (!job.tilesTotal) return `${job.tilesDone} tiles`;
  return `${job.tilesDone}/${job.tilesTotal} (${Math.floor((100 * job.tilesDone) / job.tilesTotal)} %)`;
}
