// The gateway's command history in gateway.db: who sent what, the TC's
// identity (APID, sequence count, source, security number), and each
// verification stage the TTC reported. Arms are logged here too, with the
// user, as commands of kind "arm". A new command is one transaction, on disk
// when `insert` returns (WAL, synchronous FULL), before its TC is published.
// Stage updates are written behind: those of one event-loop turn go to disk
// together in one transaction (every read flushes first), because one fsync
// per stage was most of the gateway's time under load (docs/benchmarks.md,
// "gateway"). A power cut can lose the last turn's stages, never a command;
// after a restart such a command is followed again and ends as a timeout,
// and the TTC's own history still has its stages.
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

export class HistoryStore {
  /** Stage updates not yet on disk, by command id (the latest state wins). */
  private readonly pending = new Map<number, { state: CommandState; stagesJson: string; at: string }>();
  private flushQueued = false;

  constructor(
    private readonly db: GatewayDatabase,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes the waiting stage updates in one transaction. */
  flush(): void {
    if (this.pending.size === 0) return;
    const rows = [...this.pending];
    this.pending.clear();
    const write = this.db.prepare("UPDATE command SET state = ?, stages_json = ?, updated_at = ? WHERE id = ?");
    this.db.transaction(() => {
      for (const [id, u] of rows) write.run(u.state, u.stagesJson, u.at, id);
    })();
  }

  insert(c: NewCommand): CommandRecord {
    const at = this.now().toISOString();
    const r = this.db
      .prepare(
        `INSERT INTO command (kind, user, service, command, args_json, apid, sequence_count, source_id, spi, security_sequence, state, stages_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sent', '[]', ?, ?)`,
      )
      .run(c.kind, c.user, c.service, c.command, JSON.stringify(c.args ?? {}), c.apid, c.sequenceCount, c.sourceId, c.spi, c.securitySequence, at, at);
    return { ...c, id: Number(r.lastInsertRowid), state: "sent", stages: [], createdAt: at, updatedAt: at };
  }

  /** Records the command's stages and state as they are now (written behind, see above); returns the time it recorded as updatedAt. */
  update(id: number, state: CommandState, stages: StageRecord[]): string {
    const at = this.now().toISOString();
    this.pending.set(id, { state, stagesJson: JSON.stringify(stages), at });
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        if (this.db.open) this.flush();
      });
    }
    return at;
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
