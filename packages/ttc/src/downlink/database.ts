import Database from "better-sqlite3";
import { TtcDatabaseError } from "../store/errors.js";
import { ensureDownlinkSchema } from "./schema.js";

export type DownlinkDatabase = Database.Database;

export interface OpenDownlinkDatabaseOptions {
  /** How long a statement waits for another connection's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens (creating if needed) a database file of its own for the downlink
 * queue, the archive of sent packets and the contact schedule, with the same
 * durability settings as the TTC database: `journal_mode = WAL` and
 * `synchronous = FULL` (every commit is fsynced, so a call that returns has
 * its data on disk). The downlink tables can as well live in the TTC
 * database: pass its handle to `new DownlinkQueue(db)`.
 *
 * Throws TtcDatabaseError naming the path when the file cannot be opened, is
 * not an SQLite database, or holds downlink tables from newer software.
 */
export function openDownlinkDatabase(path: string, options: OpenDownlinkDatabaseOptions = {}): DownlinkDatabase {
  let db: DownlinkDatabase;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new TtcDatabaseError(path, `cannot open downlink database ${path}: ${reason(err)}`, { cause: err });
  }
  try {
    const mode = String(db.pragma("journal_mode = WAL", { simple: true }));
    if (mode !== "wal" && !(db.memory && mode === "memory")) {
      throw new TtcDatabaseError(path, `downlink database ${path}: could not enable WAL journal mode (got ${mode})`);
    }
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    ensureDownlinkSchema(db);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TtcDatabaseError) throw err;
    throw new TtcDatabaseError(path, `downlink database ${path} is not usable: ${reason(err)}`, { cause: err });
  }
}

/**
 * For a handle the caller opened: refuses one whose settings would break the
 * "durable on return" promise (a file database not in WAL mode with
 * synchronous FULL or EXTRA), then creates or migrates the downlink tables.
 */
export function prepareDownlinkDatabase(db: DownlinkDatabase): void {
  if (!db.open) throw new TtcDatabaseError(db.name, `database ${db.name} is closed`);
  if (db.readonly) throw new TtcDatabaseError(db.name, `database ${db.name} is read-only; the downlink queue writes`);
  if (!db.memory) {
    const mode = String(db.pragma("journal_mode", { simple: true }));
    const sync = Number(db.pragma("synchronous", { simple: true }));
    if (mode !== "wal" || sync < 2) {
      throw new TtcDatabaseError(
        db.name,
        `database ${db.name} has journal_mode=${mode}, synchronous=${sync}: the downlink queue needs WAL and ` +
          `synchronous FULL (2) or EXTRA (3) to be durable on return; open it with openDownlinkDatabase() or openTtcDatabase()`,
      );
    }
  }
  try {
    ensureDownlinkSchema(db);
  } catch (err) {
    if (err instanceof TtcDatabaseError) throw err;
    throw new TtcDatabaseError(db.name, `database ${db.name}: cannot create the downlink tables: ${reason(err)}`, {
      cause: err,
    });
  }
}
