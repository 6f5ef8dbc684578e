import { checkForDecay, SatRecError, sgp4, twoline2satrec } from 'satellite.js';
import type { SatRec } from 'satellite.js';
import {
  DEG,
  EARTH_RADIUS_KM,
  J2_EARTH,
  JD_UNIX_EPOCH,
  MAX_ALTITUDE_KM,
  MIN_ALTITUDE_KM,
  MS_PER_DAY,
  MU_EARTH_KM3_S2,
  TROPICAL_YEAR_DAYS,
} from './constants.js';
import { describe, OrbitError, requireFinite, requireInRange } from './errors.js';
import { eciToGeodeticDeg } from './frames.js';
import { radToDeg } from './time.js';
import type { Vec3 } from './vec.js';

/**
 * How the orbit is given.
 * - `tle`: a NORAD two-line element set, propagated with SGP4 (satellite.js). Output frame TEME.
 * - `circular`: an analytic circular orbit of radius R⊕ + altitudeKm (R⊕ = 6378.137 km), with
 *   right ascension of the ascending node `raanDeg` and argument of latitude
 *   `argumentOfLatitudeDeg` (angle from the ascending node along the orbit) at `epochUtcMs`.
 *   `j2` (default true) adds the secular J2 regression of the node, which is what keeps a
 *   sun-synchronous orbit sun-synchronous; nothing else of J2 is modelled.
 */
export type OrbitSpec =
  | { kind: 'tle'; line1: string; line2: string }
  | {
      kind: 'circular';
      altitudeKm: number;
      inclinationDeg: number;
      raanDeg?: number;
      argumentOfLatitudeDeg?: number;
      epochUtcMs: number;
      j2?: boolean;
    };

/** Where the spacecraft is at `utcMs`. Position/velocity in ECI (TEME), km and km/s; geodetic on WGS-84. */
export interface OrbitState {
  utcMs: number;
  positionKm: Vec3;
  velocityKmS: Vec3;
  latitudeDeg: number;
  longitudeDeg: number;
  /** Geodetic height above the WGS-84 ellipsoid (a circular orbit sits ~21 km higher over the poles than over the equator). */
  altitudeKm: number;
}

export interface Propagator {
  /** Orbital period, s: Keplerian 2π√(a³/μ) for circular orbits; 2π/n from the SGP4 mean motion for TLEs. */
  readonly periodS: number;
  propagate(utcMs: number): OrbitState;
}

/** What createPropagator returns: a Propagator plus what it was built from. */
export interface OrbitPropagator extends Propagator {
  readonly kind: OrbitSpec['kind'];
  /** Epoch of the elements, UTC ms since the Unix epoch. */
  readonly epochUtcMs: number;
  /** Mean inclination at epoch, degrees. */
  readonly inclinationDeg: number;
}

export function createPropagator(spec: OrbitSpec): OrbitPropagator {
  if (typeof spec !== 'object' || spec === null) {
    throw new OrbitError(`spec must be an OrbitSpec object, got ${describe(spec)}`);
  }
  switch (spec.kind) {
    case 'tle':
      return createTlePropagator(spec.line1, spec.line2);
    case 'circular':
      return createCircularPropagator(spec);
    default:
      throw new OrbitError(`spec.kind must be "tle" or "circular", got ${describe((spec as { kind: unknown }).kind)}`);
  }
}

/** Semi-major axis for a circular orbit at `altitudeKm`, validated. */
function circularRadiusKm(altitudeKm: unknown, field: string): number {
  return EARTH_RADIUS_KM + requireInRange(altitudeKm, field, MIN_ALTITUDE_KM, MAX_ALTITUDE_KM, 'km');
}

/** Keplerian period 2π√(a³/μ) in seconds for a circular orbit at `altitudeKm` (Vallado 2013 ch. 1, Kepler's third law). */
export function circularPeriodS(altitudeKm: number): number {
  const a = circularRadiusKm(altitudeKm, 'altitudeKm');
  return 2 * Math.PI * Math.sqrt((a * a * a) / MU_EARTH_KM3_S2);
}

