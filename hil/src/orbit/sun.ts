import { sunPos } from 'satellite.js';
import { AU_KM, EARTH_RADIUS_KM, SUN_RADIUS_KM } from './constants.js';
import { describe, OrbitError } from './errors.js';
import { julianDate } from './time.js';
import { angleBetween, cross, dot, isFiniteVec, norm, sub } from './vec.js';
import type { Vec3 } from './vec.js';

/**
 * Geocentric Sun position, km, in the equator/equinox of date (the module's ECI).
 * Low-precision solar ephemeris of the Astronomical Almanac as given by Vallado
 * (2013, algorithm SUN; via satellite.js sunPos): ~0.01° in direction and
 * ~1e-4 AU in distance for 1950–2050.
 */
export function sunPositionKm(utcMs: number): Vec3 {
  const { rsun } = sunPos(julianDate(utcMs));
  return { x: rsun.x * AU_KM, y: rsun.y * AU_KM, z: rsun.z * AU_KM };
}

/** Right ascension and declination of an ECI direction, degrees (RA in [0, 360)). */
export function raDecDeg(v: Vec3): { raDeg: number; decDeg: number } {
  const ra = (Math.atan2(v.y, v.x) * 180) / Math.PI;
  return { raDeg: (ra + 360) % 360, decDeg: (Math.atan2(v.z, Math.hypot(v.x, v.y)) * 180) / Math.PI };
}

/**
 * - `cylindrical`: Earth's shadow is a cylinder of radius R⊕ along the Sun line (Sun at infinity,
 *   point-like): lit or not, no penumbra (Vallado 2013 algorithm SHADOW; Wertz SMAD ch. 5).
 * - `conical`: the Sun is a disc of finite size at its true distance; the lit fraction is the
 *   part of the solar disc not covered by the Earth's disc as seen from the satellite, which gives
 *   the umbra and penumbra cones (Montenbruck & Gill 2000 §3.4.2, eclipse conditions).
 */
export type ShadowModel = 'cylindrical' | 'conical';

function requireVec(v: unknown, field: string): Vec3 {
  if (!isFiniteVec(v)) throw new OrbitError(`${field} must be a Vec3 of finite numbers, got ${describe(v)}`);
  return v;
}

/**
 * Fraction of the solar disc visible from `satKm` (ECI, km): 1 = full sun, 0 = umbra.
 * A point at or below the Earth's surface (|r| ≤ R⊕) gets 0 in both models.
 */
export function sunFraction(satKm: Vec3, sunKm: Vec3, model: ShadowModel): number {
  const r = requireVec(satKm, 'satKm');
  const s = requireVec(sunKm, 'sunKm');
  const rMag = norm(r);
  const sMag = norm(s);
  if (sMag <= EARTH_RADIUS_KM) throw new OrbitError(`sunKm must lie outside the Earth, |sunKm| = ${sMag} km`);
  if (rMag <= EARTH_RADIUS_KM) return 0;
  if (model === 'cylindrical') {
    // Behind the Earth (r·ŝ < 0) and within R⊕ of the Earth–Sun axis.
    const along = dot(r, s) / sMag;
    if (along >= 0) return 1;
    const perp2 = rMag * rMag - along * along;
    return perp2 < EARTH_RADIUS_KM * EARTH_RADIUS_KM ? 0 : 1;
  }
  if (model !== 'conical') throw new OrbitError(`model must be "cylindrical" or "conical", got ${describe(model)}`);
  // Montenbruck & Gill (2000) §3.4.2: apparent radii of Sun (a) and Earth (b), their separation (c).
  const toSun = sub(s, r);
  const dSun = norm(toSun);
  if (dSun <= SUN_RADIUS_KM) return 1;
  const a = Math.asin(SUN_RADIUS_KM / dSun);
  const b = Math.asin(EARTH_RADIUS_KM / rMag);
  const c = angleBetween({ x: -r.x, y: -r.y, z: -r.z }, toSun);
  if (c >= a + b) return 1; // discs apart: full sun
  if (c <= b - a) return 0; // Sun disc wholly behind Earth: umbra
  if (c <= a - b) return 1 - (b * b) / (a * a); // Earth disc wholly inside Sun disc: annular (far from Earth only)
  // Partial overlap: area of the lens between two circles of radii a, b at distance c.
  const x = (c * c + a * a - b * b) / (2 * c);
  const y = Math.sqrt(Math.max(0, a * a - x * x));
  const area = a * a * Math.acos(clamp(x / a, -1, 1)) + b * b * Math.acos(clamp((c - x) / b, -1, 1)) - c * y;
  return clamp(1 - area / (Math.PI * a * a), 0, 1);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Solar beta angle, degrees: the Sun's elevation above the orbit plane, positive on the side
 * of the angular momentum r × v (Wertz SMAD ch. 5). |β| above asin(R⊕/(R⊕+h)) means no eclipse.
 */
export function betaAngleDeg(positionKm: Vec3, velocityKmS: Vec3, sunKm: Vec3): number {
  const h = cross(requireVec(positionKm, 'positionKm'), requireVec(velocityKmS, 'velocityKmS'));
  const s = requireVec(sunKm, 'sunKm');
  const hMag = norm(h);
  const sMag = norm(s);
  if (hMag === 0 || sMag === 0) throw new OrbitError('betaAngleDeg needs non-zero r × v and Sun vectors');
  return 90 - (angleBetween(h, s) * 180) / Math.PI;
}
