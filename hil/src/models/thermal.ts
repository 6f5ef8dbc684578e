/**
 * Lumped-parameter thermal model of the compute payload: three nodes, die → board → radiator,
 * with the radiator exchanging heat with the orbital environment.
 *
 *   C_d dT_d/dt = P_payload − G_db (T_d − T_b)
 *   C_b dT_b/dt = P_board + G_db (T_d − T_b) − G_br (T_b − T_r)
 *   C_r dT_r/dt = P_heater + G_br (T_b − T_r) + Q_env − ε σ A (T_r⁴ − T_sink⁴)
 *   Q_env = ε·q_IR·F_E·A                       (Earth IR; absorptance = ε in the IR, Kirchhoff)
 *         + α·a·S·F_E·A·sunFraction            (albedo, only while the spacecraft is sunlit)
 *         + α·S·A·sunFraction·f_sun             (direct sun, f_sun = incidence factor)
 *
 * Sources: Gilmore (ed.), "Spacecraft Thermal Control Handbook" vol. 1, 2nd ed., ch. 2
 * (environment: Earth IR ≈ 237 W/m² orbit-average, albedo ≈ 0.30) and ch. 5 (radiators);
 * SMAD 3rd ed. §11.5 (node equations, radiator sizing). σ = 5.670374419e-8 W m⁻² K⁻⁴ (CODATA
 * 2018). Deep-space sink 3 K (cosmic background).
 *
 * Integration: classical RK4 with internal substeps h ≤ stabilityFraction × τ_min, where
 * τ_i = C_i / (Σ G_ij + G_rad,i) and G_rad = 4 ε σ A T³ is the linearised radiative conductance,
 * re-evaluated before every substep. RK4's real-axis stability limit is h/τ ≈ 2.78; the default
 * fraction 0.2 keeps every substep far inside it and accurate, so any caller dt is stable.
 */
import type { Rng } from "./rng.js";
import { SOLAR_CONSTANT_WM2 } from "./power.js";
import {
  requireEfficiency,
  requireFinite,
  requireFraction,
  requireInRange,
  requireNonNegative,
  requirePositive,
} from "./validate.js";

/** Stefan–Boltzmann constant, W m⁻² K⁻⁴ (CODATA 2018, exact in SI 2019). */
export const STEFAN_BOLTZMANN = 5.670374419e-8;
export const ZERO_CELSIUS_K = 273.15;
/** Deep-space sink temperature, K. */
export const DEEP_SPACE_K = 3;
/** Orbit-average Earth infrared emission, W/m² (Gilmore vol. 1, ch. 2). */
export const EARTH_IR_WM2 = 237;
/** Orbit-average Earth albedo fraction (Gilmore vol. 1, ch. 2). */
export const EARTH_ALBEDO = 0.3;

/** Net power radiated by a grey surface to a sink: ε σ A (T⁴ − T_sink⁴), W. */
export function radiatedPowerW(areaM2: number, emissivity: number, tempK: number, sinkK = DEEP_SPACE_K): number {
  return emissivity * STEFAN_BOLTZMANN * areaM2 * (tempK ** 4 - sinkK ** 4);
}

/** Analytic equilibrium of a radiator absorbing heatW: T = (Q/(εσA) + T_sink⁴)^¼, K. */
export function radiatorEquilibriumK(heatW: number, areaM2: number, emissivity: number, sinkK = DEEP_SPACE_K): number {
  return (heatW / (emissivity * STEFAN_BOLTZMANN * areaM2) + sinkK ** 4) ** 0.25;
}

export type ThermalNode = "die" | "board" | "radiator";
export const THERMAL_NODES: readonly ThermalNode[] = ["die", "board", "radiator"];

export interface ThermalNodeSpec {
  /** Heat capacity m·c_p, J/K (> 0). */
  heatCapacityJK: number;
  /** Initial temperature, °C. */
  initialC: number;
}

export interface ThermalSpec {
  nodes: { die: ThermalNodeSpec; board: ThermalNodeSpec; radiator: ThermalNodeSpec };
  /** Conductances, W/K (> 0): die–board (TIM, lid, cold plate), board–radiator (heat pipes, straps). */
  conductancesWK: { dieBoard: number; boardRadiator: number };
  radiator: {
    areaM2: number;
    /** IR emittance, (0, 1] (e.g. 0.85 white paint / OSR). */
    emissivity: number;
    /** Solar absorptance, [0, 1] (e.g. 0.2 white paint BOL, rising with age). */
    absorptivity: number;
    /** View factor to Earth, [0, 1]; default 0.3 (side-facing radiator in LEO). */
    earthViewFactor?: number;
    /** Fraction of full normal-incidence sun on the radiator when sunlit, [0, 1]; default 0 (radiator kept out of the sun). */
    solarIncidenceFactor?: number;
  };
  environment?: {
    solarConstantWm2?: number;
    earthIrWm2?: number;
    albedo?: number;
    sinkK?: number;
  };
  /** Temperature sensor Gaussian noise, standard deviation °C (≥ 0); default 0.25. */
  sensorNoiseSdC?: number;
  /** Max substep as a fraction of the smallest node time constant, (0, 1]; default 0.2. */
  stabilityFraction?: number;
}

