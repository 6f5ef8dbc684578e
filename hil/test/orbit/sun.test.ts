import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AU_KM,
  betaAngleDeg,
  createPropagator,
  OrbitError,
  raDecDeg,
  sunFraction,
  sunPositionKm,
  sunSynchronousInclinationDeg,
  sunSynchronousOrbit,
  type Vec3,
} from '../../src/orbit/index.js';
import { DAY_MS, JUNE_SOLSTICE_2024, MARCH_EQUINOX_2024, R_EARTH, utc } from './fixtures.js';

const au = (v: Vec3): number => Math.hypot(v.x, v.y, v.z) / AU_KM;

describe('sunPositionKm (Astronomical Almanac low-precision ephemeris)', () => {
  it('matches Vallado (2013) Example 5-1: 2 April 2006 0h UT', () => {
    const s = sunPositionKm(utc('2006-04-02T00:00:00Z'));
    expect(s.x / AU_KM).toBeCloseTo(0.9771945, 6);
    expect(s.y / AU_KM).toBeCloseTo(0.1924424, 6);
    expect(s.z / AU_KM).toBeCloseTo(0.0834308, 6);
  });

  it('puts the Sun on the equator at RA 0° at the March 2024 equinox (20 Mar 03:06 UTC)', () => {
    const { raDeg, decDeg } = raDecDeg(sunPositionKm(MARCH_EQUINOX_2024));
    expect(Math.abs(decDeg)).toBeLessThan(0.02);
    expect(Math.min(raDeg, 360 - raDeg)).toBeLessThan(0.05);
  });

  it('puts the Sun at declination +23.44°, RA 90° at the June 2024 solstice (20 Jun 20:51 UTC)', () => {
    const { raDeg, decDeg } = raDecDeg(sunPositionKm(JUNE_SOLSTICE_2024));
    expect(decDeg).toBeCloseTo(23.44, 1);
    expect(Math.abs(decDeg - 23.439)).toBeLessThan(0.01);
    expect(raDeg).toBeCloseTo(90, 1);
  });

  it('gives the 2024 perihelion and aphelion distances (0.983307 AU, 1.016729 AU)', () => {
    expect(au(sunPositionKm(utc('2024-01-03T00:39:00Z')))).toBeCloseTo(0.983307, 4);
    expect(au(sunPositionKm(utc('2024-07-05T05:06:00Z')))).toBeCloseTo(1.016729, 4);
  });

  it('stays within 1 AU ± 2% all year', () => {
    for (let d = 0; d < 366; d += 3) {
      const r = au(sunPositionKm(utc('2025-01-01T00:00:00Z') + d * DAY_MS));
      expect(r).toBeGreaterThan(0.98);
      expect(r).toBeLessThan(1.02);
    }
  });
});

describe('betaAngleDeg', () => {
  const r: Vec3 = { x: 7000, y: 0, z: 0 };
  const v: Vec3 = { x: 0, y: 7.5, z: 0 }; // angular momentum along +z
  it.each([
    [{ x: 0, y: 0, z: AU_KM }, 90],
    [{ x: 0, y: 0, z: -AU_KM }, -90],
    [{ x: AU_KM, y: 0, z: 0 }, 0],
    [{ x: 0, y: -AU_KM, z: 0 }, 0],
    [{ x: AU_KM, y: 0, z: AU_KM }, 45],
    [{ x: 0, y: AU_KM, z: -AU_KM * Math.tan(30 * (Math.PI / 180)) }, -30],
  ])('hand geometry: Sun at %o → %f°', (sun, expected) => {
    expect(betaAngleDeg(r, v, sun)).toBeCloseTo(expected, 9);
  });

  it('is ≈0 for a noon–midnight SSO at an equinox and −(i − δ) for a 06:00 SSO at the June solstice', () => {
    const noon = createPropagator(sunSynchronousOrbit({ epochUtcMs: MARCH_EQUINOX_2024, ltanHours: 12 })).propagate(MARCH_EQUINOX_2024);
    expect(Math.abs(betaAngleDeg(noon.positionKm, noon.velocityKmS, sunPositionKm(MARCH_EQUINOX_2024)))).toBeLessThan(0.05);
    // sin β = cos δ sin i sin(Ω − α) + sin δ cos i with Ω − α = −90°  ⇒  β = −(i − δ).
    const dawn = createPropagator(sunSynchronousOrbit({ epochUtcMs: JUNE_SOLSTICE_2024, ltanHours: 6 })).propagate(JUNE_SOLSTICE_2024);
    const expected = -(sunSynchronousInclinationDeg(500) - 23.439);
    expect(betaAngleDeg(dawn.positionKm, dawn.velocityKmS, sunPositionKm(JUNE_SOLSTICE_2024))).toBeCloseTo(expected, 1);
  });

  it('rejects degenerate and non-finite input', () => {
    expect(() => betaAngleDeg(r, r, { x: AU_KM, y: 0, z: 0 })).toThrow(OrbitError);
    expect(() => betaAngleDeg(r, v, { x: Number.NaN, y: 0, z: 0 })).toThrow(/sunKm must be a Vec3 of finite numbers/);
  });
});

