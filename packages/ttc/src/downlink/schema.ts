import type Database from "better-sqlite3";
import { TtcDatabaseError } from "../store/errors.js";

/**
 * The downlink schema, as a list of migrations (migration i takes the downlink
 * tables from version i to i + 1, in one transaction with the version bump).
 *
 * The downlink tables can live in their own file or in a database shared with
 * other stores (the TTC database), so their version is NOT kept in
 * `PRAGMA user_version` (which belongs to the file's owner) but in the
 * one-row table `downlink_schema`. Every table is prefixed `downlink_` or
 * `contact_` so it cannot clash with the TTC store's tables.
 *
 * Never edit a migration that has flown: add a new one.
 */
export const DOWNLINK_MIGRATIONS: readonly string[] = [
  // ---- version 1: queue, counters, archive of sent packets, contact schedule ----
  `
  CREATE TABLE downlink_class (
    rank              INTEGER PRIMARY KEY CHECK (rank BETWEEN 0 AND 4),
    name              TEXT    NOT NULL UNIQUE,
    -- resident = queued + in flight; kept by triggers on downlink_packet
    resident_packets  INTEGER NOT NULL DEFAULT 0 CHECK (resident_packets >= 0),
    resident_bytes    INTEGER NOT NULL DEFAULT 0 CHECK (resident_bytes >= 0),
    enqueued_packets  INTEGER NOT NULL DEFAULT 0,
    enqueued_bytes    INTEGER NOT NULL DEFAULT 0,
    dropped_packets   INTEGER NOT NULL DEFAULT 0,
    dropped_bytes     INTEGER NOT NULL DEFAULT 0,
    sent_packets      INTEGER NOT NULL DEFAULT 0,
    sent_bytes        INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  INSERT INTO downlink_class (rank, name) VALUES
    (0, 'verification'), (1, 'event-high'), (2, 'housekeeping'), (3, 'event-low'), (4, 'bulk');

  CREATE TABLE downlink_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    next_lease       INTEGER NOT NULL CHECK (next_lease >= 1),
    archive_packets  INTEGER NOT NULL CHECK (archive_packets >= 0),
    archive_bytes    INTEGER NOT NULL CHECK (archive_bytes >= 0)
  ) STRICT;
  INSERT INTO downlink_state (id, next_lease, archive_packets, archive_bytes) VALUES (1, 1, 0, 0);

  CREATE TABLE downlink_packet (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rank            INTEGER NOT NULL REFERENCES downlink_class (rank),
    generated_ns    INTEGER NOT NULL CHECK (generated_ns >= 0),
    apid            INTEGER NOT NULL CHECK (apid BETWEEN 0 AND 2047),
    service         INTEGER NOT NULL CHECK (service BETWEEN 0 AND 255),
    subtype         INTEGER NOT NULL CHECK (subtype BETWEEN 0 AND 255),
    bytes           INTEGER NOT NULL,
    packet          BLOB    NOT NULL CHECK (length(packet) BETWEEN 1 AND 65542),
    lease_id        INTEGER CHECK (lease_id >= 1),
    retrieved_from  INTEGER,
    CHECK (bytes = length(packet))
  ) STRICT;
  CREATE INDEX downlink_queued ON downlink_packet (rank, id) WHERE lease_id IS NULL;
  CREATE INDEX downlink_victims ON downlink_packet (rank DESC, id) WHERE lease_id IS NULL;
  CREATE INDEX downlink_in_flight ON downlink_packet (lease_id, rank, id) WHERE lease_id IS NOT NULL;
  CREATE INDEX downlink_retrieved ON downlink_packet (retrieved_from) WHERE retrieved_from IS NOT NULL;

  CREATE TRIGGER downlink_packet_in AFTER INSERT ON downlink_packet BEGIN
    UPDATE downlink_class SET resident_packets = resident_packets + 1, resident_bytes = resident_bytes + NEW.bytes
      WHERE rank = NEW.rank;
  END;
  CREATE TRIGGER downlink_packet_out AFTER DELETE ON downlink_packet BEGIN
    UPDATE downlink_class SET resident_packets = resident_packets - 1, resident_bytes = resident_bytes - OLD.bytes
      WHERE rank = OLD.rank;
  END;
  CREATE TRIGGER downlink_packet_fixed BEFORE UPDATE OF rank, bytes, packet ON downlink_packet BEGIN
    SELECT RAISE(ABORT, 'downlink_packet: rank, bytes and packet are fixed once enqueued');
  END;

  CREATE TABLE downlink_sent (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id     INTEGER NOT NULL,
    rank          INTEGER NOT NULL CHECK (rank BETWEEN 0 AND 4),
    generated_ns  INTEGER NOT NULL CHECK (generated_ns >= 0),
    apid          INTEGER NOT NULL CHECK (apid BETWEEN 0 AND 2047),
    service       INTEGER NOT NULL CHECK (service BETWEEN 0 AND 255),
    subtype       INTEGER NOT NULL CHECK (subtype BETWEEN 0 AND 255),
    bytes         INTEGER NOT NULL,
    packet        BLOB    NOT NULL CHECK (length(packet) BETWEEN 1 AND 65542),
    sent_ns       INTEGER NOT NULL CHECK (sent_ns >= 0),
    CHECK (bytes = length(packet))
  ) STRICT;
  CREATE INDEX downlink_sent_generated ON downlink_sent (generated_ns, id);
  CREATE INDEX downlink_sent_age ON downlink_sent (sent_ns);

  CREATE TRIGGER downlink_sent_in AFTER INSERT ON downlink_sent BEGIN
    UPDATE downlink_state SET archive_packets = archive_packets + 1, archive_bytes = archive_bytes + NEW.bytes WHERE id = 1;
  END;
  CREATE TRIGGER downlink_sent_out AFTER DELETE ON downlink_sent BEGIN
    UPDATE downlink_state SET archive_packets = archive_packets - 1, archive_bytes = archive_bytes - OLD.bytes WHERE id = 1;
  END;

  CREATE TABLE contact_window (
    seq               INTEGER PRIMARY KEY CHECK (seq >= 0),
    start_ns          INTEGER NOT NULL CHECK (start_ns >= 0),
    end_ns            INTEGER NOT NULL,
    bytes_per_second  INTEGER NOT NULL CHECK (bytes_per_second > 0),
    station           TEXT    NOT NULL CHECK (length(station) BETWEEN 1 AND 64),
    CHECK (end_ns > start_ns)
  ) STRICT;
  `,
  // ---- version 2: data products (ST[13] downlink), idempotent by (source, product id) ----
  // number is the product number the TM segments carry: AUTOINCREMENT, so it is
  // never reused (a refused product rolls back and takes none). packets and
  // packet_bytes are what the first request was answered; a repeat gets them again.
  `
  CREATE TABLE downlink_product (
    number        INTEGER PRIMARY KEY AUTOINCREMENT CHECK (number BETWEEN 1 AND 4294967295),
    source        TEXT    NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
    product_id    TEXT    NOT NULL CHECK (length(product_id) BETWEEN 1 AND 64),
    kind          TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 128),
    data_bytes    INTEGER NOT NULL CHECK (data_bytes BETWEEN 1 AND 1048576),
    crc32         INTEGER NOT NULL CHECK (crc32 BETWEEN 0 AND 4294967295),
    packets       INTEGER NOT NULL CHECK (packets BETWEEN 0 AND 65535),
    packet_bytes  INTEGER NOT NULL CHECK (packet_bytes >= 0),
    queued_ns     INTEGER NOT NULL CHECK (queued_ns >= 0),
    UNIQUE (source, product_id)
  ) STRICT;
  `,
];

