import Database from "better-sqlite3";
import { TtcDatabaseError } from "./errors.js";
import { MIGRATIONS, TTC_SCHEMA_VERSION } from "./schema.js";

export type TtcDatabase = Database.Database;

export interface OpenTtcDatabaseOptions {
  /**
   * Run `PRAGMA quick_check` after opening and refuse a damaged database.
   * Costs a full read of the file, so it is off by default; worth it at boot
   * on a small database.
   */
  readonly integrityCheck?: boolean;
  /** How long a statement waits for another connection's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens (creating if needed) the TTC database and brings its schema up to
 * {@link TTC_SCHEMA_VERSION}.
 *
 * - `journal_mode = WAL`: readers never block the writer, and a commit is one
 *   append to the WAL, so a power cut mid-write loses at most the transaction
 *   being written, never an earlier one.
 * - `synchronous = FULL`: the WAL is fsynced at every commit, so once a
 *   transaction call returns, it survives a power cut. (NORMAL, the usual WAL
 *   setting, may lose the last commits on power loss, and we acknowledge
 *   commands to the ground as soon as the call returns.)
 * - `foreign_keys = ON`: stages cannot point at commands that do not exist.
 * - `temp_store = MEMORY`: what a savepoint must be able to undo (its
 *   sub-journal) stays in memory. By default SQLite spills it past 64 KiB to
 *   a temporary file in /var/tmp, created and unlinked in each such
 *   transaction; the TTC's group commits (a savepoint per telecommand or
 *   completion) passed that in most bursts under load (seen with strace).
 *
 * Throws {@link TtcDatabaseError} naming the path when the file cannot be
 * opened, is not an SQLite database, or was written by newer software
 * (`user_version` greater than this code knows); nothing is changed in that case.
 */
export function openTtcDatabase(path: string, options: OpenTtcDatabaseOptions = {}): TtcDatabase {
  let db: TtcDatabase;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new TtcDatabaseError(path, `cannot open TTC database ${path}: ${reason(err)}`, { cause: err });
  }
  try {
    // Read the version before anything writes: a newer database must be left exactly as it is.
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version > TTC_SCHEMA_VERSION) {
      throw new TtcDatabaseError(
        path,
        `TTC database ${path} has schema version ${version}, newer than this software knows ` +
          `(${TTC_SCHEMA_VERSION}); refusing to open it (was it written by a newer build?)`,
      );
    }
    const mode = String(db.pragma("journal_mode = WAL", { simple: true }));
    if (mode !== "wal" && !(db.memory && mode === "memory")) {
      throw new TtcDatabaseError(path, `TTC database ${path}: could not enable WAL journal mode (got ${mode})`);
    }
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("temp_store = MEMORY");
    if (options.integrityCheck === true) {
      const problems = checkIntegrity(db, "quick");
      if (problems.length > 0) {
        throw new TtcDatabaseError(path, `TTC database ${path} is damaged: ${problems.slice(0, 5).join("; ")}`);
      }
    }
    migrate(db, version);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TtcDatabaseError) throw err;
    throw new TtcDatabaseError(path, `TTC database ${path} is not usable: ${reason(err)}`, { cause: err });
  }
}

function migrate(db: TtcDatabase, from: number): void {
  for (let version = from; version < TTC_SCHEMA_VERSION; version++) {
    const sql = MIGRATIONS[version];
    if (sql === undefined) throw new Error(`missing migration ${version} -> ${version + 1}`);
    db.transaction(() => {
      db.exec(sql);
      // user_version lives in the file header and is written in this same transaction.
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/**
 * Runs `PRAGMA integrity_check` (or the cheaper `quick_check`) and returns the
 * problems found; an empty array means the database is sound.
 */
export function checkIntegrity(db: TtcDatabase, kind: "full" | "quick" = "full"): string[] {
  const rows = db.pragma(kind === "full" ? "integrity_check" : "quick_check") as Array<Record<string, unknown>>;
  const messages = rows.map((row) => String(Object.values(row)[0]));
  return messages.length === 1 && messages[0] === "ok" ? [] : messages;
}

/** Throws unless `db` carries the schema this code knows: stores call it so a raw handle fails clearly. */
export function assertTtcSchema(db: TtcDatabase): void {
  const version = Number(db.pragma("user_version", { simple: true }));
  if (version !== TTC_SCHEMA_VERSION) {
    throw new TtcDatabaseError(
      db.name,
      `database ${db.name} has schema version ${version}, expected ${TTC_SCHEMA_VERSION}: open it with openTtcDatabase()`,
    );
  }
}