/**
 * Secular J2 regression of the node for a circular orbit, rad/s:
 * Ω̇ = −(3/2)·n·J2·(R⊕/a)²·cos i (Vallado 2013 ch. 9, secular J2 rates, with e = 0).
 */
export function nodalPrecessionRadS(altitudeKm: number, inclinationDeg: number): number {
  const a = circularRadiusKm(altitudeKm, 'altitudeKm');
  const i = requireInRange(inclinationDeg, 'inclinationDeg', 0, 180, 'deg') * DEG;
  const n = Math.sqrt(MU_EARTH_KM3_S2 / (a * a * a));
  return -1.5 * n * J2_EARTH * (EARTH_RADIUS_KM / a) ** 2 * Math.cos(i);
}

/**
 * Inclination whose J2 nodal regression matches the Sun's mean motion,
 * 360° per tropical year (Wertz SMAD 3rd ed. ch. 6; Vallado 2013 ch. 9):
 * cos i = −Ω̇☉ / ((3/2)·n·J2·(R⊕/a)²). ≈ 97.4° at 500 km. Above ~5 970 km no
 * inclination gives enough regression and this throws.
 */
export function sunSynchronousInclinationDeg(altitudeKm: number): number {
  const a = circularRadiusKm(altitudeKm, 'altitudeKm');
  const n = Math.sqrt(MU_EARTH_KM3_S2 / (a * a * a));
  const sunRate = (2 * Math.PI) / (TROPICAL_YEAR_DAYS * 86400);
  const cosI = -sunRate / (1.5 * n * J2_EARTH * (EARTH_RADIUS_KM / a) ** 2);
  if (cosI < -1) {
    throw new OrbitError(`no sun-synchronous orbit exists at altitudeKm ${altitudeKm}: J2 regression is too weak there`);
  }
  return radToDeg(Math.acos(cosI));
}

function createCircularPropagator(spec: Extract<OrbitSpec, { kind: 'circular' }>): OrbitPropagator {
  const a = circularRadiusKm(spec.altitudeKm, 'circular.altitudeKm');
  const incDeg = requireInRange(spec.inclinationDeg, 'circular.inclinationDeg', 0, 180, 'deg');
  const raan0 = requireFinite(spec.raanDeg ?? 0, 'circular.raanDeg') * DEG;
  const u0 = requireFinite(spec.argumentOfLatitudeDeg ?? 0, 'circular.argumentOfLatitudeDeg') * DEG;
  const epochUtcMs = requireFinite(spec.epochUtcMs, 'circular.epochUtcMs');
  if (spec.j2 !== undefined && typeof spec.j2 !== 'boolean') {
    throw new OrbitError(`circular.j2 must be a boolean, got ${describe(spec.j2)}`);
  }
  const n = Math.sqrt(MU_EARTH_KM3_S2 / (a * a * a));
  const speed = n * a;
  const raanRate = spec.j2 === false ? 0 : nodalPrecessionRadS(spec.altitudeKm, incDeg);
  const cosI = Math.cos(incDeg * DEG);
  const sinI = Math.sin(incDeg * DEG);

  return {
    kind: 'circular',
    periodS: (2 * Math.PI) / n,
    epochUtcMs,
    inclinationDeg: incDeg,
    propagate(utcMs: number): OrbitState {
      const dt = (requireFinite(utcMs, 'utcMs') - epochUtcMs) / 1000;
      const u = u0 + n * dt;
      const raan = raan0 + raanRate * dt;
      const cu = Math.cos(u);
      const su = Math.sin(u);
      const cO = Math.cos(raan);
      const sO = Math.sin(raan);
      // Perifocal -> ECI with ω folded into u (Vallado 2013 COE2RV with e = 0).
      const positionKm: Vec3 = {
        x: a * (cO * cu - sO * su * cosI),
        y: a * (sO * cu + cO * su * cosI),
        z: a * su * sinI,
      };
      // d/dt of the position above: orbital motion plus the slow turn of the plane about z.
      const velocityKmS: Vec3 = {
        x: speed * (-cO * su - sO * cu * cosI) - raanRate * positionKm.y,
        y: speed * (-sO * su + cO * cu * cosI) + raanRate * positionKm.x,
        z: speed * cu * sinI,
      };
      return { utcMs, positionKm, velocityKmS, ...eciToGeodeticDeg(positionKm, utcMs) };
    },
  };
}

