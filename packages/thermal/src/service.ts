// The thermal service: the I/O shell around ThermalGovernor. Every poll it
// reads each thermal zone through the platform port, lets the governor
// decide, sets the CPU frequency ceilings through the port, publishes the
// PowerBudget the job runner and the accelerator obey (and ThermalEmergency
// on a critical trip), raises an event on each trip and sensor transition,
// and reports telemetry. It never reads the time except through its Clock.
import { CommandRejected, Priority, Service, command, defineService, type CommandHandlers, type ServiceContext } from "@umbra/core";
import { PlatformError, type CpuFreqPort, type ThermalZonesPort } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import type { ActorModel } from "./allocator.js";
import { buildActors, checkConfig, type ThermalConfig } from "./config.js";
import { GOVERNORS, ThermalGovernor, type Decision, type GovernorName, type GovernorSettings, type ThrottleStateName, type ZoneInput } from "./governor.js";
import type { RawReading } from "./sensor-health.js";
import { checkTripPoints, type TripPoints } from "./trips.js";

export const THERMAL_APID = 0x030;

const { ThrottleState, ActorKind } = umbra.thermal.v1;

const temp = (def: number, description: string) => ({ type: "float" as const, default: def, min: -100, max: 250, unit: "°C", description });

export const thermalSpec = defineService({
  name: "thermal",
  apid: THERMAL_APID,
  description: "Thermal governor: PID power budget divided among CPU, accelerator and job slots; trip points; sensor-fault fallback",
  commands: {
    reset: command(umbra.thermal.v1.ResetGovernor, {
      description: "Restart the control loop (integral, step-wise state); optionally forget every sensor's fault history",
    }),
  },
  telemetry: {
    dieC: { type: "float", unit: "°C", description: "Hottest trusted zone with the die profile", warning: { high: 90 }, critical: { high: 100 } },
    boardC: { type: "float", unit: "°C", description: "Hottest trusted zone with the board profile", warning: { high: 75 }, critical: { high: 85 } },
    controlC: { type: "float", unit: "°C", description: "Temperature of the zone the loop acts on" },
    targetC: { type: "float", unit: "°C", description: "That zone's target (its passive trip)" },
    budgetW: { type: "float", unit: "W", description: "Power budget for the actors" },
    estimatedW: { type: "float", unit: "W", description: "Estimated power of the actors at their granted states" },
    cpuGrantW: { type: "float", unit: "W", description: "Power granted to the CPU policies together" },
    cpuKHz: { type: "int", unit: "kHz", description: "Lowest frequency ceiling set on any CPU policy" },
    acceleratorGrantW: { type: "float", unit: "W", description: "Power granted to the accelerator" },
    acceleratorLevel: { type: "int", description: "Accelerator level granted" },
    jobsGrantW: { type: "float", unit: "W", description: "Power granted to job slots" },
    jobConcurrency: { type: "int", description: "Jobs the runner may run at once" },
    pTermW: { type: "float", unit: "W", description: "Proportional term of the loop" },
    iTermW: { type: "float", unit: "W", description: "Integral term of the loop" },
    dTermW: { type: "float", unit: "W", description: "Derivative term of the loop" },
    throttleState: { type: "int", description: "1 none, 2 controlling, 3 hot, 4 critical (umbra.thermal.v1.ThrottleState)", warning: { high: 2.5 }, critical: { high: 3.5 } },
    throttledS: { type: "float", unit: "s", description: "Time spent throttled since start" },
    sensorFaults: { type: "int", description: "Zones whose sensor is not trusted now", warning: { high: 0.5 } },
    sensorsDegraded: { type: "bool", description: "The conservative budget is in force because of a sensor fault" },
    actuatorErrors: { type: "int", description: "CPU frequency changes the platform refused or did not answer, since start" },
    badRequests: { type: "int", description: "PowerRequest messages refused (unknown actor, not a finite power), since start" },
  },
  events: {
    passiveTrip: { id: 1, severity: "info", description: "A zone reached its passive trip (the control target)" },
    passiveCleared: { id: 2, severity: "info", description: "A zone fell below its passive trip minus hysteresis" },
    hotTrip: { id: 3, severity: "medium", description: "A zone reached its hot trip: every actor held at its minimum" },
    hotCleared: { id: 4, severity: "info", description: "A zone fell below its hot trip minus hysteresis" },
    criticalTrip: { id: 5, severity: "high", description: "A zone reached its critical trip: all jobs stopped, lowest performance state" },
    criticalCleared: { id: 6, severity: "medium", description: "The critical trip cleared (below critical minus hysteresis); jobs may resume within the budget" },
    sensorFault: { id: 7, severity: "medium", description: "A zone's sensor is stuck, out of range, NaN or missing; the conservative budget applies" },
    sensorRecovered: { id: 8, severity: "info", description: "A zone's sensor gave good readings again and is trusted" },
    actuatorFailed: { id: 9, severity: "low", description: "Setting a CPU frequency ceiling failed; it is retried every poll" },
    governorReset: { id: 10, severity: "info", description: "The control loop was reset by command" },
  },
  parameters: {
    governor: { type: "string", default: "power-allocator", allowed: GOVERNORS, description: "Control law: power-allocator (PID) or step-wise (kernel baseline)" },
    pollPeriodMs: { type: "int", default: 1000, min: 100, max: 60_000, unit: "ms", description: "How often zones are read and the budget recomputed" },
    diePassiveC: temp(80, "Die profile: passive trip = control target"),
    dieHotC: temp(90, "Die profile: hot trip (actors held at minimum)"),
    dieCriticalC: temp(100, "Die profile: critical trip (emergency stop)"),
    dieHysteresisC: { type: "float", default: 3, min: 0.1, max: 50, unit: "°C", description: "Die profile: a trip releases this far below it" },
    boardPassiveC: temp(65, "Board profile: passive trip = control target"),
    boardHotC: temp(75, "Board profile: hot trip"),
    boardCriticalC: temp(85, "Board profile: critical trip"),
    boardHysteresisC: { type: "float", default: 2, min: 0.1, max: 50, unit: "°C", description: "Board profile: a trip releases this far below it" },
    switchOnBandC: { type: "float", default: 10, min: 0.5, max: 100, unit: "°C", description: "The loop engages within this of the target; below that actors get their maximum" },
    sustainablePowerW: { type: "float", default: 25, min: 0, max: 10_000, unit: "W", description: "Actor power the radiator removes with the zone at target (the loop's operating point)" },
    kPo: { type: "float", default: 2.5, min: 0, max: 1000, unit: "W/°C", description: "Proportional gain above target" },
    kPu: { type: "float", default: 5, min: 0, max: 1000, unit: "W/°C", description: "Proportional gain below target" },
    kI: { type: "float", default: 0.02, min: 0, max: 100, unit: "W/(°C·s)", description: "Integral gain" },
    kD: { type: "float", default: 0, min: 0, max: 10_000, unit: "W·s/°C", description: "Derivative gain" },
    integralCutoffC: { type: "float", default: 3, min: 0, max: 100, unit: "°C", description: "The integral accumulates only when the zone is within this below target, or above it" },
    integralMaxW: { type: "float", default: 20, min: 0, max: 10_000, unit: "W", description: "Limit on the integral term (anti-windup)" },
    conservativeBudgetW: { type: "float", default: 10, min: 0, max: 10_000, unit: "W", description: "Budget while a sensor is faulty" },
    validMinC: { type: "float", default: -40, min: -100, max: 250, unit: "°C", description: "A reading below this is out of range" },
    validMaxC: { type: "float", default: 125, min: -100, max: 250, unit: "°C", description: "A reading above this is out of range" },
    stuckAfterMs: { type: "int", default: 60_000, min: 0, max: 86_400_000, unit: "ms", description: "A reading unchanged this long is stuck (0: never)" },
    recoverSamples: { type: "int", default: 3, min: 1, max: 1000, description: "Good readings in a row before a faulty sensor is trusted again" },
    trendDeadbandC: { type: "float", default: 0, min: 0, max: 10, unit: "°C", description: "Step-wise: change per poll below which the trend is stable" },
    cpuWeight: { type: "float", default: 1, min: 0, max: 1000, description: "Weight of the CPU policies' requests" },
    acceleratorWeight: { type: "float", default: 1, min: 0, max: 1000, description: "Weight of the accelerator's request" },
    jobsWeight: { type: "float", default: 1, min: 0, max: 1000, description: "Weight of the job slots' request" },
    requestTtlMs: { type: "int", default: 10_000, min: 100, max: 3_600_000, unit: "ms", description: "An actor's PowerRequest counts this long; then its maximum is assumed" },
  },
});

