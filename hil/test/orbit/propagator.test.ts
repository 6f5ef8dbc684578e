import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  circularPeriodS,
  createPropagator,
  localTimeOfAscendingNodeHours,
  nodalPrecessionRadS,
  OrbitError,
  sunSynchronousInclinationDeg,
  sunSynchronousOrbit,
  tleChecksum,
  type OrbitSpec,
} from '../../src/orbit/index.js';
import { DAY_MS, DEG, ISS_TLE_2019_06_05, keplerPeriodS, MU, R_EARTH, utc, VANGUARD_TLE } from './fixtures.js';

const EPOCH = utc('2025-01-01T00:00:00Z');
const norm = (v: { x: number; y: number; z: number }): number => Math.hypot(v.x, v.y, v.z);

describe('circular orbit period', () => {
  // Published LEO periods (e.g. Wertz SMAD appendix tables): 92.6, 94.6, 96.7 min.
  it.each([
    [400, 92.56],
    [500, 94.62],
    [600, 96.69],
  ])('%i km: 2π√(a³/μ) ≈ %f min', (h, publishedMin) => {
    const p = createPropagator({ kind: 'circular', altitudeKm: h, inclinationDeg: 51.6, epochUtcMs: EPOCH });
    expect(p.periodS).toBeCloseTo(keplerPeriodS(h), 9);
    expect(circularPeriodS(h)).toBeCloseTo(keplerPeriodS(h), 9);
    expect(p.periodS / 60).toBeCloseTo(publishedMin, 1);
  });

  it('returns to the same ECI position after one period when J2 is off', () => {
    const p = createPropagator({ kind: 'circular', altitudeKm: 500, inclinationDeg: 97.4, raanDeg: 40, epochUtcMs: EPOCH, j2: false });
    const a = p.propagate(EPOCH + 1234_000).positionKm;
    const b = p.propagate(EPOCH + 1234_000 + p.periodS * 1000).positionKm;
    expect(Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z)).toBeLessThan(1e-6);
  });

  it('starts at the ascending node at argument of latitude 0, and reaches max latitude ≈ inclination at 90°', () => {
    const p = createPropagator({ kind: 'circular', altitudeKm: 500, inclinationDeg: 51.6, raanDeg: 0, epochUtcMs: EPOCH });
    const s0 = p.propagate(EPOCH);
    expect(s0.positionKm.z).toBeCloseTo(0, 9);
    expect(s0.velocityKmS.z).toBeGreaterThan(0);
    const top = p.propagate(EPOCH + (p.periodS / 4) * 1000);
    // Geodetic latitude exceeds geocentric by up to ~0.19° at mid latitudes (WGS-84 flattening).
    expect(top.latitudeDeg).toBeGreaterThan(51.6);
    expect(top.latitudeDeg).toBeLessThan(51.6 + 0.2);
  });
});

