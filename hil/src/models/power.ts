/**
 * Electrical power system model: solar array, Li-ion battery, and a battery-coupled bus with a
 * fixed platform load, a sheddable payload load and latch-up current steps.
 *
 * Sources: Wertz & Larson, "Space Mission Analysis and Design" (SMAD, 3rd ed.), §11.4 (array
 * sizing P = S·η·Id·(1−d)^L·cosθ, battery depth of discharge); Patel, "Spacecraft Power
 * Systems" (2nd ed.), ch. 4–5 (battery energy balance, charge/discharge efficiency). Solar
 * constant 1361 W/m² (Kopp & Lean, GRL 38, 2011; SORCE/TIM total solar irradiance).
 *
 * Conventions: powers in W (averages over the step), energies in Wh, time steps in s.
 */
import {
  requireEfficiency,
  requireFinite,
  requireFraction,
  requireInRange,
  requireNonNegative,
  requirePositive,
} from "./validate.js";

/** Total solar irradiance at 1 AU, W/m² (Kopp & Lean 2011). */
export const SOLAR_CONSTANT_WM2 = 1361;

// ---------------------------------------------------------------------------------------------
// Solar array
// ---------------------------------------------------------------------------------------------

export interface SolarArraySpec {
  /** Total array area, m². */
  areaM2: number;
  /** Cell conversion efficiency at beginning of life, (0, 1] (e.g. 0.30 triple-junction GaAs). */
  cellEfficiency: number;
  /** Fraction of the array area covered by active cells, (0, 1] (e.g. 0.85–0.90). */
  packingFactor: number;
  /** Fractional power loss per year, [0, 1) (e.g. 0.005–0.0275/yr in LEO, SMAD table 11-34). */
  degradationPerYear: number;
  /** Time on orbit, years (≥ 0). */
  ageYears: number;
  /**
   * "sun-tracking": the caller's cosIncidence is the tracking-error cosine (≈1);
   * "body-fixed": the caller passes the geometric cosine between sun vector and panel normal.
   */
  pointing: "sun-tracking" | "body-fixed";
}

export function validateSolarArraySpec(spec: SolarArraySpec, prefix = ""): void {
  requirePositive(`${prefix}areaM2`, spec.areaM2);
  requireEfficiency(`${prefix}cellEfficiency`, spec.cellEfficiency);
  requireEfficiency(`${prefix}packingFactor`, spec.packingFactor);
  requireInRange(`${prefix}degradationPerYear`, spec.degradationPerYear, 0, 1, false, true);
  requireNonNegative(`${prefix}ageYears`, spec.ageYears);
  if (spec.pointing !== "sun-tracking" && spec.pointing !== "body-fixed") {
    throw new RangeError(`${prefix}pointing must be "sun-tracking" or "body-fixed", got ${String(spec.pointing)}`);
  }
}

const COS_TOLERANCE = 1e-9;

/**
 * Array output power (SMAD eq. 11-5 form):
 *   P = S · A · η · packing · (1 − d)^age · max(0, cosθ) · sunFraction
 * sunFraction ∈ [0, 1] is the unobstructed fraction of the solar disc (0 in umbra, fractional in
 * penumbra); cosIncidence is the cosine of the angle between sun vector and array normal.
 */
export function arrayPowerW(
  spec: SolarArraySpec,
  sunFraction: number,
  cosIncidence: number,
  solarConstantWm2 = SOLAR_CONSTANT_WM2,
): number {
  requireFraction("sunFraction", sunFraction);
  // A normalised dot product can land a rounding error past ±1: tolerate 1e-9, reject real errors.
  requireInRange("cosIncidence", cosIncidence, -1 - COS_TOLERANCE, 1 + COS_TOLERANCE);
  requireNonNegative("solarConstantWm2", solarConstantWm2);
  const lifeFactor = Math.pow(1 - spec.degradationPerYear, spec.ageYears);
  return (
    solarConstantWm2 *
    spec.areaM2 *
    spec.cellEfficiency *
    spec.packingFactor *
    lifeFactor *
    Math.min(1, Math.max(0, cosIncidence)) *
    sunFraction
  );
}

// ---------------------------------------------------------------------------------------------
// Battery
// ---------------------------------------------------------------------------------------------

