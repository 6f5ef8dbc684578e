// The supervisor as a service on the bus: it owns the payload's mode, keeps
// the service processes running (ProcessTable), kicks the hardware watchdog
// only while the system is healthy, watches for power and thermal
// emergencies, persists parameter changes, and reports all of it as
// telemetry, events and SupervisorStatus. Operators command it through the
// TTC like any other service.
import { hostname } from "node:os";
import { CommandRejected, Priority, Service, command, defineService, fromValueMessage, type CommandHandlers, type ServiceContext, type TimerHandle } from "@umbra/core";
import type { PowerPort, WatchdogPort } from "@umbra/platform";
import { umbra, type MessageOf } from "@umbra/proto";
import type { BootInfo, BootRecord, ParameterScalar, ResetReasonName } from "./boot-record.js";
import { enterSafe, keptServicesHealthy, leaveSafe, runsIn, type ModeState } from "./mode.js";
import type { ProcessStateName, ProcessTable } from "./process-table.js";

export const SUPERVISOR_APID = 0x020;

const { PayloadMode, ResetReason, ProcessState } = umbra.supervisor.v1;

export const supervisorSpec = defineService({
  name: "supervisor",
  apid: SUPERVISOR_APID,
  description: "Supervisor: runs every service in its own process, restarts crashed or hung ones, safe mode, hardware watchdog, boot record",
  commands: {
    enterSafeMode: command(umbra.supervisor.v1.EnterSafeMode, { description: "Enter safe mode: only the supervisor, TTC, thermal governor and ground link run; jobs stop" }),
    leaveSafeMode: command(umbra.supervisor.v1.LeaveSafeMode, {
      description: "Leave safe mode: every enabled service starts again, failed ones with their failures forgotten",
      critical: true,
    }),
    restartService: command(umbra.supervisor.v1.RestartService, { description: "Restart one service now (a failed one gets a fresh start)" }),
    resetPayload: command(umbra.supervisor.v1.ResetPayload, { description: "Stop every service cleanly and reset the payload computer (next boot reports reset reason command)", critical: true }),
  },
  telemetry: {
    mode: { type: "int", description: "1 nominal, 2 safe (umbra.supervisor.v1.PayloadMode)", warning: { high: 1.5 } },
    bootCount: { type: "int", description: "Boots of this payload since its data was created" },
    resetReason: { type: "int", description: "Why this boot happened: 1 power-on, 2 watchdog, 3 command, 4 crash (umbra.supervisor.v1.ResetReason)" },
    unstableBoots: { type: "int", description: "Boots in a row before this one that reset before they became stable", warning: { high: 0.5 } },
    servicesRunning: { type: "int", description: "Service processes with heartbeats" },
    servicesDown: { type: "int", description: "Services that should run and do not (starting, in backoff or failed)", warning: { high: 0.5 } },
    servicesFailed: { type: "int", description: "Services left down after too many failures", critical: { high: 0.5 } },
    restartsTotal: { type: "int", description: "Service restarts since this boot" },
    watchdogArmed: { type: "bool", description: "The hardware watchdog is armed and kicked" },
    healthy: { type: "bool", description: "Every service safe mode keeps is up: the watchdog is being kicked" },
  },
  events: {
    boot: { id: 1, severity: "info", description: "The payload booted; says the boot number and the reset reason" },
    safeModeEntered: { id: 2, severity: "high", description: "Safe mode entered; says why" },
    safeModeLeft: { id: 3, severity: "medium", description: "Safe mode left by command" },
    serviceCrashed: { id: 4, severity: "medium", description: "A service process exited on its own; it is restarted after its backoff" },
    serviceHung: { id: 5, severity: "medium", description: "A service stopped sending heartbeats; it is killed and restarted after its backoff" },
    serviceRestarted: { id: 6, severity: "info", description: "A restarted service is running again" },
    serviceFailed: { id: 7, severity: "high", description: "A service failed too often and is left down; the payload enters safe mode" },
    bootLoop: { id: 8, severity: "high", description: "Too many boots in a row reset before they became stable: booted into safe mode" },
    unhealthy: { id: 9, severity: "high", description: "A service safe mode needs is down: the watchdog is no longer kicked and will reset the payload" },
    watchdogFault: { id: 10, severity: "medium", description: "The hardware watchdog could not be armed or kicked" },
    parameterPersisted: { id: 11, severity: "info", description: "A parameter changed by command was saved; it survives restarts and resets" },
    bootStable: { id: 12, severity: "info", description: "This boot ran long enough to count as stable" },
  },
  parameters: {
    statusPeriodMs: { type: "int", default: 10_000, min: 1000, max: 3_600_000, unit: "ms", description: "How often SupervisorStatus and telemetry are published" },
  },
});

