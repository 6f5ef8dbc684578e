// The test harness for service authors: one service on an in-process bus with
// a SimClock. Send it commands, set its parameters, advance time, and look at
// everything it published.
import { umbra, type GeneratedMessageClass, type InitOf, type MessageOf } from "@umbra/proto";
import type { Logger } from "pino";
import { Bus, type MessageMeta } from "../bus/bus.js";
import { BusTimeoutError } from "../bus/errors.js";
import { silentLogger } from "../log/logger.js";
import { SimClock } from "../time/sim-clock.js";
import { fromValueMessage, toValueMessage, type ParameterValue, type ServiceSpec } from "../service/declaration.js";
import type { CommandResult, Service, ServiceContext } from "../service/service.js";
import { sendCommand } from "../service/commanding.js";

export interface HarnessOptions {
  startUtcMs?: number;
  heartbeatIntervalMs?: number;
  parameters?: Record<string, unknown>;
  logger?: Logger;
  /** Simulated time allowed for a command's reply before it counts as lost. */
  replyTimeoutMs?: number;
}

export interface Received<M> {
  message: M;
  meta: MessageMeta;
}

type Spec<T> = T extends Service<infer S> ? S : never;

export class ServiceHarness<T extends Service<ServiceSpec>> {
  private readonly recorded = new Map<string, Received<unknown>[]>();

  private constructor(
    readonly service: T,
    readonly bus: Bus,
    readonly clock: SimClock,
    private readonly replyTimeoutMs: number,
  ) {}

  /** Builds the service with a fresh bus and SimClock and starts it. */
  static async start<T extends Service<ServiceSpec>>(
    create: (context: ServiceContext) => T,
    options: HarnessOptions = {},
  ): Promise<ServiceHarness<T>> {
    const clock = new SimClock(options.startUtcMs === undefined ? {} : { startUtcMs: options.startUtcMs });
    const bus = new Bus({ node: "harness", clock, logger: options.logger ?? silentLogger(), queueCapacity: 100_000 });
    const context: ServiceContext = { bus, clock, logger: options.logger ?? silentLogger() };
    if (options.heartbeatIntervalMs !== undefined) context.heartbeatIntervalMs = options.heartbeatIntervalMs;
    if (options.parameters !== undefined) context.parameters = options.parameters;
    const service = create(context);
    const harness = new ServiceHarness(service, bus, clock, options.replyTimeoutMs ?? 5000);
    for (const type of [umbra.core.v1.Heartbeat, umbra.core.v1.Event, umbra.core.v1.TelemetryReport, umbra.core.v1.ServiceDeclaration]) {
      harness.record(type);
    }
    await service.start();
    await harness.settle();
    return harness;
  }

  /** Starts recording a message type (the standard service messages are recorded from the start). */
  record<C extends GeneratedMessageClass>(type: C): void {
    const probe = this.bus.subscribe(type, (message, meta) => {
      this.recorded.get(meta.topic)!.push({ message, meta });
    });
    if (!this.recorded.has(probe.topic)) this.recorded.set(probe.topic, []);
    else probe.unsubscribe();
  }

  /** Everything of this type published since recording began. */
  published<C extends GeneratedMessageClass>(type: C): Received<MessageOf<C>>[] {
    const probe = this.bus.subscribe(type, () => undefined);
    probe.unsubscribe();
    const list = this.recorded.get(probe.topic);
    if (!list) throw new Error(`${probe.topic} is not being recorded; call harness.record() before it is published`);
    return list as Received<MessageOf<C>>[];
  }

  /** Lets every queued message be handled. */
  async settle(): Promise<void> {
    await this.bus.idle();
  }

  /** Moves simulated time on, firing timers in order and letting handlers run. */
  async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
    await this.settle();
  }

  /** Sends a declared command and returns its result. */
  async command<K extends keyof Spec<T>["commands"] & string>(
    name: K,
    args: InitOf<Spec<T>["commands"][K]["type"]>,
  ): Promise<CommandResult> {
    const spec = this.service.spec.commands[name];
    if (!spec) throw new Error(`${this.service.name} declares no command ${name}`);
    return this.awaitOnSimClock(sendCommand(this.bus, this.service.name, spec.type, args as InitOf<typeof spec.type>, { timeoutMs: this.replyTimeoutMs }));
  }

  /** Sets parameters atomically over the bus, as TTC would. */
  async setParameters(values: Record<string, ParameterValue>) {
    const specs = this.service.spec.parameters;
    return this.ask(umbra.core.v1.SetParameters, {
      service: this.service.name,
      values: Object.entries(values).map(([name, value]) => ({
        name,
        value: toValueMessage(specs[name]?.type ?? (typeof value === "boolean" ? "bool" : typeof value === "string" ? "string" : "float"), value),
      })),
    }, umbra.core.v1.ParameterReport);
  }

  /** Reads parameters over the bus as plain values. */
  async getParameters(names: string[] = []): Promise<Record<string, ParameterValue | undefined>> {
    const report = await this.ask(umbra.core.v1.GetParameters, { service: this.service.name, names }, umbra.core.v1.ParameterReport);
    if (!report.ok) throw new Error(report.error);
    return Object.fromEntries(report.values.map((v) => [v.name, fromValueMessage(v.value)]));
  }

  /** Events raised, optionally only those with one name. */
  events(name?: string): MessageOf<typeof umbra.core.v1.Event>[] {
    return this.published(umbra.core.v1.Event)
      .map((r) => r.message)
      .filter((e) => name === undefined || e.name === name);
  }

  /** Every sample of one telemetry parameter, oldest first. */
  telemetry(name: string): { missionTimeNs: bigint; value: ParameterValue | undefined }[] {
    return this.published(umbra.core.v1.TelemetryReport).flatMap((r) =>
      r.message.samples.filter((s) => s.name === name).map((s) => ({ missionTimeNs: r.message.missionTimeNs, value: fromValueMessage(s.value) })),
    );
  }

  heartbeats(): MessageOf<typeof umbra.core.v1.Heartbeat>[] {
    return this.published(umbra.core.v1.Heartbeat).map((r) => r.message);
  }

  async stop(): Promise<void> {
    await this.service.stop();
    await this.settle();
    this.bus.close();
  }

  // Requests wait on the SimClock, so time must be moved for a lost reply to time out.
  private ask<Q extends GeneratedMessageClass, R extends GeneratedMessageClass>(type: Q, value: InitOf<Q>, reply: R): Promise<MessageOf<R>> {
    return this.awaitOnSimClock(this.bus.request(type, value, reply, { target: this.service.name, timeoutMs: this.replyTimeoutMs }));
  }

  private async awaitOnSimClock<T>(request: Promise<T>): Promise<T> {
    let settled = false;
    const pending = request
      .finally(() => {
        settled = true;
      });
    pending.catch(() => undefined);
    await this.settle();
    if (!settled) await this.clock.advance(this.replyTimeoutMs);
    try {
      return await pending;
    } catch (err) {
      if (err instanceof BusTimeoutError) throw new Error(`${this.service.name} did not answer ${err.topic} (${err.message})`);
      throw err;
    }
  }
}
