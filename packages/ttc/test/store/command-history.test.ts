import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandHistory } from "../../src/store/command-history.js";
import type { ReceivedCommand } from "../../src/store/command-history.js";
import { openTtcDatabase } from "../../src/store/database.js";
import type { TtcDatabase } from "../../src/store/database.js";
import { DuplicateRequestError, InvalidFieldError } from "../../src/store/errors.js";
import { SECOND, T0, cmd, tempDir } from "./support.js";

const newDir = tempDir();

function rowCounts(db: TtcDatabase): Record<string, number> {
  const count = (t: string): number => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  return {
    command: count("command"),
    command_stage: count("command_stage"),
    command_stream: count("command_stream"),
    command_dedup: count("command_dedup"),
  };
}

function expectInvalid(fn: () => unknown, field: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(RangeError);
  expect(error).toBeInstanceOf(InvalidFieldError);
  expect((error as InvalidFieldError).field).toBe(field);
  expect((error as Error).message.startsWith(`${field}:`)).toBe(true);
}

describe("CommandHistory", () => {
  let db: TtcDatabase;
  let history: CommandHistory;
  beforeEach(() => {
    db = openTtcDatabase(join(newDir(), "ttc.db"));
    history = new CommandHistory(db);
  });
  afterEach(() => db.close());

  describe("received / get", () => {
    it("records every field and returns increasing ids", () => {
      const a = history.received(cmd({ sequenceCount: 1 }));
      const b = history.received(cmd({ sequenceCount: 2, spi: null, link: "gateway", receivedNs: T0 + 5n }));
      expect(b).toBeGreaterThan(a);
      const got = history.get(b)!;
      expect(got).toMatchObject({
        id: b,
        receivedNs: T0 + 5n,
        link: "gateway",
        apid: 100,
        sequenceCount: 2,
        sourceId: 7,
        service: 17,
        subtype: 1,
        spi: null,
        resolution: null,
        outcome: "open",
        closedNs: null,
        stages: [],
      });
      expect(typeof got.receivedNs).toBe("bigint");
      expect(Array.from(got.packet)).toEqual(Array.from(cmd().packet));
      expect(got.packetLength).toBe(cmd().packet.length);
      expect(history.get(a)!.spi).toBe(1);
    });

    it("keeps mission times exactly, up to the largest signed 64-bit value", () => {
      const max = (1n << 63n) - 1n;
      const id = history.received(cmd({ receivedNs: max }));
      expect(history.get(id)!.receivedNs).toBe(max);
      const id2 = history.received(cmd({ receivedNs: T0 + 123_456_789n, sequenceCount: 9 }));
      expect(history.get(id2)!.receivedNs).toBe(T0 + 123_456_789n);
    });

    it("stores a copy of the packet, so the caller may reuse its buffer", () => {
      const packet = new Uint8Array([1, 2, 3, 4]);
      const id = history.received(cmd({ packet }));
      packet.fill(0);
      expect(Array.from(history.get(id)!.packet)).toEqual([1, 2, 3, 4]);
    });

    it("accepts the largest space packet and the edge values of every field", () => {
      const id = history.received(
        cmd({ apid: 2047, sequenceCount: 16383, sourceId: 65535, service: 255, subtype: 255, spi: 65535, packet: new Uint8Array(65542) }),
      );
      expect(history.get(id)!.packetLength).toBe(65542);
      history.received(cmd({ apid: 0, sequenceCount: 0, sourceId: 0, service: 0, subtype: 0, spi: 0, receivedNs: 0n }));
    });

    it("returns undefined for an unknown id, and refuses a malformed one", () => {
      expect(history.get(999)).toBeUndefined();
      expectInvalid(() => history.get(0), "id");
      expectInvalid(() => history.get(1.5), "id");
    });

    const bad: [string, Partial<ReceivedCommand> | Record<string, unknown>][] = [
      ["apid", { apid: -1 }],
      ["apid", { apid: 2048 }],
      ["apid", { apid: 1.5 }],
      ["sequenceCount", { sequenceCount: 16384 }],
      ["sequenceCount", { sequenceCount: -1 }],
      ["sourceId", { sourceId: 65536 }],
      ["service", { service: 256 }],
      ["subtype", { subtype: -1 }],
      ["spi", { spi: 70000 }],
      ["link", { link: "" }],
      ["link", { link: "x".repeat(65) }],
      ["link", { link: 5 }],
      ["packet", { packet: new Uint8Array(65543) }],
      ["packet", { packet: new Uint8Array(0) }],
      ["packet", { packet: [1, 2, 3] }],
      ["receivedNs", { receivedNs: -1n }],
      ["receivedNs", { receivedNs: 1n << 63n }],
      ["receivedNs", { receivedNs: 5 }],
    ];
    it.each(bad)("refuses a bad %s with a RangeError naming it, writing nothing", (field, over) => {
      history.received(cmd({ sequenceCount: 3000 }));
      const before = rowCounts(db);
      expectInvalid(() => history.received({ ...cmd(), ...over } as ReceivedCommand), field);
      expect(rowCounts(db)).toEqual(before);
    });
  });

  describe("resolved", () => {
    it("records what the command was routed to", () => {
      const id = history.received(cmd());
      history.resolved(id, { targetService: "thermal", command: "set-limit", argumentsJson: '{"zone":"die","limit":85}' });
      expect(history.get(id)!.resolution).toEqual({ targetService: "thermal", command: "set-limit", argumentsJson: '{"zone":"die","limit":85}' });
      expect(history.list({ limit: 1 })[0]!.resolution?.command).toBe("set-limit");
    });

    it("refuses an unknown id, a second resolution, bad JSON and empty names, changing nothing", () => {
      const id = history.received(cmd());
      const r = { targetService: "jobs", command: "submit", argumentsJson: "{}" };
      expectInvalid(() => history.resolved(id + 1, r), "id");
      expectInvalid(() => history.resolved(id, { ...r, argumentsJson: "{not json" }), "argumentsJson");
      expectInvalid(() => history.resolved(id, { ...r, targetService: "" }), "targetService");
      expectInvalid(() => history.resolved(id, { ...r, command: "" }), "command");
      expect(history.get(id)!.resolution).toBeNull();
      history.resolved(id, r);
      expectInvalid(() => history.resolved(id, { ...r, command: "other" }), "id");
      expect(history.get(id)!.resolution).toEqual(r);
    });
  });

  describe("stage", () => {
    it("keeps stages in the order they were recorded; completion closes the command", () => {
      const id = history.received(cmd());
      history.stage(id, { stage: "acceptance", success: true, code: null, detail: "", atNs: T0 + 1n });
      history.stage(id, { stage: "start", success: true, code: null, detail: "", atNs: T0 + 2n });
      history.stage(id, { stage: "progress", success: true, code: null, detail: "half", atNs: T0 + 3n, step: 1 });
      history.stage(id, { stage: "progress", success: true, code: null, detail: "all", atNs: T0 + 4n, step: 2 });
      expect(history.get(id)!.outcome).toBe("open");
      history.stage(id, { stage: "completion", success: true, code: null, detail: "done", atNs: T0 + 5n });
      const got = history.get(id)!;
      expect(got.stages.map((s) => [s.stage, s.step, s.atNs])).toEqual([
        ["acceptance", null, T0 + 1n],
        ["start", null, T0 + 2n],
        ["progress", 1, T0 + 3n],
        ["progress", 2, T0 + 4n],
        ["completion", null, T0 + 5n],
      ]);
      expect(got.outcome).toBe("success");
      expect(got.closedNs).toBe(T0 + 5n);
    });

    it("a failed stage closes the command as a failure, and no stage may follow a closed command", () => {
      const id = history.received(cmd());
      history.stage(id, { stage: "acceptance", success: false, code: 5, detail: "bad checksum", atNs: T0 + 1n });
      expect(history.get(id)).toMatchObject({ outcome: "failure", closedNs: T0 + 1n });
      expect(history.get(id)!.stages[0]).toEqual({ stage: "acceptance", success: false, code: 5, detail: "bad checksum", atNs: T0 + 1n, step: null });
      expectInvalid(() => history.stage(id, { stage: "completion", success: true, code: null, detail: "", atNs: T0 + 2n }), "stage");
      expect(history.get(id)!.stages).toHaveLength(1);
    });

    it("refuses bad input, changing nothing", () => {
      const id = history.received(cmd());
      const ok = { stage: "start", success: true, code: null, detail: "", atNs: T0 } as const;
      const before = rowCounts(db);
      expectInvalid(() => history.stage(id + 5, ok), "id");
      expectInvalid(() => history.stage(id, { ...ok, stage: "execution" as never }), "stage");
      expectInvalid(() => history.stage(id, { ...ok, success: 1 as never }), "success");
      expectInvalid(() => history.stage(id, { ...ok, code: -1 }), "code");
      expectInvalid(() => history.stage(id, { ...ok, atNs: -5n }), "atNs");
      expectInvalid(() => history.stage(id, { ...ok, step: -1 }), "step");
      expectInvalid(() => history.stage(id, { ...ok, detail: "x".repeat(5000) }), "detail");
      expect(rowCounts(db)).toEqual(before);
    });
  });

  describe("list", () => {
    it("lists newest first, a page at a time, within a time range", () => {
      const ids: number[] = [];
      for (let i = 0; i < 25; i++) ids.push(history.received(cmd({ sequenceCount: i, receivedNs: T0 + BigInt(i) * SECOND })));
      const newestFirst = [...ids].reverse();
      const page1 = history.list({ limit: 10 });
      expect(page1.map((c) => c.id)).toEqual(newestFirst.slice(0, 10));
      const page2 = history.list({ limit: 10, afterId: page1.at(-1)!.id });
      expect(page2.map((c) => c.id)).toEqual(newestFirst.slice(10, 20));
      const page3 = history.list({ limit: 10, afterId: page2.at(-1)!.id });
      expect(page3.map((c) => c.id)).toEqual(newestFirst.slice(20));
      expect(history.list({ limit: 10, afterId: page3.at(-1)!.id })).toEqual([]);

      const ranged = history.list({ fromNs: T0 + 5n * SECOND, toNs: T0 + 9n * SECOND, limit: 100 });
      expect(ranged.map((c) => c.sequenceCount)).toEqual([9, 8, 7, 6, 5]);
      const rangedPage = history.list({ fromNs: T0 + 5n * SECOND, toNs: T0 + 9n * SECOND, limit: 2, afterId: ranged[1]!.id });
      expect(rangedPage.map((c) => c.sequenceCount)).toEqual([7, 6]);
      expect(page1[0]).not.toHaveProperty("packet");
      expect(page1[0]!.packetLength).toBe(cmd().packet.length);
    });

    it("refuses a bad limit or bound", () => {
      expectInvalid(() => history.list({ limit: 0 }), "limit");
      expectInvalid(() => history.list({ limit: 1001 }), "limit");
      expectInvalid(() => history.list({ limit: 5, afterId: -1 }), "afterId");
      expectInvalid(() => history.list({ limit: 5, fromNs: -1n }), "fromNs");
      expectInvalid(() => history.list({ limit: 5, toNs: 3 as never }), "toNs");
    });
  });

  describe("pending", () => {
    it("returns the commands with neither a completion nor a failure, oldest first", () => {
      const completed = history.received(cmd({ sequenceCount: 1 }));
      const rejected = history.received(cmd({ sequenceCount: 2 }));
      const started = history.received(cmd({ sequenceCount: 3 }));
      const fresh = history.received(cmd({ sequenceCount: 4 }));
      history.stage(completed, { stage: "acceptance", success: true, code: null, detail: "", atNs: T0 });
      history.stage(completed, { stage: "completion", success: true, code: null, detail: "", atNs: T0 });
      history.stage(rejected, { stage: "acceptance", success: false, code: 3, detail: "no", atNs: T0 });
      history.stage(started, { stage: "acceptance", success: true, code: null, detail: "", atNs: T0 });
      history.stage(started, { stage: "start", success: true, code: null, detail: "", atNs: T0 });
      const pending = history.pending();
      expect(pending.map((c) => c.id)).toEqual([started, fresh]);
      expect(pending[0]!.stages.map((s) => s.stage)).toEqual(["acceptance", "start"]);
      for (const c of pending) {
        history.stage(c.id, { stage: "completion", success: false, code: 1, detail: "interrupted by reset", atNs: T0 + SECOND });
      }
      expect(history.pending()).toEqual([]);
    });
  });

  describe("duplicates", () => {
    it("refuses a repeat of (source, apid, sequence count) inside the window, writing nothing", () => {
      const first = history.received(cmd({ sequenceCount: 42 }));
      expect(history.isDuplicate(7, 100, 42)).toBe(true);
      expect(history.duplicateOf(7, 100, 42)).toBe(first);
      expect(history.isDuplicate(7, 100, 43)).toBe(false);
      expect(history.isDuplicate(8, 100, 42)).toBe(false);
      expect(history.isDuplicate(7, 101, 42)).toBe(false);
      const before = rowCounts(db);
      let error: unknown;
      try {
        history.received(cmd({ sequenceCount: 42, receivedNs: T0 + SECOND, link: "gateway" }));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DuplicateRequestError);
      expect((error as DuplicateRequestError).existingId).toBe(first);
      expect((error as DuplicateRequestError).key).toEqual({ sourceId: 7, apid: 100, sequenceCount: 42 });
      expect((error as Error).message).toMatch(/source 7, apid 100, sequence count 42.*command \d+/);
      expect(rowCounts(db)).toEqual(before);
      // Other sources and APIDs have their own counters.
      history.received(cmd({ sequenceCount: 42, sourceId: 8 }));
      history.received(cmd({ sequenceCount: 42, apid: 101 }));
    });

    it("validates the key it is asked about", () => {
      expectInvalid(() => history.isDuplicate(7, 2048, 1), "apid");
      expectInvalid(() => history.isDuplicate(7, 1, 16384), "sequenceCount");
      expectInvalid(() => history.isDuplicate(-1, 1, 1), "sourceId");
    });

    it("accepts a sequence count again once the counter has wrapped around (16384 later)", () => {
      // In one outer transaction so the 16k fsyncs do not slow the test; the rule is the same.
      db.transaction(() => {
        for (let i = 0; i < 16384; i++) history.received(cmd({ sequenceCount: i, receivedNs: T0 + BigInt(i) * 1_000_000n }));
      })();
      const at = T0 + 16384n * 1_000_000n; // 16.4 s later: well inside the 24 h time window
      // The count wrapped: 0 is the next count, 16383 commands after the first 0.
      expect(history.isDuplicate(7, 100, 0, at - history.duplicateWindowNs)).toBe(false);
      const again = history.received(cmd({ sequenceCount: 0, receivedNs: at }));
      expect(history.get(again)!.sequenceCount).toBe(0);
      // But a retransmission of a recent count is still refused.
      expect(history.isDuplicate(7, 100, 16383)).toBe(true);
      expect(() => history.received(cmd({ sequenceCount: 16383, receivedNs: at + 1n }))).toThrow(DuplicateRequestError);
      // Counts from the first lap still inside the last 8192 commands stay protected...
      expect(history.isDuplicate(7, 100, 8193)).toBe(true);
      // ...those older than that have left the window.
      expect(history.isDuplicate(7, 100, 8192)).toBe(false);
    });

    it("forgets a command once it is older than the time window", () => {
      const h = new CommandHistory(db, { duplicateWindowNs: 10n * SECOND });
      h.received(cmd({ sequenceCount: 5, receivedNs: T0 }));
      expect(() => h.received(cmd({ sequenceCount: 5, receivedNs: T0 + 9n * SECOND }))).toThrow(DuplicateRequestError);
      expect(h.isDuplicate(7, 100, 5, T0 + 10n * SECOND - 10n * SECOND)).toBe(false); // exactly the window: expired
      expect(h.isDuplicate(7, 100, 5, T0 - 1n)).toBe(true);
      h.received(cmd({ sequenceCount: 5, receivedNs: T0 + 10n * SECOND }));
      expect(h.list({ limit: 10 }).filter((c) => c.sequenceCount === 5)).toHaveLength(2);
    });

    it("without sinceNs, judges the time window from the latest reception", () => {
      const h = new CommandHistory(db, { duplicateWindowNs: 10n * SECOND });
      expect(h.isDuplicate(7, 100, 5)).toBe(false); // empty history
      h.received(cmd({ sequenceCount: 5, receivedNs: T0 }));
      h.received(cmd({ sequenceCount: 6, receivedNs: T0 + 5n * SECOND }));
      expect(h.isDuplicate(7, 100, 5)).toBe(true);
      h.received(cmd({ sequenceCount: 7, receivedNs: T0 + 11n * SECOND }));
      expect(h.isDuplicate(7, 100, 5)).toBe(false);
      expect(h.isDuplicate(7, 100, 7)).toBe(true);
    });

    it("refuses a window that would reject a sequentially counting sender after a wrap", () => {
      expectInvalid(() => new CommandHistory(db, { duplicateWindowCommands: 16384 }), "duplicateWindowCommands");
      expectInvalid(() => new CommandHistory(db, { duplicateWindowCommands: 0 }), "duplicateWindowCommands");
      expectInvalid(() => new CommandHistory(db, { duplicateWindowNs: -1n }), "duplicateWindowNs");
    });

    it("records an untrusted packet without checking or claiming its key", () => {
      const forged = history.received(cmd({ sequenceCount: 77, sourceId: 0, link: "rf" }), { deduplicate: false });
      history.received(cmd({ sequenceCount: 77, sourceId: 0, link: "rf" }), { deduplicate: false });
      expect(history.isDuplicate(0, 100, 77)).toBe(false);
      const real = history.received(cmd({ sequenceCount: 77, sourceId: 0 }));
      expect(real).toBeGreaterThan(forged);
      expect(history.isDuplicate(0, 100, 77)).toBe(true);
      expectInvalid(() => history.received(cmd(), { deduplicate: "no" as never }), "deduplicate");
    });

    it("matches a reference model of the window rule (property)", () => {
      const windowNs = 10n;
      const windowCommands = 3;
      fc.assert(
        fc.property(
          fc.array(fc.record({ source: fc.integer({ min: 0, max: 1 }), seq: fc.integer({ min: 0, max: 5 }), dt: fc.integer({ min: 0, max: 6 }) }), {
            maxLength: 60,
          }),
          (steps) => {
            const mem = openTtcDatabase(":memory:");
            try {
              const h = new CommandHistory(mem, { duplicateWindowNs: windowNs, duplicateWindowCommands: windowCommands });
              // Model: per (source), the accepted commands as [seq, time, ordinal].
              const accepted = new Map<number, { seq: number; t: bigint; ordinal: number }[]>();
              let t = T0;
              for (const s of steps) {
                t += BigInt(s.dt);
                const list = accepted.get(s.source) ?? [];
                const n = list.length;
                const last = [...list].reverse().find((e) => e.seq === s.seq);
                const live = last !== undefined && n - last.ordinal < windowCommands && last.t > t - windowNs;
                expect(h.isDuplicate(s.source, 100, s.seq, t - windowNs)).toBe(live);
                let refused = false;
                try {
                  h.received(cmd({ sourceId: s.source, sequenceCount: s.seq, receivedNs: t }));
                } catch (err) {
                  if (!(err instanceof DuplicateRequestError)) throw err;
                  refused = true;
                }
                expect(refused).toBe(live);
                if (!refused) list.push({ seq: s.seq, t, ordinal: n + 1 });
                accepted.set(s.source, list);
              }
            } finally {
              mem.close();
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  it("keeps commands, stages and the duplicate window across a close and reopen", () => {
    const path = join(newDir(), "restart.db");
    const first = openTtcDatabase(path);
    const h1 = new CommandHistory(first);
    const done = h1.received(cmd({ sequenceCount: 1 }));
    h1.stage(done, { stage: "acceptance", success: true, code: null, detail: "", atNs: T0 });
    h1.stage(done, { stage: "completion", success: true, code: null, detail: "", atNs: T0 });
    const inFlight = h1.received(cmd({ sequenceCount: 2 }));
    h1.resolved(inFlight, { targetService: "jobs", command: "run", argumentsJson: "[]" });
    h1.stage(inFlight, { stage: "acceptance", success: true, code: null, detail: "", atNs: T0 + 1n });
    first.close();

    const second = openTtcDatabase(path);
    try {
      const h2 = new CommandHistory(second);
      expect(h2.pending().map((c) => [c.id, c.resolution?.command, c.stages.length])).toEqual([[inFlight, "run", 1]]);
      expect(h2.get(done)!.outcome).toBe("success");
      expect(() => h2.received(cmd({ sequenceCount: 2, receivedNs: T0 + SECOND }))).toThrow(DuplicateRequestError);
      expect(h2.received(cmd({ sequenceCount: 3 }))).toBeGreaterThan(inFlight);
    } finally {
      second.close();
    }
  });
});
