// The job runner service (APID 0x060, bus name "jobs"). Every scheduling
// tick it samples power and illumination through the platform ports, meters
// what the running jobs used, asks the scheduling policy (scheduler.ts) what
// should run, and applies the plan: starting, switching, preempting and
// expiring jobs. Workers run each job batch by batch through the inference
// service; a batch is committed to the job database in one transaction, so a
// reset resumes at the last completed batch. A thermal emergency stops every
// job as the message arrives; a power emergency at the next tick.
import { CommandRejected, command, defineService, Priority, Service, type CommandHandlers, type ServiceContext } from "@umbra/core";
import type { IlluminationPort, IlluminationReading, PowerPort, PowerReadings } from "@umbra/platform";
import { codecFor, umbra, type MessageOf } from "@umbra/proto";
import { InferenceUnavailable, type InferenceBackend, type ModelDescription, type OutputTensor } from "./backend.js";
import { CostModel, costKey, type JobActivity } from "./costs.js";
import { PROTECTIONS, SubmissionError, TENANT_ID, TERMINAL_STATES, stateFromEnum, stateToEnum, validateSubmission, type JobStateName, type ProtectionName } from "./job.js";
import { allowance, periodStart } from "./metering.js";
import { plan, type ModelFacts, type Plan, type Policy, type SchedulerJob, type TenantAllowance } from "./scheduler.js";
import { StoreError, type JobRow, type JobStore, type QuotaPeriodName, type TenantRow, type TileRef, type TileResult } from "./store.js";
import { classCounts, cloudFree, detectRegions, encodeSummaryProduct, type TileDetection } from "./summary.js";
import { TileArchive } from "./tile-archive.js";
import { TileError, decodePng, listTileFolder, readTileFile, tileTensor } from "./tiles.js";

export const JOBS_APID = 0x060;

const J = umbra.jobs.v1;

export const jobsSpec = defineService({
  name: "jobs",
  apid: JOBS_APID,
  description: "Power-aware job runner: inference jobs admitted by energy forecast and thermal budget, tenants and metering",
  commands: {
    submit: command(J.SubmitJob, { description: "Submit a job of inference over a tile set" }),
    cancel: command(J.CancelJob, { description: "Cancel a job (its batch in progress is discarded)" }),
    pause: command(J.PauseJob, { description: "Hold a job until resumed (its batch in progress is discarded)" }),
    resume: command(J.ResumeJob, { description: "Release a paused job back to the queue" }),
    reprioritise: command(J.Reprioritise, { description: "Change a job's priority (0 lowest .. 9 highest)" }),
    list: command(J.ListJobs, { description: "List jobs (the completion report carries a one-line summary per job)" }),
    report: command(J.ReportJob, { description: "Report on a job: state, progress, energy, reason and data reduction" }),
    setTenant: command(J.SetTenant, { description: "Create or change a tenant and its quotas" }),
    importTiles: command(J.ImportTiles, { description: "Copy a folder's PNG tiles into the tile archive under a tag" }),
  },
  telemetry: {
    queued: { type: "int", description: "Jobs queued (waiting)" },
    running: { type: "int", description: "Jobs running" },
    paused: { type: "int", description: "Jobs paused by command" },
    done: { type: "int", description: "Jobs done (all time)" },
    expired: { type: "int", description: "Jobs expired (all time)" },
    failed: { type: "int", description: "Jobs failed (all time)" },
    socPct: { type: "float", unit: "%", description: "Battery state of charge as the runner last read it" },
    forecastMinSocPct: { type: "float", unit: "%", description: "Lowest SoC predicted through the end of the next eclipse with the planned load", warning: { low: 35 }, critical: { low: 30 } },
    headroomJ: { type: "float", unit: "J", description: "Job energy the forecast still allows before the end of the next eclipse" },
    jobLoadW: { type: "float", unit: "W", description: "Planned average job power" },
    baseLoadW: { type: "float", unit: "W", description: "Learned bus load without jobs" },
    concurrency: { type: "int", description: "Job slots granted (thermal budget and the runner's maximum)" },
    emergency: { type: "bool", description: "A power or thermal emergency holds every job", critical: { high: 0.5 } },
    meteredJoules: { type: "float", unit: "J", description: "Energy metered to jobs since start" },
    meteredCoreSeconds: { type: "float", unit: "s", description: "CPU metered to jobs since start" },
    inferences: { type: "int", description: "Protected inferences completed since start" },
    productsPending: { type: "int", description: "Summary products not yet acknowledged by the TTC" },
  },
  events: {
    jobDone: { id: 1, severity: "info", description: "A job completed; its summary is queued for downlink" },
    jobFailed: { id: 2, severity: "medium", description: "A job failed" },
    jobExpired: { id: 3, severity: "low", description: "A job's deadline passed before it completed" },
    emergencyStop: { id: 4, severity: "high", description: "A power or thermal emergency stopped every job" },
    emergencyOver: { id: 5, severity: "info", description: "The emergency cleared; jobs may run again" },
    resumedAfterReset: { id: 6, severity: "info", description: "Jobs that were running when the runner stopped are queued again at their last completed batch" },
    variantSwitched: { id: 7, severity: "info", description: "A job moved to another model variant" },
    preempted: { id: 8, severity: "low", description: "A running job was stopped to keep the battery, the heat budget or a quota" },
    productQueued: { id: 9, severity: "info", description: "A job's summary product is in the downlink queue" },
  },
  parameters: {
    tickMs: { type: "int", default: 1000, min: 100, max: 60_000, unit: "ms", description: "Scheduling tick" },
    policy: { type: "string", default: "power-aware", allowed: ["power-aware", "fifo"], description: "Scheduling policy (fifo is the naive baseline)" },
    maxConcurrency: { type: "int", default: 2, min: 1, max: 16, description: "Jobs run at once at most (the thermal budget may grant fewer)" },
    batchSize: { type: "int", default: 8, min: 1, max: 256, description: "Default tiles per committed batch" },
    protection: { type: "string", default: "tmr", allowed: [...PROTECTIONS], description: "Default protection of a job's inferences" },
    batteryCapacityWh: { type: "float", default: 120, min: 1, max: 100_000, unit: "Wh", description: "Usable battery capacity at 100% SoC" },
    chargeEfficiency: { type: "float", default: 0.95, min: 0.5, max: 1, description: "Stored fraction of charging energy" },
    dischargeEfficiency: { type: "float", default: 0.95, min: 0.5, max: 1, description: "Delivered fraction of stored energy" },
    dodFloorPct: { type: "float", default: 30, min: 0, max: 90, unit: "%", description: "Depth-of-discharge floor: below it every job stops (power emergency)" },
    marginPct: { type: "float", default: 5, min: 0, max: 50, unit: "%", description: "Margin above the floor the forecast keeps through the next eclipse" },
    defaultOrbitPeriodS: { type: "float", default: 5670, min: 600, max: 200_000, unit: "s", description: "Orbit period used when the platform does not tell one" },
    priorEnergyJ: { type: "float", default: 5, min: 0.001, max: 10_000, unit: "J", description: "Energy per unprotected inference assumed before anything is measured" },
    priorSeconds: { type: "float", default: 0.5, min: 0.0001, max: 600, unit: "s", description: "Time per unprotected inference assumed before anything is measured" },
    learnWeight: { type: "float", default: 0.1, min: 0.001, max: 1, description: "Weight of a new sample in the learned energy and time per inference" },
    modelRefreshMs: { type: "int", default: 30_000, min: 1000, max: 3_600_000, unit: "ms", description: "How often the runner asks the inference service about its models" },
    maxInferenceFailures: { type: "int", default: 5, min: 1, max: 1000, description: "Consecutive failed batches after which a job fails" },
  },
});

