import { describe, expect, it } from 'vitest';
import {
  createPropagator,
  inPolygon,
  OrbitError,
  regionWindows,
  SOUTH_ATLANTIC_ANOMALY,
  sunSynchronousOrbit,
  type LatLon,
} from '../../src/orbit/index.js';
import { DAY_MS, durationS, utc } from './fixtures.js';

describe('SOUTH_ATLANTIC_ANOMALY', () => {
  it.each([
    [-25, -45, 'the SAA core over southern Brazil'],
    [-27, -45, 'the centre of the anomaly'],
    [-30, -50, 'off Uruguay'],
    [-10, -40, 'north-east Brazil'],
    [-35, 10, 'the eastern tail off South Africa'],
  ])('contains lat %f, lon %f (%s)', (lat, lon) => {
    expect(inPolygon(lat, lon, SOUTH_ATLANTIC_ANOMALY)).toBe(true);
  });

  it.each([
    [50, 0, 'Europe'],
    [10, -45, 'north of the equator'],
    [-30, 100, 'the Indian Ocean'],
    [-30, -120, 'the south-east Pacific'],
    [-70, -45, 'Antarctica (the polar horns are a separate, electron, region)'],
    [0, 0, 'the Gulf of Guinea'],
  ])('excludes lat %f, lon %f (%s)', (lat, lon) => {
    expect(inPolygon(lat, lon, SOUTH_ATLANTIC_ANOMALY)).toBe(false);
  });

  it("contains the SAA outline NICER uses on the ISS (~420 km), since the anomaly shrinks with altitude", () => {
    // Vertices of NICERsoft data/saa_lonlat.txt (NICER/ISS SAA boundary), [lon, lat].
    const nicer: LatLon[] = [
      [15, -28],
      [0, -35],
      [-30, -48],
      [-45, -48],
      [-61, -45],
      [-66, -36],
      [-64, -24],
      [-55, -17],
      [-30, -15],
      [0, -21],
    ];
    for (const [lon, lat] of nicer) expect(inPolygon(lat, lon, SOUTH_ATLANTIC_ANOMALY)).toBe(true);
  });

  it('catches a 500 km sun-synchronous orbit a plausible ~5–10% of the time, in passes of a few minutes', () => {
    const t0 = utc('2025-01-01T00:00:00Z');
    const t1 = t0 + 3 * DAY_MS;
    const p = createPropagator(sunSynchronousOrbit({ epochUtcMs: t0, altitudeKm: 500 }));
    const ws = regionWindows(p, t0, t1);
    const fraction = ws.reduce((s, w) => s + durationS(w), 0) / ((t1 - t0) / 1000);
    expect(fraction).toBeGreaterThan(0.03);
    expect(fraction).toBeLessThan(0.12);
    // Successive ground tracks step ~24° west; the anomaly spans ~125° of longitude, so about
    // 5 ascending and 5 descending passes a day cross it.
    expect(ws.length / 3).toBeGreaterThan(6);
    expect(ws.length / 3).toBeLessThan(14);
    for (const w of ws) expect(durationS(w) / 60).toBeLessThan(20);
  });
});

describe('inPolygon', () => {
  const square: LatLon[] = [
    [10, 10],
    [20, 10],
    [20, 20],
    [10, 20],
  ];
  it('handles a plain polygon, in either winding, and wraps the test longitude', () => {
    expect(inPolygon(15, 15, square)).toBe(true);
    expect(inPolygon(15, 15 + 360, square)).toBe(true);
    expect(inPolygon(15, 15 - 720, square)).toBe(true);
    expect(inPolygon(15, 25, square)).toBe(false);
    expect(inPolygon(15, 15, [...square].reverse())).toBe(true);
  });

  it('handles a polygon across the antimeridian, however its longitudes are written', () => {
    const fiji: LatLon[] = [
      [170, -10],
      [-170, -10],
      [-170, -25],
      [170, -25],
    ];
    const same: LatLon[] = [
      [170, -10],
      [190, -10],
      [190, -25],
      [170, -25],
    ];
    for (const poly of [fiji, same]) {
      expect(inPolygon(-18, 178, poly)).toBe(true);
      expect(inPolygon(-18, 180, poly)).toBe(true);
      expect(inPolygon(-18, -180, poly)).toBe(true);
      expect(inPolygon(-18, -175, poly)).toBe(true);
      expect(inPolygon(-18, 185, poly)).toBe(true);
      expect(inPolygon(-18, 0, poly)).toBe(false);
      expect(inPolygon(-18, 160, poly)).toBe(false);
      expect(inPolygon(-18, -160, poly)).toBe(false);
      expect(inPolygon(-5, 178, poly)).toBe(false);
    }
  });

  it('rejects a polygon that winds around a pole, malformed polygons and bad coordinates', () => {
    const cap: LatLon[] = [
      [0, 70],
      [90, 70],
      [180, 70],
      [-90, 70],
    ];
    expect(() => inPolygon(80, 0, cap)).toThrow(/winds around a pole/);
    expect(() => inPolygon(0, 0, square.slice(0, 2))).toThrow(/at least 3/);
    expect(() => inPolygon(0, 0, [[0, 0], [1, Number.NaN], [2, 2]] as LatLon[])).toThrow(/polygon\[1\]\[1\] \(latitude\)/);
    expect(() => inPolygon(95, 0, square)).toThrow(OrbitError);
    expect(() => inPolygon(0, Number.NaN, square)).toThrow(/longitudeDeg must be a finite number/);
  });
});
