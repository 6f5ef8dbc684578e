// The base every Umbra service extends: lifecycle, heartbeat, commands,
// telemetry, events and parameters, all wired to the bus from the service's
// one declaration.
import { hostname } from "node:os";
import { umbra, type MessageOf } from "@umbra/proto";
import type { Logger } from "pino";
import type { Bus, MessageMeta, Subscription } from "../bus/bus.js";
import { Priority } from "../bus/priority.js";
import { silentLogger } from "../log/logger.js";
import type { Clock, TimerHandle } from "../time/clock.js";
import {
  SEVERITIES,
  checkArgumentRules,
  type ArgumentRuleSpec,
  declarationMessage,
  fromValueMessage,
  toValueMessage,
  type ServiceSpec,
  type ValueOf,
  type ParameterValue,
} from "./declaration.js";
import { ParameterStore } from "./parameters.js";

const { ServiceState, CommandStatus } = umbra.core.v1;
/** Read once: heartbeats say where their pid lives. */
const HOST = hostname();
export type ServiceState = umbra.core.v1.ServiceState;
export type CommandResult = MessageOf<typeof umbra.core.v1.CommandResult>;

export interface ServiceContext {
  bus: Bus;
  /** Mission time: what the service's logic, timers and time stamps read. */
  clock: Clock;
  /**
   * Process liveness: the heartbeat timer and the heartbeat's uptime run on
   * it. Default `clock`. A process that follows simulated time (a ToneClock)
   * passes a RealClock here, since a hung process is a wall-time matter and
   * heartbeats must keep coming when simulated time pauses.
   */
  livenessClock?: Clock;
  logger?: Logger;
  /** Heartbeat period in ms of livenessClock (default 1000). */
  heartbeatIntervalMs?: number;
  /** Parameter values overriding the declared defaults (validated). */
  parameters?: Record<string, unknown>;
  /**
   * This instance's CCSDS APID, overriding `spec.apid` everywhere (its
   * declaration in particular): 0..2046, like the spec's. For a second
   * instance of a service, or a supervisor that assigns APIDs.
   */
  apid?: number;
}

/** Thrown by a command handler to reject a command for a stated reason. */
export class CommandRejected extends Error {
  constructor(
    readonly reason: "precondition" | "argument",
    message: string,
  ) {
    super(message);
    this.name = "CommandRejected";
  }
}

type CommandArgs<S extends ServiceSpec, K extends keyof S["commands"]> = MessageOf<S["commands"][K]["type"]>;

/** What a command handler can do while it runs. */
export interface CommandContext {
  /** Reports progress of a long command (PUS (1,5) reports through the TTC). */
  progress(step: number, detail?: string): void;
}

/** One handler per declared command; it returns an optional completion message. */
export type CommandHandlers<S extends ServiceSpec> = {
  [K in keyof S["commands"]]: (args: CommandArgs<S, K>, context: CommandContext) => string | void | Promise<string | void>;
};

export type TelemetryValues<S extends ServiceSpec> = { [K in keyof S["telemetry"]]?: ValueOf<S["telemetry"][K]["type"]> };

const stateNames: Record<number, string> = Object.fromEntries(
  Object.entries(ServiceState).map(([k, v]) => [v as number, k.replace("SERVICE_STATE_", "").toLowerCase()]),
);

export abstract class Service<S extends ServiceSpec> {
  readonly spec: S;
  readonly parameters: ParameterStore<S["parameters"]>;
  protected readonly bus: Bus;
  protected readonly clock: Clock;
  /** Where the heartbeat runs (ServiceContext.livenessClock). */
  protected readonly livenessClock: Clock;
  protected readonly log: Logger;
  private currentState: ServiceState = ServiceState.SERVICE_STATE_CREATED;
  private readonly heartbeatIntervalMs: number;
  private heartbeatTimer: TimerHandle | undefined;
  private heartbeatCounter = 0n;
  private startedAtMs = 0;
  private readonly subscriptions: Subscription[] = [];