export interface JobsServiceOptions {
  store: JobStore;
  power: PowerPort;
  illumination: IlluminationPort;
  backend: InferenceBackend;
  /** Shares the store's database by default. */
  archive?: TileArchive;
}

interface Worker {
  jobId: string;
  variant: string;
  aborted: boolean;
  /** Set when the plan says wait for a reason that can wait for the batch to finish (energy, quota, slots). */
  drain: string | null;
  /** Activity since the last tick, for metering. */
  inferences: number;
  computeS: number;
  wallS: number;
  key: string;
}

type PowerSample = { power: PowerReadings; illumination: IlluminationReading };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

export class JobsService extends Service<typeof jobsSpec> {
  private readonly store: JobStore;
  private readonly archive: TileArchive;
  private readonly options: JobsServiceOptions;
  private costs!: CostModel;
  private readonly workers = new Map<string, Worker>();
  private readonly finishedActivity: JobActivity[] = [];
  private readonly models = new Map<string, ModelDescription>();
  private modelsRefreshedMs = Number.NEGATIVE_INFINITY;
  private refreshing = false;
  private thermalEmergency: string | null = null;
  private thermalSlots: number | null = null;
  private thermalReason = "no thermal budget received yet";
  private emergencyActive = false;
  private lastTickMs = Number.NaN;
  private ticking = false;
  private lastPlan: Plan | undefined;
  private lastPower: PowerSample | null = null;
  private sunlitInputW = Number.NaN;
  private meteredJ = 0;
  private meteredCoreS = 0;
  private inferenceCount = 0;
  private idCounter = 0;
  private productInFlight = false;
  private readonly failures = new Map<string, number>();

  constructor(context: ServiceContext, options: JobsServiceOptions) {
    super(jobsSpec, context);
    this.options = options;
    this.store = options.store;
    this.archive = options.archive ?? new TileArchive(options.store.db);
  }

  private get policy(): Policy {
    return this.parameters.get("policy") as Policy;
  }

  private nowMs(): number {
    return Number(this.clock.nowTaiNs() / 1_000_000n);
  }

  // ---- lifecycle ------------------------------------------------------------

  protected override onStart(): void {
    this.costs = new CostModel(
      { weight: this.parameters.get("learnWeight"), defaultEnergyJ: this.parameters.get("priorEnergyJ"), defaultSeconds: this.parameters.get("priorSeconds") },
      this.store.learnedCosts(),
      this.store.kv("baseLoadW"),
    );
    const sunlit = this.store.kv("sunlitInputW");
    if (sunlit !== undefined) this.sunlitInputW = sunlit;
    // A reset interrupted whatever ran: its batch in progress was never committed.
    const interrupted = this.store.list(["running", "admitted"]);
    const now = this.nowMs();
    for (const job of interrupted) this.store.transition(job.spec.id, "queued", `resumed after a reset at tile ${job.tilesDone} of ${job.tilesTotal}`, now);
    if (interrupted.length > 0) {
      this.event("resumedAfterReset", `${interrupted.length} job(s) queued again at their last completed batch: ${interrupted.map((j) => `${j.spec.id}@${j.tilesDone}`).join(", ")}`);
    }
    this.keep(this.bus.subscribe(umbra.thermal.v1.PowerBudget, (b) => this.onBudget(b)));
    this.keep(this.bus.subscribe(umbra.thermal.v1.ThermalEmergency, (e) => this.onThermalEmergency(e)));
    this.keep(this.bus.serve(J.QueryJobs, J.JobList, (q) => ({ jobs: this.listFor(q).map((j) => this.status(j)) }), { target: this.name }));
    this.keep(this.bus.serve(J.GetJobReport, J.JobReport, (q) => this.jobReport(q.jobId), { target: this.name }));
    this.keep(this.bus.serve(J.GetTenantUsage, J.TenantUsageList, (q) => this.tenantUsage(q.tenant), { target: this.name }));
    this.armTick();
    // The first tick as soon as the service is running (tick() ignores calls before that).
    this.after(0, () => void this.tick());
  }

  protected override onStop(): void {
    // Workers see the flag after their inference in flight and commit
    // nothing more; waiting for them could wait on a clock that no longer moves.
    for (const w of this.workers.values()) w.aborted = true;
    this.workers.clear();
    this.saveLearned();
  }

  protected override onParametersChanged(changed: string[]): void {
    if (changed.includes("tickMs") && this.state === umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING) this.armTick();
  }

  private tickTimer: { cancel(): void } | undefined;

  /** (Re)starts the scheduling tick at the current period. */
  private armTick(): void {
    this.tickTimer?.cancel();
    this.tickTimer = this.every(this.parameters.get("tickMs"), () => void this.tick());
  }

