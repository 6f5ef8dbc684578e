// Input tiles: the PNG files a job infers over, from a folder or the tile
// archive. Everything here treats the bytes as hostile (an uplinked folder, a
// file swapped under us): sizes and pixel counts are bounded before anything
// is allocated for them, and every failure is a TileError that names the
// folder or the tile.
import { closeSync, constants as fsConstants, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { crc32, inflateSync } from "node:zlib";
import { PNG } from "pngjs";

/** Raised for a bad tile folder, tile file, PNG, tag or archive request. */
export class TileError extends Error {
  constructor(
    /** What was wrong: "folder", "tile", "limits", "tag", "archive", "id", "size", ... */
    readonly field: string,
    /** Why, without the subject. */
    readonly reason: string,
    /** The folder, file or value concerned (quoted in the message). */
    readonly subject?: string,
  ) {
    super(subject === undefined ? `${field}: ${reason}` : `${field} ${JSON.stringify(subject)}: ${reason}`);
    this.name = "TileError";
  }
}

export interface TileEntry {
  readonly name: string;
  readonly bytes: number;
}

export interface TileFolderLimits {
  /** Most PNG files a folder may hold (default 10 000). */
  readonly maxTiles?: number;
  /** Largest PNG file accepted, in bytes (default 16 MiB). */
  readonly maxFileBytes?: number;
}

export const DEFAULT_MAX_TILES = 10_000;
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_PIXELS = 4096 * 4096;
/** Largest side of a model input made by tileTensor. */
export const MAX_TENSOR_SIDE = 4096;

const PNG_NAME = /\.png$/i;

function errnoOf(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function positiveInteger(value: number | undefined, fallback: number, field: string, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TileError(field, `${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function checkPath(path: string, field: string): void {
  if (typeof path !== "string" || path.length === 0) throw new TileError(field, "path is empty");
  if (path.includes("\0")) throw new TileError(field, "path contains a NUL character", path);
}

/** Name order of tile files: by UTF-8 bytes, as SQLite's BINARY collation and `ls` in the C locale. */
export function compareTileNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * The `*.png` regular files directly in `folder` (extension case-insensitive),
 * sorted by name in byte order. Symlinks, sub-directories and other special
 * files are skipped, even when named `.png`: a tile is a plain file of the
 * folder, never something it points to.
 */
export function listTileFolder(folder: string, limits: TileFolderLimits = {}): TileEntry[] {
  const maxTiles = positiveInteger(limits.maxTiles, DEFAULT_MAX_TILES, "limits", "maxTiles");
  const maxFileBytes = positiveInteger(limits.maxFileBytes, DEFAULT_MAX_FILE_BYTES, "limits", "maxFileBytes");
  checkPath(folder, "folder");
  try {
    if (!statSync(folder).isDirectory()) throw new TileError("folder", "is not a directory", folder);
  } catch (err) {
    if (err instanceof TileError) throw err;
    const code = errnoOf(err);
    if (code === "ENOENT") throw new TileError("folder", "does not exist", folder);
    if (code === "ENOTDIR") throw new TileError("folder", "is not a directory", folder);
    throw new TileError("folder", `cannot be read (${messageOf(err)})`, folder);
  }
  let names: string[];
  try {
    names = readdirSync(folder, { withFileTypes: true })
      .filter((d) => PNG_NAME.test(d.name) && d.isFile())
      .map((d) => d.name);
  } catch (err) {
    throw new TileError("folder", `cannot be listed (${messageOf(err)})`, folder);
  }
  if (names.length === 0) throw new TileError("folder", "contains no PNG files", folder);
  if (names.length > maxTiles) {
    throw new TileError("folder", `holds ${names.length} PNG files, more than the limit of ${maxTiles}`, folder);
  }
  names.sort(compareTileNames);
  const entries: TileEntry[] = [];
  for (const name of names) {
    const path = join(folder, name);
    let size: number;
    try {
      size = statOfPlainFile(path);
    } catch (err) {
      if (err instanceof TileError) throw err;
      throw new TileError("tile", `cannot be read (${messageOf(err)})`, path);
    }
    if (size > maxFileBytes) throw new TileError("tile", `is ${size} bytes, more than the limit of ${maxFileBytes}`, path);
    entries.push({ name, bytes: size });
  }
  return entries;
}

function statOfPlainFile(path: string): number {
  // lstat-like: the directory listing said "regular file", but the entry may
  // have been swapped for a link since; O_NOFOLLOW makes that an error.
  const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TileError("tile", "is not a regular file", path);
    return st.size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads one tile file of a folder: a plain file (a symlink is refused, not
 * followed) of at most maxFileBytes. `name` must be a bare file name.
 */
export function readTileFile(folder: string, name: string, maxFileBytes = DEFAULT_MAX_FILE_BYTES): Buffer {
  checkPath(folder, "folder");
  checkPath(name, "tile");
  positiveInteger(maxFileBytes, DEFAULT_MAX_FILE_BYTES, "limits", "maxFileBytes");
  if (name.includes("/") || name.includes("\\") || name === "." || name === "..") {
    throw new TileError("tile", "is not a bare file name", name);
  }
  const path = join(folder, name);
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoOf(err);
    if (code === "ENOENT") throw new TileError("tile", "does not exist", path);
    if (code === "ELOOP") throw new TileError("tile", "is a symbolic link", path);
    throw new TileError("tile", `cannot be read (${messageOf(err)})`, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TileError("tile", "is not a regular file", path);
    if (st.size > maxFileBytes) throw new TileError("tile", `is ${st.size} bytes, more than the limit of ${maxFileBytes}`, path);
    // Read at most one byte past the limit so a file that grows meanwhile is caught, not slurped.
    const buf = Buffer.allocUnsafe(Math.min(st.size, maxFileBytes) + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > maxFileBytes) throw new TileError("tile", `is more than the limit of ${maxFileBytes} bytes`, path);
      if (got === buf.length) break;
    }
    return buf.subarray(0, got);
  } catch (err) {
    if (err instanceof TileError) throw err;
    throw new TileError("tile", `cannot be read (${messageOf(err)})`, path);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- PNG decoding

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly depth: 1 | 2 | 4 | 8 | 16;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  readonly colorType: 0 | 2 | 3 | 4 | 6;
  readonly interlaced: boolean;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const DEPTHS_BY_COLOR_TYPE: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const CHANNELS_BY_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Checks the PNG signature and the IHDR chunk (length, CRC, dimensions, bit
 * depth and colour type) without decoding anything: cheap, and what lets a
 * header claiming 100000×100000 pixels be refused before any allocation.
 */
export function readPngHeader(bytes: Uint8Array, name: string, maxPixels = DEFAULT_MAX_PIXELS): PngHeader {
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) throw new TileError("limits", `maxPixels must be a positive integer, got ${String(maxPixels)}`);
  if (!(bytes instanceof Uint8Array)) throw new TileError("tile", "bytes must be a Uint8Array", String(name));
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new TileError("tile", "is not a PNG file (bad signature)", name);
  if (buf.length < 8 + 8 + 13 + 4) throw new TileError("tile", `is truncated (${buf.length} bytes, no complete IHDR chunk)`, name);
  if (buf.readUInt32BE(8) !== 13 || buf.toString("latin1", 12, 16) !== "IHDR") throw new TileError("tile", "is corrupt (the first chunk is not a 13-byte IHDR)", name);
  if (crc32(buf.subarray(12, 29)) !== buf.readUInt32BE(29)) throw new TileError("tile", "is corrupt (IHDR CRC mismatch)", name);
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const depth = buf[24]!;
  const colorType = buf[25]!;
  const compression = buf[26]!;
  const filter = buf[27]!;
  const interlace = buf[28]!;
  if (width === 0 || height === 0) throw new TileError("tile", `has zero pixels (${width}×${height})`, name);
  if (width > 0x7fffffff || height > 0x7fffffff || width * height > maxPixels) {
    throw new TileError("tile", `is ${width}×${height} pixels, more than the limit of ${maxPixels}`, name);
  }
  const depths = DEPTHS_BY_COLOR_TYPE[colorType];
  if (!depths) throw new TileError("tile", `has an invalid colour type ${colorType}`, name);
  if (!depths.includes(depth)) throw new TileError("tile", `has an invalid bit depth ${depth} for colour type ${colorType}`, name);
  if (compression !== 0 || filter !== 0) throw new TileError("tile", `has an unknown compression (${compression}) or filter (${filter}) method`, name);
  if (interlace > 1) throw new TileError("tile", `has an unknown interlace method ${interlace}`, name);
  return {
    width,
    height,
    depth: depth as PngHeader["depth"],
    colorType: colorType as PngHeader["colorType"],
    interlaced: interlace === 1,
  };
}

// Adam7 passes: x start, x step, y start, y step.
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 8, 0, 8],
  [4, 8, 0, 8],
  [0, 4, 4, 8],
  [2, 4, 0, 4],
  [0, 2, 2, 4],
  [1, 2, 0, 2],
  [0, 1, 1, 2],
];

/** Bytes of filtered image data (filter byte per row included) the header implies. */
function filteredSize(h: PngHeader): number {
  const bits = CHANNELS_BY_COLOR_TYPE[h.colorType]! * h.depth;
  const rows = (w: number, n: number) => (w > 0 && n > 0 ? n * (1 + Math.ceil((w * bits) / 8)) : 0);
  if (!h.interlaced) return rows(h.width, h.height);
  let total = 0;
  for (const [xs, xstep, ys, ystep] of ADAM7) {
    total += rows(Math.ceil((h.width - xs) / xstep), Math.ceil((h.height - ys) / ystep));
  }
  return total;
}

/**
 * Inflates the image data once with the bound its header implies and checks
 * it is exactly that long. pngjs cannot be trusted with either: it inflates an
 * interlaced image without a bound (a small deflate bomb allocates
 * gigabytes), and on Node >= 9 its bounded inflater mistakes the zlib state
 * order, so image data that ends early is padded with uninitialised memory
 * and may decode "successfully" to garbage. Costs one extra inflate per tile.
 */
function checkImageData(buf: Buffer, header: PngHeader, name: string): void {
  const parts: Buffer[] = [];
  let pos = 8;
  while (pos + 8 <= buf.length) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    if (pos + 12 + length > buf.length) throw new TileError("tile", `is truncated (chunk ${JSON.stringify(type)} runs past the end of the file)`, name);
    if (type === "IDAT") parts.push(buf.subarray(pos + 8, pos + 8 + length));
    if (type === "IEND") break;
    pos += 12 + length;
  }
  if (parts.length === 0) throw new TileError("tile", "is corrupt or truncated (no image data)", name);
  const expected = filteredSize(header);
  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.concat(parts), { maxOutputLength: expected });
  } catch (err) {
    if (errnoOf(err) === "ERR_BUFFER_TOO_LARGE") throw new TileError("tile", `is corrupt (image data inflates past the ${expected} bytes its header implies)`, name);
    throw new TileError("tile", `is corrupt or truncated (${messageOf(err)})`, name);
  }
  if (inflated.length !== expected) throw new TileError("tile", `is corrupt or truncated (image data is ${inflated.length} of the ${expected} bytes its header implies)`, name);
}

export interface DecodedTile {
  readonly width: number;
  readonly height: number;
  /** height × width × 3 (HWC), 0..1. */
  readonly rgb: Float32Array;
}

interface DecodedPng {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  data: Uint8Array | Uint16Array;
  transColor?: number[];
}

/**
 * Decodes a PNG of any standard kind (grey, grey+alpha, RGB, RGBA, palette;
 * 1..16 bits) to RGB floats in 0..1. Alpha is dropped (the colour under it is
 * kept); 16-bit samples keep their full precision.
 */
export function decodePng(bytes: Uint8Array, name: string, maxPixels = DEFAULT_MAX_PIXELS): DecodedTile {
  const header = readPngHeader(bytes, name, maxPixels);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkImageData(buf, header, name);
  let png: DecodedPng;
  try {
    // skipRescale: pngjs would otherwise round 16-bit samples to 8 bits; we scale ourselves.
    png = PNG.sync.read(buf, { skipRescale: true }) as unknown as DecodedPng;
  } catch (err) {
    throw new TileError("tile", `is corrupt or truncated (${messageOf(err)})`, name);
  }
  const { width, height, data } = png;
  const n = width * height;
  if (width !== header.width || height !== header.height || data.length !== n * 4) {
    throw new TileError("tile", "is corrupt (decoded size does not match its header)", name);
  }
  // pngjs hands back RGBA in the file's sample scale: palette entries are 8-bit, everything else 2^depth - 1.
  const scale = 1 / (png.colorType === 3 ? 255 : 2 ** png.depth - 1);
  // A tRNS colour key makes pngjs zero the whole pixel (colour too). Dropping
  // alpha means keeping the colour, which is the key itself.
  const key = (png.colorType === 0 || png.colorType === 2) && png.transColor ? png.transColor : undefined;
  const keyRgb = key ? (key.length === 1 ? [key[0]!, key[0]!, key[0]!] : key) : undefined;
  const rgb = new Float32Array(n * 3);
  for (let i = 0, o = 0, p = 0; i < n; i++, o += 3, p += 4) {
    if (keyRgb && data[p + 3] === 0) {
      rgb[o] = keyRgb[0]! * scale;
      rgb[o + 1] = keyRgb[1]! * scale;
      rgb[o + 2] = keyRgb[2]! * scale;
    } else {
      rgb[o] = data[p]! * scale;
      rgb[o + 1] = data[p + 1]! * scale;
      rgb[o + 2] = data[p + 2]! * scale;
    }
  }
  return { width, height, rgb };
}

/**
 * A tile as a model input [1, 3, height, width] (CHW, 0..1): bilinear resize
 * with the align-corners=false convention (pixel centres at i + 0.5, source
 * coordinates clamped at the edges, as PyTorch's interpolate and ONNX Resize
 * with half_pixel).
 */
export function tileTensor(tile: DecodedTile, height: number, width: number): Float32Array {
  for (const [what, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_TENSOR_SIDE) throw new TileError("size", `${what} must be an integer in 1..${MAX_TENSOR_SIDE}, got ${String(v)}`);
  }
  const inW = tile.width;
  const inH = tile.height;
  if (!Number.isSafeInteger(inW) || !Number.isSafeInteger(inH) || inW < 1 || inH < 1 || tile.rgb.length !== inW * inH * 3) {
    throw new TileError("tile", `decoded tile is inconsistent (${inW}×${inH} with ${tile.rgb.length} samples)`);
  }
  const src = tile.rgb;
  const axis = (outN: number, inN: number) => {
    const i0 = new Int32Array(outN);
    const i1 = new Int32Array(outN);
    const w = new Float32Array(outN);
    const s = inN / outN;
    for (let o = 0; o < outN; o++) {
      let c = (o + 0.5) * s - 0.5;
      if (c < 0) c = 0;
      let lo = Math.floor(c);
      if (lo > inN - 1) lo = inN - 1;
      i0[o] = lo;
      i1[o] = Math.min(lo + 1, inN - 1);
      w[o] = Math.min(c - lo, 1);
    }
    return { i0, i1, w };
  };
  const xs = axis(width, inW);
  const ys = axis(height, inH);
  const plane = height * width;
  const out = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y]! * inW * 3;
    const r1 = ys.i1[y]! * inW * 3;
    const wy = ys.w[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = xs.i0[x]! * 3;
      const c1 = xs.i1[x]! * 3;
      const wx = xs.w[x]!;
      const at = y * width + x;
      for (let c = 0; c < 3; c++) {
        const top = src[r0 + c0 + c]! * (1 - wx) + src[r0 + c1 + c]! * wx;
        const bottom = src[r1 + c0 + c]! * (1 - wx) + src[r1 + c1 + c]! * wx;
        const v = top * (1 - wy) + bottom * wy;
        out[c * plane + at] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return out;
}

/** An 8-bit RGB PNG from HWC samples. */
export function encodePng(width: number, height: number, rgb8: Uint8Array): Buffer {
  for (const [what, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 0x7fffffff) throw new TileError("size", `${what} must be a positive integer, got ${String(v)}`);
  }
  if (!(rgb8 instanceof Uint8Array) || rgb8.length !== width * height * 3) {
    throw new TileError("size", `expected ${width}×${height}×3 = ${width * height * 3} samples, got ${rgb8 instanceof Uint8Array ? rgb8.length : typeof rgb8}`);
  }
  const image = { width, height, gamma: 0, data: Buffer.from(rgb8.buffer, rgb8.byteOffset, rgb8.byteLength) };
  return PNG.sync.write(image as unknown as PNG, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8, deflateLevel: 6 });
}

// ---------------------------------------------------------------- synthetic scenes

export interface SyntheticFeature {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface SyntheticTile {
  readonly name: string;
  readonly png: Buffer;
  /** A bright, low-texture "cloud" tile (otherwise textured "ground"). */
  readonly cloudy: boolean;
  /** Dark rectangles drawn on a ground tile (pixels). */
  readonly features: readonly SyntheticFeature[];
}

/** mulberry32: small, fast, and the same sequence on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GROUND_COLOURS: readonly (readonly [number, number, number])[] = [
  [0.24, 0.38, 0.18], // vegetation
  [0.46, 0.36, 0.24], // soil
  [0.42, 0.42, 0.44], // built-up
  [0.12, 0.22, 0.34], // water
  [0.58, 0.52, 0.36], // sand
];

/** A smooth random field on a (g+1)² grid, sampled bilinearly at size². */
function smoothField(rand: () => number, size: number, g: number): Float32Array {
  const grid = new Float32Array((g + 1) * (g + 1));
  for (let i = 0; i < grid.length; i++) grid[i] = rand() * 2 - 1;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = (y / size) * g;
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = (x / size) * g;
      const x0 = Math.floor(fx);
      const wx = fx - x0;
      const a = grid[y0 * (g + 1) + x0]!;
      const b = grid[y0 * (g + 1) + x0 + 1]!;
      const c = grid[(y0 + 1) * (g + 1) + x0]!;
      const d = grid[(y0 + 1) * (g + 1) + x0 + 1]!;
      out[y * size + x] = (a * (1 - wx) + b * wx) * (1 - wy) + (c * (1 - wx) + d * wx) * wy;
    }
  }
  return out;
}

/**
 * Deterministic synthetic scene tiles, named tile-00000.png, tile-00001.png, …
 * (name order = index order): about a third are bright low-texture "cloud"
 * tiles, the rest textured "ground" of a few land covers, and about a third
 * of those carry 1..3 dark rectangular "features".
 */
export function syntheticTiles(count: number, size: number, seed: number): SyntheticTile[] {
  if (!Number.isSafeInteger(count) || count < 0 || count > 100_000) throw new TileError("size", `count must be an integer in 0..100000, got ${String(count)}`);
  if (!Number.isSafeInteger(size) || size < 4 || size > 1024) throw new TileError("size", `size must be an integer in 4..1024, got ${String(size)}`);
  if (!Number.isSafeInteger(seed)) throw new TileError("size", `seed must be an integer, got ${String(seed)}`);
  const rand = seededRandom(seed);
  const digits = Math.max(5, String(Math.max(0, count - 1)).length);
  const tiles: SyntheticTile[] = [];
  const rgb = new Uint8Array(size * size * 3);
  const to8 = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  for (let t = 0; t < count; t++) {
    const cloudy = rand() < 0.35;
    const features: SyntheticFeature[] = [];
    if (cloudy) {
      const base = 0.84 + rand() * 0.1;
      const field = smoothField(rand, size, 2);
      for (let i = 0; i < size * size; i++) {
        const v = base + field[i]! * 0.04 + (rand() - 0.5) * 0.02;
        rgb[i * 3] = to8(v - 0.01);
        rgb[i * 3 + 1] = to8(v);
        rgb[i * 3 + 2] = to8(v + 0.02);
      }
    } else {
      const colour = GROUND_COLOURS[Math.floor(rand() * GROUND_COLOURS.length)]!;
      const coarse = smoothField(rand, size, 4);
      const fine = smoothField(rand, size, Math.max(2, Math.floor(size / 4)));
      for (let i = 0; i < size * size; i++) {
        const shade = coarse[i]! * 0.12 + fine[i]! * 0.08 + (rand() - 0.5) * 0.12;
        for (let c = 0; c < 3; c++) rgb[i * 3 + c] = to8(colour[c]! + shade);
      }
      if (rand() < 0.35) {
        const n = 1 + Math.floor(rand() * 3);
        for (let k = 0; k < n; k++) {
          const w = Math.max(1, Math.floor(size / 8 + rand() * (size / 4)));
          const h = Math.max(1, Math.floor(size / 8 + rand() * (size / 4)));
          const x0 = Math.floor(rand() * (size - w + 1));
          const y0 = Math.floor(rand() * (size - h + 1));
          const dark = 0.04 + rand() * 0.06;
          for (let y = y0; y < y0 + h; y++) {
            for (let x = x0; x < x0 + w; x++) {
              const i = y * size + x;
              for (let c = 0; c < 3; c++) rgb[i * 3 + c] = to8(dark + (rand() - 0.5) * 0.02);
            }
          }
          features.push({ x: x0, y: y0, width: w, height: h });
        }
      }
    }
    tiles.push({ name: `tile-${String(t).padStart(digits, "0")}.png`, png: encodePng(size, size, rgb), cloudy, features });
  }
  return tiles;
}
