/**
 * Physical constants. Earth values are WGS-84 / EGM-96 (Vallado 2013, Table D-1);
 * the brief fixes μ and the equatorial radius, and every analytic formula in the
 * tests uses the same numbers.
 */

/** Earth gravitational parameter, km³/s². */
export const MU_EARTH_KM3_S2 = 398600.4418;
/** Earth equatorial radius, km. Also the radius of the shadow-casting sphere. */
export const EARTH_RADIUS_KM = 6378.137;
/** Second zonal harmonic (unnormalised), EGM-96. */
export const J2_EARTH = 1.08262668e-3;
/** Nominal solar radius, km (IAU 2015 Resolution B3). */
export const SUN_RADIUS_KM = 695700;
/** Astronomical unit, km (IAU 2012 Resolution B2). */
export const AU_KM = 149597870.7;
/** Tropical year, days: a sun-synchronous node turns 360° in this time. */
export const TROPICAL_YEAR_DAYS = 365.2422;
/** Allowed circular-orbit altitude: below ~160 km an orbit decays in hours; above GEO is out of scope. */
export const MIN_ALTITUDE_KM = 160;
export const MAX_ALTITUDE_KM = 36000;

export const DEG = Math.PI / 180;
export const MS_PER_DAY = 86_400_000;
/** Julian date of the Unix epoch, 1970-01-01T00:00:00Z. */
export const JD_UNIX_EPOCH = 2440587.5;
