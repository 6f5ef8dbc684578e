// `pnpm bench archive`: the telemetry archive (issue "Telemetry path").
//
// 1. Sustained ingest, one core: 1,000 parameters at 1 Hz, one batch = one
//    second of all of them (1,000 samples), 3 M samples per variant in 3
//    alternating rounds of 1,000 batches (a day would be 86.4 M: too long for
//    a benchmark run). Each appendSamples call is one transaction, durable when
//    it returns (WAL, synchronous = FULL). Baseline: plain better-sqlite3,
//    the same rows from the same batch objects inserted into a minimal table
//    (parameter_id, t_ns, value; no index) with one prepared INSERT per row,
//    one transaction per batch, same WAL + synchronous = FULL.
//    Target: archive >= 70 % of the baseline AND > 200,000 samples/s.
//    Only the calls are timed (building the batch objects is not); CPU time
//    per sample is from process.cpuUsage() around the same calls.
//    Informational: both with synchronous = NORMAL (no fsync per commit, so
//    CPU-bound), and the baseline with the index a per-parameter time query
//    needs (PRIMARY KEY (parameter_id, t_ns)).
// 2. Query latency: samples(...) of one parameter over one day of 1 Hz data
//    (86,400 samples). The file is filled so that the parameter's blocks look
//    as they do under the real load: 16 parameters for the first 23 h 50 min
//    with compaction every 1,024 samples (64 samples per parameter per block,
//    one generation per 64 s, as 1,000 parameters with the default 65,536
//    give), then all 1,000 parameters for the last 10 minutes with the
//    defaults (so up to 65,536 samples are still staged). Baseline: a plain
//    SELECT of the same 86,400 rows from a WITHOUT ROWID table keyed
//    (parameter_id, t_ns) holding only them (the best case for a row store).
//    5 warm-up queries each, then 40 alternating; p50/p99. Target: < 50 ms.
//
// Database files go in a temporary directory under os.tmpdir(), removed at the end.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type * as ArchiveModule from "../../packages/ttc/src/archive/index.js";
import { percentile, result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";

type Archive = ArchiveModule.Archive;
type OpenArchiveOptions = ArchiveModule.OpenArchiveOptions;
type SampleInput = ArchiveModule.SampleInput;

// The archive is not (yet) re-exported from @umbra/ttc's entry point, and the
// package exports nothing else: load the compiled module next to that entry.
const ttcEntry = import.meta.resolve("@umbra/ttc");
let openArchive: typeof ArchiveModule.openArchive;

// better-sqlite3 for the baselines, resolved where @umbra/ttc gets it (test/ does not depend on it).
interface RawStatement {
  run(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  raw(toggle?: boolean): RawStatement;
  safeIntegers(toggle?: boolean): RawStatement;
}
interface RawDatabase {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
  prepare(source: string): RawStatement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): { immediate(...args: A): void };
  close(): void;
}
const requireFromTtc = createRequire(ttcEntry);
const Database = requireFromTtc("better-sqlite3") as new (file: string) => RawDatabase;

const PARAMETERS = 1000;
const BATCHES_PER_ROUND = 1000;
const ROUNDS = 3;
const WARMUP_BATCHES = 100;
const NORMAL_BATCHES = 1000;
const INDEXED_BATCHES = 200;
const T0 = 2_200_000_000_000_000_000n;
const SECOND = 1_000_000_000n;
const DAY_S = 86_400;
const TAIL_S = 600;
const QUERY_WARMUP = 5;
const QUERY_RUNS = 40;

const NAMES = Array.from({ length: PARAMETERS }, (_, i) => `param${String(i).padStart(4, "0")}`);
const SERVICES = Array.from({ length: PARAMETERS }, (_, i) => `service${i % 20}`);

/**
 * One second of housekeeping: mostly floats, every 10th parameter an integer
 * counter, a few booleans and mode strings.
 */
function batchAt(second: number): SampleInput[] {
  const tNs = T0 + BigInt(second) * SECOND;
  const batch: SampleInput[] = new Array<SampleInput>(PARAMETERS);
  for (let i = 0; i < PARAMETERS; i++) {
    let value: SampleInput["value"];
    if (i % 100 === 2) value = second % 600 < 300 ? "NOMINAL" : "DEGRADED";
    else if (i % 50 === 1) value = (second + i) % 7 === 0;
    else if (i % 10 === 0) value = second + i;
    else value = 20 + 10 * Math.sin(second / 60 + i);
    batch[i] = { service: SERVICES[i]!, name: NAMES[i]!, tNs, value };
  }
  return batch;
}

interface Ingest {
  append(batch: readonly SampleInput[]): void;
  close(): void;
  readonly file: string;
}

function archiveIngest(file: string, options: OpenArchiveOptions = {}): Ingest {
  const archive = openArchive(file, options);
  return { append: (b) => archive.appendSamples(b), close: () => archive.close(), file };
}

/** The baseline: one prepared INSERT per row, one transaction per batch. */
function plainIngest(file: string, synchronous: "FULL" | "NORMAL", indexed = false): Ingest {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(
    indexed
      ? `CREATE TABLE samples (parameter_id INTEGER NOT NULL, t_ns INTEGER NOT NULL, value ANY, PRIMARY KEY (parameter_id, t_ns)) STRICT, WITHOUT ROWID`
      : `CREATE TABLE samples (parameter_id INTEGER NOT NULL, t_ns INTEGER NOT NULL, value ANY) STRICT`,
  );
  const insert = db.prepare(`INSERT INTO samples (parameter_id, t_ns, value) VALUES (?, ?, ?)`);
  const tx = db.transaction((batch: readonly SampleInput[]) => {
    for (let i = 0; i < batch.length; i++) {
      const s = batch[i]!;
      const v = s.value;
      insert.run(i + 1, s.tNs, typeof v === "boolean" ? (v ? 1 : 0) : v);
    }
  });
  return { append: (b) => tx.immediate(b), close: () => db.close(), file };
}

interface Timing {
  samples: number;
  wallMs: number;
  cpuUs: number;
  /** Each call's wall time, ms. */
  calls: number[];
}

const noTiming = (): Timing => ({ samples: 0, wallMs: 0, cpuUs: 0, calls: [] });

function addTiming(into: Timing, t: Timing): void {
  into.samples += t.samples;
  into.wallMs += t.wallMs;
  into.cpuUs += t.cpuUs;
  into.calls.push(...t.calls);
}

/** Appends batches for seconds [from, from + count), timing only the calls. */
function ingestRound(target: Ingest, from: number, count: number): Timing {
  const timing = noTiming();
  for (let s = from; s < from + count; s++) {
    const batch = batchAt(s);
    const cpu = process.cpuUsage();
    const start = performance.now();
    target.append(batch);
    const ms = performance.now() - start;
    timing.wallMs += ms;
    timing.calls.push(ms);
    const used = process.cpuUsage(cpu);
    timing.cpuUs += used.user + used.system;
    timing.samples += batch.length;
  }
  return timing;
}

const rate = (t: Timing) => t.samples / (t.wallMs / 1000);
const cpuPerSample = (t: Timing) => t.cpuUs / t.samples;

function fileBytes(file: string): number {
  let total = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // no such file
    }
  }
  return total;
}