  constructor(spec: S, context: ServiceContext) {
    if (context.apid !== undefined) {
      const apid: unknown = context.apid;
      if (typeof apid !== "number" || !Number.isInteger(apid) || apid < 0 || apid > 2046) {
        throw new RangeError(`${spec.name}: apid ${String(apid)} is not an integer in 0..2046 (2047 is the idle APID)`);
      }
      // A copy with the instance's APID, so everything that reads spec.apid agrees.
      spec = { ...spec, apid };
    }
    this.spec = spec;
    this.bus = context.bus;
    this.clock = context.clock;
    this.livenessClock = context.livenessClock ?? context.clock;
    this.log = (context.logger ?? silentLogger()).child({ service: spec.name });
    this.heartbeatIntervalMs = context.heartbeatIntervalMs ?? 1000;
    if (!(this.heartbeatIntervalMs > 0)) throw new RangeError(`heartbeatIntervalMs must be positive, got ${this.heartbeatIntervalMs}`);
    this.parameters = new ParameterStore(spec.parameters as S["parameters"], context.parameters);
  }

  get name(): string {
    return this.spec.name;
  }

  /** This instance's APID (ServiceContext.apid, else the spec's). */
  get apid(): number {
    return this.spec.apid;
  }

  get state(): ServiceState {
    return this.currentState;
  }

  get stateName(): string {
    return stateNames[this.currentState] ?? "unknown";
  }

  // ---- what a service writes ---------------------------------------------

  /** The service's command handlers, keyed as in the declaration. */
  protected abstract commands(): CommandHandlers<S>;
  /** Acquire resources. Called once, before start. */
  protected onInit(): void | Promise<void> {}
  /** Begin work: subscribe, set timers. */
  protected onStart(): void | Promise<void> {}
  /** Stop work; timers made with this.every/after are cancelled for you. */
  protected onStop(): void | Promise<void> {}
  /** Called after parameters changed (already validated and applied). */
  protected onParametersChanged(_changed: string[]): void {}

  // ---- lifecycle ------------------------------------------------------------

  async init(): Promise<void> {
    this.expectState(ServiceState.SERVICE_STATE_CREATED, "init");
    try {
      await this.onInit();
    } catch (err) {
      this.fail(err, "init");
    }
    this.currentState = ServiceState.SERVICE_STATE_INITIALIZED;
  }

  async start(): Promise<void> {
    if (this.currentState === ServiceState.SERVICE_STATE_CREATED) await this.init();
    this.expectState(ServiceState.SERVICE_STATE_INITIALIZED, "start");
    this.registerBusHandlers();
    this.startedAtMs = this.livenessClock.monotonicMs();
    try {
      await this.onStart();
    } catch (err) {
      this.fail(err, "start");
    }
    this.currentState = ServiceState.SERVICE_STATE_RUNNING;
    this.heartbeatTimer = this.livenessClock.setInterval(() => this.heartbeat(), this.heartbeatIntervalMs);
    this.bus.publish(umbra.core.v1.ServiceDeclaration, declarationMessage(this.spec), { priority: Priority.PRIORITY_COMMAND });
    this.heartbeat();
    this.log.info({ apid: this.spec.apid }, "service started");
  }

  async stop(): Promise<void> {
    if (this.currentState !== ServiceState.SERVICE_STATE_RUNNING) return;
    this.currentState = ServiceState.SERVICE_STATE_STOPPING;
    this.heartbeatTimer?.cancel();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    try {
      await this.onStop();
    } finally {
      for (const s of this.subscriptions.splice(0)) s.unsubscribe();
      this.currentState = ServiceState.SERVICE_STATE_STOPPED;
      if (!this.bus.isClosed) this.heartbeat();
      this.log.info("service stopped");
    }
  }

  // ---- helpers for service code ---------------------------------------------

  private readonly timers = new Set<TimerHandle>();

  /** A periodic timer on the service's clock, cancelled on stop. A throw is logged, not fatal. */
  protected every(periodMs: number, fn: () => void): TimerHandle {
    return this.track(this.clock.setInterval(() => this.guarded(fn, "periodic task"), periodMs));
  }

  /** A one-shot timer on the service's clock, cancelled on stop. A throw is logged, not fatal. */
  protected after(delayMs: number, fn: () => void): TimerHandle {
    let handle: TimerHandle | undefined = undefined;
    handle = this.track(
      this.clock.setTimeout(() => {
        if (handle) this.timers.delete(handle);
        this.guarded(fn, "timer task");
      }, delayMs),
    );
    return handle;
  }

  // The handle given out removes itself from the set when cancelled, so a
  // service that re-arms timers does not accumulate dead ones.
  private track(timer: TimerHandle): TimerHandle {
    const handle: TimerHandle = {
      cancel: () => {
        timer.cancel();
        this.timers.delete(handle);
      },
      get active() {
        return timer.active;
      },
    };
    this.timers.add(handle);
    return handle;
  }

