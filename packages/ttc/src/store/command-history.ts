import type { TtcDatabase } from "./database.js";
import { assertTtcSchema } from "./database.js";
import { DuplicateRequestError, InvalidFieldError, describeKey } from "./errors.js";
import type { RequestKey } from "./errors.js";
import * as v from "./validate.js";

export const VERIFICATION_STAGES = ["acceptance", "start", "progress", "completion"] as const;
export type VerificationStage = (typeof VERIFICATION_STAGES)[number];

/** A telecommand as it came off a link: decoded header fields plus the raw packet. */
export interface ReceivedCommand {
  /** Mission time of reception, TAI ns. */
  readonly receivedNs: bigint;
  /** Which link it came in on ("rf", "gateway", "schedule", ...). */
  readonly link: string;
  readonly apid: number;
  readonly sequenceCount: number;
  readonly sourceId: number;
  readonly service: number;
  readonly subtype: number;
  /** SDLS security parameter index, or null for an unauthenticated command. */
  readonly spi: number | null;
  readonly packet: Uint8Array;
}

/** What the command was routed to. */
export interface CommandResolution {
  readonly targetService: string;
  readonly command: string;
  readonly argumentsJson: string;
}

/** One PUS ST[1] verification stage to record. */
export interface StageReport {
  readonly stage: VerificationStage;
  readonly success: boolean;
  /** Failure code (PUS failure notice), or null. */
  readonly code: number | null;
  readonly detail: string;
  readonly atNs: bigint;
  /** Progress step number (ST[1,5]/[1,6]). */
  readonly step?: number;
}

export interface StageRecord {
  readonly stage: VerificationStage;
  readonly success: boolean;
  readonly code: number | null;
  readonly detail: string;
  readonly atNs: bigint;
  readonly step: number | null;
}

/**
 * `open` until a completion stage or any failed stage is recorded; a failed
 * stage ends a command in PUS (no report follows a failure report).
 */
export type CommandOutcome = "open" | "success" | "failure";

export interface CommandSummary {
  readonly id: number;
  readonly receivedNs: bigint;
  readonly link: string;
  readonly apid: number;
  readonly sequenceCount: number;
  readonly sourceId: number;
  readonly service: number;
  readonly subtype: number;
  readonly spi: number | null;
  readonly packetLength: number;
  readonly resolution: CommandResolution | null;
  readonly outcome: CommandOutcome;
  /** Mission time of the stage that closed the command, or null while open. */
  readonly closedNs: bigint | null;
}

export interface CommandRecord extends CommandSummary {
  readonly packet: Uint8Array;
  /** Every recorded stage, in the order it was recorded. */
  readonly stages: readonly StageRecord[];
}

export interface ListCommandsOptions {
  /** Only commands received at or after this mission time. */
  readonly fromNs?: bigint;
  /** Only commands received at or before this mission time. */
  readonly toNs?: bigint;
  /** Page size, 1..1000. */
  readonly limit: number;
  /** The last id of the previous page: returns older commands (ids below it). */
  readonly afterId?: number;
}

export interface CommandHistoryOptions {
  /**
   * A command repeats an earlier one only if the earlier one was received
   * less than this long before it (mission time). Default 24 h.
   */
  readonly duplicateWindowNs?: bigint;
  /**
   * ... and fewer than this many commands of the same (source, APID) have been
   * received since. At most 16383, so that a sender counting sequentially
   * always gets past the window before its count wraps. Default 8192.
   */
  readonly duplicateWindowCommands?: number;
}

export interface ReceivedOptions {
  /**
   * Default true: refuse a repeat inside the duplicate window, and enter this
   * command's key into the window. Pass false to record a packet whose
   * identity cannot be trusted (it failed authentication or did not decode):
   * it is kept in the history but neither checked nor entered, so a forged or
   * garbled packet cannot block the real command that carries its key.
   */
  readonly deduplicate?: boolean;
}

export const DEFAULT_DUPLICATE_WINDOW_NS = 24n * 3600n * 1_000_000_000n;
export const DEFAULT_DUPLICATE_WINDOW_COMMANDS = 8192;
export const MAX_LIST_LIMIT = 1000;
const MAX_CODE = 0xffff_ffff;