describe('J2 nodal precession and sun-synchronous orbits', () => {
  it('gives the published sun-synchronous inclinations (SMAD: ≈97.4° at 500 km)', () => {
    expect(sunSynchronousInclinationDeg(400)).toBeCloseTo(97.03, 1);
    expect(sunSynchronousInclinationDeg(500)).toBeCloseTo(97.4, 1);
    expect(sunSynchronousInclinationDeg(600)).toBeCloseTo(97.79, 1);
    expect(sunSynchronousInclinationDeg(800)).toBeCloseTo(98.6, 1);
  });

  it('regresses the node 360° per tropical year at the SSO inclination', () => {
    const rateDegPerDay = (nodalPrecessionRadS(500, sunSynchronousInclinationDeg(500)) * 86400) / DEG;
    expect(rateDegPerDay).toBeCloseTo(360 / 365.2422, 9);
  });

  it('regresses an ISS-like orbit (400 km, 51.6°) by about −5°/day, as published for the ISS', () => {
    const rateDegPerDay = (nodalPrecessionRadS(400, 51.6) * 86400) / DEG;
    expect(rateDegPerDay).toBeGreaterThan(-5.1);
    expect(rateDegPerDay).toBeLessThan(-4.9);
  });

  it('refuses altitudes where no sun-synchronous orbit exists', () => {
    expect(() => sunSynchronousInclinationDeg(8000)).toThrow(OrbitError);
    expect(() => sunSynchronousInclinationDeg(8000)).toThrow(/no sun-synchronous orbit/);
  });

  it('keeps a 500 km 10:30 SSO at 10:30 over a year, up to the equation of time', () => {
    const spec = sunSynchronousOrbit({ epochUtcMs: EPOCH, altitudeKm: 500, ltanHours: 10.5 });
    expect(spec.inclinationDeg).toBeCloseTo(97.4, 1);
    const p = createPropagator(spec);
    expect(localTimeOfAscendingNodeHours(p.propagate(EPOCH))).toBeCloseTo(10.5, 6);
    // The node follows the mean Sun; the true Sun leads/lags it by the equation of time, −14 … +16 min.
    for (let d = 0; d <= 365; d += 5) {
      const ltan = localTimeOfAscendingNodeHours(p.propagate(EPOCH + d * DAY_MS));
      expect(Math.abs(ltan - 10.5)).toBeLessThan(0.5);
    }
    const afterYear = localTimeOfAscendingNodeHours(p.propagate(EPOCH + 365.2422 * DAY_MS));
    expect(afterYear).toBeCloseTo(10.5, 2);
  });

  it('without J2 the node stays fixed in inertial space, so local time drifts 6 h per quarter year', () => {
    const spec = { ...sunSynchronousOrbit({ epochUtcMs: EPOCH, ltanHours: 10.5 }), j2: false };
    const p = createPropagator(spec);
    const ltan = localTimeOfAscendingNodeHours(p.propagate(EPOCH + (365.2422 / 4) * DAY_MS));
    expect(ltan).toBeCloseTo(4.5, 1);
  });
});

describe('circular orbit properties (fast-check)', () => {
  const specArb = fc.record({
    altitudeKm: fc.double({ min: 160, max: 36000, noNaN: true }),
    inclinationDeg: fc.double({ min: 0, max: 180, noNaN: true }),
    raanDeg: fc.double({ min: -720, max: 720, noNaN: true }),
    argumentOfLatitudeDeg: fc.double({ min: -720, max: 720, noNaN: true }),
    j2: fc.boolean(),
  });
  const offsetMs = fc.double({ min: -400 * DAY_MS, max: 400 * DAY_MS, noNaN: true });

  it('keeps |r| = R⊕ + h within 1 m, speed √(μ/a), r ⟂ v, geodetic height within the ellipsoid bounds', () => {
    fc.assert(
      fc.property(specArb, offsetMs, (s, dt) => {
        const p = createPropagator({ kind: 'circular', ...s, epochUtcMs: EPOCH });
        const st = p.propagate(EPOCH + dt);
        const a = R_EARTH + s.altitudeKm;
        expect(Math.abs(norm(st.positionKm) - a)).toBeLessThan(0.001);
        // The node's J2 turn adds at most |Ω̇|·a to the orbital speed (≈12 m/s at 160 km, equatorial).
        const turn = s.j2 ? Math.abs(nodalPrecessionRadS(s.altitudeKm, s.inclinationDeg)) * a : 0;
        expect(Math.abs(norm(st.velocityKmS) - Math.sqrt(MU / a))).toBeLessThanOrEqual(turn + 1e-9);
        const rv = st.positionKm.x * st.velocityKmS.x + st.positionKm.y * st.velocityKmS.y + st.positionKm.z * st.velocityKmS.z;
        expect(Math.abs(rv) / (a * Math.sqrt(MU / a))).toBeLessThan(1e-9);
        // Height above WGS-84 of a sphere of radius a: h at the equator, h + (a−b) = h + 21.385 km at the poles.
        expect(st.altitudeKm).toBeGreaterThan(s.altitudeKm - 1e-6);
        expect(st.altitudeKm).toBeLessThan(s.altitudeKm + 21.39);
        expect(Math.abs(st.latitudeDeg)).toBeLessThanOrEqual(90);
        expect(st.longitudeDeg).toBeGreaterThanOrEqual(-180);
        expect(st.longitudeDeg).toBeLessThan(180);
      }),
      { numRuns: 300 },
    );
  });

  it('reports a velocity that is the time derivative of the position', () => {
    fc.assert(
      fc.property(specArb, offsetMs, (s, dt) => {
        const p = createPropagator({ kind: 'circular', ...s, epochUtcMs: EPOCH });
        const t = EPOCH + dt;
        const before = p.propagate(t - 50).positionKm;
        const after = p.propagate(t + 50).positionKm;
        const v = p.propagate(t).velocityKmS;
        const fd = { x: (after.x - before.x) / 0.1, y: (after.y - before.y) / 0.1, z: (after.z - before.z) / 0.1 };
        expect(Math.hypot(fd.x - v.x, fd.y - v.y, fd.z - v.z)).toBeLessThan(1e-5);
      }),
      { numRuns: 100 },
    );
  });
});