type Params = ReturnType<ThermalService["parameters"]["snapshot"]>;

export interface ThermalServiceOptions {
  thermal: ThermalZonesPort;
  cpufreq: CpuFreqPort;
  config: ThermalConfig;
}

/** Cross-parameter rules the per-parameter ranges cannot say; undefined if the set is consistent. */
export function checkParameterSet(p: Record<string, unknown>): string | undefined {
  for (const profile of ["die", "board"] as const) {
    const trips = {
      passiveC: p[`${profile}PassiveC`],
      hotC: p[`${profile}HotC`],
      criticalC: p[`${profile}CriticalC`],
      hysteresisC: p[`${profile}HysteresisC`],
    } as TripPoints;
    const problem = checkTripPoints(trips, `${profile} trips`);
    if (problem) return problem;
  }
  if (!((p["validMinC"] as number) < (p["validMaxC"] as number))) return `validMinC (${String(p["validMinC"])}) must be below validMaxC (${String(p["validMaxC"])})`;
  return undefined;
}

const STATE_CODES: Record<ThrottleStateName, umbra.thermal.v1.ThrottleState> = {
  none: ThrottleState.THROTTLE_STATE_NONE,
  controlling: ThrottleState.THROTTLE_STATE_CONTROLLING,
  hot: ThrottleState.THROTTLE_STATE_HOT,
  critical: ThrottleState.THROTTLE_STATE_CRITICAL,
};
const KIND_CODES = { cpu: ActorKind.ACTOR_KIND_CPU, accelerator: ActorKind.ACTOR_KIND_ACCELERATOR, jobs: ActorKind.ACTOR_KIND_JOBS } as const;

