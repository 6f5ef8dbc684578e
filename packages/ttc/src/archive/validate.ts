// Input checks for the archive. Everything is checked before a transaction
// starts, so bad input throws InvalidFieldError (a RangeError naming the
// field, e.g. `batch[12].value`) and nothing is written.
import { InvalidFieldError } from "../store/errors.js";
import { INT64_MAX } from "../store/validate.js";
import * as v from "../store/validate.js";
import { VERIFICATION_STAGES } from "../store/command-history.js";
import { SEVERITIES, type SampleInput, type VerificationInput } from "./types.js";

/** Service and parameter/event names: 1..64 characters (as service declarations allow). */
export const MAX_NAME_CHARS = 64;
/** String sample values (service declarations allow 256). */
export const MAX_STRING_VALUE_CHARS = 1024;
export const MAX_MESSAGE_CHARS = 4096;
/** Event arguments, as JSON text. */
export const MAX_ARGS_JSON_CHARS = 16_384;
const MAX_ARGS_DEPTH = 16;
const INT64_MIN = -INT64_MAX - 1n;
const UINT32_MAX = 0xffff_ffff;

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return String(value);
}

function nameProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return `must be a string, got ${describe(value)}`;
  if (value.length === 0) return "must not be empty";
  if (value.length > MAX_NAME_CHARS) return `must be at most ${MAX_NAME_CHARS} characters, got ${value.length}`;
  return undefined;
}

/**
 * Why a sample is not acceptable, as [sub-field, problem], or undefined when it
 * is. Kept allocation-free on the good path: it runs once per sample.
 */
function sampleProblem(sample: unknown): [string, string] | undefined {
  if (typeof sample !== "object" || sample === null || Array.isArray(sample)) return ["", `must be an object, got ${describe(sample)}`];
  const s = sample as Record<string, unknown>;
  let p = nameProblem(s["service"]);
  if (p !== undefined) return [".service", p];
  p = nameProblem(s["name"]);
  if (p !== undefined) return [".name", p];
  const t = s["tNs"];
  if (typeof t !== "bigint" || t < 0n || t > INT64_MAX) return [".tNs", `must be a bigint in 0..2^63-1 (TAI ns), got ${describe(t)}`];
  const value = s["value"];
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) return [".value", `must be a finite number, got ${value}`];
      return undefined;
    case "bigint":
      if (value < INT64_MIN || value > INT64_MAX) return [".value", `a bigint must fit a signed 64-bit integer, got ${value}n`];
      return undefined;
    case "boolean":
      return undefined;
    case "string":
      if (value.length > MAX_STRING_VALUE_CHARS) {
        return [".value", `a string must be at most ${MAX_STRING_VALUE_CHARS} characters, got ${value.length}`];
      }
      return undefined;
    default:
      return [".value", `must be a number, bigint, boolean or string, got ${describe(value)}`];
  }
}

/**
 * Throws InvalidFieldError unless `sample` can be archived; `field` prefixes
 * the field name in the error (`batch[3]` gives `batch[3].value`). Exported so
 * that a feeder can drop one bad sample instead of losing its whole batch.
 */
export function validateSample(sample: unknown, field = "sample"): asserts sample is SampleInput {
  const problem = sampleProblem(sample);
  if (problem !== undefined) throw new InvalidFieldError(`${field}${problem[0]}`, problem[1]);
}

/** Checks a whole batch; the field names the first bad sample. */
export function validateSampleBatch(batch: unknown, field = "batch"): asserts batch is readonly SampleInput[] {
  if (!Array.isArray(batch)) throw new InvalidFieldError(field, `must be an array, got ${describe(batch)}`);
  for (let i = 0; i < batch.length; i++) {
    const problem = sampleProblem(batch[i]);
    if (problem !== undefined) throw new InvalidFieldError(`${field}[${i}]${problem[0]}`, problem[1]);
  }
}

/** Severity name → stored number (1 info .. 4 high, as `umbra.core.v1.Severity`). */
export function severityNumber(field: string, value: unknown): number {
  const index = typeof value === "string" ? (SEVERITIES as readonly string[]).indexOf(value) : -1;
  if (index < 0) throw new InvalidFieldError(field, `must be one of ${SEVERITIES.join(", ")}, got ${describe(value)}`);
  return index + 1;
}

