// Shared constants and helpers for the orbit tests. Times are plain UTC milliseconds.
import type { GroundStation } from '../../src/orbit/index.js';

export const utc = (iso: string): number => Date.parse(iso);
export const DAY_MS = 86_400_000;
export const R_EARTH = 6378.137;
export const MU = 398600.4418;
export const DEG = Math.PI / 180;

/**
 * ISS (ZARYA), NORAD 25544, epoch 2019 day 156.50900463 = 2019-06-05T12:12:58Z.
 * The sample TLE of the satellite.js README (v4–v7).
 */
export const ISS_TLE_2019_06_05 = {
  line1: '1 25544U 98067A   19156.50900463  .00003075  00000-0  59442-4 0  9992',
  line2: '2 25544  51.6433  59.2583 0008217  16.4489 347.6017 15.51174618173442',
} as const;

/**
 * Vanguard 1 (00005), epoch 2000-06-27T18:50:19.7Z: the first case of the SGP4 verification
 * set of Vallado, Crawford, Hujsak & Kelso, "Revisiting Spacetrack Report #3", AIAA 2006-6753
 * (SGP4-VER.TLE), with its published TEME states from tcppver.out.
 */
export const VANGUARD_TLE = {
  line1: '1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  4753',
  line2: '2 00005  34.2682 348.7242 1859667 331.7664  19.3264 10.82419157413667',
} as const;

/** Equinox and solstice instants (USNO / Astronomical Almanac 2024). */
export const MARCH_EQUINOX_2024 = utc('2024-03-20T03:06:00Z');
export const JUNE_SOLSTICE_2024 = utc('2024-06-20T20:51:00Z');

/** Keplerian period 2π√(a³/μ), s. */
export const keplerPeriodS = (altitudeKm: number): number => 2 * Math.PI * Math.sqrt((R_EARTH + altitudeKm) ** 3 / MU);

/**
 * Cylindrical-shadow eclipse fraction of a circular orbit (Wertz SMAD 3rd ed. ch. 5): (1/π)·acos(√(h² + 2Rh) / ((R+h)·cos β)); 0 when |β| is past critical.
 */
export function eclipseFraction(altitudeKm: number, betaDeg: number): number {
  const h = altitudeKm;
  const x = Math.sqrt(h * h + 2 * R_EARTH * h) / ((R_EARTH + h) * Math.cos(betaDeg * DEG));
  return x >= 1 ? 0 : Math.acos(x) / Math.PI;
}

export const WEILHEIM: GroundStation = {
  name: 'Weilheim',
  latitudeDeg: 47.88,
  longitudeDeg: 11.08,
  altitudeM: 600,
  minElevationDeg: 10,
};

export const NORTH_POLE: GroundStation = {
  name: 'North Pole',
  latitudeDeg: 90,
  longitudeDeg: 0,
  altitudeM: 0,
  minElevationDeg: 10,
};

export const durationS = (w: { startUtcMs: number; endUtcMs: number }): number => (w.endUtcMs - w.startUtcMs) / 1000;