export interface ThermalStepInput {
  /** Payload electrical power dissipated in the die, W (≥ 0). */
  payloadPowerW: number;
  /** Unobstructed fraction of the solar disc, [0, 1]. */
  sunFraction: number;
  /** Power dissipated on the board (regulators, memory), W; default 0. */
  boardPowerW?: number;
  /** Heat applied directly to the radiator (heaters), W; default 0. */
  radiatorHeatW?: number;
}

export function validateThermalSpec(spec: ThermalSpec): void {
  if (spec.nodes === null || typeof spec.nodes !== "object") throw new RangeError("nodes must be an object");
  for (const n of THERMAL_NODES) {
    const node = spec.nodes[n];
    if (node === null || typeof node !== "object") throw new RangeError(`nodes.${n} must be an object`);
    requirePositive(`nodes.${n}.heatCapacityJK`, node.heatCapacityJK);
    const t = requireFinite(`nodes.${n}.initialC`, node.initialC);
    if (t <= -ZERO_CELSIUS_K) throw new RangeError(`nodes.${n}.initialC must be above absolute zero, got ${t}`);
  }
  if (spec.conductancesWK === null || typeof spec.conductancesWK !== "object") {
    throw new RangeError("conductancesWK must be an object");
  }
  requirePositive("conductancesWK.dieBoard", spec.conductancesWK.dieBoard);
  requirePositive("conductancesWK.boardRadiator", spec.conductancesWK.boardRadiator);
  if (spec.radiator === null || typeof spec.radiator !== "object") throw new RangeError("radiator must be an object");
  requirePositive("radiator.areaM2", spec.radiator.areaM2);
  requireEfficiency("radiator.emissivity", spec.radiator.emissivity);
  requireFraction("radiator.absorptivity", spec.radiator.absorptivity);
  if (spec.radiator.earthViewFactor !== undefined) requireFraction("radiator.earthViewFactor", spec.radiator.earthViewFactor);
  if (spec.radiator.solarIncidenceFactor !== undefined) {
    requireFraction("radiator.solarIncidenceFactor", spec.radiator.solarIncidenceFactor);
  }
  const env = spec.environment;
  if (env !== undefined) {
    if (env.solarConstantWm2 !== undefined) requireNonNegative("environment.solarConstantWm2", env.solarConstantWm2);
    if (env.earthIrWm2 !== undefined) requireNonNegative("environment.earthIrWm2", env.earthIrWm2);
    if (env.albedo !== undefined) requireFraction("environment.albedo", env.albedo);
    if (env.sinkK !== undefined) requireNonNegative("environment.sinkK", env.sinkK);
  }
  if (spec.sensorNoiseSdC !== undefined) requireNonNegative("sensorNoiseSdC", spec.sensorNoiseSdC);
  if (spec.stabilityFraction !== undefined) requireInRange("stabilityFraction", spec.stabilityFraction, 0, 1, true);
}

interface Resolved {
  cD: number;
  cB: number;
  cR: number;
  gDB: number;
  gBR: number;
  areaM2: number;
  emissivity: number;
  absorptivity: number;
  earthViewFactor: number;
  solarIncidenceFactor: number;
  solarConstantWm2: number;
  earthIrWm2: number;
  albedo: number;
  sinkK: number;
  sensorNoiseSdC: number;
  stabilityFraction: number;
}

export class ThermalModel {
  private readonly p: Resolved;
  /** Node temperatures in K: die, board, radiator. */
  private tD: number;
  private tB: number;
  private tR: number;
  private substeps = 0;

  constructor(spec: ThermalSpec) {
    validateThermalSpec(spec);
    const env = spec.environment ?? {};
    this.p = {
      cD: spec.nodes.die.heatCapacityJK,
      cB: spec.nodes.board.heatCapacityJK,
      cR: spec.nodes.radiator.heatCapacityJK,
      gDB: spec.conductancesWK.dieBoard,
      gBR: spec.conductancesWK.boardRadiator,
      areaM2: spec.radiator.areaM2,
      emissivity: spec.radiator.emissivity,
      absorptivity: spec.radiator.absorptivity,
      earthViewFactor: spec.radiator.earthViewFactor ?? 0.3,
      solarIncidenceFactor: spec.radiator.solarIncidenceFactor ?? 0,
      solarConstantWm2: env.solarConstantWm2 ?? SOLAR_CONSTANT_WM2,
      earthIrWm2: env.earthIrWm2 ?? EARTH_IR_WM2,
      albedo: env.albedo ?? EARTH_ALBEDO,
      sinkK: env.sinkK ?? DEEP_SPACE_K,
      sensorNoiseSdC: spec.sensorNoiseSdC ?? 0.25,
      stabilityFraction: spec.stabilityFraction ?? 0.2,
    };
    this.tD = spec.nodes.die.initialC + ZERO_CELSIUS_K;
    this.tB = spec.nodes.board.initialC + ZERO_CELSIUS_K;
    this.tR = spec.nodes.radiator.initialC + ZERO_CELSIUS_K;
  }

