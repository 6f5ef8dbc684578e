// Schema of the telemetry archive, one migration per user_version step.
// All tables are STRICT; the CHECKs repeat the ranges the code validates, so a
// row written by anything else that breaks them is refused too.

/** `PRAGMA application_id` of an archive file ("UmTA"): tells it apart from the TTC database. */
export const ARCHIVE_APPLICATION_ID = 0x556d5441;

/** Priority class numbers as stored (index into PRIORITY_CLASSES). */
export const CLASS_HOUSEKEEPING = 0;
export const CLASS_LOW = 1;
export const CLASS_HIGH = 2;

/** MIGRATIONS[n] takes the schema from version n to n + 1. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE parameters (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL CHECK (length(service) BETWEEN 1 AND 64),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    UNIQUE (service, name)
  ) STRICT;

  -- Each appendSamples call, as one columnar blob (sample-codec.ts), until compaction.
  CREATE TABLE sample_staging (
    id INTEGER PRIMARY KEY,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL CHECK (t_max >= t_min),
    count INTEGER NOT NULL CHECK (count > 0),
    data BLOB NOT NULL
  ) STRICT;

  -- One compaction's samples within one hour bucket: t_max - t_min < 1 h, always.
  CREATE TABLE sample_generations (
    id INTEGER PRIMARY KEY,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL CHECK (t_max >= t_min),
    count INTEGER NOT NULL CHECK (count >= 0)
  ) STRICT;
  CREATE INDEX sample_generations_t_min ON sample_generations (t_min);

  -- One parameter's samples of one generation, time-ordered and delta-coded.
  CREATE TABLE sample_blocks (
    id INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    parameter_id INTEGER NOT NULL,
    t_first INTEGER NOT NULL,
    t_last INTEGER NOT NULL CHECK (t_last >= t_first),
    count INTEGER NOT NULL CHECK (count > 0),
    data BLOB NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX sample_blocks_key ON sample_blocks (generation, parameter_id);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    t_ns INTEGER NOT NULL CHECK (t_ns >= 0),
    priority INTEGER NOT NULL CHECK (priority IN (1, 2)),
    service TEXT NOT NULL,
    event_id INTEGER NOT NULL CHECK (event_id BETWEEN 0 AND 4294967295),
    name TEXT NOT NULL,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    message TEXT NOT NULL,
    args TEXT NOT NULL,
    CHECK (priority = CASE WHEN severity >= 3 THEN 2 ELSE 1 END)
  ) STRICT;
  CREATE INDEX events_time ON events (t_ns);
  CREATE INDEX events_priority_time ON events (priority, t_ns);

  CREATE TABLE verification_reports (
    id INTEGER PRIMARY KEY,
    t_ns INTEGER NOT NULL CHECK (t_ns >= 0),
    command_id INTEGER NOT NULL CHECK (command_id > 0),
    apid INTEGER NOT NULL CHECK (apid BETWEEN 0 AND 2047),
    sequence_count INTEGER NOT NULL CHECK (sequence_count BETWEEN 0 AND 16383),
    stage TEXT NOT NULL CHECK (stage IN ('acceptance', 'start', 'progress', 'completion')),
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    code INTEGER CHECK (code BETWEEN 0 AND 4294967295),
    detail TEXT NOT NULL
  ) STRICT;
  CREATE INDEX verification_reports_time ON verification_reports (t_ns);
  CREATE INDEX verification_reports_command ON verification_reports (command_id, t_ns);

  -- What retention dropped since the archive was created, per class and reason.
  CREATE TABLE dropped (
    class TEXT NOT NULL CHECK (class IN ('housekeeping', 'low', 'high')),
    reason TEXT NOT NULL CHECK (reason IN ('age', 'size')),
    rows INTEGER NOT NULL CHECK (rows >= 0),
    PRIMARY KEY (class, reason)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO dropped (class, reason, rows) VALUES
    ('housekeeping', 'age', 0), ('housekeeping', 'size', 0),
    ('low', 'age', 0), ('low', 'size', 0),
    ('high', 'age', 0), ('high', 'size', 0);
  `,
];

export const ARCHIVE_SCHEMA_VERSION = MIGRATIONS.length;
