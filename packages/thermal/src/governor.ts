// One poll of the thermal governor, as pure logic: given every zone's raw
// reading and the time, decide the throttle state, the power budget and each
// actor's state. The service (service.ts) does the reading, applies the CPU
// ceilings through the platform port and publishes the result; everything it
// decides comes from here, so it can be tested without a bus or a clock.
//
// Order of precedence, worst first:
//   critical trip on any zone    -> emergency: all jobs stopped, every actor at its lowest state
//   hot trip on any zone         -> every actor at its minimum
//   a sensor is faulty           -> the conservative budget (less if a healthy zone is over target)
//   otherwise                    -> the selected governor (power allocator PID, or step-wise)
import { chooseLevels, divideBudget, maxPower, minPower, type ActorModel } from "./allocator.js";
import { PidController, type PidGains } from "./pid.js";
import { SensorHealth, type RawReading, type SensorFault, type SensorLimits } from "./sensor-health.js";
import { StepWise, trendOf } from "./step-wise.js";
import { TripTracker, levelRank, type TripLevel, type TripPoints, type TripTransition } from "./trips.js";

export const GOVERNORS = ["power-allocator", "step-wise"] as const;
export type GovernorName = (typeof GOVERNORS)[number];
export const PROFILES = ["die", "board"] as const;
/** Which set of trip points a zone uses. */
export type ZoneProfile = (typeof PROFILES)[number];
export type ThrottleStateName = "none" | "controlling" | "hot" | "critical";

export interface GovernorSettings {
  governor: GovernorName;
  trips: Record<ZoneProfile, TripPoints>;
  /** The loop switches on this far below the target; below that actors get their maximum. °C. */
  switchOnBandC: number;
  gains: PidGains;
  /** Budget while a sensor is faulty, W. */
  conservativeBudgetW: number;
  sensor: SensorLimits;
  /** Step-wise trend dead band, °C. */
  trendDeadbandC: number;
  /** Weight per actor kind. */
  weights: { cpu: number; accelerator: number; jobs: number };
  /** A PowerRequest older than this no longer counts; the actor is assumed to want its maximum. ms. */
  requestTtlMs: number;
}

export interface ZoneInput {
  zone: string;
  type: string;
  raw: RawReading;
}

export interface ZoneStatus {
  zone: string;
  type: string;
  profile: ZoneProfile;
  celsius: number | undefined;
  trusted: boolean;
  fault: SensorFault | undefined;
  level: TripLevel;
}

export interface GrantDecision {
  actor: string;
  kind: ActorModel["kind"];
  requestW: number;
  grantW: number;
  minW: number;
  maxW: number;
  /** Index into the actor's levels; -1 for jobs stopped by an emergency. */
  levelIndex: number;
  /** kHz, accelerator level or job slots (0 when stopped). */
  value: number;
  levelW: number;
  maxLevel: number;
}

export interface Decision {
  nowMs: number;
  state: ThrottleStateName;
  governor: GovernorName;
  budgetW: number;
  grants: GrantDecision[];
  jobConcurrency: number;
  reason: string;
  degraded: boolean;
  controlZone: string;
  controlC: number;
  targetC: number;
  pid: { pW: number; iW: number; dW: number };
  /** Any actor below its top state, or any trip latched. */
  throttled: boolean;
  zones: ZoneStatus[];
  transitions: (TripTransition & { zone: string })[];
  sensorChanges: { zone: string; change: "faulted" | "recovered"; fault: SensorFault | undefined }[];
  /** Set on the poll an emergency begins or ends. */
  emergency: { change: "entered" | "cleared"; zone: string; celsius: number; criticalC: number } | undefined;
}

interface ZoneState {
  type: string;
  profile: ZoneProfile;
  health: SensorHealth;
  trips: TripTracker;
  lastC: number | undefined;
  lastTrusted: boolean;
}

const PROFILE_BY_TYPE = /cpu|soc|gpu|npu|tpu|die|core|acc/i;

/** The profile a zone gets from the configured map, else from its kernel type (cpu-like types are "die"). */
export function profileFor(zone: string, type: string, map: Readonly<Record<string, ZoneProfile>> = {}): ZoneProfile {
  const configured = Object.prototype.hasOwnProperty.call(map, zone) ? map[zone] : undefined;
  if (configured) return configured;
  return PROFILE_BY_TYPE.test(type) ? "die" : "board";
}