export class ThermalService extends Service<typeof thermalSpec> {
  private readonly ports: ThermalServiceOptions;
  private governor: ThermalGovernor | undefined;
  private pollTimer: { cancel(): void } | undefined;
  private polling: Promise<void> | undefined;
  private sequence = 0n;
  private lastPollMs: number | undefined;
  private throttledMs = 0;
  private actuatorErrors = 0;
  private badRequests = 0;
  /** Ceiling last confirmed by the port, per policy. */
  private readonly appliedKHz = new Map<string, number>();
  private lastDecision: Decision | undefined;

  constructor(context: ServiceContext, options: ThermalServiceOptions) {
    super(thermalSpec, context);
    checkConfig(options.config);
    this.ports = options;
    // Trip order and the valid range span several parameters, which the base
    // class checks one by one; check the set as it would be after an update,
    // so a SetParameters that breaks it is refused whole, with the reason.
    const store = this.parameters;
    const validateOne = store.validate.bind(store);
    store.validate = (updates: Record<string, unknown>) => validateOne(updates) ?? checkParameterSet({ ...store.snapshot(), ...updates });
    const initial = checkParameterSet(store.snapshot());
    if (initial) throw new RangeError(`initial parameters: ${initial}`);
  }

  /** The latest decision (for tests and diagnostics). */
  get decision(): Decision | undefined {
    return this.lastDecision;
  }

  /** Time spent throttled since start, s. */
  get throttledSeconds(): number {
    return this.throttledMs / 1000;
  }

  /** The actors, once started. */
  get actors(): readonly ActorModel[] {
    return this.governor?.actors ?? [];
  }

  /** Resolves when the poll in progress (if any) has finished. */
  async pollSettled(): Promise<void> {
    await this.polling;
  }

