// Commanding: turns a checked command into an authenticated TC, publishes it
// on the bus as the TTC's uplink (umbra.ttc.v1.TcUplink), records it, and
// follows its verification reports (umbra.ttc.v1.Verification, matched by
// APID, sequence count and source id) into the history.
//
// The TC's security sequence and sequence counts come from counters reserved
// on disk (reservations.ts), so a restarted gateway never repeats one. The
// packet is built first and recorded second: a packet is only published once
// its record is on disk.
import { Ack, type KeyStore } from "@umbra/ccsds";
import { Priority, type Bus, type Clock, type Logger, type Subscription, type TimerHandle } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { TcBuilder, encodeFunctionCall } from "@umbra/ttc";
import type { GatewayDatabase } from "./db.js";
import type { CommandRecord, CommandState, HistoryStore, StageName, StageRecord } from "./history.js";
import { ReservedCounter } from "./reservations.js";

export type Verification = MessageOf<typeof umbra.ttc.v1.Verification>;

const STAGES: Record<number, StageName> = { 1: "acceptance", 2: "start", 3: "progress", 4: "completion" };
/** A block of security sequence numbers per disk write. */
export const SECURITY_BLOCK = 1024;
/**
 * A block of sequence counts per APID per disk write. Small, because counts
 * wrap at 16,384 and each restart skips up to one block: the TTC refuses a
 * count reused within its duplicate window (8,192 commands), so it takes
 * more than 128 restarts inside one wrap of the counter to come near it.
 */
export const COUNT_BLOCK = 64;
const MAX_SECURITY_SEQUENCE = 0xffffffff;
/** Link-layer failures reported before the packet could be attributed: the TTC sets source 0. */
const UNATTRIBUTED_CODES = new Set([
  umbra.ttc.v1.FailureCode.FAILURE_AUTHENTICATION,
  umbra.ttc.v1.FailureCode.FAILURE_BAD_LENGTH,
  umbra.ttc.v1.FailureCode.FAILURE_BAD_CRC,
]);

export interface CommandRequest {
  kind: "execute" | "arm";
  user: string;
  service: string;
  apid: number;
  command: string;
  /** The arguments as the user gave them (recorded as JSON). */
  args: unknown;
  /** The argument message, encoded. */
  encodedArgs: Uint8Array;
  /** A critical command (armed first): its TC is logged at info, as arms are. */
  critical?: boolean;
}

export interface VerificationNotice {
  verification: Verification;
  stage: StageName;
  /** The gateway's command id, when the report is for one of the gateway's commands. */
  commandId?: number;
  record?: CommandRecord;
}

export interface CommanderOptions {
  bus: Bus;
  clock: Clock;
  log: Logger;
  db: GatewayDatabase;
  history: HistoryStore;
  keys: KeyStore;
  spi: number;
  sourceId: number;
  /** How long the reports of a command are followed before it is recorded as timed out. */
  followMs: number;
}

interface Pending {
  record: CommandRecord;
  timer: TimerHandle;
  waiters: Set<(timedOut: boolean) => void>;
}

/** Thrown when a TC cannot be built or sent; `status` is the HTTP status it maps to. */
export class CommandSendError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CommandSendError";
  }
}

/** No subscriber of TcUplink on the bus: a TC sent now would reach no TTC. */
function noTtc(outcome = "nothing was sent"): CommandSendError {
  return new CommandSendError(503, "no_ttc", `no TTC on the bus takes telecommands (it has not started, or has stopped); ${outcome}`);
}

export function isFinal(state: CommandState): boolean {
  return state === "completed" || state === "failed" || state === "timeout";
}

export class Commander {
  private readonly builder: TcBuilder;
  private readonly security: ReservedCounter;
  private readonly counts = new Map<number, ReservedCounter>();
  private readonly pending = new Map<string, Pending>();
  /** The same entries by the gateway's command id. */
  private readonly pendingById = new Map<number, Pending>();
  private readonly listeners: ((n: VerificationNotice) => void)[] = [];
  private subscription: Subscription | undefined;
  /** TCs published since start (for diagnostics and tests). */
  sent = 0;

