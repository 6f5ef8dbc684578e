// The telemetry archive: samples, events and verification reports in their
// own SQLite file, with acknowledged ingest, time-range queries and
// priority-ordered retention. See README.md in this folder for the layout.
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { InvalidFieldError, TtcDatabaseError } from "../store/errors.js";
import * as v from "../store/validate.js";
import {
  SampleColumns,
  Scratch,
  collectStaged,
  decodeBlock,
  decodeBlockInto,
  decodeStagedBatch,
  encodeBlock,
  encodeStagedBatch,
  SeriesBuilder,
  type SampleSeries,
} from "./sample-codec.js";
import { ARCHIVE_APPLICATION_ID, ARCHIVE_SCHEMA_VERSION, CLASS_HIGH, CLASS_LOW, MIGRATIONS } from "./schema.js";
import {
  PRIORITY_CLASSES,
  SEVERITIES,
  type ArchiveStats,
  type ArchivedEvent,
  type ArchivedParameter,
  type ArchivedVerification,
  type EventInput,
  type EventsQuery,
  type PriorityClass,
  type RetentionOptions,
  type RetentionResult,
  type SampleInput,
  type SamplesQueryOptions,
  type VerificationInput,
  type VerificationsQuery,
} from "./types.js";
import { MAX_NAME_CHARS, limit, severityNumber, timeWindow, validateEvent, validateList, validateSampleBatch, validateVerification, type EventRow } from "./validate.js";

type Db = Database.Database;

/** A generation (one compaction's samples) never spans more than this: queries look back this far for blocks. */
export const GENERATION_SPAN_NS = 3_600_000_000_000n;
/** Compact staged batches once they hold this many samples (default). */
export const DEFAULT_COMPACT_AFTER_SAMPLES = 65_536;
/** ... or this many staged batches, whichever comes first (default). */
export const DEFAULT_COMPACT_AFTER_BATCHES = 256;
/** A batch is staged in rows of at most this many samples (bounds a row to ~17 MB even with long strings). */
const STAGE_CHUNK = 4096;
/** Ranks staged samples after every generation when equal times are sorted. */
const STAGED_RANK = 2 ** 52;

