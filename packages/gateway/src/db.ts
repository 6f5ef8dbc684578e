// The gateway's own SQLite file, <dataDir>/gateway.db: users and their hashed
// tokens, the gateway's command history, and the reserved high-water marks of
// its TC counters (security sequence, per-APID sequence counts).
//
// WAL with synchronous = FULL, as the TTC's stores: a user created, a token
// issued or a command recorded is on disk when the call returns, and a
// reservation is on disk before any number from it goes out on a packet.
import Database from "better-sqlite3";

export type GatewayDatabase = Database.Database;

export const GATEWAY_SCHEMA_VERSION = 1;

const MIGRATIONS: readonly string[] = [
  // 0 -> 1
  `
  CREATE TABLE user (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at  TEXT NOT NULL
  ) STRICT;

  -- SHA-256 of the token only; the token itself is shown once and never stored.
  CREATE TABLE token (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user        TEXT NOT NULL REFERENCES user (name) ON DELETE CASCADE,
    hash        BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at  TEXT NOT NULL
  ) STRICT;
  CREATE INDEX token_user ON token (user);

  CREATE TABLE command (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL CHECK (kind IN ('execute', 'arm')),
    user               TEXT NOT NULL,
    service            TEXT NOT NULL,
    command            TEXT NOT NULL,
    args_json          TEXT NOT NULL,
    apid               INTEGER NOT NULL CHECK (apid BETWEEN 0 AND 2047),
    sequence_count     INTEGER NOT NULL CHECK (sequence_count BETWEEN 0 AND 16383),
    source_id          INTEGER NOT NULL CHECK (source_id BETWEEN 0 AND 65535),
    spi                INTEGER NOT NULL,
    security_sequence  INTEGER NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('sent', 'accepted', 'started', 'completed', 'failed', 'timeout')),
    stages_json        TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
  ) STRICT;
  CREATE INDEX command_open ON command (id) WHERE state IN ('sent', 'accepted', 'started');

  -- Counters whose numbers must never repeat across restarts: the value is
  -- the first number NOT yet reserved (everything below may have been used).
  CREATE TABLE reservation (
    name      TEXT PRIMARY KEY,
    next_free INTEGER NOT NULL CHECK (next_free >= 0)
  ) STRICT;
  `,
];

export class GatewayDatabaseError extends Error {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "GatewayDatabaseError";
  }
}

/** Opens (creating if needed) gateway.db and brings its schema up to date. */
export function openGatewayDatabase(path: string): GatewayDatabase {
  let db: GatewayDatabase;
  try {
    db = new Database(path, { timeout: 5000 });
  } catch (err) {
    throw new GatewayDatabaseError(path, `cannot open gateway database ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version > GATEWAY_SCHEMA_VERSION) {
      throw new GatewayDatabaseError(path, `gateway database ${path} has schema version ${version}, newer than this software knows (${GATEWAY_SCHEMA_VERSION})`);
    }
    const mode = String(db.pragma("journal_mode = WAL", { simple: true }));
    if (mode !== "wal") throw new GatewayDatabaseError(path, `gateway database ${path}: could not enable WAL (got ${mode})`);
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    for (let v = version; v < GATEWAY_SCHEMA_VERSION; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof GatewayDatabaseError) throw err;
    throw new GatewayDatabaseError(path, `gateway database ${path} is not usable: ${(err as Error).message}`, { cause: err });
  }
}
