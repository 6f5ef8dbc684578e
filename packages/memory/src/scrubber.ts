// The scrub agent of one process: scrubs that process's protected regions in
// the background on the core Clock, within a CPU budget, at the rate the
// schedule asks for; puts them (and their side tables) under the HIL fault
// injector's reach; and publishes a ScrubStatus per region on the bus.
//
// Regions live in the process that owns them (processes share no memory), so
// every process with protected memory runs one Scrubber; the scrubber service
// aggregates their statuses, and configures them over the bus (ScrubConfig,
// ScrubRequest).
import { Priority, silentLogger, type Bus, type Clock, type Logger, type Subscription, type TimerHandle } from "@umbra/core";
import { attachFaultInjection, MemoryRegionRegistry, type FaultInjection } from "@umbra/platform";
import { umbra, type InitOf, type MessageOf } from "@umbra/proto";
import { RegionError } from "./errors.js";
import { ProtectedRegion, SIDE_TABLE_SUFFIX, type GoldenStatus, type ScrubResult } from "./region.js";
import { checkScheduleSettings, planScrubbing, UpsetRateEstimator, type RegionPlan } from "./schedule.js";

const { GoldenState } = umbra.scrubber.v1;
type ScrubStatusInit = InitOf<typeof umbra.scrubber.v1.ScrubStatus>;

/** The shared scrub configuration (what ScrubConfig carries). */
export interface ScrubConfigValues {
  /** Fraction of one core for all of this process's regions, (0, 1]. */
  cpuBudget: number;
  /** Rate scrubbing is planned for at least, upsets/bit/day (the observed estimate raises it). */
  assumedUpsetRatePerBitDay: number;
  /** Expected uncorrectable codewords per year and region to stay below. */
  targetUncorrectablePerYear: number;
  /** Every region is scrubbed in full at least this often, s. */
  maxPassPeriodS: number;
  /** Scrub slice period, ms. */
  tickMs: number;
}

export const DEFAULT_SCRUB_CONFIG: Readonly<ScrubConfigValues> = Object.freeze({
  cpuBudget: 0.05,
  assumedUpsetRatePerBitDay: 1e-8,
  targetUncorrectablePerYear: 1e-3,
  maxPassPeriodS: 3600,
  tickMs: 1000,
});

/** Ranges shared with the scrubber service's parameters. */
export const SCRUB_CONFIG_LIMITS = {
  cpuBudget: { min: 0.001, max: 1 },
  assumedUpsetRatePerBitDay: { min: 0, max: 1 },
  targetUncorrectablePerYear: { min: 1e-9, max: 1e6 },
  maxPassPeriodS: { min: 1, max: 7 * 86_400 },
  tickMs: { min: 10, max: 60_000 },
} as const;

/** Why `config` is not a valid ScrubConfigValues (naming the field), or undefined. */
export function scrubConfigProblem(config: Partial<Record<keyof ScrubConfigValues, unknown>>): string | undefined {
  for (const [key, { min, max }] of Object.entries(SCRUB_CONFIG_LIMITS) as [keyof ScrubConfigValues, { min: number; max: number }][]) {
    const v = config[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) return `${key}: ${String(v)} is not in ${min}..${max}`;
    if (key === "tickMs" && !Number.isInteger(v)) return `tickMs: ${v} is not an integer`;
  }
  return undefined;
}