interface CommandRow {
  id: bigint;
  received_ns: bigint;
  link: string;
  apid: bigint;
  sequence_count: bigint;
  source_id: bigint;
  service: bigint;
  subtype: bigint;
  spi: bigint | null;
  packet_length: bigint;
  packet?: Buffer;
  target_service: string | null;
  command_name: string | null;
  arguments_json: string | null;
  outcome: "success" | "failure" | null;
  closed_ns: bigint | null;
}

interface StageRow {
  stage: VerificationStage;
  step: bigint | null;
  success: bigint;
  code: bigint | null;
  detail: string;
  at_ns: bigint;
}

interface DedupRow {
  command_id: bigint;
  received_ns: bigint;
  ordinal: bigint;
  received_count: bigint;
}

const SUMMARY_COLUMNS = `id, received_ns, link, apid, sequence_count, source_id, service, subtype, spi,
  length(packet) AS packet_length, target_service, command_name, arguments_json, outcome, closed_ns`;

/**
 * The durable record of every telecommand received: header fields, raw bytes,
 * what it was routed to, and each verification stage. Every method that
 * writes does so in one transaction, and returns only after the commit is on
 * disk (see openTtcDatabase), so what it returns may be acknowledged to the
 * ground. Several writes can share one commit with {@link transaction}; then
 * they are on disk when that returns.
 *
 * Duplicate rule: a command repeats an earlier one with the same (source id,
 * APID, sequence count) if the earlier one is still inside the duplicate
 * window: received less than `duplicateWindowNs` before it AND among the last
 * `duplicateWindowCommands` commands of that (source, APID). A repeat is
 * refused by {@link received} with {@link DuplicateRequestError}. The
 * `command_dedup` table, keyed (source_id, apid, sequence_count), is the
 * UNIQUE constraint: its single row per key is replaced only once it has left
 * the window, so sequence counts may wrap at 16384.
 */
export class CommandHistory {
  readonly duplicateWindowNs: bigint;
  readonly duplicateWindowCommands: number;

  readonly #db: TtcDatabase;
  /** Runs a closure as one IMMEDIATE transaction (a savepoint inside another): made once, since making one per call costs more than the savepoint. */
  readonly #atomic;
  readonly #insertCommand;
  readonly #streamCount;
  readonly #bumpStream;
  readonly #dedupLookup;
  readonly #dedupClaim;
  readonly #latestReceived;
  readonly #commandState;
  readonly #resolve;
  readonly #insertStage;
  readonly #close;
  readonly #getCommand;
  readonly #getStages;
  readonly #openIds;
  readonly #listCache = new Map<string, ReturnType<TtcDatabase["prepare"]>>();