  private guarded(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, `${what} failed`);
    }
  }

  /** Keeps a bus subscription for the life of the service. */
  protected keep(subscription: Subscription): Subscription {
    this.subscriptions.push(subscription);
    return subscription;
  }

  /** Publishes declared telemetry parameters, sampled now. */
  protected telemetry(values: TelemetryValues<S>): void {
    const samples = [];
    for (const [name, value] of Object.entries(values) as [string, ParameterValue | undefined][]) {
      const spec = this.spec.telemetry[name];
      if (!spec) throw new RangeError(`${this.name}: telemetry ${name} is not declared`);
      if (value === undefined) continue;
      const ok =
        spec.type === "bool" ? typeof value === "boolean" : spec.type === "string" ? typeof value === "string" : typeof value === "number";
      if (!ok || (spec.type === "int" && !Number.isSafeInteger(value))) {
        throw new TypeError(`${this.name}: telemetry ${name} must be ${spec.type}, got ${typeof value} ${String(value)}`);
      }
      samples.push({ name, value: toValueMessage(spec.type, value) });
    }
    this.bus.publish(
      umbra.core.v1.TelemetryReport,
      { service: this.name, missionTimeNs: this.clock.nowTaiNs(), samples },
      { priority: Priority.PRIORITY_TELEMETRY },
    );
  }

  /** Raises a declared event for operators. */
  protected event(name: keyof S["events"] & string, message: string, args: Record<string, string> = {}): void {
    const spec = this.spec.events[name];
    if (!spec) throw new RangeError(`${this.name}: event ${name} is not declared`);
    this.bus.publish(
      umbra.core.v1.Event,
      {
        service: this.name,
        id: spec.id,
        name,
        severity: SEVERITIES[spec.severity],
        message,
        missionTimeNs: this.clock.nowTaiNs(),
        args,
      },
      { priority: spec.severity === "high" ? Priority.PRIORITY_SAFETY : Priority.PRIORITY_COMMAND },
    );
  }

  // ---- bus wiring -------------------------------------------------------------

  private heartbeat(): void {
    this.heartbeatCounter++;
    this.bus.publish(
      umbra.core.v1.Heartbeat,
      {
        service: this.name,
        state: this.currentState,
        counter: this.heartbeatCounter,
        uptimeMs: BigInt(Math.max(0, Math.floor(this.livenessClock.monotonicMs() - this.startedAtMs))),
        pid: process.pid,
        node: this.bus.node,
        host: HOST,
      },
      { priority: Priority.PRIORITY_SAFETY },
    );
  }

  private registerBusHandlers(): void {
    const handlers = this.commands();
    const target = this.name;
    for (const [name, spec] of Object.entries(this.spec.commands)) {
      const handler = (handlers as Record<string, (args: unknown, context: CommandContext) => string | void | Promise<string | void>>)[name];
      if (!handler) throw new Error(`${this.name}: command ${name} is declared but has no handler`);
      this.keep(
        this.bus.serve(
          spec.type,
          umbra.core.v1.CommandResult,
          async (args, meta) =>
            this.runCommand(
              name,
              spec.arguments ? (Object.entries(spec.arguments) as [string, ArgumentRuleSpec][]) : undefined,
              spec.check?.bind(spec) as ((a: unknown) => string | undefined) | undefined,
              handler,
              args,
              meta,
            ),
          { target },
        ),
      );
    }
    this.keep(
      this.bus.serve(
        umbra.core.v1.SetParameters,
        umbra.core.v1.ParameterReport,
        (req, meta) => (req.service === this.name ? this.setParametersFromBus(req) : this.misaddressed("SetParameters", req.service, meta.target)),
        { target },
      ),
    );
    this.keep(
      this.bus.serve(
        umbra.core.v1.GetParameters,
        umbra.core.v1.ParameterReport,
        (req, meta) => (req.service === this.name ? this.parameterReport(req.names) : this.misaddressed("GetParameters", req.service, meta.target)),
        { target },
      ),
    );
    const describe = (req: { service: string }) =>
      req.service === "" || req.service === this.name ? declarationMessage(this.spec) : undefined;
    // Targeted serves also get untargeted requests, so one serve answers both.
    this.keep(this.bus.serve(umbra.core.v1.DescribeRequest, umbra.core.v1.ServiceDeclaration, describe, { target }));
    // A DescribeRequest *published* (not requested) asks every service at once:
    // each answers by publishing its declaration, so a TTC that starts late
    // still learns the whole dictionary.
    this.keep(
      this.bus.subscribe(umbra.core.v1.DescribeRequest, (req) => {
        if (req.service === "" || req.service === this.name) {
          this.bus.publish(umbra.core.v1.ServiceDeclaration, declarationMessage(this.spec), { priority: Priority.PRIORITY_COMMAND });
        }
      }),
    );
  }

  private async runCommand(
    name: string,
    rules: [string, ArgumentRuleSpec][] | undefined,
    check: ((args: unknown) => string | undefined) | undefined,
    handler: (args: unknown, context: CommandContext) => string | void | Promise<string | void>,
    args: unknown,
    meta: MessageMeta,
  ) {
    const result = (status: umbra.core.v1.CommandStatus, message: string) => ({ service: this.name, command: name, status, message });
    if (this.currentState !== ServiceState.SERVICE_STATE_RUNNING) {
      return result(CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION, `service is ${this.stateName}`);
    }
    let problem: string | undefined = rules ? checkArgumentRules(rules, args as Record<string, unknown>) : undefined;
    try {
      problem ??= check?.(args);
    } catch (err) {
      problem = `argument check failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (problem) return result(CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT, problem);
    try {
      const context: CommandContext = {
        progress: (step, detail = "") => {
          if (!Number.isInteger(step) || step < 0 || step > 0xffff) throw new RangeError(`progress step ${step} is not in 0..65535`);
          this.bus.publish(
            umbra.core.v1.CommandProgress,
            { service: this.name, command: name, requestSource: meta.source, requestSequence: meta.sequence, step, detail },
            { priority: Priority.PRIORITY_COMMAND },
          );
        },
      };
      const message = await handler.call(this, args, context);
      return result(CommandStatus.COMMAND_STATUS_COMPLETED, message ?? "");
    } catch (err) {
      if (err instanceof CommandRejected) {
        return result(
          err.reason === "argument" ? CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT : CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION,
          err.message,
        );
      }
      this.log.warn({ err, command: name }, "command failed");
      return result(CommandStatus.COMMAND_STATUS_FAILED_EXECUTION, err instanceof Error ? err.message : String(err));
    }
  }

  private setParametersFromBus(req: MessageOf<typeof umbra.core.v1.SetParameters>) {
    const updates: Record<string, unknown> = {};
    for (const { name, value } of req.values) {
      if (Object.prototype.hasOwnProperty.call(updates, name)) {
        return { service: this.name, ok: false, error: `${name}: given twice`, values: [] };
      }
      updates[name] = fromValueMessage(value);
    }
    const outcome = this.parameters.setMany(updates);
    if (!outcome.ok) return { service: this.name, ok: false, error: outcome.error, values: [] };
    if (outcome.changed.length > 0) {
      this.log.info({ changed: outcome.changed }, "parameters set");
      try {
        this.onParametersChanged(outcome.changed);
      } catch (err) {
        this.log.error({ err }, "parameter change hook failed");
      }
      // Broadcast what changed, so a supervisor can persist it across restarts
      // whoever asked. The requester's answer is the reply below.
      this.bus.publish(umbra.core.v1.ParameterReport, this.parameterReport(outcome.changed), { priority: Priority.PRIORITY_COMMAND });
    }
    return this.parameterReport(Object.keys(updates));
  }

  private parameterReport(names: string[]) {
    const all = this.parameters.snapshot() as Record<string, ParameterValue>;
    const wanted = names.length ? names : Object.keys(all);
    const unknown = wanted.find((n) => !Object.prototype.hasOwnProperty.call(all, n));
    if (unknown !== undefined) return { service: this.name, ok: false, error: `${unknown}: no such parameter`, values: [] };
    return {
      service: this.name,
      ok: true,
      error: "",
      values: wanted.map((n) => ({ name: n, value: toValueMessage(this.spec.parameters[n]!.type, all[n]!) })),
    };
  }

  // Sent to us by name but naming another service: say so. Untargeted and not ours: stay silent.
  private misaddressed(what: string, named: string, target: string) {
    if (target !== this.name) return undefined;
    return { service: this.name, ok: false, error: `${what} names service ${JSON.stringify(named)} but was sent to ${this.name}`, values: [] };
  }

  private expectState(expected: ServiceState, action: string): void {
    if (this.currentState !== expected) {
      throw new Error(`${this.name}: cannot ${action} while ${this.stateName}`);
    }
  }

  private fail(err: unknown, during: string): never {
    this.currentState = ServiceState.SERVICE_STATE_FAILED;
    this.log.error({ err }, `${during} failed`);
    throw err;
  }
}
