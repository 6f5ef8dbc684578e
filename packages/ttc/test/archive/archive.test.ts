import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  ARCHIVE_SCHEMA_VERSION,
  Archive,
  GENERATION_SPAN_NS,
  InvalidFieldError,
  TtcDatabaseError,
  openArchive,
  seriesSamples,
  type OpenArchiveOptions,
  type SampleInput,
} from "../../src/archive/index.js";
import { openTtcDatabase } from "../../src/store/database.js";
import { HOUR, SECOND, T0, event, grid, report, sample, tempDir } from "./support.js";

const newDir = tempDir();
const open: Archive[] = [];

function fresh(options: OpenArchiveOptions = {}): Archive {
  const archive = openArchive(join(newDir(), "archive.db"), options);
  open.push(archive);
  return archive;
}

function reopen(archive: Archive, options: OpenArchiveOptions = {}): Archive {
  archive.close();
  const again = openArchive(archive.path, options);
  open.push(again);
  return again;
}

afterEach(() => {
  for (const a of open.splice(0)) if (a.open) a.close();
});

const ALL = [0n, (1n << 63n) - 1n] as const;

function times(archive: Archive, name: string, from = ALL[0], to = ALL[1], service = "hk"): bigint[] {
  return [...archive.samples(service, name, from, to).tNs];
}