  // ---- inputs ------------------------------------------------------------------

  private onBudget(b: MessageOf<typeof umbra.thermal.v1.PowerBudget>): void {
    this.thermalSlots = b.jobConcurrency;
    this.thermalReason = `thermal budget ${b.budgetW.toFixed(1)} W grants ${b.jobConcurrency} job slot(s)${b.reason ? `: ${b.reason}` : ""}`;
    if (b.state === umbra.thermal.v1.ThrottleState.THROTTLE_STATE_CRITICAL && this.thermalEmergency === null) {
      this.onThermalEmergency({ active: true, zone: b.controlZone, celsius: b.controlC, criticalC: 0, reason: b.reason, missionTimeNs: b.missionTimeNs });
    }
  }

  private onThermalEmergency(e: { active: boolean; zone: string; celsius: number; reason: string; criticalC: number; missionTimeNs: bigint }): void {
    if (e.active) {
      this.thermalEmergency = `thermal: ${e.zone} at ${e.celsius.toFixed(1)} °C${e.reason ? ` (${e.reason})` : ""}`;
      // At once, not at the next tick.
      this.holdAll(this.thermalEmergency);
    } else {
      this.thermalEmergency = null;
    }
  }

  private async readPower(): Promise<PowerSample | null> {
    try {
      const [power, illumination] = await Promise.all([this.options.power.read(), this.options.illumination.read()]);
      if (illumination.sunlit && illumination.orbitPeriodS > 0) {
        const w = this.parameters.get("learnWeight");
        this.sunlitInputW = Number.isNaN(this.sunlitInputW) ? power.inputPowerW : this.sunlitInputW + w * (power.inputPowerW - this.sunlitInputW);
      }
      return { power, illumination };
    } catch (err) {
      this.log.warn({ err: message(err) }, "power or illumination unreadable");
      return null;
    }
  }

  private refreshAgain = false;

  private async refreshModels(force = false): Promise<void> {
    const now = this.clock.monotonicMs();
    if (this.refreshing) {
      // A submission naming a new model must not wait for the next period.
      if (force) this.refreshAgain = true;
      return;
    }
    if (!force && now - this.modelsRefreshedMs < this.parameters.get("modelRefreshMs")) return;
    this.refreshing = true;
    try {
      const wanted = new Set<string>();
      for (const j of this.store.list(["queued", "admitted", "running"])) {
        wanted.add(j.spec.model);
        for (const v of j.spec.variants) wanted.add(v);
      }
      for (const model of wanted) {
        try {
          const d = await this.options.backend.describe(model);
          if (d) {
            this.models.set(model, d);
            this.costs.setPrior(model, { energyJ: d.energyJ, latencyMs: d.latencyMs });
          } else this.models.delete(model);
        } catch (err) {
          this.log.warn({ model, err: message(err) }, "cannot describe model");
        }
      }
      this.modelsRefreshedMs = now;
    } finally {
      this.refreshing = false;
    }
    if (this.refreshAgain) {
      this.refreshAgain = false;
      await this.refreshModels(true);
    }
  }

  // ---- the tick ------------------------------------------------------------------

  /** One scheduling tick (exposed for tests that drive it step by step). */
  async tick(): Promise<void> {
    if (this.ticking || this.state !== umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING) return;
    this.ticking = true;
    try {
      const sample = await this.readPower();
      this.lastPower = sample;
      this.meterInterval(sample);
      await this.refreshModels();
      const emergency = this.emergency(sample);
      if (emergency !== null && !this.emergencyActive) {
        this.emergencyActive = true;
        const running = [...this.workers.keys()];
        this.holdAll(emergency);
        this.event("emergencyStop", `${emergency}; ${running.length} job(s) stopped`);
      } else if (emergency === null && this.emergencyActive) {
        this.emergencyActive = false;
        this.event("emergencyOver", "jobs may run again");
      }
      const p = this.schedule(sample, emergency);
      this.lastPlan = p;
      this.apply(p);
      this.sendProducts();
      this.report(sample, p, emergency);
    } catch (err) {
      this.log.error({ err }, "scheduling tick failed");
    } finally {
      this.ticking = false;
    }
  }

  private emergency(sample: PowerSample | null): string | null {
    if (this.thermalEmergency !== null) return this.thermalEmergency;
    if (sample && this.policy === "power-aware") {
      const floor = this.parameters.get("dodFloorPct");
      if (sample.power.batterySocPct <= floor) return `power: battery at ${sample.power.batterySocPct.toFixed(1)}%, at or below the ${floor}% depth-of-discharge floor`;
    }
    return null;
  }

  private meterInterval(sample: PowerSample | null): void {
    const now = this.clock.monotonicMs();
    const dtS = Number.isNaN(this.lastTickMs) ? 0 : (now - this.lastTickMs) / 1000;
    this.lastTickMs = now;
    // Running workers, and those that ended since the last tick (they left their activity behind).
    const activity = [...[...this.workers.values()].map((w) => this.takeActivity(w)), ...this.finishedActivity.splice(0)];
    const coreByJob = new Map<string, number>();
    for (const a of activity) coreByJob.set(a.jobId, (coreByJob.get(a.jobId) ?? 0) + a.computeS);
    if (!sample || dtS <= 0) return;
    const busW = sample.power.busVoltageV * sample.power.busCurrentA;
    const energy = this.costs.observe(dtS, busW, activity);
    const entries = [];
    for (const jobId of new Set([...energy.keys(), ...coreByJob.keys()])) {
      const job = this.store.get(jobId);
      if (!job) continue;
      const joules = energy.get(jobId) ?? 0;
      const coreSeconds = coreByJob.get(jobId) ?? 0;
      if (joules === 0 && coreSeconds === 0) continue;
      entries.push({ jobId, tenant: job.spec.tenant, joules, coreSeconds, periodStartMs: this.periodOfTenant(job.spec.tenant) });
      this.meteredJ += joules;
      this.meteredCoreS += coreSeconds;
    }
    this.store.meter(entries);
  }

  private orbitPeriodS(): number {
    const p = this.lastPower?.illumination.orbitPeriodS;
    return p !== undefined && p > 0 ? p : this.parameters.get("defaultOrbitPeriodS");
  }