export interface ScrubberOptions {
  bus: Bus;
  clock: Clock;
  /** The owning service's name (ScrubStatus.service, FlipBits target). */
  service: string;
  logger?: Logger;
  /**
   * Register regions in this registry (the service already serves FlipBits
   * for it). Without one the Scrubber makes its own and attaches the fault
   * injector to it.
   */
  registry?: MemoryRegionRegistry;
  /** Also put each region's side table within the fault injector's reach, as "<region>/ecc" (default true). */
  exposeSideTables?: boolean;
  /** Starting configuration; ScrubConfig from the bus overrides it unless followBusConfig is false. */
  config?: Partial<ScrubConfigValues>;
  followBusConfig?: boolean;
  /** Publish every region's ScrubStatus at least this often, ms (default 10 s); changes go out at once. */
  statusIntervalMs?: number;
  /** Scrub throughput assumed until measured, bytes per CPU-second (default 1e9). */
  bytesPerCpuSecond?: number;
  /** CPU time of this process, µs (default process.cpuUsage user + system); injectable for tests. */
  cpuTimeUs?: () => number;
  /** Time constant of the observed upset-rate estimate, s (default 600). */
  rateTimeConstantS?: number;
}

interface Tracked {
  region: ProtectedRegion;
  credit: number;
  estimator: UpsetRateEstimator;
  /** Counters at the last estimator update. */
  seenUpsets: number;
  plan: RegionPlan | undefined;
  lastPublished: string;
  lastPublishedMs: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function goldenState(status: GoldenStatus): { state: number; detail: string } {
  switch (status.state) {
    case "none":
      return { state: GoldenState.GOLDEN_STATE_NONE, detail: "" };
    case "verifying":
      return { state: GoldenState.GOLDEN_STATE_VERIFYING, detail: status.path };
    case "verified":
      return { state: GoldenState.GOLDEN_STATE_VERIFIED, detail: status.path };
    case "rejected":
      return { state: GoldenState.GOLDEN_STATE_REJECTED, detail: `${status.path}: ${status.reason}` };
    case "stale":
      return { state: GoldenState.GOLDEN_STATE_STALE, detail: `${status.path}: ${status.reason}` };
  }
}

function defaultCpuTimeUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export class Scrubber {
  readonly service: string;
  private readonly bus: Bus;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly registry: MemoryRegionRegistry;
  private readonly injection: FaultInjection | undefined;
  private readonly exposeSideTables: boolean;
  private readonly statusIntervalMs: number;
  private readonly cpuTimeUs: () => number;
  private readonly rateTimeConstantS: number;
  private readonly tracked = new Map<string, Tracked>();
  private readonly subscriptions: Subscription[] = [];
  private configValues: ScrubConfigValues;
  private bytesPerCpuSecond: number;
  private timer: TimerHandle | undefined;
  private lastTickMs: number | undefined;
  private closed = false;

  constructor(options: ScrubberOptions) {
    if (typeof options !== "object" || options === null) throw new RegionError("Scrubber options must be an object");
    if (typeof options.service !== "string" || !NAME.test(options.service)) {
      throw new RegionError(`service ${JSON.stringify(options.service)} must match ${NAME.source}`);
    }
    this.service = options.service;
    this.bus = options.bus;
    this.clock = options.clock;
    this.log = (options.logger ?? silentLogger()).child({ component: "scrubber", service: options.service });
    const problem = scrubConfigProblem(options.config ?? {});
    if (problem) throw new RegionError(`config: ${problem}`);
    this.configValues = { ...DEFAULT_SCRUB_CONFIG, ...options.config };
    this.statusIntervalMs = options.statusIntervalMs ?? 10_000;
    if (!Number.isFinite(this.statusIntervalMs) || this.statusIntervalMs <= 0) throw new RegionError(`statusIntervalMs must be > 0, got ${this.statusIntervalMs}`);
    this.bytesPerCpuSecond = options.bytesPerCpuSecond ?? 1e9;
    if (!Number.isFinite(this.bytesPerCpuSecond) || this.bytesPerCpuSecond <= 0) throw new RegionError(`bytesPerCpuSecond must be > 0, got ${this.bytesPerCpuSecond}`);
    this.cpuTimeUs = options.cpuTimeUs ?? defaultCpuTimeUs;
    this.rateTimeConstantS = options.rateTimeConstantS ?? 600;
    this.exposeSideTables = options.exposeSideTables ?? true;
    if (options.registry) {
      this.registry = options.registry;
    } else {
      this.registry = new MemoryRegionRegistry();
      this.injection = attachFaultInjection(this.bus, this.registry, { service: this.service });
    }
    if (options.followBusConfig ?? true) {
      this.subscriptions.push(this.bus.subscribe(umbra.scrubber.v1.ScrubConfig, (m) => this.applyBusConfig(m)));
    }
    this.subscriptions.push(this.bus.subscribe(umbra.scrubber.v1.ScrubRequest, (m) => this.onScrubRequest(m)));
  }

  get config(): ScrubConfigValues {
    return { ...this.configValues };
  }

  /** Changes the configuration (all or nothing); throws RegionError naming a bad field. */
  configure(values: Partial<ScrubConfigValues>): void {
    const problem = scrubConfigProblem(values);
    if (problem) throw new RegionError(`config: ${problem}`);
    const tickChanged = values.tickMs !== undefined && values.tickMs !== this.configValues.tickMs;
    this.configValues = { ...this.configValues, ...values };
    this.replan();
    if (tickChanged && this.timer) this.startTimer();
  }

  /** The region of that name, if protected here. */
  region(name: string): ProtectedRegion | undefined {
    return this.tracked.get(name)?.region;
  }

  regions(): ProtectedRegion[] {
    return [...this.tracked.values()].map((t) => t.region);
  }

  /** The current plan of a region. */
  plan(name: string): RegionPlan | undefined {
    return this.tracked.get(name)?.plan;
  }

  /** Scrub throughput in use for planning, bytes per CPU-second. */
  get throughput(): number {
    return this.bytesPerCpuSecond;
  }

  /**
   * Starts scrubbing a region in the background and registers it (and its
   * side table) with the fault injector. Throws RegionError for a duplicate
   * name or when the registry refuses it (then nothing was registered).
   */
  protect(region: ProtectedRegion): ProtectedRegion {
    this.assertOpen();
    if (!(region instanceof ProtectedRegion)) throw new RegionError("protect() takes a ProtectedRegion");
    if (this.tracked.has(region.name)) throw new RegionError(`region ${JSON.stringify(region.name)} is already protected here`);
    try {
      this.registry.register(region.name, region.bytes);
      if (this.exposeSideTables) {
        try {
          this.registry.register(region.name + SIDE_TABLE_SUFFIX, region.sideTable);
        } catch (err) {
          this.registry.unregister(region.name);
          throw err;
        }
      }
    } catch (err) {
      throw new RegionError(`cannot protect ${JSON.stringify(region.name)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.tracked.set(region.name, {
      region,
      credit: 0,
      estimator: new UpsetRateEstimator(this.rateTimeConstantS),
      seenUpsets: this.upsetsOf(region),
      plan: undefined,
      lastPublished: "",
      lastPublishedMs: -Infinity,
    });
    this.replan();
    this.publishStatus(region.name, true);
    return region;
  }

  /** Stops protecting a region (its buffer is left as it is); publishes size 0. False if unknown. */
  unprotect(name: string): boolean {
    const t = this.tracked.get(name);
    if (!t) return false;
    this.tracked.delete(name);
    this.registry.unregister(name);
    if (this.exposeSideTables) this.registry.unregister(name + SIDE_TABLE_SUFFIX);
    this.safePublish({ service: this.service, node: this.bus.node, region: name, sizeBytes: 0n, missionTimeNs: this.clock.nowTaiNs() }, Priority.PRIORITY_TELEMETRY);
    this.replan();
    return true;
  }

  /** Starts background scrubbing. */
  start(): void {
    this.assertOpen();
    if (this.timer) return;
    this.lastTickMs = this.clock.monotonicMs();
    this.startTimer();
  }

  /** Stops background scrubbing, leaves the bus, withdraws nothing (regions stay protected until unprotected). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.injection?.close();
    for (const s of this.subscriptions) s.unsubscribe();
  }

  /** Full pass over one region, or every region; publishes the statuses. */
  scrubNow(name?: string): Map<string, ScrubResult> {
    this.assertOpen();
    const out = new Map<string, ScrubResult>();
    for (const t of this.tracked.values()) {
      if (name !== undefined && t.region.name !== name) continue;
      out.set(t.region.name, this.measured(() => t.region.scrubAll()));
      t.credit = 0;
      this.publishStatus(t.region.name, false);
    }
    if (name !== undefined && out.size === 0) throw new RegionError(`no region ${JSON.stringify(name)} is protected here`);
    return out;
  }

  /** The ScrubStatus of a region as it would be published now. */
  status(name: string): ScrubStatusInit | undefined {
    const t = this.tracked.get(name);
    if (!t) return undefined;
    const r = t.region;
    const s = r.stats;
    const golden = goldenState(r.goldenCopy);
    return {
      service: this.service,
      node: this.bus.node,
      region: r.name,
      sizeBytes: BigInt(r.size),
      code: r.code,
      correctedBits: BigInt(s.correctedBits),
      correctedCheckBits: BigInt(s.correctedCheckBits),
      uncorrectableDetected: BigInt(s.uncorrectableDetected),
      uncorrectableBlocks: s.uncorrectableBlocks,
      repairedBlocks: BigInt(s.repairedBlocks),
      fullPasses: BigInt(s.fullPasses),
      lastFullPassNs: s.lastFullPassNs ?? 0n,
      passDurationS: (s.lastPassDurationMs ?? 0) / 1000,
      plannedPassPeriodS: t.plan && Number.isFinite(t.plan.passPeriodS) ? t.plan.passPeriodS : 0,
      upsetRatePerBitDay: this.planningRate(),
      observedRatePerBitDay: t.estimator.perBitDay,
      golden: golden.state,
      goldenDetail: golden.detail,
      usable: r.usable,
      budgetLimited: t.plan?.budgetLimited ?? false,
      missionTimeNs: this.clock.nowTaiNs(),
    };
  }

  // --- internals -------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new RegionError("the scrubber is closed");
  }

  private startTimer(): void {
    this.timer?.cancel();
    this.timer = this.clock.setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.log.error({ err }, "scrub tick failed");
      }
    }, this.configValues.tickMs);
  }

  private upsetsOf(region: ProtectedRegion): number {
    const s = region.stats;
    // A double error is two upsets.
    return s.correctedBits + s.correctedCheckBits + 2 * s.uncorrectableDetected;
  }

  /** The rate plans are made for: the assumed floor or the highest observed, whichever is higher. */
  private planningRate(): number {
    let rate = this.configValues.assumedUpsetRatePerBitDay;
    for (const t of this.tracked.values()) rate = Math.max(rate, t.estimator.perBitDay);
    return Math.min(rate, 1);
  }

  private replan(): void {
    const list = [...this.tracked.values()];
    if (list.length === 0) return;
    const settings = checkScheduleSettings({
      upsetRatePerBitDay: this.planningRate(),
      targetUncorrectablePerYear: this.configValues.targetUncorrectablePerYear,
      cpuBudget: this.configValues.cpuBudget,
      bytesPerCpuSecond: this.bytesPerCpuSecond,
      maxPassPeriodS: this.configValues.maxPassPeriodS,
    });
    const plans = planScrubbing(
      list.map((t) => t.region.size),
      settings,
    );
    list.forEach((t, i) => (t.plan = plans[i]));
  }

  /** Runs fn, folding its CPU time into the throughput estimate. */
  private measured(fn: () => ScrubResult): ScrubResult {
    const before = this.cpuTimeUs();
    const result = fn();
    const usedS = (this.cpuTimeUs() - before) / 1e6;
    // Only slices long enough to measure (>= 1 ms of CPU) and clean (repairs read files).
    if (usedS >= 0.001 && result.repairedBlocks === 0 && result.checkedBytes > 0) {
      const rate = result.checkedBytes / usedS;
      this.bytesPerCpuSecond = 0.8 * this.bytesPerCpuSecond + 0.2 * rate;
    }
    return result;
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.clock.monotonicMs();
    const dtS = Math.max(0, (now - (this.lastTickMs ?? now)) / 1000);
    this.lastTickMs = now;
    for (const t of this.tracked.values()) {
      const plan = t.plan;
      if (!plan) continue;
      // Never bank more than one pass: after a stall, catch up by one pass at most.
      t.credit = Math.min(t.credit + plan.bytesPerSecond * dtS, t.region.size);
      const block = t.region.blockBytes;
      if (t.credit >= Math.min(block, t.region.size)) {
        const maxBytes = Math.max(block, Math.floor(t.credit / block) * block);
        const result = this.measured(() => t.region.scrubNext(maxBytes));
        t.credit = Math.max(0, t.credit - result.checkedBytes);
        if (result.newUncorrectableBlocks > 0) {
          this.log.warn({ region: t.region.name, blocks: t.region.uncorrectable().map((u) => u.block) }, "uncorrectable block(s) found");
        }
      }
      const upsets = this.upsetsOf(t.region);
      t.estimator.observe(Math.max(0, upsets - t.seenUpsets), (t.region.size + t.region.sideTable.length) * 8, dtS);
      t.seenUpsets = upsets;
    }
    this.replan();
    for (const name of this.tracked.keys()) this.publishStatus(name, false);
  }

  /** Publishes a region's status when it changed (at once) or when the status interval has passed. */
  private publishStatus(name: string, force: boolean): void {
    const t = this.tracked.get(name);
    const status = this.status(name);
    if (!t || !status) return;
    const urgentKey = [status.uncorrectableDetected, status.uncorrectableBlocks, status.golden].join("|");
    const key = [urgentKey, status.correctedBits, status.correctedCheckBits, status.repairedBlocks, status.fullPasses, status.goldenDetail, status.budgetLimited].join("|");
    const now = this.clock.monotonicMs();
    const changed = key !== t.lastPublished;
    if (!force && !changed && now - t.lastPublishedMs < this.statusIntervalMs) return;
    // Routine news (corrections, passes) goes as telemetry; a new uncorrectable block or golden-copy change ahead of it.
    const urgent = t.lastPublished !== "" && !t.lastPublished.startsWith(urgentKey + "|");
    t.lastPublished = key;
    t.lastPublishedMs = now;
    this.safePublish(status, urgent ? Priority.PRIORITY_COMMAND : Priority.PRIORITY_TELEMETRY);
  }

  private safePublish(status: ScrubStatusInit, priority: Priority): void {
    try {
      this.bus.publish(umbra.scrubber.v1.ScrubStatus, status, { priority });
    } catch (err) {
      this.log.debug({ err }, "could not publish ScrubStatus");
    }
  }

  private applyBusConfig(m: MessageOf<typeof umbra.scrubber.v1.ScrubConfig>): void {
    if (this.closed) return;
    const values: ScrubConfigValues = {
      cpuBudget: m.cpuBudget,
      assumedUpsetRatePerBitDay: m.assumedUpsetRatePerBitDay,
      targetUncorrectablePerYear: m.targetUncorrectablePerYear,
      maxPassPeriodS: m.maxPassPeriodS,
      tickMs: m.tickMs,
    };
    const problem = scrubConfigProblem(values);
    if (problem) {
      this.log.warn({ problem }, "ignoring ScrubConfig from the bus");
      return;
    }
    this.configure(values);
  }

  private onScrubRequest(m: MessageOf<typeof umbra.scrubber.v1.ScrubRequest>): void {
    if (this.closed) return;
    if (m.service !== "" && m.service !== this.service) return;
    if (m.region !== "" && !this.tracked.has(m.region)) return;
    this.scrubNow(m.region === "" ? undefined : m.region);
  }
}
