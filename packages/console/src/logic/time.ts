// Mission time as the console shows it. The gateway sends mission time as TAI
// nanoseconds since 1958-01-01 (a decimal string: JSON numbers cannot hold
// it); the console plots and prints UTC.
//
// TAI - UTC has been 37 s since 2017-01-01 and no further leap second has
// been announced (they are to stop by 2035). The console applies that one
// offset: it shows live and recent data, never times before 2017, so it does
// not carry the whole leap-second table that @umbra/core has (and cannot
// import: core is Node code). Times the gateway already gives as ISO text
// (archive points, events) are used as given.

/** Unix ms of 1958-01-01T00:00:00, the TAI epoch on the Unix count (as in @umbra/core). */
export const TAI_EPOCH_UNIX_MS = -378_691_200_000;
/** TAI - UTC in seconds since 2017-01-01. */
export const TAI_MINUS_UTC_S = 37;

const NS = /^[0-9]{1,20}$/;

/** UTC Unix ms of a mission time given as decimal TAI ns, or undefined for anything else. */
export function missionNsToUtcMs(ns: string | number | bigint | null | undefined): number | undefined {
  let whole: bigint;
  if (typeof ns === "bigint") whole = ns;
  else if (typeof ns === "string" && NS.test(ns)) whole = BigInt(ns);
  else if (typeof ns === "number" && Number.isSafeInteger(ns) && ns >= 0) whole = BigInt(ns);
  else return undefined;
  if (whole < 0n) return undefined;
  // Whole ms through bigint (ns beyond 2^53 lose precision as doubles), the sub-ms part as a fraction.
  const ms = Number(whole / 1_000_000n) + Number(whole % 1_000_000n) / 1e6;
  return ms + TAI_EPOCH_UNIX_MS - TAI_MINUS_UTC_S * 1000;
}

/** "2026-11-21 09:15:43Z" (seconds), or "-" for an unusable time. */
export function formatUtc(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "-";
  return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

/** "09:15:43" (UTC), or "-". */
export function formatUtcTime(ms: number | undefined): string {
  const s = formatUtc(ms);
  return s === "-" ? s : s.slice(11, 19);
}

/** A mission time (decimal TAI ns) as "2026-11-21 09:15:43Z". */
export function formatMission(ns: string | null | undefined): string {
  return formatUtc(missionNsToUtcMs(ns));
}

/** A duration in seconds as "45 s", "12 min", "3.5 h" or "2 d". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "-";
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s < 120) return `${sign}${Math.round(s)} s`;
  if (s < 7200) return `${sign}${Math.round(s / 60)} min`;
  if (s < 172_800) return `${sign}${(s / 3600).toFixed(1).replace(/\.0$/, "")} h`;
  return `${sign}${(s / 86_400).toFixed(1).replace(/\.0$/, "")} d`;
}

/** One reading of the gateway's mission clock (/api/health's missionTime) and when it was taken (wall clock, ms). */
export interface ClockReading {
  wallMs: number;
  missionMs: number;
}

/** How far past the last reading the mission time is carried on (wall ms); beyond it, the reading is stale and stays put. */
export const MAX_EXTRAPOLATION_MS = 30_000;

/**
 * Mission time now, between readings: the newest reading carried on at the
 * rate the last two show (a HIL bench runs its mission time faster than the
 * wall clock: 60× by default), or 1× with one reading or a rate that makes
 * no sense (a reset, a clock that jumped). Undefined without a reading.
 */
export function extrapolateMission(readings: readonly ClockReading[], wallNowMs: number): number | undefined {
  const last = readings[readings.length - 1];
  if (!last || !Number.isFinite(last.missionMs) || !Number.isFinite(last.wallMs)) return undefined;
  const prev = readings[readings.length - 2];
  let rate = 1;
  if (prev && last.wallMs > prev.wallMs) {
    const r = (last.missionMs - prev.missionMs) / (last.wallMs - prev.wallMs);
    if (Number.isFinite(r) && r >= 0 && r <= 100_000) rate = r;
  }
  const ahead = Number.isFinite(wallNowMs) ? Math.min(Math.max(0, wallNowMs - last.wallMs), MAX_EXTRAPOLATION_MS) : 0;
  return last.missionMs + ahead * rate;
}