  /** Environmental heat absorbed by the radiator (Earth IR + albedo + direct sun), W. */
  environmentHeatW(sunFraction: number): number {
    const p = this.p;
    const earthIr = p.emissivity * p.earthIrWm2 * p.earthViewFactor * p.areaM2;
    const albedo = p.absorptivity * p.albedo * p.solarConstantWm2 * p.earthViewFactor * p.areaM2 * sunFraction;
    const direct = p.absorptivity * p.solarConstantWm2 * p.areaM2 * sunFraction * p.solarIncidenceFactor;
    return earthIr + albedo + direct;
  }

  /** Advance the model by dtS seconds of simulated time with the inputs held constant. */
  step(dtS: number, input: ThermalStepInput): void {
    requirePositive("dtS", dtS);
    const pDie = requireNonNegative("payloadPowerW", input.payloadPowerW);
    const sun = requireFraction("sunFraction", input.sunFraction);
    const pBoard = input.boardPowerW === undefined ? 0 : requireNonNegative("boardPowerW", input.boardPowerW);
    const pRadHeater = input.radiatorHeatW === undefined ? 0 : requireNonNegative("radiatorHeatW", input.radiatorHeatW);
    const pRad = pRadHeater + this.environmentHeatW(sun);

    let remaining = dtS;
    while (remaining > 0) {
      const hMax = this.p.stabilityFraction * this.minTimeConstantS();
      const n = Math.ceil(remaining / hMax - 1e-9);
      const h = n <= 1 ? remaining : remaining / n;
      this.rk4(h, pDie, pBoard, pRad);
      this.substeps++;
      remaining = n <= 1 ? 0 : remaining - h;
    }
  }

  /** Smallest node time constant C/(ΣG + G_rad) at the current state, s. */
  minTimeConstantS(): number {
    const p = this.p;
    const gRad = 4 * p.emissivity * STEFAN_BOLTZMANN * p.areaM2 * Math.max(this.tR, p.sinkK) ** 3;
    return Math.min(p.cD / p.gDB, p.cB / (p.gDB + p.gBR), p.cR / (p.gBR + gRad));
  }

  /** Total internal substeps taken so far (diagnostic). */
  get substepCount(): number {
    return this.substeps;
  }

  private derivs(tD: number, tB: number, tR: number, pDie: number, pBoard: number, pRad: number): [number, number, number] {
    const p = this.p;
    const qDB = p.gDB * (tD - tB);
    const qBR = p.gBR * (tB - tR);
    const tRpos = Math.max(tR, 0);
    const qOut = p.emissivity * STEFAN_BOLTZMANN * p.areaM2 * (tRpos ** 4 - p.sinkK ** 4);
    return [(pDie - qDB) / p.cD, (pBoard + qDB - qBR) / p.cB, (pRad + qBR - qOut) / p.cR];
  }

  private rk4(h: number, pDie: number, pBoard: number, pRad: number): void {
    const { tD, tB, tR } = this;
    const k1 = this.derivs(tD, tB, tR, pDie, pBoard, pRad);
    const k2 = this.derivs(tD + (h / 2) * k1[0], tB + (h / 2) * k1[1], tR + (h / 2) * k1[2], pDie, pBoard, pRad);
    const k3 = this.derivs(tD + (h / 2) * k2[0], tB + (h / 2) * k2[1], tR + (h / 2) * k2[2], pDie, pBoard, pRad);
    const k4 = this.derivs(tD + h * k3[0], tB + h * k3[1], tR + h * k3[2], pDie, pBoard, pRad);
    this.tD = tD + (h / 6) * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]);
    this.tB = tB + (h / 6) * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]);
    this.tR = tR + (h / 6) * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2]);
  }

  temperaturesK(): { die: number; board: number; radiator: number } {
    return { die: this.tD, board: this.tB, radiator: this.tR };
  }

  temperaturesC(): { die: number; board: number; radiator: number } {
    return { die: this.tD - ZERO_CELSIUS_K, board: this.tB - ZERO_CELSIUS_K, radiator: this.tR - ZERO_CELSIUS_K };
  }

  /** Net power the radiator currently emits to the sink, W. */
  radiatedW(): number {
    return radiatedPowerW(this.p.areaM2, this.p.emissivity, this.tR, this.p.sinkK);
  }

  /** A sensor reading of a node: true temperature + N(0, sensorNoiseSdC²), °C. */
  sensorReadingC(node: ThermalNode, rng: Rng): number {
    const t = this.temperaturesC();
    if (node !== "die" && node !== "board" && node !== "radiator") {
      throw new RangeError(`node must be "die", "board" or "radiator", got ${String(node)}`);
    }
    return t[node] + (this.p.sensorNoiseSdC > 0 ? rng.normal(0, this.p.sensorNoiseSdC) : 0);
  }
}