export class ThermalGovernor {
  private readonly zones = new Map<string, ZoneState>();
  private readonly pid: PidController;
  private readonly stepWise: StepWise;
  private readonly requests = new Map<string, { watts: number; atMs: number }>();
  private lastPidMs: number | undefined;
  private lastControlC: number | undefined;
  private emergencyZone: string | undefined;

  constructor(
    readonly actors: readonly ActorModel[],
    initialGains: PidGains,
    private readonly zoneProfiles: Readonly<Record<string, ZoneProfile>> = {},
  ) {
    if (actors.length === 0) throw new RangeError("thermal governor: needs at least one actor");
    const names = new Set<string>();
    for (const a of actors) {
      if (names.has(a.name)) throw new RangeError(`thermal governor: actor ${a.name} is given twice`);
      names.add(a.name);
    }
    this.pid = new PidController(initialGains);
    this.stepWise = new StepWise(actors.map((a) => a.levels.length - 1));
  }

  get inEmergency(): boolean {
    return this.emergencyZone !== undefined;
  }

  /** Notes an actor's own request (from a PowerRequest); refuses what is not finite or not one of ours. */
  setRequest(actor: string, watts: number, nowMs: number): string | undefined {
    const a = this.actors.find((x) => x.name === actor);
    if (!a) return `no actor ${JSON.stringify(actor.slice(0, 64))}`;
    if (typeof watts !== "number" || !Number.isFinite(watts) || watts < 0) return `${actor}: request ${String(watts)} W is not a finite number >= 0`;
    this.requests.set(actor, { watts: Math.min(maxPower(a), Math.max(minPower(a), watts)), atMs: nowMs });
    return undefined;
  }

  /** Operator reset: the loop's memory, and optionally every sensor's history and fault. */
  reset(clearSensorFaults: boolean): void {
    this.pid.reset();
    this.lastPidMs = undefined;
    this.lastControlC = undefined;
    this.stepWise.reset();
    if (clearSensorFaults) for (const z of this.zones.values()) z.health.reset();
  }

