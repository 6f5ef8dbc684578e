/**
 * TAI−UTC offsets since the start of integer-second UTC (1972-01-01).
 *
 * Source: IERS Bulletin C (the same values as the IERS/IETF `leap-seconds.list`).
 * Bulletin C 52 announced the last step, to 37 s at 2017-01-01. No step was
 * announced after it up to Bulletin C 70 (July 2025). When IERS announces a new
 * leap second, append a row here and ship the update before the step date.
 */

/** One step of the table: from `utcMs` on, TAI − UTC = `taiMinusUtc` seconds. */
export interface LeapSecondStep {
  /** Unix milliseconds (UTC) at which this offset takes effect. */
  readonly utcMs: number;
  /** TAI − UTC in whole seconds from then on. */
  readonly taiMinusUtc: number;
}

// [year, month (1-12), TAI−UTC from 00:00:00 UTC on the first of that month]
const STEPS: ReadonlyArray<readonly [number, number, number]> = [
  [1972, 1, 10],
  [1972, 7, 11],
  [1973, 1, 12],
  [1974, 1, 13],
  [1975, 1, 14],
  [1976, 1, 15],
  [1977, 1, 16],
  [1978, 1, 17],
  [1979, 1, 18],
  [1980, 1, 19],
  [1981, 7, 20],
  [1982, 7, 21],
  [1983, 7, 22],
  [1985, 7, 23],
  [1988, 1, 24],
  [1990, 1, 25],
  [1991, 1, 26],
  [1992, 7, 27],
  [1993, 7, 28],
  [1994, 7, 29],
  [1996, 1, 30],
  [1997, 7, 31],
  [1999, 1, 32],
  [2006, 1, 33],
  [2009, 1, 34],
  [2012, 7, 35],
  [2015, 7, 36],
  [2017, 1, 37],
];

/** The table, oldest first. */
export const LEAP_SECONDS: readonly LeapSecondStep[] = Object.freeze(
  STEPS.map(([year, month, taiMinusUtc]) =>
    Object.freeze({ utcMs: Date.UTC(year, month - 1, 1), taiMinusUtc }),
  ),
);

/**
 * Before 1972 UTC ran on rubber seconds with fractional offsets (about 0 s in
 * 1958 growing to about 9.9 s by 1971). Using 10 s keeps the mapping continuous
 * across 1972; the error (up to 10 s) only touches instants no flight data has.
 */
const PRE_1972_TAI_MINUS_UTC = 10;

// Step instants on the TAI side, so TAI->UTC can search without iterating.
const TAI_STARTS_MS: readonly number[] = LEAP_SECONDS.map(
  (s) => s.utcMs + s.taiMinusUtc * 1000,
);

function assertFinite(what: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
  }
}

/**
 * TAI − UTC in whole seconds at the UTC instant `utcMs` (Unix milliseconds).
 * Before 1972 this returns 10, an approximation (see PRE_1972_TAI_MINUS_UTC).
 */
export function taiMinusUtcSeconds(utcMs: number): number {
  assertFinite('utcMs', utcMs);
  // Scan from the newest row: nearly every call is about the present.
  for (let i = LEAP_SECONDS.length - 1; i >= 0; i--) {
    const step = LEAP_SECONDS[i]!;
    if (utcMs >= step.utcMs) return step.taiMinusUtc;
  }
  return PRE_1972_TAI_MINUS_UTC;
}

/** Result of the TAI->UTC lookup. */
export interface TaiUtcLookup {
  /** TAI − UTC (s) to subtract from the TAI reading to get UTC. */
  readonly taiMinusUtc: number;
  /**
   * Set while the instant lies inside an inserted leap second (23:59:60 UTC),
   * which Unix time cannot represent: the Unix ms at which the leap second ends
   * (00:00:00 of the next day). Undefined otherwise.
   */
  readonly leapSecondEndUtcMs: number | undefined;
}

/**
 * Inverse lookup for TAI->UTC. `taiUnixMs` is a TAI instant on the Unix-style
 * count, i.e. `utcMs + (TAI−UTC)·1000`; equivalently TAI ms since 1958 plus
 * TAI_EPOCH_UNIX_MS.
 */
export function taiMinusUtcAtTai(taiUnixMs: number): TaiUtcLookup {
  assertFinite('taiUnixMs', taiUnixMs);
  let i = TAI_STARTS_MS.length - 1;
  while (i >= 0 && taiUnixMs < TAI_STARTS_MS[i]!) i--;
  const current = i >= 0 ? LEAP_SECONDS[i]!.taiMinusUtc : PRE_1972_TAI_MINUS_UTC;
  const next = LEAP_SECONDS[i + 1];
  if (next !== undefined) {
    // An inserted second is the TAI interval just before the step that no UTC
    // label of the Unix count maps to; a negative step would give an empty one.
    const insertedMs = (next.taiMinusUtc - current) * 1000;
    if (taiUnixMs >= TAI_STARTS_MS[i + 1]! - insertedMs) {
      return { taiMinusUtc: current, leapSecondEndUtcMs: next.utcMs };
    }
  }
  return { taiMinusUtc: current, leapSecondEndUtcMs: undefined };
}
