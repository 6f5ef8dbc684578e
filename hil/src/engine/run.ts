// A HIL run: steps the environment in simulated time, publishes what the
// hardware would show (umbra.platform.v1.HardwareState) and the ground truth
// (umbra.hil.v1.EnvironmentSample) on the bus, answers the hardware requests
// services make through the platform's HIL adapters (target "hil"), injects
// scheduled, requested (InjectFault) and radiation-driven faults, resets the
// payload computer when its watchdog fires, distributes mission time
// (umbra.core.v1.TimeTone), and records everything for the report.
import { Bus, Priority, SimClock, formatTai, isValidNodeName, silentLogger, utcMsToTaiNs, type Logger } from "@umbra/core";
import { MAX_BUSY_CORES } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import type { Scenario, FaultSpec } from "../scenario/schema.js";
import { Recorder, SERIES_NAMES, type FaultAction, type FaultEntry, type RunReport, type SeriesName } from "../report/report.js";
import { Environment, type EnvironmentStep, type Window } from "./environment.js";
import { EmulatedHardware } from "./hardware.js";
import { hostname } from "node:os";
import { Rng } from "../models/index.js";
import type { ReplayLog } from "./replay.js";
import { parseInjectFault } from "./inject-fault.js";
import { ownProcessGroup, processStartTime } from "./processes.js";

export const HIL_NODE = "hil";
const HOST = hostname();
/** Power reports older than this many steps no longer count as the payload's draw. */
export const POWER_DRAW_TTL_STEPS = 3;
/**
 * A ComputeActivity report also stays fresh for this much wall time, if that
 * is longer: services under `pnpm start` report on the wall clock (every
 * second by default) while the HIL runs simulated time at speed 60, so three
 * 10 s steps pass in half a wall second, less than one report period.
 */
export const ACTIVITY_TTL_WALL_MS = 2000;
/** Exponent of the CPU frequency ratio applied to the payload's dynamic power (between f and f³; see docs/hil.md). */
export const DYNAMIC_POWER_EXPONENT = 2;
/** How long a radiation-induced hang lasts before the process resumes (standing in for a reset by the supervisor). */
const SEFI_HANG_S = 120;
/** The service whose process group is the payload computer: a board reset kills it, and whoever launched it powers it on again. */
export const PAYLOAD_SUPERVISOR = "supervisor";

export interface HilRunOptions {
  scenario: Scenario;
  scenarioFile?: string;
  /** Bus to run on; its clock must be `clock`. By default a new node "hil" with its own SimClock. */
  bus?: Bus;
  clock?: SimClock;
  /** Simulated seconds per wall second; "max" runs as fast as the machine allows. */
  speed?: number | "max";
  onProgress?: (elapsedS: number, durationS: number) => void;
  logger?: Logger;
  /** Time allowed (simulated ms) for a service to acknowledge an injected fault. */
  faultAckTimeoutMs?: number;
  /**
   * Wall-clock milliseconds on a monotonic scale, for how long a
   * ComputeActivity report stays fresh (ACTIVITY_TTL_WALL_MS). Default
   * performance.now(); tests inject one.
   */
  wallClockMs?: () => number;
  /**
   * Apply exactly these faults (from an earlier run's log) instead of the
   * scenario's schedule and the radiation model's draws. The environment
   * itself (orbit, power, thermal, upset counts) is unchanged.
   */
  replay?: ReplayLog;
  /**
   * Simulated ms between umbra.core.v1.TimeTone publications (mission time
   * for services in other processes); default 1000, 0 for none. A paced run
   * advances its clock and sleeps in steps of this size, so tones come
   * evenly in wall time; the environment still steps at scenario.step.
   */
  toneIntervalMs?: number;
  /**
   * Asked before each tone: false skips it (its sequence number is used, so
   * receivers see the gap). Give the hub link's state, so tones are not
   * queued while it is down and delivered late in a burst.
   */
  canSendTone?: () => boolean;
}

interface RegionInfo {
  service: string;
  region: string;
  sizeBytes: number;
  baseBit: number;
}

interface ProcessInfo {
  pid: number;
  node: string;
  host: string;
  /** For a pid on this host: its start time when first heard of (processStartTime), so a reused pid is told apart. */
  startTime: string | undefined;
}

export class HilRun {
  readonly bus: Bus;
  readonly clock: SimClock;
  readonly environment: Environment;
  readonly hardware: EmulatedHardware;
  private readonly scenario: Scenario;
  private readonly options: HilRunOptions;
  private readonly log: Logger;
  private readonly recorder = new Recorder();
  private readonly faults: FaultEntry[] = [];
  private readonly faultRng: Rng;
  private readonly regions: RegionInfo[] = [];
  private nextRegionBit = 0;
  private readonly processes = new Map<string, ProcessInfo>();
  private readonly powerDraws = new Map<string, { watts: number; step: number }>();
  /** Newest ComputeActivity per source: busy cores, and the step and wall time it arrived. */
  private readonly activity = new Map<string, { busyCores: number; step: number; wallMs: number }>();
  private invalidActivityReports = 0;
  /** CPUs in the scenario's cpufreq policies: what Σ busy cores is a fraction of. */
  private readonly cpuCount: number;
  private readonly wallClockMs: () => number;
  private readonly ownsBus: boolean;
  private step = 0;
  private stopped = false;
  private sefis = 0;
  private latchups = 0;
  private watchdogResets = 0;
  private payloadResets = 0;
  private tonesSent = 0;
  private toneSequence = 0n;
  private finished = false;
  private wake: (() => void) | undefined;
  private energyInWh = 0;
  private energyOutWh = 0;
  private suppliedWh = 0;
  private shedWh = 0;
  private minSoc = 100;
  private maxDie = Number.NEGATIVE_INFINITY;
  private readonly pending: Promise<unknown>[] = [];
  private stationsInView: string[] = [];
  private downlinkedPackets = 0;
  private downlinkedBytes = 0;
  /**
   * Processes stopped by a hang fault, with the heartbeat stream they were
   * stopped as; all are resumed when the run ends, however it ends.
   */
  private readonly hung = new Map<number, { service: string; startTime: string | undefined; entry: FaultEntry }>();

