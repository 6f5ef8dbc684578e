// The job runner's durable state, in one better-sqlite3 database (WAL,
// synchronous FULL): jobs and their fixed tile lists, per-tile results,
// decision histories, tenants and their metered usage, the learned costs of
// each model variant, and the tile archive (TileArchive shares the handle).
// Every method that changes state is one transaction: a power cut leaves
// either the old state or the new one, never half a batch.
import Database from "better-sqlite3";
import type { JobSpec, JobStateName } from "./job.js";
import { assertTransition, TERMINAL_STATES } from "./job.js";

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

const SCHEMA_VERSION = 1;

export interface TileRef {
  index: number;
  name: string;
  bytes: number;
  /** Folder inputs: the file path; archive inputs: the archive row id. */
  source: string;
}

export interface JobRow {
  spec: JobSpec;
  state: JobStateName;
  variant: string | null;
  tilesTotal: number;
  tilesDone: number;
  inferences: number;
  uncorrectable: number;
  energyJ: number;
  coreSeconds: number;
  reason: string;
  submittedMs: number;
  startedMs: number;
  finishedMs: number;
  rawInputBytes: number;
  /** Summary product: "none" (not yet built), "pending" (built, not acknowledged by the TTC), "queued". */
  productState: "none" | "pending" | "queued";
  downlinkedBytes: number;
}

export interface TileResult {
  index: number;
  model: string;
  label: string;
  confidence: number;
  /** "unanimous", "corrected", "unvoted" or "no-majority". */
  vote: string;
  /** JSON of detections in the tile, for segmenters. */
  detections: string;
  /** Raw output tensors (keep = outputs), else null. */
  output: Uint8Array | null;
}

export interface DecisionRow {
  atMs: number;
  from: JobStateName;
  to: JobStateName;
  reason: string;
}

export type QuotaPeriodName = "orbit" | "day";

export interface TenantRow {
  tenant: string;
  quotaJoules: number;
  quotaCoreSeconds: number;
  period: QuotaPeriodName;
  rejectOverQuota: boolean;
  createdMs: number;
  totalJoules: number;
  totalCoreSeconds: number;
  jobsDone: number;
}

export interface UsageRow {
  periodStartMs: number;
  joules: number;
  coreSeconds: number;
}

export interface LearnedCost {
  key: string;
  energyJ: number;
  seconds: number;
  samples: number;
}

/** Decisions kept per job (oldest dropped). */
export const MAX_DECISIONS = 50;

interface JobDbRow {
  id: string;
  spec: string;
  state: string;
  variant: string | null;
  tiles_total: number;
  tiles_done: number;
  inferences: number;
  uncorrectable: number;
  energy_j: number;
  core_s: number;
  reason: string;
  submitted_ms: number;
  started_ms: number;
  finished_ms: number;
  raw_bytes: number;
  product_state: string;
  product: Uint8Array | null;
  downlinked_bytes: number;
}

function toJob(r: JobDbRow): JobRow {
  return {
    spec: JSON.parse(r.spec) as JobSpec,
    state: r.state as JobStateName,
    variant: r.variant,
    tilesTotal: r.tiles_total,
    tilesDone: r.tiles_done,
    inferences: r.inferences,
    uncorrectable: r.uncorrectable,
    energyJ: r.energy_j,
    coreSeconds: r.core_s,
    reason: r.reason,
    submittedMs: r.submitted_ms,
    startedMs: r.started_ms,
    finishedMs: r.finished_ms,
    rawInputBytes: r.raw_bytes,
    productState: r.product_state as JobRow["productState"],
    downlinkedBytes: r.downlinked_bytes,
  };
}

export interface BatchCommit {
  jobId: string;
  /** tiles_done before the batch (guards against committing a batch twice). */
  fromIndex: number;
  results: TileResult[];
  inferences: number;
  uncorrectable: number;
  rawBytes: number;
  /** Mission time of the commit, ms. */
  nowMs: number;
}