export interface BatterySpec {
  /** Usable capacity at 100 % SOC, Wh (> 0). */
  capacityWh: number;
  /** Fraction of charger input energy that is stored, (0, 1]. */
  chargeEfficiency: number;
  /** Fraction of stored energy delivered to the bus, (0, 1]. */
  dischargeEfficiency: number;
  /** SOC (%) below which the power system sheds the payload load, [0, 100) (e.g. 30). */
  dodFloorPct: number;
  /** SOC at start, [0, 100] %. */
  initialSocPct: number;
  /**
   * Cell string: voltage follows the open-circuit-voltage curve `LI_ION_OCV_CURVE` (a 3.7 V
   * nominal NMC cell, 3.0 V at 0 % to 4.2 V at 100 %), scaled by nominalV / 3.7 per cell, times
   * `series` cells.
   */
  cells: { nominalV: number; series: number };
  /** Charger input power limit, W (array side). Absent: unlimited. */
  maxChargeW?: number;
}

/**
 * Open-circuit voltage of a 3.7 V-nominal Li-ion (NMC/graphite) cell at 25 °C, as
 * [SOC %, V] pairs, interpolated linearly. Representative of published 18650 NMC OCV–SOC data
 * (e.g. Plett, "Battery Management Systems" vol. 1, ch. 2); monotonic 3.0 V → 4.2 V.
 */
export const LI_ION_OCV_CURVE: readonly (readonly [number, number])[] = [
  [0, 3.0],
  [5, 3.3],
  [10, 3.45],
  [20, 3.56],
  [30, 3.63],
  [40, 3.68],
  [50, 3.73],
  [60, 3.79],
  [70, 3.87],
  [80, 3.95],
  [90, 4.06],
  [100, 4.2],
];
/** Nominal voltage of the cell that `LI_ION_OCV_CURVE` describes. */
export const LI_ION_OCV_NOMINAL_V = 3.7;

/** Per-cell OCV (V) at a SOC in %, for a 3.7 V nominal cell, piecewise-linear in `LI_ION_OCV_CURVE`. */
export function liIonCellOcvV(socPct: number): number {
  const s = Math.min(100, Math.max(0, socPct));
  for (let i = 1; i < LI_ION_OCV_CURVE.length; i++) {
    const hi = LI_ION_OCV_CURVE[i]!;
    if (s <= hi[0]) {
      const lo = LI_ION_OCV_CURVE[i - 1]!;
      return lo[1] + ((hi[1] - lo[1]) * (s - lo[0])) / (hi[0] - lo[0]);
    }
  }
  return LI_ION_OCV_CURVE[LI_ION_OCV_CURVE.length - 1]![1];
}

export function validateBatterySpec(spec: BatterySpec, prefix = ""): void {
  requirePositive(`${prefix}capacityWh`, spec.capacityWh);
  requireEfficiency(`${prefix}chargeEfficiency`, spec.chargeEfficiency);
  requireEfficiency(`${prefix}dischargeEfficiency`, spec.dischargeEfficiency);
  requireInRange(`${prefix}dodFloorPct`, spec.dodFloorPct, 0, 100, false, true);
  requireInRange(`${prefix}initialSocPct`, spec.initialSocPct, 0, 100);
  if (spec.cells === null || typeof spec.cells !== "object") {
    throw new RangeError(`${prefix}cells must be an object { nominalV, series }`);
  }
  requirePositive(`${prefix}cells.nominalV`, spec.cells.nominalV);
  const series = requirePositive(`${prefix}cells.series`, spec.cells.series);
  if (!Number.isInteger(series)) throw new RangeError(`${prefix}cells.series must be an integer, got ${series}`);
  if (spec.maxChargeW !== undefined) requirePositive(`${prefix}maxChargeW`, spec.maxChargeW);
}

export interface BatteryStepResult {
  /** Energy added to storage this step (after charge efficiency), Wh. */
  chargedWh: number;
  /** Energy removed from storage this step (before discharge efficiency), Wh. */
  dischargedWh: number;
  /** Array-side energy accepted by the charger this step, Wh (chargedWh = chargeInputWh·ηc). */
  chargeInputWh: number;
  /** Energy the battery delivered to loads this step, Wh (= dischargedWh·ηd). */
  deliveredWh: number;
  /** Average load power actually supplied over the step, W. */
  suppliedLoadW: number;
  /** Average load power not supplied over the step (payload shed at the DoD floor, or brown-out at 0 %), W. */
  shedLoadW: number;
  /** Average array power not used (battery full or charge-rate limited), W. */
  curtailedArrayW: number;
}