async function measureIngest(dir: string, ctx: BenchContext): Promise<BenchResult[]> {
  ctx.log("ingest: warming up");
  for (const warm of [archiveIngest(path.join(dir, "warm-archive.db")), plainIngest(path.join(dir, "warm-plain.db"), "FULL")]) {
    ingestRound(warm, 0, WARMUP_BATCHES);
    warm.close();
  }

  const archive = archiveIngest(path.join(dir, "ingest-archive.db"));
  const plain = plainIngest(path.join(dir, "ingest-plain.db"), "FULL");
  const a = noTiming();
  const p = noTiming();
  for (let round = 0; round < ROUNDS; round++) {
    const from = round * BATCHES_PER_ROUND;
    const ta = ingestRound(archive, from, BATCHES_PER_ROUND);
    const tp = ingestRound(plain, from, BATCHES_PER_ROUND);
    addTiming(a, ta);
    addTiming(p, tp);
    ctx.log(
      `ingest round ${round + 1}/${ROUNDS}: archive ${Math.round(rate(ta)).toLocaleString("en-US")} samples/s, ` +
        `plain ${Math.round(rate(tp)).toLocaleString("en-US")} samples/s`,
    );
  }
  archive.close();
  plain.close();
  const archiveBytes = fileBytes(archive.file) / a.samples;
  const plainBytes = fileBytes(plain.file) / p.samples;

  ctx.log("ingest: synchronous = NORMAL (no fsync per commit)");
  const archiveNormal = archiveIngest(path.join(dir, "normal-archive.db"), { synchronous: "normal" });
  const plainNormal = plainIngest(path.join(dir, "normal-plain.db"), "NORMAL");
  const an = ingestRound(archiveNormal, 0, NORMAL_BATCHES);
  const pn = ingestRound(plainNormal, 0, NORMAL_BATCHES);
  archiveNormal.close();
  plainNormal.close();

  ctx.log("ingest: plain table keyed (parameter_id, t_ns)");
  const indexed = plainIngest(path.join(dir, "indexed-plain.db"), "FULL", true);
  const ti = ingestRound(indexed, 0, INDEXED_BATCHES);
  indexed.close();

  const ratio = rate(a) / rate(p);
  return [
    result(`ingest, ${PARAMETERS} parameters x 1 Hz, batches of ${PARAMETERS}, synchronous FULL (baseline: plain INSERTs, same rows)`, rate(a), "samples/s", {
      baseline: rate(p),
      target: "ratio >= 0.7 and > 200,000 samples/s",
      met: ratio >= 0.7 && rate(a) > 200_000,
    }),
    result("ingest CPU time per sample (user + system), synchronous FULL", cpuPerSample(a), "µs", { baseline: cpuPerSample(p) }),
    result("appendSamples latency per 1,000-sample batch, p50", percentile(a.calls, 50), "ms", { baseline: percentile(p.calls, 50) }),
    result("appendSamples latency per 1,000-sample batch, p99 (every ~66th call also compacts)", percentile(a.calls, 99), "ms", {
      baseline: percentile(p.calls, 99),
    }),
    result("appendSamples latency per 1,000-sample batch, max", Math.max(...a.calls), "ms", { baseline: Math.max(...p.calls) }),
    result("ingest, synchronous NORMAL (no fsync per commit; informational)", rate(an), "samples/s", { baseline: rate(pn) }),
    result(`ingest into a plain table keyed (parameter_id, t_ns), FULL, ${INDEXED_BATCHES} batches (baseline: archive)`, rate(ti), "samples/s", {
      baseline: rate(a),
    }),
    result(`file bytes per sample after ${(a.samples / 1e6).toFixed(0)} M samples (baseline: plain table, no index)`, archiveBytes, "B", {
      baseline: plainBytes,
    }),
  ];
}