export class JobStore {
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating if needed) the job database; ":memory:" for tests. */
  static open(path: string): JobStore {
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 5000 });
    } catch (err) {
      throw new StoreError(`cannot open job database ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const version = Number(db.pragma("user_version", { simple: true }));
      if (version > SCHEMA_VERSION) throw new StoreError(`job database ${path} has schema version ${version}, newer than this software knows (${SCHEMA_VERSION})`);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.exec(`
        CREATE TABLE IF NOT EXISTS jobs (
          id TEXT PRIMARY KEY,
          seq INTEGER NOT NULL UNIQUE,
          spec TEXT NOT NULL,
          state TEXT NOT NULL,
          variant TEXT,
          tiles_total INTEGER NOT NULL,
          tiles_done INTEGER NOT NULL DEFAULT 0,
          inferences INTEGER NOT NULL DEFAULT 0,
          uncorrectable INTEGER NOT NULL DEFAULT 0,
          energy_j REAL NOT NULL DEFAULT 0,
          core_s REAL NOT NULL DEFAULT 0,
          reason TEXT NOT NULL DEFAULT '',
          submitted_ms REAL NOT NULL,
          started_ms REAL NOT NULL DEFAULT 0,
          finished_ms REAL NOT NULL DEFAULT 0,
          raw_bytes INTEGER NOT NULL DEFAULT 0,
          product_state TEXT NOT NULL DEFAULT 'none',
          product BLOB,
          downlinked_bytes INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
        CREATE TABLE IF NOT EXISTS job_tiles (
          job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          name TEXT NOT NULL,
          bytes INTEGER NOT NULL,
          source TEXT NOT NULL,
          PRIMARY KEY (job_id, idx)
        ) STRICT;
        CREATE TABLE IF NOT EXISTS job_results (
          job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          model TEXT NOT NULL,
          label TEXT NOT NULL,
          confidence REAL NOT NULL,
          vote TEXT NOT NULL,
          detections TEXT NOT NULL,
          output BLOB,
          committed_ms REAL NOT NULL,
          PRIMARY KEY (job_id, idx)
        ) STRICT;
        CREATE TABLE IF NOT EXISTS job_decisions (
          job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
          n INTEGER NOT NULL,
          at_ms REAL NOT NULL,
          from_state TEXT NOT NULL,
          to_state TEXT NOT NULL,
          reason TEXT NOT NULL,
          PRIMARY KEY (job_id, n)
        ) STRICT;
        CREATE TABLE IF NOT EXISTS tenants (
          tenant TEXT PRIMARY KEY,
          quota_j REAL NOT NULL,
          quota_core_s REAL NOT NULL,
          period TEXT NOT NULL,
          reject_over INTEGER NOT NULL,
          created_ms REAL NOT NULL,
          total_j REAL NOT NULL DEFAULT 0,
          total_core_s REAL NOT NULL DEFAULT 0,
          jobs_done INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE IF NOT EXISTS tenant_usage (
          tenant TEXT NOT NULL REFERENCES tenants (tenant),
          period_start_ms REAL NOT NULL,
          joules REAL NOT NULL,
          core_s REAL NOT NULL,
          PRIMARY KEY (tenant, period_start_ms)
        ) STRICT;
        CREATE TABLE IF NOT EXISTS learned_costs (
          key TEXT PRIMARY KEY,
          energy_j REAL NOT NULL,
          seconds REAL NOT NULL,
          samples INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE IF NOT EXISTS runner_kv (
          key TEXT PRIMARY KEY,
          value REAL NOT NULL
        ) STRICT;
      `);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return new JobStore(db);
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      throw new StoreError(`job database ${path} is not usable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  close(): void {
    this.db.close();
  }

  // ---- jobs -------------------------------------------------------------

  /** Inserts a new queued job with its fixed tile list. Throws StoreError if the id exists. */
  insertJob(spec: JobSpec, tiles: readonly TileRef[], nowMs: number): void {
    const tx = this.db.transaction(() => {
      if (this.db.prepare("SELECT 1 FROM jobs WHERE id = ?").get(spec.id)) throw new StoreError(`job ${spec.id} exists`);
      const seq = ((this.db.prepare("SELECT MAX(seq) AS m FROM jobs").get() as { m: number | null }).m ?? 0) + 1;
      this.db
        .prepare("INSERT INTO jobs (id, seq, spec, state, tiles_total, submitted_ms, reason) VALUES (?, ?, ?, 'queued', ?, ?, 'submitted')")
        .run(spec.id, seq, JSON.stringify(spec), tiles.length, nowMs);
      const ins = this.db.prepare("INSERT INTO job_tiles (job_id, idx, name, bytes, source) VALUES (?, ?, ?, ?, ?)");
      for (const t of tiles) ins.run(spec.id, t.index, t.name, t.bytes, t.source);
      this.addDecision(spec.id, nowMs, "queued", "queued", "submitted");
    });
    tx();
  }

  get(id: string): JobRow | undefined {
    const r = this.db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobDbRow | undefined;
    return r ? toJob(r) : undefined;
  }

  /** Jobs in the given states (all when empty), oldest first. */
  list(states: readonly JobStateName[] = [], tenant = "", limit = 1000): JobRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (states.length > 0) {
      where.push(`state IN (${states.map(() => "?").join(",")})`);
      args.push(...states);
    }
    if (tenant !== "") {
      where.push("json_extract(spec, '$.tenant') = ?");
      args.push(tenant);
    }
    args.push(limit);
    const rows = this.db.prepare(`SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq LIMIT ?`).all(...args) as JobDbRow[];
    return rows.map(toJob);
  }

  /** Moves a job to a new state (checked), recording why. Returns the row after. */
  transition(id: string, to: JobStateName, reason: string, nowMs: number, extra: { variant?: string | null } = {}): JobRow {
    const tx = this.db.transaction(() => {
      const job = this.get(id);
      if (!job) throw new StoreError(`no job ${id}`);
      assertTransition(job.state, to);
      const started = to === "running" && job.startedMs === 0 ? nowMs : job.startedMs;
      const finished = TERMINAL_STATES.has(to) ? nowMs : 0;
      const variant = extra.variant !== undefined ? extra.variant : job.variant;
      this.db.prepare("UPDATE jobs SET state = ?, reason = ?, started_ms = ?, finished_ms = ?, variant = ? WHERE id = ?").run(to, reason, started, finished, variant, id);
      this.addDecision(id, nowMs, job.state, to, reason);
      if (to === "done") this.db.prepare("UPDATE tenants SET jobs_done = jobs_done + 1 WHERE tenant = ?").run(job.spec.tenant);
      // Without per-tile results to keep, they go when the job ends (the summary is built first).
      if (TERMINAL_STATES.has(to) && job.spec.output.keep === "none" && job.productState !== "none") {
        this.db.prepare("DELETE FROM job_results WHERE job_id = ?").run(id);
      }
      return this.get(id)!;
    });
    return tx();
  }

  /** Updates the waiting reason without a state change; logged as a decision only when it changes. */
  setReason(id: string, reason: string, nowMs: number): void {
    const job = this.get(id);
    if (!job || job.reason === reason) return;
    const tx = this.db.transaction(() => {
      this.db.prepare("UPDATE jobs SET reason = ? WHERE id = ?").run(reason, id);
      this.addDecision(id, nowMs, job.state, job.state, reason);
    });
    tx();
  }

  setPriority(id: string, priority: number, nowMs: number): void {
    const tx = this.db.transaction(() => {
      const job = this.get(id);
      if (!job) throw new StoreError(`no job ${id}`);
      const spec = { ...job.spec, priority };
      this.db.prepare("UPDATE jobs SET spec = ? WHERE id = ?").run(JSON.stringify(spec), id);
      this.addDecision(id, nowMs, job.state, job.state, `priority ${job.spec.priority} -> ${priority}`);
    });
    tx();
  }

  private addDecision(id: string, nowMs: number, from: JobStateName, to: JobStateName, reason: string): void {
    const n = ((this.db.prepare("SELECT MAX(n) AS m FROM job_decisions WHERE job_id = ?").get(id) as { m: number | null }).m ?? 0) + 1;
    this.db.prepare("INSERT INTO job_decisions (job_id, n, at_ms, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?)").run(id, n, nowMs, from, to, reason.slice(0, 500));
    this.db.prepare("DELETE FROM job_decisions WHERE job_id = ? AND n <= ?").run(id, n - MAX_DECISIONS);
  }

  decisions(id: string): DecisionRow[] {
    return (
      this.db.prepare("SELECT at_ms, from_state, to_state, reason FROM job_decisions WHERE job_id = ? ORDER BY n").all(id) as {
        at_ms: number;
        from_state: string;
        to_state: string;
        reason: string;
      }[]
    ).map((r) => ({ atMs: r.at_ms, from: r.from_state as JobStateName, to: r.to_state as JobStateName, reason: r.reason }));
  }

  tiles(id: string, from: number, count: number): TileRef[] {
    return (
      this.db.prepare("SELECT idx, name, bytes, source FROM job_tiles WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?").all(id, from, count) as {
        idx: number;
        name: string;
        bytes: number;
        source: string;
      }[]
    ).map((r) => ({ index: r.idx, name: r.name, bytes: r.bytes, source: r.source }));
  }

  /**
   * Commits one completed batch: its results, the job's progress and counts,
   * in one transaction. Refuses (StoreError) a batch that does not start at
   * the job's current progress or a job that is no longer running, so a batch
   * finished after a cancel or a reset is not counted.
   */
  commitBatch(b: BatchCommit): JobRow {
    const tx = this.db.transaction(() => {
      const job = this.get(b.jobId);
      if (!job) throw new StoreError(`no job ${b.jobId}`);
      if (job.state !== "running") throw new StoreError(`job ${b.jobId} is ${job.state}, not running: batch discarded`);
      if (job.tilesDone !== b.fromIndex) throw new StoreError(`job ${b.jobId} is at tile ${job.tilesDone}, the batch starts at ${b.fromIndex}: discarded`);
      const ins = this.db.prepare("INSERT INTO job_results (job_id, idx, model, label, confidence, vote, detections, output, committed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (const r of b.results) ins.run(b.jobId, r.index, r.model, r.label, r.confidence, r.vote, r.detections, r.output, b.nowMs);
      this.db
        .prepare("UPDATE jobs SET tiles_done = tiles_done + ?, inferences = inferences + ?, uncorrectable = uncorrectable + ?, raw_bytes = raw_bytes + ? WHERE id = ?")
        .run(b.results.length, b.inferences, b.uncorrectable, b.rawBytes, b.jobId);
      return this.get(b.jobId)!;
    });
    return tx();
  }

  results(id: string): TileResult[] {
    return (
      this.db.prepare("SELECT idx, model, label, confidence, vote, detections, output FROM job_results WHERE job_id = ? ORDER BY idx").all(id) as {
        idx: number;
        model: string;
        label: string;
        confidence: number;
        vote: string;
        detections: string;
        output: Uint8Array | null;
      }[]
    ).map((r) => ({ index: r.idx, model: r.model, label: r.label, confidence: r.confidence, vote: r.vote, detections: r.detections, output: r.output }));
  }

  /**
   * Results that count: voted (not unreadable, not uncorrectable) and
   * committed by `byMs` (mission time; null = whenever).
   */
  usefulResults(id: string, byMs: number | null): number {
    const r = this.db
      .prepare("SELECT COUNT(*) AS n FROM job_results WHERE job_id = ? AND vote NOT IN ('unreadable', 'no-majority') AND committed_ms <= ?")
      .get(id, byMs ?? Number.MAX_VALUE) as { n: number };
    return r.n;
  }

  /** Stores the built summary product (outbox) until the TTC acknowledges it. */
  setProduct(id: string, product: Uint8Array): void {
    this.db.prepare("UPDATE jobs SET product = ?, product_state = 'pending' WHERE id = ? AND product_state = 'none'").run(product, id);
  }

  /** Every product not yet acknowledged by the TTC, oldest first. */
  pendingProducts(): { id: string; product: Uint8Array }[] {
    return this.db.prepare("SELECT id, product FROM jobs WHERE product_state = 'pending' ORDER BY seq").all() as { id: string; product: Uint8Array }[];
  }

  /** The oldest product not yet acknowledged by the TTC. */
  nextPendingProduct(): { id: string; product: Uint8Array } | undefined {
    return this.db.prepare("SELECT id, product FROM jobs WHERE product_state = 'pending' ORDER BY seq LIMIT 1").get() as { id: string; product: Uint8Array } | undefined;
  }

  pendingProductCount(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE product_state = 'pending'").get() as { n: number }).n;
  }

  /** Jobs per state, all of them. */
  countByState(): Map<JobStateName, number> {
    const rows = this.db.prepare("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").all() as { state: JobStateName; n: number }[];
    return new Map(rows.map((r) => [r.state, r.n]));
  }

  productQueued(id: string, downlinkedBytes: number): void {
    const tx = this.db.transaction(() => {
      this.db.prepare("UPDATE jobs SET product_state = 'queued', downlinked_bytes = ? WHERE id = ?").run(downlinkedBytes, id);
      const job = this.get(id);
      if (job && job.spec.output.keep === "none" && TERMINAL_STATES.has(job.state)) this.db.prepare("DELETE FROM job_results WHERE job_id = ?").run(id);
    });
    tx();
  }

  // ---- metering ---------------------------------------------------------

  /**
   * Adds metered energy and CPU to jobs and to their tenants' usage of the
   * current period, in one transaction.
   */
  meter(entries: readonly { jobId: string; tenant: string; joules: number; coreSeconds: number; periodStartMs: number }[]): void {
    if (entries.length === 0) return;
    const tx = this.db.transaction(() => {
      const job = this.db.prepare("UPDATE jobs SET energy_j = energy_j + ?, core_s = core_s + ? WHERE id = ?");
      const usage = this.db.prepare(
        "INSERT INTO tenant_usage (tenant, period_start_ms, joules, core_s) VALUES (?, ?, ?, ?) ON CONFLICT (tenant, period_start_ms) DO UPDATE SET joules = joules + excluded.joules, core_s = core_s + excluded.core_s",
      );
      const total = this.db.prepare("UPDATE tenants SET total_j = total_j + ?, total_core_s = total_core_s + ? WHERE tenant = ?");
      for (const e of entries) {
        if (!(e.joules >= 0) || !(e.coreSeconds >= 0)) throw new StoreError(`metering for ${e.jobId} must be finite and >= 0`);
        job.run(e.joules, e.coreSeconds, e.jobId);
        if (this.tenant(e.tenant)) {
          usage.run(e.tenant, e.periodStartMs, e.joules, e.coreSeconds);
          total.run(e.joules, e.coreSeconds, e.tenant);
        }
      }
    });
    tx();
  }

  setTenant(t: Omit<TenantRow, "totalJoules" | "totalCoreSeconds" | "jobsDone" | "createdMs">, nowMs: number): void {
    this.db
      .prepare(
        "INSERT INTO tenants (tenant, quota_j, quota_core_s, period, reject_over, created_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET quota_j = excluded.quota_j, quota_core_s = excluded.quota_core_s, period = excluded.period, reject_over = excluded.reject_over",
      )
      .run(t.tenant, t.quotaJoules, t.quotaCoreSeconds, t.period, t.rejectOverQuota ? 1 : 0, nowMs);
  }

  tenant(name: string): TenantRow | undefined {
    const r = this.db.prepare("SELECT * FROM tenants WHERE tenant = ?").get(name) as
      | { tenant: string; quota_j: number; quota_core_s: number; period: string; reject_over: number; created_ms: number; total_j: number; total_core_s: number; jobs_done: number }
      | undefined;
    if (!r) return undefined;
    return {
      tenant: r.tenant,
      quotaJoules: r.quota_j,
      quotaCoreSeconds: r.quota_core_s,
      period: r.period as QuotaPeriodName,
      rejectOverQuota: r.reject_over !== 0,
      createdMs: r.created_ms,
      totalJoules: r.total_j,
      totalCoreSeconds: r.total_core_s,
      jobsDone: r.jobs_done,
    };
  }

  tenants(): TenantRow[] {
    return (this.db.prepare("SELECT tenant FROM tenants ORDER BY tenant").all() as { tenant: string }[]).map((r) => this.tenant(r.tenant)!);
  }

  usage(tenant: string, periodStartMs: number): UsageRow {
    const r = this.db.prepare("SELECT joules, core_s FROM tenant_usage WHERE tenant = ? AND period_start_ms = ?").get(tenant, periodStartMs) as { joules: number; core_s: number } | undefined;
    return { periodStartMs, joules: r?.joules ?? 0, coreSeconds: r?.core_s ?? 0 };
  }

  // ---- learned figures ----------------------------------------------------

  learnedCosts(): LearnedCost[] {
    return (this.db.prepare("SELECT key, energy_j, seconds, samples FROM learned_costs").all() as { key: string; energy_j: number; seconds: number; samples: number }[]).map((r) => ({
      key: r.key,
      energyJ: r.energy_j,
      seconds: r.seconds,
      samples: r.samples,
    }));
  }

  saveLearned(costs: readonly LearnedCost[], kv: Record<string, number>): void {
    const tx = this.db.transaction(() => {
      const up = this.db.prepare("INSERT INTO learned_costs (key, energy_j, seconds, samples) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET energy_j = excluded.energy_j, seconds = excluded.seconds, samples = excluded.samples");
      for (const c of costs) up.run(c.key, c.energyJ, c.seconds, c.samples);
      const kvUp = this.db.prepare("INSERT INTO runner_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
      for (const [k, v] of Object.entries(kv)) if (Number.isFinite(v)) kvUp.run(k, v);
    });
    tx();
  }

  kv(key: string): number | undefined {
    return (this.db.prepare("SELECT value FROM runner_kv WHERE key = ?").get(key) as { value: number } | undefined)?.value;
  }
}
