// Keeps each service's process running: starts them, watches heartbeats and
// exits, restarts a crashed or hung one after its backoff, and leaves one
// that keeps failing down (the caller then enters safe mode). Processes are
// started through a launcher and time is read from a Clock, so this logic is
// tested with fake processes and a SimClock; the Node launcher is beside it.
//
// Health is judged in wall time (the clock given here): a hung process stops
// in wall time, whatever the mission clock does.
import type { Clock, TimerHandle } from "@umbra/core";
import { FailureHistory, type RestartPolicy } from "./restart-policy.js";

export type ProcessStateName = "stopped" | "starting" | "running" | "backoff" | "failed" | "stopping";

export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

/** A started process as the table sees it. */
export interface LaunchedProcess {
  readonly pid: number;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
  readonly exited: Promise<ProcessExit>;
}

export interface ProcessLauncher {
  /** Starts one service's process; throws if it cannot be started at all. */
  launch(service: string): LaunchedProcess;
}

export interface SupervisedService {
  name: string;
  heartbeatTimeoutS: number;
  startTimeoutS: number;
  stopTimeoutS: number;
  restart: RestartPolicy;
}

export interface ServiceSnapshot {
  name: string;
  state: ProcessStateName;
  pid: number;
  restarts: number;
  recentFailures: number;
  lastFailure: string;
  /** Wall ms (this table's clock) of the next start while in backoff. */
  nextStartMs: number;
  /** Wall ms of the newest heartbeat, 0 = none. */
  lastHeartbeatMs: number;
}

/** What the table tells its owner. */
export interface ProcessTableEvents {
  started?(service: string, pid: number, restart: boolean): void;
  /** First heartbeat of a process. */
  running?(service: string, pid: number): void;
  /** A crash, a hang or a failed start; `delayMs` until the next start. */
  failed?(service: string, reason: string, delayMs: number, recentFailures: number): void;
  /** Too many failures: left down. */
  gaveUp?(service: string, reason: string, recentFailures: number): void;
  /** Something to log that is not a state change (e.g. a process that could not be spawned). */
  warn?(service: string, message: string): void;
}

interface Slot {
  spec: SupervisedService;
  state: ProcessStateName;
  proc: LaunchedProcess | undefined;
  startedAtMs: number;
  lastHeartbeatMs: number;
  restarts: number;
  history: FailureHistory;
  lastFailure: string;
  nextStartMs: number;
  timer: TimerHandle | undefined;
  /** Resolves when the current process has exited (or at once without one). */
  gone: Promise<void>;
  /** Set once this process has started at least once this boot. */
  everStarted: boolean;
}

export class ProcessTable {
  private readonly slots = new Map<string, Slot>();
  private monitor: TimerHandle | undefined;
  private closed = false;

  constructor(
    services: readonly SupervisedService[],
    private readonly launcher: ProcessLauncher,
    private readonly clock: Clock,
    private readonly events: ProcessTableEvents = {},
    /** How often heartbeats and start timeouts are checked (wall ms). */
    checkIntervalMs = 250,
  ) {
    for (const spec of services) {
      this.slots.set(spec.name, {
        spec,
        state: "stopped",
        proc: undefined,
        startedAtMs: 0,
        lastHeartbeatMs: 0,
        restarts: 0,
        history: new FailureHistory(spec.restart),
        lastFailure: "",
        nextStartMs: 0,
        timer: undefined,
        gone: Promise.resolve(),
        everStarted: false,
      });
    }
    this.monitor = clock.setInterval(() => this.check(), checkIntervalMs);
  }

  /** Now on this table's (wall) clock, ms. */
  wallNow(): number {
    return this.clock.monotonicMs();
  }

  names(): string[] {
    return [...this.slots.keys()];
  }

  state(service: string): ProcessStateName {
    return this.slot(service).state;
  }

  snapshot(): ServiceSnapshot[] {
    const now = this.clock.monotonicMs();
    return [...this.slots.values()].map((s) => ({
      name: s.spec.name,
      state: s.state,
      pid: s.proc && (s.state === "starting" || s.state === "running" || s.state === "stopping") ? s.proc.pid : 0,
      restarts: s.restarts,
      recentFailures: s.history.recent(now),
      lastFailure: s.lastFailure,
      nextStartMs: s.state === "backoff" ? s.nextStartMs : 0,
      lastHeartbeatMs: s.lastHeartbeatMs,
    }));
  }

  /** Starts a stopped or failed service now (a failed one with its failures forgotten). No-op when it runs or is starting. */
  start(service: string): void {
    const s = this.slot(service);
    if (this.closed) return;
    if (s.state === "running" || s.state === "starting" || s.state === "stopping") return;
    if (s.state === "failed") s.history.clear();
    s.timer?.cancel();
    s.timer = undefined;
    if (s.proc) {
      // A written-off (hung, SIGKILLed) process that has not exited yet: its
      // successor must not start beside it (same databases, same ports). Wait
      // for the exit as a backoff with no delay; stop() still cancels it.
      s.state = "backoff";
      s.nextStartMs = this.clock.monotonicMs();
      void s.gone.then(() => {
        if (!this.closed && s.state === "backoff") this.spawn(s);
      });
      return;
    }
    this.spawn(s);
  }

  /** Resolves when the service has its first heartbeat, or rejects after `timeoutMs` (wall). */
  async waitRunning(service: string, timeoutMs: number): Promise<void> {
    const s = this.slot(service);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    while (s.state !== "running") {
      if (this.clock.monotonicMs() >= deadline) throw new Error(`${service} did not report within ${timeoutMs} ms (state ${s.state})`);
      if (s.state === "failed" || s.state === "stopped") throw new Error(`${service} is ${s.state}${s.lastFailure ? `: ${s.lastFailure}` : ""}`);
      await new Promise<void>((r) => this.clock.setTimeout(r, 50));
    }
  }

