import { ecfToLookAngles } from 'satellite.js';
import { describe, OrbitError, requireFinite, requireInRange } from './errors.js';
import { eciToEcfKm } from './frames.js';
import type { OrbitState } from './propagator.js';
import { degToRad, radToDeg } from './time.js';
import { isFiniteVec } from './vec.js';

export interface GroundStation {
  name: string;
  /** Geodetic (WGS-84) latitude, degrees. */
  latitudeDeg: number;
  longitudeDeg: number;
  /** Height above the WGS-84 ellipsoid, metres. */
  altitudeM: number;
  /** Elevation mask: a contact needs the satellite at least this high, degrees. */
  minElevationDeg: number;
}

export interface LookAngles {
  /** From north through east, degrees in [0, 360). */
  azimuthDeg: number;
  /** Above the station's local (geodetic) horizon, degrees. */
  elevationDeg: number;
  rangeKm: number;
}

/** Throws an OrbitError naming the bad field unless `station` is usable. */
export function validateGroundStation(station: GroundStation): GroundStation {
  if (typeof station !== 'object' || station === null) {
    throw new OrbitError(`station must be a GroundStation object, got ${describe(station)}`);
  }
  if (typeof station.name !== 'string' || station.name === '') {
    throw new OrbitError(`station.name must be a non-empty string, got ${describe(station.name)}`);
  }
  requireInRange(station.latitudeDeg, 'station.latitudeDeg', -90, 90, 'deg');
  requireInRange(station.longitudeDeg, 'station.longitudeDeg', -180, 360, 'deg');
  requireInRange(station.altitudeM, 'station.altitudeM', -500, 10_000, 'm');
  requireInRange(station.minElevationDeg, 'station.minElevationDeg', -90, 90, 'deg');
  return station;
}

/**
 * Azimuth, elevation and range of the satellite from the station, in the station's
 * topocentric south-east-zenith frame (Vallado 2013 RAZEL / T.S. Kelso; via satellite.js).
 * Refraction is ignored (it lifts a 0° ray by ~0.5°; masks are ≥ 5° in practice).
 */
export function lookAngles(station: GroundStation, state: OrbitState): LookAngles {
  validateGroundStation(station);
  if (typeof state !== 'object' || state === null || !isFiniteVec(state.positionKm)) {
    throw new OrbitError('state.positionKm must be a Vec3 of finite numbers');
  }
  const utcMs = requireFinite(state.utcMs, 'state.utcMs');
  const look = ecfToLookAngles(
    {
      latitude: degToRad(station.latitudeDeg),
      longitude: degToRad(station.longitudeDeg),
      height: station.altitudeM / 1000,
    },
    eciToEcfKm(state.positionKm, utcMs),
  );
  return {
    azimuthDeg: ((radToDeg(look.azimuth) % 360) + 360) % 360,
    elevationDeg: radToDeg(look.elevation),
    rangeKm: look.rangeSat,
  };
}

/** Elevation of the satellite above the station's horizon, degrees (90 = overhead). */
export function elevationDeg(station: GroundStation, state: OrbitState): number {
  return lookAngles(station, state).elevationDeg;
}