/** Fills the query file as described at the top; returns the archive, opened with defaults. */
function fillQueryArchive(file: string, ctx: BenchContext): Archive {
  const hot = openArchive(file, { compactAfterSamples: 1024, synchronous: "normal" });
  const names = NAMES.slice(0, 16);
  const headS = DAY_S - TAIL_S;
  for (let s = 0; s < headS; s += 64) {
    const batch: SampleInput[] = [];
    for (let k = s; k < Math.min(s + 64, headS); k++) {
      const tNs = T0 + BigInt(k) * SECOND;
      for (let i = 0; i < names.length; i++) batch.push({ service: SERVICES[i]!, name: names[i]!, tNs, value: 20 + 10 * Math.sin(k / 60 + i) });
    }
    hot.appendSamples(batch);
  }
  hot.close();
  const archive = openArchive(file);
  for (let s = headS; s < DAY_S; s++) archive.appendSamples(batchAt(s));
  const st = archive.stats();
  ctx.log(
    `query file: ${st.rows.samples.toLocaleString("en-US")} samples, ${st.storage.generations} generations, ` +
      `${st.storage.blocks} blocks, ${st.staged.samples} staged, ${(st.bytes.file / 1e6).toFixed(1)} MB`,
  );
  return archive;
}

function fillQueryBaseline(file: string): { db: RawDatabase; query: () => unknown[] } {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`CREATE TABLE samples (parameter_id INTEGER NOT NULL, t_ns INTEGER NOT NULL, value ANY, PRIMARY KEY (parameter_id, t_ns)) STRICT, WITHOUT ROWID`);
  const insert = db.prepare(`INSERT INTO samples (parameter_id, t_ns, value) VALUES (?, ?, ?)`);
  db.transaction(() => {
    for (let k = 0; k < DAY_S; k++) insert.run(1, T0 + BigInt(k) * SECOND, 20 + 10 * Math.sin(k / 60));
  }).immediate();
  const select = db.prepare(`SELECT t_ns, value FROM samples WHERE parameter_id = ? AND t_ns BETWEEN ? AND ? ORDER BY t_ns`).raw().safeIntegers(true);
  const to = T0 + BigInt(DAY_S) * SECOND - 1n;
  return { db, query: () => select.all(1, T0, to) };
}