/**
 * Li-ion battery on a battery-coupled bus. Each step the array feeds the loads directly; the
 * net surplus charges the battery (× chargeEfficiency, limited by maxChargeW and by the energy
 * needed to reach 100 %; the rest is curtailed by the shunt regulator); the net deficit is drawn
 * from the battery (÷ dischargeEfficiency). Energy balance per step:
 *   ΔE = surplusAccepted·dt·ηc − deficitSupplied·dt/ηd.
 * Load shedding: the sheddable part of the load (the payload) is only supplied from energy
 * above the DoD floor; when it would take the SOC below the floor it is shed, for the part of the
 * step that would, so the SOC stops exactly at the floor. The non-sheddable part (platform bus)
 * may use energy below the floor down to 0 %, where it browns out (also reported as shed).
 */
export class Battery {
  readonly spec: Readonly<BatterySpec>;
  private e: number;
  private readonly floorWh: number;

  constructor(spec: BatterySpec) {
    validateBatterySpec(spec);
    this.spec = { ...spec, cells: { ...spec.cells } };
    this.e = (spec.capacityWh * spec.initialSocPct) / 100;
    this.floorWh = (spec.capacityWh * spec.dodFloorPct) / 100;
  }

  /** State of charge, % of capacity, always in [0, 100]. */
  get socPct(): number {
    return (100 * this.e) / this.spec.capacityWh;
  }

  /** Stored energy, Wh, in [0, capacityWh]. */
  get energyWh(): number {
    return this.e;
  }

  /** Open-circuit pack voltage at the current SOC (no IR drop), V. */
  voltageV(): number {
    return (
      this.spec.cells.series * liIonCellOcvV(this.socPct) * (this.spec.cells.nominalV / LI_ION_OCV_NOMINAL_V)
    );
  }

