import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { Outbox, type Transaction } from "../src/outbox.js";

function setup() {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE t (x INTEGER)");
  const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
  const rows = () => db.prepare("SELECT x FROM t ORDER BY rowid").pluck().all() as number[];
  const transaction: Transaction = (work) => db.transaction(work).immediate();
  return { db, insert, rows, transaction, outbox: new Outbox(), sent: [] as string[] };
}

describe("Outbox", () => {
  it("sends at once outside a run", () => {
    const { outbox, sent } = setup();
    outbox.post(() => sent.push("a"));
    expect(sent).toEqual(["a"]);
    expect(outbox.holding).toBe(false);
  });

  it("holds what a run posts until its transaction has committed, then sends it in order", () => {
    const { db, insert, rows, transaction, outbox, sent } = setup();
    const result = outbox.run(transaction, () => {
      insert.run(1);
      outbox.post(() => sent.push(`first, committed: ${String(!db.inTransaction)} ${rows().join()}`));
      insert.run(2);
      outbox.post(() => sent.push("second"));
      expect(sent).toEqual([]);
      expect(outbox.holding).toBe(true);
      return 42;
    });
    expect(result).toBe(42);
    expect(sent).toEqual(["first, committed: true 1,2", "second"]);
    expect(outbox.holding).toBe(false);
  });

  it("drops the posts and rolls back when the work throws", () => {
    const { insert, rows, transaction, outbox, sent } = setup();
    expect(() =>
      outbox.run(transaction, () => {
        insert.run(1);
        outbox.post(() => sent.push("never"));
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(sent).toEqual([]);
    expect(rows()).toEqual([]);
    outbox.post(() => sent.push("after"));
    expect(sent).toEqual(["after"]);
  });

  it("a nested run is a savepoint: if it throws, only its own writes and posts go", () => {
    const { insert, rows, transaction, outbox, sent } = setup();
    outbox.run(transaction, () => {
      insert.run(1);
      outbox.post(() => sent.push("outer"));
      expect(() =>
        outbox.run(transaction, () => {
          insert.run(2);
          outbox.post(() => sent.push("inner, dropped"));
          throw new Error("inner");
        }),
      ).toThrow("inner");
      outbox.run(transaction, () => {
        insert.run(3);
        outbox.post(() => sent.push("inner, kept"));
      });
      expect(sent).toEqual([]);
    });
    expect(rows()).toEqual([1, 3]);
    expect(sent).toEqual(["outer", "inner, kept"]);
  });

  it("a send that throws does not hold back the others; the first error goes on", () => {
    const { transaction, outbox, sent } = setup();
    expect(() =>
      outbox.run(transaction, () => {
        outbox.post(() => {
          throw new Error("bus closed");
        });
        outbox.post(() => sent.push("still sent"));
      }),
    ).toThrow("bus closed");
    expect(sent).toEqual(["still sent"]);
  });
});
