// The TTC service, commanding half: every telecommand that reaches the
// payload comes through here. It authenticates the packet, decodes PUS-C,
// refuses duplicates, routes by APID and service/subtype to the service that
// declared the command, checks the arguments against the declaration, enforces
// arm-then-fire for critical commands, runs the time-tagged schedule, and
// reports every stage per PUS ST[01], so the operator always learns how a
// command ended. Every command and stage is in the command history on disk.
import {
  Ack,
  AntiReplay,
  authenticateTc,
  cucToTaiNs,
  decodePrimaryHeader,
  encodeCuc,
  decodeTc,
  encodeTm,
  taiNsToCuc,
  SequenceCounters,
  MAC_OCTETS,
  PEC_OCTETS,
  PRIMARY_HEADER_OCTETS,
  SECURITY_HEADER_OCTETS,
  writePec,
  type CucFormat,
  type KeyStore,
  type SecureTc,
  type Tc,
} from "@umbra/ccsds";
import {
  CommandRejected,
  Priority,
  Service,
  checkArgumentRules,
  command,
  defineService,
  sendCommand,
  BusTimeoutError,
  BusRemoteError,
  type CommandHandlers,
  type CommandResult,
  type ServiceContext,
  type SeverityName,
} from "@umbra/core";
import { codecByName, messageClassByName, umbra, type InitOf, type MessageOf } from "@umbra/proto";
import {
  decodeFunctionCall,
  decodeInsertActivities,
  decodeParameterNames,
  decodeParameterValues,
  decodeRequestIds,
  decodeTimeShift,
  encodeParameterValues,
  encodeVerification,
  type ParamValue,
} from "./app-data.js";
import { ArmTable } from "./critical.js";
import { Failure, FailureCode } from "./failure.js";
import { TelemetryFunctions } from "./telemetry-functions.js";
import { MissionDictionary, type CommandEntry } from "./dictionary.js";
import type { CommandHistory } from "./store/command-history.js";
import { DuplicateRequestError } from "./store/errors.js";
import type { SecurityState } from "./security-state.js";
import { validateSample, type Archive, type SampleInput, type SampleValue } from "./archive/index.js";
import { ArchiveFeed } from "./archive-feed.js";
import { GroupCommit } from "./group-commit.js";
import { Outbox } from "./outbox.js";
import {
  DownlinkFullError,
  DownlinkPacer,
  ProductStore,
  PRODUCT_SERVICE,
  type ContactPlan,
  type DownlinkPacket,
  type DownlinkPriority,
  type DownlinkQueue,
  type ProductQueueResult,
  type ProductSegmentData,
} from "./downlink/index.js";
import { InvalidFieldError } from "./store/errors.js";
import type { ScheduleStore } from "./store/schedule-store.js";

const { VerificationStage } = umbra.ttc.v1;
const { CommandStatus } = umbra.core.v1;
type VerificationStage = umbra.ttc.v1.VerificationStage;

export const TTC_APID = 0x010;
/** Resolution of housekeeping collection intervals (their minimum is 100 ms). */
const HOUSEKEEPING_TICK_MS = 100;
const TELEMETRY_SERVICES = new Set([3, 5, 12, 19]);
const DOWNLINK_TICK_MS = 1_000;
const RETENTION_CHECK_MS = 60_000;
/** Archive queries over the bus: default and largest answers (a full answer stays well inside a bus frame). */
const DEFAULT_QUERY_SAMPLES = 10_000;
const MAX_QUERY_SAMPLES = 100_000;
const DEFAULT_QUERY_EVENTS = 1_000;
const MAX_QUERY_EVENTS = 10_000;

/** An archived sample's value in the TelemetryPoint oneof. */
function pointValue(v: SampleValue): { number: number } | { integer: bigint } | { flag: boolean } | { text: string } {
  if (typeof v === "number") return { number: v };
  if (typeof v === "bigint") return { integer: v };
  if (typeof v === "boolean") return { flag: v };
  return { text: v };
}

export const ttcSpec = defineService({
  name: "ttc",
  apid: TTC_APID,
  description: "Telecommand path: authentication, dispatch, verification, critical commands, time-tagged schedule, command history",
  commands: {
    arm: command(umbra.ttc.v1.ArmCommand, {
      description: "Arm a critical command for one execution within the arm window",
      arguments: { apid: { min: 0, max: 2046 } },
    }),
    setContacts: command(umbra.ttc.v1.ContactSchedule, {
      description: "Replace the uplinked contact plan (windows with their link rate)",
    }),
    retrieve: command(umbra.ttc.v1.RetrieveRange, {
      description: "Queue again for downlink the TM generated in a time range (optionally one APID)",
      arguments: { apid: { min: 0, max: 2046 } },
    }),
    rotateKey: command(umbra.ttc.v1.RotateKey, {
      description: "Activate a standby key and revoke the old one (SPIs 1..65534)",
      critical: true,
      arguments: { oldSpi: { min: 1, max: 65534 }, newSpi: { min: 1, max: 65534 } },
    }),
  },
  telemetry: {
    received: { type: "int", description: "Telecommands received" },
    accepted: { type: "int", description: "Telecommands accepted" },
    rejected: { type: "int", description: "Telecommands rejected at acceptance" },
    authFailures: { type: "int", description: "Telecommands rejected by authentication", warning: { high: 0.5 } },
    completedOk: { type: "int", description: "Commands completed successfully" },
    completedFailed: { type: "int", description: "Commands that failed after acceptance" },
    scheduled: { type: "int", description: "Activities waiting in the time-tagged schedule" },
    productsQueued: { type: "int", description: "Data products queued for downlink (ST[13] segments), not counting repeats" },
    productBytes: { type: "int", unit: "B", description: "Octets of the data products queued for downlink (the products themselves, not their TM)" },
    productsRefused: { type: "int", description: "QueueProduct requests refused (bad input, queue full, no downlink queue)" },
  },
  events: {
    archiveTrimmed: { id: 7, severity: "low", description: "The archive dropped rows to stay within its age or size limit" },
    securityRejected: { id: 1, severity: "high", description: "A telecommand failed authentication; it was not executed" },
    criticalArmed: { id: 2, severity: "info", description: "A critical command was armed" },
    criticalFired: { id: 3, severity: "medium", description: "A critical command was accepted for execution; its arm is used up" },
    scheduleMissed: { id: 4, severity: "medium", description: "A time-tagged command was rejected: its time passed while the payload was down" },
    apidConflict: { id: 5, severity: "low", description: "Two services declared the same APID; the first keeps it" },
    interrupted: { id: 6, severity: "medium", description: "Commands in flight at the last reset were reported as failed" },
  },
  parameters: {
    armWindowMs: { type: "int", default: 30_000, min: 1_000, max: 600_000, unit: "ms", description: "How long an arm stays valid" },
    commandTimeoutMs: { type: "int", default: 10_000, min: 100, max: 600_000, unit: "ms", description: "Time a service has to complete a command" },
    lateToleranceMs: { type: "int", default: 60_000, min: 0, max: 86_400_000, unit: "ms", description: "A time-tagged command missed while down runs late if within this; otherwise it is rejected" },
    scheduleCheckMs: { type: "int", default: 1_000, min: 100, max: 60_000, unit: "ms", description: "How often the schedule is checked for due activities" },
    archiveMaxAgeHours: { type: "int", default: 24 * 30, min: 1, max: 24 * 3650, unit: "h", description: "Archive rows older than this are dropped" },
    archiveFlushMs: {
      type: "int",
      default: 100,
      min: 0,
      max: 10_000,
      unit: "ms",
      description: "Archive rows are written together at most this often (0: each as it comes); a power cut costs the archive at most this much",
    },
    downlinkFlushMs: {
      type: "int",
      default: 100,
      min: 0,
      max: 10_000,
      unit: "ms",
      description:
        "TM copies for the downlink queue are written with the next command commit or at most this much later (0: at the end of each turn, an fsync of their own); a power cut costs the queue at most this much, never a command's record",
    },
    archiveMaxMiB: { type: "int", default: 1024, min: 1, max: 1_048_576, unit: "MiB", description: "Above this size the archive drops its oldest, lowest-priority rows first" },
    linkBytesPerSecond: { type: "int", default: 12_500, min: 100, max: 100_000_000, unit: "B/s", description: "Downlink rate while a station is in view (HIL contacts)" },
  },
});