  constructor(private readonly o: CommanderOptions) {
    this.builder = new TcBuilder({ keys: o.keys, spi: o.spi, sourceId: o.sourceId });
    this.security = new ReservedCounter(o.db, "security-sequence", SECURITY_BLOCK, 1, MAX_SECURITY_SEQUENCE);
  }

  get sourceId(): number {
    return this.o.sourceId;
  }

  /** The security sequence number the next TC will carry. */
  get nextSecuritySequence(): number {
    return this.security.peek();
  }

  start(): void {
    this.subscription = this.o.bus.subscribe(umbra.ttc.v1.Verification, (v) => this.onVerificationMessage(v), { capacity: 65_536 });
    // Commands still open at the last stop: follow them again.
    const open = this.o.history.open();
    for (const record of open) this.follow(record);
    if (open.length) this.o.log.info({ commands: open.length }, "following commands left open at the last stop");
  }

  stop(): void {
    this.subscription?.unsubscribe();
    for (const p of this.pending.values()) {
      p.timer.cancel();
      for (const w of p.waiters) w(true);
    }
    this.pending.clear();
    this.pendingById.clear();
  }

  onVerification(listener: (n: VerificationNotice) => void): void {
    this.listeners.push(listener);
  }

  private countFor(apid: number): ReservedCounter {
    let c = this.counts.get(apid);
    if (!c) {
      c = new ReservedCounter(this.o.db, `sequence-count:${apid}`, COUNT_BLOCK, 0);
      this.counts.set(apid, c);
    }
    return c;
  }