  step(nowMs: number, inputs: readonly ZoneInput[], s: GovernorSettings): Decision {
    this.pid.setGains(s.gains);
    const transitions: Decision["transitions"] = [];
    const sensorChanges: Decision["sensorChanges"] = [];
    const seen = new Set<string>();
    for (const input of inputs) {
      seen.add(input.zone);
      let z = this.zones.get(input.zone);
      if (!z) {
        z = { type: input.type, profile: profileFor(input.zone, input.type, this.zoneProfiles), health: new SensorHealth(), trips: new TripTracker(), lastC: undefined, lastTrusted: false };
        this.zones.set(input.zone, z);
      }
      this.observe(input.zone, z, input.raw, nowMs, s, transitions, sensorChanges);
    }
    // A zone that was there and is not listed any more is a missing sensor, not a cool one.
    for (const [zone, z] of this.zones) {
      if (!seen.has(zone)) this.observe(zone, z, { error: "zone is no longer listed by the platform", kind: "missing" }, nowMs, s, transitions, sensorChanges);
    }

    const zones: ZoneStatus[] = [...this.zones].map(([zone, z]) => ({
      zone,
      type: z.type,
      profile: z.profile,
      celsius: z.lastC,
      trusted: z.lastTrusted,
      fault: z.health.currentFault,
      level: z.trips.level,
    }));
    const degraded = zones.length === 0 || zones.some((z) => !z.trusted);
    const worst = zones.reduce<TripLevel>((w, z) => (levelRank(z.level) > levelRank(w) ? z.level : w), "none");

    // The control zone: the trusted zone furthest above (or least below) its target.
    let control: ZoneStatus | undefined;
    let controlError = Infinity;
    for (const z of zones) {
      if (!z.trusted || z.celsius === undefined) continue;
      const e = s.trips[z.profile].passiveC - z.celsius;
      if (e < controlError) {
        controlError = e;
        control = z;
      }
    }
    const targetC = control ? s.trips[control.profile].passiveC : Number.NaN;
    const controlC = control?.celsius ?? Number.NaN;

    const base = {
      nowMs,
      governor: s.governor,
      degraded,
      controlZone: control?.zone ?? "",
      controlC,
      targetC,
      zones,
      transitions,
      sensorChanges,
    };

    // ---- emergency --------------------------------------------------------
    let emergency: Decision["emergency"];
    if (worst === "critical") {
      if (!this.emergencyZone) {
        const z = zones.find((x) => x.level === "critical")!;
        this.emergencyZone = z.zone;
        emergency = { change: "entered", zone: z.zone, celsius: z.celsius ?? Number.NaN, criticalC: s.trips[z.profile].criticalC };
        this.pid.reset();
        this.lastPidMs = undefined;
      }
      this.stepWise.setAll(Number.MAX_SAFE_INTEGER);
      const grants = this.fixedLevels(this.actors.map(() => 0), true);
      const z = zones.find((x) => x.zone === this.emergencyZone);
      return {
        ...base,
        state: "critical",
        budgetW: sum(grants.map((g) => g.levelW)),
        grants,
        jobConcurrency: 0,
        reason: `critical trip on ${this.emergencyZone} (${fmt(z?.celsius)} °C): all jobs stopped, lowest performance state`,
        pid: { pW: 0, iW: 0, dW: 0 },
        throttled: true,
        emergency,
      };
    }
    if (this.emergencyZone) {
      const z = zones.find((x) => x.zone === this.emergencyZone);
      emergency = { change: "cleared", zone: this.emergencyZone, celsius: z?.celsius ?? Number.NaN, criticalC: z ? s.trips[z.profile].criticalC : Number.NaN };
      this.emergencyZone = undefined;
      this.pid.reset();
      this.lastPidMs = undefined;
    }

    const sumMin = sum(this.actors.map(minPower));
    const sumMax = sum(this.actors.map(maxPower));

    // ---- hot ---------------------------------------------------------------
    if (worst === "hot") {
      const hotZone = zones.find((x) => x.level === "hot")!;
      this.stepWise.setAll(Number.MAX_SAFE_INTEGER);
      // The integral is left where it was: this is not the loop's doing to undo.
      this.lastPidMs = nowMs;
      const grants = this.fixedLevels(this.actors.map(() => 0), false);
      return {
        ...base,
        state: "hot",
        budgetW: sumMin,
        grants,
        jobConcurrency: jobsOf(grants),
        reason: `hot trip on ${hotZone.zone} (${fmt(hotZone.celsius)} °C): every actor at its minimum`,
        pid: { pW: 0, iW: this.pid.integralW, dW: 0 },
        throttled: true,
        emergency,
      };
    }

    // ---- degraded sensors --------------------------------------------------
    if (degraded) {
      const bad = zones.filter((z) => !z.trusted).map((z) => `${z.zone} ${z.fault?.kind ?? "missing"}`);
      let budget = Math.min(s.conservativeBudgetW, sumMax);
      let why = `sensor fault (${bad.join(", ") || "no zones"}): conservative budget`;
      // A healthy zone over its target still pulls the budget down, proportionally; nothing is integrated.
      if (control && controlError < 0) {
        const pulled = s.gains.sustainableW + s.gains.kPo * controlError;
        if (pulled < budget) {
          budget = pulled;
          why += `, less because ${control.zone} is over target`;
        }
      }
      budget = Math.max(sumMin, budget);
      this.lastPidMs = nowMs;
      // No trend across the gap: the zone in control may change when the sensor returns.
      this.lastControlC = undefined;
      const grants = this.allocate(budget, nowMs, s);
      return { ...base, state: "controlling", budgetW: budget, grants, jobConcurrency: jobsOf(grants), reason: why, pid: { pW: 0, iW: this.pid.integralW, dW: 0 }, throttled: isThrottled(grants, worst), emergency };
    }

    // ---- normal control ------------------------------------------------------
    const c = control!;
    if (s.governor === "step-wise") {
      const throttle = zones.some((z) => z.trusted && z.level !== "none");
      const trend = trendOf(this.lastControlC, controlC, s.trendDeadbandC);
      this.lastControlC = controlC;
      const states = this.stepWise.update(throttle, trend);
      const grants = this.fixedLevels(
        states.map((st, i) => this.actors[i]!.levels.length - 1 - st),
        false,
      );
      const budgetW = sum(grants.map((g) => g.levelW));
      return {
        ...base,
        state: throttle || states.some((x) => x > 0) ? "controlling" : "none",
        budgetW,
        grants,
        jobConcurrency: jobsOf(grants),
        reason: `step-wise: ${throttle ? "above" : "below"} the passive trip of ${c.zone}, trend ${trend}, cooling state ${Math.max(...states)}`,
        pid: { pW: 0, iW: 0, dW: 0 },
        throttled: isThrottled(grants, worst),
        emergency,
      };
    }

    this.lastControlC = controlC;
    if (controlError > s.switchOnBandC) {
      // Far below target: no throttling, and the loop starts afresh when it is needed.
      this.pid.reset();
      this.lastPidMs = undefined;
      const grants = this.allocate(sumMax, nowMs, s);
      return {
        ...base,
        state: "none",
        budgetW: sumMax,
        grants,
        jobConcurrency: jobsOf(grants),
        reason: `${c.zone} at ${fmt(controlC)} °C is more than ${s.switchOnBandC} °C below its target ${targetC} °C`,
        pid: { pW: 0, iW: 0, dW: 0 },
        throttled: isThrottled(grants, worst),
        emergency,
      };
    }
    const dtS = this.lastPidMs === undefined ? 1 : Math.max(1e-3, (nowMs - this.lastPidMs) / 1000);
    this.lastPidMs = nowMs;
    const out = this.pid.update(controlError, dtS, sumMin, sumMax);
    const grants = this.allocate(out.budgetW, nowMs, s);
    return {
      ...base,
      state: "controlling",
      budgetW: out.budgetW,
      grants,
      jobConcurrency: jobsOf(grants),
      reason: `power allocator: ${c.zone} at ${fmt(controlC)} °C against target ${targetC} °C`,
      pid: { pW: out.pW, iW: out.iW, dW: out.dW },
      throttled: isThrottled(grants, worst),
      emergency,
    };
  }

