// The orbit's environment, stepped in simulated time: where the spacecraft is,
// whether it sees the Sun, what the array gives and the battery holds, how hot
// the die, board and radiator are, and what the radiation does. Deterministic:
// everything random comes from one seeded Rng, forked per model.
import {
  betaAngleDeg,
  contactWindows,
  createPropagator,
  eclipseWindows,
  elevationDeg,
  inPolygon,
  SOUTH_ATLANTIC_ANOMALY,
  sunFraction as shadowFraction,
  sunPositionKm,
  sunSynchronousInclinationDeg,
  type OrbitSpec,
  type OrbitState,
  type Propagator,
  type Vec3,
} from "../orbit/index.js";
import { PowerSystem, RadiationModel, Rng, ThermalModel, type PowerStepResult, type RadiationStepResult } from "../models/index.js";
import type { Scenario } from "../scenario/schema.js";

export interface Window {
  startS: number;
  endS: number;
}

/** Where the spacecraft is in its day/night cycle (published as HardwareState.illumination). */
export interface Illumination {
  /** Outside every eclipse window. */
  sunlit: boolean;
  /** Seconds to the next shadow entry (sunlit) or exit (in eclipse); -1 = none in the windows. */
  secondsToTransition: number;
  /** Length of the current eclipse, or of the next one when sunlit; 0 = none in the windows. */
  eclipseDurationS: number;
  orbitPeriodS: number;
}

/**
 * Illumination at tS from sorted, disjoint eclipse windows. Inside a window
 * means [startS, endS): the same edges secondsToShadowChange has always used.
 * A window already open at the scenario's start is clipped there, so at the
 * very start the current eclipse's length can read short.
 */
export function illuminationAt(eclipses: readonly Window[], tS: number, orbitPeriodS: number): Illumination {
  for (const w of eclipses) {
    if (w.endS <= tS) continue;
    const eclipseDurationS = w.endS - w.startS;
    if (w.startS > tS) return { sunlit: true, secondsToTransition: w.startS - tS, eclipseDurationS, orbitPeriodS };
    return { sunlit: false, secondsToTransition: w.endS - tS, eclipseDurationS, orbitPeriodS };
  }
  return { sunlit: true, secondsToTransition: -1, eclipseDurationS: 0, orbitPeriodS };
}

export interface EnvironmentStep {
  elapsedS: number;
  utcMs: number;
  orbit: OrbitState;
  sunFraction: number;
  betaDeg: number;
  inSaa: boolean;
  spe: boolean;
  stationsInView: string[];
  secondsToShadowChange: number;
  illumination: Illumination;
  payloadDemandW: number;
  power: PowerStepResult;
  temperaturesC: { die: number; board: number; radiator: number };
  radiation: RadiationStepResult;
}

function norm(v: Vec3): number {
  return Math.hypot(v.x, v.y, v.z);
}

/** Right ascension of the Sun at an instant, degrees. */
function sunRightAscensionDeg(utcMs: number): number {
  const s = sunPositionKm(utcMs);
  return (Math.atan2(s.y, s.x) * 180) / Math.PI;
}

/** The scenario's orbit as a propagator spec: SSO inclination and LTAN resolved. */
export function orbitSpecOf(scenario: Scenario): OrbitSpec {
  const o = scenario.orbit;
  if (o.kind === "tle") return { kind: "tle", line1: o.line1, line2: o.line2 };
  const inclinationDeg = o.inclinationDeg === "sun-synchronous" ? sunSynchronousInclinationDeg(o.altitudeKm) : o.inclinationDeg;
  // The ascending node at local time L lies (L − 12 h)·15° east of the Sun's right ascension.
  const raanDeg = o.raanDeg ?? sunRightAscensionDeg(scenario.epoch) + ((o.ltanHours ?? 10.5) - 12) * 15;
  return { kind: "circular", altitudeKm: o.altitudeKm, inclinationDeg, raanDeg, argumentOfLatitudeDeg: o.argumentOfLatitudeDeg, epochUtcMs: scenario.epoch, j2: o.j2 };
}

export class Environment {
  readonly propagator: Propagator;
  readonly power: PowerSystem;
  readonly thermal: ThermalModel;
  readonly radiation: RadiationModel;
  readonly eclipses: Window[];
  readonly contacts: (Window & { station: string; maxElevationDeg: number })[];
  readonly sensorRng: Rng;
  private elapsedS = 0;

