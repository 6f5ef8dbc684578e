// Illumination on a board: the spacecraft bus interface writes its eclipse
// prediction to a small JSON file (default /run/umbra/illumination.json):
//
//   {"updatedUtc": "2026-03-20T12:00:00Z", "sunlit": true,
//    "nextTransitionUtc": "2026-03-20T12:31:10Z" | null,
//    "eclipseDurationS": 2130, "orbitPeriodS": 5668}
//
// Each read opens the file afresh, checks every field and how they fit
// together, and turns the predicted transition time into seconds from now
// by the adapter's clock. A file older than two orbit periods is stale: the
// writer has stopped, and its sunlit flag may be an orbit out of date.
import { isAbsolute } from "node:path";
import { RealClock, type Clock } from "@umbra/core";
import { PlatformError, type IlluminationPort, type IlluminationReading } from "../ports.js";
import { checkIlluminationReading, ORBIT_PERIOD_RANGE, TRANSITION_RANGE, type IlluminationField } from "../illumination.js";
import { checkRange, quote } from "../parse.js";
import { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";
import { readBoundedText } from "./fs.js";

export const DEFAULT_ILLUMINATION_PATH = "/run/umbra/illumination.json";
/** Largest prediction file read; anything bigger is not one. */
export const MAX_ILLUMINATION_FILE_BYTES = 65_536;
/** The file is stale once its updatedUtc is more than this many orbit periods old. */
export const ILLUMINATION_STALE_ORBITS = 2;
/** How far ahead of this clock updatedUtc may be before the two clocks are taken to disagree, s. */
export const ILLUMINATION_FUTURE_SLACK_S = 60;
/** How long after a predicted transition it still reads as "0 s to go" while the writer catches up, s. */
export const ILLUMINATION_TRANSITION_GRACE_S = 10;

export interface IlluminationFileOptions {
  /** Absolute path of the prediction file; default DEFAULT_ILLUMINATION_PATH. */
  path?: string;
}

const ISO_UTC = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})$/;

/** An ISO 8601 time with seconds and a zone ("Z" or ±hh:mm), as UTC ms. Calendar fields must exist (no 30 February). */
export function parseIsoUtc(value: unknown): { ok: true; value: number } | { ok: false; reason: string } {
  if (typeof value !== "string") return { ok: false, reason: `not an ISO 8601 time string (${value === null ? "null" : typeof value})` };
  const m = value.length <= 40 ? ISO_UTC.exec(value) : null;
  if (!m) return { ok: false, reason: `not an ISO 8601 time with seconds and a zone, like "2026-03-20T12:00:00Z": ${quote(value)}` };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const ms = Date.parse(value);
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59 || !Number.isFinite(ms)) {
    return { ok: false, reason: `not a valid date and time: ${quote(value)}` };
  }
  return { ok: true, value: ms };
}

const REQUIRED = ["updatedUtc", "sunlit", "nextTransitionUtc", "eclipseDurationS", "orbitPeriodS"] as const;
/** Where each reading field comes from in the file. */
const FILE_FIELD: Record<IlluminationField, (typeof REQUIRED)[number]> = {
  sunlit: "sunlit",
  secondsToTransition: "nextTransitionUtc",
  eclipseDurationS: "eclipseDurationS",
  orbitPeriodS: "orbitPeriodS",
};

export class LinuxIllumination implements IlluminationPort {
  private readonly ctx: LinuxContext;
  readonly path: string;
  private readonly clock: Pick<Clock, "utcMs">;

  /** `clock` gives "now" for staleness and the seconds to the transition; default the system clock (RealClock). */
  constructor(roots: LinuxRoots | LinuxContext = {}, options: IlluminationFileOptions = {}, clock: Pick<Clock, "utcMs"> = new RealClock()) {
    this.ctx = linuxContext(roots);
    const path = options.path ?? DEFAULT_ILLUMINATION_PATH;
    if (typeof path !== "string" || !isAbsolute(path) || path.includes("\0") || path.length > 4096) {
      throw new RangeError(`linux platform: options.illumination.path must be an absolute file path, got ${JSON.stringify(path)}`);
    }
    if (typeof clock?.utcMs !== "function") throw new RangeError("linux platform: options.clock must have utcMs()");
    this.path = path;
    this.clock = clock;
  }

  async read(): Promise<IlluminationReading> {
    const text = await readBoundedText(this.ctx.fs, "illumination", this.path, MAX_ILLUMINATION_FILE_BYTES, "not an eclipse prediction");
    const fail = (field: string | undefined, reason: string): never => {
      throw new PlatformError("illumination", this.path, field === undefined ? reason : `${field}: ${reason}`);
    };
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      fail(undefined, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fail(undefined, `not a JSON object (${Array.isArray(doc) ? "array" : doc === null ? "null" : typeof doc})`);
    const o = doc as Record<string, unknown>;
    for (const key of REQUIRED) if (!Object.hasOwn(o, key)) fail(key, key === "nextTransitionUtc" ? "missing (null when none is predicted)" : "missing");

    const nowMs = this.clock.utcMs();
    const updated = parseIsoUtc(o["updatedUtc"]);
    if (!updated.ok) return fail("updatedUtc", updated.reason);
    const period = typeof o["orbitPeriodS"] === "number" ? checkRange(o["orbitPeriodS"], ORBIT_PERIOD_RANGE) : undefined;
    if (!period?.ok) return fail("orbitPeriodS", period ? period.reason : `orbit period is not a number (${o["orbitPeriodS"] === null ? "null" : typeof o["orbitPeriodS"]})`);
    const ageS = (nowMs - updated.value) / 1000;
    if (ageS < -ILLUMINATION_FUTURE_SLACK_S) fail("updatedUtc", `${o["updatedUtc"] as string} is ${Math.round(-ageS)} s ahead of this clock (more than ${ILLUMINATION_FUTURE_SLACK_S} s): the clocks disagree`);
    const staleAfterS = ILLUMINATION_STALE_ORBITS * period.value;
    if (ageS > staleAfterS) fail("updatedUtc", `stale: written ${Math.round(ageS)} s ago, more than ${ILLUMINATION_STALE_ORBITS} orbit periods (${staleAfterS} s); is the bus interface still writing it?`);

    let secondsToTransition = -1;
    if (o["nextTransitionUtc"] !== null) {
      const next = parseIsoUtc(o["nextTransitionUtc"]);
      if (!next.ok) return fail("nextTransitionUtc", `${next.reason} (null when none is predicted)`);
      if (next.value < updated.value) fail("nextTransitionUtc", `${o["nextTransitionUtc"] as string} is before updatedUtc ${o["updatedUtc"] as string}`);
      const s = (next.value - nowMs) / 1000;
      if (s < -ILLUMINATION_TRANSITION_GRACE_S) fail("nextTransitionUtc", `the predicted transition at ${o["nextTransitionUtc"] as string} passed ${Math.round(-s)} s ago: the prediction has lapsed`);
      if (s > TRANSITION_RANGE.max) fail("nextTransitionUtc", `the predicted transition is ${Math.round(s)} s away, more than ${TRANSITION_RANGE.max} s`);
      secondsToTransition = Math.max(0, s);
    }
    const checked = checkIlluminationReading({ sunlit: o["sunlit"], secondsToTransition, eclipseDurationS: o["eclipseDurationS"], orbitPeriodS: period.value });
    if (!checked.ok) return fail(FILE_FIELD[checked.field], checked.reason);
    return checked.value;
  }
}
