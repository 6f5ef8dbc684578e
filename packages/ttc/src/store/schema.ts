/**
 * The TTC database schema, as a list of migrations. Migration i (0-based)
 * takes the database from `user_version` i to i + 1; it runs in one
 * transaction together with the `user_version` bump, so a power cut leaves
 * the database at one version or the next, never in between.
 *
 * Never edit a migration that has flown: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // ---- version 1: command history, duplicate window, time-based schedule ----
  `
  CREATE TABLE command (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ns     INTEGER NOT NULL CHECK (received_ns >= 0),
    link            TEXT    NOT NULL CHECK (length(link) > 0),
    apid            INTEGER NOT NULL CHECK (apid BETWEEN 0 AND 2047),
    sequence_count  INTEGER NOT NULL CHECK (sequence_count BETWEEN 0 AND 16383),
    source_id       INTEGER NOT NULL CHECK (source_id BETWEEN 0 AND 65535),
    service         INTEGER NOT NULL CHECK (service BETWEEN 0 AND 255),
    subtype         INTEGER NOT NULL CHECK (subtype BETWEEN 0 AND 255),
    spi             INTEGER CHECK (spi BETWEEN 0 AND 65535),
    packet          BLOB    NOT NULL CHECK (length(packet) BETWEEN 1 AND 65542),
    target_service  TEXT,
    command_name    TEXT,
    arguments_json  TEXT,
    outcome         TEXT CHECK (outcome IN ('success', 'failure')),
    closed_ns       INTEGER,
    CHECK ((outcome IS NULL) = (closed_ns IS NULL)),
    CHECK ((target_service IS NULL) = (command_name IS NULL) AND (command_name IS NULL) = (arguments_json IS NULL))
  ) STRICT;
  CREATE INDEX command_received ON command (received_ns);
  CREATE INDEX command_open ON command (id) WHERE outcome IS NULL;

  CREATE TABLE command_stage (
    id          INTEGER PRIMARY KEY,
    command_id  INTEGER NOT NULL REFERENCES command (id) ON DELETE CASCADE,
    stage       TEXT    NOT NULL CHECK (stage IN ('acceptance', 'start', 'progress', 'completion')),
    step        INTEGER CHECK (step >= 0),
    success     INTEGER NOT NULL CHECK (success IN (0, 1)),
    code        INTEGER CHECK (code >= 0),
    detail      TEXT    NOT NULL,
    at_ns       INTEGER NOT NULL CHECK (at_ns >= 0)
  ) STRICT;
  CREATE INDEX command_stage_command ON command_stage (command_id, id);

  CREATE TABLE command_stream (
    source_id       INTEGER NOT NULL,
    apid            INTEGER NOT NULL,
    received_count  INTEGER NOT NULL CHECK (received_count >= 0),
    PRIMARY KEY (source_id, apid)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE command_dedup (
    source_id       INTEGER NOT NULL,
    apid            INTEGER NOT NULL,
    sequence_count  INTEGER NOT NULL,
    command_id      INTEGER NOT NULL REFERENCES command (id) ON DELETE CASCADE,
    received_ns     INTEGER NOT NULL,
    ordinal         INTEGER NOT NULL,
    PRIMARY KEY (source_id, apid, sequence_count)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX command_dedup_command ON command_dedup (command_id);

  CREATE TABLE schedule_item (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    release_ns      INTEGER NOT NULL CHECK (release_ns >= 0),
    source_id       INTEGER NOT NULL CHECK (source_id BETWEEN 0 AND 65535),
    apid            INTEGER NOT NULL CHECK (apid BETWEEN 0 AND 2047),
    sequence_count  INTEGER NOT NULL CHECK (sequence_count BETWEEN 0 AND 16383),
    packet          BLOB    NOT NULL CHECK (length(packet) BETWEEN 1 AND 65542),
    group_name      TEXT CHECK (group_name IS NULL OR length(group_name) > 0),
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'released', 'rejected')),
    outcome_ns      INTEGER,
    reason          TEXT,
    CHECK ((state = 'pending') = (outcome_ns IS NULL))
  ) STRICT;
  CREATE UNIQUE INDEX schedule_pending_request ON schedule_item (source_id, apid, sequence_count) WHERE state = 'pending';
  CREATE INDEX schedule_pending_release ON schedule_item (release_ns, id) WHERE state = 'pending';
  CREATE INDEX schedule_done ON schedule_item (id) WHERE state <> 'pending';

  CREATE TABLE schedule_group (
    name     TEXT PRIMARY KEY CHECK (length(name) > 0),
    enabled  INTEGER NOT NULL CHECK (enabled IN (0, 1))
  ) STRICT;

  CREATE TABLE schedule_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    enabled  INTEGER NOT NULL CHECK (enabled IN (0, 1))
  ) STRICT;
  INSERT INTO schedule_state (id, enabled) VALUES (1, 0);
  `,
];

/** The schema version this code writes and understands. */
export const TTC_SCHEMA_VERSION = MIGRATIONS.length;
