import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTtcDatabase } from "../../src/store/database.js";
import type { TtcDatabase } from "../../src/store/database.js";
import { DuplicateRequestError, InvalidFieldError } from "../../src/store/errors.js";
import { ScheduleStore } from "../../src/store/schedule-store.js";
import type { ScheduleItemInput } from "../../src/store/schedule-store.js";
import { SECOND, T0, activity, tempDir } from "./support.js";

const newDir = tempDir();

function snapshot(db: TtcDatabase): unknown {
  return {
    items: db.prepare(`SELECT id, release_ns, source_id, apid, sequence_count, state, outcome_ns, reason FROM schedule_item ORDER BY id`).safeIntegers(true).all(),
    state: db.prepare(`SELECT enabled FROM schedule_state`).all(),
  };
}

function expectInvalid(fn: () => unknown, field: string, message?: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(RangeError);
  expect((error as InvalidFieldError).field).toBe(field);
  if (message) expect((error as Error).message).toMatch(message);
}

const at = (s: number): bigint => T0 + BigInt(s) * SECOND;

describe("ScheduleStore", () => {
  let db: TtcDatabase;
  let schedule: ScheduleStore;
  beforeEach(() => {
    db = openTtcDatabase(join(newDir(), "ttc.db"));
    schedule = new ScheduleStore(db);
  });
  afterEach(() => db.close());

  describe("insert / list / get", () => {
    it("inserts a batch, returns ids in input order, and lists pending items in release order", () => {
      const ids = schedule.insert([
        activity({ releaseNs: at(30), sequenceCount: 1 }),
        activity({ releaseNs: at(10), sequenceCount: 2, group: "imaging" }),
        activity({ releaseNs: at(30), sequenceCount: 3 }),
      ]);
      expect(ids).toHaveLength(3);
      expect(schedule.list().map((i) => i.id)).toEqual([ids[1], ids[0], ids[2]]);
      const item = schedule.get(ids[1]!)!;
      expect(item).toMatchObject({ releaseNs: at(10), apid: 200, sequenceCount: 2, sourceId: 7, group: "imaging", state: "pending", outcomeNs: null, reason: null });
      expect(Array.from(item.packet)).toEqual(Array.from(activity().packet));
      expect(schedule.get(ids[0]!)!.group).toBeNull();
      expect(schedule.get(9999)).toBeUndefined();
      expect(schedule.insert([])).toEqual([]);
    });

    const bad: [string, Partial<ScheduleItemInput> | Record<string, unknown>][] = [
      ["items[1].apid", { apid: 2048 }],
      ["items[1].sequenceCount", { sequenceCount: 16384 }],
      ["items[1].sourceId", { sourceId: -1 }],
      ["items[1].releaseNs", { releaseNs: -1n }],
      ["items[1].releaseNs", { releaseNs: 10 }],
      ["items[1].packet", { packet: new Uint8Array(65543) }],
      ["items[1].group", { group: "" }],
    ];
    it.each(bad)("a batch with one bad item (%s) changes nothing", (field, over) => {
      schedule.insert([activity({ sequenceCount: 100 })]);
      const before = snapshot(db);
      expectInvalid(() => schedule.insert([activity({ sequenceCount: 1 }), { ...activity({ sequenceCount: 2 }), ...over } as ScheduleItemInput, activity({ sequenceCount: 3 })]), field);
      expect(snapshot(db)).toEqual(before);
    });

    it("refuses a request already scheduled, naming it, and inserts none of the batch", () => {
      const [existing] = schedule.insert([activity({ sequenceCount: 5 })]);
      const before = snapshot(db);
      let error: unknown;
      try {
        schedule.insert([activity({ sequenceCount: 6 }), activity({ sequenceCount: 5, releaseNs: at(99) })]);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DuplicateRequestError);
      expect((error as DuplicateRequestError).existingId).toBe(existing);
      expect((error as DuplicateRequestError).key).toEqual({ sourceId: 7, apid: 200, sequenceCount: 5 });
      expect((error as Error).message).toMatch(/source 7, apid 200, sequence count 5\) is already scheduled/);
      expect(snapshot(db)).toEqual(before);
    });

    it("refuses a batch that repeats a request within itself", () => {
      expectInvalid(() => schedule.insert([activity({ sequenceCount: 1 }), activity({ sequenceCount: 2 }), activity({ sequenceCount: 1 })]), "items[2]", /repeats items\[0\]/);
      expect(schedule.list()).toEqual([]);
    });

    it("allows the same request again once the earlier one has been released", () => {
      const [id] = schedule.insert([activity({ sequenceCount: 5 })]);
      schedule.markReleased(id!, at(60));
      expect(schedule.insert([activity({ sequenceCount: 5, releaseNs: at(120) })])).toHaveLength(1);
    });
  });

  describe("delete and reset", () => {
    it("deletes by ids, by request identity, by group and by time range, returning the count", () => {
      const ids = schedule.insert([
        activity({ sequenceCount: 1, releaseNs: at(10) }),
        activity({ sequenceCount: 2, releaseNs: at(20), group: "g" }),
        activity({ sequenceCount: 3, releaseNs: at(30), group: "g" }),
        activity({ sequenceCount: 4, releaseNs: at(40), sourceId: 9 }),
        activity({ sequenceCount: 5, releaseNs: at(50) }),
        activity({ sequenceCount: 6, releaseNs: at(60) }),
      ]);
      expect(schedule.delete({ ids: [ids[0]!] })).toBe(1);
      expect(schedule.delete({ sourceId: 9, apid: 200, sequenceCount: 4 })).toBe(1);
      expect(schedule.delete({ sourceId: 7, apid: 200, sequenceCount: 4 })).toBe(0);
      expect(schedule.delete({ group: "g" })).toBe(2);
      expect(schedule.delete({ fromNs: at(55), toNs: at(70) })).toBe(1);
      expect(schedule.list().map((i) => i.sequenceCount)).toEqual([5]);
    });

    it("is atomic: an unknown or finished id in the list deletes nothing", () => {
      const ids = schedule.insert([activity({ sequenceCount: 1 }), activity({ sequenceCount: 2 })]);
      schedule.markReleased(ids[1]!, at(61));
      const before = snapshot(db);
      expectInvalid(() => schedule.delete({ ids: [ids[0]!, 999] }), "filter.ids[1]", /no schedule item 999/);
      expectInvalid(() => schedule.delete({ ids: [ids[0]!, ids[1]!] }), "filter.ids[1]", /not pending \(already released\)/);
      expect(snapshot(db)).toEqual(before);
    });

    it("refuses an empty filter and bad criteria", () => {
      schedule.insert([activity()]);
      expectInvalid(() => schedule.delete({}), "filter", /reset\(\)/);
      expectInvalid(() => schedule.delete({ ids: [] }), "filter.ids");
      expectInvalid(() => schedule.delete({ apid: 4096 }), "filter.apid");
      expectInvalid(() => schedule.delete({ ids: [1, -2] }), "filter.ids[1]");
      expect(schedule.list()).toHaveLength(1);
    });

    it("reset deletes every pending item and disables release, keeping finished ones", () => {
      const ids = schedule.insert([activity({ sequenceCount: 1 }), activity({ sequenceCount: 2 })]);
      schedule.markRejected(ids[0]!, at(1), "test");
      schedule.setEnabled(true);
      expect(schedule.reset()).toBe(1);
      expect(schedule.isEnabled()).toBe(false);
      expect(schedule.list()).toEqual([]);
      expect(schedule.get(ids[0]!)!.state).toBe("rejected");
    });
  });

  describe("timeShift", () => {
    it("shifts all pending items, or only the selected ones", () => {
      const ids = schedule.insert([activity({ sequenceCount: 1, releaseNs: at(100) }), activity({ sequenceCount: 2, releaseNs: at(200), group: "g" })]);
      expect(schedule.timeShift(-50n * SECOND, { notBeforeNs: at(0) })).toBe(2);
      expect(schedule.list().map((i) => i.releaseNs)).toEqual([at(50), at(150)]);
      expect(schedule.timeShift(10n * SECOND, { notBeforeNs: at(0), filter: { group: "g" } })).toBe(1);
      expect(schedule.get(ids[1]!)!.releaseNs).toBe(at(160));
      expect(schedule.timeShift(SECOND, { notBeforeNs: at(0), filter: { ids: [ids[0]!] } })).toBe(1);
      expect(schedule.get(ids[0]!)!.releaseNs).toBe(at(51));
      expect(schedule.timeShift(SECOND, { notBeforeNs: at(0), filter: { sourceId: 99 } })).toBe(0);
    });

    it("refuses, atomically, a shift that would put any item before notBeforeNs, naming it", () => {
      const ids = schedule.insert([activity({ sequenceCount: 1, releaseNs: at(100) }), activity({ sequenceCount: 2, releaseNs: at(20) })]);
      const before = snapshot(db);
      expectInvalid(() => schedule.timeShift(-15n * SECOND, { notBeforeNs: at(10) }), "deltaNs", new RegExp(`item ${ids[1]} .*nothing was shifted`));
      expect(snapshot(db)).toEqual(before);
      // Exactly at notBeforeNs is allowed.
      expect(schedule.timeShift(-10n * SECOND, { notBeforeNs: at(10) })).toBe(2);
    });

    it("refuses an overflowing shift and bad arguments", () => {
      schedule.insert([activity()]);
      const before = snapshot(db);
      expectInvalid(() => schedule.timeShift((1n << 63n) - 1n, { notBeforeNs: 0n }), "deltaNs", /overflows/);
      expectInvalid(() => schedule.timeShift(1n << 63n, { notBeforeNs: 0n }), "deltaNs");
      expectInvalid(() => schedule.timeShift(5 as never, { notBeforeNs: 0n }), "deltaNs");
      expectInvalid(() => schedule.timeShift(1n, {} as never), "notBeforeNs");
      expectInvalid(() => schedule.timeShift(1n, { notBeforeNs: 0n, filter: { ids: [42] } }), "filter.ids[0]");
      expect(snapshot(db)).toEqual(before);
    });
  });

  describe("release", () => {
    it("starts disabled; enable/disable is persisted", () => {
      expect(schedule.isEnabled()).toBe(false);
      schedule.setEnabled(true);
      expect(schedule.isEnabled()).toBe(true);
      expectInvalid(() => schedule.setEnabled("yes" as never), "enabled");
    });

    it("due returns enabled items whose time has come, in release order, and nothing while disabled", () => {
      const ids = schedule.insert([
        activity({ sequenceCount: 1, releaseNs: at(30) }),
        activity({ sequenceCount: 2, releaseNs: at(10) }),
        activity({ sequenceCount: 3, releaseNs: at(30) }),
        activity({ sequenceCount: 4, releaseNs: at(31) }),
      ]);
      expect(schedule.due(at(100))).toEqual([]);
      expect(schedule.next()).toBeNull();
      schedule.setEnabled(true);
      expect(schedule.next()).toBe(at(10));
      expect(schedule.due(at(9))).toEqual([]);
      expect(schedule.due(at(30)).map((i) => i.id)).toEqual([ids[1], ids[0], ids[2]]);
      expectInvalid(() => schedule.due(-1n), "nowNs");
    });

    it("markReleased / markRejected record the outcome once; the item stays for the report", () => {
      const ids = schedule.insert([activity({ sequenceCount: 1, releaseNs: at(10) }), activity({ sequenceCount: 2, releaseNs: at(20) })]);
      schedule.setEnabled(true);
      schedule.markReleased(ids[0]!, at(10));
      schedule.markRejected(ids[1]!, at(20), "target service down");
      expect(schedule.due(at(100))).toEqual([]);
      expect(schedule.list()).toEqual([]);
      expect(schedule.next()).toBeNull();
      expect(schedule.get(ids[0]!)).toMatchObject({ state: "released", outcomeNs: at(10), reason: null });
      expect(schedule.get(ids[1]!)).toMatchObject({ state: "rejected", outcomeNs: at(20), reason: "target service down" });
      expectInvalid(() => schedule.markReleased(ids[0]!, at(11)), "id", /already released/);
      expectInvalid(() => schedule.markRejected(ids[0]!, at(11), "x"), "id", /already released/);
      expectInvalid(() => schedule.markReleased(999, at(11)), "id", /no schedule item 999/);
      expectInvalid(() => schedule.markRejected(ids[1]!, at(11), ""), "reason");
      expectInvalid(() => schedule.markReleased(ids[1]!, -1n), "atNs");
      expect(schedule.get(ids[0]!)!.outcomeNs).toBe(at(10));
    });

    it("a disabled group holds its items back; other items are released", () => {
      const ids = schedule.insert([
        activity({ sequenceCount: 1, releaseNs: at(10), group: "imaging" }),
        activity({ sequenceCount: 2, releaseNs: at(20) }),
        activity({ sequenceCount: 3, releaseNs: at(30), group: "downlink" }),
      ]);
      schedule.setEnabled(true);
      expect(schedule.isGroupEnabled("imaging")).toBe(true);
      schedule.setGroupEnabled("imaging", false);
      expect(schedule.isGroupEnabled("imaging")).toBe(false);
      expect(schedule.due(at(100)).map((i) => i.id)).toEqual([ids[1], ids[2]]);
      expect(schedule.next()).toBe(at(20));
      expect(schedule.list()).toHaveLength(3);
      schedule.setGroupEnabled("imaging", true);
      expect(schedule.next()).toBe(at(10));
      expect(schedule.groups()).toEqual([{ name: "imaging", enabled: true }]);
      expectInvalid(() => schedule.setGroupEnabled("", true), "group");
    });

    it("finished pages through released and rejected items, newest first; prune drops old ones", () => {
      const ids = schedule.insert(Array.from({ length: 5 }, (_, i) => activity({ sequenceCount: i, releaseNs: at(i) })));
      ids.forEach((id, i) => schedule.markReleased(id, at(i)));
      const page = schedule.finished({ limit: 3 });
      expect(page.map((i) => i.id)).toEqual([ids[4], ids[3], ids[2]]);
      expect(schedule.finished({ limit: 3, afterId: page.at(-1)!.id }).map((i) => i.id)).toEqual([ids[1], ids[0]]);
      expect(schedule.prune(at(3))).toBe(3);
      expect(schedule.finished({ limit: 10 }).map((i) => i.id)).toEqual([ids[4], ids[3]]);
      expectInvalid(() => schedule.finished({ limit: 0 }), "limit");
    });
  });

  describe("recover after a restart", () => {
    it("runs items late by no more than the tolerance, rejects the rest, across a close and reopen", () => {
      const path = join(newDir(), "restart.db");
      const first = openTtcDatabase(path);
      const s1 = new ScheduleStore(first);
      const [released, slightlyLate, longMissed, future, held] = s1.insert([
        activity({ sequenceCount: 1, releaseNs: at(10) }),
        activity({ sequenceCount: 2, releaseNs: at(98) }),
        activity({ sequenceCount: 3, releaseNs: at(100) - 3600n * SECOND - 250_000_000n }),
        activity({ sequenceCount: 4, releaseNs: at(500) }),
        activity({ sequenceCount: 5, releaseNs: at(50), group: "held" }),
      ]);
      s1.setEnabled(true);
      s1.setGroupEnabled("held", false);
      s1.markReleased(released!, at(10));
      first.close(); // power cut: the payload is down until at(100)

      const second = openTtcDatabase(path);
      try {
        const s2 = new ScheduleStore(second);
        expect(s2.isEnabled()).toBe(true);
        expect(s2.isGroupEnabled("held")).toBe(false);
        const { runLate, rejected } = s2.recover(at(100), 5n * SECOND);
        expect(runLate.map((i) => i.id)).toEqual([slightlyLate]);
        expect(runLate[0]!.state).toBe("pending");
        expect(rejected.map((i) => i.id)).toEqual([longMissed]);
        expect(rejected[0]).toMatchObject({ state: "rejected", outcomeNs: at(100), reason: "missed while down: late by 3600.250 s" });
        expect(s2.get(longMissed!)).toMatchObject({ state: "rejected", reason: "missed while down: late by 3600.250 s" });
        expect(s2.get(released!)!.state).toBe("released");
        expect(s2.get(held!)!.state).toBe("pending");
        expect(s2.get(future!)!.state).toBe("pending");
        // The caller releases the late one; a second recovery finds nothing more to do.
        s2.markReleased(slightlyLate!, at(100));
        expect(s2.recover(at(101), 5n * SECOND)).toEqual({ runLate: [], rejected: [] });
        expect(s2.list().map((i) => i.id)).toEqual([held, future]);
      } finally {
        second.close();
      }

      // And what was released before the cut is never due again.
      const third = openTtcDatabase(path);
      try {
        const s3 = new ScheduleStore(third);
        expect(s3.due(at(1000)).map((i) => i.id)).toEqual([future]);
      } finally {
        third.close();
      }
    });

    it("an item exactly at the tolerance runs late; nothing is touched while release is disabled", () => {
      const ids = schedule.insert([activity({ sequenceCount: 1, releaseNs: at(95) }), activity({ sequenceCount: 2, releaseNs: at(10) })]);
      expect(schedule.recover(at(100), 5n * SECOND)).toEqual({ runLate: [], rejected: [] });
      schedule.setEnabled(true);
      const r = schedule.recover(at(100), 5n * SECOND);
      expect(r.runLate.map((i) => i.id)).toEqual([ids[0]]);
      expect(r.rejected.map((i) => i.reason)).toEqual(["missed while down: late by 90.000 s"]);
      expectInvalid(() => schedule.recover(at(1), -1n), "toleranceNs");
    });
  });
});