async function measureQuery(dir: string, ctx: BenchContext): Promise<BenchResult[]> {
  ctx.log("query: filling one day of one parameter");
  const archive = fillQueryArchive(path.join(dir, "query-archive.db"), ctx);
  const baseline = fillQueryBaseline(path.join(dir, "query-plain.db"));
  const to = T0 + BigInt(DAY_S) * SECOND - 1n;
  const queryArchive = () => {
    const series = archive.samples(SERVICES[0]!, NAMES[0]!, T0, to);
    if (series.length !== DAY_S || series.tNs[0] !== T0 || series.tNs[DAY_S - 1] !== to + 1n - SECOND) {
      throw new Error(`one-day query returned ${series.length} samples, expected ${DAY_S}`);
    }
  };
  const queryPlain = () => {
    if (baseline.query().length !== DAY_S) throw new Error("baseline query returned the wrong count");
  };
  const time = (fn: () => void) => {
    const start = performance.now();
    fn();
    return performance.now() - start;
  };
  for (let i = 0; i < QUERY_WARMUP; i++) {
    queryArchive();
    queryPlain();
  }
  const a: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < QUERY_RUNS; i++) {
    a.push(time(queryArchive));
    p.push(time(queryPlain));
  }
  archive.close();
  baseline.db.close();
  ctx.log(`query: archive max ${Math.max(...a).toFixed(1)} ms, plain max ${Math.max(...p).toFixed(1)} ms`);
  return [
    result(`samples() of one parameter over one day (${DAY_S.toLocaleString("en-US")} samples), p50 (baseline: plain indexed SELECT)`, percentile(a, 50), "ms", {
      baseline: percentile(p, 50),
      target: "< 50 ms",
      met: percentile(a, 50) < 50,
    }),
    result("samples() of one parameter over one day, p99", percentile(a, 99), "ms", {
      baseline: percentile(p, 99),
      target: "< 50 ms",
      met: percentile(a, 99) < 50,
    }),
  ];
}

export const archiveBenchmark: Benchmark = {
  name: "archive",
  description: "telemetry archive: sustained 1,000-parameter ingest vs plain SQLite inserts, one-day query latency",
  async run(ctx) {
    ({ openArchive } = (await import(new URL("./archive/index.js", ttcEntry).href)) as typeof ArchiveModule);
    const dir = mkdtempSync(path.join(os.tmpdir(), "umbra-bench-archive-"));
    try {
      const ingest = await measureIngest(dir, ctx);
      const query = await measureQuery(dir, ctx);
      return [...ingest, ...query];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