export const DOWNLINK_SCHEMA_VERSION = DOWNLINK_MIGRATIONS.length;

/**
 * Brings the downlink tables in `db` up to {@link DOWNLINK_SCHEMA_VERSION}
 * (creating them on first use). Each migration runs in one IMMEDIATE
 * transaction that re-reads the version, so two connections racing here
 * migrate once. Throws TtcDatabaseError naming the file when the tables were
 * written by newer software; nothing is changed then.
 */
export function ensureDownlinkSchema(db: Database.Database): void {
  const readVersion = (): number => {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'downlink_schema'`).get();
    if (exists === undefined) return 0;
    const v = db.prepare(`SELECT version FROM downlink_schema WHERE id = 1`).pluck().get();
    return typeof v === "number" ? v : 0;
  };
  const tooNew = (version: number): TtcDatabaseError =>
    new TtcDatabaseError(
      db.name,
      `database ${db.name} has downlink schema version ${version}, newer than this software knows ` +
        `(${DOWNLINK_SCHEMA_VERSION}); refusing to use it (was it written by a newer build?)`,
    );
  const initial = readVersion();
  if (initial > DOWNLINK_SCHEMA_VERSION) throw tooNew(initial);
  if (initial === DOWNLINK_SCHEMA_VERSION) return;
  for (;;) {
    const done = db
      .transaction((): boolean => {
        const version = readVersion();
        if (version > DOWNLINK_SCHEMA_VERSION) throw tooNew(version);
        if (version === DOWNLINK_SCHEMA_VERSION) return true;
        const sql = DOWNLINK_MIGRATIONS[version];
        if (sql === undefined) throw new Error(`missing downlink migration ${version} -> ${version + 1}`);
        if (version === 0) {
          db.exec(`CREATE TABLE downlink_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT`);
        }
        db.exec(sql);
        db.prepare(
          `INSERT INTO downlink_schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
        ).run(version + 1);
        return false;
      })
      .immediate();
    if (done) return;
  }
}
