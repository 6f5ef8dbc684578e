import { describe, OrbitError, requireFinite } from './errors.js';
import type { GroundStation } from './ground.js';
import { elevationDeg, validateGroundStation } from './ground.js';
import type { Propagator } from './propagator.js';
import type { LatLon } from './saa.js';
import { inPolygon, SOUTH_ATLANTIC_ANOMALY } from './saa.js';
import type { ShadowModel } from './sun.js';
import { sunFraction, sunPositionKm } from './sun.js';

/** A time interval [startUtcMs, endUtcMs], UTC ms since the Unix epoch. */
export interface Window {
  startUtcMs: number;
  endUtcMs: number;
}

export type ContactWindow = Window & { station: string; maxElevationDeg: number };

/** Edges are bisected until bracketed within this, then the bracket midpoint is reported (error ≤ 0.25 s). */
const EDGE_TOLERANCE_MS = 500;
/** Guard against a step so small (or a span so long) that a search would run for minutes. */
const MAX_SAMPLES = 5_000_000;

function checkSpan(startUtcMs: number, endUtcMs: number, stepS: number): void {
  requireFinite(startUtcMs, 'startUtcMs');
  requireFinite(endUtcMs, 'endUtcMs');
  requireFinite(stepS, 'stepS');
  if (endUtcMs < startUtcMs) throw new OrbitError(`endUtcMs (${endUtcMs}) must not be before startUtcMs (${startUtcMs})`);
  if (stepS <= 0) throw new OrbitError(`stepS must be > 0, got ${stepS}`);
  if ((endUtcMs - startUtcMs) / (stepS * 1000) > MAX_SAMPLES) {
    throw new OrbitError(`stepS ${stepS} s is too fine for a ${(endUtcMs - startUtcMs) / 86_400_000} day span (> ${MAX_SAMPLES} samples)`);
  }
}

/**
 * The intervals within [start, end] where `inside(t)` holds, found by sampling every `stepS`
 * and bisecting each change of state. An interval already open at `start` or still open at
 * `end` is clipped there. Anything that starts and ends between two samples is missed, so
 * choose `stepS` well below the shortest window that matters.
 */
export function predicateWindows(
  inside: (utcMs: number) => boolean,
  startUtcMs: number,
  endUtcMs: number,
  stepS: number,
): Window[] {
  checkSpan(startUtcMs, endUtcMs, stepS);
  const stepMs = stepS * 1000;
  const windows: Window[] = [];
  let prevT = startUtcMs;
  let prevIn = inside(startUtcMs);
  let openedAt: number | undefined = prevIn ? startUtcMs : undefined;
  const n = Math.ceil((endUtcMs - startUtcMs) / stepMs);
  for (let i = 1; i <= n; i++) {
    const t = Math.min(startUtcMs + i * stepMs, endUtcMs);
    const now = inside(t);
    if (now !== prevIn) {
      const edge = bisectEdge(inside, prevT, t, prevIn);
      if (now) openedAt = edge;
      else windows.push({ startUtcMs: openedAt ?? startUtcMs, endUtcMs: edge });
    }
    prevT = t;
    prevIn = now;
  }
  if (prevIn) windows.push({ startUtcMs: openedAt ?? startUtcMs, endUtcMs });
  return windows;
}

function bisectEdge(inside: (t: number) => boolean, lo: number, hi: number, loValue: boolean): number {
  while (hi - lo > EDGE_TOLERANCE_MS) {
    const mid = (lo + hi) / 2;
    if (inside(mid) === loValue) lo = mid;
    else hi = mid;
  }
  return Math.round((lo + hi) / 2);
}

/**
 * Eclipse intervals. Cylindrical: inside the shadow cylinder. Conical: any part of the Sun
 * hidden (umbra + penumbra, sunFraction < 1), so conical windows are ~2 × (Sun's angular
 * radius)/(orbit rate) ≈ 8 s longer per orbit in LEO than cylindrical ones.
 * Default step 30 s: a LEO eclipse is never shorter than that except grazing ones at the
 * critical beta angle.
 */
export function eclipseWindows(
  p: Propagator,
  startUtcMs: number,
  endUtcMs: number,
  model: ShadowModel,
  stepS = 30,
): Window[] {
  if (model !== 'cylindrical' && model !== 'conical') {
    throw new OrbitError(`model must be "cylindrical" or "conical", got ${describe(model)}`);
  }
  return predicateWindows(
    (t) => sunFraction(p.propagate(t).positionKm, sunPositionKm(t), model) < 1,
    startUtcMs,
    endUtcMs,
    stepS,
  );
}

/**
 * Passes over a station with the satellite at or above the station's elevation mask, each
 * with its peak elevation. Default step 10 s (a 500 km pass at a 10° mask lasts up to ~7.5 min;
 * passes that barely clear the mask for less than a step can be missed).
 */
export function contactWindows(
  p: Propagator,
  station: GroundStation,
  startUtcMs: number,
  endUtcMs: number,
  stepS = 10,
): ContactWindow[] {
  validateGroundStation(station);
  const el = (t: number): number => elevationDeg(station, p.propagate(t));
  const windows = predicateWindows((t) => el(t) >= station.minElevationDeg, startUtcMs, endUtcMs, stepS);
  return windows.map((w) => ({ ...w, station: station.name, maxElevationDeg: peakElevationDeg(el, w, stepS * 1000) }));
}

/**
 * Peak of the elevation over a window: best of a coarse scan, then golden-section search
 * around it (elevation is unimodal over one pass), to ~0.1 s.
 */
function peakElevationDeg(el: (t: number) => number, w: Window, stepMs: number): number {
  let bestT = w.startUtcMs;
  let best = el(bestT);
  const samples = Math.max(2, Math.ceil((w.endUtcMs - w.startUtcMs) / stepMs));
  for (let i = 1; i <= samples; i++) {
    const t = w.startUtcMs + ((w.endUtcMs - w.startUtcMs) * i) / samples;
    const e = el(t);
    if (e > best) {
      best = e;
      bestT = t;
    }
  }
  const span = (w.endUtcMs - w.startUtcMs) / samples;
  let lo = Math.max(w.startUtcMs, bestT - span);
  let hi = Math.min(w.endUtcMs, bestT + span);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = el(x1);
  let f2 = el(x2);
  while (hi - lo > 100) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = el(x2);
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = el(x1);
    }
  }
  return Math.max(best, f1, f2);
}

/** Intervals with the sub-satellite point inside `polygon` (default: the South Atlantic Anomaly). */
export function regionWindows(
  p: Propagator,
  startUtcMs: number,
  endUtcMs: number,
  polygon: LatLon[] = SOUTH_ATLANTIC_ANOMALY,
  stepS = 10,
): Window[] {
  return predicateWindows(
    (t) => {
      const s = p.propagate(t);
      return inPolygon(s.latitudeDeg, s.longitudeDeg, polygon);
    },
    startUtcMs,
    endUtcMs,
    stepS,
  );
}
