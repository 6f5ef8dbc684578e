// The gateway's command history in gateway.db: who sent what, the TC's
// identity (APID, sequence count, source, security number), and each
// verification stage the TTC reported. Arms are logged here too, with the
// user, as commands of kind "arm".
//
// Group commit, because an fsync per write was most of the gateway's time
// under load (docs/benchmarks.md, "gateway"):
// - New commands given in one event-loop turn go to disk in ONE transaction
//   at the end of that turn (setImmediate); under load a turn holds more
//   requests, so one fsync serves more of them. A new command's promise
//   resolves only once its row is committed (WAL, synchronous FULL), and the
//   commander publishes its TC only then: a TC never goes out unrecorded.
// - Stage updates are written behind: they ride with the next commit of new
//   commands, or go on their own within `stageFlushMs` (default 50 ms). A
//   power cut can lose that much of the stages, never a command that was
//   sent; after a restart such a command is followed again and ends as a
//   timeout, and the TTC's own history still has its stages.
// Every read flushes first, so what the API shows is always current.
import type { GatewayDatabase } from "./db.js";

export const COMMAND_STATES = ["sent", "accepted", "started", "completed", "failed", "timeout"] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
export type StageName = "acceptance" | "start" | "progress" | "completion";

export interface StageRecord {
  stage: StageName;
  success: boolean;
  /** The PUS failure code's name (umbra.ttc.v1.FailureCode), FAILURE_NONE on success. */
  code: string;
  detail: string;
  /** Mission time of the report, TAI ns as a decimal string. */
  missionTimeNs: string;
  /** When the gateway received it (ISO 8601 UTC). */
  at: string;
  step?: number;
}

export interface CommandRecord {
  id: number;
  kind: "execute" | "arm";
  user: string;
  service: string;
  command: string;
  args: unknown;
  apid: number;
  sequenceCount: number;
  sourceId: number;
  spi: number;
  securitySequence: number;
  state: CommandState;
  stages: StageRecord[];
  createdAt: string;
  updatedAt: string;
}

export type NewCommand = Omit<CommandRecord, "id" | "state" | "stages" | "createdAt" | "updatedAt">;

interface Row {
  id: number;
  kind: string;
  user: string;
  service: string;
  command: string;
  args_json: string;
  apid: number;
  sequence_count: number;
  source_id: number;
  spi: number;
  security_sequence: number;
  state: string;
  stages_json: string;
  created_at: string;
  updated_at: string;
}