  /**
   * Builds, records and publishes one ST[8,1] TC. Resolves with its record
   * (state "sent") once it is recorded on disk (the history's group commit
   * at the end of this turn) and published.
   */
  async send(req: CommandRequest): Promise<CommandRecord> {
    if (this.o.bus.isClosed) throw new CommandSendError(503, "bus_closed", "the bus is closed; nothing was sent");
    // A TC published while no TTC is on the bus (not started yet, or gone) would reach no one and
    // time out with no stage at all: refuse it now, before a sequence number or a record is spent.
    if (!this.o.bus.hasSubscribers(umbra.ttc.v1.TcUplink)) throw noTtc();
    let packet: Uint8Array;
    let sequenceCount: number;
    let securitySequence: number;
    try {
      sequenceCount = this.countFor(req.apid).take() % 16_384;
      securitySequence = this.security.take();
      this.builder.securitySequence = securitySequence;
      packet = this.builder.tc(req.apid, 8, 1, encodeFunctionCall({ name: req.command, args: req.encodedArgs }), Ack.ALL, sequenceCount);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/appData/.test(message)) throw new CommandSendError(400, "bad_argument", `args: too large for one telecommand (${req.encodedArgs.length} octets encoded)`);
      throw new CommandSendError(503, "cannot_sign", `the telecommand could not be built: ${message}`);
    }
    let record: CommandRecord;
    try {
      record = await this.o.history.insert({
        kind: req.kind,
        user: req.user,
        service: req.service,
        command: req.command,
        args: req.args,
        apid: req.apid,
        sequenceCount,
        sourceId: this.o.sourceId,
        spi: this.builder.spi,
        securitySequence,
      });
    } catch (err) {
      throw new CommandSendError(503, "not_recorded", `the command could not be recorded, so it was not sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.follow(record);
    if (!this.o.bus.hasSubscribers(umbra.ttc.v1.TcUplink)) {
      // The TTC left while the record was committed: it is on disk as sent, so close it as failed.
      this.settle(record, "failed");
      throw noTtc("the command is recorded as failed and was not sent");
    }
    try {
      this.o.bus.publish(umbra.ttc.v1.TcUplink, { packet, link: `gateway:${req.user}` }, { priority: Priority.PRIORITY_COMMAND });
    } catch (err) {
      this.settle(record, "failed");
      throw new CommandSendError(503, "bus_closed", `not sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.sent++;
    // Every command is in the history (on disk, with its user) before its TC goes out, so a log line
    // each would only repeat it, at 1,000 a second under load: arms and critical commands, the
    // operators' audit trail, are logged at info; the others at debug.
    const level = req.kind === "arm" || req.critical ? "info" : "debug";
    this.o.log[level]({ id: record.id, kind: req.kind, user: req.user, service: req.service, command: req.command, apid: req.apid, sequenceCount, securitySequence }, "telecommand sent");
    // A snapshot as sent: the followed record's stages grow as reports arrive.
    return { ...record, stages: [...record.stages] };
  }

  /** The current record of a command (memory first, then disk). */
  get(id: number): CommandRecord | undefined {
    const p = this.pendingById.get(id);
    if (p) return { ...p.record, stages: [...p.record.stages] };
    return this.o.history.get(id);
  }

  /**
   * Resolves when the command completes or fails, or after `timeoutMs` with
   * `timedOut` (the command is still followed after that).
   */
  wait(id: number, timeoutMs: number): Promise<{ record: CommandRecord; timedOut: boolean }> {
    const p = this.pendingById.get(id);
    if (!p) {
      const record = this.o.history.get(id);
      if (!record) return Promise.reject(new RangeError(`no command ${id}`));
      return Promise.resolve({ record, timedOut: !isFinal(record.state) || record.state === "timeout" });
    }
    return new Promise((resolve) => {
      const done = (timedOut: boolean) => {
        timer.cancel();
        p.waiters.delete(done);
        resolve({ record: { ...p.record, stages: [...p.record.stages] }, timedOut });
      };
      const timer = this.o.clock.setTimeout(() => done(true), timeoutMs);
      p.waiters.add(done);
    });
  }

  private key(apid: number, sequenceCount: number, sourceId: number): string {
    return `${apid}/${sequenceCount}/${sourceId}`;
  }

  private follow(record: CommandRecord): void {
    const key = this.key(record.apid, record.sequenceCount, record.sourceId);
    const old = this.pending.get(key);
    if (old) this.settle(old.record, "timeout"); // a count reused after a wrap: the old one is long gone
    const timer = this.o.clock.setTimeout(() => {
      const p = this.pending.get(key);
      if (p && p.record.id === record.id) this.settle(p.record, "timeout");
    }, this.o.followMs);
    const entry: Pending = { record, timer, waiters: new Set() };
    this.pending.set(key, entry);
    this.pendingById.set(record.id, entry);
  }

  private settle(record: CommandRecord, state: CommandState): void {
    const key = this.key(record.apid, record.sequenceCount, record.sourceId);
    const p = this.pending.get(key);
    record.state = state;
    this.record(record);
    if (!p || p.record.id !== record.id) return;
    this.pending.delete(key);
    this.pendingById.delete(record.id);
    p.timer.cancel();
    for (const w of [...p.waiters]) w(state === "timeout");
  }

  private record(record: CommandRecord): void {
    try {
      record.updatedAt = this.o.history.update(record.id, record.state, record.stages);
    } catch (err) {
      this.o.log.error({ err, id: record.id }, "command history not updated");
    }
  }

  private onVerificationMessage(v: Verification): void {
    const stage = STAGES[v.stage];
    if (!stage) return;
    let p = this.pending.get(this.key(v.apid, v.sequenceCount, v.sourceId));
    if (!p && v.sourceId === 0 && !v.success && UNATTRIBUTED_CODES.has(v.code)) p = this.pending.get(this.key(v.apid, v.sequenceCount, this.o.sourceId));
    let record: CommandRecord | undefined;
    if (p) {
      record = p.record;
      const s: StageRecord = {
        stage,
        success: v.success,
        code: umbra.ttc.v1.FailureCode[v.code] ?? String(v.code),
        detail: v.detail,
        missionTimeNs: v.missionTimeNs.toString(),
        at: new Date(this.o.clock.utcMs()).toISOString(),
        ...(stage === "progress" ? { step: v.step } : {}),
      };
      record.stages.push(s);
      if (!v.success) this.settle(record, "failed");
      else if (stage === "completion") this.settle(record, "completed");
      else {
        if (stage === "acceptance" && record.state === "sent") record.state = "accepted";
        if (stage === "start" || stage === "progress") record.state = "started";
        this.record(record);
      }
    }
    const notice: VerificationNotice = { verification: v, stage, ...(record ? { commandId: record.id, record } : {}) };
    for (const l of this.listeners) {
      try {
        l(notice);
      } catch (err) {
        this.o.log.error({ err }, "verification listener failed");
      }
    }
  }
}
