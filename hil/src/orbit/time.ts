import { gstime } from 'satellite.js';
import { DEG, JD_UNIX_EPOCH, MS_PER_DAY } from './constants.js';
import { requireFinite } from './errors.js';

/**
 * Julian date for UTC milliseconds since the Unix epoch. UTC stands in for UT1
 * (|UT1−UTC| < 0.9 s, i.e. < 4″ of Earth rotation) and for TT in the solar
 * ephemeris (~69 s, i.e. < 3″ of solar longitude): both far below what these
 * models resolve.
 */
export function julianDate(utcMs: number): number {
  return requireFinite(utcMs, 'utcMs') / MS_PER_DAY + JD_UNIX_EPOCH;
}

/** Greenwich mean sidereal time in radians, [0, 2π) (IAU-82 expression of Vallado's GSTIME, via satellite.js). */
export function gmstRad(utcMs: number): number {
  return gstime(julianDate(utcMs));
}

/** Wraps an angle in degrees to [-180, 180). */
export function wrapDeg180(deg: number): number {
  return ((((deg + 180) % 360) + 360) % 360) - 180;
}

/** Wraps an angle in radians to [0, 2π). */
export function wrapRad2Pi(rad: number): number {
  const t = 2 * Math.PI;
  return ((rad % t) + t) % t;
}

export const degToRad = (deg: number): number => deg * DEG;
export const radToDeg = (rad: number): number => rad / DEG;