export interface TtcOptions {
  keys: KeyStore;
  history: CommandHistory;
  schedule: ScheduleStore;
  /** Anti-replay window per SPI (default 64). */
  replayWindow?: number;
  /** CUC format of TM time and ST[11] release times (default 4+2 octets). */
  timeFormat?: CucFormat;
  /**
   * Where anti-replay counters and key rotations survive a reset (required:
   * without it a command recorded before a reset could be replayed after it,
   * and a revoked key would come back from the key file). On the history's
   * database handle: a command and its anti-replay number are written in one
   * transaction.
   */
  security: SecurityState;
  /** Store-and-forward: every TM is queued here and sent by priority while in contact. */
  downlink?: { queue: DownlinkQueue; plan: ContactPlan };
  /** The telemetry archive: every parameter sample, event and verification report. */
  archive?: Archive;
}

/** One command on its way through the stages. */
interface InFlight {
  id: number;
  tc: Tc;
  header: Uint8Array;
  /** APID the reports come from: the TC's, or the TTC's own when the TC's is unknown. */
  reportApid: number;
  service: string;
  command: string;
}

const STAGE_SUBTYPES: Record<number, [number, number]> = {
  [VerificationStage.VERIFICATION_STAGE_ACCEPTANCE]: [1, 2],
  [VerificationStage.VERIFICATION_STAGE_START]: [3, 4],
  [VerificationStage.VERIFICATION_STAGE_PROGRESS]: [5, 6],
  [VerificationStage.VERIFICATION_STAGE_COMPLETION]: [7, 8],
};
const STAGE_NAMES: Record<number, "acceptance" | "start" | "progress" | "completion"> = {
  [VerificationStage.VERIFICATION_STAGE_ACCEPTANCE]: "acceptance",
  [VerificationStage.VERIFICATION_STAGE_START]: "start",
  [VerificationStage.VERIFICATION_STAGE_PROGRESS]: "progress",
  [VerificationStage.VERIFICATION_STAGE_COMPLETION]: "completion",
};
const STAGE_ACK: Record<number, number> = {
  [VerificationStage.VERIFICATION_STAGE_ACCEPTANCE]: Ack.ACCEPTANCE,
  [VerificationStage.VERIFICATION_STAGE_START]: Ack.START,
  [VerificationStage.VERIFICATION_STAGE_PROGRESS]: Ack.PROGRESS,
  [VerificationStage.VERIFICATION_STAGE_COMPLETION]: Ack.COMPLETION,
};