  private observe(
    zone: string,
    z: ZoneState,
    raw: RawReading,
    nowMs: number,
    s: GovernorSettings,
    transitions: Decision["transitions"],
    sensorChanges: Decision["sensorChanges"],
  ): void {
    const a = z.health.assess(raw, nowMs, s.sensor);
    if (a.change) sensorChanges.push({ zone, change: a.change, fault: a.fault });
    z.lastTrusted = a.trusted;
    // An untrusted reading changes no trip: the zone keeps the state it last had for certain.
    if (a.trusted && a.celsius !== undefined) {
      z.lastC = a.celsius;
      for (const t of z.trips.update(a.celsius, s.trips[z.profile])) transitions.push({ ...t, zone });
    } else if (a.celsius !== undefined) z.lastC = a.celsius;
  }

  private requestOf(a: ActorModel, nowMs: number, ttlMs: number): number {
    const r = this.requests.get(a.name);
    if (!r || nowMs - r.atMs > ttlMs) return maxPower(a);
    return r.watts;
  }

  private allocate(budgetW: number, nowMs: number, s: GovernorSettings): GrantDecision[] {
    const inputs = this.actors.map((a) => ({ weight: s.weights[a.kind], requestW: this.requestOf(a, nowMs, s.requestTtlMs), minW: minPower(a), maxW: maxPower(a) }));
    const { grantsW } = divideBudget(budgetW, inputs);
    const weighted = this.actors.map((a) => ({ ...a, weight: s.weights[a.kind] }));
    const idx = chooseLevels(weighted, grantsW);
    return this.actors.map((a, i) => grant(a, inputs[i]!.requestW, grantsW[i]!, idx[i]!));
  }

  private fixedLevels(indexes: number[], emergency: boolean): GrantDecision[] {
    return this.actors.map((a, i) => {
      const idx = indexes[i]!;
      if (emergency && a.kind === "jobs") return { ...grant(a, maxPower(a), 0, 0), levelIndex: -1, value: 0, levelW: 0, grantW: 0 };
      return grant(a, maxPower(a), a.levels[idx]!.watts, idx);
    });
  }
}

function grant(a: ActorModel, requestW: number, grantW: number, idx: number): GrantDecision {
  const l = a.levels[idx]!;
  return { actor: a.name, kind: a.kind, requestW, grantW, minW: minPower(a), maxW: maxPower(a), levelIndex: idx, value: l.value, levelW: l.watts, maxLevel: a.levels.length - 1 };
}

function jobsOf(grants: GrantDecision[]): number {
  return grants.filter((g) => g.kind === "jobs").reduce((n, g) => n + g.value, 0);
}

function isThrottled(grants: GrantDecision[], worst: TripLevel): boolean {
  return worst !== "none" || grants.some((g) => g.levelIndex < g.maxLevel);
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function fmt(c: number | undefined): string {
  return c === undefined || !Number.isFinite(c) ? "?" : c.toFixed(1);
}