  /** Start of the tenant's current quota period (0 for a tenant that does not exist: not metered to one). */
  private periodOfTenant(name: string): number {
    const t = this.store.tenant(name);
    return t ? this.periodOf(t).startMs : 0;
  }

  private periodOf(t: TenantRow): { startMs: number; endsInS: number } {
    return periodStart(t.period, t.createdMs, this.nowMs(), this.clock.utcMs(), this.orbitPeriodS());
  }

  private schedule(sample: PowerSample | null, emergency: string | null): Plan {
    const rows = this.store.list(["queued", "admitted", "running"]);
    const jobs: SchedulerJob[] = rows.map((r) => ({
      id: r.spec.id,
      tenant: r.spec.tenant,
      state: r.state as SchedulerJob["state"],
      priority: r.spec.priority,
      submittedMs: r.submittedMs,
      deadlineMs: r.spec.deadlineMs,
      model: r.spec.model,
      variants: r.spec.variants,
      accuracyFloor: r.spec.accuracyFloor,
      protection: r.spec.protection,
      tilesTotal: r.tilesTotal,
      tilesDone: r.tilesDone,
      batchSize: r.spec.batchSize,
      variant: this.workers.get(r.spec.id)?.variant ?? null,
    }));
    const models = new Map<string, ModelFacts>([...this.models].map(([k, d]) => [k, { loaded: d.loaded, accuracy: d.accuracy }]));
    const tenants = new Map<string, TenantAllowance>();
    for (const t of this.store.tenants()) {
      const period = this.periodOf(t);
      tenants.set(t.tenant, allowance(t, this.store.usage(t.tenant, period.startMs), period.endsInS));
    }
    const maxConcurrency = this.parameters.get("maxConcurrency");
    const slots = this.thermalSlots === null ? maxConcurrency : Math.min(maxConcurrency, this.thermalSlots);
    const slotsReason = this.thermalSlots === null || this.thermalSlots >= maxConcurrency ? `the runner's maximum is ${maxConcurrency}` : this.thermalReason;
    let power = null;
    if (sample) {
      const busW = sample.power.busVoltageV * sample.power.busCurrentA;
      const il = sample.illumination;
      power = {
        battery: {
          capacityWh: this.parameters.get("batteryCapacityWh"),
          chargeEfficiency: this.parameters.get("chargeEfficiency"),
          dischargeEfficiency: this.parameters.get("dischargeEfficiency"),
        },
        situation: {
          socPct: sample.power.batterySocPct,
          inputPowerW: sample.power.inputPowerW,
          sunlitInputPowerW: Number.isNaN(this.sunlitInputW) ? sample.power.inputPowerW : this.sunlitInputW,
          // Without jobs running the bus shows the base load itself.
          baseLoadW: this.workers.size === 0 || Number.isNaN(this.costs.baseLoadW) ? busW : this.costs.baseLoadW,
          sunlit: il.sunlit,
          secondsToTransition: il.secondsToTransition,
          eclipseDurationS: il.eclipseDurationS,
          orbitPeriodS: il.orbitPeriodS > 0 ? il.orbitPeriodS : this.parameters.get("defaultOrbitPeriodS"),
        },
        floorPct: this.parameters.get("dodFloorPct") + this.parameters.get("marginPct"),
      };
    }
    return plan({
      nowMs: this.nowMs(),
      policy: this.policy,
      jobs,
      models,
      cost: (model, protection) => this.costs.cost(model, protection),
      tenants,
      slots,
      slotsReason,
      emergency,
      power,
    });
  }

  private apply(p: Plan): void {
    const now = this.nowMs();
    for (const a of p.actions) {
      const job = this.store.get(a.id);
      if (!job || TERMINAL_STATES.has(job.state) || job.state === "paused") continue;
      if (a.action === "expire") {
        this.stopWorker(a.id);
        this.store.transition(a.id, "expired", a.reason, now);
        this.finishProduct(a.id);
        this.event("jobExpired", `${a.id}: ${a.reason}`, { job: a.id });
      } else if (a.action === "wait") {
        const w = this.workers.get(a.id);
        if (w && job.state === "running" && !a.reason.startsWith("emergency")) {
          // Not urgent: the batch in flight finishes and counts; then it stops.
          w.drain = a.reason;
        } else if (job.state === "running" || job.state === "admitted") {
          this.preempt(a.id, a.reason);
        } else this.store.setReason(a.id, a.reason, now);
      } else {
        const w = this.workers.get(a.id);
        if (w) {
          w.drain = null;
          if (w.variant !== a.variant) {
            this.event("variantSwitched", `${a.id}: ${w.variant} -> ${a.variant} (${a.reason})`, { job: a.id, from: w.variant, to: a.variant });
            w.variant = a.variant;
            w.key = costKey(a.variant, job.spec.protection);
          }
          if (job.state === "running") this.store.setReason(a.id, a.reason, now);
        } else {
          if (job.state === "queued") this.store.transition(a.id, "admitted", a.reason, now, { variant: a.variant });
          this.startWorker(a.id, a.variant, job.spec.protection);
        }
      }
    }
  }

  private preempt(id: string, reason: string): void {
    this.stopWorker(id);
    this.store.transition(id, "queued", reason, this.nowMs());
    this.event("preempted", `${id}: ${reason}`, { job: id });
  }

  /** Stops every job at once (emergency): running and admitted jobs go back to the queue. */
  private holdAll(reason: string): void {
    const now = this.nowMs();
    for (const id of [...this.workers.keys()]) {
      this.stopWorker(id);
      const job = this.store.get(id);
      if (job && (job.state === "running" || job.state === "admitted")) this.store.transition(id, "queued", `emergency: ${reason}`, now);
    }
  }

  // ---- workers -------------------------------------------------------------------

  /** The worker's activity since the last tick, for metering; its counters start again from zero. */
  private takeActivity(w: Worker): JobActivity {
    const a = { jobId: w.jobId, key: w.key, inferences: w.inferences, computeS: w.computeS, wallS: w.wallS };
    w.inferences = 0;
    w.computeS = 0;
    w.wallS = 0;
    return a;
  }

