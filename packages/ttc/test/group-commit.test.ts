// GroupCommit over a real SQLite database and the TTC's Outbox: one commit
// per burst, a unit that throws rolled back alone, a failed commit said by
// nobody, and a failed send after the commit not mistaken for a failed commit.
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/group-commit.js";
import { Outbox } from "../src/outbox.js";

function rig() {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE t (v INTEGER NOT NULL)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  const rows = () => db.prepare("SELECT v FROM t ORDER BY rowid").pluck().all() as number[];
  const outbox = new Outbox();
  const tx = db.transaction((work: () => unknown) => work());
  let commits = 0;
  const atomically = (work: () => void) =>
    outbox.run((w) => {
      const outer = !db.inTransaction;
      const r = tx(w);
      if (outer) commits++;
      return r;
    }, work);
  const said: string[] = [];
  const failed: { unit: number; message: string }[] = [];
  const sendErrors: unknown[] = [];
  const scheduled: (() => void)[] = [];
  const turns: (() => void)[] = [];
  const group = new GroupCommit({ atomically, inTransaction: () => db.inTransaction, post: (s) => outbox.post(s), sendFailed: (err) => sendErrors.push(err), scheduleSoon: (run) => scheduled.push(run), scheduleTurn: (run) => turns.push(run) });
  const unit = (v: number, opts: { throws?: boolean; turn?: boolean } = {}) =>
    group.add(
      () => {
        insert.run(v);
        outbox.post(() => said.push(`v${v}`));
        if (opts.throws) throw new Error(`unit ${v} fails`);
      },
      (err) => {
        failed.push({ unit: v, message: (err as Error).message });
        outbox.post(() => said.push(`failed${v}`));
      },
      opts.turn ? "turn" : "soon",
    );
  return { db, rows, group, unit, said, failed, sendErrors, scheduled, turns, commits: () => commits, insert, outbox };
}

