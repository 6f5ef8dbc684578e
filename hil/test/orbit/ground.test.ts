import { describe, expect, it } from 'vitest';
import {
  contactWindows,
  createPropagator,
  elevationDeg,
  geodeticToEci,
  lookAngles,
  OrbitError,
  sunSynchronousInclinationDeg,
  sunSynchronousOrbit,
  type GroundStation,
  type OrbitState,
  type Vec3,
  type Window,
} from '../../src/orbit/index.js';
import { DAY_MS, DEG, durationS, NORTH_POLE, R_EARTH, utc, WEILHEIM } from './fixtures.js';

const T = utc('2025-01-01T00:00:00Z');
const POLAR_RADIUS = 6356.7523142; // WGS-84 b
const zero: Vec3 = { x: 0, y: 0, z: 0 };
const stateAt = (positionKm: Vec3, utcMs = T): OrbitState => ({
  utcMs,
  positionKm,
  velocityKmS: zero,
  latitudeDeg: 0,
  longitudeDeg: 0,
  altitudeKm: 0,
});

/** Earth central angle from a station at radius rs to where a satellite at radius r sits at elevation ε (spherical). */
const centralAngleRad = (rs: number, r: number, elDeg: number): number =>
  Math.PI / 2 - elDeg * DEG - Math.asin((rs * Math.cos(elDeg * DEG)) / r);

describe('elevationDeg: hand-checked geometry', () => {
  it('is 90° for a satellite straight up the station normal, anywhere', () => {
    for (const [lat, lon, altM] of [
      [35, -120, 100],
      [-33.9, 18.4, 0],
      [78.23, 15.39, 500],
      [0, 179.9, 0],
    ] as const) {
      const station: GroundStation = { name: 's', latitudeDeg: lat, longitudeDeg: lon, altitudeM: altM, minElevationDeg: 0 };
      const overhead = geodeticToEci(lat, lon, 500, T + 12_345_678);
      expect(elevationDeg(station, stateAt(overhead, T + 12_345_678))).toBeCloseTo(90, 6);
      expect(lookAngles(station, stateAt(overhead, T + 12_345_678)).rangeKm).toBeCloseTo(500 - altM / 1000, 6);
    }
  });

  it('matches the spherical-triangle elevation in the equatorial plane (where WGS-84 is a circle)', () => {
    const station: GroundStation = { name: 'eq', latitudeDeg: 0, longitudeDeg: 0, altitudeM: 0, minElevationDeg: 0 };
    const r = R_EARTH + 500;
    const overEquator = (thetaDeg: number): Vec3 => geodeticToEci(0, thetaDeg, 500, T);
    // On the horizon: cos θ = R/r.
    const horizon = Math.acos(R_EARTH / r) / DEG;
    expect(elevationDeg(station, stateAt(overEquator(horizon)))).toBeCloseTo(0, 6);
    for (const theta of [5, 10, 20]) {
      const expected = Math.atan((Math.cos(theta * DEG) - R_EARTH / r) / Math.sin(theta * DEG)) / DEG;
      expect(elevationDeg(station, stateAt(overEquator(theta)))).toBeCloseTo(expected, 6);
      expect(elevationDeg(station, stateAt(overEquator(-theta)))).toBeCloseTo(expected, 6);
    }
    // Azimuth: a satellite due east of an equatorial station is at azimuth 90°.
    expect(lookAngles(station, stateAt(overEquator(10))).azimuthDeg).toBeCloseTo(90, 6);
  });

  it('validates the station, naming the field', () => {
    const s = stateAt(geodeticToEci(0, 0, 500, T));
    expect(() => elevationDeg({ ...WEILHEIM, latitudeDeg: 91 }, s)).toThrow(/station\.latitudeDeg must be in \[-90, 90\]/);
    expect(() => elevationDeg({ ...WEILHEIM, altitudeM: Number.NaN }, s)).toThrow(/station\.altitudeM must be a finite number/);
    expect(() => elevationDeg({ ...WEILHEIM, name: '' }, s)).toThrow(/station\.name/);
    expect(() => elevationDeg(WEILHEIM, stateAt({ x: Number.NaN, y: 0, z: 0 }))).toThrow(OrbitError);
  });
});