describe("samples", () => {
  it("round-trips numbers, bigints, booleans and strings, staged and compacted, and across a reopen", () => {
    let archive = fresh();
    const batch: SampleInput[] = [
      sample({ name: "float", value: 28.125 }),
      sample({ name: "int", value: -17 }),
      sample({ name: "negativeZero", value: -0 }),
      sample({ name: "huge", value: 1.5e300 }),
      sample({ name: "counter", value: 9_007_199_254_740_993n }),
      sample({ name: "flag", value: true }),
      sample({ name: "mode", value: "SAFE ✓" }),
      sample({ name: "empty", value: "" }),
    ];
    archive.appendSamples(batch);
    const check = (a: Archive) => {
      for (const s of batch) {
        const series = a.samples(s.service, s.name, T0, T0);
        expect(series.length).toBe(1);
        expect(series.tNs[0]).toBe(T0);
        expect(Object.is(series.values[0], s.value)).toBe(true);
      }
    };
    check(archive);
    expect(archive.compact()).toBe(batch.length);
    check(archive);
    archive = reopen(archive);
    check(archive);
    expect(archive.stats().rows.samples).toBe(batch.length);
  });

  it("answers time-range queries in time order, ends inclusive, over staged and compacted data", () => {
    const archive = fresh({ compactAfterSamples: 50 });
    const names = ["a", "b", "c"];
    // 40 batches of 3 samples: several compactions, the last batches still staged.
    for (let s = 0; s < 40; s++) archive.appendSamples(grid(names, T0 + BigInt(s) * SECOND, 1, () => s));
    const st = archive.stats();
    expect(st.staged.samples).toBeGreaterThan(0);
    expect(st.storage.blocks).toBeGreaterThan(0);
    expect(st.rows.samples).toBe(120);

    const all = archive.samples("hk", "b", T0, T0 + 39n * SECOND);
    expect(all.length).toBe(40);
    expect(all.values).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(seriesSamples(all)[5]).toEqual({ tNs: T0 + 5n * SECOND, value: 5 });

    const window = archive.samples("hk", "b", T0 + 10n * SECOND, T0 + 30n * SECOND);
    expect(window.values).toEqual(Array.from({ length: 21 }, (_, i) => i + 10));
    expect(archive.samples("hk", "b", T0 + 10n * SECOND + 1n, T0 + 11n * SECOND - 1n).length).toBe(0);
    expect(archive.samples("hk", "b", T0 + 100n * SECOND, T0 + 200n * SECOND).length).toBe(0);
    expect(archive.samples("hk", "nope", T0, T0 + 100n * SECOND).length).toBe(0);
    expect(archive.samples("other", "b", T0, T0 + 100n * SECOND).length).toBe(0);
  });

  it("honours limit: the earliest samples, even when they arrived late", () => {
    const archive = fresh({ compactAfterSamples: 10 });
    for (let s = 10; s < 60; s++) archive.appendSamples([sample({ tNs: T0 + BigInt(s) * SECOND, value: s })]);
    // Late arrivals, earlier than everything else, in a later generation and in staging.
    archive.appendSamples([sample({ tNs: T0 + 3n * SECOND, value: 3 }), sample({ tNs: T0 + 1n * SECOND, value: 1 })]);
    archive.compact();
    archive.appendSamples([sample({ tNs: T0 + 2n * SECOND, value: 2 })]);
    const first = archive.samples("power", "busVoltage", T0, T0 + HOUR, { limit: 5 });
    expect(first.values).toEqual([1, 2, 3, 10, 11]);
    expect(archive.samples("power", "busVoltage", T0, T0 + HOUR, { limit: 0 }).length).toBe(0);
    expect(archive.samples("power", "busVoltage", T0, T0 + HOUR, { limit: 1000 }).length).toBe(53);
  });

  it("keeps out-of-order and repeated samples, sorted by time with equal times in arrival order", () => {
    const archive = fresh();
    archive.appendSamples([sample({ tNs: T0 + 5n, value: "b" }), sample({ tNs: T0 + 1n, value: "a" }), sample({ tNs: T0 + 5n, value: "c" })]);
    archive.compact();
    archive.appendSamples([sample({ tNs: T0 + 5n, value: "d" }), sample({ tNs: T0, value: "first" })]);
    const check = () => {
      const s = archive.samples("power", "busVoltage", T0, T0 + 10n);
      expect(s.values).toEqual(["first", "a", "b", "c", "d"]);
      expect([...s.tNs]).toEqual([T0, T0 + 1n, T0 + 5n, T0 + 5n, T0 + 5n]);
    };
    check();
    archive.compact();
    check();
  });

  it("splits a compaction at hour boundaries so that queries still find samples that arrived hours late", () => {
    const archive = fresh();
    const late = T0 - 5n * HOUR;
    archive.appendSamples([
      sample({ tNs: T0, value: 1 }),
      sample({ tNs: late, value: 0 }),
      sample({ tNs: T0 + 3n * HOUR, value: 2 }),
      sample({ name: "other", tNs: T0 + 30n * SECOND, value: 9 }),
    ]);
    archive.compact();
    expect(archive.stats().storage.generations).toBe(3);
    expect(archive.samples("power", "busVoltage", late, late).values).toEqual([0]);
    expect(archive.samples("power", "busVoltage", T0 - HOUR, T0 + 4n * HOUR).values).toEqual([1, 2]);
    expect(archive.samples("power", "busVoltage", late, T0 + 4n * HOUR, { limit: 2 }).values).toEqual([0, 1]);
    expect(GENERATION_SPAN_NS).toBe(HOUR);
  });

  it("agrees with a simple model under random appends, compactions, age retention, late arrivals and limits (property)", () => {
    const op = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.array(
          fc.record({
            param: fc.integer({ min: 0, max: 3 }),
            // Up to ~3 h around T0: several hour buckets, arrivals in any order, repeats.
            offsetS: fc.integer({ min: -3600, max: 7200 }),
            value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.string({ maxLength: 8 })),
          }),
          { minLength: 1, maxLength: 20 },
        ),
      },
      { weight: 1, arbitrary: fc.constant("compact" as const) },
      { weight: 1, arbitrary: fc.record({ retainFromS: fc.integer({ min: -3700, max: 7300 }) }) },
    );
    const query = fc.record({
      param: fc.integer({ min: 0, max: 4 }),
      fromS: fc.integer({ min: -4000, max: 7300 }),
      spanS: fc.integer({ min: 0, max: 12_000 }),
      limit: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 15 }), fc.array(query, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (ops, queries, threshold) => {
        const archive = fresh({ compactAfterSamples: threshold });
        let model: Array<{ param: number; tNs: bigint; value: SampleInput["value"] }> = [];
        let droppedByModel = 0;
        try {
          for (const o of ops) {
            if (o === "compact") {
              archive.compact();
              continue;
            }
            if (!Array.isArray(o)) {
              const cutoff = T0 + BigInt(o.retainFromS) * SECOND;
              const nowNs = T0 + 100_000n * SECOND;
              archive.applyRetention({ nowNs, maxAgeNs: nowNs - cutoff });
              droppedByModel += model.filter((m) => m.tNs < cutoff).length;
              model = model.filter((m) => m.tNs >= cutoff);
              continue;
            }
            const batch = o.map((s) => ({ service: "hk", name: `p${s.param}`, tNs: T0 + BigInt(s.offsetS) * SECOND, value: s.value }));
            archive.appendSamples(batch);
            model.push(...o.map((s, i) => ({ param: s.param, tNs: batch[i]!.tNs, value: s.value })));
          }
          for (const q of queries) {
            const from = T0 + BigInt(q.fromS) * SECOND;
            const to = from + BigInt(q.spanS) * SECOND;
            // Stable sort of arrival order by time: equal times stay in arrival order.
            let expected = model.filter((m) => m.param === q.param && m.tNs >= from && m.tNs <= to).sort((a, b) => (a.tNs < b.tNs ? -1 : a.tNs > b.tNs ? 1 : 0));
            if (q.limit !== undefined) expected = expected.slice(0, q.limit);
            const got = archive.samples("hk", `p${q.param}`, from, to, q.limit === undefined ? {} : { limit: q.limit });
            expect([...got.tNs]).toEqual(expected.map((m) => m.tNs));
            expect(got.values.length).toBe(expected.length);
            got.values.forEach((v, i) => expect(Object.is(v, expected[i]!.value)).toBe(true));
          }
          const st = archive.stats();
          expect(st.rows.samples).toBe(model.length);
          expect(st.dropped.housekeeping.byAge).toBe(droppedByModel);
        } finally {
          archive.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("compacts by itself past the sample or the batch threshold", () => {
    const bySamples = fresh({ compactAfterSamples: 100 });
    for (let s = 0; s < 4; s++) bySamples.appendSamples(grid(["a", "b"], T0 + BigInt(s * 30) * SECOND, 30));
    // 4 batches of 60: the 3rd append found 120 >= 100 staged and compacted them first.
    expect(bySamples.stats().staged).toEqual({ batches: 2, samples: 120 });
    expect(bySamples.stats().storage.blocks).toBe(2);
    const byBatches = fresh({ compactAfterBatches: 3 });
    for (let s = 0; s < 7; s++) byBatches.appendSamples([sample({ tNs: T0 + BigInt(s) })]);
    expect(byBatches.stats().staged).toEqual({ batches: 1, samples: 1 });
    expect(byBatches.samples("power", "busVoltage", T0, T0 + 10n).length).toBe(7);
  });

  it("stages a huge batch in several rows, all in one transaction", () => {
    const archive = fresh({ compactAfterSamples: 1_000_000 });
    const names = Array.from({ length: 100 }, (_, i) => `p${i}`);
    archive.appendSamples(grid(names, T0, 100));
    expect(archive.stats().staged).toEqual({ batches: 3, samples: 10_000 });
    expect(archive.samples("hk", "p99", T0, T0 + HOUR).values).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("lists parameters, created once, kept across a reopen", () => {
    let archive = fresh();
    archive.appendSamples([sample({ service: "b", name: "x" }), sample({ service: "a", name: "y" }), sample({ service: "b", name: "x", tNs: T0 + 1n })]);
    archive = reopen(archive);
    archive.appendSamples([sample({ service: "a", name: "y", tNs: T0 + 2n })]);
    expect(archive.parameters().map((p) => `${p.service}.${p.name}`)).toEqual(["a.y", "b.x"]);
    expect(archive.stats().rows.parameters).toBe(2);
    expect(archive.samples("a", "y", T0, T0 + 10n).length).toBe(2);
  });
});

describe("events and verification reports", () => {
  it("round-trip and filter by time, severity and service", () => {
    let archive = fresh();
    archive.appendEvents([
      event({ tNs: T0, severity: "info", service: "ttc", name: "criticalArmed", id: 2, args: {} }),
      event({ tNs: T0 + 2n, severity: "high", args: { nested: { list: [1, "two", null, true] } } }),
      event({ tNs: T0 + 1n, severity: "low", service: "ttc", id: 4_294_967_295, message: "" }),
    ]);
    archive.appendEvents([{ tNs: T0 + 3n, service: "power", id: 1, name: "brownout", severity: "medium", message: "bus under 24 V" }]);
    archive = reopen(archive);
    const all = archive.events({ fromNs: T0, toNs: T0 + 10n });
    expect(all.map((e) => e.tNs)).toEqual([T0, T0 + 1n, T0 + 2n, T0 + 3n]);
    expect(all[1]).toEqual({
      tNs: T0 + 1n,
      service: "ttc",
      id: 4_294_967_295,
      name: "overTemperature",
      severity: "low",
      message: "",
      args: { gpu: 0, celsius: 86.5 },
    });
    expect(all[2]!.args).toEqual({ nested: { list: [1, "two", null, true] } });
    expect(all[3]!.args).toEqual({});
    expect(archive.events({ fromNs: T0, toNs: T0 + 10n, minSeverity: "medium" }).map((e) => e.severity)).toEqual(["high", "medium"]);
    expect(archive.events({ fromNs: T0, toNs: T0 + 10n, service: "ttc" }).length).toBe(2);
    expect(archive.events({ fromNs: T0 + 1n, toNs: T0 + 2n }).length).toBe(2);
    expect(archive.events({ fromNs: T0, toNs: T0 + 10n, limit: 1 }).map((e) => e.tNs)).toEqual([T0]);
    const st = archive.stats().rows;
    expect([st.events, st.low, st.high]).toEqual([4, 2, 2]);
  });

  it("verification reports round-trip and filter by command", () => {
    let archive = fresh();
    archive.appendVerifications([
      report({ tNs: T0, commandId: 7 }),
      report({ tNs: T0 + 1n, commandId: 7, stage: "start" }),
      report({ tNs: T0 + 2n, commandId: 8, apid: 2047, sequenceCount: 16383, stage: "completion", success: false, code: 4_294_967_295, detail: "timeout" }),
    ]);
    archive = reopen(archive);
    const all = archive.verifications({ fromNs: T0, toNs: T0 + 10n });
    expect(all.map((r) => r.stage)).toEqual(["acceptance", "start", "completion"]);
    expect(all[2]).toEqual({
      tNs: T0 + 2n,
      commandId: 8,
      apid: 2047,
      sequenceCount: 16383,
      stage: "completion",
      success: false,
      code: 4_294_967_295,
      detail: "timeout",
    });
    expect(archive.verifications({ fromNs: T0, toNs: T0 + 10n, commandId: 7 }).length).toBe(2);
    expect(archive.verifications({ fromNs: T0 + 1n, toNs: T0 + 1n }).length).toBe(1);
    expect(archive.stats().rows.verifications).toBe(3);
    expect(archive.stats().rows.high).toBe(3);
  });
});

describe("bad input", () => {
  function expectField(fn: () => unknown, field: string) {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect(caught).toBeInstanceOf(InvalidFieldError);
    expect((caught as InvalidFieldError).field).toBe(field);
    expect((caught as Error).message).toContain(field);
  }

  it("names the field and writes nothing", () => {
    const archive = fresh();
    archive.appendSamples([sample()]);
    const before = archive.stats();
    const good = sample({ name: "fresh" });
    const cases: Array<[() => unknown, string]> = [
      [() => archive.appendSamples([good, sample({ value: Number.NaN })]), "batch[1].value"],
      [() => archive.appendSamples([good, sample({ value: Number.POSITIVE_INFINITY })]), "batch[1].value"],
      [() => archive.appendSamples([good, sample({ value: 1n << 63n })]), "batch[1].value"],
      [() => archive.appendSamples([good, sample({ value: "x".repeat(1025) })]), "batch[1].value"],
      [() => archive.appendSamples([good, sample({ value: null as never })]), "batch[1].value"],
      [() => archive.appendSamples([good, sample({ value: undefined as never })]), "batch[1].value"],
      [() => archive.appendSamples([good, sample({ name: "" })]), "batch[1].name"],
      [() => archive.appendSamples([good, sample({ service: "" })]), "batch[1].service"],
      [() => archive.appendSamples([good, sample({ name: "n".repeat(65) })]), "batch[1].name"],
      [() => archive.appendSamples([good, sample({ tNs: -1n })]), "batch[1].tNs"],
      [() => archive.appendSamples([good, sample({ tNs: 1n << 63n })]), "batch[1].tNs"],
      [() => archive.appendSamples([good, sample({ tNs: 5 as never })]), "batch[1].tNs"],
      [() => archive.appendSamples([good, null as never]), "batch[1]"],
      [() => archive.appendSamples("nope" as never), "batch"],
      [() => archive.appendEvents([event(), event({ severity: "critical" as never })]), "events[1].severity"],
      [() => archive.appendEvents([event({ name: "" })]), "events[0].name"],
      [() => archive.appendEvents([event({ tNs: -5n })]), "events[0].tNs"],
      [() => archive.appendEvents([event({ id: -1 })]), "events[0].id"],
      [() => archive.appendEvents([event({ args: { ratio: Number.NaN } })]), "events[0].args.ratio"],
      [() => archive.appendEvents([event({ args: { list: [1, Number.NEGATIVE_INFINITY] } })]), "events[0].args.list[1]"],
      [() => archive.appendEvents([event({ args: { big: 1n } })]), "events[0].args.big"],
      [() => archive.appendEvents([event({ args: { text: "x".repeat(20_000) } })]), "events[0].args"],
      [() => archive.appendEvents([event({ message: 5 as never })]), "events[0].message"],
      [() => archive.appendVerifications([report(), report({ stage: "done" as never })]), "reports[1].stage"],
      [() => archive.appendVerifications([report({ apid: 2048 })]), "reports[0].apid"],
      [() => archive.appendVerifications([report({ sequenceCount: 16384 })]), "reports[0].sequenceCount"],
      [() => archive.appendVerifications([report({ commandId: 0 })]), "reports[0].commandId"],
      [() => archive.appendVerifications([report({ success: 1 as never })]), "reports[0].success"],
      [() => archive.appendVerifications([report({ code: 1.5 })]), "reports[0].code"],
    ];
    for (const [fn, field] of cases) expectField(fn, field);
    expect(archive.stats()).toEqual(before);
    expect(archive.parameters().map((p) => p.name)).toEqual(["busVoltage"]);
  });

  it("checks query and retention arguments", () => {
    const archive = fresh();
    expectField(() => archive.samples("hk", "x", T0, T0 - 1n), "toNs");
    expectField(() => archive.samples("hk", "x", -1n, T0), "fromNs");
    expectField(() => archive.samples("", "x", T0, T0), "service");
    expectField(() => archive.samples("hk", "x", T0, T0, { limit: -1 }), "options.limit");
    expectField(() => archive.events({ fromNs: T0, toNs: T0, minSeverity: "severe" as never }), "minSeverity");
    expectField(() => archive.verifications({ fromNs: T0, toNs: T0, commandId: 0 }), "commandId");
    expectField(() => archive.applyRetention({ nowNs: -1n }), "nowNs");
    expectField(() => archive.applyRetention({ nowNs: T0, maxAgeNs: -1n }), "maxAgeNs");
    expectField(() => archive.applyRetention({ nowNs: T0, maxBytes: 1.5 }), "maxBytes");
    expectField(() => openArchive(join(newDir(), "x.db"), { synchronous: "off" as never }), "options.synchronous");
    expectField(() => openArchive(join(newDir(), "x.db"), { compactAfterSamples: 0 }), "options.compactAfterSamples");
  });

  it("an empty batch is a no-op", () => {
    const archive = fresh();
    archive.appendSamples([]);
    archive.appendEvents([]);
    archive.appendVerifications([]);
    expect(archive.stats().rows.samples).toBe(0);
  });
});

describe("the file", () => {
  it("uses WAL, synchronous FULL by default (NORMAL on request) and incremental auto_vacuum", () => {
    const path = join(newDir(), "a.db");
    openArchive(path).close();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(raw.pragma("auto_vacuum", { simple: true })).toBe(2);
      expect(raw.pragma("user_version", { simple: true })).toBe(ARCHIVE_SCHEMA_VERSION);
    } finally {
      raw.close();
    }
    const full = openArchive(path);
    expect(full.synchronous).toBe("full");
    full.close();
    const normal = openArchive(path, { synchronous: "normal" });
    expect(normal.synchronous).toBe("normal");
    normal.close();
  });

  it("forgets parameters created by a transaction that rolled back", () => {
    const archive = fresh();
    archive.appendSamples([sample({ name: "kept" })]);
    // Make the staged insert fail inside the transaction, after the new parameter was inserted.
    const raw = new Database(archive.path);
    raw.exec(`CREATE TRIGGER fail BEFORE INSERT ON sample_staging WHEN NEW.count = 2 BEGIN SELECT RAISE(ABORT, 'injected'); END`);
    expect(() => archive.appendSamples([sample({ name: "kept", tNs: T0 + 1n }), sample({ name: "new" })])).toThrow(/injected/);
    raw.exec(`DROP TRIGGER fail`);
    raw.close();
    expect(archive.parameters().map((p) => p.name)).toEqual(["kept"]);
    archive.appendSamples([sample({ name: "new", tNs: T0 + 5n, value: 5 })]);
    archive.compact();
    expect(archive.samples("power", "new", T0, T0 + 10n).values).toEqual([5]);
    expect(archive.parameters().map((p) => p.name)).toEqual(["kept", "new"]);
    expect(archive.samples("power", "kept", T0, T0 + 10n).length).toBe(1);
  });

  it("refuses the TTC database, a newer archive and a file that is not SQLite, naming the path and changing nothing", async () => {
    const dir = newDir();
    const ttc = join(dir, "ttc.db");
    openTtcDatabase(ttc).close();
    expect(() => openArchive(ttc)).toThrow(TtcDatabaseError);
    expect(() => openArchive(ttc)).toThrow(new RegExp(`${ttc.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a telemetry archive`));

    const newer = join(dir, "newer.db");
    openArchive(newer).close();
    const raw = new Database(newer);
    raw.pragma(`user_version = ${ARCHIVE_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openArchive(newer)).toThrow(/newer than this software knows/);

    const junk = join(dir, "junk.db");
    const { writeFileSync, readFileSync } = await import("node:fs");
    writeFileSync(junk, "this is not a database, just some text that is long enough".repeat(20));
    expect(() => openArchive(junk)).toThrow(TtcDatabaseError);
    expect(readFileSync(junk, "utf8")).toMatch(/^this is not a database/);
    expect(() => openArchive(join(dir, "missing", "a.db"))).toThrow(/cannot open telemetry archive/);
  });

  it("reports integrity and sizes", () => {
    const archive = fresh();
    archive.appendSamples(grid(["a", "b"], T0, 100));
    expect(archive.checkIntegrity()).toEqual([]);
    const { bytes } = archive.stats();
    expect(bytes.file).toBeGreaterThan(0);
    expect(bytes.used + bytes.free).toBe(bytes.file);
    expect(bytes.wal).toBeGreaterThan(0);
  });
});

describe("retention", () => {
  it("by age drops every class older than the cutoff, exactly, rewriting blocks that straddle it", () => {
    let archive = fresh({ compactAfterSamples: 64 });
    archive.appendSamples(grid(["a", "b"], T0, 100)); // t = T0 .. T0+99 s
    archive.compact();
    archive.appendSamples(grid(["a"], T0 + 100n * SECOND, 10)); // still staged: T0+100 .. T0+109 s
    archive.appendEvents([
      event({ tNs: T0 + 10n * SECOND, severity: "info" }),
      event({ tNs: T0 + 50n * SECOND, severity: "low" }),
      event({ tNs: T0 + 10n * SECOND, severity: "high" }),
      event({ tNs: T0 + 60n * SECOND, severity: "medium" }),
    ]);
    archive.appendVerifications([report({ tNs: T0 + 39n * SECOND }), report({ tNs: T0 + 40n * SECOND })]);

    const now = T0 + 140n * SECOND;
    const result = archive.applyRetention({ nowNs: now, maxAgeNs: 100n * SECOND }); // cutoff T0 + 40 s
    expect(result.dropped).toEqual({
      housekeeping: { byAge: 80, bySize: 0 },
      low: { byAge: 1, bySize: 0 },
      high: { byAge: 2, bySize: 0 },
    });
    expect(result.overBudget).toBe(false);
    expect(times(archive, "a")[0]).toBe(T0 + 40n * SECOND);
    expect(times(archive, "a").length).toBe(70);
    expect(times(archive, "b").length).toBe(60);
    expect(archive.events({ fromNs: 0n, toNs: now }).map((e) => e.severity)).toEqual(["low", "medium"]);
    expect(archive.verifications({ fromNs: 0n, toNs: now }).length).toBe(1);
    expect(archive.checkIntegrity()).toEqual([]);

    // Counters persist and add up.
    archive = reopen(archive);
    archive.applyRetention({ nowNs: now, maxAgeNs: 90n * SECOND }); // cutoff T0 + 50 s
    const st = archive.stats();
    expect(st.dropped.housekeeping).toEqual({ byAge: 100, bySize: 0 });
    expect(st.dropped.low).toEqual({ byAge: 1, bySize: 0 });
    expect(st.rows.samples).toBe(130 - 20);
  });

  it("by age with nothing old enough drops nothing", () => {
    const archive = fresh();
    archive.appendSamples(grid(["a"], T0, 10));
    const result = archive.applyRetention({ nowNs: T0, maxAgeNs: T0 + 1n });
    expect(result.dropped.housekeeping.byAge).toBe(0);
    expect(times(archive, "a").length).toBe(10);
  });

  it("by size drops the oldest samples first, then low-severity events, then high events and reports, and the file shrinks", () => {
    let archive = fresh({ compactAfterSamples: 2000 });
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (let s = 0; s < 200; s++) archive.appendSamples(grid(names, T0 + BigInt(s * 10) * SECOND, 10, (n, k) => s * 10 + k + 0.5));
    const filler = "x".repeat(300);
    const events = [];
    for (let i = 0; i < 300; i++) {
      events.push(event({ tNs: T0 + BigInt(i) * SECOND, severity: i % 2 === 0 ? "info" : "high", message: `${i} ${filler}` }));
    }
    archive.appendEvents(events);
    archive.appendVerifications(Array.from({ length: 150 }, (_, i) => report({ tNs: T0 + BigInt(2 * i) * SECOND + 1n, commandId: i + 1, detail: filler })));
    archive.compact();
    const full = archive.stats();
    expect(full.rows.samples).toBe(40_000);

    // 1. A budget that only costs samples: the oldest ones go.
    const r1 = archive.applyRetention({ nowNs: T0, maxBytes: full.bytes.used - 100_000 });
    expect(r1.usedBytes).toBeLessThanOrEqual(full.bytes.used - 100_000);
    expect(r1.dropped.housekeeping.bySize).toBeGreaterThan(0);
    expect(r1.dropped.low.bySize + r1.dropped.high.bySize).toBe(0);
    expect(r1.bytesAfter).toBeLessThan(r1.bytesBefore);
    const left = times(archive, "p0");
    expect(left.length).toBe(2000 - r1.dropped.housekeeping.bySize / 20);
    expect(left.at(-1)).toBe(T0 + 1999n * SECOND);

    // 2. A budget below what events and reports take: all samples, then low events, then some high rows.
    const r2 = archive.applyRetention({ nowNs: T0, maxBytes: 180_000 });
    expect(archive.stats().rows.samples).toBe(0);
    expect(r2.dropped.low.bySize).toBe(150);
    expect(r2.dropped.high.bySize).toBeGreaterThan(0);
    expect(r2.usedBytes).toBeLessThanOrEqual(180_000);
    expect(r2.overBudget).toBe(false);
    // High-severity events and reports share a class: what is left is the newest of both, interleaved.
    const keptEvents = archive.events({ fromNs: 0n, toNs: T0 + HOUR });
    const keptReports = archive.verifications({ fromNs: 0n, toNs: T0 + HOUR });
    expect(keptEvents.every((e) => e.severity === "high")).toBe(true);
    const droppedHigh = 150 + 150 - keptEvents.length - keptReports.length;
    expect(droppedHigh).toBe(r2.dropped.high.bySize);
    expect(keptEvents.length).toBeGreaterThan(0);
    expect(keptReports.length).toBeGreaterThan(0);
    // What is left is exactly the newest rows of the two tables together.
    const union = [...events.filter((e) => e.severity === "high").map((e) => e.tNs), ...Array.from({ length: 150 }, (_, i) => T0 + BigInt(2 * i) * SECOND + 1n)];
    union.sort((a, b) => (a < b ? -1 : 1));
    const kept = [...keptEvents.map((e) => e.tNs), ...keptReports.map((r) => r.tNs)].sort((a, b) => (a < b ? -1 : 1));
    expect(kept).toEqual(union.slice(union.length - kept.length));

    // 3. A budget nothing can meet.
    const r3 = archive.applyRetention({ nowNs: T0, maxBytes: 1 });
    expect(r3.overBudget).toBe(true);
    expect(archive.stats().rows).toMatchObject({ samples: 0, events: 0, verifications: 0 });
    expect(archive.checkIntegrity()).toEqual([]);

    // Counters persist across a reopen; parameters are kept.
    archive = reopen(archive);
    const st = archive.stats();
    expect(st.dropped.housekeeping.bySize).toBe(40_000);
    expect(st.dropped.low.bySize).toBe(150);
    expect(st.dropped.high.bySize).toBe(300);
    expect(st.rows.parameters).toBe(20);
    expect(st.bytes.free).toBe(0);
  });
});
