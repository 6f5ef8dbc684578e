import { describe, expect, it } from 'vitest';
import {
  betaAngleDeg,
  createPropagator,
  eclipseWindows,
  OrbitError,
  predicateWindows,
  sunFraction,
  sunPositionKm,
  sunSynchronousOrbit,
  SUN_RADIUS_KM,
  type OrbitPropagator,
  type Window,
} from '../../src/orbit/index.js';
import { DAY_MS, DEG, durationS, eclipseFraction, JUNE_SOLSTICE_2024, MARCH_EQUINOX_2024, R_EARTH, utc } from './fixtures.js';

/** Windows wholly inside the search span (the first and last may be clipped). */
const whole = (ws: Window[], start: number, end: number): Window[] => ws.filter((w) => w.startUtcMs > start && w.endUtcMs < end);

function betaAt(p: OrbitPropagator, t: number): number {
  const s = p.propagate(t);
  return betaAngleDeg(s.positionKm, s.velocityKmS, sunPositionKm(t));
}

describe('eclipse duration, beta ≈ 0 (noon–midnight SSO at the March 2024 equinox)', () => {
  const t0 = MARCH_EQUINOX_2024;
  const t1 = t0 + DAY_MS;
  // Analytic cylindrical-shadow durations at β = 0: f·T with f = acos(√(h²+2Rh)/(R+h))/π.
  it.each([
    [400, 36.11],
    [500, 35.75],
    [600, 35.49],
  ])('%i km: every eclipse matches the analytic cylindrical formula (≈ %f min)', (h, expectedMin) => {
    const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: h, ltanHours: 12 }));
    expect((eclipseFraction(h, 0) * p.periodS) / 60).toBeCloseTo(expectedMin, 2);
    const ws = whole(eclipseWindows(p, t0, t1, 'cylindrical'), t0, t1);
    expect(ws.length).toBeGreaterThanOrEqual(13);
    for (const w of ws) {
      const beta = betaAt(p, (w.startUtcMs + w.endUtcMs) / 2);
      expect(Math.abs(beta)).toBeLessThan(0.1);
      // Bisection puts each edge within 0.25 s.
      expect(Math.abs(durationS(w) - eclipseFraction(h, beta) * p.periodS)).toBeLessThan(1);
    }
    // One eclipse per orbit, one period apart.
    for (let i = 1; i < ws.length; i++) {
      expect(((ws[i] as Window).startUtcMs - (ws[i - 1] as Window).startUtcMs) / 1000).toBeCloseTo(p.periodS, -1);
    }
  });
});

describe('eclipse at high beta', () => {
  const h = 500;
  const critical = Math.asin(R_EARTH / (R_EARTH + h)) / DEG;

  it('has a critical beta of ≈68° at 500 km', () => {
    expect(critical).toBeCloseTo(68.02, 1);
  });

  it('vanishes for a 06:00 dawn–dusk SSO at the June solstice (β ≈ −74°, past critical)', () => {
    const t0 = JUNE_SOLSTICE_2024 - DAY_MS / 2;
    const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: h, ltanHours: 6 }));
    for (let t = t0; t <= t0 + DAY_MS; t += 3_600_000) expect(Math.abs(betaAt(p, t))).toBeGreaterThan(critical + 4);
    expect(eclipseWindows(p, t0, t0 + DAY_MS, 'cylindrical')).toEqual([]);
    expect(eclipseWindows(p, t0, t0 + DAY_MS, 'conical', 10)).toEqual([]);
    // Control: the same day, the 12:00 orbit is eclipsed every revolution.
    const noon = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: h, ltanHours: 12 }));
    expect(eclipseWindows(noon, t0, t0 + DAY_MS, 'cylindrical').length).toBeGreaterThanOrEqual(15);
  });

  it('shortens with beta as the formula says: the 18:00 SSO at the June solstice (β ≈ +59°) has ~23 min eclipses', () => {
    const t0 = JUNE_SOLSTICE_2024;
    const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: h, ltanHours: 18 }));
    const ws = whole(eclipseWindows(p, t0, t0 + DAY_MS, 'cylindrical'), t0, t0 + DAY_MS);
    expect(ws.length).toBeGreaterThanOrEqual(13);
    for (const w of ws) {
      const beta = betaAt(p, (w.startUtcMs + w.endUtcMs) / 2);
      expect(beta).toBeGreaterThan(55);
      expect(beta).toBeLessThan(critical);
      expect(Math.abs(durationS(w) - eclipseFraction(h, beta) * p.periodS)).toBeLessThan(1);
      expect(durationS(w) / 60).toBeGreaterThan(20);
      expect(durationS(w) / 60).toBeLessThan(26);
    }
  });
});

