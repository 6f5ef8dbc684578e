import type { TtcDatabase } from "./database.js";
import { assertTtcSchema } from "./database.js";
import { DuplicateRequestError, InvalidFieldError, describeKey } from "./errors.js";
import type { RequestKey } from "./errors.js";
import * as v from "./validate.js";

/** One activity to insert into the time-based schedule (PUS ST[11,4]). */
export interface ScheduleItemInput {
  /** Mission time (TAI ns) at which the packet is to be released. */
  readonly releaseNs: bigint;
  readonly apid: number;
  readonly sequenceCount: number;
  readonly sourceId: number;
  /** The whole telecommand to release, as uplinked. */
  readonly packet: Uint8Array;
  /** Optional group: a disabled group holds its items back. */
  readonly group?: string;
}

export type ScheduleItemState = "pending" | "released" | "rejected";

export interface ScheduleItem {
  readonly id: number;
  readonly releaseNs: bigint;
  readonly apid: number;
  readonly sequenceCount: number;
  readonly sourceId: number;
  readonly packet: Uint8Array;
  readonly group: string | null;
  readonly state: ScheduleItemState;
  /** When it was released or rejected; null while pending. */
  readonly outcomeNs: bigint | null;
  /** Why it was rejected; null otherwise. */
  readonly reason: string | null;
}

/** Selects pending items; all given criteria must hold. */
export interface ScheduleFilter {
  readonly ids?: readonly number[];
  readonly sourceId?: number;
  readonly apid?: number;
  readonly sequenceCount?: number;
  readonly group?: string;
  /** Release time at or after. */
  readonly fromNs?: bigint;
  /** Release time at or before. */
  readonly toNs?: bigint;
}

export interface TimeShiftOptions {
  /** No shifted item may end up releasing before this (e.g. now plus a margin); else nothing moves. */
  readonly notBeforeNs: bigint;
  /** Which pending items to shift; all of them when omitted (ST[11,15]). */
  readonly filter?: ScheduleFilter;
}

export interface RecoveryResult {
  /** Overdue by no more than the tolerance: the caller releases these now, in this order. */
  readonly runLate: ScheduleItem[];
  /** Overdue by more than the tolerance: already marked rejected ("missed while down"). */
  readonly rejected: ScheduleItem[];
}

export interface FinishedOptions {
  /** Page size, 1..1000. */
  readonly limit: number;
  /** The last id of the previous page. */
  readonly afterId?: number;
}

const MAX_PAGE = 1000;

interface ItemRow {
  id: bigint;
  release_ns: bigint;
  source_id: bigint;
  apid: bigint;
  sequence_count: bigint;
  packet: Buffer;
  group_name: string | null;
  state: ScheduleItemState;
  outcome_ns: bigint | null;
  reason: string | null;
}

const ITEM_COLUMNS = `id, release_ns, source_id, apid, sequence_count, packet, group_name, state, outcome_ns, reason`;
/** Items the release function would release: global switch on, group (if any) not disabled. */
const RELEASABLE = `state = 'pending'
  AND (SELECT enabled FROM schedule_state WHERE id = 1) = 1
  AND (group_name IS NULL OR group_name NOT IN (SELECT name FROM schedule_group WHERE enabled = 0))`;

/**
 * The PUS ST[11] time-based schedule, on disk. Items are never released
 * twice: an item leaves the `pending` state exactly once, to `released` or
 * `rejected`, and stays in the table with its outcome for the report.
 *
 * Every write is one transaction: a batch with one bad item changes nothing.
 */
export class ScheduleStore {
  readonly #db: TtcDatabase;
  readonly #insert;
  readonly #pendingByKey;
  readonly #getItem;
  readonly #setOutcome;
  readonly #enabled;
  readonly #setEnabled;
  readonly #groupEnabled;
  readonly #setGroup;
  readonly #groups;
  readonly #due;
  readonly #list;
  readonly #next;
  readonly #deleteAllPending;
  readonly #finishedPage;
  readonly #prune;
  readonly #cache = new Map<string, ReturnType<TtcDatabase["prepare"]>>();

