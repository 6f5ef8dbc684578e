// A payload on an in-process bus for TTC tests: the TTC, the counter service,
// and a "probe" service whose commands fail or never finish on demand; a
// simulated clock; keys; and everything the TTC sends down, decoded.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus, CommandRejected, Service, SimClock, command, defineService, type CommandHandlers, type ServiceContext } from "@umbra/core";
import { decodeTm, KeyStore, type Tm } from "@umbra/ccsds";
import { umbra, type MessageOf } from "@umbra/proto";
import { CounterService } from "@umbra/example-counter-service";
import { TtcService } from "../../src/service.js";
import { TcBuilder } from "../../src/ground.js";
import { openTtcDatabase } from "../../src/store/database.js";
import { CommandHistory } from "../../src/store/command-history.js";
import { ScheduleStore } from "../../src/store/schedule-store.js";
import { SecurityState } from "../../src/security-state.js";
import { ContactPlan, DownlinkQueue } from "../../src/downlink/index.js";
import { openArchive, type Archive } from "../../src/archive/index.js";

export const KEY1 = new Uint8Array(32).map((_, i) => i);
export const KEY2 = new Uint8Array(32).map((_, i) => 255 - i);
export const ROGUE = new Uint8Array(32).fill(7);

export const probeSpec = defineService({
  name: "probe",
  apid: 0x300,
  description: "fails or hangs on command, for tests",
  commands: {
    explode: command(umbra.examples.v1.CounterReset, { description: "always fails" }),
    stall: command(umbra.bench.v1.Ping, { description: "never completes" }),
    countdown: command(umbra.examples.v1.CounterAdd, { description: "reports progress once per step", arguments: { amount: { min: 1, max: 10 } } }),
  },
  telemetry: {},
  events: {},
  parameters: { level: { type: "int", default: 1, min: 0, max: 10, description: "" }, label: { type: "string", default: "x", description: "" } },
});

export class Probe extends Service<typeof probeSpec> {
  constructor(ctx: ServiceContext) {
    super(probeSpec, ctx);
  }
  protected commands(): CommandHandlers<typeof probeSpec> {
    return {
      explode: () => {
        throw new Error("actuator jammed");
      },
      stall: () => new Promise<string>(() => undefined),
      countdown: ({ amount }, ctx) => {
        for (let step = 1; step <= Number(amount); step++) ctx.progress(step, `step ${step} of ${amount}`);
        return "lift-off";
      },
    };
  }
}

export interface Stack {
  bus: Bus;
  clock: SimClock;
  ttc: TtcService;
  archive: Archive;
  counter: CounterService;
  probe: Probe;
  keys: KeyStore;
  ground: TcBuilder;
  dbPath: string;
  /** The TTC's downlink queue (on the TTC database). */
  queue: DownlinkQueue;
  tm: Tm[];
  verifications: MessageOf<typeof umbra.ttc.v1.Verification>[];
  security: MessageOf<typeof umbra.ttc.v1.SecurityEvent>[];
  events: MessageOf<typeof umbra.core.v1.Event>[];
  /** Publishes packets as a ground link would, then lets everything settle. */
  send(...packets: Uint8Array[]): Promise<void>;
  settle(): Promise<void>;
  /** Verification stages of the last command with this sequence count at this APID. */
  stages(apid: number, sequenceCount: number): string[];
  stop(): Promise<void>;
}

/** The ground's own copy of the keys: SPI 2 is ready to use there before the payload activates it. */
export function groundKeys(): KeyStore {
  return new KeyStore([
    { spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY1 },
    { spi: 2, algorithm: "hmac-sha256", state: "active", key: KEY2 },
  ]);
}

export function keyStore(): KeyStore {
  return new KeyStore([
    { spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY1 },
    { spi: 2, algorithm: "hmac-sha256", state: "standby", key: KEY2 },
  ]);
}

export interface StackOptions {
  dbPath?: string;
  clock?: SimClock;
  keys?: KeyStore;
  securitySequence?: number;
  /** The downlink queue's byte budget (default the queue's, 64 MiB). */
  downlinkBudgetBytes?: number;
  /** The bus's largest frame (default the bus's, 1 MiB). */
  maxFrameBytes?: number;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const clock = options.clock ?? new SimClock({ startUtcMs: Date.UTC(2026, 5, 1) });
  const bus = new Bus({ node: "payload", clock, queueCapacity: 100_000, ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }) });
  const keys = options.keys ?? keyStore();
  const dbPath = options.dbPath ?? join(mkdtempSync(join(tmpdir(), "umbra-ttc-")), "ttc.db");
  const db = openTtcDatabase(dbPath);
  const tm: Tm[] = [];
  const verifications: MessageOf<typeof umbra.ttc.v1.Verification>[] = [];
  const security: MessageOf<typeof umbra.ttc.v1.SecurityEvent>[] = [];
  const events: MessageOf<typeof umbra.core.v1.Event>[] = [];
  bus.subscribe(umbra.ttc.v1.TmDownlink, (d) => {
    const r = decodeTm(d.packet);
    if (!r.ok) throw new Error(`TTC sent an undecodable TM: ${r.error.field}: ${r.error.reason}`);
    tm.push(r.value);
  });
  bus.subscribe(umbra.ttc.v1.Verification, (v) => {
    verifications.push(v);
  });
  bus.subscribe(umbra.ttc.v1.SecurityEvent, (e) => {
    security.push(e);
  });
  bus.subscribe(umbra.core.v1.Event, (e) => {
    events.push(e);
  });
  const counter = new CounterService({ bus, clock });
  const probe = new Probe({ bus, clock });
  await counter.start();
  await probe.start();
  const downlink = {
    queue: new DownlinkQueue(db, options.downlinkBudgetBytes === undefined ? {} : { budgetBytes: options.downlinkBudgetBytes }),
    plan: new ContactPlan(db),
  };
  const archive = openArchive(dbPath.replace(/\.db$/, "") + "-archive.db");
  const ttc = new TtcService({ bus, clock }, { keys, history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db), downlink, archive });
  await ttc.start();
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await bus.idle();
      await ttc.drain();
    }
    await bus.idle();
  };
  await settle();
  const ground = new TcBuilder({ keys: groundKeys(), spi: 1, securitySequence: options.securitySequence ?? 1 });
  return {
    bus,
    clock,
    ttc,
    archive,
    counter,
    probe,
    keys,
    ground,
    dbPath,
    queue: downlink.queue,
    tm,
    verifications,
    security,
    events,
    settle,
    async send(...packets) {
      for (const packet of packets) bus.publish(umbra.ttc.v1.TcUplink, { packet, link: "test" });
      await settle();
    },
    stages(apid, sequenceCount) {
      const name = (v: (typeof verifications)[number]) =>
        `${["?", "acceptance", "start", "progress", "completion"][v.stage]}:${v.success ? "ok" : `fail(${umbra.ttc.v1.FailureCode[v.code]})`}`;
      return verifications.filter((v) => v.apid === apid && v.sequenceCount === sequenceCount).map(name);
    },
    async stop() {
      await ttc.stop();
      await counter.stop();
      await probe.stop();
      bus.close();
      db.close();
      archive.close();
    },
  };
}
