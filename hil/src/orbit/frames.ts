/**
 * ECI <-> Earth-fixed <-> geodetic. "ECI" throughout this module is the
 * true-equator, mean-equinox-of-date frame that SGP4 produces (TEME); it is
 * rotated to Earth-fixed by GMST alone, as Vallado (2013 §3.7, SGP4 usage)
 * prescribes for TEME, ignoring polar motion (< 15 m). The circular-orbit
 * model and the solar ephemeris use the same frame, so angles between them
 * (beta, shadow) are consistent; against J2000 this frame differs by
 * precession, ~0.014°/yr, which nothing here resolves.
 */
import { ecfToEci, eciToEcf, eciToGeodetic, geodeticToEcf } from 'satellite.js';
import { requireFinite, requireInRange } from './errors.js';
import { degToRad, gmstRad, radToDeg, wrapDeg180 } from './time.js';
import type { Vec3 } from './vec.js';

/** WGS-84 ellipsoid, as used by satellite.js's geodetic transforms. */
const WGS84_A_KM = 6378.137;
const WGS84_B_KM = 6356.7523142;
const WGS84_E2 = 1 - (WGS84_B_KM * WGS84_B_KM) / (WGS84_A_KM * WGS84_A_KM);

export interface Geodetic {
  latitudeDeg: number;
  longitudeDeg: number;
  altitudeKm: number;
}

/** Earth-fixed (ECEF/PEF) position at `utcMs` for an ECI (TEME) position. */
export function eciToEcfKm(positionKm: Vec3, utcMs: number): Vec3 {
  return eciToEcf(positionKm, gmstRad(utcMs));
}

export function ecfToEciKm(ecfKm: Vec3, utcMs: number): Vec3 {
  return ecfToEci(ecfKm, gmstRad(utcMs));
}

/**
 * Geodetic latitude/longitude/height on WGS-84 for an ECI position.
 * Latitude and longitude come from satellite.js (Kelso's iteration); the
 * height is recomputed as p·cosφ + z·sinφ − a·√(1 − e²sin²φ) because
 * satellite.js's p/cosφ − N divides 0 by 0 over the poles (a polar orbit
 * crossing 90° latitude would get a height hundreds of km off).
 */
export function eciToGeodeticDeg(positionKm: Vec3, utcMs: number): Geodetic {
  const gd = eciToGeodetic(positionKm, gmstRad(utcMs));
  const phi = gd.latitude;
  const p = Math.hypot(positionKm.x, positionKm.y);
  const s = Math.sin(phi);
  const altitudeKm = p * Math.cos(phi) + positionKm.z * s - WGS84_A_KM * Math.sqrt(1 - WGS84_E2 * s * s);
  return { latitudeDeg: radToDeg(phi), longitudeDeg: wrapDeg180(radToDeg(gd.longitude)), altitudeKm };
}

/** ECI (TEME) position at `utcMs` of a point given by geodetic latitude, longitude and height above WGS-84. */
export function geodeticToEci(latitudeDeg: number, longitudeDeg: number, altitudeKm: number, utcMs: number): Vec3 {
  requireInRange(latitudeDeg, 'latitudeDeg', -90, 90, 'deg');
  requireFinite(longitudeDeg, 'longitudeDeg');
  requireFinite(altitudeKm, 'altitudeKm');
  const ecf = geodeticToEcf({
    latitude: degToRad(latitudeDeg),
    longitude: degToRad(longitudeDeg),
    height: altitudeKm,
  });
  return ecfToEciKm(ecf, utcMs);
}
