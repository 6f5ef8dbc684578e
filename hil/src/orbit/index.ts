/**
 * Orbit geometry for the HIL environment: pure, deterministic functions of UTC time
 * (milliseconds since the Unix epoch). No I/O and no wall clock.
 *
 * Frames: ECI is TEME / equator-and-equinox of date (what SGP4 outputs); Earth-fixed is ECI
 * rotated by GMST; geodetic is WGS-84. Distances km, velocities km/s, angles degrees.
 */
export {
  AU_KM,
  EARTH_RADIUS_KM,
  J2_EARTH,
  MAX_ALTITUDE_KM,
  MIN_ALTITUDE_KM,
  MU_EARTH_KM3_S2,
  SUN_RADIUS_KM,
  TROPICAL_YEAR_DAYS,
} from './constants.js';
export { OrbitError } from './errors.js';
export type { Geodetic } from './frames.js';
export { ecfToEciKm, eciToEcfKm, eciToGeodeticDeg, geodeticToEci } from './frames.js';
export type { GroundStation, LookAngles } from './ground.js';
export { elevationDeg, lookAngles, validateGroundStation } from './ground.js';
export type { OrbitPropagator, OrbitSpec, OrbitState, Propagator } from './propagator.js';
export {
  circularPeriodS,
  createPropagator,
  nodalPrecessionRadS,
  sunSynchronousInclinationDeg,
  tleChecksum,
} from './propagator.js';
export type { LatLon } from './saa.js';
export { inPolygon, SOUTH_ATLANTIC_ANOMALY } from './saa.js';
export type { SunSynchronousOptions } from './sso.js';
export { ascendingNodeDeg, localTimeOfAscendingNodeHours, sunSynchronousOrbit } from './sso.js';
export type { ShadowModel } from './sun.js';
export { betaAngleDeg, raDecDeg, sunFraction, sunPositionKm } from './sun.js';
export { gmstRad, julianDate } from './time.js';
export type { Vec3 } from './vec.js';
export type { ContactWindow, Window } from './windows.js';
export { contactWindows, eclipseWindows, predicateWindows, regionWindows } from './windows.js';
