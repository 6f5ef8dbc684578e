// The tile archive: PNG tiles copied on board under a tag (ImportTiles), so a
// job can run over them after the folder they came from is gone. Lives in a
// database the caller opens (WAL, synchronous FULL); its tables are prefixed
// `tile_` so they cannot clash with the job store's.
import type Database from "better-sqlite3";
import {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_PIXELS,
  DEFAULT_MAX_TILES,
  listTileFolder,
  readPngHeader,
  readTileFile,
  TileError,
  type TileEntry,
} from "./tiles.js";

export interface TileArchiveOptions {
  /** Total PNG bytes the archive may hold (default 1 GiB). */
  readonly maxBytes?: number;
  /** Most tiles one import may bring (default 10 000). */
  readonly maxTilesPerImport?: number;
  /** Largest tile file accepted (default 16 MiB). */
  readonly maxFileBytes?: number;
  /** Largest tile accepted, in pixels, by its PNG header (default 4096²). */
  readonly maxPixels?: number;
}

export const DEFAULT_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export interface ArchivedTile extends TileEntry {
  readonly id: number;
}

export interface TagSummary {
  readonly tag: string;
  readonly count: number;
  readonly bytes: number;
}

export interface ImportResult {
  /** Tiles added (names already under the tag are skipped). */
  readonly imported: number;
  /** Their PNG bytes. */
  readonly bytes: number;
}

const TAG = /^[A-Za-z0-9_.-]{1,32}$/;
const INT64_MAX = 2n ** 63n - 1n;

/** Throws TileError unless tag is 1..32 of [A-Za-z0-9_.-]. */
export function validateTileTag(tag: string): void {
  if (typeof tag !== "string" || !TAG.test(tag)) {
    throw new TileError("tag", "must be 1..32 characters of [A-Za-z0-9_.-]", typeof tag === "string" ? tag : String(tag));
  }
}

