/**
 * Mission time: TAI nanoseconds since the CCSDS epoch 1958-01-01T00:00:00 TAI,
 * as a bigint. TAI never steps, so durations and ordering survive leap seconds,
 * and it maps directly onto CCSDS CUC/CDS with the 1958 agency epoch. A bigint
 * because a double cannot hold nanoseconds over decades (2^53 ns is ~104 days).
 */
import { taiMinusUtcAtTai, taiMinusUtcSeconds } from './leap-seconds.js';

/**
 * Unix milliseconds of 1958-01-01T00:00:00 UTC. TAI was defined to agree with
 * universal time at this instant, so it serves as the TAI epoch on the Unix count.
 */
export const TAI_EPOCH_UNIX_MS = -378_691_200_000;

export const NS_PER_MS = 1_000_000n;
export const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_SECOND;
const TAI_EPOCH_UNIX_MS_BIG = BigInt(TAI_EPOCH_UNIX_MS);
const MAX_EXACT_NS = BigInt(Number.MAX_SAFE_INTEGER);

function assertFinite(what: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
  }
}

function assertBigint(what: string, value: bigint): void {
  if (typeof value !== 'bigint') {
    throw new TypeError(`${what} must be a bigint (TAI ns), got ${typeof value} ${String(value)}`);
  }
}

/** Floor division: BigInt `/` truncates toward zero, which is wrong before the epoch. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/**
 * Milliseconds (possibly fractional) to nanoseconds, exact for whole ms.
 * `ms * 1e6` in floating point would round above 2^53, so the whole part goes
 * through bigint.
 */
export function msToNs(ms: number): bigint {
  assertFinite('ms', ms);
  const whole = Math.floor(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

/** Nanoseconds to (possibly fractional) milliseconds. */
export function nsToMs(ns: bigint): number {
  assertBigint('ns', ns);
  // One correctly rounded division while ns converts exactly; past 2^53 split
  // so the whole ms survive.
  if (ns <= MAX_EXACT_NS && ns >= -MAX_EXACT_NS) return Number(ns) / 1e6;
  const whole = floorDiv(ns, NS_PER_MS);
  return Number(whole) + Number(ns - whole * NS_PER_MS) / 1e6;
}

/** UTC (Unix ms, may be fractional) to mission time. */
export function utcMsToTaiNs(utcMs: number): bigint {
  assertFinite('utcMs', utcMs);
  const offsetNs = BigInt(taiMinusUtcSeconds(utcMs)) * NS_PER_SECOND;
  return msToNs(utcMs) - TAI_EPOCH_UNIX_MS_BIG * NS_PER_MS + offsetNs;
}

/**
 * Mission time to UTC, in whole Unix ms (floored, like Date.now()); mission
 * time itself carries the ns. Exact inverse of utcMsToTaiNs for whole ms,
 * except inside an inserted leap second, which Unix time cannot name: there the
 * result holds at the last ms before the step (23:59:59.999), so UTC never
 * runs backwards as TAI runs. Whole ms are what make that hold consistent: a
 * fractional result just before the step would otherwise exceed the hold value.
 */
export function taiNsToUtcMs(taiNs: bigint): number {
  assertBigint('taiNs', taiNs);
  const taiUnixMs = Number(floorDiv(taiNs, NS_PER_MS) + TAI_EPOCH_UNIX_MS_BIG);
  const { taiMinusUtc, leapSecondEndUtcMs } = taiMinusUtcAtTai(taiUnixMs);
  if (leapSecondEndUtcMs !== undefined) return leapSecondEndUtcMs - 1;
  return taiUnixMs - taiMinusUtc * 1000;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's
 * civil_from_days); Date would work too but caps at ±273,790 years and rounds ns.
 */
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/**
 * ISO-8601-like rendering on the TAI scale, always with nanoseconds, e.g.
 * "2026-11-21T05:30:00.123456789 TAI". TAI days are all 86,400 s, so no leap
 * second logic applies here.
 */
export function formatTai(taiNs: bigint): string {
  assertBigint('taiNs', taiNs);
  const daysSince1958 = floorDiv(taiNs, NS_PER_DAY);
  let nsOfDay = taiNs - daysSince1958 * NS_PER_DAY;
  const days = daysSince1958 + BigInt(TAI_EPOCH_UNIX_MS / 86_400_000);
  if (days > BigInt(Number.MAX_SAFE_INTEGER) || days < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`taiNs out of range for formatting: ${taiNs}`);
  }
  const { y, m, d } = civilFromDays(Number(days));
  const ns = Number(nsOfDay % NS_PER_SECOND);
  nsOfDay /= NS_PER_SECOND;
  const secOfDay = Number(nsOfDay);
  const hh = Math.floor(secOfDay / 3600);
  const mm = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  // ISO 8601 expanded years outside 0000..9999, as Date#toISOString does.
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
  return `${year}-${pad(m, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(ns, 9)} TAI`;
}
