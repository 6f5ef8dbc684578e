import { describe, OrbitError, requireFinite, requireInRange } from './errors.js';
import { wrapDeg180 } from './time.js';

/** A polygon vertex: [longitude, latitude] in degrees, GeoJSON order. */
export type LatLon = [longitudeDeg: number, latitudeDeg: number];

/**
 * South Atlantic Anomaly at ~500 km altitude, [lon, lat] degrees, clockwise from the west end.
 *
 * An outline drawn to follow the AP-8 (solar-minimum) trapped-proton contour of roughly
 * 1 cm⁻²s⁻¹ above 10 MeV at 500 km, as SPENVIS and mission-planning maps plot it (AP-8/AE-8
 * being the models ECSS-E-ST-10-04 prescribes; cf. Wertz SMAD ch. 8). It is not digitised from
 * one map: it was checked against published instrument boundaries. NICER's SAA polygon on the
 * ISS (~420 km) lies wholly inside it, as a lower orbit's should (tested); Fermi GBM's
 * detector-off polygon (~535 km, only down to 30°S, with a safety margin) reaches further
 * north and west. Centre near 45°W 27°S; the west lobe reaches the Pacific off Chile, the
 * east tail southern Africa. A 500 km polar orbit spends ~7% of its time inside.
 *
 * Good to a few degrees at best: the anomaly drifts west ~0.3°/yr, swells with altitude and
 * towards solar minimum, and the flux threshold is a choice. Pass your own polygon to
 * `inPolygon` / `regionWindows` for other altitudes or thresholds.
 */
export const SOUTH_ATLANTIC_ANOMALY: LatLon[] = [
  [-90, -28],
  [-86, -18],
  [-78, -10],
  [-66, -4],
  [-52, -1],
  [-38, -2],
  [-24, -6],
  [-10, -12],
  [4, -19],
  [18, -26],
  [30, -33],
  [34, -40],
  [26, -46],
  [10, -50],
  [-10, -53],
  [-30, -55],
  [-50, -54],
  [-66, -50],
  [-78, -44],
  [-87, -37],
];

/**
 * Point-in-polygon by even–odd ray casting on the longitude/latitude plane (edges are
 * straight in lon/lat, fine for regions tens of degrees across away from the poles).
 *
 * Antimeridian: vertex longitudes are unwrapped so each edge takes the short way round
 * (|Δlon| < 180°), so a polygon may be written [170, …], [-170, …] across the date line;
 * the test longitude is then tried at lon, lon ± 360. A polygon that winds around a pole
 * (its unwrapped longitudes do not close) is rejected with an OrbitError.
 */
export function inPolygon(latitudeDeg: number, longitudeDeg: number, polygon: LatLon[]): boolean {
  const lat = requireInRange(latitudeDeg, 'latitudeDeg', -90, 90, 'deg');
  const lon = wrapDeg180(requireFinite(longitudeDeg, 'longitudeDeg'));
  const ring = unwrapPolygon(polygon);
  for (const shift of [0, 360, -360]) {
    if (evenOdd(lat, lon + shift, ring)) return true;
  }
  return false;
}

function unwrapPolygon(polygon: LatLon[]): LatLon[] {
  if (!Array.isArray(polygon) || polygon.length < 3) {
    throw new OrbitError(`polygon must be an array of at least 3 [lon, lat] vertices, got ${describe(polygon)}`);
  }
  const out: LatLon[] = [];
  let prevLon = 0;
  polygon.forEach((vertex, i) => {
    if (!Array.isArray(vertex) || vertex.length !== 2) {
      throw new OrbitError(`polygon[${i}] must be a [lon, lat] pair, got ${describe(vertex)}`);
    }
    const rawLon = requireFinite(vertex[0], `polygon[${i}][0] (longitude)`);
    const lat = requireInRange(vertex[1], `polygon[${i}][1] (latitude)`, -90, 90, 'deg');
    const lon = i === 0 ? wrapDeg180(rawLon) : prevLon + wrapDeg180(rawLon - prevLon);
    out.push([lon, lat]);
    prevLon = lon;
  });
  const first = out[0] as LatLon;
  const closing = prevLon + wrapDeg180(first[0] - prevLon) - first[0];
  if (Math.abs(closing) > 1e-9) {
    throw new OrbitError('polygon winds around a pole; split it or describe it by a latitude bound instead');
  }
  return out;
}

function evenOdd(lat: number, lon: number, ring: LatLon[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as LatLon;
    const [xj, yj] = ring[j] as LatLon;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