  constructor(db: TtcDatabase, options: CommandHistoryOptions = {}) {
    assertTtcSchema(db);
    const opts = v.record("options", options);
    this.duplicateWindowNs =
      opts["duplicateWindowNs"] === undefined ? DEFAULT_DUPLICATE_WINDOW_NS : v.timeNs("duplicateWindowNs", opts["duplicateWindowNs"]);
    this.duplicateWindowCommands =
      opts["duplicateWindowCommands"] === undefined
        ? DEFAULT_DUPLICATE_WINDOW_COMMANDS
        : v.intInRange("duplicateWindowCommands", opts["duplicateWindowCommands"], 1, v.SEQUENCE_COUNT_MODULUS - 1);
    this.#db = db;
    this.#atomic = db.transaction((work: () => unknown): unknown => work());
    this.#insertCommand = db.prepare(
      `INSERT INTO command (received_ns, link, apid, sequence_count, source_id, service, subtype, spi, packet)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#streamCount = db
      .prepare(`SELECT received_count FROM command_stream WHERE source_id = ? AND apid = ?`)
      .pluck()
      .safeIntegers(true);
    this.#bumpStream = db.prepare(
      `INSERT INTO command_stream (source_id, apid, received_count) VALUES (?, ?, 1)
       ON CONFLICT (source_id, apid) DO UPDATE SET received_count = received_count + 1`,
    );
    this.#dedupLookup = db
      .prepare(
        `SELECT d.command_id, d.received_ns, d.ordinal, coalesce(s.received_count, 0) AS received_count
         FROM command_dedup d LEFT JOIN command_stream s ON s.source_id = d.source_id AND s.apid = d.apid
         WHERE d.source_id = ? AND d.apid = ? AND d.sequence_count = ?`,
      )
      .safeIntegers(true);
    // The UNIQUE (primary key) constraint enforces the rule inside SQLite: the row for a key is only
    // replaced when the one there has left the window; otherwise nothing changes and we roll back.
    this.#dedupClaim = db.prepare(
      `INSERT INTO command_dedup (source_id, apid, sequence_count, command_id, received_ns, ordinal)
       VALUES (:sourceId, :apid, :sequenceCount, :commandId, :receivedNs, :ordinal)
       ON CONFLICT (source_id, apid, sequence_count) DO UPDATE
         SET command_id = excluded.command_id, received_ns = excluded.received_ns, ordinal = excluded.ordinal
         WHERE command_dedup.ordinal <= :ordinal - 1 - :windowCommands
            OR command_dedup.received_ns <= :sinceNs`,
    );
    this.#latestReceived = db.prepare(`SELECT max(received_ns) FROM command`).pluck().safeIntegers(true);
    this.#commandState = db
      .prepare(`SELECT outcome, target_service IS NOT NULL AS resolved FROM command WHERE id = ?`)
      .safeIntegers(true);
    this.#resolve = db.prepare(
      `UPDATE command SET target_service = ?, command_name = ?, arguments_json = ? WHERE id = ?`,
    );
    this.#insertStage = db.prepare(
      `INSERT INTO command_stage (command_id, stage, step, success, code, detail, at_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#close = db.prepare(`UPDATE command SET outcome = ?, closed_ns = ? WHERE id = ?`);
    this.#getCommand = db.prepare(`SELECT ${SUMMARY_COLUMNS}, packet FROM command WHERE id = ?`).safeIntegers(true);
    this.#getStages = db
      .prepare(`SELECT stage, step, success, code, detail, at_ns FROM command_stage WHERE command_id = ? ORDER BY id`)
      .safeIntegers(true);
    this.#openIds = db.prepare(`SELECT id FROM command WHERE outcome IS NULL ORDER BY id`).pluck().safeIntegers(true);
  }

  /** The database handle (other stores that must share its transactions check against it). */
  get database(): TtcDatabase {
    return this.#db;
  }

  /**
   * Runs `work` in ONE `BEGIN IMMEDIATE` transaction on this history's
   * database and returns its result once the commit is on disk: everything it
   * writes, with this store or another on the same handle (`SecurityState`,
   * `ScheduleStore`), costs one fsync instead of one per call. Inside it each
   * write method's own transaction becomes a savepoint, so a refused write (a
   * repeat, a closed command) undoes only itself; if `work` throws, all of it
   * is rolled back. Until it returns nothing written inside is durable, so
   * the caller must hold back any acknowledgement until then. Nested calls
   * join the outer transaction.
   */
  transaction<T>(work: () => T): T {
    return this.#atomic.immediate(work) as T;
  }

  /**
   * Records a received command and returns its id. Throws InvalidFieldError
   * for bad fields and DuplicateRequestError for a repeat inside the window;
   * in both cases nothing is written. The id is returned after the commit is
   * on disk (inside {@link transaction}: after that commit), so the command
   * may then be acknowledged.
   */
  received(cmd: ReceivedCommand, options: ReceivedOptions = {}): number {
    const c = v.record("cmd", cmd);
    const o = v.record("options", options);
    const deduplicate = o["deduplicate"] === undefined ? true : v.bool("deduplicate", o["deduplicate"]);
    const receivedNs = v.timeNs("receivedNs", c["receivedNs"]);
    const link = v.text("link", c["link"], v.MAX_LABEL_CHARS);
    const apid = v.apid("apid", c["apid"]);
    const sequenceCount = v.sequenceCount("sequenceCount", c["sequenceCount"]);
    const sourceId = v.sourceId("sourceId", c["sourceId"]);
    const service = v.intInRange("service", c["service"], 0, 255);
    const subtype = v.intInRange("subtype", c["subtype"], 0, 255);
    const spi = c["spi"] === null ? null : v.intInRange("spi", c["spi"], 0, 0xffff);
    const packet = v.packet("packet", c["packet"]);
    const key: RequestKey = { sourceId, apid, sequenceCount };

    return this.transaction((): number => {
      const id = Number(
        this.#insertCommand.run(receivedNs, link, apid, sequenceCount, sourceId, service, subtype, spi, packet)
          .lastInsertRowid,
      );
      if (!deduplicate) return id;
      const sinceNs = receivedNs - this.duplicateWindowNs;
      const count = (this.#streamCount.get(sourceId, apid) as bigint | undefined) ?? 0n;
      const claimed = this.#dedupClaim.run({
        sourceId,
        apid,
        sequenceCount,
        commandId: id,
        receivedNs,
        ordinal: count + 1n,
        windowCommands: this.duplicateWindowCommands,
        sinceNs,
      });
      // The key is held by a command still inside the window: throwing rolls the insert back.
      if (claimed.changes !== 1) {
        const earlier = this.#dedupLookup.get(sourceId, apid, sequenceCount) as DedupRow | undefined;
        throw this.#duplicateError(key, earlier === undefined ? 0 : Number(earlier.command_id));
      }
      this.#bumpStream.run(sourceId, apid);
      return id;
    });
  }