  /**
   * Advance by dtS seconds with arrayW available and loadW demanded, of which sheddableW
   * (default: all of loadW) may be shed at the DoD floor. Powers are step averages.
   */
  step(arrayW: number, loadW: number, dtS: number, sheddableW: number = loadW): BatteryStepResult {
    requireNonNegative("arrayW", arrayW);
    requireNonNegative("loadW", loadW);
    requirePositive("dtS", dtS);
    requireInRange("sheddableW", sheddableW, 0, loadW);
    const { capacityWh, chargeEfficiency: etaC, dischargeEfficiency: etaD } = this.spec;
    const dtH = dtS / 3600;
    const result: BatteryStepResult = {
      chargedWh: 0,
      dischargedWh: 0,
      chargeInputWh: 0,
      deliveredWh: 0,
      suppliedLoadW: loadW,
      shedLoadW: 0,
      curtailedArrayW: 0,
    };

    if (arrayW >= loadW) {
      const surplusW = arrayW - loadW;
      let acceptedW = Math.min(surplusW, this.spec.maxChargeW ?? Infinity);
      const headroomWh = Math.max(0, capacityWh - this.e);
      let storedWh = acceptedW * dtH * etaC;
      if (storedWh >= headroomWh) {
        storedWh = headroomWh;
        acceptedW = headroomWh / (dtH * etaC);
        this.e = capacityWh;
      } else {
        this.e = Math.min(capacityWh, this.e + storedWh);
      }
      result.chargedWh = storedWh;
      result.chargeInputWh = acceptedW * dtH;
      result.curtailedArrayW = Math.max(0, surplusW - acceptedW);
      return result;
    }

    // Deficit. The array serves the essential (non-sheddable) load first, then the payload.
    const essentialW = loadW - sheddableW;
    const arrayToEssentialW = Math.min(arrayW, essentialW);
    const essentialDeficitW = essentialW - arrayToEssentialW;
    const payloadDeficitW = sheddableW - Math.min(arrayW - arrayToEssentialW, sheddableW);

    // Essential deficit: from all stored energy, down to 0 %.
    const needEssentialWh = (essentialDeficitW * dtH) / etaD;
    const drawEssentialWh = Math.min(needEssentialWh, this.e);
    const unmetEssentialW = ((needEssentialWh - drawEssentialWh) * etaD) / dtH;

    // Payload deficit: only from energy above the DoD floor.
    const aboveFloorWh = Math.max(0, this.e - drawEssentialWh - this.floorWh);
    const needPayloadWh = (payloadDeficitW * dtH) / etaD;
    const drawPayloadWh = Math.min(needPayloadWh, aboveFloorWh);
    const shedPayloadW = ((needPayloadWh - drawPayloadWh) * etaD) / dtH;

    const drawnWh = drawEssentialWh + drawPayloadWh;
    this.e = Math.max(0, this.e - drawnWh);
    result.dischargedWh = drawnWh;
    result.deliveredWh = drawnWh * etaD;
    result.shedLoadW = unmetEssentialW + shedPayloadW;
    result.suppliedLoadW = loadW - result.shedLoadW;
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// Power system
// ---------------------------------------------------------------------------------------------

export interface PowerSystemSpec {
  array: SolarArraySpec;
  battery: BatterySpec;
  /** Fixed platform (bus) load, W (≥ 0): avionics, comms, ADCS, heaters. Never shed while charge remains. */
  busLoadW: number;
  /** Solar constant, W/m² (default 1361). */
  solarConstantWm2?: number;
}

export interface PowerStepInput {
  /** Unobstructed fraction of the solar disc, [0, 1] (0 in umbra). */
  sunFraction: number;
  /** Cosine of sun incidence on the array, [-1, 1]; default 1 (ideal sun tracking). */
  cosIncidence?: number;
  /** Payload (compute) load demanded, W (≥ 0); sheddable. */
  payloadW: number;
}

export interface PowerStepResult {
  /** Array power available, W. */
  arrayW: number;
  /** Total load demanded (bus + payload + latch-up), W. */
  loadW: number;
  /** Load actually supplied, W (= loadW − shedW). */
  suppliedW: number;
  socPct: number;
  energyWh: number;
  /** Bus voltage = battery OCV (battery-coupled, unregulated bus), V. */
  busVoltageV: number;
  /** Bus current = suppliedW / busVoltageV, A. */
  busCurrentA: number;
  /** Load shed this step (payload at the DoD floor, anything at 0 %), W. */
  shedW: number;
  /** Array power curtailed by the shunt regulator, W. */
  curtailedW: number;
  /** Whether a latch-up current step is present (until powerCycle()). */
  latchedUp: boolean;
  /** Sum of present latch-up current steps, W. */
  latchUpW: number;
  chargedWh: number;
  dischargedWh: number;
}

export type LatchUpRail = "payload" | "bus";

/**
 * Array + battery + bus. The payload rail (payload load plus any payload latch-up current) is
 * the sheddable load; the platform bus load (plus any bus latch-up) is not. Shedding the payload
 * rail does not clear a latch-up: only powerCycle() does (the engine's FDIR decides when).
 */
export class PowerSystem {
  readonly battery: Battery;
  readonly spec: Readonly<PowerSystemSpec>;
  private latchPayloadW = 0;
  private latchBusW = 0;

  constructor(spec: PowerSystemSpec) {
    validateSolarArraySpec(spec.array, "array.");
    validateBatterySpec(spec.battery, "battery.");
    requireNonNegative("busLoadW", spec.busLoadW);
    if (spec.solarConstantWm2 !== undefined) requireNonNegative("solarConstantWm2", spec.solarConstantWm2);
    this.spec = spec;
    this.battery = new Battery(spec.battery);
  }

  /** Add a latch-up current step of stepW watts on a rail (default the payload); persists until powerCycle(). */
  latchUp(stepW: number, rail: LatchUpRail = "payload"): void {
    requirePositive("stepW", stepW);
    if (rail === "payload") this.latchPayloadW += stepW;
    else if (rail === "bus") this.latchBusW += stepW;
    else throw new RangeError(`rail must be "payload" or "bus", got ${String(rail)}`);
  }

  /** Remove power and restore it: clears every latch-up current step. */
  powerCycle(): void {
    this.latchPayloadW = 0;
    this.latchBusW = 0;
  }

  get latchedUp(): boolean {
    return this.latchPayloadW + this.latchBusW > 0;
  }

  get latchUpW(): number {
    return this.latchPayloadW + this.latchBusW;
  }

  step(dtS: number, input: PowerStepInput): PowerStepResult {
    requirePositive("dtS", dtS);
    requireNonNegative("payloadW", input.payloadW);
    const cos = input.cosIncidence === undefined ? 1 : requireFinite("cosIncidence", input.cosIncidence);
    const arrayW = arrayPowerW(this.spec.array, input.sunFraction, cos, this.spec.solarConstantWm2);
    const payloadRailW = input.payloadW + this.latchPayloadW;
    const loadW = this.spec.busLoadW + this.latchBusW + payloadRailW;
    const r = this.battery.step(arrayW, loadW, dtS, payloadRailW);
    const busVoltageV = this.battery.voltageV();
    return {
      arrayW,
      loadW,
      suppliedW: r.suppliedLoadW,
      socPct: this.battery.socPct,
      energyWh: this.battery.energyWh,
      busVoltageV,
      busCurrentA: r.suppliedLoadW / busVoltageV,
      shedW: r.shedLoadW,
      curtailedW: r.curtailedArrayW,
      latchedUp: this.latchedUp,
      latchUpW: this.latchUpW,
      chargedWh: r.chargedWh,
      dischargedWh: r.dischargedWh,
    };
  }
}