  protected override async onStart(): Promise<void> {
    // A platform that cannot list its cpufreq policies yet (a HIL bench before
    // its first state) is retried every poll; a configuration that does not
    // fit the hardware fails the start, loudly.
    await this.buildGovernor(true);
    this.keep(
      this.bus.subscribe(umbra.thermal.v1.PowerRequest, (req) => {
        const problem = this.governor?.setRequest(req.actor, req.requestedW, this.clock.monotonicMs());
        if (problem) {
          this.badRequests++;
          this.log.warn({ problem }, "PowerRequest refused");
        }
      }),
    );
    this.schedulePolls();
  }

  protected override async onStop(): Promise<void> {
    await this.polling;
  }

  protected override onParametersChanged(changed: string[]): void {
    if (changed.includes("pollPeriodMs")) this.schedulePolls();
    if (changed.includes("governor")) this.governor?.reset(false);
  }

  protected commands(): CommandHandlers<typeof thermalSpec> {
    return {
      reset: ({ clearSensorFaults }) => {
        if (!this.governor) throw new CommandRejected("precondition", "the governor has not started");
        this.governor.reset(clearSensorFaults);
        this.event("governorReset", `control loop reset${clearSensorFaults ? "; sensor fault history cleared" : ""}`);
        return clearSensorFaults ? "loop reset, sensor history cleared" : "loop reset";
      },
    };
  }

  private schedulePolls(): void {
    this.pollTimer?.cancel();
    this.pollTimer = this.every(this.parameters.get("pollPeriodMs"), () => {
      // A poll still waiting on the port is not overtaken by the next one.
      if (this.polling) return;
      this.polling = this.poll()
        .catch((err: unknown) => this.log.error({ err }, "thermal poll failed"))
        .finally(() => {
          this.polling = undefined;
        });
    });
  }

  private settings(p: Params): GovernorSettings {
    return {
      governor: p.governor as GovernorName,
      trips: {
        die: { passiveC: p.diePassiveC, hotC: p.dieHotC, criticalC: p.dieCriticalC, hysteresisC: p.dieHysteresisC },
        board: { passiveC: p.boardPassiveC, hotC: p.boardHotC, criticalC: p.boardCriticalC, hysteresisC: p.boardHysteresisC },
      },
      switchOnBandC: p.switchOnBandC,
      gains: { sustainableW: p.sustainablePowerW, kPo: p.kPo, kPu: p.kPu, kI: p.kI, kD: p.kD, integralCutoffC: p.integralCutoffC, integralMaxW: p.integralMaxW },
      conservativeBudgetW: p.conservativeBudgetW,
      sensor: { validMinC: p.validMinC, validMaxC: p.validMaxC, stuckAfterMs: p.stuckAfterMs, recoverSamples: p.recoverSamples },
      trendDeadbandC: p.trendDeadbandC,
      weights: { cpu: p.cpuWeight, accelerator: p.acceleratorWeight, jobs: p.jobsWeight },
      requestTtlMs: p.requestTtlMs,
    };
  }

  private async readZones(): Promise<ZoneInput[]> {
    const port = this.ports.thermal;
    let zones: { zone: string; type: string }[];
    try {
      zones = await port.zones();
    } catch (err) {
      // Known zones then count as missing (the governor marks them so).
      this.log.warn({ err }, "thermal zones could not be listed");
      return [];
    }
    return Promise.all(
      zones.map(async ({ zone, type }): Promise<ZoneInput> => {
        let raw: RawReading;
        try {
          raw = { value: await port.readCelsius(zone) };
        } catch (err) {
          raw = readFailure(err);
        }
        return { zone, type, raw };
      }),
    );
  }

  private async buildGovernor(atStart: boolean): Promise<void> {
    let policies;
    try {
      policies = await this.ports.cpufreq.policies();
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      this.log.warn({ err }, "cpufreq policies not available yet; retrying every poll");
      return;
    }
    try {
      const actors = buildActors(this.ports.config, policies);
      this.governor = new ThermalGovernor(actors, this.settings(this.parameters.snapshot()).gains, this.ports.config.zoneProfiles);
    } catch (err) {
      if (atStart) throw err;
      this.log.error({ err }, "thermal configuration does not fit the platform");
    }
  }