  /**
   * Whether a command with this key would be refused as a repeat. The time
   * side of the window counts from `sinceNs` when given (an earlier command
   * received at or before it does not count), otherwise from the latest
   * reception recorded minus the duplicate window. Pass
   * `receivedNs - history.duplicateWindowNs` to get exactly the rule
   * {@link received} will apply to a command received at `receivedNs`.
   */
  isDuplicate(sourceId: number, apid: number, sequenceCount: number, sinceNs?: bigint): boolean {
    return this.duplicateOf(sourceId, apid, sequenceCount, sinceNs) !== null;
  }

  /** Like {@link isDuplicate}, but returns the id of the earlier command (or null). */
  duplicateOf(sourceId: number, apid: number, sequenceCount: number, sinceNs?: bigint): number | null {
    const key: RequestKey = {
      sourceId: v.sourceId("sourceId", sourceId),
      apid: v.apid("apid", apid),
      sequenceCount: v.sequenceCount("sequenceCount", sequenceCount),
    };
    let since: bigint;
    if (sinceNs === undefined) {
      const latest = this.#latestReceived.get() as bigint | null;
      if (latest === null) return null;
      since = latest - this.duplicateWindowNs;
    } else {
      since = v.int64("sinceNs", sinceNs);
    }
    return this.#liveDuplicate(key, since);
  }