export interface SupervisorSettings {
  /** Every service the table knows, in start order, and whether each is enabled. */
  services: readonly { name: string; enabled: boolean }[];
  safeKeep: readonly string[];
  minBatterySocPct: number;
  onThermalEmergency: boolean;
  watchdog: { enabled: boolean; timeoutS: number; kickIntervalS: number };
  /** Mission seconds after which this boot counts as stable. */
  stableAfterS: number;
  /** Wall ms to wait for the TTC's first heartbeat before the others start. */
  ttcStartWaitMs: number;
}

export interface SupervisorDependencies {
  table: ProcessTable;
  record: BootRecord;
  boot: BootInfo;
  settings: SupervisorSettings;
  watchdog?: WatchdogPort;
  power?: PowerPort;
  /** Called once the services are stopped for a ResetPayload; the process then exits so the board restarts it. */
  onResetRequested(): void;
}

const HOST = hostname();
const processStateNumber: Record<ProcessStateName, number> = {
  stopped: ProcessState.PROCESS_STATE_STOPPED,
  starting: ProcessState.PROCESS_STATE_STARTING,
  running: ProcessState.PROCESS_STATE_RUNNING,
  backoff: ProcessState.PROCESS_STATE_BACKOFF,
  failed: ProcessState.PROCESS_STATE_FAILED,
  stopping: ProcessState.PROCESS_STATE_STOPPING,
};
const resetReasonNumber: Record<ResetReasonName, number> = {
  "power-on": ResetReason.RESET_REASON_POWER_ON,
  watchdog: ResetReason.RESET_REASON_WATCHDOG,
  command: ResetReason.RESET_REASON_COMMAND,
  crash: ResetReason.RESET_REASON_CRASH,
};

export class SupervisorService extends Service<typeof supervisorSpec> {
  private modeState: ModeState;
  private readonly deps: SupervisorDependencies;
  private readonly bootTimeNs: bigint;
  private healthyNow = true;
  private watchdogArmed = false;
  private resetting = false;
  private reportTimer: TimerHandle | undefined;
  /** Serializes mode changes and commanded restarts, so they never interleave half-done. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(context: ServiceContext, deps: SupervisorDependencies) {
    super(supervisorSpec, context);
    this.deps = deps;
    this.modeState = { mode: deps.boot.mode, reason: deps.boot.safeReason };
    this.bootTimeNs = context.clock.nowTaiNs();
  }

  get mode(): ModeState {
    return this.modeState;
  }

  /** Whether a service runs in the current mode. */
  shouldRun(name: string): boolean {
    const s = this.deps.settings.services.find((x) => x.name === name);
    return !!s && runsIn(this.modeState.mode, name, s.enabled, this.deps.settings.safeKeep);
  }

  status(): MessageOf<typeof umbra.supervisor.v1.SupervisorStatus> {
    const snap = this.deps.table.snapshot();
    const now = this.clock.nowTaiNs();
    const wallNow = this.livenessNow();
    return {
      mode: this.modeState.mode === "safe" ? PayloadMode.PAYLOAD_MODE_SAFE : PayloadMode.PAYLOAD_MODE_NOMINAL,
      safeModeReason: this.modeState.reason,
      bootCount: this.deps.boot.boot,
      resetReason: resetReasonNumber[this.deps.boot.reason],
      services: snap.map((s) => ({
        name: s.name,
        state: processStateNumber[s.state],
        pid: s.pid,
        restarts: s.restarts,
        recentFailures: s.recentFailures,
        lastFailure: s.lastFailure,
        // Wall-time offsets from the table, carried onto mission time for the report.
        nextStartNs: s.nextStartMs ? now + BigInt(Math.round(s.nextStartMs - wallNow)) * 1_000_000n : 0n,
        lastHeartbeatNs: s.lastHeartbeatMs ? now - BigInt(Math.round(wallNow - s.lastHeartbeatMs)) * 1_000_000n : 0n,
      })),
      watchdogArmed: this.watchdogArmed,
      bootTimeNs: this.bootTimeNs,
      unstableBoots: this.deps.boot.unstableBefore,
    };
  }

  // ---- events from the process table (wired by the caller) -----------------

  onServiceFailed(service: string, reason: string, delayMs: number, recent: number): void {
    const hung = reason.startsWith("hung") || reason.startsWith("no heartbeat");
    this.event(hung ? "serviceHung" : "serviceCrashed", `${service} ${reason}; restart in ${(delayMs / 1000).toFixed(1)} s (failure ${recent} in the window)`, {
      service,
      reason,
    });
    this.publishStatus();
  }

  onServiceRunning(service: string, restarted: boolean): void {
    if (restarted) this.event("serviceRestarted", `${service} is running again`, { service });
    this.publishStatus();
  }

  onServiceGaveUp(service: string, reason: string, recent: number): void {
    this.event("serviceFailed", `${service} failed ${recent} times (last: ${reason}); left down`, { service, reason });
    void this.serial(() => this.toSafe(`${service} failed ${recent} times (last: ${reason})`));
  }

