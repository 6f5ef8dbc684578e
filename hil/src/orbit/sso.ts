import { describe, OrbitError, requireFinite, requireInRange } from './errors.js';
import type { OrbitSpec, OrbitState } from './propagator.js';
import { sunSynchronousInclinationDeg } from './propagator.js';
import { raDecDeg, sunPositionKm } from './sun.js';
import { cross } from './vec.js';
import type { Vec3 } from './vec.js';

/** Right ascension of the ascending node of the orbit through r with velocity v, degrees in [0, 360). */
export function ascendingNodeDeg(positionKm: Vec3, velocityKmS: Vec3): number {
  const h = cross(positionKm, velocityKmS);
  // Node line n = ẑ × h = (−h_y, h_x, 0) (Vallado 2013 RV2COE).
  if (h.x === 0 && h.y === 0) throw new OrbitError('equatorial orbit: the ascending node is undefined');
  const deg = (Math.atan2(h.x, -h.y) * 180) / Math.PI;
  return (deg + 360) % 360;
}

/**
 * Local (apparent solar) time of the ascending node, hours in [0, 24): 12 h when the node
 * points at the Sun. A sun-synchronous orbit holds this to within the equation of time
 * (±16 min), since the node follows the mean Sun.
 */
export function localTimeOfAscendingNodeHours(state: OrbitState): number {
  const raan = ascendingNodeDeg(state.positionKm, state.velocityKmS);
  const { raDeg } = raDecDeg(sunPositionKm(state.utcMs));
  return ((((12 + (raan - raDeg) / 15) % 24) + 24) % 24);
}

export interface SunSynchronousOptions {
  epochUtcMs: number;
  /** Default 500 km. */
  altitudeKm?: number;
  /** Local time of the ascending node at epoch, hours; default 10.5 (a 10:30 orbit). 6 or 18 is dawn–dusk. */
  ltanHours?: number;
  /** Default 0: at the ascending node at epoch. */
  argumentOfLatitudeDeg?: number;
}

/** A circular sun-synchronous OrbitSpec: SSO inclination for the altitude, node placed for the requested LTAN. */
export function sunSynchronousOrbit(options: SunSynchronousOptions): Extract<OrbitSpec, { kind: 'circular' }> {
  if (typeof options !== 'object' || options === null) {
    throw new OrbitError(`sunSynchronousOrbit options must be an object, got ${describe(options)}`);
  }
  const epochUtcMs = requireFinite(options.epochUtcMs, 'epochUtcMs');
  const altitudeKm = options.altitudeKm ?? 500;
  const ltanHours = requireInRange(options.ltanHours ?? 10.5, 'ltanHours', 0, 24, 'h');
  const argumentOfLatitudeDeg = requireFinite(options.argumentOfLatitudeDeg ?? 0, 'argumentOfLatitudeDeg');
  const inclinationDeg = sunSynchronousInclinationDeg(altitudeKm);
  const { raDeg } = raDecDeg(sunPositionKm(epochUtcMs));
  const raanDeg = (((raDeg + (ltanHours - 12) * 15) % 360) + 360) % 360;
  return { kind: 'circular', altitudeKm, inclinationDeg, raanDeg, argumentOfLatitudeDeg, epochUtcMs, j2: true };
}
