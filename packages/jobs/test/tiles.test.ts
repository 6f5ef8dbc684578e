import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  decodePng,
  encodePng,
  listTileFolder,
  readPngHeader,
  readTileFile,
  seededRandom,
  syntheticTiles,
  TileError,
  tileTensor,
  type DecodedTile,
} from "../src/tiles.js";

// ---- a minimal PNG writer for the kinds encodePng does not make

function chunk(type: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const body = Buffer.concat([head.subarray(4), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([head.subarray(0, 4), body, crc]);
}

function ihdr(width: number, height: number, depth: number, colorType: number, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = depth;
  d[9] = colorType;
  d[12] = interlace;
  return chunk("IHDR", d);
}

const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** rows: each scanline's packed samples, without the filter byte. */
function rawPng(o: { width: number; height: number; depth: number; colorType: number; rows: Buffer[]; plte?: number[]; trns?: Buffer; interlace?: number }): Buffer {
  const filtered = Buffer.concat(o.rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return Buffer.concat([
    SIG,
    ihdr(o.width, o.height, o.depth, o.colorType, o.interlace ?? 0),
    ...(o.plte ? [chunk("PLTE", Buffer.from(o.plte))] : []),
    ...(o.trns ? [chunk("tRNS", o.trns)] : []),
    chunk("IDAT", deflateSync(filtered)),
    chunk("IEND"),
  ]);
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

function pixel(t: DecodedTile, x: number, y: number): number[] {
  const i = (y * t.width + x) * 3;
  return [t.rgb[i]!, t.rgb[i + 1]!, t.rgb[i + 2]!];
}

function expectTileError(fn: () => unknown, field: string, message: RegExp): TileError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TileError);
  const e = caught as TileError;
  expect(e.field).toBe(field);
  expect(e.message).toMatch(message);
  return e;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "umbra-tiles-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const tiny = () => encodePng(2, 2, new Uint8Array(12).fill(128));

describe("listTileFolder", () => {
  it("lists the PNG regular files directly in the folder, by name in byte order, with sizes", () => {
    for (const name of ["b.png", "A.PNG", "a.png", "é.png", "z.Png", "B.png"]) writeFileSync(join(dir, name), tiny());
    writeFileSync(join(dir, "notes.txt"), "x");
    writeFileSync(join(dir, "png"), "x");
    writeFileSync(join(dir, "x.png.bak"), tiny());
    mkdirSync(join(dir, "sub.png"));
    writeFileSync(join(dir, "sub.png", "inner.png"), tiny());
    writeFileSync(join(dir, "..", `outside-${process.pid}.png`), tiny());
    symlinkSync(join(dir, "..", `outside-${process.pid}.png`), join(dir, "link.png"));
    symlinkSync(join(dir, "a.png"), join(dir, "alias.png"));
    try {
      const entries = listTileFolder(dir);
      expect(entries.map((e) => e.name)).toEqual(["A.PNG", "B.png", "a.png", "b.png", "z.Png", "é.png"]);
      expect(entries.every((e) => e.bytes === tiny().length)).toBe(true);
    } finally {
      rmSync(join(dir, "..", `outside-${process.pid}.png`));
    }
  });

  it("refuses a missing folder, a file, a folder with no PNG files and a path with a NUL", () => {
    expectTileError(() => listTileFolder(join(dir, "nope")), "folder", /nope.*does not exist/);
    writeFileSync(join(dir, "f.png"), tiny());
    expectTileError(() => listTileFolder(join(dir, "f.png")), "folder", /f\.png.*is not a directory/);
    expectTileError(() => listTileFolder(join(dir, "f.png", "x")), "folder", /is not a directory/);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expectTileError(() => listTileFolder(empty), "folder", /empty.*contains no PNG files/);
    writeFileSync(join(empty, "readme.txt"), "no tiles");
    symlinkSync(join(dir, "f.png"), join(empty, "only-a-link.png"));
    expectTileError(() => listTileFolder(empty), "folder", /contains no PNG files/);
    expectTileError(() => listTileFolder(`${dir}\0/etc`), "folder", /NUL/);
    expectTileError(() => listTileFolder(""), "folder", /empty/);
  });

  it("refuses too many tiles and a tile too big, naming it", () => {
    for (const name of ["a.png", "b.png", "c.png"]) writeFileSync(join(dir, name), tiny());
    expectTileError(() => listTileFolder(dir, { maxTiles: 2 }), "folder", /holds 3 PNG files, more than the limit of 2/);
    expect(listTileFolder(dir, { maxTiles: 3 })).toHaveLength(3);
    writeFileSync(join(dir, "big.png"), Buffer.alloc(1001));
    expectTileError(() => listTileFolder(dir, { maxFileBytes: 1000 }), "tile", /big\.png.*1001 bytes, more than the limit of 1000/);
    expectTileError(() => listTileFolder(dir, { maxTiles: 0 }), "limits", /maxTiles/);
    expectTileError(() => listTileFolder(dir, { maxFileBytes: 1.5 }), "limits", /maxFileBytes/);
  });
});

describe("readTileFile", () => {
  it("reads a plain file and refuses links, paths and oversized files", () => {
    const png = tiny();
    writeFileSync(join(dir, "a.png"), png);
    expect(readTileFile(dir, "a.png").equals(png)).toBe(true);
    symlinkSync(join(dir, "a.png"), join(dir, "l.png"));
    expectTileError(() => readTileFile(dir, "l.png"), "tile", /symbolic link/);
    expectTileError(() => readTileFile(dir, "../a.png"), "tile", /bare file name/);
    expectTileError(() => readTileFile(dir, "a\0.png"), "tile", /NUL/);
    expectTileError(() => readTileFile(dir, "missing.png"), "tile", /does not exist/);
    expectTileError(() => readTileFile(dir, "a.png", png.length - 1), "tile", /more than the limit/);
    mkdirSync(join(dir, "d.png"));
    expectTileError(() => readTileFile(dir, "d.png"), "tile", /not a regular file|cannot be read/);
  });
});

describe("decodePng", () => {
  it("decodes 8-bit RGB exactly (encodePng round trip)", () => {
    const rgb8 = Uint8Array.from({ length: 3 * 4 * 3 }, (_, i) => (i * 37) % 256);
    const t = decodePng(encodePng(4, 3, rgb8), "rgb.png");
    expect([t.width, t.height]).toEqual([4, 3]);
    expect(Array.from(t.rgb, (v) => Math.round(v * 255))).toEqual(Array.from(rgb8));
  });

  it("decodes grey at 1, 2, 4, 8 and 16 bits, keeping 16-bit precision", () => {
    // 1-bit: 0 1 1 0 | 2-bit: 0 1 2 3 | 4-bit: 0 15
    expect(pixel(decodePng(rawPng({ width: 4, height: 1, depth: 1, colorType: 0, rows: [Buffer.from([0b01100000])] }), "g1"), 1, 0)).toEqual([1, 1, 1]);
    const g2 = decodePng(rawPng({ width: 4, height: 1, depth: 2, colorType: 0, rows: [Buffer.from([0b00011011])] }), "g2");
    expect([0, 1, 2, 3].map((x) => pixel(g2, x, 0)[0])).toEqual([0, 1 / 3, 2 / 3, 1].map(Math.fround));
    const g4 = decodePng(rawPng({ width: 2, height: 1, depth: 4, colorType: 0, rows: [Buffer.from([0x0f])] }), "g4");
    expect([pixel(g4, 0, 0)[0], pixel(g4, 1, 0)[0]]).toEqual([0, 1]);
    const g8 = decodePng(rawPng({ width: 1, height: 1, depth: 8, colorType: 0, rows: [Buffer.from([51])] }), "g8");
    expect(pixel(g8, 0, 0)).toEqual([0.2, 0.2, 0.2].map(Math.fround));
    const g16 = decodePng(rawPng({ width: 2, height: 1, depth: 16, colorType: 0, rows: [u16(1000, 65535)] }), "g16");
    expect(pixel(g16, 0, 0)[0]).toBe(Math.fround(1000 / 65535)); // not rounded to 4/255
    expect(pixel(g16, 1, 0)[0]).toBe(1);
  });

  it("decodes grey+alpha, RGBA, RGB16 and RGBA16, dropping alpha but keeping the colour under it", () => {
    const ga = decodePng(rawPng({ width: 2, height: 1, depth: 8, colorType: 4, rows: [Buffer.from([255, 0, 102, 255])] }), "ga");
    expect(pixel(ga, 0, 0)).toEqual([1, 1, 1]);
    expect(pixel(ga, 1, 0)).toEqual([0.4, 0.4, 0.4].map(Math.fround));
    const rgba = decodePng(rawPng({ width: 1, height: 1, depth: 8, colorType: 6, rows: [Buffer.from([255, 0, 51, 0])] }), "rgba");
    expect(pixel(rgba, 0, 0)).toEqual([1, 0, 0.2].map(Math.fround));
    const rgb16 = decodePng(rawPng({ width: 1, height: 1, depth: 16, colorType: 2, rows: [u16(65535, 0, 257)] }), "rgb16");
    expect(pixel(rgb16, 0, 0)).toEqual([1, 0, 257 / 65535].map(Math.fround));
    const rgba16 = decodePng(rawPng({ width: 1, height: 1, depth: 16, colorType: 6, rows: [u16(0, 32768, 65535, 0)] }), "rgba16");
    expect(pixel(rgba16, 0, 0)).toEqual([0, 32768 / 65535, 1].map(Math.fround));
  });

  it("decodes palette images at 8 and 4 bits, ignoring palette alpha", () => {
    const plte = [255, 0, 0, 0, 255, 0, 0, 0, 255];
    const p8 = decodePng(rawPng({ width: 3, height: 1, depth: 8, colorType: 3, rows: [Buffer.from([2, 1, 0])], plte, trns: Buffer.from([0, 128]) }), "p8");
    expect([pixel(p8, 0, 0), pixel(p8, 1, 0), pixel(p8, 2, 0)]).toEqual([
      [0, 0, 1],
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const p4 = decodePng(rawPng({ width: 2, height: 1, depth: 4, colorType: 3, rows: [Buffer.from([0x12])], plte }), "p4");
    expect([pixel(p4, 0, 0), pixel(p4, 1, 0)]).toEqual([
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it("keeps the colour of a tRNS colour-keyed pixel (pngjs would zero it)", () => {
    const g = decodePng(rawPng({ width: 2, height: 1, depth: 8, colorType: 0, rows: [Buffer.from([200, 51])], trns: u16(200) }), "key");
    expect(pixel(g, 0, 0)).toEqual([200 / 255, 200 / 255, 200 / 255].map(Math.fround));
    const c = decodePng(rawPng({ width: 2, height: 1, depth: 8, colorType: 2, rows: [Buffer.from([10, 20, 30, 255, 255, 255])], trns: u16(10, 20, 30) }), "key");
    expect(pixel(c, 0, 0)).toEqual([10 / 255, 20 / 255, 30 / 255].map(Math.fround));
    expect(pixel(c, 1, 0)).toEqual([1, 1, 1]);
  });

  it("decodes an interlaced image", () => {
    const t = decodePng(rawPng({ width: 1, height: 1, depth: 8, colorType: 2, rows: [Buffer.from([1, 2, 3])], interlace: 1 }), "adam7");
    expect(pixel(t, 0, 0)).toEqual([1 / 255, 2 / 255, 3 / 255].map(Math.fround));
  });

  it("refuses bytes that are not a PNG, truncated or corrupt, naming the tile", () => {
    const good = encodePng(8, 8, new Uint8Array(8 * 8 * 3).fill(77));
    expectTileError(() => decodePng(new Uint8Array(0), "empty.png"), "tile", /"empty\.png".*not a PNG/);
    expectTileError(() => decodePng(Buffer.from("GIF89a..........................."), "cat.gif"), "tile", /"cat\.gif".*not a PNG/);
    expectTileError(() => decodePng(good.subarray(0, 20), "short.png"), "tile", /"short\.png".*truncated/);
    expectTileError(() => decodePng(good.subarray(0, good.length - 20), "cut.png"), "tile", /"cut\.png".*truncated/);
    const flipped = Buffer.from(good);
    flipped[45] = flipped[45]! ^ 0xff; // inside IDAT: CRC mismatch
    expectTileError(() => decodePng(flipped, "flip.png"), "tile", /"flip\.png".*corrupt/);
    const badIhdrCrc = Buffer.from(good);
    badIhdrCrc[30] = badIhdrCrc[30]! ^ 0xff;
    expectTileError(() => decodePng(badIhdrCrc, "crc.png"), "tile", /IHDR CRC/);
    expectTileError(() => decodePng(Buffer.concat([good, Buffer.from("trailing")]), "tail.png"), "tile", /corrupt/);
    const noIdat = Buffer.concat([SIG, ihdr(2, 2, 8, 2), chunk("IEND")]);
    expectTileError(() => decodePng(noIdat, "noidat.png"), "tile", /corrupt/);
    // Image data that ends early: pngjs alone pads it with uninitialised memory and may "decode" it.
    const short = rawPng({ width: 4, height: 4, depth: 8, colorType: 2, rows: [Buffer.alloc(12)] }); // 1 row of 4
    expectTileError(() => decodePng(short, "rows.png"), "tile", /"rows\.png".*image data is 13 of the 52 bytes/);
    const long = rawPng({ width: 4, height: 1, depth: 8, colorType: 2, rows: [Buffer.alloc(12), Buffer.alloc(12)] });
    expectTileError(() => decodePng(long, "long.png"), "tile", /inflates past the 13 bytes/);
    const missingPalette = rawPng({ width: 1, height: 1, depth: 8, colorType: 3, rows: [Buffer.from([0])] });
    expectTileError(() => decodePng(missingPalette, "nopal.png"), "tile", /corrupt/);
    const outOfPalette = rawPng({ width: 1, height: 1, depth: 8, colorType: 3, rows: [Buffer.from([9])], plte: [1, 2, 3] });
    expectTileError(() => decodePng(outOfPalette, "pal.png"), "tile", /corrupt/);
  });

  it("refuses a hostile IHDR before decoding: huge, zero, bad depth or colour type", () => {
    const huge = Buffer.concat([SIG, ihdr(100_000, 100_000, 8, 6), chunk("IDAT", deflateSync(Buffer.alloc(10))), chunk("IEND")]);
    const t0 = performance.now();
    expectTileError(() => decodePng(huge, "huge.png"), "tile", /"huge\.png".*100000×100000 pixels, more than the limit of 16777216/);
    expect(performance.now() - t0).toBeLessThan(100);
    expectTileError(() => decodePng(Buffer.concat([SIG, ihdr(0xffffffff, 1, 8, 2), chunk("IEND")]), "wide.png"), "tile", /more than the limit/);
    expectTileError(() => decodePng(Buffer.concat([SIG, ihdr(0, 5, 8, 2), chunk("IEND")]), "zero.png"), "tile", /zero pixels/);
    expectTileError(() => decodePng(Buffer.concat([SIG, ihdr(2, 2, 4, 2), chunk("IEND")]), "d.png"), "tile", /bit depth 4 for colour type 2/);
    expectTileError(() => decodePng(Buffer.concat([SIG, ihdr(2, 2, 8, 5), chunk("IEND")]), "c.png"), "tile", /colour type 5/);
    expectTileError(() => decodePng(Buffer.concat([SIG, ihdr(2, 2, 8, 2, 2), chunk("IEND")]), "i.png"), "tile", /interlace method 2/);
    expectTileError(() => decodePng(Buffer.concat([SIG, chunk("IDAT", Buffer.alloc(13)), chunk("IEND")]), "order.png"), "tile", /not a 13-byte IHDR/);
    // The pixel limit is the caller's.
    const p = encodePng(10, 10, new Uint8Array(300));
    expectTileError(() => decodePng(p, "p.png", 99), "tile", /10×10 pixels, more than the limit of 99/);
    expect(decodePng(p, "p.png", 100).width).toBe(10);
    expectTileError(() => decodePng(p, "p.png", 0), "limits", /maxPixels/);
    expect(readPngHeader(p, "p.png")).toEqual({ width: 10, height: 10, depth: 8, colorType: 2, interlaced: false });
  });

  it("refuses a deflate bomb, interlaced or not, without inflating it whole", () => {
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }); // ~64 KiB that inflates to 64 MiB
    for (const interlace of [0, 1]) {
      const png = Buffer.concat([SIG, ihdr(16, 16, 8, 2, interlace), chunk("IDAT", bomb), chunk("IEND")]);
      expectTileError(() => decodePng(png, `bomb${interlace}.png`), "tile", new RegExp(`bomb${interlace}\\.png.*corrupt`));
    }
  });
});

describe("tileTensor", () => {
  const tileOf = (width: number, height: number, f: (x: number, y: number, c: number) => number): DecodedTile => {
    const rgb = new Float32Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = f(x, y, c);
    return { width, height, rgb };
  };

  it("at the same size is a transpose from HWC to CHW", () => {
    const t = tileOf(3, 2, (x, y, c) => (x + 3 * y + 6 * c) / 17);
    const out = tileTensor(t, 2, 3);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expect(out[c * 6 + y * 3 + x]).toBeCloseTo((x + 3 * y + 6 * c) / 17, 6);
  });

  it("halving averages 2×2 blocks (align-corners=false)", () => {
    const t = tileOf(4, 4, (x, y, c) => ((x * 4 + y) % 7) / 7 + c * 0.01);
    const out = tileTensor(t, 2, 2);
    const src = (x: number, y: number, c: number) => ((x * 4 + y) % 7) / 7 + c * 0.01;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 2; x++) {
          const mean = (src(2 * x, 2 * y, c) + src(2 * x + 1, 2 * y, c) + src(2 * x, 2 * y + 1, c) + src(2 * x + 1, 2 * y + 1, c)) / 4;
          expect(out[c * 4 + y * 2 + x]).toBeCloseTo(mean, 6);
        }
  });

  it("doubling interpolates between pixel centres and clamps at the edges", () => {
    const t = tileOf(2, 1, (x) => (x === 0 ? 0.2 : 0.6));
    const out = tileTensor(t, 1, 4);
    expect(Array.from(out.subarray(0, 4))).toEqual([0.2, 0.75 * 0.2 + 0.25 * 0.6, 0.25 * 0.2 + 0.75 * 0.6, 0.6].map(Math.fround));
    const one = tileTensor(tileOf(1, 1, (_x, _y, c) => [0.1, 0.5, 0.9][c]!), 3, 5);
    expect(Array.from(one)).toEqual([...Array(15).fill(Math.fround(0.1)), ...Array(15).fill(Math.fround(0.5)), ...Array(15).fill(Math.fround(0.9))]);
  });

  it("stays within the source's range for any sizes (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer(), (w, h, ow, oh, seed) => {
        const r = seededRandom(seed);
        const t = tileOf(w, h, () => r());
        const out = tileTensor(t, oh, ow);
        expect(out.length).toBe(3 * ow * oh);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of t.rgb) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        for (const v of out) {
          expect(v).toBeGreaterThanOrEqual(lo - 1e-6);
          expect(v).toBeLessThanOrEqual(hi + 1e-6);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("refuses bad sizes and an inconsistent tile", () => {
    const t = tileOf(2, 2, () => 0.5);
    expectTileError(() => tileTensor(t, 0, 2), "size", /height/);
    expectTileError(() => tileTensor(t, 2, 4097), "size", /width/);
    expectTileError(() => tileTensor(t, 2.5, 2), "size", /height/);
    expectTileError(() => tileTensor({ width: 2, height: 2, rgb: new Float32Array(11) }, 2, 2), "tile", /inconsistent/);
  });
});

describe("encodePng", () => {
  it("refuses a sample count that does not match the size", () => {
    expectTileError(() => encodePng(2, 2, new Uint8Array(11)), "size", /expected 2×2×3 = 12 samples, got 11/);
    expectTileError(() => encodePng(0, 2, new Uint8Array(0)), "size", /width/);
  });
});

describe("syntheticTiles", () => {
  it("is deterministic per seed, named in index order, and decodes to the size asked", () => {
    const a = syntheticTiles(12, 32, 7);
    const b = syntheticTiles(12, 32, 7);
    const c = syntheticTiles(12, 32, 8);
    expect(a.map((t) => t.name)).toEqual(Array.from({ length: 12 }, (_, i) => `tile-${String(i).padStart(5, "0")}.png`));
    expect(a.every((t, i) => t.png.equals(b[i]!.png) && t.cloudy === b[i]!.cloudy)).toBe(true);
    expect(a.some((t, i) => !t.png.equals(c[i]!.png))).toBe(true);
    for (const t of a) {
      const d = decodePng(t.png, t.name);
      expect([d.width, d.height]).toEqual([32, 32]);
    }
    expect(syntheticTiles(0, 16, 1)).toEqual([]);
  });

  it("makes bright low-texture clouds, textured ground and dark features", () => {
    const tiles = syntheticTiles(60, 32, 42);
    const stats = (png: Buffer) => {
      const d = decodePng(png, "s");
      let sum = 0;
      let sq = 0;
      const n = d.width * d.height;
      for (let i = 0; i < n; i++) {
        const v = (d.rgb[i * 3]! + d.rgb[i * 3 + 1]! + d.rgb[i * 3 + 2]!) / 3;
        sum += v;
        sq += v * v;
      }
      return { mean: sum / n, sd: Math.sqrt(sq / n - (sum / n) ** 2), d };
    };
    const clouds = tiles.filter((t) => t.cloudy);
    const ground = tiles.filter((t) => !t.cloudy);
    expect(clouds.length).toBeGreaterThan(5);
    expect(ground.length).toBeGreaterThan(5);
    for (const t of clouds) {
      const s = stats(t.png);
      expect(s.mean).toBeGreaterThan(0.75);
      expect(s.sd).toBeLessThan(0.05);
      expect(t.features).toEqual([]);
    }
    for (const t of ground.filter((g) => g.features.length === 0)) {
      const s = stats(t.png);
      expect(s.mean).toBeLessThan(0.75);
      expect(s.sd).toBeGreaterThan(0.02);
    }
    const featured = ground.filter((g) => g.features.length > 0);
    expect(featured.length).toBeGreaterThan(0);
    for (const t of featured) {
      const { d } = stats(t.png);
      for (const f of t.features) {
        expect(f.x + f.width).toBeLessThanOrEqual(32);
        expect(f.y + f.height).toBeLessThanOrEqual(32);
        const [r, g, b] = pixel(d, f.x, f.y);
        expect((r! + g! + b!) / 3).toBeLessThan(0.13);
      }
    }
  });

  it("refuses out-of-range arguments", () => {
    expectTileError(() => syntheticTiles(-1, 16, 1), "size", /count/);
    expectTileError(() => syntheticTiles(1, 3, 1), "size", /size/);
    expectTileError(() => syntheticTiles(1, 16, 0.5), "size", /seed/);
  });
});