describe('contactWindows', () => {
  const t0 = T;
  const t1 = t0 + DAY_MS;
  const sso = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: 500 }));

  it('gives a mid-latitude station (Weilheim, 47.9°N, 10° mask) several contacts a day from a 500 km SSO', () => {
    const cs = contactWindows(sso, WEILHEIM, t0, t1);
    expect(cs.length).toBeGreaterThanOrEqual(3);
    expect(cs.length).toBeLessThanOrEqual(8);
    // Longest possible pass at a 10° mask: the arc 2λ of the orbit, λ = 90° − ε − asin(R cos ε / r) ≈ 14.1°,
    // i.e. ≈ 7.4 min at 94.6 min per orbit (Earth rotation stretches it by a few seconds).
    const maxPassMin = ((2 * centralAngleRad(R_EARTH, R_EARTH + 500, 10)) / (2 * Math.PI)) * (sso.periodS / 60);
    expect(maxPassMin).toBeCloseTo(7.39, 1);
    for (const c of cs) {
      expect(c.station).toBe('Weilheim');
      expect(c.maxElevationDeg).toBeGreaterThanOrEqual(WEILHEIM.minElevationDeg);
      expect(c.maxElevationDeg).toBeLessThanOrEqual(90);
      expect(durationS(c) / 60).toBeGreaterThan(0);
      expect(durationS(c) / 60).toBeLessThan(maxPassMin * 1.05);
      // The edges sit on the mask.
      expect(elevationDeg(WEILHEIM, sso.propagate(c.startUtcMs))).toBeCloseTo(10, 1);
      expect(elevationDeg(WEILHEIM, sso.propagate(c.endUtcMs))).toBeCloseTo(10, 1);
      // The reported peak is the peak.
      for (let t = c.startUtcMs; t <= c.endUtcMs; t += 5_000) {
        expect(elevationDeg(WEILHEIM, sso.propagate(t))).toBeLessThanOrEqual(c.maxElevationDeg + 1e-6);
      }
    }
    expect(cs.filter((c) => durationS(c) > 4 * 60).length).toBeGreaterThanOrEqual(2);
  });

  it('lets a station at the pole see every revolution of a polar orbit, overhead, for the analytic pass length', () => {
    const polar = createPropagator({ kind: 'circular', altitudeKm: 500, inclinationDeg: 90, epochUtcMs: t0 });
    const cs = contactWindows(polar, NORTH_POLE, t0, t1);
    const revs = DAY_MS / 1000 / polar.periodS;
    expect(cs.length).toBeGreaterThanOrEqual(Math.floor(revs));
    expect(cs.length).toBeLessThanOrEqual(Math.ceil(revs) + 1);
    // The pole sits on the polar radius b, so λ uses b: ≈ 14.47°, a 7.61 min pass.
    const passS = ((2 * centralAngleRad(POLAR_RADIUS, R_EARTH + 500, 10)) / (2 * Math.PI)) * polar.periodS;
    const whole = cs.filter((w) => w.startUtcMs > t0 && w.endUtcMs < t1);
    expect(whole.length).toBeGreaterThanOrEqual(Math.floor(revs) - 1);
    for (const c of whole) {
      expect(c.maxElevationDeg).toBeGreaterThan(89.9);
      expect(Math.abs(durationS(c) - passS)).toBeLessThan(1);
    }
    for (let i = 1; i < whole.length; i++) {
      expect(((whole[i] as Window).startUtcMs - (whole[i - 1] as Window).startUtcMs) / 1000).toBeCloseTo(polar.periodS, -1);
    }
  });

  it('lets a station at the pole see every revolution of a 97.4° SSO, peaking at the hand-computed 27.64°', () => {
    const cs = contactWindows(sso, NORTH_POLE, t0, t1);
    const revs = DAY_MS / 1000 / sso.periodS;
    expect(cs.length).toBeGreaterThanOrEqual(Math.floor(revs));
    // Closest approach: geocentric colatitude λ = i − 90°; from the pole (radius b) the elevation is
    // atan((r cos λ − b) / (r sin λ)).
    const lam = (sunSynchronousInclinationDeg(500) - 90) * DEG;
    const r = R_EARTH + 500;
    const expected = Math.atan((r * Math.cos(lam) - POLAR_RADIUS) / (r * Math.sin(lam))) / DEG;
    expect(expected).toBeCloseTo(27.64, 2);
    const whole = cs.filter((w) => w.startUtcMs > t0 && w.endUtcMs < t1);
    expect(whole.length).toBeGreaterThanOrEqual(Math.floor(revs) - 1);
    for (const c of whole) {
      expect(c.maxElevationDeg).toBeCloseTo(expected, 2);
    }
  });

  it('finds no contacts for an equatorial orbit from the pole', () => {
    const eq = createPropagator({ kind: 'circular', altitudeKm: 500, inclinationDeg: 0, epochUtcMs: t0 });
    expect(contactWindows(eq, NORTH_POLE, t0, t1)).toEqual([]);
  });
});