  // ---- lifecycle --------------------------------------------------------------

  protected override async onStart(): Promise<void> {
    const { boot, settings, table } = this.deps;
    this.event("boot", `boot ${boot.boot}: reset reason ${boot.reason}, mode ${boot.mode}`, { boot: String(boot.boot), reason: boot.reason, mode: boot.mode });
    if (boot.bootLoop) this.event("bootLoop", boot.safeReason);
    this.keep(this.bus.subscribe(umbra.core.v1.Heartbeat, (hb) => this.onHeartbeat(hb)));
    this.keep(this.bus.subscribe(umbra.core.v1.ParameterReport, (r) => this.persistParameters(r)));
    if (settings.onThermalEmergency) {
      this.keep(
        this.bus.subscribe(umbra.thermal.v1.ThermalEmergency, (e) => {
          if (e.active) void this.serial(() => this.toSafe(`thermal emergency: ${e.zone || "a zone"} at ${e.celsius.toFixed(1)} °C${e.reason ? ` (${e.reason})` : ""}`));
        }),
      );
    }
    this.keep(this.bus.serve(umbra.supervisor.v1.GetSupervisorStatus, umbra.supervisor.v1.SupervisorStatus, () => this.status(), { target: "supervisor" }));

    // The TTC first, so every other service's declaration, telemetry and events reach the archive from their first message.
    const order = settings.services.map((s) => s.name);
    if (order.includes("ttc") && this.shouldRun("ttc")) {
      table.start("ttc");
      await table.waitRunning("ttc", settings.ttcStartWaitMs).catch((err: unknown) => this.log.warn({ err: String(err) }, "TTC not running yet; starting the others anyway"));
    }
    for (const name of order) if (name !== "ttc" && this.shouldRun(name)) table.start(name);

    if (settings.watchdog.enabled && this.deps.watchdog) await this.armWatchdog();
    this.every(settings.watchdog.kickIntervalS * 1000, () => void this.kick());
    this.scheduleReports();
    if (this.deps.power) this.every(5000, () => void this.checkPower());
    this.after(settings.stableAfterS * 1000, () => {
      this.deps.record.markStable(boot.boot);
      this.event("bootStable", `boot ${boot.boot} ran ${settings.stableAfterS} s: stable`);
    });
    this.report();
  }

  protected override onParametersChanged(changed: string[]): void {
    if (changed.includes("statusPeriodMs") && this.reportTimer) this.scheduleReports();
  }

  protected override async onStop(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.deps.table.stopAll(this.deps.settings.services.map((s) => s.name));
    await this.disarmWatchdog();
  }

  protected commands(): CommandHandlers<typeof supervisorSpec> {
    return {
      enterSafeMode: ({ reason }) =>
        this.serial(async () => {
          if (this.modeState.mode === "safe") return `already in safe mode (${this.modeState.reason})`;
          await this.toSafe(`by command${reason ? `: ${reason}` : ""}`);
          return "safe mode";
        }),
      leaveSafeMode: () =>
        this.serial(async () => {
          const { next, changed } = leaveSafe(this.modeState);
          if (!changed) throw new CommandRejected("precondition", "not in safe mode");
          this.modeState = next;
          this.deps.record.saveMode("nominal", "");
          this.event("safeModeLeft", "safe mode left by command");
          for (const s of this.deps.settings.services) if (this.shouldRun(s.name)) this.deps.table.start(s.name);
          this.report();
          return "nominal mode; services starting";
        }),
      restartService: ({ service }) =>
        this.serial(async () => {
          if (service === "supervisor") throw new CommandRejected("argument", "the supervisor cannot restart itself: use resetPayload");
          if (!this.deps.table.names().includes(service)) throw new CommandRejected("argument", `no such service: ${JSON.stringify(service)} (known: ${this.deps.table.names().join(", ")})`);
          if (!this.shouldRun(service)) throw new CommandRejected("precondition", `${service} does not run in ${this.modeState.mode} mode${this.enabled(service) ? "" : " (disabled in the configuration)"}`);
          await this.deps.table.restart(service);
          this.report();
          return `${service} restarted`;
        }),
      resetPayload: () => {
        if (this.resetting) throw new CommandRejected("precondition", "a reset is already under way");
        this.resetting = true;
        // After the completion report has gone out: the TTC is among what stops.
        this.after(1000, () => this.deps.onResetRequested());
        return "resetting the payload in 1 s";
      },
    };
  }

  // ---- internals -----------------------------------------------------------------

  private enabled(name: string): boolean {
    return this.deps.settings.services.some((s) => s.name === name && s.enabled);
  }

  private scheduleReports(): void {
    this.reportTimer?.cancel();
    this.reportTimer = this.every(this.parameters.get("statusPeriodMs"), () => this.report());
  }