function checkJson(field: string, value: unknown, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new InvalidFieldError(field, `must be a finite number, got ${value}`);
      return;
    case "object":
      if (value === null) return;
      if (depth >= MAX_ARGS_DEPTH) throw new InvalidFieldError(field, `is nested deeper than ${MAX_ARGS_DEPTH} levels`);
      if (Array.isArray(value)) {
        value.forEach((item, i) => checkJson(`${field}[${i}]`, item, depth + 1));
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new InvalidFieldError(field, "must be a plain object, array, string, finite number, boolean or null");
      }
      for (const [key, item] of Object.entries(value)) checkJson(`${field}.${key}`, item, depth + 1);
      return;
    default:
      throw new InvalidFieldError(field, `is not a JSON value (got ${typeof value})`);
  }
}

/** The validated row for one event. */
export interface EventRow {
  tNs: bigint;
  service: string;
  id: number;
  name: string;
  severity: number;
  message: string;
  args: string;
}

export function validateEvent(event: unknown, field: string): EventRow {
  const e = v.record(field, event);
  const severity = severityNumber(`${field}.severity`, e["severity"]);
  const rawArgs = e["args"] === undefined ? {} : v.record(`${field}.args`, e["args"]);
  checkJson(`${field}.args`, rawArgs, 0);
  const args = JSON.stringify(rawArgs);
  if (args.length > MAX_ARGS_JSON_CHARS) {
    throw new InvalidFieldError(`${field}.args`, `must be at most ${MAX_ARGS_JSON_CHARS} characters as JSON, got ${args.length}`);
  }
  return {
    tNs: v.timeNs(`${field}.tNs`, e["tNs"]),
    service: v.text(`${field}.service`, e["service"], MAX_NAME_CHARS),
    id: v.intInRange(`${field}.id`, e["id"], 0, UINT32_MAX),
    name: v.text(`${field}.name`, e["name"], MAX_NAME_CHARS),
    severity,
    message: v.text(`${field}.message`, e["message"], MAX_MESSAGE_CHARS, true),
    args,
  };
}

export function validateVerification(report: unknown, field: string): VerificationInput {
  const r = v.record(field, report);
  const stage = r["stage"];
  if (typeof stage !== "string" || !(VERIFICATION_STAGES as readonly string[]).includes(stage)) {
    throw new InvalidFieldError(`${field}.stage`, `must be one of ${VERIFICATION_STAGES.join(", ")}, got ${describe(stage)}`);
  }
  return {
    tNs: v.timeNs(`${field}.tNs`, r["tNs"]),
    commandId: v.rowId(`${field}.commandId`, r["commandId"]),
    apid: v.apid(`${field}.apid`, r["apid"]),
    sequenceCount: v.sequenceCount(`${field}.sequenceCount`, r["sequenceCount"]),
    stage: stage as VerificationInput["stage"],
    success: v.bool(`${field}.success`, r["success"]),
    code: r["code"] === null ? null : v.intInRange(`${field}.code`, r["code"], 0, UINT32_MAX),
    detail: v.text(`${field}.detail`, r["detail"], MAX_MESSAGE_CHARS, true),
  };
}

export function validateList<T>(field: string, list: unknown, each: (item: unknown, field: string) => T): T[] {
  if (!Array.isArray(list)) throw new InvalidFieldError(field, `must be an array, got ${describe(list)}`);
  return list.map((item, i) => each(item, `${field}[${i}]`));
}

/** A query's time window: both ends inclusive, toNs not before fromNs. */
export function timeWindow(fromField: string, from: unknown, toField: string, to: unknown): [bigint, bigint] {
  const fromNs = v.timeNs(fromField, from);
  const toNs = v.timeNs(toField, to);
  if (toNs < fromNs) throw new InvalidFieldError(toField, `must not be before ${fromField} (${fromNs}), got ${toNs}`);
  return [fromNs, toNs];
}

/** A query limit: a non-negative integer, or undefined for no limit (-1 to SQLite). */
export function limit(field: string, value: unknown): number {
  return value === undefined ? -1 : v.intInRange(field, value, 0, Number.MAX_SAFE_INTEGER);
}