  constructor(db: TtcDatabase) {
    assertTtcSchema(db);
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO schedule_item (release_ns, source_id, apid, sequence_count, packet, group_name) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#pendingByKey = db
      .prepare(`SELECT id FROM schedule_item WHERE state = 'pending' AND source_id = ? AND apid = ? AND sequence_count = ?`)
      .pluck()
      .safeIntegers(true);
    this.#getItem = db.prepare(`SELECT ${ITEM_COLUMNS} FROM schedule_item WHERE id = ?`).safeIntegers(true);
    this.#setOutcome = db.prepare(
      `UPDATE schedule_item SET state = ?, outcome_ns = ?, reason = ? WHERE id = ? AND state = 'pending'`,
    );
    this.#enabled = db.prepare(`SELECT enabled FROM schedule_state WHERE id = 1`).pluck();
    this.#setEnabled = db.prepare(`UPDATE schedule_state SET enabled = ? WHERE id = 1`);
    this.#groupEnabled = db.prepare(`SELECT enabled FROM schedule_group WHERE name = ?`).pluck();
    this.#setGroup = db.prepare(
      `INSERT INTO schedule_group (name, enabled) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled`,
    );
    this.#groups = db.prepare(`SELECT name, enabled FROM schedule_group ORDER BY name`);
    this.#due = db
      .prepare(`SELECT ${ITEM_COLUMNS} FROM schedule_item WHERE ${RELEASABLE} AND release_ns <= ? ORDER BY release_ns, id`)
      .safeIntegers(true);
    this.#list = db
      .prepare(`SELECT ${ITEM_COLUMNS} FROM schedule_item WHERE state = 'pending' ORDER BY release_ns, id`)
      .safeIntegers(true);
    this.#next = db
      .prepare(`SELECT min(release_ns) FROM schedule_item WHERE ${RELEASABLE}`)
      .pluck()
      .safeIntegers(true);
    this.#deleteAllPending = db.prepare(`DELETE FROM schedule_item WHERE state = 'pending'`);
    this.#finishedPage = db
      .prepare(
        `SELECT ${ITEM_COLUMNS} FROM schedule_item WHERE state <> 'pending' AND id < ? ORDER BY id DESC LIMIT ?`,
      )
      .safeIntegers(true);
    this.#prune = db.prepare(`DELETE FROM schedule_item WHERE state <> 'pending' AND outcome_ns < ?`);
  }

  /**
   * Inserts activities, all or none, and returns their ids in input order.
   * Throws InvalidFieldError naming the bad field (`items[2].apid`), or
   * DuplicateRequestError when an item's (source, APID, sequence count) is
   * already pending in the schedule.
   */
  insert(items: readonly ScheduleItemInput[]): number[] {
    if (!Array.isArray(items)) throw new InvalidFieldError("items", "must be an array");
    const checked = items.map((raw: unknown, i) => {
      const f = `items[${i}]`;
      const it = v.record(f, raw);
      return {
        releaseNs: v.timeNs(`${f}.releaseNs`, it["releaseNs"]),
        apid: v.apid(`${f}.apid`, it["apid"]),
        sequenceCount: v.sequenceCount(`${f}.sequenceCount`, it["sequenceCount"]),
        sourceId: v.sourceId(`${f}.sourceId`, it["sourceId"]),
        packet: v.packet(`${f}.packet`, it["packet"]),
        group: it["group"] === undefined ? null : v.text(`${f}.group`, it["group"], v.MAX_LABEL_CHARS),
      };
    });
    const seen = new Map<string, number>();
    checked.forEach((it, i) => {
      const k = `${it.sourceId}/${it.apid}/${it.sequenceCount}`;
      const first = seen.get(k);
      if (first !== undefined) {
        throw new InvalidFieldError(`items[${i}]`, `${describeKey(it)} repeats items[${first}]`);
      }
      seen.set(k, i);
    });
    return this.#db
      .transaction(() =>
        checked.map((it) => {
          const existing = this.#pendingByKey.get(it.sourceId, it.apid, it.sequenceCount) as bigint | undefined;
          if (existing !== undefined) {
            const key: RequestKey = { sourceId: it.sourceId, apid: it.apid, sequenceCount: it.sequenceCount };
            throw new DuplicateRequestError(
              key,
              Number(existing),
              `${describeKey(key)} is already scheduled (item ${existing})`,
            );
          }
          return Number(
            this.#insert.run(it.releaseNs, it.sourceId, it.apid, it.sequenceCount, it.packet, it.group).lastInsertRowid,
          );
        }),
      )
      .immediate();
  }

  /**
   * Deletes the pending items the filter selects, all or none, and returns
   * how many. An id in `filter.ids` that is not a pending item is an error and
   * nothing is deleted. An empty filter is refused: use {@link reset}.
   */
  delete(filter: ScheduleFilter): number {
    const f = this.#filter(filter);
    if (f.where.length === 0) {
      throw new InvalidFieldError("filter", "needs at least one criterion (reset() clears the whole schedule)");
    }
    return this.#db
      .transaction(() => {
        this.#checkIds(f.ids);
        return this.#stmt(`DELETE FROM schedule_item WHERE state = 'pending' AND ${f.where.join(" AND ")}`).run(f.params)
          .changes;
      })
      .immediate();
  }

  /** ST[11,3]: deletes every pending item and disables the release function; returns how many were deleted. */
  reset(): number {
    return this.#db
      .transaction(() => {
        this.#setEnabled.run(0);
        return this.#deleteAllPending.run().changes;
      })
      .immediate();
  }

  /**
   * Moves the selected pending items by `deltaNs` (negative is earlier) and
   * returns how many moved. If any would then release before
   * `options.notBeforeNs`, nothing moves and InvalidFieldError("deltaNs") says
   * which item.
   */
  timeShift(deltaNs: bigint, options: TimeShiftOptions): number {
    const delta = v.int64("deltaNs", deltaNs);
    const o = v.record("options", options);
    const notBeforeNs = v.timeNs("notBeforeNs", o["notBeforeNs"]);
    const f = this.#filter(o["filter"] === undefined ? {} : o["filter"]);
    const where = ["state = 'pending'", ...f.where].join(" AND ");
    return this.#db
      .transaction(() => {
        this.#checkIds(f.ids);
        const span = this.#stmt(
          `SELECT count(*) AS n, min(release_ns) AS lo, max(release_ns) AS hi FROM schedule_item WHERE ${where}`,
          true,
        ).get(f.params) as { n: bigint; lo: bigint | null; hi: bigint | null };
        if (span.n === 0n || span.lo === null || span.hi === null) return 0;
        if (span.lo + delta < notBeforeNs) {
          const first = this.#stmt(
            `SELECT id FROM schedule_item WHERE ${where} ORDER BY release_ns, id LIMIT 1`,
            true,
          )
            .pluck(true)
            .get(f.params) as bigint;
          throw new InvalidFieldError(
            "deltaNs",
            `shifting by ${delta} ns would move item ${first} to ${span.lo + delta}, before ${notBeforeNs}; nothing was shifted`,
          );
        }
        if (span.hi + delta > v.INT64_MAX) {
          throw new InvalidFieldError("deltaNs", `shifting by ${delta} ns overflows a release time; nothing was shifted`);
        }
        return this.#stmt(`UPDATE schedule_item SET release_ns = release_ns + ? WHERE ${where}`).run([delta, ...f.params])
          .changes;
      })
      .immediate();
  }

  /** Enables or disables the release function (persisted). A fresh database starts disabled. */
  setEnabled(enabled: boolean): void {
    this.#setEnabled.run(v.bool("enabled", enabled) ? 1 : 0);
  }

  isEnabled(): boolean {
    return this.#enabled.get() === 1;
  }

  /** Enables or disables one group (persisted); a group never set is enabled. */
  setGroupEnabled(group: string, enabled: boolean): void {
    this.#setGroup.run(v.text("group", group, v.MAX_LABEL_CHARS), v.bool("enabled", enabled) ? 1 : 0);
  }

  isGroupEnabled(group: string): boolean {
    return this.#groupEnabled.get(v.text("group", group, v.MAX_LABEL_CHARS)) !== 0;
  }

  /** Groups whose state was ever set. */
  groups(): { name: string; enabled: boolean }[] {
    return (this.#groups.all() as { name: string; enabled: number }[]).map((g) => ({ name: g.name, enabled: g.enabled === 1 }));
  }

  /**
   * Pending items the release function would release at `nowNs` (enabled,
   * group not disabled, release time reached), in release order. Empty while
   * the release function is disabled.
   */
  due(nowNs: bigint): ScheduleItem[] {
    return (this.#due.all(v.timeNs("nowNs", nowNs)) as ItemRow[]).map(item);
  }

  /** Marks a pending item released (call before handing it on, so a reset cannot release it twice). */
  markReleased(id: number, atNs: bigint): void {
    this.#outcome(id, "released", v.timeNs("atNs", atNs), null);
  }

  /** Marks a pending item rejected with a reason. */
  markRejected(id: number, atNs: bigint, reason: string): void {
    this.#outcome(id, "rejected", v.timeNs("atNs", atNs), v.text("reason", reason, v.MAX_TEXT_CHARS));
  }

  /** Any item, pending or finished. */
  get(id: number): ScheduleItem | undefined {
    const row = this.#getItem.get(v.rowId("id", id)) as ItemRow | undefined;
    return row === undefined ? undefined : item(row);
  }

  /** Every pending item (disabled or not), in release order: the schedule report. */
  list(): ScheduleItem[] {
    return (this.#list.all() as ItemRow[]).map(item);
  }

  /** Released and rejected items, newest first, one page at a time. */
  finished(options: FinishedOptions): ScheduleItem[] {
    const o = v.record("options", options);
    const limit = v.intInRange("limit", o["limit"], 1, MAX_PAGE);
    const afterId = o["afterId"] === undefined ? Number.MAX_SAFE_INTEGER : v.rowId("afterId", o["afterId"]);
    return (this.#finishedPage.all(afterId, limit) as ItemRow[]).map(item);
  }

  /** Deletes finished items whose outcome is older than `beforeNs`; returns how many. */
  prune(beforeNs: bigint): number {
    return this.#prune.run(v.timeNs("beforeNs", beforeNs)).changes;
  }

  /**
   * Earliest release time among the items {@link due} could return, or null
   * (nothing pending, or release disabled). Items held back by a disabled
   * group do not count, so a timer set from it never spins on them.
   */
  next(): bigint | null {
    return this.#next.get() as bigint | null;
  }

  /**
   * After a restart: the items that became due while the payload was down.
   * Those late by at most `toleranceNs` are returned in `runLate` (still
   * pending; the caller releases them and marks them released); the others
   * are marked rejected ("missed while down: late by X s") in the same
   * transaction and returned in `rejected`. Items held back (release or group
   * disabled) are left pending: they were not going to be released anyway.
   */
  recover(nowNs: bigint, toleranceNs: bigint): RecoveryResult {
    const now = v.timeNs("nowNs", nowNs);
    const tolerance = v.timeNs("toleranceNs", toleranceNs);
    return this.#db
      .transaction((): RecoveryResult => {
        const runLate: ScheduleItem[] = [];
        const rejected: ScheduleItem[] = [];
        for (const row of this.#due.all(now) as ItemRow[]) {
          const late = now - row.release_ns;
          if (late <= tolerance) {
            runLate.push(item(row));
          } else {
            const reason = `missed while down: late by ${v.formatSeconds(late)} s`;
            this.#setOutcome.run("rejected", now, reason, row.id);
            rejected.push({ ...item(row), state: "rejected", outcomeNs: now, reason });
          }
        }
        return { runLate, rejected };
      })
      .immediate();
  }

  #outcome(id: number, state: "released" | "rejected", atNs: bigint, reason: string | null): void {
    const itemId = v.rowId("id", id);
    this.#db
      .transaction(() => {
        if (this.#setOutcome.run(state, atNs, reason, itemId).changes === 1) return;
        const row = this.#getItem.get(itemId) as ItemRow | undefined;
        throw new InvalidFieldError(
          "id",
          row === undefined ? `no schedule item ${itemId}` : `schedule item ${itemId} is not pending (already ${row.state})`,
        );
      })
      .immediate();
  }

  #filter(filter: unknown): { where: string[]; params: unknown[]; ids: number[] | null } {
    const f = v.record("filter", filter);
    const where: string[] = [];
    const params: unknown[] = [];
    let ids: number[] | null = null;
    if (f["ids"] !== undefined) {
      const raw = f["ids"];
      if (!Array.isArray(raw) || raw.length === 0) throw new InvalidFieldError("filter.ids", "must be a non-empty array");
      ids = raw.map((id: unknown, i) => v.rowId(`filter.ids[${i}]`, id));
      where.push("id IN (SELECT value FROM json_each(?))");
      params.push(JSON.stringify(ids));
    }
    const eq = (column: string, value: unknown): void => {
      where.push(`${column} = ?`);
      params.push(value);
    };
    if (f["sourceId"] !== undefined) eq("source_id", v.sourceId("filter.sourceId", f["sourceId"]));
    if (f["apid"] !== undefined) eq("apid", v.apid("filter.apid", f["apid"]));
    if (f["sequenceCount"] !== undefined) eq("sequence_count", v.sequenceCount("filter.sequenceCount", f["sequenceCount"]));
    if (f["group"] !== undefined) eq("group_name", v.text("filter.group", f["group"], v.MAX_LABEL_CHARS));
    if (f["fromNs"] !== undefined) {
      where.push("release_ns >= ?");
      params.push(v.timeNs("filter.fromNs", f["fromNs"]));
    }
    if (f["toNs"] !== undefined) {
      where.push("release_ns <= ?");
      params.push(v.timeNs("filter.toNs", f["toNs"]));
    }
    return { where, params, ids };
  }

  /** Every id named in a filter must be a pending item, or the whole request is refused. */
  #checkIds(ids: number[] | null): void {
    if (ids === null) return;
    ids.forEach((id, i) => {
      const row = this.#getItem.get(id) as ItemRow | undefined;
      if (row === undefined) throw new InvalidFieldError(`filter.ids[${i}]`, `no schedule item ${id}`);
      if (row.state !== "pending") {
        throw new InvalidFieldError(`filter.ids[${i}]`, `schedule item ${id} is not pending (already ${row.state})`);
      }
    });
  }

  #stmt(sql: string, safe = false): ReturnType<TtcDatabase["prepare"]> {
    const key = `${safe ? "1" : "0"}${sql}`;
    let s = this.#cache.get(key);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      if (safe) s.safeIntegers(true);
      this.#cache.set(key, s);
    }
    return s;
  }
}

function item(row: ItemRow): ScheduleItem {
  return {
    id: Number(row.id),
    releaseNs: row.release_ns,
    apid: Number(row.apid),
    sequenceCount: Number(row.sequence_count),
    sourceId: Number(row.source_id),
    packet: new Uint8Array(row.packet),
    group: row.group_name,
    state: row.state,
    outcomeNs: row.outcome_ns,
    reason: row.reason,
  };
}