  /** Takes a worker off its job; what it did since the last tick is metered at the next one. */
  private retire(w: Worker): void {
    this.workers.delete(w.jobId);
    this.finishedActivity.push(this.takeActivity(w));
  }

  private stopWorker(id: string): void {
    const w = this.workers.get(id);
    if (!w) return;
    w.aborted = true;
    this.retire(w);
  }

  private startWorker(id: string, variant: string, protection: ProtectionName): void {
    const w: Worker = { jobId: id, variant, aborted: false, drain: null, inferences: 0, computeS: 0, wallS: 0, key: costKey(variant, protection) };
    this.workers.set(id, w);
    this.runJob(w).catch((err) => this.log.error({ err, job: id }, "job worker failed"));
  }

  private async runJob(w: Worker): Promise<void> {
    const first = this.store.get(w.jobId);
    if (!first) return;
    if (first.state === "admitted") this.store.transition(w.jobId, "running", `running on ${w.variant}`, this.nowMs(), { variant: w.variant });
    while (!w.aborted) {
      const job = this.store.get(w.jobId);
      if (!job || job.state !== "running") return;
      const tiles = this.store.tiles(w.jobId, job.tilesDone, job.spec.batchSize);
      if (tiles.length === 0) {
        this.complete(w, job);
        return;
      }
      let results: TileResult[];
      let inferences = 0;
      let uncorrectable = 0;
      let rawBytes = 0;
      try {
        results = [];
        for (const tile of tiles) {
          if (w.aborted) return; // the batch in progress is discarded
          const r = await this.inferTile(w, job, tile);
          if (w.aborted) return;
          results.push(r.result);
          rawBytes += tile.bytes;
          if (r.inferred) inferences++;
          if (r.result.vote === "no-majority") uncorrectable++;
        }
      } catch (err) {
        if (w.aborted) return;
        const n = (this.failures.get(w.jobId) ?? 0) + 1;
        this.failures.set(w.jobId, n);
        this.retire(w);
        if (n >= this.parameters.get("maxInferenceFailures")) {
          this.store.transition(w.jobId, "failed", `${n} batches failed in a row; last: ${message(err)}`, this.nowMs());
          this.finishProduct(w.jobId);
          this.event("jobFailed", `${w.jobId}: ${message(err)}`, { job: w.jobId });
        } else {
          this.store.transition(w.jobId, "queued", `batch failed (${n} in a row), retried at the next tick: ${message(err)}`, this.nowMs());
        }
        return;
      }
      try {
        this.store.commitBatch({ jobId: w.jobId, fromIndex: job.tilesDone, results, inferences, uncorrectable, rawBytes, nowMs: this.nowMs() });
        this.failures.delete(w.jobId);
      } catch (err) {
        if (err instanceof StoreError) return; // cancelled, paused or preempted meanwhile: the batch does not count
        throw err;
      }
      if (w.drain !== null && this.store.get(w.jobId)!.tilesDone < job.tilesTotal) {
        this.preempt(w.jobId, w.drain);
        return;
      }
    }
  }