/** Modulo-10 TLE checksum: digits count their value, '-' counts 1, everything else 0 (Space-Track TLE format). */
export function tleChecksum(line: string): number {
  let sum = 0;
  for (const ch of line.slice(0, 68)) {
    if (ch >= '0' && ch <= '9') sum += ch.charCodeAt(0) - 48;
    else if (ch === '-') sum += 1;
  }
  return sum % 10;
}

function checkTleLine(raw: unknown, n: 1 | 2): string {
  const field = `tle.line${n}`;
  if (typeof raw !== 'string') throw new OrbitError(`${field} must be a string, got ${describe(raw)}`);
  const line = raw.trimEnd();
  if (line.length !== 69) {
    throw new OrbitError(`${field} must be 69 characters long, got ${line.length}: ${JSON.stringify(line)}`);
  }
  if (!line.startsWith(`${n} `)) {
    throw new OrbitError(`${field} must start with "${n} ", got ${JSON.stringify(line.slice(0, 2))}`);
  }
  const expected = line.charAt(68);
  const actual = tleChecksum(line);
  if (expected !== String(actual)) {
    throw new OrbitError(`${field} checksum mismatch: last digit is ${JSON.stringify(expected)}, computed ${actual}`);
  }
  return line;
}

const DECIMAL = /^ *[+-]?\d*\.\d+$/;
const EXPONENTIAL = /^[ +-]\d{5}[+-]\d$/;
/** Fixed-column numeric fields (0-based [start, end), as in Space-Track's TLE format description). */
const TLE_FIELDS: readonly [line: 1 | 2, name: string, start: number, end: number, format: RegExp][] = [
  [1, 'epoch', 18, 32, /^\d{2}[ \d]{2}\d\.\d+$/],
  [1, 'first derivative of mean motion', 33, 43, DECIMAL],
  [1, 'second derivative of mean motion', 44, 52, EXPONENTIAL],
  [1, 'B* drag term', 53, 61, EXPONENTIAL],
  [2, 'inclination', 8, 16, DECIMAL],
  [2, 'RAAN', 17, 25, DECIMAL],
  [2, 'eccentricity', 26, 33, /^\d{7}$/],
  [2, 'argument of perigee', 34, 42, DECIMAL],
  [2, 'mean anomaly', 43, 51, DECIMAL],
  [2, 'mean motion', 52, 63, DECIMAL],
];

/**
 * satellite.js parses the columns with parseFloat, which reads "19156.5x" as 19156.5; a
 * corrupted digit that happens to keep the checksum must still be caught, so check each field.
 */
function checkTleFields(line1: string, line2: string): void {
  for (const [n, name, start, end, format] of TLE_FIELDS) {
    const text = (n === 1 ? line1 : line2).slice(start, end);
    if (!format.test(text)) {
      throw new OrbitError(`tle.line${n} ${name} (columns ${start + 1}-${end}) is malformed: ${JSON.stringify(text)}`);
    }
  }
  const day = Number(line1.slice(20, 32));
  if (!(day >= 1 && day < 367)) throw new OrbitError(`tle.line1 epoch day-of-year must be in [1, 367), got ${day}`);
  const inc = Number(line2.slice(8, 16));
  if (inc > 180) throw new OrbitError(`tle.line2 inclination must be in [0, 180] deg, got ${inc}`);
}