export interface OpenArchiveOptions {
  /**
   * `"full"` (default): the WAL is fsynced at every commit, so when an append
   * returns its rows survive a power cut: that is the acknowledgement.
   * `"normal"`: no fsync at commit (WAL checkpoints still sync). A returned
   * append survives a crash of the process but NOT a power cut: the last
   * commits before the cut can be lost (the file stays consistent). Only for
   * callers that do not acknowledge anything on the strength of the return.
   */
  readonly synchronous?: "full" | "normal";
  /** How long a statement waits for another connection's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /** Run `PRAGMA quick_check` on open and refuse a damaged file (reads the whole file). */
  readonly integrityCheck?: boolean;
  /** Staged samples that trigger compaction (default 65,536). */
  readonly compactAfterSamples?: number;
  /** Staged batches that trigger compaction (default 256). */
  readonly compactAfterBatches?: number;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function zeroDropped(): Record<PriorityClass, { byAge: number; bySize: number }> {
  return { housekeeping: { byAge: 0, bySize: 0 }, low: { byAge: 0, bySize: 0 }, high: { byAge: 0, bySize: 0 } };
}

function compareTimes(times: BigInt64Array): (a: number, b: number) => number {
  return (a, b) => {
    const ta = times[a]!;
    const tb = times[b]!;
    return ta < tb ? -1 : ta > tb ? 1 : a - b;
  };
}

/** One parameter's samples of one compaction that fall in one hour bucket. */
interface Segment {
  bucket: bigint;
  paramId: number;
  order: number[];
  start: number;
  end: number;
}

/**
 * Opens (creating if needed) a telemetry archive. Throws TtcDatabaseError
 * naming the path when the file cannot be opened, is not an SQLite database,
 * is some other application's database (the TTC database, say), or was written
 * by newer software; nothing is changed in those cases.
 */
export function openArchive(path: string, options: OpenArchiveOptions = {}): Archive {
  return Archive.open(path, options);
}

interface OpenedDatabase {
  readonly db: Db;
  readonly compactAfterSamples: number;
  readonly compactAfterBatches: number;
}

function openDatabase(path: string, options: OpenArchiveOptions): OpenedDatabase {
  const opts = v.record("options", options);
  const synchronous = opts["synchronous"] ?? "full";
  if (synchronous !== "full" && synchronous !== "normal") {
    throw new InvalidFieldError("options.synchronous", `must be "full" or "normal", got ${String(synchronous)}`);
  }
  const busyTimeoutMs = opts["busyTimeoutMs"] === undefined ? 5000 : v.intInRange("options.busyTimeoutMs", opts["busyTimeoutMs"], 0, 600_000);
  const compactAfterSamples =
    opts["compactAfterSamples"] === undefined
      ? DEFAULT_COMPACT_AFTER_SAMPLES
      : v.intInRange("options.compactAfterSamples", opts["compactAfterSamples"], 1, 10_000_000);
  const compactAfterBatches =
    opts["compactAfterBatches"] === undefined
      ? DEFAULT_COMPACT_AFTER_BATCHES
      : v.intInRange("options.compactAfterBatches", opts["compactAfterBatches"], 1, 100_000);

  let db: Db;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (err) {
    throw new TtcDatabaseError(path, `cannot open telemetry archive ${path}: ${reason(err)}`, { cause: err });
  }
  try {
    // Read before anything writes: a file that is not ours, or is newer, is left exactly as it is.
    const version = Number(db.pragma("user_version", { simple: true }));
    const appId = Number(db.pragma("application_id", { simple: true }));
    const tables = Number(db.prepare(`SELECT count(*) FROM sqlite_schema`).pluck().get());
    if (appId !== ARCHIVE_APPLICATION_ID && (appId !== 0 || version !== 0 || tables !== 0)) {
      throw new TtcDatabaseError(
        path,
        `${path} is not a telemetry archive (application_id ${appId}, schema version ${version}, ${tables} schema objects); refusing to use it`,
      );
    }
    if (version > ARCHIVE_SCHEMA_VERSION) {
      throw new TtcDatabaseError(
        path,
        `telemetry archive ${path} has schema version ${version}, newer than this software knows ` +
          `(${ARCHIVE_SCHEMA_VERSION}); refusing to open it (was it written by a newer build?)`,
      );
    }
    // Must be set before the first table exists: lets retention give free pages back without VACUUM.
    if (version === 0) db.pragma("auto_vacuum = INCREMENTAL");
    const mode = String(db.pragma("journal_mode = WAL", { simple: true }));
    if (mode !== "wal" && !(db.memory && mode === "memory")) {
      throw new TtcDatabaseError(path, `telemetry archive ${path}: could not enable WAL journal mode (got ${mode})`);
    }
    db.pragma(`synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
    // A WAL grown by a large retention pass is cut back after the next checkpoint.
    db.pragma("journal_size_limit = 16777216");
    if (opts["integrityCheck"] === true) {
      const problems = checkIntegrity(db, "quick");
      if (problems.length > 0) {
        throw new TtcDatabaseError(path, `telemetry archive ${path} is damaged: ${problems.slice(0, 5).join("; ")}`);
      }
    }
    migrate(db, version);
    return { db, compactAfterSamples, compactAfterBatches };
  } catch (err) {
    db.close();
    if (err instanceof TtcDatabaseError) throw err;
    throw new TtcDatabaseError(path, `telemetry archive ${path} is not usable: ${reason(err)}`, { cause: err });
  }
}

function migrate(db: Db, from: number): void {
  for (let version = from; version < ARCHIVE_SCHEMA_VERSION; version++) {
    const sql = MIGRATIONS[version];
    if (sql === undefined) throw new Error(`missing archive migration ${version} -> ${version + 1}`);
    db.transaction(() => {
      db.exec(sql);
      if (version === 0) db.pragma(`application_id = ${ARCHIVE_APPLICATION_ID}`);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

function checkIntegrity(db: Db, kind: "full" | "quick"): string[] {
  const rows = db.pragma(kind === "full" ? "integrity_check" : "quick_check") as Array<Record<string, unknown>>;
  const messages = rows.map((row) => String(Object.values(row)[0]));
  return messages.length === 1 && messages[0] === "ok" ? [] : messages;
}

/**
 * A telemetry archive on its own SQLite file. Create it with
 * {@link openArchive}. One Archive per file per process: it is the only
 * writer (other connections may read).
 *
 * Every append is one `BEGIN IMMEDIATE` transaction; when it returns, the
 * rows are durable (with the default `synchronous: "full"`): that is the
 * acknowledgement. Bad input throws InvalidFieldError (a RangeError naming
 * the field) before anything is written.
 */
export class Archive {
  readonly path: string;
  readonly compactAfterSamples: number;
  readonly compactAfterBatches: number;

  readonly #db: Db;
  readonly #scratch = new Scratch();
  readonly #columns = new SampleColumns();
  #ids = new Uint32Array(1024);
  /** service → name → parameter id; every parameter in the file (loaded at open). */
  readonly #parameterIds = new Map<string, Map<string, number>>();
  /** Parameters created in the running transaction: forgotten if it rolls back. */
  #pendingParameters: Array<[string, string]> = [];
  #stagedSamples: number;
  #stagedBatches: number;

  readonly #st: ReturnType<typeof prepareStatements>;
  readonly #appendSamplesTx: (batch: readonly SampleInput[]) => { compacted: boolean; rows: number };
  readonly #appendEventsTx: (rows: readonly EventRow[]) => void;
  readonly #appendVerificationsTx: (rows: readonly ArchivedVerification[]) => void;
  readonly #compactTx: () => number;

  /** Opens (creating if needed) the archive at `path`: the same as {@link openArchive}. */
  static open(path: string, options: OpenArchiveOptions = {}): Archive {
    return new Archive(path, openDatabase(path, options));
  }

  private constructor(path: string, opened: OpenedDatabase) {
    const db = opened.db;
    this.#db = db;
    this.path = path;
    this.compactAfterSamples = opened.compactAfterSamples;
    this.compactAfterBatches = opened.compactAfterBatches;
    this.#st = prepareStatements(db);
    for (const row of this.#st.allParameters.all() as Array<{ id: number; service: string; name: string }>) {
      this.#remember(row.service, row.name, row.id);
    }
    const staged = this.#st.stagedTotals.get() as { batches: number; samples: number | null };
    this.#stagedBatches = staged.batches;
    this.#stagedSamples = staged.samples ?? 0;

    const appendSamples = db.transaction((batch: readonly SampleInput[]) => {
      // Compact first, in the same transaction: one commit, and a failure leaves neither half.
      let compacted = false;
      if (this.#stagedSamples >= this.compactAfterSamples || this.#stagedBatches >= this.compactAfterBatches) {
        this.#compactInTransaction();
        compacted = true;
      }
      const n = batch.length;
      if (this.#ids.length < n) this.#ids = new Uint32Array(Math.max(n, this.#ids.length * 2));
      const ids = this.#ids;
      for (let i = 0; i < n; i++) {
        const s = batch[i]!;
        ids[i] = this.#parameterIds.get(s.service)?.get(s.name) ?? this.#createParameter(s.service, s.name);
      }
      let rows = 0;
      for (let start = 0; start < n; start += STAGE_CHUNK) {
        const end = Math.min(n, start + STAGE_CHUNK);
        const encoded = encodeStagedBatch(batch, start, end, start === 0 ? ids : ids.subarray(start), this.#scratch);
        this.#st.insertStaged.run(encoded.tMin, encoded.tMax, end - start, encoded.data);
        rows++;
      }
      return { compacted, rows };
    });
    this.#appendSamplesTx = (batch) => appendSamples.immediate(batch);

    const appendEvents = db.transaction((rows: readonly EventRow[]) => {
      for (const e of rows) {
        this.#st.insertEvent.run(e.tNs, e.severity >= 3 ? CLASS_HIGH : CLASS_LOW, e.service, e.id, e.name, e.severity, e.message, e.args);
      }
    });
    this.#appendEventsTx = (rows) => appendEvents.immediate(rows);

    const appendVerifications = db.transaction((rows: readonly ArchivedVerification[]) => {
      for (const r of rows) {
        this.#st.insertVerification.run(r.tNs, r.commandId, r.apid, r.sequenceCount, r.stage, r.success ? 1 : 0, r.code, r.detail);
      }
    });
    this.#appendVerificationsTx = (rows) => appendVerifications.immediate(rows);

    const compact = db.transaction(() => this.#compactInTransaction());
    this.#compactTx = () => compact.immediate();
  }

  // ---- ingest -------------------------------------------------------------

  /**
   * Archives a batch of samples in one transaction. When it returns, every
   * sample of the batch is on disk (acknowledged); when it throws, none is.
   * Parameters are created on first sight. Samples are kept as given:
   * out-of-order times and repeated (parameter, time) pairs included.
   */
  appendSamples(batch: readonly SampleInput[]): void {
    validateSampleBatch(batch);
    if (batch.length === 0) return;
    let result: { compacted: boolean; rows: number };
    try {
      result = this.#appendSamplesTx(batch);
    } catch (err) {
      this.#forgetPendingParameters();
      throw err;
    }
    this.#pendingParameters = [];
    if (result.compacted) {
      this.#stagedSamples = 0;
      this.#stagedBatches = 0;
    }
    this.#stagedSamples += batch.length;
    this.#stagedBatches += result.rows;
  }

  /** Archives event reports in one transaction; durable when it returns. */
  appendEvents(events: readonly EventInput[]): void {
    const rows = validateList("events", events, validateEvent);
    if (rows.length > 0) this.#appendEventsTx(rows);
  }

  /** Archives verification reports in one transaction; durable when it returns. */
  appendVerifications(reports: readonly VerificationInput[]): void {
    const rows = validateList("reports", reports, validateVerification);
    if (rows.length > 0) this.#appendVerificationsTx(rows);
  }

  /**
   * Moves staged batches into per-parameter blocks now (appends do it by
   * themselves past the thresholds). Returns the number of samples moved.
   */
  compact(): number {
    const moved = this.#compactTx();
    this.#stagedSamples = 0;
    this.#stagedBatches = 0;
    return moved;
  }

  // ---- queries ------------------------------------------------------------

  /**
   * Samples of one parameter with fromNs <= t <= toNs (both inclusive), in
   * time order; samples with equal times in the order they were archived.
   * With `limit`, the earliest `limit`. An unknown parameter gives an empty
   * series. Use `seriesSamples()` for one object per sample.
   */
  samples(service: string, name: string, fromNs: bigint, toNs: bigint, options: SamplesQueryOptions = {}): SampleSeries {
    v.text("service", service, MAX_NAME_CHARS);
    v.text("name", name, MAX_NAME_CHARS);
    const [from, to] = timeWindow("fromNs", fromNs, "toNs", toNs);
    const max = limit("options.limit", v.record("options", options)["limit"]);
    const out = new SeriesBuilder();
    const paramId = this.#parameterIds.get(service)?.get(name);
    if (paramId === undefined || max === 0) return out.finish();

    let sorted = true;
    const rows = this.#st.blocksInRange.iterate({ param: paramId, lookFrom: from - GENERATION_SPAN_NS + 1n, from, to }) as IterableIterator<
      [bigint, bigint, bigint, Buffer]
    >;
    for (const [generationTMin, generation, tFirst, data] of rows) {
      if (max > 0 && out.length >= max) {
        // Generations come in t_min order: once one starts after the max-th sample, none can add an earlier one.
        if (!sorted) {
          out.sort();
          sorted = true;
        }
        out.truncate(max);
        if (generationTMin > out.tNs[max - 1]!) break; // (break also finishes the statement)
      }
      const before = out.length;
      // Generations are numbered in the order they were compacted: that ranks equal times.
      out.startRun(Number(generation));
      decodeBlock(data, tFirst, from, to, out);
      // A block is in order; only its first sample can be out of order with what came before.
      if (sorted && before > 0 && out.length > before && out.tNs[before]! < out.tNs[before - 1]!) sorted = false;
    }
    for (const [id, data] of this.#st.stagedInRange.iterate(from, to) as IterableIterator<[number, Buffer]>) {
      const before = out.length;
      out.startRun(STAGED_RANK + id); // staged after every generation
      collectStaged(data, paramId, from, to, out);
      if (sorted && out.length > before) sorted = out.sortedFrom(before);
    }
    if (!sorted) out.sort();
    if (max > 0) out.truncate(max);
    return out.finish();
  }

  /** Events with fromNs <= t <= toNs, in time order (then archive order). */
  events(query: EventsQuery): ArchivedEvent[] {
    const q = v.record("query", query);
    const [from, to] = timeWindow("fromNs", q["fromNs"], "toNs", q["toNs"]);
    const minSeverity = q["minSeverity"] === undefined ? 1 : severityNumber("minSeverity", q["minSeverity"]);
    const service = q["service"] === undefined ? null : v.text("service", q["service"], MAX_NAME_CHARS);
    const max = limit("limit", q["limit"]);
    const rows = this.#st.events.all({ from, to, minSeverity, service, limit: max }) as Array<
      [bigint, string, bigint, string, bigint, string, string]
    >;
    return rows.map(([tNs, svc, id, name, severity, message, args]) => ({
      tNs,
      service: svc,
      id: Number(id),
      name,
      severity: SEVERITIES[Number(severity) - 1]!,
      message,
      args: JSON.parse(args) as Record<string, unknown>,
    }));
  }

  /** Verification reports with fromNs <= t <= toNs (of one command if commandId is given), in time order. */
  verifications(query: VerificationsQuery): ArchivedVerification[] {
    const q = v.record("query", query);
    const [from, to] = timeWindow("fromNs", q["fromNs"], "toNs", q["toNs"]);
    const max = limit("limit", q["limit"]);
    const rows = (
      q["commandId"] === undefined
        ? this.#st.verifications.all({ from, to, limit: max })
        : this.#st.verificationsOfCommand.all({ from, to, limit: max, commandId: v.rowId("commandId", q["commandId"]) })
    ) as Array<[bigint, bigint, bigint, bigint, string, bigint, bigint | null, string]>;
    return rows.map(([tNs, commandId, apid, sequenceCount, stage, success, code, detail]) => ({
      tNs,
      commandId: Number(commandId),
      apid: Number(apid),
      sequenceCount: Number(sequenceCount),
      stage: stage as ArchivedVerification["stage"],
      success: success === 1n,
      code: code === null ? null : Number(code),
      detail,
    }));
  }

  /** Every parameter the archive has seen, by service then name. */
  parameters(): ArchivedParameter[] {
    return (this.#st.allParameters.all() as ArchivedParameter[]).map((p) => ({ id: p.id, service: p.service, name: p.name }));
  }

  // ---- retention ----------------------------------------------------------

  /**
   * Deletes rows older than `nowNs - maxAgeNs` (every class), then, while the
   * pages in use exceed `maxBytes`, the oldest rows of the lowest class that
   * still has any: samples (a generation at a time), then low-severity
   * events, then high-severity events and verification reports (oldest of
   * either first). Counters of what was dropped are kept in the file. One
   * transaction; afterwards the free pages are given back to the file system
   * (incremental vacuum), so the file shrinks.
   */
  applyRetention(options: RetentionOptions): RetentionResult {
    const o = v.record("options", options);
    const nowNs = v.timeNs("nowNs", o["nowNs"]);
    const maxAgeNs = o["maxAgeNs"] === undefined ? undefined : v.timeNs("maxAgeNs", o["maxAgeNs"]);
    const maxBytes = o["maxBytes"] === undefined ? undefined : v.intInRange("maxBytes", o["maxBytes"], 0, Number.MAX_SAFE_INTEGER);
    const bytesBefore = this.#pages().file;
    const dropped = zeroDropped();
    let overBudget = false;

    this.#db
      .transaction(() => {
        this.#compactInTransaction();
        if (maxAgeNs !== undefined && nowNs - maxAgeNs > 0n) this.#dropOlderThan(nowNs - maxAgeNs, dropped);
        if (maxBytes !== undefined) overBudget = !this.#dropUntilWithin(maxBytes, dropped);
        for (const cls of PRIORITY_CLASSES) {
          if (dropped[cls].byAge > 0) this.#st.addDropped.run(dropped[cls].byAge, cls, "age");
          if (dropped[cls].bySize > 0) this.#st.addDropped.run(dropped[cls].bySize, cls, "size");
        }
      })
      .immediate();
    this.#stagedSamples = 0;
    this.#stagedBatches = 0;
    this.#db.exec("PRAGMA incremental_vacuum");
    const after = this.#pages();
    return { dropped, bytesBefore, bytesAfter: after.file, usedBytes: after.used, overBudget };
  }

  /** Rows per class and kind, dropped counters (persisted), sizes. */
  stats(): ArchiveStats {
    const s = this.#st;
    const stagedTotals = s.stagedTotals.get() as { batches: number; samples: number | null };
    const generations = s.generationTotals.get() as { generations: number; samples: number | null };
    const samples = (stagedTotals.samples ?? 0) + (generations.samples ?? 0);
    const low = Number(s.countEventsOfClass.get(CLASS_LOW));
    const highEvents = Number(s.countEventsOfClass.get(CLASS_HIGH));
    const verifications = Number(s.countVerifications.get());
    const dropped = zeroDropped();
    for (const row of s.dropped.all() as Array<{ class: PriorityClass; reason: "age" | "size"; rows: number }>) {
      if (row.reason === "age") dropped[row.class].byAge = row.rows;
      else dropped[row.class].bySize = row.rows;
    }
    const pages = this.#pages();
    let wal = 0;
    try {
      wal = statSync(`${this.path}-wal`).size;
    } catch {
      // no WAL file (in-memory database, or checkpointed and removed)
    }
    return {
      rows: {
        housekeeping: samples,
        low,
        high: highEvents + verifications,
        samples,
        events: low + highEvents,
        verifications,
        parameters: Number(s.countParameters.get()),
      },
      dropped,
      bytes: { file: pages.file, used: pages.used, free: pages.file - pages.used, wal },
      staged: { batches: stagedTotals.batches, samples: stagedTotals.samples ?? 0 },
      storage: { blocks: Number(s.countBlocks.get()), generations: generations.generations },
    };
  }

  /** `PRAGMA integrity_check` (or `quick_check`): the problems found, [] when sound. */
  checkIntegrity(kind: "full" | "quick" = "full"): string[] {
    return checkIntegrity(this.#db, kind);
  }

  /** The connection's durability setting (see OpenArchiveOptions.synchronous). */
  get synchronous(): "full" | "normal" | "other" {
    const level = Number(this.#db.pragma("synchronous", { simple: true }));
    return level === 2 ? "full" : level === 1 ? "normal" : "other";
  }

  get open(): boolean {
    return this.#db.open;
  }

  close(): void {
    this.#db.close();
  }

  // ---- internals ----------------------------------------------------------

  #remember(service: string, name: string, id: number): void {
    let names = this.#parameterIds.get(service);
    if (names === undefined) {
      names = new Map();
      this.#parameterIds.set(service, names);
    }
    names.set(name, id);
  }

  #createParameter(service: string, name: string): number {
    const id = Number(this.#st.upsertParameter.get(service, name));
    this.#remember(service, name, id);
    this.#pendingParameters.push([service, name]);
    return id;
  }

  #forgetPendingParameters(): void {
    for (const [service, name] of this.#pendingParameters) this.#parameterIds.get(service)?.delete(name);
    this.#pendingParameters = [];
  }

  #pages(): { file: number; used: number } {
    const pageSize = Number(this.#db.pragma("page_size", { simple: true }));
    const pageCount = Number(this.#db.pragma("page_count", { simple: true }));
    const free = Number(this.#db.pragma("freelist_count", { simple: true }));
    return { file: pageCount * pageSize, used: (pageCount - free) * pageSize };
  }

  /** Staged batches → per-parameter blocks, grouped in generations of at most one hour. Inside a transaction. */
  #compactInTransaction(): number {
    const cols = this.#columns;
    cols.reset();
    let lastId = -1;
    for (const [id, data] of this.#st.allStaged.iterate() as IterableIterator<[number, Buffer]>) {
      decodeStagedBatch(data, cols);
      lastId = id;
    }
    if (lastId < 0) return 0;
    this.#writeGenerations(cols, cols.length);
    this.#st.deleteStagedUpTo.run(lastId);
    const moved = cols.length;
    cols.reset();
    return moved;
  }

  /** Writes cols[0..n) as blocks; one generation per hour bucket the samples fall in. */
  #writeGenerations(cols: SampleColumns, n: number): void {
    const byParam = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const p = cols.paramIds[i]!;
      let list = byParam.get(p);
      if (list === undefined) {
        list = [];
        byParam.set(p, list);
      }
      list.push(i);
    }
    const times = cols.times;
    const segments: Segment[] = [];
    for (const [paramId, order] of byParam) {
      if (!isOrderSorted(times, order)) order.sort(compareTimes(times));
      for (let start = 0; start < order.length; ) {
        const bucket = times[order[start]!]! / GENERATION_SPAN_NS;
        const bucketEnd = (bucket + 1n) * GENERATION_SPAN_NS;
        let end = order.length;
        if (times[order[end - 1]!]! >= bucketEnd) {
          end = start + 1;
          while (end < order.length && times[order[end]!]! < bucketEnd) end++;
        }
        segments.push({ bucket, paramId, order, start, end });
        start = end;
      }
    }
    // Bucket, then parameter: a generation's blocks go in key order (appends at the end of both B-trees).
    segments.sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : a.paramId - b.paramId));
    for (let g = 0; g < segments.length; ) {
      let h = g;
      let tMin = times[segments[g]!.order[segments[g]!.start]!]!;
      let tMax = tMin;
      let count = 0;
      while (h < segments.length && segments[h]!.bucket === segments[g]!.bucket) {
        const s = segments[h]!;
        const first = times[s.order[s.start]!]!;
        const last = times[s.order[s.end - 1]!]!;
        if (first < tMin) tMin = first;
        if (last > tMax) tMax = last;
        count += s.end - s.start;
        h++;
      }
      const generation = this.#st.insertGeneration.run(tMin, tMax, count).lastInsertRowid;
      for (let k = g; k < h; k++) {
        const s = segments[k]!;
        const block = encodeBlock(cols, s.order, s.start, s.end, this.#scratch);
        this.#st.insertBlock.run(generation, s.paramId, block.tFirst, block.tLast, block.count, block.data);
      }
      g = h;
    }
  }

  /** Age retention: every class, rows with t < cutoff. */
  #dropOlderThan(cutoff: bigint, dropped: Record<PriorityClass, { byAge: number; bySize: number }>): void {
    const s = this.#st;
    // Generations wholly before the cutoff go at once; those that straddle it lose whole blocks or have blocks rewritten.
    for (const [id, count] of s.generationsBefore.all({ cutoff }) as Array<[number, number]>) {
      s.deleteBlocksOfGeneration.run(id);
      s.deleteGeneration.run(id);
      dropped.housekeeping.byAge += count;
    }
    const cols = this.#columns;
    for (const [generation] of s.generationsStraddling.all({ cutoff }) as Array<[number]>) {
      const blocks = s.blocksStartingBefore.all(generation, cutoff) as Array<[bigint, bigint, bigint, bigint, bigint, Buffer]>;
      for (const [blockId, paramId, tFirst, tLast, countBig, data] of blocks) {
        const count = Number(countBig);
        if (tLast < cutoff) {
          s.deleteBlock.run(blockId);
          dropped.housekeeping.byAge += count;
          continue;
        }
        cols.reset();
        decodeBlockInto(data, tFirst, Number(paramId), cols);
        let keepFrom = 0;
        while (keepFrom < cols.length && cols.times[keepFrom]! < cutoff) keepFrom++;
        const order = Array.from({ length: cols.length }, (_, i) => i);
        const block = encodeBlock(cols, order, keepFrom, cols.length, this.#scratch);
        s.rewriteBlock.run(block.tFirst, block.count, block.data, blockId);
        dropped.housekeeping.byAge += keepFrom;
      }
      s.refreshGeneration.run({ generation });
      cols.reset();
    }
    dropped.low.byAge += s.deleteEventsBefore.run(CLASS_LOW, cutoff).changes;
    dropped.high.byAge += s.deleteEventsBefore.run(CLASS_HIGH, cutoff).changes;
    dropped.high.byAge += s.deleteVerificationsBefore.run(cutoff).changes;
  }

  /** Size retention; false when everything droppable is gone and it is still over. */
  #dropUntilWithin(maxBytes: number, dropped: Record<PriorityClass, { byAge: number; bySize: number }>): boolean {
    const s = this.#st;
    for (;;) {
      const used = this.#pages().used;
      if (used <= maxBytes) return true;
      // Rows are at least a few hundred bytes with their index entries: delete about enough, never a flood.
      const chunk = Math.min(4096, Math.max(16, Math.ceil((used - maxBytes) / 512)));
      const oldest = s.oldestGeneration.get() as [number, number] | undefined;
      if (oldest !== undefined) {
        s.deleteBlocksOfGeneration.run(oldest[0]);
        s.deleteGeneration.run(oldest[0]);
        dropped.housekeeping.bySize += oldest[1];
        continue;
      }
      const low = s.deleteOldestEvents.run({ priority: CLASS_LOW, until: v.INT64_MAX, chunk }).changes;
      if (low > 0) {
        dropped.low.bySize += low;
        continue;
      }
      // High-severity events and verification reports are one class: oldest of either first.
      const eventT = s.oldestEventOfClass.get(CLASS_HIGH) as bigint | null;
      const reportT = s.oldestVerification.get() as bigint | null;
      if (eventT === null && reportT === null) return false;
      if (reportT === null || (eventT !== null && eventT <= reportT)) {
        dropped.high.bySize += s.deleteOldestEvents.run({ priority: CLASS_HIGH, until: reportT ?? v.INT64_MAX, chunk }).changes;
      } else {
        dropped.high.bySize += s.deleteOldestVerifications.run({ until: eventT ?? v.INT64_MAX, chunk }).changes;
      }
    }
  }
}

function isOrderSorted(times: BigInt64Array, order: readonly number[]): boolean {
  for (let k = 1; k < order.length; k++) if (times[order[k]!]! < times[order[k - 1]!]!) return false;
  return true;
}

function prepareStatements(db: Db) {
  return {
    allParameters: db.prepare(`SELECT id, service, name FROM parameters ORDER BY service, name`),
    upsertParameter: db
      .prepare(
        `INSERT INTO parameters (service, name) VALUES (?, ?)
         ON CONFLICT (service, name) DO UPDATE SET name = excluded.name RETURNING id`,
      )
      .pluck(),
    countParameters: db.prepare(`SELECT count(*) FROM parameters`).pluck(),

    insertStaged: db.prepare(`INSERT INTO sample_staging (t_min, t_max, count, data) VALUES (?, ?, ?, ?)`),
    stagedTotals: db.prepare(`SELECT count(*) AS batches, sum(count) AS samples FROM sample_staging`),
    allStaged: db.prepare(`SELECT id, data FROM sample_staging ORDER BY id`).raw(),
    deleteStagedUpTo: db.prepare(`DELETE FROM sample_staging WHERE id <= ?`),
    stagedInRange: db.prepare(`SELECT id, data FROM sample_staging WHERE t_max >= ? AND t_min <= ? ORDER BY id`).raw(),

    insertGeneration: db.prepare(`INSERT INTO sample_generations (t_min, t_max, count) VALUES (?, ?, ?)`),
    insertBlock: db.prepare(
      `INSERT INTO sample_blocks (generation, parameter_id, t_first, t_last, count, data) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    // Generations in t_min order (index), each joined to the parameter's block by the unique key.
    blocksInRange: db
      .prepare(
        `SELECT g.t_min, g.id, b.t_first, b.data
           FROM sample_generations AS g CROSS JOIN sample_blocks AS b
             ON b.generation = g.id AND b.parameter_id = @param
          WHERE g.t_min >= @lookFrom AND g.t_min <= @to AND g.t_max >= @from
            AND b.t_last >= @from AND b.t_first <= @to
          ORDER BY g.t_min, g.id`,
      )
      .raw()
      .safeIntegers(true),
    generationTotals: db.prepare(`SELECT count(*) AS generations, sum(count) AS samples FROM sample_generations`),
    countBlocks: db.prepare(`SELECT count(*) FROM sample_blocks`).pluck(),
    generationsBefore: db.prepare(`SELECT id, count FROM sample_generations WHERE t_min < @cutoff AND t_max < @cutoff`).raw(),
    generationsStraddling: db.prepare(`SELECT id FROM sample_generations WHERE t_min < @cutoff AND t_max >= @cutoff`).raw(),
    oldestGeneration: db.prepare(`SELECT id, count FROM sample_generations ORDER BY t_min, id LIMIT 1`).raw(),
    deleteBlocksOfGeneration: db.prepare(`DELETE FROM sample_blocks WHERE generation = ?`),
    deleteGeneration: db.prepare(`DELETE FROM sample_generations WHERE id = ?`),
    blocksStartingBefore: db
      .prepare(`SELECT id, parameter_id, t_first, t_last, count, data FROM sample_blocks WHERE generation = ? AND t_first < ?`)
      .raw()
      .safeIntegers(true),
    deleteBlock: db.prepare(`DELETE FROM sample_blocks WHERE id = ?`),
    rewriteBlock: db.prepare(`UPDATE sample_blocks SET t_first = ?, count = ?, data = ? WHERE id = ?`),
    refreshGeneration: db.prepare(
      `UPDATE sample_generations
          SET t_min = (SELECT min(t_first) FROM sample_blocks WHERE generation = @generation),
              count = (SELECT sum(count) FROM sample_blocks WHERE generation = @generation)
        WHERE id = @generation`,
    ),

    insertEvent: db.prepare(
      `INSERT INTO events (t_ns, priority, service, event_id, name, severity, message, args) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    events: db
      .prepare(
        `SELECT t_ns, service, event_id, name, severity, message, args FROM events
          WHERE t_ns >= @from AND t_ns <= @to AND severity >= @minSeverity AND (@service IS NULL OR service = @service)
          ORDER BY t_ns, id LIMIT @limit`,
      )
      .raw()
      .safeIntegers(true),
    countEventsOfClass: db.prepare(`SELECT count(*) FROM events WHERE priority = ?`).pluck(),
    oldestEventOfClass: db.prepare(`SELECT min(t_ns) FROM events WHERE priority = ?`).pluck().safeIntegers(true),
    deleteEventsBefore: db.prepare(`DELETE FROM events WHERE priority = ? AND t_ns < ?`),
    deleteOldestEvents: db.prepare(
      `DELETE FROM events WHERE id IN
         (SELECT id FROM events WHERE priority = @priority AND t_ns <= @until ORDER BY t_ns, id LIMIT @chunk)`,
    ),

    insertVerification: db.prepare(
      `INSERT INTO verification_reports (t_ns, command_id, apid, sequence_count, stage, success, code, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    verifications: db
      .prepare(
        `SELECT t_ns, command_id, apid, sequence_count, stage, success, code, detail FROM verification_reports
          WHERE t_ns >= @from AND t_ns <= @to ORDER BY t_ns, id LIMIT @limit`,
      )
      .raw()
      .safeIntegers(true),
    verificationsOfCommand: db
      .prepare(
        `SELECT t_ns, command_id, apid, sequence_count, stage, success, code, detail FROM verification_reports
          WHERE command_id = @commandId AND t_ns >= @from AND t_ns <= @to ORDER BY t_ns, id LIMIT @limit`,
      )
      .raw()
      .safeIntegers(true),
    countVerifications: db.prepare(`SELECT count(*) FROM verification_reports`).pluck(),
    oldestVerification: db.prepare(`SELECT min(t_ns) FROM verification_reports`).pluck().safeIntegers(true),
    deleteVerificationsBefore: db.prepare(`DELETE FROM verification_reports WHERE t_ns < ?`),
    deleteOldestVerifications: db.prepare(
      `DELETE FROM verification_reports WHERE id IN
         (SELECT id FROM verification_reports WHERE t_ns <= @until ORDER BY t_ns, id LIMIT @chunk)`,
    ),

    dropped: db.prepare(`SELECT class, reason, rows FROM dropped`),
    addDropped: db.prepare(`UPDATE dropped SET rows = rows + ? WHERE class = ? AND reason = ?`),
  };
}