  /** Reads, prepares and infers one tile. An unreadable tile is recorded, not fatal. */
  private async inferTile(w: Worker, job: JobRow, tile: TileRef): Promise<{ result: TileResult; inferred: boolean }> {
    const unreadable = (reason: string): { result: TileResult; inferred: boolean } => ({
      result: { index: tile.index, model: w.variant, label: "", confidence: 0, vote: "unreadable", detections: JSON.stringify({ error: reason.slice(0, 200) }), output: null },
      inferred: false,
    });
    let png: Buffer;
    try {
      png = this.readTile(job, tile);
    } catch (err) {
      if (err instanceof TileError) return unreadable(err.message);
      throw err;
    }
    const model = this.models.get(w.variant) ?? (await this.describeNow(w.variant));
    let input: OutputTensor;
    try {
      const decoded = decodePng(png, tile.name);
      input = this.prepareInput(model, decoded);
    } catch (err) {
      if (err instanceof TileError) return unreadable(err.message);
      throw err;
    }
    const started = this.clock.monotonicMs();
    const outcome = await this.options.backend.infer(w.variant, job.spec.protection, input);
    w.wallS += (this.clock.monotonicMs() - started) / 1000;
    w.computeS += outcome.computeS;
    w.inferences++;
    this.inferenceCount++;
    let detections = "[]";
    if (model.voter !== "argmax" && outcome.outputs[0]) {
      const out = outcome.outputs[0];
      const dims = out.dims;
      if (dims.length >= 2) {
        const height = dims[dims.length - 2]!;
        const width = dims[dims.length - 1]!;
        if (width * height <= out.data.length) {
          const map = out.data.subarray(0, width * height);
          detections = JSON.stringify(detectRegions(map, width, height, job.spec.output.detectionThreshold, job.spec.output.maxDetections));
        }
      }
    }
    let output: Uint8Array | null = null;
    if (job.spec.output.keep === "outputs") {
      output = codecFor(umbra.inference.v1.TensorSet).encode({
        tensors: outcome.outputs.map((t) => ({ name: t.name, dims: t.dims, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) })),
      });
    }
    return {
      result: { index: tile.index, model: w.variant, label: outcome.label, confidence: outcome.confidence, vote: outcome.vote, detections, output },
      inferred: true,
    };
  }

  private async describeNow(model: string): Promise<ModelDescription> {
    const d = await this.options.backend.describe(model);
    if (!d) throw new InferenceUnavailable(`model ${model} is not registered`);
    this.models.set(model, d);
    return d;
  }

  private readTile(job: JobRow, tile: TileRef): Buffer {
    if (job.spec.input.kind === "folder") return readTileFile(tile.source, tile.name);
    return this.archive.read(Number(tile.source)).png;
  }

  /** The model's first input for this tile: batch 1, RGB, the model's size (or the tile's, rounded, where dynamic). */
  private prepareInput(model: ModelDescription, decoded: ReturnType<typeof decodePng>): OutputTensor {
    const dims = model.inputDims;
    if (dims.length !== 4) throw new InferenceUnavailable(`model ${model.model} input has ${dims.length} dimensions; tiles need [N,3,H,W]`);
    if (dims[1] !== 3 && dims[1] !== -1) throw new InferenceUnavailable(`model ${model.model} input has ${dims[1]} channels; tiles are RGB`);
    const side = (d: number, tileSide: number) => (d > 0 ? d : Math.min(640, Math.max(32, Math.round(tileSide / 32) * 32)));
    const height = side(dims[2]!, decoded.height);
    const width = side(dims[3]!, decoded.width);
    return { name: model.inputName, dims: [1, 3, height, width], data: tileTensor(decoded, height, width) };
  }

  private complete(w: Worker, job: JobRow): void {
    this.retire(w);
    this.buildProduct(job.spec.id, "done");
    this.store.transition(job.spec.id, "done", `done: ${job.tilesTotal} tiles on ${this.modelsUsed(job.spec.id).join(", ") || job.spec.model}`, this.nowMs());
    this.event("jobDone", `${job.spec.id}: ${job.tilesTotal} tiles, ${job.energyJ.toFixed(0)} J`, { job: job.spec.id });
    this.sendProducts();
  }

  private modelsUsed(id: string): string[] {
    return [...new Set(this.store.results(id).filter((r) => r.vote !== "unreadable").map((r) => r.model))];
  }

  /** A job that ended early still downlinks what it found, if it found anything. */
  private finishProduct(id: string): void {
    const job = this.store.get(id);
    if (job && job.tilesDone > 0 && job.productState === "none") this.buildProduct(id, job.state);
  }

  private buildProduct(id: string, state: JobStateName): void {
    const job = this.store.get(id)!;
    const results = this.store.results(id);
    const usable = results.filter((r) => r.vote !== "unreadable" && r.vote !== "no-majority");
    const labels = usable.map((r) => r.label).filter((l) => l !== "");
    let summary = job.spec.output.summary;
    const classifier = labels.length > 0;
    if (summary === "auto") summary = classifier ? "class-counts" : "detections";
    const detections: TileDetection[] = [];
    if (summary === "detections") {
      for (const r of usable) {
        const parsed = JSON.parse(r.detections) as unknown;
        if (Array.isArray(parsed)) for (const d of parsed as Omit<TileDetection, "tile">[]) detections.push({ ...d, tile: r.index });
      }
    }
    const cloud = [];
    if (summary === "cloud-free") {
      const indices = cloudFree(
        usable.map((r) => r.label),
        job.spec.output.clearLabels,
      );
      const tiles = this.store.tiles(id, 0, job.tilesTotal);
      for (const i of indices) {
        const r = usable[i]!;
        const tile = tiles[r.index];
        if (!tile) continue;
        try {
          cloud.push({ tile: r.index, name: tile.name, png: this.readTile(job, tile) });
        } catch (err) {
          this.log.warn({ job: id, tile: tile.name, err: message(err) }, "cloud-free tile unreadable at summary time");
        }
      }
    }
    const product = encodeSummaryProduct({
      jobId: id,
      tenant: job.spec.tenant,
      models: [...new Set(usable.map((r) => r.model))],
      tiles: job.tilesTotal,
      uncorrectable: job.uncorrectable,
      classCounts: summary === "class-counts" || summary === "cloud-free" ? classCounts(labels) : {},
      detections,
      cloudFree: cloud,
      rawInputBytes: BigInt(job.rawInputBytes),
      energyJ: job.energyJ,
      finishedNs: this.clock.nowTaiNs(),
      state: stateToEnum(state),
    });
    this.store.setProduct(id, product);
  }

  private sendProducts(): void {
    if (this.productInFlight) return;
    const next = this.store.nextPendingProduct();
    if (!next) return;
    this.productInFlight = true;
    this.bus
      .request(umbra.ttc.v1.QueueProduct, { source: this.name, productId: `job-${next.id}`, kind: "umbra.jobs.v1.JobSummaryProduct", data: next.product }, umbra.ttc.v1.ProductQueued, {
        target: "ttc",
        timeoutMs: 10_000,
      })
      .then((r) => {
        this.store.productQueued(next.id, Number(r.bytes));
        const job = this.store.get(next.id);
        const ratio = job && Number(r.bytes) > 0 ? job.rawInputBytes / Number(r.bytes) : 0;
        this.event("productQueued", `${next.id}: ${r.packets} packets, ${r.bytes} B (reduction ${ratio.toFixed(1)}:1)`, { job: next.id });
      })
      .catch((err) => this.log.warn({ job: next.id, err: message(err) }, "summary product not queued yet; retried next tick"))
      .finally(() => {
        this.productInFlight = false;
      });
  }

  private saveLearned(): void {
    try {
      this.store.saveLearned(this.costs.snapshot(), { baseLoadW: this.costs.baseLoadW, sunlitInputW: this.sunlitInputW });
    } catch (err) {
      this.log.warn({ err: message(err) }, "learned costs not saved");
    }
  }

  private ticksSinceSave = 0;

  private report(sample: PowerSample | null, p: Plan, emergency: string | null): void {
    if (++this.ticksSinceSave >= 30) {
      this.ticksSinceSave = 0;
      this.saveLearned();
    }
    const counts = this.store.countByState();
    const waiting = p.actions.filter((a) => a.action === "wait").length;
    const slots = this.thermalSlots === null ? this.parameters.get("maxConcurrency") : Math.min(this.parameters.get("maxConcurrency"), this.thermalSlots);
    const floorPct = this.parameters.get("dodFloorPct") + this.parameters.get("marginPct");
    this.bus.publish(
      J.RunnerStatus,
      {
        missionTimeNs: this.clock.nowTaiNs(),
        socPct: sample?.power.batterySocPct ?? Number.NaN,
        floorPct,
        forecastMinSocPct: p.forecastMinSocPct,
        headroomJ: Number.isFinite(p.headroomJ) ? p.headroomJ : -1,
        loadW: p.loadW,
        sunlit: sample?.illumination.sunlit ?? false,
        secondsToTransition: sample?.illumination.secondsToTransition ?? -1,
        concurrency: slots,
        emergency: emergency !== null,
        emergencyReason: emergency ?? "",
        running: this.workers.size,
        waiting,
      },
      { priority: Priority.PRIORITY_TELEMETRY },
    );
    this.telemetry({
      queued: counts.get("queued") ?? 0,
      running: (counts.get("running") ?? 0) + (counts.get("admitted") ?? 0),
      paused: counts.get("paused") ?? 0,
      done: counts.get("done") ?? 0,
      expired: counts.get("expired") ?? 0,
      failed: counts.get("failed") ?? 0,
      socPct: sample?.power.batterySocPct,
      forecastMinSocPct: Number.isFinite(p.forecastMinSocPct) ? p.forecastMinSocPct : undefined,
      headroomJ: Number.isFinite(p.headroomJ) ? p.headroomJ : undefined,
      jobLoadW: p.loadW,
      baseLoadW: Number.isFinite(this.costs.baseLoadW) ? this.costs.baseLoadW : undefined,
      concurrency: slots,
      emergency: emergency !== null,
      meteredJoules: this.meteredJ,
      meteredCoreSeconds: this.meteredCoreS,
      inferences: this.inferenceCount,
      productsPending: this.store.pendingProductCount(),
    });
  }

  // ---- views ------------------------------------------------------------------------

  /** The last plan (tests and the status line). */
  get plan(): Plan | undefined {
    return this.lastPlan;
  }

  /** Learned cost of a variant (tests, reports). */
  costOf(model: string, protection: ProtectionName) {
    return { ...this.costs.cost(model, protection), samples: this.costs.samples(model, protection), baseLoadW: this.costs.baseLoadW };
  }

  private listFor(q: { states: readonly number[]; tenant: string; limit: number }): JobRow[] {
    const states: JobStateName[] = [];
    for (const s of q.states) {
      const name = stateFromEnum(s);
      if (!name) throw new RangeError(`unknown job state ${s}`);
      states.push(name);
    }
    if (q.tenant !== "" && !TENANT_ID.test(q.tenant)) throw new RangeError(`${JSON.stringify(q.tenant.slice(0, 40))} is not a tenant name`);
    if (q.limit > 1000) throw new RangeError(`limit must be at most 1000, got ${q.limit}`);
    return this.store.list(states, q.tenant, q.limit === 0 ? 100 : q.limit);
  }

  status(j: JobRow) {
    const forecast = this.lastPlan?.actions.find((a) => a.id === j.spec.id)?.forecastEnergyJ ?? 0;
    return {
      jobId: j.spec.id,
      tenant: j.spec.tenant,
      state: stateToEnum(j.state),
      priority: j.spec.priority,
      model: j.spec.model,
      variant: j.variant ?? "",
      tilesTotal: j.tilesTotal,
      tilesDone: j.tilesDone,
      inferences: BigInt(j.inferences),
      energyJ: j.energyJ,
      coreSeconds: j.coreSeconds,
      reason: j.reason,
      deadlineNs: j.spec.deadlineMs === null ? 0n : msToNs(j.spec.deadlineMs),
      submittedNs: msToNs(j.submittedMs),
      startedNs: msToNs(j.startedMs),
      finishedNs: msToNs(j.finishedMs),
      rawInputBytes: BigInt(j.rawInputBytes),
      downlinkedBytes: BigInt(j.downlinkedBytes),
      reductionRatio: j.downlinkedBytes > 0 ? j.rawInputBytes / j.downlinkedBytes : 0,
      uncorrectable: j.uncorrectable,
      forecastEnergyJ: forecast,
    };
  }

  private jobReport(id: string) {
    const j = this.store.get(id);
    if (!j) throw new RangeError(`no job ${JSON.stringify(id.slice(0, 60))}`);
    const labels = this.store
      .results(id)
      .map((r) => r.label)
      .filter((l) => l !== "");
    return {
      status: this.status(j),
      decisions: this.store.decisions(id).map((d) => ({ missionTimeNs: msToNs(d.atMs), from: stateToEnum(d.from), to: stateToEnum(d.to), reason: d.reason })),
      classCounts: classCounts(labels),
    };
  }

  private tenantUsage(name: string) {
    if (name !== "" && !this.store.tenant(name)) throw new RangeError(`no tenant ${JSON.stringify(name.slice(0, 40))}`);
    const list = name === "" ? this.store.tenants() : [this.store.tenant(name)!];
    return {
      tenants: list.map((t) => {
        const period = this.periodOf(t);
        const u = this.store.usage(t.tenant, period.startMs);
        return {
          tenant: t.tenant,
          period: t.period === "day" ? J.QuotaPeriod.QUOTA_PERIOD_DAY : J.QuotaPeriod.QUOTA_PERIOD_ORBIT,
          periodStartNs: msToNs(t.period === "day" ? period.startMs + (this.nowMs() - this.clock.utcMs()) : period.startMs),
          joules: u.joules,
          coreSeconds: u.coreSeconds,
          quotaJoules: t.quotaJoules,
          quotaCoreSeconds: t.quotaCoreSeconds,
          totalJoules: t.totalJoules,
          totalCoreSeconds: t.totalCoreSeconds,
          jobsDone: t.jobsDone,
        };
      }),
    };
  }

  // ---- commands ----------------------------------------------------------------------

  protected commands(): CommandHandlers<typeof jobsSpec> {
    const need = (id: string): JobRow => {
      const j = this.store.get(id);
      if (!j) throw new CommandRejected("argument", `no job ${JSON.stringify(id.slice(0, 60))}`);
      return j;
    };
    const ended = (j: JobRow, what: string) => {
      if (TERMINAL_STATES.has(j.state)) throw new CommandRejected("precondition", `job ${j.spec.id} is ${j.state}; cannot ${what}`);
    };
    return {
      submit: (args) => this.submit(args),
      cancel: ({ jobId }) => {
        const j = need(jobId);
        ended(j, "cancel");
        this.stopWorker(jobId);
        this.store.transition(jobId, "cancelled", "cancelled by command", this.nowMs());
        this.finishProduct(jobId);
        return `job ${jobId} cancelled at tile ${j.tilesDone} of ${j.tilesTotal}`;
      },
      pause: ({ jobId }) => {
        const j = need(jobId);
        ended(j, "pause");
        if (j.state === "paused") throw new CommandRejected("precondition", `job ${jobId} is already paused`);
        this.stopWorker(jobId);
        this.store.transition(jobId, "paused", "paused by command", this.nowMs());
        return `job ${jobId} paused at tile ${j.tilesDone} of ${j.tilesTotal}`;
      },
      resume: ({ jobId }) => {
        const j = need(jobId);
        if (j.state !== "paused") throw new CommandRejected("precondition", `job ${jobId} is ${j.state}, not paused`);
        this.store.transition(jobId, "queued", "resumed by command", this.nowMs());
        return `job ${jobId} queued again at tile ${j.tilesDone}`;
      },
      reprioritise: ({ jobId, priority }) => {
        if (!Number.isInteger(priority) || priority > 9) throw new CommandRejected("argument", `priority must be 0..9, got ${priority}`);
        const j = need(jobId);
        ended(j, "reprioritise");
        this.store.setPriority(jobId, priority, this.nowMs());
        return `job ${jobId} priority ${j.spec.priority} -> ${priority}`;
      },
      list: (q) => {
        let jobs: JobRow[];
        try {
          jobs = this.listFor(q);
        } catch (err) {
          throw new CommandRejected("argument", message(err));
        }
        const lines = jobs.map((j) => `${j.spec.id} ${j.state} ${j.tilesDone}/${j.tilesTotal} p${j.spec.priority}${j.reason ? ` (${j.reason.slice(0, 60)})` : ""}`);
        const text = `${jobs.length} job(s)${lines.length ? `: ${lines.join("; ")}` : ""}`;
        return text.length > 900 ? `${text.slice(0, 897)}...` : text;
      },
      report: ({ jobId }) => {
        const j = need(jobId);
        const ratio = j.downlinkedBytes > 0 ? `, reduction ${(j.rawInputBytes / j.downlinkedBytes).toFixed(1)}:1` : "";
        return `${j.spec.id} ${j.state} ${j.tilesDone}/${j.tilesTotal} tiles on ${j.variant ?? j.spec.model}, ${j.inferences} inferences, ${j.energyJ.toFixed(1)} J, ${j.coreSeconds.toFixed(1)} core-s${ratio}; ${j.reason}`;
      },
      setTenant: (t) => {
        if (!TENANT_ID.test(t.tenant)) throw new CommandRejected("argument", `${JSON.stringify(t.tenant.slice(0, 40))} is not a tenant name (1..32 of A-Z a-z 0-9 _ . -)`);
        for (const [field, v] of [
          ["quota_joules", t.quotaJoules],
          ["quota_core_seconds", t.quotaCoreSeconds],
        ] as const) {
          if (!(v >= 0 && v <= 1e12)) throw new CommandRejected("argument", `${field} must be in 0..1e12, got ${v}`);
        }
        let period: QuotaPeriodName;
        if (t.period === J.QuotaPeriod.QUOTA_PERIOD_DAY) period = "day";
        else if (t.period === J.QuotaPeriod.QUOTA_PERIOD_ORBIT || t.period === J.QuotaPeriod.QUOTA_PERIOD_UNSPECIFIED) period = "orbit";
        else throw new CommandRejected("argument", `unknown quota period ${t.period}`);
        this.store.setTenant({ tenant: t.tenant, quotaJoules: t.quotaJoules, quotaCoreSeconds: t.quotaCoreSeconds, period, rejectOverQuota: t.rejectOverQuota }, this.nowMs());
        return `tenant ${t.tenant}: ${t.quotaJoules || "no"} J and ${t.quotaCoreSeconds || "no"} core-s quota per ${period}`;
      },
      importTiles: ({ folder, tag }) => {
        try {
          const r = this.archive.importFolder(folder, tag, this.clock.nowTaiNs());
          return `${r.imported} tile(s), ${r.bytes} B imported under ${tag}`;
        } catch (err) {
          if (err instanceof TileError) throw new CommandRejected("argument", err.message);
          throw err;
        }
      },
    };
  }

  private submit(args: MessageOf<typeof J.SubmitJob>): string {
    const now = this.nowMs();
    let spec;
    try {
      spec = validateSubmission(args, now, { batchSize: this.parameters.get("batchSize"), protection: this.parameters.get("protection") as ProtectionName }, () => `job-${now.toString(36)}-${(++this.idCounter).toString(36)}`);
    } catch (err) {
      if (err instanceof SubmissionError) throw new CommandRejected("argument", err.message);
      throw err;
    }
    if (this.store.get(spec.id)) throw new CommandRejected("argument", `job_id: ${spec.id} exists`);
    const tenant = this.store.tenant(spec.tenant);
    if (!tenant) throw new CommandRejected("precondition", `tenant ${spec.tenant} does not exist (setTenant first)`);
    let tiles: TileRef[];
    try {
      if (spec.input.kind === "folder") {
        const folder = spec.input.path;
        tiles = listTileFolder(folder).map((t, index) => ({ index, name: t.name, bytes: t.bytes, source: folder }));
      } else {
        const list = this.archive.list(spec.input.tag);
        if (list.length === 0) throw new TileError("input_archive_tag", `no tiles under tag ${spec.input.tag}`, spec.input.tag);
        tiles = list.map((t, index) => ({ index, name: t.name, bytes: t.bytes, source: String(t.id) }));
      }
    } catch (err) {
      if (err instanceof TileError) throw new CommandRejected("argument", err.message);
      throw err;
    }
    if (tenant.rejectOverQuota && tenant.quotaJoules > 0) {
      const period = this.periodOf(tenant);
      const left = allowance(tenant, this.store.usage(spec.tenant, period.startMs), period.endsInS);
      const need = tiles.length * this.costs.cost(spec.model, spec.protection).energyJ;
      if (need > left.joules) {
        throw new CommandRejected("precondition", `quota: ${spec.tenant} has ${left.joules.toFixed(0)} J left this ${tenant.period}; the job needs about ${need.toFixed(0)} J on ${spec.model}`);
      }
    }
    this.store.insertJob(spec, tiles, now);
    void this.refreshModels(true);
    const bytes = tiles.reduce((s, t) => s + t.bytes, 0);
    return `job ${spec.id} queued: ${tiles.length} tiles, ${bytes} B, priority ${spec.priority}`;
  }
}