describe('conical shadow: penumbra', () => {
  const t0 = MARCH_EQUINOX_2024;
  const t1 = t0 + DAY_MS;
  const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: 500, ltanHours: 12 }));
  const cyl = whole(eclipseWindows(p, t0, t1, 'cylindrical'), t0, t1);
  const first = cyl[0] as Window;
  const frac = (t: number): number => sunFraction(p.propagate(t).positionKm, sunPositionKm(t), 'conical');
  // At β = 0 the Sun–Earth angular separation seen from the satellite changes at the orbit rate n,
  // so crossing the Sun's disc (2 × 0.267°) takes 2·asin(R☉/d)/n ≈ 8.4 s.
  const n = (2 * Math.PI) / p.periodS;
  const penumbraS = (2 * Math.asin(SUN_RADIUS_KM / Math.hypot(...Object.values(sunPositionKm(t0))))) / n;

  it('goes smoothly and monotonically from 1 to 0 across the shadow entry, in ≈8.4 s', () => {
    expect(penumbraS).toBeGreaterThan(8);
    expect(penumbraS).toBeLessThan(9);
    const samples: number[] = [];
    for (let dt = -20_000; dt <= 20_000; dt += 100) samples.push(frac(first.startUtcMs + dt));
    expect(samples[0]).toBe(1);
    expect(samples[samples.length - 1]).toBe(0);
    let partial = 0;
    for (let i = 1; i < samples.length; i++) {
      const prev = samples[i - 1] as number;
      const cur = samples[i] as number;
      expect(cur).toBeLessThanOrEqual(prev);
      expect(prev - cur).toBeLessThan(0.03); // no jumps: ~12% per second at most
      if (cur > 0 && cur < 1) partial++;
    }
    expect(partial / 10).toBeCloseTo(penumbraS, 0);
    // The cylindrical edge is where the Sun's centre meets the Earth's limb: half the disc hidden.
    expect(frac(first.startUtcMs)).toBeCloseTo(0.5, 1);
  });

  it('makes umbra + penumbra slightly longer, and umbra alone slightly shorter, than the cylindrical shadow', () => {
    const con = whole(eclipseWindows(p, t0, t1, 'conical'), t0, t1);
    const umbra = whole(predicateWindows((t) => frac(t) === 0, t0, t1, 30), t0, t1);
    expect(con.length).toBe(cyl.length);
    expect(umbra.length).toBe(cyl.length);
    cyl.forEach((c, i) => {
      const extra = durationS(con[i] as Window) - durationS(c);
      const less = durationS(c) - durationS(umbra[i] as Window);
      // Half a penumbra crossing at each end: ≈ 8.4 s in all.
      expect(extra).toBeGreaterThan(penumbraS - 1.5);
      expect(extra).toBeLessThan(penumbraS + 1.5);
      expect(less).toBeGreaterThan(penumbraS - 1.5);
      expect(less).toBeLessThan(penumbraS + 1.5);
    });
  });
});

describe('default 500 km sun-synchronous orbit (10:30 LTAN) through a year', () => {
  it('keeps a ~94.6 min period and at most ~36 min of eclipse per orbit', () => {
    const epoch = utc('2025-01-01T00:00:00Z');
    const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: epoch }));
    expect(p.periodS / 60).toBeCloseTo(94.6, 1);
    for (let d = 0; d < 366; d += 30) {
      const t0 = epoch + d * DAY_MS;
      const t1 = t0 + DAY_MS / 4;
      for (const model of ['cylindrical', 'conical'] as const) {
        const ws = whole(eclipseWindows(p, t0, t1, model), t0, t1);
        expect(ws.length).toBeGreaterThanOrEqual(2);
        for (const w of ws) {
          // |β| stays between ~14° and ~25° for this orbit, so every eclipse lasts 34.5–35.6 min.
          expect(durationS(w) / 60).toBeGreaterThan(34);
          expect(durationS(w) / 60).toBeLessThanOrEqual(36);
          if (model === 'cylindrical') {
            const beta = betaAt(p, (w.startUtcMs + w.endUtcMs) / 2);
            expect(Math.abs(durationS(w) - eclipseFraction(500, beta) * p.periodS)).toBeLessThan(1);
          }
        }
      }
    }
  });
});

describe('window search', () => {
  const t0 = utc('2025-01-01T00:00:00Z');
  it('finds edges to within 0.25 s and clips windows open at either end', () => {
    const inside = (t: number): boolean => (t >= t0 + 95_300 && t < t0 + 412_700) || t >= t0 + 900_000;
    const ws = predicateWindows(inside, t0, t0 + 1_000_000, 60);
    expect(ws).toHaveLength(2);
    const [a, b] = ws as [Window, Window];
    expect(Math.abs(a.startUtcMs - (t0 + 95_300))).toBeLessThanOrEqual(250);
    expect(Math.abs(a.endUtcMs - (t0 + 412_700))).toBeLessThanOrEqual(250);
    expect(Math.abs(b.startUtcMs - (t0 + 900_000))).toBeLessThanOrEqual(250);
    expect(b.endUtcMs).toBe(t0 + 1_000_000);
    const open = predicateWindows((t) => t < t0 + 10_000, t0, t0 + 100_000, 30);
    expect(open).toEqual([{ startUtcMs: t0, endUtcMs: expect.closeTo(t0 + 10_000, -3) as number }]);
  });

  it('validates its span and step', () => {
    const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0 }));
    expect(() => eclipseWindows(p, t0, t0 - 1, 'conical')).toThrow(/endUtcMs .* must not be before startUtcMs/);
    expect(() => eclipseWindows(p, t0, t0 + DAY_MS, 'conical', 0)).toThrow(/stepS must be > 0/);
    expect(() => eclipseWindows(p, t0, t0 + DAY_MS, 'conical', Number.NaN)).toThrow(/stepS must be a finite number/);
    expect(() => eclipseWindows(p, Number.NaN, t0, 'conical')).toThrow(OrbitError);
    expect(() => eclipseWindows(p, t0, t0 + 365 * DAY_MS, 'conical', 0.001)).toThrow(/too fine/);
    expect(() => eclipseWindows(p, t0, t0 + DAY_MS, 'penumbral' as 'conical')).toThrow(/model must be/);
    expect(eclipseWindows(p, t0, t0, 'conical').length).toBeLessThanOrEqual(1);
  });
});