// AUTOINCREMENT: an id is never reused after a remove, so a stale reference
// to a removed tile fails instead of reading a different one.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS tile_archive (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  tag          TEXT    NOT NULL CHECK (length(tag) BETWEEN 1 AND 32),
  name         TEXT    NOT NULL CHECK (length(name) >= 1),
  bytes        INTEGER NOT NULL CHECK (bytes >= 0),
  width        INTEGER NOT NULL CHECK (width >= 1),
  height       INTEGER NOT NULL CHECK (height >= 1),
  png          BLOB    NOT NULL,
  imported_ns  INTEGER NOT NULL CHECK (imported_ns >= 0),
  CHECK (bytes = length(png)),
  UNIQUE (tag, name)
) STRICT;
`;

function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TileError("limits", `${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export class TileArchive {
  readonly maxBytes: number;
  private readonly maxTilesPerImport: number;
  private readonly maxFileBytes: number;
  private readonly maxPixels: number;
  private readonly stmt: {
    total: Database.Statement<[], { total: number }>;
    namesOf: Database.Statement<[string], { name: string }>;
    insert: Database.Statement<[string, string, number, number, number, Buffer, bigint]>;
    list: Database.Statement<[string], ArchivedTile>;
    read: Database.Statement<[number], { name: string; png: Buffer }>;
    tags: Database.Statement<[], TagSummary>;
    remove: Database.Statement<[string]>;
  };

  constructor(
    private readonly db: Database.Database,
    options: TileArchiveOptions = {},
  ) {
    this.maxBytes = limit(options.maxBytes, DEFAULT_ARCHIVE_BYTES, "maxBytes");
    this.maxTilesPerImport = limit(options.maxTilesPerImport, DEFAULT_MAX_TILES, "maxTilesPerImport");
    this.maxFileBytes = limit(options.maxFileBytes, DEFAULT_MAX_FILE_BYTES, "maxFileBytes");
    this.maxPixels = limit(options.maxPixels, DEFAULT_MAX_PIXELS, "maxPixels");
    db.exec(SCHEMA);
    // Numbers, not bigints, whatever the handle's default: every value here is far below 2^53.
    this.stmt = {
      total: db.prepare<[], { total: number }>("SELECT coalesce(sum(bytes), 0) AS total FROM tile_archive").safeIntegers(false),
      namesOf: db.prepare<[string], { name: string }>("SELECT name FROM tile_archive WHERE tag = ?").safeIntegers(false),
      insert: db.prepare<[string, string, number, number, number, Buffer, bigint]>(
        "INSERT INTO tile_archive (tag, name, bytes, width, height, png, imported_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      list: db.prepare<[string], ArchivedTile>("SELECT id, name, bytes FROM tile_archive WHERE tag = ? ORDER BY name").safeIntegers(false),
      read: db.prepare<[number], { name: string; png: Buffer }>("SELECT name, png FROM tile_archive WHERE id = ?").safeIntegers(false),
      tags: db
        .prepare<[], TagSummary>("SELECT tag, count(*) AS count, sum(bytes) AS bytes FROM tile_archive GROUP BY tag ORDER BY tag")
        .safeIntegers(false),
      remove: db.prepare<[string]>("DELETE FROM tile_archive WHERE tag = ?"),
    };
  }

  /** PNG bytes held, all tags together. */
  totalBytes(): number {
    return this.stmt.total.get()!.total;
  }

  /**
   * Copies the PNG tiles of `folder` into the archive under `tag`, in one
   * transaction: every new tile or none. Names already under the tag are
   * skipped (re-importing a folder adds what is new). Each file must be a
   * plain file with a valid PNG header within the pixel limit; the import is
   * refused whole if it would take the archive past maxBytes.
   */
  importFolder(folder: string, tag: string, nowNs: bigint): ImportResult {
    validateTileTag(tag);
    if (typeof nowNs !== "bigint" || nowNs < 0n || nowNs > INT64_MAX) throw new TileError("time", `nowNs must be a bigint in 0..2^63-1, got ${String(nowNs)}`);
    const entries = listTileFolder(folder, { maxTiles: this.maxTilesPerImport, maxFileBytes: this.maxFileBytes });
    const present = new Set(this.stmt.namesOf.all(tag).map((r) => r.name));
    const fresh = entries.filter((e) => !present.has(e.name));
    if (fresh.length === 0) return { imported: 0, bytes: 0 };
    const listed = fresh.reduce((s, e) => s + e.bytes, 0);
    const room = () => this.maxBytes - this.totalBytes();
    if (listed > room()) {
      throw new TileError("archive", `importing ${fresh.length} tiles (${listed} bytes) would take the archive past its limit of ${this.maxBytes} bytes (${room()} free)`, tag);
    }
    // Files are read one at a time inside the transaction, so memory holds
    // one tile, not the folder; any throw rolls the whole import back.
    const run = this.db.transaction((): ImportResult => {
      const free = room();
      let bytes = 0;
      for (const entry of fresh) {
        const png = readTileFile(folder, entry.name, this.maxFileBytes);
        const header = readPngHeader(png, entry.name, this.maxPixels);
        bytes += png.length;
        if (bytes > free) {
          throw new TileError("archive", `tiles grew while importing: past the archive's limit of ${this.maxBytes} bytes`, tag);
        }
        this.stmt.insert.run(tag, entry.name, png.length, header.width, header.height, png, nowNs);
      }
      return { imported: fresh.length, bytes };
    });
    return run.immediate();
  }

  /** The tiles under a tag, by name (byte order); empty for an unknown tag. */
  list(tag: string): ArchivedTile[] {
    validateTileTag(tag);
    return this.stmt.list.all(tag).map((r) => ({ id: r.id, name: r.name, bytes: r.bytes }));
  }

  /** One tile's name and PNG bytes. */
  read(id: number): { name: string; png: Buffer } {
    if (!Number.isSafeInteger(id) || id < 1) throw new TileError("id", `tile id must be a positive integer, got ${String(id)}`);
    const row = this.stmt.read.get(id);
    if (!row) throw new TileError("id", `no tile with id ${id} in the archive`);
    return { name: row.name, png: row.png };
  }

  /** Every tag with its tile count and bytes, by tag. */
  tags(): TagSummary[] {
    return this.stmt.tags.all().map((r) => ({ tag: r.tag, count: r.count, bytes: r.bytes }));
  }

  /** Removes every tile under a tag; returns how many were removed. */
  remove(tag: string): number {
    validateTileTag(tag);
    return this.stmt.remove.run(tag).changes;
  }
}
