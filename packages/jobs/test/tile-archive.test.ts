import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TileArchive, validateTileTag } from "../src/tile-archive.js";
import { decodePng, encodePng, syntheticTiles, TileError } from "../src/tiles.js";

let dir: string;
let db: Database.Database;

function open(): Database.Database {
  const handle = new Database(join(dir, "jobs.db"));
  handle.pragma("journal_mode = WAL");
  handle.pragma("synchronous = FULL");
  return handle;
}

function folderOf(name: string, files: Record<string, Buffer>): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(join(folder, file), bytes);
  return folder;
}

function synthetic(count: number, seed: number): Record<string, Buffer> {
  return Object.fromEntries(syntheticTiles(count, 16, seed).map((t) => [t.name, t.png]));
}

function expectTileError(fn: () => unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TileError);
  expect((caught as TileError).field).toBe(field);
  expect((caught as TileError).message).toMatch(message);
}

/** Everything the archive holds, to compare before and after a refused call. */
function snapshot(archive: TileArchive): unknown {
  return { tags: archive.tags(), rows: db.prepare("SELECT id, tag, name, bytes, hex(png) AS png, imported_ns FROM tile_archive ORDER BY id").all() };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "umbra-archive-"));
  db = open();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("TileArchive", () => {
  it("imports a folder under a tag and lists, reads and summarises it", () => {
    const files = synthetic(5, 1);
    const folder = folderOf("pass-1", files);
    const archive = new TileArchive(db);
    const total = Object.values(files).reduce((s, b) => s + b.length, 0);
    expect(archive.importFolder(folder, "pass-1", 1_000n)).toEqual({ imported: 5, bytes: total });
    const list = archive.list("pass-1");
    expect(list.map((t) => t.name)).toEqual(Object.keys(files).sort());
    for (const t of list) {
      expect(typeof t.id).toBe("number");
      const { name, png } = archive.read(t.id);
      expect(name).toBe(t.name);
      expect(png.equals(files[t.name]!)).toBe(true);
      expect(t.bytes).toBe(png.length);
      expect(decodePng(png, name).width).toBe(16);
    }
    expect(archive.tags()).toEqual([{ tag: "pass-1", count: 5, bytes: total }]);
    expect(archive.totalBytes()).toBe(total);
    expect(archive.list("unknown")).toEqual([]);
  });

  it("re-importing a tag adds only the new names; another tag is separate", () => {
    const folder = folderOf("f", synthetic(3, 2));
    const archive = new TileArchive(db);
    expect(archive.importFolder(folder, "a", 1n).imported).toBe(3);
    expect(archive.importFolder(folder, "a", 2n)).toEqual({ imported: 0, bytes: 0 });
    const extra = encodePng(4, 4, new Uint8Array(48).fill(9));
    writeFileSync(join(folder, "zz-new.png"), extra);
    expect(archive.importFolder(folder, "a", 3n)).toEqual({ imported: 1, bytes: extra.length });
    expect(archive.list("a").map((t) => t.name)).toContain("zz-new.png");
    expect(archive.importFolder(folder, "b.2", 4n).imported).toBe(4);
    expect(archive.tags().map((t) => [t.tag, t.count])).toEqual([
      ["a", 4],
      ["b.2", 4],
    ]);
  });

  it("removes a tag and never reuses an id", () => {
    const folder = folderOf("f", synthetic(2, 3));
    const archive = new TileArchive(db);
    archive.importFolder(folder, "x", 1n);
    const ids = archive.list("x").map((t) => t.id);
    expect(archive.remove("x")).toBe(2);
    expect(archive.remove("x")).toBe(0);
    expect(archive.tags()).toEqual([]);
    expectTileError(() => archive.read(ids[0]!), "id", new RegExp(`no tile with id ${ids[0]}`));
    archive.importFolder(folder, "x", 2n);
    const again = archive.list("x").map((t) => t.id);
    expect(Math.min(...again)).toBeGreaterThan(Math.max(...ids));
  });

  it("survives a reopen of the database", () => {
    const folder = folderOf("f", synthetic(2, 4));
    new TileArchive(db).importFolder(folder, "keep", 5n);
    db.close();
    db = open();
    const archive = new TileArchive(db);
    expect(archive.tags()).toEqual([expect.objectContaining({ tag: "keep", count: 2 })]);
  });

  it("imports only the plain PNG files: links and sub-directories are skipped", () => {
    const outside = folderOf("outside", { "secret.png": encodePng(2, 2, new Uint8Array(12)) });
    const folder = folderOf("f", synthetic(2, 5));
    symlinkSync(join(outside, "secret.png"), join(folder, "secret.png"));
    mkdirSync(join(folder, "nested.png"));
    const archive = new TileArchive(db);
    expect(archive.importFolder(folder, "t", 1n).imported).toBe(2);
    expect(archive.list("t").map((t) => t.name)).not.toContain("secret.png");
  });

  it("refuses a folder with a bad tile whole, naming the file, and changes nothing", () => {
    const archive = new TileArchive(db);
    archive.importFolder(folderOf("ok", synthetic(2, 6)), "t", 1n);
    const before = snapshot(archive);
    // The bad file sorts last, so the good ones were already inserted when it is met.
    const bad = folderOf("bad", { ...synthetic(3, 7), "zzz.png": Buffer.from("not a png at all, just text") });
    expectTileError(() => archive.importFolder(bad, "t", 2n), "tile", /"zzz\.png".*not a PNG/);
    expectTileError(() => archive.importFolder(bad, "u", 2n), "tile", /"zzz\.png"/);
    const huge = Buffer.from(encodePng(4, 4, new Uint8Array(48)));
    huge.writeUInt32BE(100_000, 16); // claims 100000×4 pixels; CRC fixed below
    huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29);
    const hostile = folderOf("hostile", { ...synthetic(1, 8), "wide.png": huge });
    const small = new TileArchive(db, { maxPixels: 1000 });
    expectTileError(() => small.importFolder(hostile, "t", 3n), "tile", /"wide\.png".*100000×4 pixels, more than the limit of 1000/);
    expect(snapshot(archive)).toEqual(before);
  });

  it("refuses an import that would pass the byte limit, whole", () => {
    const files = synthetic(4, 9);
    const total = Object.values(files).reduce((s, b) => s + b.length, 0);
    const archive = new TileArchive(db, { maxBytes: total + 10 });
    archive.importFolder(folderOf("a", files), "a", 1n);
    const before = snapshot(archive);
    expectTileError(() => archive.importFolder(folderOf("b", synthetic(1, 10)), "b", 2n), "archive", /past its limit of \d+ bytes \(10 free\)/);
    expect(snapshot(archive)).toEqual(before);
    archive.remove("a");
    expect(archive.importFolder(folderOf("b", synthetic(1, 10)), "b", 3n).imported).toBe(1);
  });

  it("refuses too many tiles and a too-big file, changing nothing", () => {
    const archive = new TileArchive(db, { maxTilesPerImport: 2, maxFileBytes: 2000 });
    const before = snapshot(archive);
    expectTileError(() => archive.importFolder(folderOf("many", synthetic(3, 11)), "t", 1n), "folder", /holds 3 PNG files, more than the limit of 2/);
    expectTileError(() => archive.importFolder(folderOf("big", { "big.png": Buffer.alloc(2001) }), "t", 1n), "tile", /big\.png.*2001 bytes/);
    expect(snapshot(archive)).toEqual(before);
  });

  it("refuses bad tags, folders, times and ids with a TileError", () => {
    const archive = new TileArchive(db);
    const folder = folderOf("f", synthetic(1, 12));
    const before = snapshot(archive);
    for (const tag of ["", "a".repeat(33), "has space", "slash/", "nul\0", "ünï"]) {
      expectTileError(() => archive.importFolder(folder, tag, 1n), "tag", /1\.\.32 characters/);
      expectTileError(() => archive.list(tag), "tag", /1\.\.32/);
      expectTileError(() => archive.remove(tag), "tag", /1\.\.32/);
    }
    expect(() => validateTileTag("A-z_0.9")).not.toThrow();
    expect(() => validateTileTag("a".repeat(32))).not.toThrow();
    expectTileError(() => archive.importFolder(join(dir, "missing"), "t", 1n), "folder", /does not exist/);
    expectTileError(() => archive.importFolder(`${folder}\0x`, "t", 1n), "folder", /NUL/);
    expectTileError(() => archive.importFolder(folderOf("empty", {}), "t", 1n), "folder", /no PNG files/);
    expectTileError(() => archive.importFolder(folder, "t", -1n), "time", /nowNs/);
    expectTileError(() => archive.importFolder(folder, "t", 2n ** 63n), "time", /nowNs/);
    expectTileError(() => archive.importFolder(folder, "t", 5 as unknown as bigint), "time", /nowNs/);
    for (const id of [0, -1, 1.5, Number.NaN]) expectTileError(() => archive.read(id), "id", /positive integer/);
    expectTileError(() => archive.read(999), "id", /no tile with id 999/);
    expect(snapshot(archive)).toEqual(before);
    expectTileError(() => new TileArchive(db, { maxBytes: 0 }), "limits", /maxBytes/);
  });

  it("works on a handle that returns bigints by default", () => {
    db.defaultSafeIntegers(true);
    const archive = new TileArchive(db);
    archive.importFolder(folderOf("f", synthetic(2, 13)), "t", 1n);
    const [first] = archive.list("t");
    expect(typeof first!.id).toBe("number");
    expect(typeof archive.tags()[0]!.bytes).toBe("number");
    expect(archive.read(first!.id).name).toBe(first!.name);
  });
});