  private async poll(): Promise<void> {
    if (!this.governor) await this.buildGovernor(false);
    const governor = this.governor;
    if (!governor) return;
    const inputs = await this.readZones();
    if (!this.isRunning()) return;
    const nowMs = this.clock.monotonicMs();
    const d = governor.step(nowMs, inputs, this.settings(this.parameters.snapshot()));
    this.lastDecision = d;
    if (this.lastPollMs !== undefined && d.throttled) this.throttledMs += nowMs - this.lastPollMs;
    this.lastPollMs = nowMs;

    // Safety first: the emergency goes out before anything else this poll.
    if (d.emergency) {
      const e = d.emergency;
      const entered = e.change === "entered";
      this.publishEmergency(entered, e.zone, e.celsius, e.criticalC, d.reason);
      if (entered) this.event("criticalTrip", `${e.zone} at ${e.celsius.toFixed(1)} °C reached its critical trip ${e.criticalC} °C: all jobs stopped`, { zone: e.zone, celsius: e.celsius.toFixed(2) });
    } else if (d.state === "critical") {
      // Repeated while it lasts, so a job runner that (re)starts mid-emergency learns it at once.
      const z = d.zones.find((x) => x.level === "critical");
      this.publishEmergency(true, z?.zone ?? "", z?.celsius ?? Number.NaN, Number.NaN, d.reason);
    }
    this.publishBudget(d);
    this.raiseEvents(d);
    if (d.emergency?.change === "cleared") this.publishEmergency(false, d.emergency.zone, d.emergency.celsius, d.emergency.criticalC, "critical trip cleared");
    await this.applyCpu(d);
    this.report(d);
  }

  private isRunning(): boolean {
    return this.state === umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING;
  }

  private publishEmergency(active: boolean, zone: string, celsius: number, criticalC: number, reason: string): void {
    this.bus.publish(
      umbra.thermal.v1.ThermalEmergency,
      { missionTimeNs: this.clock.nowTaiNs(), active, zone, celsius: finiteOr0(celsius), criticalC: finiteOr0(criticalC), reason },
      { priority: Priority.PRIORITY_SAFETY },
    );
  }

  private publishBudget(d: Decision): void {
    this.sequence++;
    this.bus.publish(
      umbra.thermal.v1.PowerBudget,
      {
        missionTimeNs: this.clock.nowTaiNs(),
        sequence: this.sequence,
        budgetW: d.budgetW,
        grants: d.grants.map((g) => ({
          actor: g.actor,
          kind: KIND_CODES[g.kind],
          requestedW: g.requestW,
          grantedW: g.grantW,
          minW: g.minW,
          maxW: g.maxW,
          level: g.kind === "cpu" ? g.levelIndex : g.value,
          maxLevel: g.kind === "cpu" ? g.maxLevel : this.governor!.actors.find((a) => a.name === g.actor)!.levels.at(-1)!.value,
          khz: g.kind === "cpu" ? g.value : 0,
          levelW: g.levelW,
        })),
        jobConcurrency: d.jobConcurrency,
        state: STATE_CODES[d.state],
        reason: d.reason,
        sensorsDegraded: d.degraded,
        governor: d.governor,
        controlZone: d.controlZone,
        controlC: finiteOr0(d.controlC),
        targetC: finiteOr0(d.targetC),
        estimatedW: d.grants.reduce((s, g) => s + g.levelW, 0),
      },
      // The budget is a standing order to the actors: command class, above telemetry.
      { priority: Priority.PRIORITY_COMMAND },
    );
  }