  /**
   * Ends a hang, unless the process is gone: killed (by the run, a reset or
   * the supervisor) and perhaps restarted under a new pid meanwhile. The pid
   * is only continued while the service's heartbeat still names it and, with
   * /proc, while it is still the process that was stopped (same start time).
   */
  private resume(pid: number): void {
    const h = this.hung.get(pid);
    if (!h) return;
    this.hung.delete(pid);
    const current = this.processes.get(h.service);
    let gone: string | undefined;
    if (!current || current.pid !== pid) gone = current ? `${h.service} now runs as pid ${current.pid}` : `${h.service} was killed or reset meanwhile`;
    else if (h.startTime !== undefined && processStartTime(pid) !== h.startTime) gone = `pid ${pid} has exited`;
    if (gone) {
      h.entry.outcome = `${h.entry.outcome}; not resumed: ${gone}`;
      this.log.info({ pid, service: h.service, why: gone }, "hung process not resumed");
      return;
    }
    try {
      process.kill(pid, "SIGCONT");
    } catch (err) {
      h.entry.outcome = `${h.entry.outcome}; not resumed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }

  constructor(options: HilRunOptions) {
    this.options = options;
    this.scenario = options.scenario;
    this.log = (options.logger ?? silentLogger()).child({ hil: options.scenario.name });
    if (options.bus && !options.clock) throw new Error("a HIL run on a given bus needs that bus's SimClock too");
    this.clock = options.clock ?? new SimClock({ startUtcMs: options.scenario.epoch });
    this.ownsBus = !options.bus;
    this.bus = options.bus ?? new Bus({ node: HIL_NODE, clock: this.clock, logger: this.log, queueCapacity: 8192 });
    this.environment = new Environment(options.scenario);
    this.hardware = new EmulatedHardware(options.scenario.hardware);
    this.faultRng = new Rng(options.scenario.seed).fork("faults");
    this.cpuCount = new Set(options.scenario.hardware.cpufreq.flatMap((p) => p.cpus)).size;
    this.wallClockMs = options.wallClockMs ?? (() => performance.now());
    const tone = options.toneIntervalMs ?? 1000;
    if (!(Number.isFinite(tone) && tone >= 0)) throw new RangeError(`toneIntervalMs must be 0 or a positive number of ms, got ${tone}`);
    const speed = options.speed;
    if (speed !== undefined && speed !== "max" && !(Number.isFinite(speed) && speed > 0)) throw new RangeError(`speed must be a positive number or "max", got ${speed}`);
    this.wireBus();
  }

  /** Stops the run: a paced run at its next tone (or step), a fast one after the current step. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /**
   * Moves the simulated clock to `ms` after the run's start, firing what falls
   * due. `quick`: in a run at full speed, a move between tones with no timer
   * due in it skips the event-loop turns (in-process handlers of a tone run
   * at the next step; the tone carries its own mission time).
   */
  private async advanceTo(baseMs: number, ms: number, quick = false): Promise<void> {
    const d = baseMs + ms - this.clock.monotonicMs();
    if (!(d > 0)) return;
    const next = this.clock.nextDueMs;
    if (quick && (next === undefined || next > this.clock.monotonicMs() + d)) this.clock.advanceSync(d);
    else await this.clock.advance(d);
  }

  /** In a paced run, waits until the wall clock reaches simulated `ms`; stop() cuts the wait short. */
  private async pace(wallStart: number, ms: number): Promise<void> {
    const speed = this.options.speed;
    if (speed === undefined || speed === "max" || this.stopped) return;
    const wait = wallStart + ms / speed - performance.now();
    if (wait <= 1) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, wait);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  private publishTone(): void {
    this.toneSequence++;
    if (this.options.canSendTone && !this.options.canSendTone()) return;
    const speed = this.options.speed;
    this.bus.publish(
      umbra.core.v1.TimeTone,
      { missionTimeNs: this.clock.nowTaiNs(), rate: typeof speed === "number" ? speed : 0, sequence: this.toneSequence },
      // Time is what every other process's timers run on: it goes ahead of telemetry, and of queued commands.
      { priority: Priority.PRIORITY_SAFETY },
    );
    this.tonesSent++;
  }

  /** Lets in-process work settle; a bus that stays busy (a hub link backed up) is logged, never thrown out of the run. */
  private async settle(): Promise<void> {
    try {
      await this.bus.idle();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "bus still busy; the run goes on");
    }
  }

  async run(): Promise<RunReport> {
    const s = this.scenario;
    const steps = Math.floor(s.duration / s.step + 1e-9);
    const stepMs = s.step * 1000;
    const replay = this.options.replay;
    const schedule = replay ? [] : [...s.faults].sort((a, b) => a.at - b.at);
    let nextFault = 0;
    let nextReplay = 0;
    const wallStart = performance.now();
    const exposedBits = s.hardware.memoryBytes * 8;
    const baseMs = this.clock.monotonicMs();
    const toneMs = this.options.toneIntervalMs ?? 1000;
    const paced = typeof this.options.speed === "number";
    // A paced run without tones still moves in at most one-second increments, so in-process timers come evenly too.
    const tickMs = toneMs > 0 ? toneMs : paced ? Math.min(1000, stepMs) : 0;
    let tick = 1;
    for (this.step = 1; this.step <= steps && !this.stopped; this.step++) {
      const endMs = this.step * stepMs;
      if (tickMs > 0) {
        for (; tick * tickMs <= endMs + 1e-6 && !this.stopped; tick++) {
          await this.advanceTo(baseMs, tick * tickMs, !paced && tick * tickMs < endMs - 1e-6);
          if (toneMs > 0) this.publishTone();
          await this.pace(wallStart, tick * tickMs);
        }
        // Stopped between two tones: the step is left undone, so the report ends at the last whole step.
        if (this.stopped) break;
      }
      await this.advanceTo(baseMs, endMs);
      const demand = this.payloadDemandW();
      const env = this.environment.step(s.step, demand, exposedBits);
      this.stationsInView = env.stationsInView;
      this.hardware.expireFaults(env.elapsedS);
      while (nextFault < schedule.length && schedule[nextFault]!.at <= env.elapsedS) this.inject(schedule[nextFault++]!, env);
      while (replay && nextReplay < replay.steps.length && replay.steps[nextReplay]!.elapsedS <= env.elapsedS) this.apply(env, replay.steps[nextReplay++]!.action, "replay");
      this.applyRadiation(env, replay === undefined);
      this.checkCurrentLimiter(env);
      if (this.hardware.checkWatchdog(env.elapsedS)) {
        // The watchdog resets the payload computer; the hardware has disarmed it and counted the expiry, which the restarted supervisor reads.
        this.watchdogResets++;
        this.record(env, "watchdog-reset", "payload computer", `not kicked for ${this.hardware.watchdog.timeoutS} s`, "hardware", this.resetPayload());
      }
      this.publish(env);
      this.account(env);
      // Whatever this step set off in-process (fault requests, handlers) finishes at this instant.
      await this.settle();
      this.options.onProgress?.(env.elapsedS, s.duration);
      await this.pace(wallStart, endMs);
    }
    await this.settle();
    // Requests still waiting time out on the simulated clock, which has stopped: move it past their timeout.
    let settled = false;
    const all = Promise.allSettled(this.pending).then(() => {
      settled = true;
    });
    await this.settle();
    if (!settled) await this.clock.advance(this.options.faultAckTimeoutMs ?? 5000);
    await all;
    this.finished = true;
    for (const pid of [...this.hung.keys()]) this.resume(pid);
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const report = this.report(wallSeconds);
    if (this.ownsBus) this.bus.close();
    return report;
  }

  // ---- inputs from services ----------------------------------------------

  private wireBus(): void {
    const bus = this.bus;
    bus.subscribe(umbra.platform.v1.PowerDraw, (d) => {
      if (Number.isFinite(d.watts) && d.watts >= 0 && d.watts < 1e5) this.powerDraws.set(d.source, { watts: d.watts, step: this.step });
    });
    bus.subscribe(umbra.platform.v1.ComputeActivity, (a) => {
      // Outside input: a report that cannot be a load (NaN, negative, more cores than any payload has, no source) is counted and dropped.
      if (typeof a.source !== "string" || !isValidNodeName(a.source) || !Number.isFinite(a.busyCores) || a.busyCores < 0 || a.busyCores > MAX_BUSY_CORES) {
        this.invalidActivityReports++;
        if (this.invalidActivityReports <= 10) this.log.warn({ source: String(a.source).slice(0, 64), busyCores: a.busyCores }, "invalid ComputeActivity report dropped");
        return;
      }
      this.activity.set(a.source, { busyCores: a.busyCores, step: this.step, wallMs: this.wallClockMs() });
    });
    bus.subscribe(umbra.core.v1.Heartbeat, (hb) => {
      if (!(hb.pid > 0)) return;
      const known = this.processes.get(hb.service);
      if (known && known.pid === hb.pid && known.host === hb.host) return;
      // Read once per new pid: which process this pid is now, so a later signal can check it is still the same one.
      const startTime = hb.host === HOST && hb.pid !== process.pid ? processStartTime(hb.pid) : undefined;
      this.processes.set(hb.service, { pid: hb.pid, node: hb.node, host: hb.host, startTime });
    });
    bus.subscribe(umbra.platform.v1.MemoryRegionInfo, (r) => {
      const known = this.regions.findIndex((x) => x.service === r.service && x.region === r.region);
      if (r.sizeBytes === 0n) {
        // Withdrawn: upsets at its addresses now land in memory nobody watches.
        if (known >= 0) this.regions.splice(known, 1);
        return;
      }
      if (known >= 0) return;
      const sizeBytes = Number(r.sizeBytes);
      if (!(sizeBytes > 0) || sizeBytes > this.scenario.hardware.memoryBytes) return;
      // Regions are laid out one after another in the emulated memory, so an
      // upset at a random address lands in one with probability ∝ its size.
      this.regions.push({ service: r.service, region: r.region, sizeBytes, baseBit: this.nextRegionBit });
      this.nextRegionBit += sizeBytes * 8;
    });
    bus.serve(
      umbra.platform.v1.SetCpuMaxFrequency,
      umbra.platform.v1.CpuFreqPolicy,
      (req) => {
        const r = this.hardware.setMaxKHz(req.policy, req.maxKhz);
        if (!r.ok) throw new Error(r.error);
        return r.state;
      },
      { target: HIL_NODE },
    );
    bus.serve(
      umbra.platform.v1.WatchdogAction,
      umbra.platform.v1.WatchdogState,
      (req) => {
        const w = this.hardware.watchdog;
        const nowS = this.environment.timeS;
        const nowNs = this.clock.nowTaiNs();
        switch (req.action) {
          case umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_ARM:
            if (!(req.timeoutS >= 1 && req.timeoutS <= 86400)) throw new Error(`watchdog timeout ${req.timeoutS} s is not in 1..86400`);
            w.armed = true;
            w.timeoutS = req.timeoutS;
            this.hardware.kickWatchdog(nowS, nowNs);
            break;
          case umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_KICK:
            if (!w.armed) throw new Error("watchdog is not armed");
            this.hardware.kickWatchdog(nowS, nowNs);
            break;
          case umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_DISARM:
            w.armed = false;
            break;
          default:
            throw new Error(`unknown watchdog action ${req.action}`);
        }
        return { armed: w.armed, timeoutS: w.timeoutS, lastKickNs: w.lastKickNs, expirations: w.expirations };
      },
      { target: HIL_NODE },
    );
    // The space-to-ground radio: the TTC's downlink asks it to send packets; they
    // reach the ground only while a station is in view, and the link confirms them.
    bus.serve(
      umbra.ttc.v1.TransmitPackets,
      umbra.ttc.v1.TransmitResult,
      (req) => {
        if (this.stationsInView.length === 0) return { confirmed: false, detail: "no ground station in view" };
        this.downlinkedPackets += req.packets.length;
        this.downlinkedBytes += req.packets.reduce((a, p) => a + p.length, 0);
        return { confirmed: true, detail: `received at ${this.stationsInView.join(", ")}` };
      },
      { target: "downlink" },
    );
    bus.serve(
      umbra.hil.v1.PowerCycle,
      umbra.hil.v1.PowerCycleResult,
      (req) => {
        const wasLatched = this.environment.power.latchedUp;
        this.environment.power.powerCycle();
        this.recordAt(this.environment.timeS, "power-cycle", "payload rail", req.reason || "requested", "hardware", wasLatched ? "latch-up cleared" : "no latch-up present");
        return { wasLatched };
      },
      { target: HIL_NODE },
    );
    bus.serve(
      umbra.hil.v1.InjectFault,
      umbra.hil.v1.FaultAck,
      (req) => {
        const injectionId = req.injectionId;
        const parsed = parseInjectFault({ kind: req.kind, service: req.service, durationS: req.durationS });
        if ("error" in parsed) {
          this.log.warn({ kind: req.kind.slice(0, 64), service: req.service.slice(0, 64), error: parsed.error }, "InjectFault refused");
          return { injectionId, applied: false, error: parsed.error };
        }
        if (this.finished) return { injectionId, applied: false, error: "the run has ended" };
        const e = this.apply({ elapsedS: this.environment.timeS }, parsed.action, "request");
        const applied = e?.outcome.startsWith("applied") ?? false;
        return { injectionId, applied, error: applied ? "" : (e?.outcome ?? "not applied") };
      },
      { target: HIL_NODE },
    );
  }

  /**
   * The payload's draw this step: what services report with PowerDraw when
   * any report is fresh; otherwise idle plus the dynamic part scaled by how
   * busy the fresh ComputeActivity reports say the CPUs are; with neither,
   * the scenario's duty cycle stands in for the software's load.
   */
  private payloadDemandW(): number {
    const p = this.scenario.power.payload;
    let reported = 0;
    let any = false;
    for (const [source, d] of this.powerDraws) {
      if (this.step - d.step > POWER_DRAW_TTL_STEPS) this.powerDraws.delete(source);
      else {
        reported += d.watts;
        any = true;
      }
    }
    if (any) return reported;
    const wallMs = this.wallClockMs();
    let busyCores = 0;
    let active = false;
    for (const [source, a] of this.activity) {
      // Fresh while either holds: the step count (fast-time, in-process services) or the wall time (services on the wall clock).
      if (this.step - a.step > POWER_DRAW_TTL_STEPS && wallMs - a.wallMs > ACTIVITY_TTL_WALL_MS) this.activity.delete(source);
      else {
        busyCores += a.busyCores;
        active = true;
      }
    }
    const utilisation = active ? Math.min(1, busyCores / this.cpuCount) : p.dutyCycle;
    const dynamic = (p.busyW - p.idleW) * utilisation * this.hardware.frequencyRatio() ** DYNAMIC_POWER_EXPONENT;
    return p.idleW + Math.max(0, dynamic);
  }

  // ---- faults -------------------------------------------------------------

  private entry(tS: number, kind: string, target: string, detail: string, cause: FaultEntry["cause"], outcome: string): FaultEntry {
    return { elapsedS: tS, missionTime: formatTai(utcMsToTaiNs(this.scenario.epoch + tS * 1000)), kind, target, detail, cause, outcome };
  }

  private record(env: { elapsedS: number }, kind: string, target: string, detail: string, cause: FaultEntry["cause"], outcome: string, action?: FaultAction): FaultEntry {
    return this.recordAt(env.elapsedS, kind, target, detail, cause, outcome, action);
  }

  private recordAt(elapsedS: number, kind: string, target: string, detail: string, cause: FaultEntry["cause"], outcome: string, action?: FaultAction): FaultEntry {
    const e = this.entry(elapsedS, kind, target, detail, cause, outcome);
    if (action) e.action = action;
    this.faults.push(e);
    this.log.info({ kind, target, detail, cause }, "fault injected");
    // Live, for whoever watches the bench (the report gets the final outcome).
    this.bus.publish(
      umbra.hil.v1.FaultRecord,
      { missionTimeNs: utcMsToTaiNs(this.scenario.epoch + elapsedS * 1000), elapsedS, kind, target, detail, cause },
      { priority: Priority.PRIORITY_COMMAND },
    );
    return e;
  }

  /** Turns a scheduled fault into the exact action to apply (random choices drawn here). */
  private inject(f: FaultSpec, env: EnvironmentStep): void {
    switch (f.kind) {
      case "bit-flip":
      case "multi-bit-flip": {
        const region = this.regions.find((r) => r.service === f.service && r.region === f.region);
        const count = f.kind === "bit-flip" ? f.bits : f.adjacent;
        if (!region) {
          this.record(env, f.kind, `${f.service}/${f.region}`, `${count} bit(s)`, "schedule", "not delivered: region not registered");
          return;
        }
        const bits = region.sizeBytes * 8;
        const offsets: number[] = [];
        if (f.kind === "multi-bit-flip") {
          const start = this.faultRng.int(Math.max(1, bits - count + 1));
          for (let i = 0; i < count && start + i < bits; i++) offsets.push(start + i);
        } else {
          const chosen = new Set<number>();
          while (chosen.size < Math.min(count, bits)) chosen.add(this.faultRng.int(bits));
          offsets.push(...[...chosen].sort((a, b) => a - b));
        }
        this.apply(env, { kind: "flip", name: f.kind, service: f.service, region: f.region, bitOffsets: offsets }, "schedule");
        return;
      }
      case "replica-output": {
        const offsets = Array.from({ length: f.bits }, () => this.faultRng.int(32 * 8));
        this.apply(env, { kind: "replica-output", service: f.service, replica: f.replica, bitOffsets: offsets }, "schedule");
        return;
      }
      case "sensor-stuck":
      case "sensor-spike":
      case "sensor-nan": {
        const mode = f.kind === "sensor-stuck" ? "stuck" : f.kind === "sensor-spike" ? "spike" : "nan";
        const value = "value" in f ? f.value : undefined;
        this.apply(env, { kind: "sensor", sensor: f.sensor, mode, durationS: f.duration, ...(value === undefined ? {} : { value }) }, "schedule");
        return;
      }
      case "hang":
        this.apply(env, { kind: "signal", service: f.service, signal: "hang", durationS: f.duration }, "schedule");
        return;
      case "kill":
        this.apply(env, { kind: "signal", service: f.service, signal: "kill", durationS: 0 }, "schedule");
        return;
      case "latch-up":
        this.apply(env, { kind: "latch-up", stepW: f.currentStepW ?? this.scenario.radiation.latchupCurrentStepW }, "schedule");
        return;
      case "reset-payload":
        this.apply(env, { kind: "reset-payload" }, "schedule");
        return;
    }
  }

  /** Applies one exact fault and logs it with the action, so a replay can apply it again. Returns its log entry. */
  private apply(env: { elapsedS: number }, action: FaultAction, cause: FaultEntry["cause"]): FaultEntry {
    switch (action.kind) {
      case "flip": {
        const target = `${action.service}/${action.region}`;
        const detail = `bits ${action.bitOffsets.join(",")}`;
        if (!this.regions.some((r) => r.service === action.service && r.region === action.region)) {
          return this.record(env, action.name, target, detail, cause, "not delivered: region not registered", action);
        }
        const e = this.record(env, action.name, target, detail, cause, "pending", action);
        this.track(
          e,
          this.bus.request(
            umbra.platform.v1.FlipBits,
            { service: action.service, region: action.region, bitOffsets: action.bitOffsets.map(BigInt), injectionId: `fault-${this.faults.length}` },
            umbra.platform.v1.FlipBitsResult,
            { target: action.service, timeoutMs: this.options.faultAckTimeoutMs ?? 5000 },
          ),
          (r) => (r.applied ? "applied" : `rejected: ${r.error}`),
        );
        return e;
      }
      case "replica-output": {
        const e = this.record(env, "replica-output", `${action.service}#${action.replica}`, `bits ${action.bitOffsets.join(",")}`, cause, "pending", action);
        this.track(
          e,
          this.bus.request(
            umbra.hil.v1.CorruptReplicaOutput,
            { service: action.service, replica: action.replica, bitOffsets: action.bitOffsets.map(BigInt), injectionId: `fault-${this.faults.length}` },
            umbra.hil.v1.FaultAck,
            { target: action.service, timeoutMs: this.options.faultAckTimeoutMs ?? 5000 },
          ),
          (ack) => (ack.applied ? "applied" : `rejected: ${ack.error}`),
        );
        return e;
      }
      case "sensor":
        this.hardware.addSensorFault({ sensor: action.sensor, kind: action.mode, value: action.value, untilS: env.elapsedS + action.durationS });
        return this.record(env, `sensor-${action.mode}`, action.sensor, `${action.value === undefined ? "" : `value ${action.value}, `}for ${action.durationS} s`, cause, "applied", action);
      case "signal":
        return this.signal(env, action, cause);
      case "latch-up":
        this.environment.power.latchUp(action.stepW);
        this.latchups++;
        return this.record(env, "latch-up", "payload rail", `+${action.stepW} W until power cycle`, cause, "applied", action);
      case "reset-payload":
        return this.record(env, "reset-payload", "payload computer", "power cycle of the payload computer", cause, this.resetPayload(), action);
    }
  }

  /**
   * The board resets the payload computer: SIGKILL to the process group of
   * the payload's supervisor (the service "supervisor" heartbeating with a
   * pid on this host), or to its pid alone when it leads no group. Whoever
   * launched it powers it on again. A reset clears the watchdog, so it is
   * disarmed; its expiry count stays, for the new boot to read. Returns the
   * outcome for the fault log.
   */
  private resetPayload(): string {
    const proc = this.processes.get(PAYLOAD_SUPERVISOR);
    if (!proc) return `not delivered: no heartbeat with a pid from the ${PAYLOAD_SUPERVISOR}`;
    const refused = this.refuseSignal(proc);
    if (refused) return refused;
    let outcome: string;
    try {
      if (ownProcessGroup() === proc.pid) {
        // The HIL would kill itself with the group: the board outlives the payload, so only the supervisor goes.
        process.kill(proc.pid, "SIGKILL");
        outcome = `applied: SIGKILL to ${PAYLOAD_SUPERVISOR} pid ${proc.pid} only (the HIL is in its process group)`;
      } else {
        try {
          process.kill(-proc.pid, "SIGKILL");
          outcome = `applied: SIGKILL to process group ${proc.pid} (${PAYLOAD_SUPERVISOR})`;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ESRCH" && code !== "EPERM") throw err;
          process.kill(proc.pid, "SIGKILL");
          outcome = `applied: SIGKILL to ${PAYLOAD_SUPERVISOR} pid ${proc.pid} (no process group ${proc.pid}: ${code})`;
        }
      }
    } catch (err) {
      return `failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
    this.payloadResets++;
    this.hardware.watchdog.armed = false;
    // Every local pid may have died with the group; they are learnt again from the new heartbeats.
    for (const [service, p] of this.processes) if (p.host === HOST) this.processes.delete(service);
    return outcome;
  }

  /** Why a heartbeat's pid must not be signalled from here, or undefined when it may. */
  private refuseSignal(proc: ProcessInfo): string | undefined {
    if (proc.pid === process.pid) return "not delivered: the service runs inside the HIL process";
    if (proc.host !== HOST) {
      // A pid from a board over TCP names a process there, not here: never signal it.
      return `not delivered: the service runs on ${proc.host ? `host ${proc.host}` : "an unknown host"}, not on this bench (${HOST})`;
    }
    if (proc.startTime !== undefined && processStartTime(proc.pid) !== proc.startTime) return `not delivered: pid ${proc.pid} has exited since its last heartbeat`;
    return undefined;
  }

  private track<T>(entry: FaultEntry, request: Promise<T>, outcome: (reply: T) => string): void {
    this.pending.push(
      request.then(
        (reply) => {
          entry.outcome = outcome(reply);
        },
        (err: Error) => {
          entry.outcome = `not delivered: ${err.message}`;
        },
      ),
    );
  }

  private signal(env: { elapsedS: number }, action: Extract<FaultAction, { kind: "signal" }>, cause: FaultEntry["cause"]): FaultEntry {
    const { service, signal: kind, durationS } = action;
    const proc = this.processes.get(service);
    const detail = kind === "hang" ? `SIGSTOP for ${durationS} s` : "SIGKILL";
    if (!proc) return this.record(env, kind, service, detail, cause, "not delivered: no heartbeat with a pid from this service", action);
    const refused = this.refuseSignal(proc);
    if (refused) return this.record(env, kind, service, detail, cause, refused, action);
    try {
      process.kill(proc.pid, kind === "hang" ? "SIGSTOP" : "SIGKILL");
    } catch (err) {
      return this.record(env, kind, `${service} (pid ${proc.pid})`, detail, cause, `failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, action);
    }
    const e = this.record(env, kind, `${service} (pid ${proc.pid})`, detail, cause, "applied", action);
    if (kind === "hang") {
      // A second hang of a process already stopped replaces the first: only the newest one's timer resumes it.
      this.hung.set(proc.pid, { service, startTime: proc.startTime, entry: e });
      this.clock.setTimeout(() => {
        if (this.hung.get(proc.pid)?.entry === e) this.resume(proc.pid);
      }, durationS * 1000);
    } else {
      this.processes.delete(service);
    }
    return e;
  }

  /** EDAC always counts; the effects on software (flips, SEFIs, latch-ups) are applied unless a replay supplies them. */
  private applyRadiation(env: EnvironmentStep, applyEffects: boolean): void {
    const r = env.radiation;
    const ecc = this.scenario.hardware.ecc;
    for (const u of r.upsets) {
      if (ecc) this.hardware.recordUpset(u.bits);
      if (!applyEffects) continue;
      // With ECC a single-bit upset is corrected by the memory controller before software sees it.
      if (ecc && u.bits <= 1) continue;
      const region = this.regions.find((x) => u.bitOffset >= x.baseBit && u.bitOffset < x.baseBit + x.sizeBytes * 8);
      if (!region) continue;
      const first = u.bitOffset - region.baseBit;
      const offsets = Array.from({ length: u.bits }, (_, i) => first + i).filter((b) => b < region.sizeBytes * 8);
      this.apply(env, { kind: "flip", name: u.bits > 1 ? "multi-bit-flip" : "bit-flip", service: region.service, region: region.region, bitOffsets: offsets }, "radiation");
    }
    if (!applyEffects) return;
    for (const kind of r.sefis) {
      this.sefis++;
      const candidates = [...this.processes.keys()].filter((name) => name !== HIL_NODE).sort();
      if (candidates.length === 0) {
        this.record(env, `sefi-${kind}`, "payload software", "functional interrupt", "radiation", "not delivered: no service processes known");
        continue;
      }
      const target = candidates[this.faultRng.int(candidates.length)]!;
      this.apply(env, { kind: "signal", service: target, signal: kind === "hang" ? "hang" : "kill", durationS: SEFI_HANG_S }, "radiation");
    }
    for (let i = 0; i < r.latchups; i++) this.apply(env, { kind: "latch-up", stepW: this.scenario.radiation.latchupCurrentStepW }, "radiation");
  }

  private latchedSinceS: number | undefined;

  // The emulated LCL: a rail latched up for longer than the trip delay is cut
  // and restored, which clears the latch-up.
  private checkCurrentLimiter(env: EnvironmentStep): void {
    const lcl = this.scenario.hardware.latchingCurrentLimiter;
    const power = this.environment.power;
    if (!power.latchedUp) {
      this.latchedSinceS = undefined;
      return;
    }
    this.latchedSinceS ??= env.elapsedS;
    if (!lcl.enabled || env.elapsedS - this.latchedSinceS < lcl.tripDelay) return;
    const stepW = power.latchUpW;
    power.powerCycle();
    this.latchedSinceS = undefined;
    this.record(env, "lcl-trip", "payload rail", `over-current of ${stepW} W cut after ${lcl.tripDelay} s`, "hardware", "rail power-cycled, latch-up cleared");
  }

  // ---- outputs ------------------------------------------------------------

  private publish(env: EnvironmentStep): void {
    const ns = this.clock.nowTaiNs();
    const totals = this.environment.radiation.totals();
    this.bus.publish(
      umbra.hil.v1.EnvironmentSample,
      {
        missionTimeNs: ns,
        elapsedS: env.elapsedS,
        orbit: {
          latitudeDeg: env.orbit.latitudeDeg,
          longitudeDeg: env.orbit.longitudeDeg,
          altitudeKm: env.orbit.altitudeKm,
          sunlit: env.sunFraction > 0.5,
          sunFraction: env.sunFraction,
          betaDeg: env.betaDeg,
          inSaa: env.inSaa,
          stationsInView: env.stationsInView,
          secondsToShadowChange: env.secondsToShadowChange,
        },
        power: {
          arrayPowerW: env.power.arrayW,
          loadPowerW: env.power.loadW,
          batterySocPct: env.power.socPct,
          batteryEnergyWh: env.power.energyWh,
          busVoltageV: env.power.busVoltageV,
          latchedUp: env.power.latchedUp,
          shedPowerW: env.power.shedW,
        },
        thermal: { dieC: env.temperaturesC.die, boardC: env.temperaturesC.board, radiatorC: env.temperaturesC.radiator },
        radiation: {
          upsetRatePerBitDay: this.environment.radiation.rate({ inSaa: env.inSaa, spe: env.spe }),
          upsetsTotal: BigInt(totals.upsetEvents),
          multiBitUpsetsTotal: BigInt(totals.multiBitUpsets),
          doseKrad: totals.doseKrad,
          solarParticleEvent: env.spe,
        },
      },
      { priority: Priority.PRIORITY_TELEMETRY },
    );
    const noise = this.scenario.thermal.sensorNoiseC;
    const rng = this.environment.sensorRng;
    const t = env.temperaturesC;
    this.bus.publish(
      umbra.platform.v1.HardwareState,
      this.hardware.state(ns, {
        temperaturesC: { die: t.die + rng.normal(0, noise), board: t.board + rng.normal(0, noise), radiator: t.radiator + rng.normal(0, noise) },
        busVoltageV: env.power.busVoltageV,
        busCurrentA: env.power.busCurrentA,
        inputPowerW: env.power.arrayW,
        batterySocPct: env.power.socPct,
        illumination: env.illumination,
      }),
      { priority: Priority.PRIORITY_TELEMETRY },
    );
  }

  private account(env: EnvironmentStep): void {
    const p = env.power;
    this.energyInWh += p.chargedWh;
    this.energyOutWh += p.dischargedWh;
    this.suppliedWh += (p.suppliedW * this.scenario.step) / 3600;
    this.shedWh += (p.shedW * this.scenario.step) / 3600;
    this.minSoc = Math.min(this.minSoc, p.socPct);
    this.maxDie = Math.max(this.maxDie, env.temperaturesC.die);
    const totals = this.environment.radiation.totals();
    const values: Record<SeriesName, number> = {
      socPct: p.socPct,
      arrayPowerW: p.arrayW,
      loadPowerW: p.loadW,
      payloadPowerW: env.payloadDemandW,
      shedPowerW: p.shedW,
      busVoltageV: p.busVoltageV,
      dieC: env.temperaturesC.die,
      boardC: env.temperaturesC.board,
      radiatorC: env.temperaturesC.radiator,
      sunFraction: env.sunFraction,
      betaDeg: env.betaDeg,
      latitudeDeg: env.orbit.latitudeDeg,
      longitudeDeg: env.orbit.longitudeDeg,
      altitudeKm: env.orbit.altitudeKm,
      inSaa: env.inSaa ? 1 : 0,
      upsetsTotal: totals.upsetEvents,
      multiBitUpsetsTotal: totals.multiBitUpsets,
      doseKrad: totals.doseKrad,
      cpuFrequencyRatio: this.hardware.frequencyRatio(),
    };
    this.recorder.push(env.elapsedS, values);
  }

  private report(wallSeconds: number): RunReport {
    const s = this.scenario;
    const end = this.recorder.timeS.at(-1) ?? 0;
    const clip = (w: Window[]) => w.filter((x) => x.startS < end && x.endS > 0).map((x) => ({ startS: Math.max(0, x.startS), endS: Math.min(end, x.endS) }));
    const saa: Window[] = [];
    const inSaa = this.recorder.series.inSaa;
    for (let i = 0; i < inSaa.length; i++) {
      if (inSaa[i] && !inSaa[i - 1]) saa.push({ startS: this.recorder.timeS[i]! - s.step, endS: this.recorder.timeS[i]! });
      if (inSaa[i]) saa.at(-1)!.endS = this.recorder.timeS[i]!;
    }
    const eclipses = clip(this.environment.eclipses);
    const fullEclipses = eclipses.filter((w) => w.startS > 0 && w.endS < end);
    const contacts = this.environment.contacts.filter((c) => c.startS < end);
    const series = this.recorder.series;
    for (const name of SERIES_NAMES) if (series[name].length !== this.recorder.timeS.length) throw new Error(`series ${name} is out of step`);
    return {
      format: "umbra-hil-report/1",
      scenario: {
        name: s.name,
        description: s.description,
        seed: s.seed,
        epoch: new Date(s.epoch).toISOString(),
        durationS: s.duration,
        stepS: s.step,
        ...(this.options.scenarioFile ? { file: this.options.scenarioFile } : {}),
      },
      timeS: this.recorder.timeS,
      series,
      windows: {
        eclipse: eclipses,
        contacts,
        saa,
        solarParticleEvents: s.radiation.solarParticleEvents.map((e) => ({ startS: e.start, endS: Math.min(end, e.start + e.duration) })),
      },
      faults: this.faults,
      summary: {
        orbitPeriodMin: +(this.environment.propagator.periodS / 60).toFixed(2),
        orbits: +(end / this.environment.propagator.periodS).toFixed(2),
        eclipses: fullEclipses.length,
        meanEclipseMin: fullEclipses.length ? +(fullEclipses.reduce((a, w) => a + w.endS - w.startS, 0) / fullEclipses.length / 60).toFixed(2) : 0,
        longestEclipseMin: +(Math.max(0, ...eclipses.map((w) => w.endS - w.startS)) / 60).toFixed(2),
        minSocPct: +this.minSoc.toFixed(2),
        finalSocPct: +(series.socPct.at(-1) ?? 0).toFixed(2),
        energyInWh: +this.energyInWh.toFixed(1),
        energyOutWh: +this.energyOutWh.toFixed(1),
        loadSuppliedWh: +this.suppliedWh.toFixed(1),
        shedWh: +this.shedWh.toFixed(2),
        maxDieC: +this.maxDie.toFixed(2),
        maxBoardC: +Math.max(...series.boardC).toFixed(2),
        minRadiatorC: +Math.min(...series.radiatorC).toFixed(2),
        saaPasses: saa.length,
        contacts: contacts.length,
        contactMinutes: +(contacts.reduce((a, c) => a + (c.endS - c.startS), 0) / 60).toFixed(1),
        upsets: this.environment.radiation.totals().upsetEvents,
        multiBitUpsets: this.environment.radiation.totals().multiBitUpsets,
        sefis: this.sefis,
        latchups: this.latchups,
        watchdogResets: this.watchdogResets,
        payloadResets: this.payloadResets,
        timeTones: this.tonesSent,
        doseKrad: +(series.doseKrad.at(-1) ?? 0).toFixed(4),
        faultsRecorded: this.faults.length,
        downlinkedPackets: this.downlinkedPackets,
        downlinkedBytes: this.downlinkedBytes,
        invalidActivityReports: this.invalidActivityReports,
      },
      run: { wallSeconds, simulatedToWallRatio: end / Math.max(wallSeconds, 1e-6), node: process.version },
    };
  }
}