  constructor(private readonly scenario: Scenario) {
    const rng = new Rng(scenario.seed);
    this.sensorRng = rng.fork("sensors");
    this.propagator = createPropagator(orbitSpecOf(scenario));
    const p = scenario.power;
    this.power = new PowerSystem({
      array: { ...p.array },
      battery: {
        capacityWh: p.battery.capacityWh,
        chargeEfficiency: p.battery.chargeEfficiency,
        dischargeEfficiency: p.battery.dischargeEfficiency,
        dodFloorPct: p.battery.dodFloorPct,
        initialSocPct: p.battery.initialSocPct,
        cells: { nominalV: 3.7, series: p.battery.cellsInSeries },
        ...(p.battery.maxChargeW === undefined ? {} : { maxChargeW: p.battery.maxChargeW }),
      },
      busLoadW: p.platformLoadW,
    });
    const t = scenario.thermal;
    this.thermal = new ThermalModel({
      nodes: {
        die: { heatCapacityJK: t.die.heatCapacityJPerK, initialC: t.die.initialC },
        board: { heatCapacityJK: t.board.heatCapacityJPerK, initialC: t.board.initialC },
        radiator: { heatCapacityJK: t.radiator.heatCapacityJPerK, initialC: t.radiator.initialC },
      },
      conductancesWK: { dieBoard: t.dieBoardWPerK, boardRadiator: t.boardRadiatorWPerK },
      radiator: { areaM2: t.radiatorAreaM2, emissivity: t.emissivity, absorptivity: t.absorptivity, earthViewFactor: t.earthViewFactor, solarIncidenceFactor: t.solarIncidenceFactor },
      environment: { earthIrWm2: t.earthIrWm2, albedo: t.albedo },
      sensorNoiseSdC: t.sensorNoiseC,
    });
    const r = scenario.radiation;
    this.radiation = new RadiationModel(
      {
        // The SAA and SPE multipliers apply to every single-event effect alike.
        seu: { quietPerBitPerDay: r.quietRatePerBitDay, saaMultiplier: r.saaMultiplier, speMultiplier: r.speMultiplier, mbuFraction: r.multiBitFraction },
        sefi: { quietPerDay: r.sefiRatePerDay, saaMultiplier: r.saaMultiplier, speMultiplier: r.speMultiplier, hangProbability: r.sefiHangProbability },
        latchup: { quietPerDay: r.latchupRatePerDay, saaMultiplier: r.saaMultiplier, speMultiplier: r.speMultiplier },
        dose: { quietKradPerDay: r.doseKradPerDay, saaKradPerDay: r.saaDoseKradPerDay, speKradPerDay: r.speDoseKradPerDay },
      },
      rng.fork("radiation"),
    );
    // Windows are found once, up front, with edges refined by bisection; a day
    // past the end lets the last step know when its shadow changes.
    const end = scenario.epoch + (scenario.duration + 86400) * 1000;
    const toWindow = (w: { startUtcMs: number; endUtcMs: number }) => ({ startS: (w.startUtcMs - scenario.epoch) / 1000, endS: (w.endUtcMs - scenario.epoch) / 1000 });
    this.eclipses = eclipseWindows(this.propagator, scenario.epoch, end, scenario.shadow).map(toWindow);
    this.contacts = scenario.groundStations.flatMap((s) =>
      contactWindows(this.propagator, s, scenario.epoch, scenario.epoch + scenario.duration * 1000).map((w) => ({ ...toWindow(w), station: w.station, maxElevationDeg: w.maxElevationDeg })),
    );
  }

  get timeS(): number {
    return this.elapsedS;
  }

  private inSpe(tS: number): boolean {
    return this.scenario.radiation.solarParticleEvents.some((e) => tS >= e.start && tS < e.start + e.duration);
  }

  /** Illumination at tS (default now), from the eclipse windows and the propagator's period (2π·√(a³/μ) for a circular orbit). */
  illumination(tS = this.elapsedS): Illumination {
    return illuminationAt(this.eclipses, tS, this.propagator.periodS);
  }

  /** Advances by dtS with the payload drawing payloadDemandW; returns the state at the end of the step. */
  step(dtS: number, payloadDemandW: number, exposedBits: number): EnvironmentStep {
    this.elapsedS += dtS;
    const tS = this.elapsedS;
    const utcMs = this.scenario.epoch + tS * 1000;
    const orbit = this.propagator.propagate(utcMs);
    const sun = sunPositionKm(utcMs);
    const fraction = shadowFraction(orbit.positionKm, sun, this.scenario.shadow);
    const cosIncidence =
      this.scenario.power.array.pointing === "sun-tracking"
        ? 1
        : (orbit.positionKm.x * sun.x + orbit.positionKm.y * sun.y + orbit.positionKm.z * sun.z) / (norm(orbit.positionKm) * norm(sun));
    const inSaa = inPolygon(orbit.latitudeDeg, orbit.longitudeDeg, SOUTH_ATLANTIC_ANOMALY);
    const spe = this.inSpe(tS);
    const power = this.power.step(dtS, { sunFraction: fraction, cosIncidence, payloadW: payloadDemandW });
    // What the payload rail actually got heats the die: shed load draws nothing.
    const payloadSuppliedW = Math.max(0, payloadDemandW + this.power.latchUpW - power.shedW);
    this.thermal.step(dtS, { payloadPowerW: payloadSuppliedW, sunFraction: fraction });
    const radiation = this.radiation.step(dtS, { inSaa, spe }, exposedBits);
    const illumination = this.illumination(tS);
    return {
      elapsedS: tS,
      utcMs,
      orbit,
      sunFraction: fraction,
      betaDeg: betaAngleDeg(orbit.positionKm, orbit.velocityKmS, sun),
      inSaa,
      spe,
      stationsInView: this.scenario.groundStations.filter((s) => elevationDeg(s, orbit) >= s.minElevationDeg).map((s) => s.name),
      secondsToShadowChange: illumination.secondsToTransition,
      illumination,
      payloadDemandW,
      power,
      temperaturesC: this.thermal.temperaturesC(),
      radiation,
    };
  }
}