  private raiseEvents(d: Decision): void {
    for (const t of d.transitions) {
      // The critical trip's own event is raised with the emergency, once, whichever zone caused it.
      if (t.trip === "critical") {
        if (!t.entered) this.event("criticalCleared", `${t.zone} at ${t.celsius.toFixed(1)} °C is below ${t.thresholdC.toFixed(1)} °C: critical trip cleared`, { zone: t.zone, celsius: t.celsius.toFixed(2) });
        else if (d.emergency?.change !== "entered" || d.emergency.zone !== t.zone) this.event("criticalTrip", `${t.zone} at ${t.celsius.toFixed(1)} °C reached its critical trip`, { zone: t.zone, celsius: t.celsius.toFixed(2) });
        continue;
      }
      const name = `${t.trip}${t.entered ? "Trip" : "Cleared"}` as "passiveTrip" | "passiveCleared" | "hotTrip" | "hotCleared";
      const what = t.entered ? `reached its ${t.trip} trip ${t.thresholdC} °C` : `is below ${t.thresholdC.toFixed(1)} °C: ${t.trip} trip cleared`;
      this.event(name, `${t.zone} at ${t.celsius.toFixed(1)} °C ${what}`, { zone: t.zone, celsius: t.celsius.toFixed(2) });
    }
    for (const c of d.sensorChanges) {
      if (c.change === "faulted") {
        this.event("sensorFault", `${c.zone}: sensor ${c.fault?.kind ?? "fault"}: ${c.fault?.detail ?? ""}; conservative budget`, { zone: c.zone, kind: c.fault?.kind ?? "" });
      } else this.event("sensorRecovered", `${c.zone}: sensor trusted again`, { zone: c.zone });
    }
  }

  private async applyCpu(d: Decision): Promise<void> {
    for (const g of d.grants) {
      if (g.kind !== "cpu") continue;
      const policy = g.actor.slice("cpu:".length);
      if (this.appliedKHz.get(policy) === g.value) continue;
      try {
        await this.ports.cpufreq.setMaxKHz(policy, g.value);
        this.appliedKHz.set(policy, g.value);
      } catch (err) {
        this.actuatorErrors++;
        this.appliedKHz.delete(policy);
        const why = err instanceof Error ? err.message : String(err);
        this.event("actuatorFailed", `${policy}: could not set ${g.value} kHz: ${why.slice(0, 200)}`, { policy, khz: String(g.value) });
      }
    }
  }

  private report(d: Decision): void {
    const hottest = (profile: "die" | "board") => {
      const t = d.zones.filter((z) => z.profile === profile && z.trusted && z.celsius !== undefined).map((z) => z.celsius!);
      return t.length ? Math.max(...t) : undefined;
    };
    const byKind = (k: string) => d.grants.filter((g) => g.kind === k);
    const cpu = byKind("cpu");
    const acc = byKind("accelerator")[0];
    this.telemetry({
      dieC: hottest("die"),
      boardC: hottest("board"),
      controlC: Number.isFinite(d.controlC) ? d.controlC : undefined,
      targetC: Number.isFinite(d.targetC) ? d.targetC : undefined,
      budgetW: d.budgetW,
      estimatedW: d.grants.reduce((s, g) => s + g.levelW, 0),
      cpuGrantW: cpu.reduce((s, g) => s + g.grantW, 0),
      cpuKHz: cpu.length ? Math.min(...cpu.map((g) => g.value)) : undefined,
      acceleratorGrantW: acc?.grantW,
      acceleratorLevel: acc?.value,
      jobsGrantW: byKind("jobs").reduce((s, g) => s + g.grantW, 0),
      jobConcurrency: d.jobConcurrency,
      pTermW: d.pid.pW,
      iTermW: d.pid.iW,
      dTermW: d.pid.dW,
      throttleState: STATE_CODES[d.state],
      throttledS: this.throttledMs / 1000,
      sensorFaults: d.zones.filter((z) => !z.trusted).length,
      sensorsDegraded: d.degraded,
      actuatorErrors: this.actuatorErrors,
      badRequests: this.badRequests,
    });
  }
}

/** A failed read as a raw reading; the port's reason says which kind of fault it saw. */
export function readFailure(err: unknown): RawReading {
  const message = err instanceof Error ? err.message : String(err);
  // The platform refuses NaN and out-of-range values itself (and says so); the
  // kind is kept for the report, the action is the same for all of them.
  const reason = err instanceof PlatformError ? err.reason : message;
  const kind = /not a number|NaN/i.test(reason) ? "nan" : /outside|not finite/i.test(reason) ? "out-of-range" : "missing";
  return { error: message.slice(0, 300), kind };
}

function finiteOr0(x: number): number {
  return Number.isFinite(x) ? x : 0;
}