function satRecErrorText(code: number): string {
  const name = (SatRecError as unknown as Record<number, string | undefined>)[code];
  return `SGP4 error ${code}${name === undefined ? '' : ` (${name})`}`;
}

function createTlePropagator(rawLine1: unknown, rawLine2: unknown): OrbitPropagator {
  const line1 = checkTleLine(rawLine1, 1);
  const line2 = checkTleLine(rawLine2, 2);
  const cat1 = line1.slice(2, 7);
  const cat2 = line2.slice(2, 7);
  if (cat1 !== cat2) {
    throw new OrbitError(`tle lines belong to different satellites: catalog numbers ${JSON.stringify(cat1)} and ${JSON.stringify(cat2)}`);
  }
  checkTleFields(line1, line2);
  let satrec: SatRec;
  try {
    satrec = twoline2satrec(line1, line2);
  } catch (err) {
    throw new OrbitError(`tle could not be parsed: ${String(err)}`, { cause: err });
  }
  // twoline2satrec parses fixed columns with parseFloat, so garbage turns into NaN rather than an exception.
  const fields: [string, number][] = [
    ['epoch', satrec.jdsatepoch],
    ['mean motion', satrec.no],
    ['eccentricity', satrec.ecco],
    ['inclination', satrec.inclo],
    ['RAAN', satrec.nodeo],
    ['argument of perigee', satrec.argpo],
    ['mean anomaly', satrec.mo],
    ['B*', satrec.bstar],
  ];
  for (const [name, value] of fields) {
    if (!Number.isFinite(value)) throw new OrbitError(`tle ${name} is not a number`);
  }
  if (!(satrec.no > 0)) throw new OrbitError(`tle mean motion must be > 0`);
  if (satrec.error !== SatRecError.None) {
    throw new OrbitError(`tle rejected by SGP4 initialisation: ${satRecErrorText(satrec.error)}`);
  }
  const epochUtcMs = (satrec.jdsatepoch - JD_UNIX_EPOCH) * MS_PER_DAY;
  const catalog = cat1.trim();

  const propagator: OrbitPropagator = {
    kind: 'tle',
    // satrec.no is the un-Kozai'd (Brouwer) mean motion in rad/min after sgp4init.
    periodS: ((2 * Math.PI) / satrec.no) * 60,
    epochUtcMs,
    inclinationDeg: radToDeg(satrec.inclo),
    propagate(utcMs: number): OrbitState {
      const minutes = (requireFinite(utcMs, 'utcMs') - epochUtcMs) / 60_000;
      const pv = sgp4(satrec, minutes);
      const when = `${minutes.toFixed(1)} min from epoch`;
      if (pv === null) {
        throw new OrbitError(`SGP4 propagation of ${catalog} failed ${when}: ${satRecErrorText(satrec.error)}`);
      }
      // Community decay check (satellite.js): SGP4 can return garbage for long-decayed objects.
      if (checkForDecay(satrec)) {
        throw new OrbitError(`SGP4 propagation of ${catalog} failed ${when}: the orbit has decayed`);
      }
      const { position, velocity } = pv;
      if (![position.x, position.y, position.z, velocity.x, velocity.y, velocity.z].every(Number.isFinite)) {
        throw new OrbitError(`SGP4 propagation of ${catalog} gave a non-finite state ${when}`);
      }
      const positionKm: Vec3 = { x: position.x, y: position.y, z: position.z };
      const geo = eciToGeodeticDeg(positionKm, utcMs);
      if (geo.altitudeKm < 0) {
        throw new OrbitError(`SGP4 propagation of ${catalog} is below the surface ${when} (altitude ${geo.altitudeKm.toFixed(1)} km)`);
      }
      return { utcMs, positionKm, velocityKmS: { x: velocity.x, y: velocity.y, z: velocity.z }, ...geo };
    },
  };
  // Propagate once at epoch so elements SGP4 cannot use fail here, not at first use.
  propagator.propagate(epochUtcMs);
  return propagator;
}