describe('sunFraction', () => {
  const sun: Vec3 = { x: AU_KM, y: 0, z: 0 };
  const a = R_EARTH + 500;
  it('is 1 on the day side and 0 straight behind the Earth, in both models', () => {
    for (const model of ['cylindrical', 'conical'] as const) {
      expect(sunFraction({ x: a, y: 0, z: 0 }, sun, model)).toBe(1);
      expect(sunFraction({ x: 0, y: a, z: 0 }, sun, model)).toBe(1); // over the terminator, well clear of the shadow
      expect(sunFraction({ x: -a, y: 0, z: 0 }, sun, model)).toBe(0);
    }
  });

  it('cylindrical: the shadow edge is exactly R⊕ from the Earth–Sun axis', () => {
    expect(sunFraction({ x: -a, y: R_EARTH - 0.001, z: 0 }, sun, 'cylindrical')).toBe(0);
    expect(sunFraction({ x: -a, y: R_EARTH + 0.001, z: 0 }, sun, 'cylindrical')).toBe(1);
  });

  it('conical: half the Sun is hidden where the Sun centre sits on the Earth limb, and far past the Moon the Earth only transits the Sun', () => {
    // Satellite on the cylinder edge (grazing ray through the Sun centre direction): ~50%.
    expect(sunFraction({ x: -a, y: R_EARTH, z: 0 }, sun, 'conical')).toBeCloseTo(0.5, 1);
    // At 3 million km the Earth (0.12°) is smaller than the Sun (0.27°): an annular transit.
    const far = sunFraction({ x: -3e6, y: 0, z: 0 }, sun, 'conical');
    const rSun = Math.asin(695700 / (AU_KM + 3e6));
    const rEarth = Math.asin(R_EARTH / 3e6);
    expect(far).toBeCloseTo(1 - (rEarth / rSun) ** 2, 9);
  });

  it('returns 0 at or below the surface and rejects bad input', () => {
    expect(sunFraction({ x: 1000, y: 0, z: 0 }, sun, 'conical')).toBe(0);
    expect(() => sunFraction({ x: Number.NaN, y: 0, z: 0 }, sun, 'conical')).toThrow(/satKm/);
    expect(() => sunFraction({ x: a, y: 0, z: 0 }, sun, 'umbral' as 'conical')).toThrow(/model must be/);
  });

  it('is always in [0, 1] (fast-check); cylindrical is 0 or 1; the day side is always lit', () => {
    const unit = fc
      .tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }))
      .filter(([x, y, z]) => Math.hypot(x, y, z) > 1e-3)
      .map(([x, y, z]) => {
        const n = Math.hypot(x, y, z);
        return { x: x / n, y: y / n, z: z / n };
      });
    fc.assert(
      fc.property(
        unit,
        fc.double({ min: R_EARTH + 100, max: 2e6, noNaN: true }),
        unit,
        fc.double({ min: 0.98 * AU_KM, max: 1.02 * AU_KM, noNaN: true }),
        (d, r, s, dist) => {
          const sat = { x: d.x * r, y: d.y * r, z: d.z * r };
          const sunKm = { x: s.x * dist, y: s.y * dist, z: s.z * dist };
          const con = sunFraction(sat, sunKm, 'conical');
          const cyl = sunFraction(sat, sunKm, 'cylindrical');
          expect(con).toBeGreaterThanOrEqual(0);
          expect(con).toBeLessThanOrEqual(1);
          expect([0, 1]).toContain(cyl);
          if (d.x * s.x + d.y * s.y + d.z * s.z > 0) expect(con).toBe(1); // day side
        },
      ),
      { numRuns: 2000 },
    );
  });
});