  private livenessNow(): number {
    return this.deps.table.wallNow();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async toSafe(reason: string): Promise<void> {
    const { next, changed } = enterSafe(this.modeState, reason);
    if (!changed) return;
    this.modeState = next;
    this.deps.record.saveMode("safe", next.reason);
    this.event("safeModeEntered", `safe mode: ${next.reason}`, { reason: next.reason });
    this.report();
    // Jobs first: they are what draws power and makes heat.
    const order = this.deps.settings.services.map((s) => s.name).reverse();
    for (const name of order) if (!this.shouldRun(name)) await this.deps.table.stop(name);
    this.report();
  }

  private onHeartbeat(hb: MessageOf<typeof umbra.core.v1.Heartbeat>): void {
    // A pid names a process on its own host only.
    if (hb.host && hb.host !== HOST) return;
    this.deps.table.heartbeat(hb.service, hb.pid);
  }

  private persistParameters(r: MessageOf<typeof umbra.core.v1.ParameterReport>): void {
    if (!r.ok || !this.deps.table.names().includes(r.service) || r.values.length === 0) return;
    const now = this.clock.nowTaiNs();
    for (const { name, value } of r.values) {
      const v = value ? (fromValueMessage(value) as unknown) : undefined;
      if (typeof v !== "boolean" && typeof v !== "string" && !(typeof v === "number" && Number.isFinite(v))) continue;
      this.deps.record.saveParameter(r.service, name, v as ParameterScalar, now);
      this.event("parameterPersisted", `${r.service}.${name} = ${JSON.stringify(v)} saved`, { service: r.service, name, value: String(v) });
    }
  }

  /** The health rule the watchdog kicks follow (mode.ts keptServicesHealthy), now. */
  isHealthy(): boolean {
    return keptServicesHealthy(this.deps.table.snapshot(), this.deps.settings.safeKeep, (name) => this.enabled(name));
  }

  private async armWatchdog(): Promise<void> {
    try {
      await this.deps.watchdog!.arm(this.deps.settings.watchdog.timeoutS);
      this.watchdogArmed = true;
    } catch (err) {
      this.event("watchdogFault", `could not arm the watchdog: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async disarmWatchdog(): Promise<void> {
    if (!this.watchdogArmed) return;
    try {
      await this.deps.watchdog!.disarm();
      this.watchdogArmed = false;
    } catch (err) {
      this.log.warn({ err }, "could not disarm the watchdog");
    }
  }

  private async kick(): Promise<void> {
    const healthy = this.isHealthy();
    if (healthy !== this.healthyNow) {
      this.healthyNow = healthy;
      if (!healthy) this.event("unhealthy", "a service safe mode needs is down: the watchdog is no longer kicked");
      this.report();
    }
    if (!healthy || !this.watchdogArmed || !this.deps.watchdog) return;
    try {
      await this.deps.watchdog.kick();
    } catch (err) {
      this.event("watchdogFault", `could not kick the watchdog: ${err instanceof Error ? err.message : String(err)}`);
      // An emulated watchdog that expired is disarmed by the reset; arm it again if we are still here.
      if (!this.deps.watchdog.status().armed) this.watchdogArmed = false;
    }
  }

  private async checkPower(): Promise<void> {
    if (this.modeState.mode === "safe") return;
    try {
      const p = await this.deps.power!.read();
      if (p.batterySocPct < this.deps.settings.minBatterySocPct) {
        await this.serial(() => this.toSafe(`power emergency: battery at ${p.batterySocPct.toFixed(1)} % (< ${this.deps.settings.minBatterySocPct} %)`));
      }
    } catch (err) {
      this.log.debug({ err }, "battery state not readable");
    }
  }

  private report(): void {
    const snap = this.deps.table.snapshot();
    const should = snap.filter((s) => this.shouldRun(s.name));
    this.telemetry({
      mode: this.modeState.mode === "safe" ? 2 : 1,
      bootCount: this.deps.boot.boot,
      resetReason: resetReasonNumber[this.deps.boot.reason],
      unstableBoots: this.deps.boot.unstableBefore,
      servicesRunning: snap.filter((s) => s.state === "running").length,
      servicesDown: should.filter((s) => s.state !== "running").length,
      servicesFailed: snap.filter((s) => s.state === "failed").length,
      restartsTotal: snap.reduce((n, s) => n + s.restarts, 0),
      watchdogArmed: this.watchdogArmed,
      healthy: this.healthyNow,
    });
    this.publishStatus();
  }

  private publishStatus(): void {
    try {
      this.bus.publish(umbra.supervisor.v1.SupervisorStatus, this.status(), { priority: Priority.PRIORITY_COMMAND });
    } catch (err) {
      this.log.debug({ err }, "status not published");
    }
  }
}
