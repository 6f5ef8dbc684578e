import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { checkIntegrity, openTtcDatabase } from "../../src/store/database.js";
import { TtcDatabaseError } from "../../src/store/errors.js";
import { TTC_SCHEMA_VERSION } from "../../src/store/schema.js";
import { CommandHistory } from "../../src/store/command-history.js";
import { SECOND, T0, cmd, tempDir } from "./support.js";

const newDir = tempDir();

describe("openTtcDatabase", () => {
  it("creates a WAL database with synchronous FULL, foreign keys on and the current schema", () => {
    const path = join(newDir(), "ttc.db");
    const db = openTtcDatabase(path);
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      expect(db.pragma("temp_store", { simple: true })).toBe(2); // MEMORY
      expect(db.pragma("user_version", { simple: true })).toBe(TTC_SCHEMA_VERSION);
      const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all();
      expect(tables).toEqual(
        expect.arrayContaining(["command", "command_stage", "command_stream", "command_dedup", "schedule_item", "schedule_group", "schedule_state"]),
      );
      expect(checkIntegrity(db)).toEqual([]);
    } finally {
      db.close();
    }
    expect(existsSync(path)).toBe(true);
  });

  // The TTC's group commit runs a burst of work in one transaction, a savepoint each. SQLite keeps what a
  // savepoint must be able to undo (the pages it changes) in a sub-journal, which by default spills to a new
  // temporary file once it passes 64 KiB: created and unlinked per transaction, file-system journal work on
  // every burst. A burst of completions changes command rows all over the table, well past 64 KiB.
  it.skipIf(process.platform !== "linux")("keeps a savepoint's journal in memory: no temporary file is opened", () => {
    const db = openTtcDatabase(join(newDir(), "ttc.db"));
    const history = new CommandHistory(db);
    const tempFiles = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return /etilqs_/.test(readlinkSync(`/proc/self/fd/${fd}`)); // SQLite's temporary file names
        } catch {
          return false; // closed meanwhile
        }
      });
    try {
      const ids: number[] = [];
      history.transaction(() => {
        for (let i = 0; i < 3000; i++) ids.push(history.received(cmd({ sequenceCount: i, receivedNs: T0 + BigInt(i) })));
      });
      let seenInside: string[] | undefined;
      history.transaction(() => {
        history.transaction(() => {
          for (let i = 0; i < ids.length; i += 30) history.stage(ids[i]!, { stage: "completion", success: true, code: null, detail: "", atNs: T0 + SECOND });
          seenInside = tempFiles();
        });
      });
      expect(seenInside).toEqual([]);
      // and the savepoint's work committed: 100 commands closed, the rest still open
      expect(db.prepare(`SELECT count(*) FROM command WHERE outcome = 'success'`).pluck().get()).toBe(100);
      expect(db.prepare(`SELECT count(*) FROM command WHERE outcome IS NULL`).pluck().get()).toBe(2900);
    } finally {
      db.close();
    }
  });

  it("reopens an existing database without migrating again, keeping its data", () => {
    const path = join(newDir(), "ttc.db");
    const db = openTtcDatabase(path);
    db.prepare(`UPDATE schedule_state SET enabled = 1`).run();
    db.close();
    const again = openTtcDatabase(path);
    try {
      expect(again.prepare(`SELECT enabled FROM schedule_state`).pluck().get()).toBe(1);
      expect(again.pragma("user_version", { simple: true })).toBe(TTC_SCHEMA_VERSION);
    } finally {
      again.close();
    }
  });

  it("works in memory", () => {
    const db = openTtcDatabase(":memory:");
    expect(db.pragma("user_version", { simple: true })).toBe(TTC_SCHEMA_VERSION);
    db.close();
  });

  it("refuses a database written by newer software, and leaves it untouched", () => {
    const path = join(newDir(), "future.db");
    const raw = new Database(path);
    raw.pragma(`user_version = ${TTC_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openTtcDatabase(path)).toThrow(TtcDatabaseError);
    expect(() => openTtcDatabase(path)).toThrow(/schema version 2, newer than this software knows \(1\)/);
    try {
      openTtcDatabase(path);
    } catch (err) {
      expect((err as TtcDatabaseError).path).toBe(path);
      expect((err as Error).message).toContain(path);
    }
    const check = new Database(path);
    expect(check.pragma("journal_mode", { simple: true })).toBe("delete"); // not switched to WAL
    expect(check.prepare(`SELECT count(*) FROM sqlite_schema`).pluck().get()).toBe(0);
    check.close();
  });

  it("gives a clear error naming the path for a file of garbage bytes", () => {
    const path = join(newDir(), "garbage.db");
    writeFileSync(path, Buffer.from("this is not an SQLite database at all, just some bytes ".repeat(100)));
    let error: unknown;
    try {
      openTtcDatabase(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TtcDatabaseError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/not a database/);
  });

  it("gives a clear error naming the path when the file cannot be created", () => {
    const path = join(newDir(), "no", "such", "dir", "ttc.db");
    expect(() => openTtcDatabase(path)).toThrow(TtcDatabaseError);
    expect(() => openTtcDatabase(path)).toThrow(new RegExp(`cannot open TTC database ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  });

  it("can check integrity on open", () => {
    const path = join(newDir(), "ok.db");
    openTtcDatabase(path).close();
    const db = openTtcDatabase(path, { integrityCheck: true });
    db.close();
  });

  it("with integrityCheck, refuses a file whose pages are damaged", () => {
    const path = join(newDir(), "damaged.db");
    const db = openTtcDatabase(path);
    const history = new CommandHistory(db);
    for (let i = 0; i < 200; i++) {
      history.received({
        receivedNs: 1n + BigInt(i),
        link: "rf",
        apid: 1,
        sequenceCount: i,
        sourceId: 1,
        service: 17,
        subtype: 1,
        spi: null,
        packet: new Uint8Array(300).fill(i),
      });
    }
    db.close(); // checkpoints the WAL into the main file
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    // Scribble over the b-tree page headers of pages 2..n: the header page (1) stays intact.
    for (let page = 1; page * pageSize < bytes.length; page++) bytes.fill(0xa5, page * pageSize, page * pageSize + 64);
    writeFileSync(path, bytes);
    expect(() => openTtcDatabase(path, { integrityCheck: true })).toThrow(TtcDatabaseError);
    expect(() => openTtcDatabase(path, { integrityCheck: true })).toThrow(new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  });

  it("stores refuse a handle that was not opened through openTtcDatabase", () => {
    const raw = new Database(":memory:");
    expect(() => new CommandHistory(raw)).toThrow(/schema version 0, expected 1/);
    raw.close();
  });
});