  /** Stops a service on purpose (safe mode, shutdown, or before a commanded restart): SIGTERM, then SIGKILL after its stop timeout. */
  async stop(service: string): Promise<void> {
    const s = this.slot(service);
    s.timer?.cancel();
    s.timer = undefined;
    if (s.state === "backoff") s.state = "stopped";
    if (s.state === "stopped" || s.state === "failed" || !s.proc) {
      if (s.state !== "failed") s.state = "stopped";
      await s.gone; // a written-off process may still be on its way out
      return;
    }
    if (s.state !== "stopping") {
      s.state = "stopping";
      const proc = s.proc;
      proc.kill("SIGTERM");
      const killer = this.clock.setTimeout(() => {
        this.events.warn?.(service, `did not stop within ${s.spec.stopTimeoutS} s of SIGTERM; killed`);
        proc.kill("SIGKILL");
      }, s.spec.stopTimeoutS * 1000);
      void s.gone.then(() => killer.cancel());
    }
    await s.gone;
  }

  /** Stops then starts a service now, forgetting its failures (a command). */
  async restart(service: string): Promise<void> {
    await this.stop(service);
    const s = this.slot(service);
    s.history.clear();
    this.spawn(s);
  }

  /** A heartbeat from `service` with this pid. A pid that is not the current process's (a late one from a killed process) is ignored. */
  heartbeat(service: string, pid: number): void {
    const s = this.slots.get(service);
    if (!s || !s.proc || s.proc.pid !== pid) return;
    s.lastHeartbeatMs = this.clock.monotonicMs();
    if (s.state === "starting") {
      s.state = "running";
      this.events.running?.(service, pid);
    }
  }

  /** Stops every service in the reverse of `order` (each waits for the one stopped before it). */
  async stopAll(order: readonly string[]): Promise<void> {
    for (const name of [...order].reverse()) if (this.slots.has(name)) await this.stop(name);
  }

  close(): void {
    this.closed = true;
    this.monitor?.cancel();
    for (const s of this.slots.values()) s.timer?.cancel();
  }

  private slot(service: string): Slot {
    const s = this.slots.get(service);
    if (!s) throw new Error(`no such service: ${service}`);
    return s;
  }

  private spawn(s: Slot): void {
    const now = this.clock.monotonicMs();
    let proc: LaunchedProcess;
    try {
      proc = this.launcher.launch(s.spec.name);
    } catch (err) {
      this.events.warn?.(s.spec.name, `could not be started: ${err instanceof Error ? err.message : String(err)}`);
      s.proc = undefined;
      s.state = "starting"; // so fail() treats it like a start that never reported
      this.fail(s, `could not be started: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const restart = s.everStarted;
    if (restart) s.restarts++;
    s.everStarted = true;
    s.proc = proc;
    s.state = "starting";
    s.startedAtMs = now;
    s.lastHeartbeatMs = 0;
    s.gone = proc.exited.then(
      (exit) => this.onExit(s, proc, exit),
      () => this.onExit(s, proc, { code: null, signal: null }),
    );
    this.events.started?.(s.spec.name, proc.pid, restart);
  }

  private onExit(s: Slot, proc: LaunchedProcess, exit: ProcessExit): void {
    if (s.proc !== proc) return; // an old process, already written off
    s.proc = undefined;
    if (s.state === "stopping") {
      s.state = "stopped";
      return;
    }
    if (s.state === "backoff" || s.state === "failed" || s.state === "stopped") return;
    this.fail(s, exit.signal ? `exited on ${exit.signal}` : `exited with code ${exit.code}`);
  }

  private check(): void {
    const now = this.clock.monotonicMs();
    for (const s of this.slots.values()) {
      if (s.state === "starting" && s.proc && now - s.startedAtMs > s.spec.startTimeoutS * 1000) {
        this.writeOff(s, `no heartbeat within ${s.spec.startTimeoutS} s of start`);
      } else if (s.state === "running" && s.proc && now - s.lastHeartbeatMs > s.spec.heartbeatTimeoutS * 1000) {
        this.writeOff(s, `hung: no heartbeat for ${((now - s.lastHeartbeatMs) / 1000).toFixed(1)} s`);
      }
    }
  }

  /** A live process that stopped answering: SIGKILL (a hung process cannot act on SIGTERM) and count the failure. */
  private writeOff(s: Slot, reason: string): void {
    const proc = s.proc;
    this.fail(s, reason);
    proc?.kill("SIGKILL");
  }

  private fail(s: Slot, reason: string): void {
    const now = this.clock.monotonicMs();
    s.lastFailure = reason;
    const decision = s.history.fail(now);
    if (decision.action === "give-up") {
      s.state = "failed";
      this.events.gaveUp?.(s.spec.name, reason, decision.recentFailures);
      return;
    }
    s.state = "backoff";
    s.nextStartMs = now + decision.delayMs;
    this.events.failed?.(s.spec.name, reason, decision.delayMs, decision.recentFailures);
    s.timer?.cancel();
    s.timer = this.clock.setTimeout(() => {
      s.timer = undefined;
      if (this.closed || s.state !== "backoff") return;
      // The old process must be gone before its successor binds the same resources (databases, ports).
      void s.gone.then(() => {
        if (!this.closed && s.state === "backoff") this.spawn(s);
      });
    }, decision.delayMs);
  }
}