function fromRow(r: Row): CommandRecord {
  return {
    id: r.id,
    kind: r.kind as CommandRecord["kind"],
    user: r.user,
    service: r.service,
    command: r.command,
    args: JSON.parse(r.args_json) as unknown,
    apid: r.apid,
    sequenceCount: r.sequence_count,
    sourceId: r.source_id,
    spi: r.spi,
    securitySequence: r.security_sequence,
    state: r.state as CommandState,
    stages: JSON.parse(r.stages_json) as StageRecord[],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const MAX_HISTORY_PAGE = 1000;

interface QueuedInsert {
  command: NewCommand;
  at: string;
  resolve(record: CommandRecord): void;
  reject(err: unknown): void;
}

interface PendingUpdate {
  state: CommandState;
  stages: StageRecord[];
  at: string;
}

export class HistoryStore {
  /** New commands waiting for the turn's commit, in the order they were given. */
  private inserts: QueuedInsert[] = [];
  /** Stage updates not yet on disk, by command id (the latest state wins; its stages are made JSON when written). */
  private readonly pending = new Map<number, PendingUpdate>();
  private turnFlushQueued = false;
  private stageTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly insertRow;
  private readonly updateRow;
  /** The group commit's transaction, made once (making one per flush cost more than its statements). */
  private readonly writeTurn;
  /** Commits made by {@link flush} and the commands they carried (for diagnostics and tests). */
  readonly commits = { transactions: 0, commands: 0 };

  /** Default of the longest a stage update waits for the disk when no new command carries it. */
  static readonly DEFAULT_STAGE_FLUSH_MS = 50;

  constructor(
    private readonly db: GatewayDatabase,
    private readonly now: () => Date = () => new Date(),
    private readonly stageFlushMs = HistoryStore.DEFAULT_STAGE_FLUSH_MS,
  ) {
    if (!Number.isInteger(stageFlushMs) || stageFlushMs < 0 || stageFlushMs > 10_000) throw new RangeError(`stageFlushMs: must be an integer 0..10000, got ${String(stageFlushMs)}`);
    this.insertRow = db.prepare(
      `INSERT INTO command (kind, user, service, command, args_json, apid, sequence_count, source_id, spi, security_sequence, state, stages_json, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sent', '[]', ?, ?)`,
    );
    this.updateRow = db.prepare("UPDATE command SET state = ?, stages_json = ?, updated_at = ? WHERE id = ?");
    this.writeTurn = db.transaction((inserts: QueuedInsert[], updates: [number, PendingUpdate][]): CommandRecord[] => {
      const made = inserts.map(({ command: c, at }) => {
        const r = this.insertRow.run(c.kind, c.user, c.service, c.command, JSON.stringify(c.args ?? {}), c.apid, c.sequenceCount, c.sourceId, c.spi, c.securitySequence, at, at);
        return { ...c, id: Number(r.lastInsertRowid), state: "sent" as const, stages: [], createdAt: at, updatedAt: at };
      });
      for (const [id, u] of updates) this.updateRow.run(u.state, JSON.stringify(u.stages), u.at, id);
      return made;
    });
  }

  /**
   * Writes the waiting commands and stage updates in one transaction, then
   * resolves each waiting command with its record, in order. If the
   * transaction fails, nothing of it is on disk: every waiting command is
   * rejected with the error, and the stage updates are kept for the next try.
   */
  flush(): void {
    if (this.inserts.length === 0 && this.pending.size === 0) return;
    if (this.stageTimer) {
      clearTimeout(this.stageTimer);
      this.stageTimer = undefined;
    }
    const inserts = this.inserts;
    this.inserts = [];
    const updates = [...this.pending];
    let records: CommandRecord[];
    try {
      records = this.writeTurn(inserts, updates);
    } catch (err) {
      for (const q of inserts) q.reject(err);
      this.scheduleStageFlush(); // the stages are kept for another try
      if (inserts.length > 0) return; // the callers hear of it
      throw err;
    }
    // Only what was written leaves the queue (an update may have been replaced meanwhile: keep the newer one).
    for (const [id, u] of updates) if (this.pending.get(id) === u) this.pending.delete(id);
    if (this.pending.size > 0) this.scheduleStageFlush();
    this.commits.transactions++;
    this.commits.commands += inserts.length;
    inserts.forEach((q, i) => q.resolve(records[i]!));
  }

  /**
   * Records a new command (state "sent") with the turn's group commit;
   * resolves with its record, id included, once that commit is on disk.
   */
  insert(c: NewCommand): Promise<CommandRecord> {
    const at = this.now().toISOString();
    return new Promise((resolve, reject) => {
      this.inserts.push({ command: c, at, resolve, reject });
      this.scheduleTurnFlush();
    });
  }

  /** Records the command's stages and state as they are now (written behind, see above); returns the time it recorded as updatedAt. */
  update(id: number, state: CommandState, stages: StageRecord[]): string {
    const at = this.now().toISOString();
    // A copy of the list as it is now, made JSON only when written: a command's stages come in
    // quick succession, and only the last update before a commit reaches the disk.
    this.pending.set(id, { state, stages: stages.slice(), at });
    this.scheduleStageFlush();
    return at;
  }

  /** The turn's commit for new commands: once, after the I/O of this turn (so every request read in it joins). */
  private scheduleTurnFlush(): void {
    if (this.turnFlushQueued) return;
    this.turnFlushQueued = true;
    setImmediate(() => {
      this.turnFlushQueued = false;
      this.flushQuietly();
    });
  }

  /** Stage updates alone wait up to stageFlushMs for a commit of new commands to ride with. */
  private scheduleStageFlush(): void {
    if (this.stageTimer || this.pending.size === 0) return;
    this.stageTimer = setTimeout(() => {
      this.stageTimer = undefined;
      this.flushQuietly();
    }, this.stageFlushMs);
    this.stageTimer.unref();
  }

  private flushQuietly(): void {
    if (!this.db.open) {
      const closed = new Error("gateway.db is closed; the command was not recorded");
      for (const q of this.inserts.splice(0)) q.reject(closed);
      return;
    }
    try {
      this.flush();
    } catch {
      // Stage updates only: kept, and tried again (scheduleStageFlush) and at the next read.
    }
  }

  get(id: number): CommandRecord | undefined {
    this.flush();
    const row = this.db.prepare<[number], Row>("SELECT * FROM command WHERE id = ?").get(id);
    return row && fromRow(row);
  }

  /** Newest first; `before` = an id to page back from. */
  list(options: { limit?: number; before?: number } = {}): CommandRecord[] {
    const limit = Math.min(Math.max(1, options.limit ?? 100), MAX_HISTORY_PAGE);
    this.flush();
    const rows =
      options.before === undefined
        ? this.db.prepare<[number], Row>("SELECT * FROM command ORDER BY id DESC LIMIT ?").all(limit)
        : this.db.prepare<[number, number], Row>("SELECT * FROM command WHERE id < ? ORDER BY id DESC LIMIT ?").all(options.before, limit);
    return rows.map(fromRow);
  }

  /** Commands still open (no completion or failure seen), oldest first: after a restart they are followed again. */
  open(limit = 10_000): CommandRecord[] {
    this.flush();
    return this.db
      .prepare<[number], Row>("SELECT * FROM (SELECT * FROM command WHERE state IN ('sent', 'accepted', 'started') ORDER BY id DESC LIMIT ?) ORDER BY id")
      .all(limit)
      .map(fromRow);
  }
}