describe("GroupCommit", () => {
  it("runs a burst as one commit when scheduled, and says what the units said only after it, in order", () => {
    const r = rig();
    r.unit(1);
    r.unit(2);
    r.unit(3);
    expect(r.scheduled).toHaveLength(1); // one flush per burst
    expect(r.group.waiting).toBe(3);
    expect(r.rows()).toEqual([]);
    r.scheduled[0]!();
    expect(r.rows()).toEqual([1, 2, 3]);
    expect(r.commits()).toBe(1);
    expect(r.said).toEqual(["v1", "v2", "v3"]);
    expect(r.group.stats).toEqual({ commits: 1, units: 3 });
    r.unit(4);
    expect(r.scheduled).toHaveLength(2);
  });

  it("a unit added behind schedules nothing: it rides the next commit, written before the units of that commit, or waits for a flush", async () => {
    const r = rig();
    const behind = (v: number, throws = false) =>
      r.group.addBehind(
        () => {
          r.insert.run(v);
          if (throws) throw new Error(`behind ${v} fails`);
        },
        (err) => r.failed.push({ unit: v, message: (err as Error).message }),
      );
    let written = 0;
    void behind(10).then(() => written++);
    void behind(11, true);
    expect(r.scheduled).toHaveLength(0);
    expect(r.turns).toHaveLength(0);
    expect(r.group.waiting).toBe(2);
    expect(r.group.waitingBehind).toBe(2);
    r.unit(1);
    r.scheduled[0]!();
    // One commit: the behind units first (the one that threw rolled back alone), then the unit that asked for it.
    expect(r.rows()).toEqual([10, 1]);
    expect(r.commits()).toBe(1);
    expect(r.failed).toEqual([{ unit: 11, message: "behind 11 fails" }]);
    expect(r.group.waiting).toBe(0);
    await Promise.resolve();
    expect(written).toBe(1);
    // Alone, a behind unit waits until its owner flushes.
    void behind(12);
    expect(r.scheduled).toHaveLength(1);
    expect(r.rows()).toEqual([10, 1]);
    r.group.flush();
    expect(r.rows()).toEqual([10, 1, 12]);
    expect(r.commits()).toBe(2);
    expect(r.group.stats).toEqual({ commits: 2, units: 4 });
  });

  it("a unit that throws is rolled back to its savepoint alone; its report joins the commit, its own posts are dropped", () => {
    const r = rig();
    r.unit(1);
    r.unit(2, { throws: true });
    r.unit(3);
    r.group.flush();
    expect(r.rows()).toEqual([1, 3]);
    expect(r.commits()).toBe(1);
    expect(r.said).toEqual(["v1", "failed2", "v3"]);
    expect(r.failed).toEqual([{ unit: 2, message: "unit 2 fails" }]);
  });

  it("when the commit fails, nothing is on disk, nothing the units said goes out, and every unit hears of it", () => {
    const r = rig();
    r.db.exec("CREATE TRIGGER no_sevens BEFORE INSERT ON t WHEN NEW.v = 7 BEGIN SELECT RAISE(ROLLBACK, 'sevens refused'); END");
    r.unit(1);
    r.unit(7); // RAISE(ROLLBACK) rolls back the whole transaction, savepoints included
    r.unit(3);
    r.group.flush();
    expect(r.rows()).toEqual([]);
    expect(r.said.filter((s) => s.startsWith("v"))).toEqual([]);
    expect(r.failed.map((f) => f.unit).sort()).toEqual([1, 3, 7].sort());
    expect(r.db.inTransaction).toBe(false);
    // The next burst commits normally.
    r.unit(4);
    r.group.flush();
    expect(r.rows()).toEqual([4]);
  });

  it("a send that fails after the commit is reported as such; the units are not told they failed", () => {
    const r = rig();
    r.group.add(
      () => {
        r.insert.run(9);
        r.outbox.post(() => {
          throw new Error("bus closed");
        });
        r.outbox.post(() => r.said.push("after"));
      },
      () => r.failed.push({ unit: 9, message: "told" }),
    );
    r.group.flush();
    expect(r.rows()).toEqual([9]);
    expect(r.said).toEqual(["after"]); // one send that throws does not hold back the others
    expect(r.failed).toEqual([]);
    expect(r.sendErrors).toHaveLength(1);
    expect(r.group.stats.commits).toBe(1);
  });

  it("units for the end of the turn ride along with an earlier flush; a flush with nothing left commits nothing", () => {
    const r = rig();
    r.unit(1, { turn: true });
    r.unit(2, { turn: true });
    expect(r.turns).toHaveLength(1);
    expect(r.scheduled).toHaveLength(0);
    r.unit(3); // a packet burst: flushed at the end of the microtask sequence, taking the completions with it
    expect(r.scheduled).toHaveLength(1);
    r.scheduled[0]!();
    expect(r.rows()).toEqual([1, 2, 3]);
    expect(r.commits()).toBe(1);
    r.turns[0]!();
    expect(r.commits()).toBe(1);
    r.unit(4, { turn: true });
    expect(r.turns).toHaveLength(2); // scheduled again once the last one ran
  });

  it("add resolves once the unit's commit is made, and also when it failed", async () => {
    const r = rig();
    let resolved = 0;
    void r.group.add(() => r.insert.run(1), () => undefined).then(() => resolved++);
    void r.group.add(() => { throw new Error("no"); }, () => undefined).then(() => resolved++);
    await Promise.resolve();
    expect(resolved).toBe(0);
    r.scheduled[0]!();
    await Promise.resolve();
    expect(resolved).toBe(2);
  });

  it("flush with nothing queued does nothing", () => {
    const r = rig();
    r.group.flush();
    expect(r.commits()).toBe(0);
  });

  it("property: whatever units throw, the committed rows are exactly those of the units that did not, in order, in one commit", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (throws) => {
        const r = rig();
        throws.forEach((t, i) => r.unit(i, { throws: t }));
        r.group.flush();
        const kept = throws.flatMap((t, i) => (t ? [] : [i]));
        expect(r.rows()).toEqual(kept);
        expect(r.commits()).toBe(1);
        expect(r.said).toEqual(throws.map((t, i) => (t ? `failed${i}` : `v${i}`)));
        r.db.close();
      }),
    );
  });
});
