// Pure checks on an illumination reading, shared by the HIL adapter (fields
// of HardwareState.illumination) and the Linux adapter (the eclipse
// prediction file). Each returns the field that was wrong, so the adapter can
// name it in its own terms (a proto field or a JSON key).
import type { IlluminationReading } from "./ports.js";
import { checkRange, type Range } from "./parse.js";

/** Orbital period, s. Wide on purpose: it rejects nonsense (0, negative, years), not unusual orbits. */
export const ORBIT_PERIOD_RANGE: Range = { min: 60, max: 10_000_000, unit: "s", what: "orbit period" };
/** Time to the next shadow entry or exit, s (-1, none predicted, is checked apart). A dawn-dusk orbit can go months without an eclipse. */
export const TRANSITION_RANGE: Range = { min: 0, max: 31_622_400, unit: "s", what: "time to the next transition" };
/** Eclipse length, s; also at most the orbit period. */
export const ECLIPSE_DURATION_RANGE: Range = { min: 0, max: ORBIT_PERIOD_RANGE.max, unit: "s", what: "eclipse duration" };
/** Rounding allowed when the time left in an eclipse is compared with its length, s. */
export const ILLUMINATION_SLACK_S = 1;

export type IlluminationField = keyof IlluminationReading;

export type CheckedIllumination = { ok: true; value: IlluminationReading } | { ok: false; field: IlluminationField; reason: string };

/** Raw values, each still unchecked. */
export interface IlluminationInput {
  sunlit: unknown;
  secondsToTransition: unknown;
  eclipseDurationS: unknown;
  orbitPeriodS: unknown;
}

const bad = (field: IlluminationField, reason: string): CheckedIllumination => ({ ok: false, field, reason });

function number(value: unknown, range: Range): { ok: true; value: number } | { ok: false; reason: string } {
  if (typeof value !== "number") return { ok: false, reason: `${range.what} is not a number (${value === null ? "null" : typeof value})` };
  return checkRange(value, range);
}

/** Checks every field and their consistency: an eclipse no longer than an orbit, an exit no further away than the eclipse is long. */
export function checkIlluminationReading(input: IlluminationInput): CheckedIllumination {
  const period = number(input.orbitPeriodS, ORBIT_PERIOD_RANGE);
  if (!period.ok) return bad("orbitPeriodS", period.reason);
  if (typeof input.sunlit !== "boolean") return bad("sunlit", `not a boolean: ${input.sunlit === null ? "null" : typeof input.sunlit}`);
  let toTransition: number;
  if (input.secondsToTransition === -1) toTransition = -1;
  else {
    const t = number(input.secondsToTransition, TRANSITION_RANGE);
    if (!t.ok) return bad("secondsToTransition", `${t.reason} (-1 means none predicted)`);
    toTransition = t.value;
  }
  const duration = number(input.eclipseDurationS, ECLIPSE_DURATION_RANGE);
  if (!duration.ok) return bad("eclipseDurationS", duration.reason);
  if (duration.value > period.value) return bad("eclipseDurationS", `eclipse duration ${duration.value} s is longer than the orbit period ${period.value} s`);
  if (!input.sunlit && duration.value > 0 && toTransition > duration.value + ILLUMINATION_SLACK_S) {
    return bad("secondsToTransition", `${toTransition} s to the end of the eclipse is more than the eclipse's duration ${duration.value} s`);
  }
  return { ok: true, value: { sunlit: input.sunlit, secondsToTransition: toTransition, eclipseDurationS: duration.value, orbitPeriodS: period.value } };
}