describe('input validation', () => {
  const ok: OrbitSpec = { kind: 'circular', altitudeKm: 500, inclinationDeg: 97.4, epochUtcMs: EPOCH };
  it.each([
    [{ ...ok, altitudeKm: 100 }, /circular\.altitudeKm must be in \[160, 36000\] km, got 100/],
    [{ ...ok, altitudeKm: 40000 }, /circular\.altitudeKm/],
    [{ ...ok, altitudeKm: Number.NaN }, /circular\.altitudeKm must be a finite number, got NaN/],
    [{ ...ok, inclinationDeg: -1 }, /circular\.inclinationDeg must be in \[0, 180\]/],
    [{ ...ok, inclinationDeg: 180.5 }, /circular\.inclinationDeg/],
    [{ ...ok, raanDeg: Number.POSITIVE_INFINITY }, /circular\.raanDeg must be a finite number, got Infinity/],
    [{ ...ok, argumentOfLatitudeDeg: Number.NaN }, /circular\.argumentOfLatitudeDeg/],
    [{ ...ok, epochUtcMs: Number.NaN }, /circular\.epochUtcMs/],
    [{ ...ok, j2: 'yes' as unknown as boolean }, /circular\.j2 must be a boolean/],
    [{ kind: 'kepler' } as unknown as OrbitSpec, /spec\.kind must be "tle" or "circular"/],
  ])('rejects %o', (spec, message) => {
    expect(() => createPropagator(spec as OrbitSpec)).toThrow(OrbitError);
    expect(() => createPropagator(spec as OrbitSpec)).toThrow(message);
  });

  it('rejects a non-finite propagation time, naming it', () => {
    const p = createPropagator(ok);
    expect(() => p.propagate(Number.NaN)).toThrow(/utcMs must be a finite number/);
  });

  it('accepts the altitude range ends and is deterministic', () => {
    for (const altitudeKm of [160, 36000]) {
      const p = createPropagator({ ...ok, altitudeKm });
      expect(p.propagate(EPOCH + 1e6)).toEqual(p.propagate(EPOCH + 1e6));
    }
  });
});