  #liveDuplicate(key: RequestKey, sinceNs: bigint): number | null {
    const row = this.#dedupLookup.get(key.sourceId, key.apid, key.sequenceCount) as DedupRow | undefined;
    if (row === undefined) return null;
    const newerCommands = row.received_count - row.ordinal;
    const live = newerCommands < BigInt(this.duplicateWindowCommands) && row.received_ns > sinceNs;
    return live ? Number(row.command_id) : null;
  }

  #duplicateError(key: RequestKey, existingId: number): DuplicateRequestError {
    return new DuplicateRequestError(
      key,
      existingId,
      `duplicate telecommand ${describeKey(key)}: repeats command ${existingId} inside the duplicate window`,
    );
  }

  /** Records what the command was routed to. Once per command. */
  resolved(id: number, resolution: CommandResolution): void {
    const commandId = v.rowId("id", id);
    const r = v.record("resolution", resolution);
    const targetService = v.text("targetService", r["targetService"], v.MAX_LABEL_CHARS);
    const command = v.text("command", r["command"], v.MAX_LABEL_CHARS * 2);
    const argumentsJson = v.text("argumentsJson", r["argumentsJson"], v.MAX_PACKET_BYTES * 4);
    try {
      JSON.parse(argumentsJson);
    } catch (err) {
      throw new InvalidFieldError("argumentsJson", `must be valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    this.transaction(() => {
      const state = this.#commandState.get(commandId) as { resolved: bigint } | undefined;
      if (state === undefined) throw new InvalidFieldError("id", `no command ${commandId}`);
      if (state.resolved === 1n) throw new InvalidFieldError("id", `command ${commandId} is already resolved`);
      this.#resolve.run(targetService, command, argumentsJson, commandId);
    });
  }

  /**
   * Records a verification stage. A completion stage, or any failed stage,
   * closes the command; a closed command takes no further stage.
   */
  stage(id: number, report: StageReport): void {
    const commandId = v.rowId("id", id);
    const r = v.record("report", report);
    const stage = r["stage"];
    if (typeof stage !== "string" || !(VERIFICATION_STAGES as readonly string[]).includes(stage)) {
      throw new InvalidFieldError("stage", `must be one of ${VERIFICATION_STAGES.join(", ")}, got ${String(stage)}`);
    }
    const success = v.bool("success", r["success"]);
    const code = r["code"] === null ? null : v.intInRange("code", r["code"], 0, MAX_CODE);
    const detail = v.text("detail", r["detail"], v.MAX_TEXT_CHARS, true);
    const atNs = v.timeNs("atNs", r["atNs"]);
    const step = r["step"] === undefined ? null : v.intInRange("step", r["step"], 0, MAX_CODE);

    this.transaction(() => {
      const state = this.#commandState.get(commandId) as { outcome: string | null } | undefined;
      if (state === undefined) throw new InvalidFieldError("id", `no command ${commandId}`);
      if (state.outcome !== null) {
        throw new InvalidFieldError("stage", `command ${commandId} is already closed (${state.outcome}); no stage may follow`);
      }
      this.#insertStage.run(commandId, stage, step, success ? 1 : 0, code, detail, atNs);
      if (stage === "completion" || !success) this.#close.run(success ? "success" : "failure", atNs, commandId);
    });
  }

  /** The command with all its stages, or undefined if there is no such id. */
  get(id: number): CommandRecord | undefined {
    const commandId = v.rowId("id", id);
    const row = this.#getCommand.get(commandId) as CommandRow | undefined;
    return row === undefined ? undefined : this.#record(row);
  }

  /** Commands newest first (by id, i.e. order of reception), one page at a time. */
  list(options: ListCommandsOptions): CommandSummary[] {
    const o = v.record("options", options);
    const limit = v.intInRange("limit", o["limit"], 1, MAX_LIST_LIMIT);
    const where: string[] = [];
    const params: (bigint | number)[] = [];
    if (o["fromNs"] !== undefined) {
      where.push("received_ns >= ?");
      params.push(v.timeNs("fromNs", o["fromNs"]));
    }
    if (o["toNs"] !== undefined) {
      where.push("received_ns <= ?");
      params.push(v.timeNs("toNs", o["toNs"]));
    }
    if (o["afterId"] !== undefined) {
      where.push("id < ?");
      params.push(v.rowId("afterId", o["afterId"]));
    }
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM command ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
    let statement = this.#listCache.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql).safeIntegers(true);
      this.#listCache.set(sql, statement);
    }
    return (statement.all([...params, limit]) as CommandRow[]).map((row) => summary(row));
  }

  /**
   * Commands still open (no completion and no failure recorded), oldest
   * first. After a restart these were interrupted: the caller reports each as
   * failed and records that with {@link stage}.
   */
  pending(): CommandRecord[] {
    return this.#db.transaction(() =>
      (this.#openIds.all() as bigint[]).map((id) => this.#record(this.#getCommand.get(id) as CommandRow)),
    )();
  }

  #record(row: CommandRow): CommandRecord {
    const stages = (this.#getStages.all(row.id) as StageRow[]).map(
      (s): StageRecord => ({
        stage: s.stage,
        success: s.success === 1n,
        code: s.code === null ? null : Number(s.code),
        detail: s.detail,
        atNs: s.at_ns,
        step: s.step === null ? null : Number(s.step),
      }),
    );
    return { ...summary(row), packet: new Uint8Array(row.packet ?? Buffer.alloc(0)), stages };
  }
}

function summary(row: CommandRow): CommandSummary {
  return {
    id: Number(row.id),
    receivedNs: row.received_ns,
    link: row.link,
    apid: Number(row.apid),
    sequenceCount: Number(row.sequence_count),
    sourceId: Number(row.source_id),
    service: Number(row.service),
    subtype: Number(row.subtype),
    spi: row.spi === null ? null : Number(row.spi),
    packetLength: Number(row.packet_length),
    resolution:
      row.target_service === null || row.command_name === null || row.arguments_json === null
        ? null
        : { targetService: row.target_service, command: row.command_name, argumentsJson: row.arguments_json },
    outcome: row.outcome ?? "open",
    closedNs: row.closed_ns,
  };
}