export class TtcService extends Service<typeof ttcSpec> {
  readonly dictionary = new MissionDictionary();
  private readonly keys: KeyStore;
  private readonly antiReplay: AntiReplay;
  private readonly history: CommandHistory;
  private readonly schedule: ScheduleStore;
  private readonly timeFormat: CucFormat | undefined;
  private readonly securityState: SecurityState;
  private readonly downlink: { queue: DownlinkQueue; plan: ContactPlan; pacer: DownlinkPacer; products: ProductStore } | undefined;
  private readonly archive: Archive | undefined;
  private readonly archiveFeed: ArchiveFeed | undefined;
  /** Samples, events or reports the archive refused (bad values from a service), counted. */
  archiveRejected = 0;
  private readonly tmSequence = new SequenceCounters();
  private readonly typeCounters = new Map<string, number>();
  private arms: ArmTable;
  private readonly counts = { received: 0, accepted: 0, rejected: 0, authFailures: 0, completedOk: 0, completedFailed: 0, productsQueued: 0, productBytes: 0, productsRefused: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  /** ST[03]/[05]/[12]/[19]: housekeeping, event reports, monitoring, event-actions. */
  readonly telemetryFunctions: TelemetryFunctions;
  /** Dispatched commands by "<service>/<request sequence>", for their progress reports. */
  private readonly awaitingProgress = new Map<string, InFlight>();
  /** What is said (published) about writes of an open transaction waits here for its commit: see {@link atomically}. */
  private readonly outbox = new Outbox();
  /** The downlinkFlushMs parameter, read at start (0 until then: each TM copy commits at the end of its turn). */
  private downlinkFlushMs = 0;
  /**
   * Telecommands from the links that arrive in one burst, and the completions of one turn, share one commit:
   * see group-commit.ts.
   */
  private readonly group = new GroupCommit({
    atomically: (work) => this.atomically(work),
    inTransaction: () => this.history.database.inTransaction,
    post: (send) => this.outbox.post(send),
    sendFailed: (err) => this.log.error({ err }, "a report after a group commit could not be sent"),
  });

  constructor(context: ServiceContext, options: TtcOptions) {
    super(ttcSpec, context);
    this.keys = options.keys;
    this.antiReplay = new AntiReplay(options.replayWindow === undefined ? {} : { windowSize: options.replayWindow });
    this.history = options.history;
    if (options.security.database !== options.history.database) {
      throw new RangeError("the TTC's SecurityState must use the CommandHistory's database handle: a command and its anti-replay number are written in one transaction");
    }
    this.schedule = options.schedule;
    this.timeFormat = options.timeFormat;
    this.securityState = options.security;
    this.archive = options.archive;
    this.archiveFeed = options.archive
      ? new ArchiveFeed(options.archive, (err) => {
          this.archiveRejected++;
          this.log.warn({ err }, "archive refused a row");
        })
      : undefined;
    if (options.downlink) {
      const { queue, plan } = options.downlink;
      const pacer = new DownlinkPacer({ queue, plan, send: (packets) => this.transmit(packets) });
      this.downlink = { queue, plan, pacer, products: new ProductStore(queue) };
    }
    this.arms = new ArmTable(this.parameters.get("armWindowMs"));
    this.telemetryFunctions = new TelemetryFunctions({
      dictionary: this.dictionary,
      emitTm: (service, subtype, data) => this.emitTm(TTC_APID, service, subtype, data),
      dispatchStored: (packet, link) => this.dispatchStored(packet, link),
      checkStoredPacket: (packet) => this.checkStoredPacket(packet),
      nowNs: () => this.clock.nowTaiNs(),
      monotonicMs: () => this.clock.monotonicMs(),
    });
    const restored = this.securityState.restore(this.keys, this.antiReplay);
    for (const f of restored.failures) this.log.warn({ failure: f }, "key rotation not re-applied");
  }

  protected override onStart(): void {
    this.keep(this.bus.subscribe(umbra.core.v1.ServiceDeclaration, (d) => this.learn(d)));
    // The link name is outside input too: kept short and printable for the history.
    this.keep(this.bus.subscribe(umbra.ttc.v1.TcUplink, (u) => this.uplinkGuarded(u.packet, (u.link || "unknown").replace(/[^\x20-\x7e]/g, "?").slice(0, 64))));
    this.keep(
      this.bus.subscribe(umbra.core.v1.TelemetryReport, (r) => {
        this.archiveSamples(r);
        this.telemetryFunctions.onTelemetry(r);
      }),
    );
    this.keep(
      this.bus.subscribe(umbra.core.v1.Event, (e) => {
        this.archiveEvent(e);
        this.telemetryFunctions.onEvent(e);
      }),
    );
    // Data products from the services (a job's summary): segmented into ST[13] TM and queued, durably, before the reply.
    this.keep(this.bus.serve(umbra.ttc.v1.QueueProduct, umbra.ttc.v1.ProductQueued, (req) => this.queueProduct(req), { target: this.name }));
    // History for ground tools on the bus (the gateway): read from the archive, never from a service's own files.
    this.keep(this.bus.serve(umbra.ttc.v1.QueryTelemetry, umbra.ttc.v1.TelemetrySeries, (q) => this.queryTelemetry(q), { target: this.name }));
    this.keep(this.bus.serve(umbra.ttc.v1.QueryEvents, umbra.ttc.v1.EventList, (q) => this.queryEvents(q), { target: this.name }));
    this.every(HOUSEKEEPING_TICK_MS, () => this.telemetryFunctions.tick());
    if (this.archive) this.every(RETENTION_CHECK_MS, () => this.trimArchive());
    // Read once at start, like scheduleCheckMs; 0 writes each row as it comes.
    const flushMs = this.parameters.get("archiveFlushMs");
    if (this.archiveFeed && flushMs > 0) this.every(flushMs, () => this.archiveFeed!.flush());
    if (this.downlink) {
      const downlink = this.downlink;
      // Read once at start too: the TM copies for the queue ride the command commits, and this timer writes what none carried.
      this.downlinkFlushMs = this.parameters.get("downlinkFlushMs");
      if (this.downlinkFlushMs > 0) this.every(this.downlinkFlushMs, () => this.flushDownlinkCopies());
      // A station in view in the HIL environment is a contact (an uplinked plan covers the rest).
      this.keep(
        this.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
          downlink.plan.observe(this.clock.nowTaiNs(), (e.orbit?.stationsInView.length ?? 0) > 0, this.parameters.get("linkBytesPerSecond"));
        }),
      );
      this.every(DOWNLINK_TICK_MS, () => {
        this.flushDownlinkCopies(); // the pacer sends from the queue on disk
        void downlink.pacer.tick(this.clock.nowTaiNs(), BigInt(DOWNLINK_TICK_MS) * 1_000_000n).catch((err: unknown) => this.log.error({ err }, "downlink tick failed"));
      });
    }
    this.keep(
      this.bus.subscribe(umbra.core.v1.CommandProgress, (p) => {
        if (p.requestSource !== this.bus.node) return;
        const f = this.awaitingProgress.get(`${p.service}/${p.requestSequence}`);
        if (f) this.verify(f, VerificationStage.VERIFICATION_STAGE_PROGRESS, undefined, p.detail, p.step);
      }),
    );
    // Services that started before us publish their declarations again on this.
    this.bus.publish(umbra.core.v1.DescribeRequest, { service: "" }, { priority: Priority.PRIORITY_COMMAND });
    // Recover once the declarations asked for above have had a tick to arrive, so
    // late activities find their services; nothing is released before that.
    this.reportInterrupted();
    this.after(this.parameters.get("scheduleCheckMs"), () => this.recoverSchedule());
    this.every(this.parameters.get("scheduleCheckMs"), () => this.releaseDue());
    this.every(10_000, () => this.report());
  }

  protected override onParametersChanged(changed: string[]): void {
    if (changed.includes("armWindowMs")) this.arms = new ArmTable(this.parameters.get("armWindowMs"));
  }

  /** Events raised inside a transaction (criticalFired, securityRejected) go out after its commit. */
  protected override event(name: keyof (typeof ttcSpec)["events"] & string, message: string, args: Record<string, string> = {}): void {
    this.outbox.post(() => super.event(name, message, args));
  }

  /**
   * Runs `work` as ONE transaction on the TTC database (the command history,
   * the security state and the schedule share it) and publishes what it said
   * only after the commit: one fsync for everything a telecommand's
   * acceptance writes, instead of one per write. The rules still hold, at
   * that commit: the anti-replay number and the command are on disk before
   * anything is acknowledged, and each stage is recorded before its reports
   * go out. If `work` throws, it is rolled back and nothing of it is said.
   */
  private atomically<T>(work: () => T): T {
    return this.outbox.run((w) => this.history.transaction(w), work);
  }

  protected override async onStop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.flushGroup();
    this.archiveFeed?.flush();
  }

  protected commands(): CommandHandlers<typeof ttcSpec> {
    return {
      arm: ({ apid, function: fn }) => {
        const entry = this.dictionary.service(apid)?.commands.get(fn);
        if (!entry) throw new CommandRejected("argument", `no command ${fn} at APID ${apid}`);
        if (!entry.critical) throw new CommandRejected("argument", `${entry.service}.${fn} is not critical; it needs no arm`);
        const expiry = this.arms.arm(apid, fn, this.clock.monotonicMs());
        const seconds = Math.round((expiry - this.clock.monotonicMs()) / 1000);
        this.event("criticalArmed", `${entry.service}.${fn} armed for ${seconds} s`, { service: entry.service, command: fn });
        return `${entry.service}.${fn} armed for ${seconds} s`;
      },
      setContacts: ({ windows }) => {
        if (!this.downlink) throw new CommandRejected("precondition", "this TTC has no downlink queue");
        try {
          this.downlink.plan.setSchedule(windows.map((w) => ({ startNs: w.startNs, endNs: w.endNs, bytesPerSecond: w.bytesPerSecond, station: w.station })));
        } catch (err) {
          throw new CommandRejected("argument", (err as Error).message);
        }
        return `${windows.length} contact window(s) planned`;
      },
      retrieve: ({ fromNs, toNs, apid }) => {
        if (!this.downlink) throw new CommandRejected("precondition", "this TTC has no downlink queue");
        if (toNs < fromNs) throw new CommandRejected("argument", "toNs is before fromNs");
        this.flushDownlinkCopies();
        const r = this.downlink.queue.retrieve(fromNs, toNs, apid ? { apid } : {});
        return `${r.ids.length} packet(s) queued again`;
      },
      rotateKey: ({ oldSpi, newSpi }) => {
        try {
          this.keys.rotate(oldSpi, newSpi);
        } catch (err) {
          throw new CommandRejected("precondition", (err as Error).message);
        }
        this.securityState.rotated(oldSpi, newSpi, this.clock.nowTaiNs());
        return `SPI ${newSpi} active, SPI ${oldSpi} revoked`;
      },
    };
  }

  /** Waits for every command in flight (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size || this.group.waiting) {
      await Promise.allSettled([...this.inFlight]);
      this.flushGroup();
    }
  }

  /** Commits what waits for a group commit, and what that commit's reports queued in turn (TM for the downlink). */
  private flushGroup(): void {
    for (let round = 0; round < 10 && this.group.waiting; round++) this.group.flush();
  }

  /** Writes the TM copies no command commit has carried yet: before the queue is read, and every `downlinkFlushMs`. */
  private flushDownlinkCopies(): void {
    if (this.group.waitingBehind) this.group.flush();
  }

  // ---- dictionary -----------------------------------------------------------

  private learn(d: MessageOf<typeof umbra.core.v1.ServiceDeclaration>): void {
    if (d.apid === TTC_APID && d.name !== this.name) {
      this.event("apidConflict", `${d.name}: APID ${TTC_APID} is the TTC's`, { service: d.name, apid: String(d.apid) });
      return;
    }
    const r = this.dictionary.update(d);
    if (!r.ok) this.event("apidConflict", `${d.name}: ${r.reason}`, { service: d.name, apid: String(d.apid) });
    else this.telemetryFunctions.learned(d);
  }

  // ---- uplink -----------------------------------------------------------------

  // Nothing a ground link sends may take the TTC down or go unreported.
  // Packets of one burst are accepted in one commit (group-commit.ts); each in its own savepoint.
  private uplinkGuarded(packet: Uint8Array, link: string): void {
    void this.group.add(
      () => this.receive(packet, link),
      (err) => this.uplinkFailed(packet, link, err),
    );
  }

  /** A packet whose handling threw (rolled back): reported as an acceptance failure, not recorded. */
  private uplinkFailed(packet: Uint8Array, link: string, err: unknown): void {
    this.log.error({ err, link }, "telecommand handling failed");
    const f: InFlight = {
      id: 0,
      tc: { apid: TTC_APID, sequenceCount: 0, ack: Ack.ALL, service: 0, subtype: 0, sourceId: 0, appData: new Uint8Array(0) },
      header: packet.length >= 4 ? packet.subarray(0, 4) : new Uint8Array(4),
      reportApid: TTC_APID,
      service: "",
      command: "",
    };
    this.verify(f, VerificationStage.VERIFICATION_STAGE_ACCEPTANCE, new Failure(FailureCode.FAILURE_EXECUTION, `internal error: ${(err as Error).message}`));
  }

  /**
   * Handles one packet from a ground link (or released from the schedule,
   * already authenticated): everything up to the start stage in one
   * transaction, then its reports and the work ({@link atomically}).
   */
  uplink(packet: Uint8Array, link: string, trusted?: SecureTc): void {
    this.atomically(() => this.receive(packet, link, trusted));
  }

  private receive(packet: Uint8Array, link: string, trusted?: SecureTc): void {
    const now = this.clock.nowTaiNs();
    this.counts.received++;
    const header = packet.subarray(0, 4);
    let tc: SecureTc;
    if (trusted) {
      tc = trusted;
    } else {
      const primary = decodePrimaryHeader(packet);
      const auth = authenticateTc(packet, this.keys, this.antiReplay);
      if (!auth.ok) {
        const e = auth.error;
        const code = e.reason === "bad-crc" ? FailureCode.FAILURE_BAD_CRC : isSecurityFailure(e.reason) ? FailureCode.FAILURE_AUTHENTICATION : FailureCode.FAILURE_BAD_LENGTH;
        const apid = primary.ok ? primary.value.apid : TTC_APID;
        const detail = `${e.field}: ${e.reason}${e.detail ? ` (${e.detail})` : ""}`;
        if (code === FailureCode.FAILURE_AUTHENTICATION) this.securityRejected(link, detail, e.reason, apid, packet);
        this.counts.rejected++;
        // A packet that cannot be parsed has no trustworthy identity: report, and record it if the header reads.
        let id = 0;
        if (primary.ok && primary.value.type === 1) {
          // Its identity cannot be trusted, so it must not block the real command that carries it.
          id = this.history.received(
            {
              receivedNs: now,
              link,
              apid: primary.value.apid,
              sequenceCount: primary.value.sequenceCount,
              sourceId: 0,
              service: 0,
              subtype: 0,
              spi: null,
              packet: packet.subarray(0, Math.min(packet.length, 65542)),
            },
            { deduplicate: false },
          );
        }
        const flight: InFlight = {
          id,
          tc: { apid, sequenceCount: primary.ok ? primary.value.sequenceCount : 0, ack: Ack.ALL, service: 0, subtype: 0, sourceId: 0, appData: new Uint8Array(0) },
          header: packet.length >= 4 ? header : new Uint8Array(4),
          reportApid: apid <= 2046 ? apid : TTC_APID,
          service: "",
          command: "",
        };
        this.verify(flight, VerificationStage.VERIFICATION_STAGE_ACCEPTANCE, new Failure(code, detail));
        return;
      }
      tc = auth.tc;
      // The window moved: remember it before anything is acknowledged.
      this.securityState.accepted(tc.spi, tc.securitySequence);
      if (auth.rest && auth.rest.length > 0) {
        // Bytes beyond the packet's own length are not part of what was authenticated.
        this.counts.rejected++;
        const flight: InFlight = { id: 0, tc, header, reportApid: this.dictionary.service(tc.apid) ? tc.apid : TTC_APID, service: "", command: "" };
        this.verify(flight, VerificationStage.VERIFICATION_STAGE_ACCEPTANCE, new Failure(FailureCode.FAILURE_BAD_LENGTH, `${auth.rest.length} octets after the end of the packet`));
        return;
      }
    }
    this.accept(tc, header, link, packet, now, trusted !== undefined);
  }

  private securityRejected(link: string, detail: string, reason: string, apid: number, packet: Uint8Array): void {
    this.counts.authFailures++;
    const spi = packet.length >= 8 ? (packet[6]! << 8) | packet[7]! : 0;
    const at = this.clock.nowTaiNs();
    this.outbox.post(() => this.bus.publish(umbra.ttc.v1.SecurityEvent, { missionTimeNs: at, link, spi, reason, apid }, { priority: Priority.PRIORITY_SAFETY }));
    this.event("securityRejected", `telecommand on ${link} rejected: ${detail}`, { link, reason, spi: String(spi) });
  }

  /**
   * `stored`: a command authenticated when it was stored (a schedule activity,
   * an event-action). It runs each time it is due, so the duplicate rule, which
   * guards the uplink against repeats, does not apply to it.
   */
  private accept(tc: SecureTc, header: Uint8Array, link: string, packet: Uint8Array, now: bigint, stored = false): void {
    const record = {
      receivedNs: now,
      link,
      apid: tc.apid,
      sequenceCount: tc.sequenceCount,
      sourceId: tc.sourceId,
      service: tc.service,
      subtype: tc.subtype,
      spi: trustedSpi(tc),
      packet,
    };
    let id: number;
    let duplicate = false;
    try {
      // On disk before anything is acknowledged; the store refuses a repeat inside its window.
      id = this.history.received(record, { deduplicate: !stored });
    } catch (err) {
      if (!(err instanceof DuplicateRequestError)) throw err;
      duplicate = true;
      id = this.history.received(record, { deduplicate: false });
    }
    const known = tc.apid === TTC_APID || this.dictionary.service(tc.apid) !== undefined;
    const flight: InFlight = { id, tc, header, reportApid: known ? tc.apid : TTC_APID, service: "", command: "" };
    try {
      if (duplicate) throw new Failure(FailureCode.FAILURE_DUPLICATE, `(source ${tc.sourceId}, APID ${tc.apid}, sequence ${tc.sequenceCount}) was already received`);
      const run = this.route(flight);
      this.counts.accepted++;
      this.verify(flight, VerificationStage.VERIFICATION_STAGE_ACCEPTANCE);
      this.verify(flight, VerificationStage.VERIFICATION_STAGE_START);
      // The work starts once acceptance and start are on disk and reported (after the commit, in order).
      this.outbox.post(() => {
        const done = this.execute(flight, run).finally(() => this.inFlight.delete(done));
        this.inFlight.add(done);
      });
    } catch (err) {
      this.counts.rejected++;
      this.verify(flight, VerificationStage.VERIFICATION_STAGE_ACCEPTANCE, toFailure(err));
    }
  }

  /**
   * Everything that can be checked before anything runs: the route, the
   * arguments, the arm. Throws a Failure (acceptance fails); returns the work.
   */
  private route(f: InFlight): () => Promise<string> {
    const { tc } = f;
    const entry = tc.apid === TTC_APID ? this.dictionary.serviceNamed(this.name) : this.dictionary.service(tc.apid);
    if (!entry && tc.apid !== TTC_APID) throw new Failure(FailureCode.FAILURE_BAD_APID, `no service has APID ${tc.apid}`);
    f.service = entry?.name ?? this.name;
    const key = `${tc.service},${tc.subtype}`;
    switch (key) {
      case "17,1":
        f.command = "are-you-alive";
        return async () => {
          if (f.service !== this.name) {
            await this.bus.request(umbra.core.v1.DescribeRequest, { service: f.service }, umbra.core.v1.ServiceDeclaration, {
              target: f.service,
              timeoutMs: this.parameters.get("commandTimeoutMs"),
            });
          }
          this.emitTm(f.reportApid, 17, 2, new Uint8Array(0));
          return "alive";
        };
      case "8,1": {
        const call = decodeFunctionCall(tc.appData);
        if (!call.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${call.field}: ${call.reason}`);
        const cmd = entry?.commands.get(call.value.name);
        if (!cmd) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${f.service} has no function ${call.value.name}`);
        f.command = cmd.name;
        const args = this.decodeArguments(cmd, call.value.args);
        if (cmd.critical) {
          const fire = this.arms.fire(tc.apid, cmd.name, this.clock.monotonicMs());
          if (!fire.ok) throw new Failure(FailureCode.FAILURE_PRECONDITION, `${cmd.service}.${cmd.name} is critical and ${fire.reason}`);
          this.event("criticalFired", `${cmd.service}.${cmd.name} accepted for execution`, { service: cmd.service, command: cmd.name });
        }
        this.history.resolved(f.id, { targetService: cmd.service, command: cmd.name, argumentsJson: JSON.stringify(args, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v)) });
        return async () => {
          let key = "";
          const result = await sendCommand(this.bus, cmd.service, messageClassByName(cmd.argumentType)!, args as never, {
            timeoutMs: this.parameters.get("commandTimeoutMs"),
            // Progress reports from the service name this request: remember which command it is.
            onSent: (sequence) => {
              key = `${cmd.service}/${sequence}`;
              this.awaitingProgress.set(key, f);
            },
          })
            .finally(() => this.awaitingProgress.delete(key))
            .catch((err: unknown) => {
            if (err instanceof BusTimeoutError) throw new Failure(FailureCode.FAILURE_TIMEOUT, `${cmd.service} did not complete ${cmd.name} within ${err.timeoutMs} ms`);
            if (err instanceof BusRemoteError) throw new Failure(FailureCode.FAILURE_EXECUTION, err.remoteMessage);
            throw err;
          });
          return commandOutcome(result);
        };
      }
      case "20,1": {
        const names = decodeParameterNames(tc.appData);
        if (!names.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${names.field}: ${names.reason}`);
        f.command = "report-parameters";
        return async () => {
          const report = await this.bus.request(umbra.core.v1.GetParameters, { service: f.service, names: names.value }, umbra.core.v1.ParameterReport, {
            target: f.service,
            timeoutMs: this.parameters.get("commandTimeoutMs"),
          });
          if (!report.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, report.error);
          const values = report.values.map((v) => ({ name: v.name, value: plainValue(v.value) }));
          this.emitTm(f.reportApid, 20, 2, encodeParameterValues(values));
          return `${values.length} parameters reported`;
        };
      }
      case "20,3": {
        const values = decodeParameterValues(tc.appData);
        if (!values.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${values.field}: ${values.reason}`);
        if (values.value.length === 0) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, "no parameters to set");
        f.command = "set-parameters";
        return async () => {
          const report = await this.bus.request(
            umbra.core.v1.SetParameters,
            { service: f.service, values: values.value.map((v) => ({ name: v.name, value: valueMessage(v.value) })) },
            umbra.core.v1.ParameterReport,
            { target: f.service, timeoutMs: this.parameters.get("commandTimeoutMs") },
          );
          // All or nothing: the service applied none of them if it said no.
          if (!report.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, report.error);
          return `${values.value.length} parameters set`;
        };
      }
      default:
        if (tc.apid === TTC_APID && tc.service === 11) return this.routeSchedule(f);
        if (tc.apid === TTC_APID && TELEMETRY_SERVICES.has(tc.service)) {
          return this.telemetryFunctions.route(tc.service, tc.subtype, tc.appData, (name) => {
            f.command = name;
          });
        }
        throw new Failure(FailureCode.FAILURE_UNKNOWN_SERVICE, `service ${tc.service} subtype ${tc.subtype} is not supported at APID ${tc.apid}`);
    }
  }

  private decodeArguments(cmd: CommandEntry, bytes: Uint8Array): Record<string, unknown> {
    const codec = codecByName(cmd.argumentType);
    if (!codec) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `argument type ${cmd.argumentType} is unknown here`);
    let args: Record<string, unknown>;
    try {
      args = codec.decode(bytes) as Record<string, unknown>;
    } catch (err) {
      throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, (err as Error).message);
    }
    const problem = checkArgumentRules(cmd.rules, args);
    if (problem) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, problem);
    return args;
  }

  private routeSchedule(f: InFlight): () => Promise<string> {
    const { tc } = f;
    const notBefore = this.clock.nowTaiNs();
    switch (tc.subtype) {
      case 1:
      case 2:
        f.command = tc.subtype === 1 ? "enable-release" : "disable-release";
        return async () => {
          this.schedule.setEnabled(tc.subtype === 1);
          return `release ${tc.subtype === 1 ? "enabled" : "disabled"}`;
        };
      case 4: {
        const items = decodeInsertActivities(tc.appData, this.timeFormat);
        if (!items.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${items.field}: ${items.reason}`);
        f.command = "insert-activities";
        // Each activity is a whole TC: it must authenticate now, when it is uplinked.
        const checked = items.value.map((it, i) => {
          const auth = this.authenticateStored(it.packet, "schedule", tc.apid);
          if (!auth.ok) throw new Failure(auth.code, `activities[${i}]: ${auth.reason}`);
          const releaseNs = cucToTaiNs(it.release, this.timeFormat);
          if (releaseNs <= notBefore) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `activities[${i}]: release time is in the past`);
          return { releaseNs, apid: auth.tc.apid, sequenceCount: auth.tc.sequenceCount, sourceId: auth.tc.sourceId, packet: it.packet };
        });
        return async () => {
          try {
            this.schedule.insert(checked);
          } catch (err) {
            throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, (err as Error).message);
          }
          return `${checked.length} activities scheduled`;
        };
      }
      case 5: {
        const ids = decodeRequestIds(tc.appData);
        if (!ids.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${ids.field}: ${ids.reason}`);
        f.command = "delete-activities";
        return async () => {
          let n = 0;
          for (const id of ids.value) n += this.schedule.delete(id);
          if (n === 0) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, "no such activities");
          return `${n} activities deleted`;
        };
      }
      case 15: {
        const shift = decodeTimeShift(tc.appData);
        if (!shift.ok) throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${shift.field}: ${shift.reason}`);
        f.command = "time-shift";
        return async () => {
          try {
            this.schedule.timeShift(shift.value * 1_000_000n, { notBeforeNs: this.clock.nowTaiNs() });
          } catch (err) {
            throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, (err as Error).message);
          }
          return `schedule shifted by ${shift.value} ms`;
        };
      }
      case 16:
        f.command = "report-schedule";
        return async () => {
          const items = this.schedule.list().slice(0, 0xffff);
          // Count, then per activity: release time (CUC, the configured format) and its request id.
          const parts: Uint8Array[] = [Buffer.from([items.length >> 8, items.length & 0xff])];
          for (const it of items) {
            const id = Buffer.alloc(6);
            id.writeUInt16BE(it.sourceId, 0);
            id.writeUInt16BE(it.apid, 2);
            id.writeUInt16BE(it.sequenceCount, 4);
            parts.push(encodeCuc(taiNsToCuc(it.releaseNs, this.timeFormat), this.timeFormat), id);
          }
          this.emitTm(TTC_APID, 11, 10, Buffer.concat(parts));
          return `${items.length} activities reported`;
        };
      default:
        throw new Failure(FailureCode.FAILURE_UNKNOWN_SERVICE, `service 11 subtype ${tc.subtype} is not supported`);
    }
  }

  /** Runs an accepted command's work (its start stage is already recorded) and reports its completion. */
  private async execute(f: InFlight, run: () => Promise<string>): Promise<void> {
    let failure: Failure | undefined;
    let detail = "";
    try {
      detail = await run();
      this.counts.completedOk++;
    } catch (err) {
      this.counts.completedFailed++;
      failure = err instanceof BusTimeoutError ? new Failure(FailureCode.FAILURE_TIMEOUT, err.message) : toFailure(err);
    }
    // Completions of one burst share one commit (group-commit.ts). If that commit fails, the stage is
    // recorded on its own (or logged as not recorded) and reported all the same.
    const complete = () => this.verify(f, VerificationStage.VERIFICATION_STAGE_COMPLETION, failure, detail);
    await this.group.add(complete, complete, "turn");
  }

  // ---- reports ------------------------------------------------------------------

  private verify(f: InFlight, stage: VerificationStage, failure?: Failure, detail = "", step?: number): void {
    const now = this.clock.nowTaiNs();
    const success = failure === undefined;
    const code = failure?.code ?? FailureCode.FAILURE_NONE;
    const text = failure?.message ?? detail;
    if (this.bus.isClosed) return; // shutting down: the command stays open and is reported after the restart
    if (f.id > 0) {
      try {
        this.history.stage(f.id, { stage: STAGE_NAMES[stage]!, success, code: success ? null : code, detail: text, atNs: now, ...(step === undefined ? {} : { step }) });
      } catch (err) {
        // The report still goes down; the history says why it could not be kept.
        this.log.error({ err, command: f.id }, "stage not recorded");
      }
    }
    // Recorded first; reported now, or, inside a transaction, once it has committed.
    const { service, command } = f;
    this.outbox.post(() => {
      this.archiveVerification(f, stage, success, code, text, now);
      this.bus.publish(
        umbra.ttc.v1.Verification,
        {
          commandId: BigInt(f.id),
          apid: f.tc.apid,
          sequenceCount: f.tc.sequenceCount,
          sourceId: f.tc.sourceId,
          stage,
          success,
          code,
          detail: text,
          missionTimeNs: now,
          service,
          command,
          step: step ?? 0,
        },
        { priority: Priority.PRIORITY_COMMAND },
      );
      // Failures are always reported; successes when the TC asked for them.
      if (!success || (f.tc.ack & STAGE_ACK[stage]!) !== 0) {
        const [ok, bad] = STAGE_SUBTYPES[stage]!;
        this.emitTm(f.reportApid, 1, success ? ok : bad, encodeVerification(f.header, failure ? { code, detail: text } : undefined, step), f.tc.sourceId);
      }
    });
  }

  // ---- data products (ST[13]) ---------------------------------------------------------

  /**
   * Answers a QueueProduct: the product's segments are in the downlink queue
   * (one transaction, on disk) before the reply, or the reply is an error and
   * nothing was queued. A repeat of (source, productId) gets the first answer.
   */
  private queueProduct(req: MessageOf<typeof umbra.ttc.v1.QueueProduct>): MessageOf<typeof umbra.ttc.v1.ProductQueued> {
    const refuse = (reason: string): never => {
      this.counts.productsRefused++;
      this.log.warn({ source: req.source.slice(0, 64), productId: req.productId.slice(0, 64), reason }, "product not queued");
      throw new Error(`product not queued: ${reason}`);
    };
    if (!this.downlink) return refuse("this TTC has no downlink queue");
    const now = this.clock.nowTaiNs();
    const draft = this.draftTm(TTC_APID, now);
    let r: ProductQueueResult;
    try {
      this.flushDownlinkCopies(); // the product's segments go after the TM already said
      r = this.downlink.products.queue(
        { source: req.source, productId: req.productId, kind: req.kind, data: req.data },
        { nowNs: now, apid: TTC_APID, build: (_n, segments) => segments.map((s) => draft.build(PRODUCT_SERVICE, s)) },
      );
    } catch (err) {
      if (err instanceof InvalidFieldError || err instanceof DownlinkFullError) return refuse(err.message);
      this.log.error({ err }, "product queueing failed");
      return refuse(`internal error: ${(err as Error).message}`);
    }
    if (r.duplicate) {
      this.log.info({ source: r.source, productId: r.productId, productNumber: r.productNumber }, "product already queued; not queued again");
    } else {
      // Only now do the TM counters move on: a refused product leaves no gap in them.
      const packets = draft.commit();
      this.counts.productsQueued++;
      this.counts.productBytes += r.dataBytes;
      if (r.dropped.length) this.log.warn({ dropped: r.dropped.length, productNumber: r.productNumber }, "downlink queue dropped older packets to make room for a product");
      for (const { bytes, tm } of packets) {
        this.bus.publish(
          umbra.ttc.v1.TmDownlink,
          { packet: bytes, apid: TTC_APID, service: PRODUCT_SERVICE, subtype: tm.subtype, missionTimeNs: now, sequenceCount: tm.sequenceCount },
          { priority: Priority.PRIORITY_BULK },
        );
      }
    }
    return { productId: r.productId, packets: r.packets, bytes: BigInt(r.packetBytes), duplicate: r.duplicate, productNumber: r.productNumber };
  }

  /**
   * Builds TM packets at one APID without moving the TTC's counters (packet
   * sequence count, message type counters) until `commit`, so packets that
   * end up not queued leave no gap the ground would read as a loss.
   */
  private draftTm(apid: number, now: bigint) {
    const firstCount = this.tmSequence.peek(apid);
    const counters = new Map<string, number>();
    const built: { bytes: Uint8Array; tm: { subtype: number; sequenceCount: number } }[] = [];
    return {
      build: (service: number, segment: ProductSegmentData): Uint8Array => {
        const typeKey = `${apid}/${service}/${segment.subtype}`;
        const counter = ((counters.get(typeKey) ?? this.typeCounters.get(typeKey) ?? -1) + 1) & 0xffff;
        counters.set(typeKey, counter);
        const sequenceCount = (firstCount + built.length) % 16_384;
        const bytes = encodeTm(
          { apid, sequenceCount, timeRefStatus: 0, service, subtype: segment.subtype, messageTypeCounter: counter, destinationId: 0, time: taiNsToCuc(now, this.timeFormat), appData: segment.appData },
          this.timeFormat === undefined ? {} : { timeFormat: this.timeFormat },
        );
        built.push({ bytes, tm: { subtype: segment.subtype, sequenceCount } });
        return bytes;
      },
      commit: () => {
        this.tmSequence.set(apid, (firstCount + built.length) % 16_384);
        for (const [k, n] of counters) this.typeCounters.set(k, n);
        return built;
      },
    };
  }

  /** Sends a TM packet: now, or inside a transaction once it has committed (so its counters move only then). */
  private emitTm(apid: number, service: number, subtype: number, appData: Uint8Array, destinationId = 0): void {
    this.outbox.post(() => this.sendTm(apid, service, subtype, appData, destinationId));
  }

  private sendTm(apid: number, service: number, subtype: number, appData: Uint8Array, destinationId: number): void {
    const now = this.clock.nowTaiNs();
    const typeKey = `${apid}/${service}/${subtype}`;
    const counter = ((this.typeCounters.get(typeKey) ?? -1) + 1) & 0xffff;
    this.typeCounters.set(typeKey, counter);
    const sequenceCount = this.tmSequence.next(apid);
    const packet = encodeTm(
      { apid, sequenceCount, timeRefStatus: 0, service, subtype, messageTypeCounter: counter, destinationId, time: taiNsToCuc(now, this.timeFormat), appData },
      this.timeFormat === undefined ? {} : { timeFormat: this.timeFormat },
    );
    this.bus.publish(
      umbra.ttc.v1.TmDownlink,
      { packet, apid, service, subtype, missionTimeNs: now, sequenceCount },
      { priority: service === 1 ? Priority.PRIORITY_COMMAND : Priority.PRIORITY_TELEMETRY },
    );
    // Store and forward: on disk before the next contact, sent by priority. A copy rides the next command
    // commit, or goes at most downlinkFlushMs later (group-commit.ts): a commit of its own was an fsync each
    // turn, two per command at low rates. It is telemetry, not an acknowledgement (the command history has
    // every stage, written before its report), so a power cut may cost the queue the last downlinkFlushMs.
    if (this.downlink && !this.bus.isClosed) {
      const queue = this.downlink.queue;
      const options = { priority: downlinkPriority(service, subtype), generatedNs: now, apid, service, subtype };
      const work = () => void queue.enqueue(packet, options);
      const failed = (err: unknown) => this.log.error({ err, apid, service, subtype }, "TM not queued for downlink");
      void (this.downlinkFlushMs > 0 ? this.group.addBehind(work, failed) : this.group.add(work, failed, "turn"));
    }
  }

  // ---- archive queries ------------------------------------------------------------

  private queryTelemetry(q: MessageOf<typeof umbra.ttc.v1.QueryTelemetry>): InitOf<typeof umbra.ttc.v1.TelemetrySeries> {
    const head = { service: q.service, name: q.name };
    if (!this.archive) return { ...head, error: "this TTC keeps no archive" };
    if (q.limit > MAX_QUERY_SAMPLES) return { ...head, error: `limit ${q.limit} is above the most a query returns, ${MAX_QUERY_SAMPLES}` };
    const limit = q.limit === 0 ? DEFAULT_QUERY_SAMPLES : q.limit;
    this.archiveFeed?.flush();
    try {
      // One more than asked tells whether the range held more.
      const series = this.archive.samples(q.service, q.name, BigInt(q.fromNs), BigInt(q.toNs), { limit: limit + 1 });
      const n = Math.min(series.length, limit);
      const points: InitOf<typeof umbra.ttc.v1.TelemetryPoint>[] = [];
      for (let i = 0; i < n; i++) points.push({ tNs: series.tNs[i]!, ...pointValue(series.values[i]!) });
      return { ...head, points, truncated: series.length > limit };
    } catch (err) {
      if (err instanceof InvalidFieldError) return { ...head, error: err.message };
      this.log.error({ err }, "telemetry query failed");
      return { ...head, error: `internal error: ${(err as Error).message}` };
    }
  }

  private queryEvents(q: MessageOf<typeof umbra.ttc.v1.QueryEvents>): InitOf<typeof umbra.ttc.v1.EventList> {
    if (!this.archive) return { error: "this TTC keeps no archive" };
    if (q.limit > MAX_QUERY_EVENTS) return { error: `limit ${q.limit} is above the most a query returns, ${MAX_QUERY_EVENTS}` };
    const limit = q.limit === 0 ? DEFAULT_QUERY_EVENTS : q.limit;
    this.archiveFeed?.flush();
    try {
      const events = this.archive.events({
        fromNs: BigInt(q.fromNs),
        toNs: BigInt(q.toNs),
        limit: limit + 1,
        ...(q.minSeverity ? { minSeverity: q.minSeverity as SeverityName } : {}),
        ...(q.service ? { service: q.service } : {}),
      });
      return {
        events: events.slice(0, limit).map((e) => ({ tNs: e.tNs, service: e.service, id: e.id, name: e.name, severity: e.severity, message: e.message, argsJson: JSON.stringify(e.args) })),
        truncated: events.length > limit,
      };
    } catch (err) {
      if (err instanceof InvalidFieldError) return { error: err.message };
      this.log.error({ err }, "event query failed");
      return { error: `internal error: ${(err as Error).message}` };
    }
  }

  // ---- archive ---------------------------------------------------------------------

  // One transaction per report: on disk when this returns. A bad sample is
  // dropped and counted, not allowed to lose the rest of its report.
  private archiveSamples(r: MessageOf<typeof umbra.core.v1.TelemetryReport>): void {
    if (!this.archive) return;
    const batch: SampleInput[] = [];
    for (const s of r.samples) {
      const v = s.value;
      const value = v?.kind === "boolValue" ? v.boolValue : v?.kind === "intValue" ? v.intValue : v?.kind === "floatValue" ? v.floatValue : v?.kind === "stringValue" ? v.stringValue : undefined;
      const sample = { service: r.service, name: s.name, tNs: r.missionTimeNs, value };
      try {
        validateSample(sample);
        batch.push(sample as SampleInput);
      } catch {
        this.archiveRejected++;
      }
    }
    if (batch.length) this.toArchive((feed) => feed.addSamples(batch));
  }

  private archiveEvent(e: MessageOf<typeof umbra.core.v1.Event>): void {
    if (!this.archive) return;
    const severity = (["info", "info", "low", "medium", "high"] as const)[e.severity] ?? "low";
    this.toArchive((feed) => feed.addEvent({ tNs: e.missionTimeNs, service: e.service, id: e.id, name: e.name || "unnamed", severity, message: e.message, args: { ...e.args } }));
  }

  private archiveVerification(f: InFlight, stage: VerificationStage, success: boolean, code: FailureCode, detail: string, now: bigint): void {
    if (!this.archive || f.id <= 0) return;
    this.toArchive((feed) =>
      feed.addVerification({ tNs: now, commandId: f.id, apid: f.tc.apid, sequenceCount: f.tc.sequenceCount, stage: STAGE_NAMES[stage]!, success, code: success ? null : code, detail }),
    );
  }

  private trimArchive(): void {
    const archive = this.archive;
    if (!archive) return;
    this.archiveFeed?.flush();
    const r = archive.applyRetention({
      nowNs: this.clock.nowTaiNs(),
      maxAgeNs: BigInt(this.parameters.get("archiveMaxAgeHours")) * 3_600_000_000_000n,
      maxBytes: this.parameters.get("archiveMaxMiB") * 1024 * 1024,
    });
    const counts = Object.entries(r.dropped).map(([cls, d]) => [cls, d.byAge + d.bySize] as const);
    const dropped = counts.reduce((a, [, n]) => a + n, 0);
    if (dropped > 0) this.event("archiveTrimmed", `archive dropped ${dropped} row(s)`, Object.fromEntries(counts.map(([k, n]) => [k, String(n)])));
  }

  private toArchive(add: (feed: ArchiveFeed) => void): void {
    const feed = this.archiveFeed;
    if (!feed) return;
    add(feed);
    if (this.parameters.get("archiveFlushMs") === 0) feed.flush();
  }

  // The link layer confirms, or the packets go back to the queue.
  private async transmit(packets: readonly DownlinkPacket[]): Promise<boolean> {
    const r = await this.bus.request(umbra.ttc.v1.TransmitPackets, { packets: packets.map((p) => p.packet) }, umbra.ttc.v1.TransmitResult, {
      target: "downlink",
      timeoutMs: 5_000,
      priority: Priority.PRIORITY_TELEMETRY,
    });
    return r.confirmed;
  }

  private report(): void {
    this.telemetry({ ...this.counts, scheduled: this.schedule.list().length });
  }

  // ---- schedule and reset ---------------------------------------------------------

  private recovered = false;

  private releaseDue(): void {
    if (!this.recovered || !this.schedule.isEnabled()) return;
    const now = this.clock.nowTaiNs();
    for (const item of this.schedule.due(now)) this.release(item.id, item.packet, now, "released");
  }

  // Marked released before it runs, so a reset in between cannot run it twice.
  private release(id: number, packet: Uint8Array, now: bigint, how: string): void {
    this.schedule.markReleased(id, now);
    this.dispatchStored(packet, `schedule:${how}`);
  }

  /** Runs a TC that was authenticated when it was stored (schedule, event-action). */
  private dispatchStored(packet: Uint8Array, link: string): void {
    const tc = decodeTc(stripSecurity(packet));
    if (!tc.ok) {
      this.log.error({ link, error: tc.error }, "stored packet no longer decodes");
      return;
    }
    this.uplink(packet, link, { ...tc.value, spi: 0, securitySequence: 0 });
  }

  /** A TC to be stored for later (event-action) authenticates now, once. */
  private checkStoredPacket(packet: Uint8Array): string | undefined {
    const auth = this.authenticateStored(packet, "event-action", TTC_APID);
    return auth.ok ? undefined : auth.reason;
  }

  /**
   * Authenticates a TC that will be stored and run later (schedule,
   * event-action): a security failure is reported like one on the uplink,
   * the anti-replay number is kept, and trailing octets are refused.
   */
  private authenticateStored(packet: Uint8Array, link: string, apid: number): { ok: true; tc: SecureTc } | { ok: false; code: FailureCode; reason: string } {
    const auth = authenticateTc(packet, this.keys, this.antiReplay);
    if (!auth.ok) {
      const reason = `${auth.error.field}: ${auth.error.reason}`;
      if (isSecurityFailure(auth.error.reason)) this.securityRejected(link, reason, auth.error.reason, apid, packet);
      return { ok: false, code: FailureCode.FAILURE_AUTHENTICATION, reason };
    }
    this.securityState.accepted(auth.tc.spi, auth.tc.securitySequence);
    if (auth.rest && auth.rest.length > 0) return { ok: false, code: FailureCode.FAILURE_BAD_LENGTH, reason: `${auth.rest.length} octets after the end of the packet` };
    return { ok: true, tc: auth.tc };
  }

  // Commands that were open when the payload last went down: before any new one arrives.
  // All closed in one transaction; their reports go out after it commits.
  private reportInterrupted(): void {
    this.atomically(() => this.closeInterrupted());
  }

  private closeInterrupted(): void {
    const interrupted = this.history.pending();
    for (const c of interrupted) {
      // Reported like any other ending, so the ground learns how it ended.
      const f: InFlight = {
        id: c.id,
        tc: { apid: c.apid, sequenceCount: c.sequenceCount, ack: Ack.ALL, service: c.service, subtype: c.subtype, sourceId: c.sourceId, appData: new Uint8Array(0) },
        header: c.packet.length >= 4 ? c.packet.subarray(0, 4) : new Uint8Array(4),
        reportApid: c.apid <= 2046 ? c.apid : TTC_APID,
        service: c.resolution?.targetService ?? "",
        command: c.resolution?.command ?? "",
      };
      this.verify(f, VerificationStage.VERIFICATION_STAGE_COMPLETION, new Failure(FailureCode.FAILURE_EXECUTION, "interrupted by a reset"));
    }
    if (interrupted.length) this.event("interrupted", `${interrupted.length} command(s) were in flight at the last reset`, { count: String(interrupted.length) });
  }

  private recoverSchedule(): void {
    this.recovered = true;
    const now = this.clock.nowTaiNs();
    const { runLate, rejected } = this.schedule.recover(now, BigInt(this.parameters.get("lateToleranceMs")) * 1_000_000n);
    for (const r of rejected) {
      this.event("scheduleMissed", `activity (source ${r.sourceId}, APID ${r.apid}, sequence ${r.sequenceCount}) missed while down`, { apid: String(r.apid) });
    }
    for (const item of runLate) this.release(item.id, item.packet, now, "late");
  }
}

/** Failures of the security checks proper, as opposed to a packet that does not parse. */
function isSecurityFailure(reason: string): boolean {
  return reason !== "truncated" && reason !== "malformed" && reason !== "bad-crc";
}

/** The SPI a command was authenticated with; none for one released from the schedule. */
function trustedSpi(tc: SecureTc): number | null {
  return tc.spi > 0 ? tc.spi : null;
}

/** Verification reports and high-severity events first, then housekeeping, then the rest. */
function downlinkPriority(service: number, subtype: number): DownlinkPriority {
  if (service === 1) return "verification";
  if (service === 5) return subtype === 4 ? "event-high" : "event-low";
  if (service === 3 || service === 12) return "housekeeping";
  return "bulk";
}

function toFailure(err: unknown): Failure {
  if (err instanceof Failure) return err;
  return new Failure(FailureCode.FAILURE_EXECUTION, err instanceof Error ? err.message : String(err));
}

function commandOutcome(result: CommandResult): string {
  switch (result.status) {
    case CommandStatus.COMMAND_STATUS_COMPLETED:
      return result.message;
    case CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT:
      throw new Failure(FailureCode.FAILURE_BAD_ARGUMENT, result.message);
    case CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION:
      throw new Failure(FailureCode.FAILURE_PRECONDITION, result.message);
    case CommandStatus.COMMAND_STATUS_REJECTED_UNKNOWN:
      throw new Failure(FailureCode.FAILURE_UNKNOWN_SERVICE, result.message);
    default:
      throw new Failure(FailureCode.FAILURE_EXECUTION, result.message || "failed");
  }
}

function plainValue(v: MessageOf<typeof umbra.core.v1.Value> | null): ParamValue {
  if (!v) return "";
  switch (v.kind) {
    case "boolValue":
      return v.boolValue;
    case "intValue":
      return v.intValue;
    case "floatValue":
      return v.floatValue;
    case "stringValue":
      return v.stringValue;
    default:
      return "";
  }
}

function valueMessage(v: ParamValue) {
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "bigint") return { intValue: v };
  if (typeof v === "number") return { floatValue: v };
  return { stringValue: v };
}

/**
 * A released activity was authenticated when it was inserted; to run it, it is
 * read as the plain TC inside: primary header | PUS secondary header and data
 * | CRC, without the security header and MAC (layout in packages/ccsds).
 */
function stripSecurity(packet: Uint8Array): Uint8Array {
  if (packet.length < PRIMARY_HEADER_OCTETS + SECURITY_HEADER_OCTETS + MAC_OCTETS + PEC_OCTETS) return packet;
  const body = packet.subarray(PRIMARY_HEADER_OCTETS + SECURITY_HEADER_OCTETS, packet.length - MAC_OCTETS - PEC_OCTETS);
  const out = new Uint8Array(PRIMARY_HEADER_OCTETS + body.length + PEC_OCTETS);
  out.set(packet.subarray(0, PRIMARY_HEADER_OCTETS), 0);
  out.set(body, PRIMARY_HEADER_OCTETS);
  const length = out.length - PRIMARY_HEADER_OCTETS - 1;
  out[4] = length >> 8;
  out[5] = length & 0xff;
  writePec(out);
  return out;
}