describe('TLE propagation (SGP4 via satellite.js)', () => {
  it('reproduces the AIAA 2006-6753 verification states for Vanguard 1 (00005)', () => {
    const p = createPropagator({ kind: 'tle', ...VANGUARD_TLE });
    expect(p.epochUtcMs).toBeCloseTo(utc('2000-06-27T18:50:19.733Z'), -1);
    // tcppver.out: tsince 0 and 360 min, TEME km and km/s.
    const cases = [
      [0, [7022.46529266, -1400.08296755, 0.03995155], [1.893841015, 6.405893759, 4.534807250]],
      [360, [-7154.03120202, -3783.17682504, -3536.19412294], [4.741887409, -4.151817765, -2.093935425]],
    ] as const;
    for (const [minutes, r, v] of cases) {
      const s = p.propagate(p.epochUtcMs + minutes * 60_000);
      expect(Math.hypot(s.positionKm.x - r[0], s.positionKm.y - r[1], s.positionKm.z - r[2])).toBeLessThan(1e-4);
      expect(Math.hypot(s.velocityKmS.x - v[0], s.velocityKmS.y - v[1], s.velocityKmS.z - v[2])).toBeLessThan(1e-7);
    }
  });

  it('propagates the 2019-06-05 ISS TLE at ~400–430 km with a ~92.8 min period', () => {
    const p = createPropagator({ kind: 'tle', ...ISS_TLE_2019_06_05 });
    expect(p.kind).toBe('tle');
    expect(p.epochUtcMs).toBeCloseTo(utc('2019-06-05T12:12:58.000Z'), -1);
    expect(p.inclinationDeg).toBeCloseTo(51.6433, 4);
    expect(p.periodS / 60).toBeGreaterThan(92);
    expect(p.periodS / 60).toBeLessThan(93);
    expect(p.periodS / 60).toBeCloseTo(1440 / 15.51174618, 1);
    let minR = Infinity;
    let maxR = -Infinity;
    let minGeo = Infinity;
    let maxGeo = -Infinity;
    let maxLat = 0;
    for (let t = 0; t <= DAY_MS; t += 30_000) {
      const s = p.propagate(p.epochUtcMs + t);
      const h = norm(s.positionKm) - R_EARTH;
      minR = Math.min(minR, h);
      maxR = Math.max(maxR, h);
      minGeo = Math.min(minGeo, s.altitudeKm);
      maxGeo = Math.max(maxGeo, s.altitudeKm);
      maxLat = Math.max(maxLat, Math.abs(s.latitudeDeg));
    }
    // Height over the equatorial radius: perigee ~403 km, apogee ~422 km (e = 0.00082).
    expect(minR).toBeGreaterThan(400);
    expect(maxR).toBeLessThan(430);
    // Geodetic height adds up to ~13 km at 51.6° latitude, where the ellipsoid is lower.
    expect(minGeo).toBeGreaterThan(400);
    expect(maxGeo).toBeLessThan(440);
    expect(maxLat).toBeGreaterThan(51.5);
    expect(maxLat).toBeLessThan(52);
  });

  it('accepts trailing whitespace and CR line ends', () => {
    const p = createPropagator({ kind: 'tle', line1: `${ISS_TLE_2019_06_05.line1}  \r`, line2: `${ISS_TLE_2019_06_05.line2}\r` });
    expect(p.periodS / 60).toBeCloseTo(92.84, 1);
  });

  const { line1, line2 } = ISS_TLE_2019_06_05;
  const withChecksum = (l: string): string => l.slice(0, 68) + String(tleChecksum(l));
  it.each([
    ['a flipped digit (checksum)', line1.replace('59442', '59443'), line2, /tle\.line1 checksum mismatch/],
    ['a flipped digit on line 2', line1, line2.replace('51.6433', '51.6434'), /tle\.line2 checksum mismatch/],
    ['garbage', 'garbage', line2, /tle\.line1 must be 69 characters long/],
    ['an empty line', line1, '', /tle\.line2 must be 69 characters long/],
    ['swapped lines', line2, line1, /tle\.line1 must start with "1 "/],
    ['a non-string', 42 as unknown as string, line2, /tle\.line1 must be a string/],
    ['lines of two satellites', line1, withChecksum(line2.replace('2 25544', '2 25545')), /different satellites/],
    ['a letter in the epoch, checksum kept', withChecksum(line1.replace('19156.50900463', '19156.5090x463')), line2, /epoch .* is malformed/],
    ['a blanked mean motion', line1, withChecksum(line2.replace('15.51174618', '           ')), /mean motion .* is malformed/],
    ['zero mean motion', line1, withChecksum(line2.replace('15.51174618', '00.00000000')), /mean motion must be > 0/],
    ['inclination over 180°', line1, withChecksum(line2.replace(' 51.6433', '191.6433')), /inclination must be in \[0, 180\]/],
  ])('rejects %s', (_what, l1, l2, message) => {
    expect(() => createPropagator({ kind: 'tle', line1: l1, line2: l2 })).toThrow(OrbitError);
    expect(() => createPropagator({ kind: 'tle', line1: l1, line2: l2 })).toThrow(message);
  });

  it('turns an SGP4 propagation failure into an OrbitError', () => {
    // The ISS elements with a huge drag term (B* = 0.1): SGP4 decays the orbit within days.
    const draggy = withChecksum(`${line1.slice(0, 53)} 99999-1${line1.slice(61)}`);
    const p = createPropagator({ kind: 'tle', line1: draggy, line2 });
    expect(p.propagate(p.epochUtcMs + DAY_MS).altitudeKm).toBeLessThan(400);
    expect(() => p.propagate(p.epochUtcMs + 30 * DAY_MS)).toThrow(OrbitError);
    expect(() => p.propagate(p.epochUtcMs + 30 * DAY_MS)).toThrow(/SGP4 propagation of 25544 failed .*min from epoch/);
  });
});
