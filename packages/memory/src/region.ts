// A protected region: a live buffer (model weights, a critical table) that
// stays exactly where and as it is, plus a side table holding its error
// codes, plus optionally a verified golden copy on disk.
//
// Per block (64 KiB by default) the side table holds a CRC-32 over the block's
// data and its SECDED check symbols. A scrub of a block is one native
// zlib.crc32 over both; only a block whose CRC does not match is decoded with
// SECDED (correct single flips per codeword, detect double ones), and a block
// SECDED cannot fix is rewritten from the golden copy or, without one,
// reported uncorrectable and kept so until repaired or rewritten on purpose.
// Everything here is synchronous: no await between finding and fixing.
import { REGION_NAME } from "@umbra/platform";
import type { Clock } from "@umbra/core";
import zlib from "node:zlib";
import {
  checkBytesPerGroup,
  decodeGroup,
  encodeGroups,
  groupBytes,
  isInterleaveDepth,
  type InterleaveDepth,
} from "./codes/secded.js";
import { GoldenCopyError, RegionError } from "./errors.js";
import { checkGoldenSpec, readGoldenBlock, sha256Hex, verifyGoldenFile, type GoldenSpec, type VerifiedGolden } from "./golden.js";
import { open } from "node:fs/promises";

export const DEFAULT_BLOCK_BYTES = 64 * 1024;
export const MIN_BLOCK_BYTES = 1024;
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** Largest region (as the platform's MemoryRegionRegistry). */
export const MAX_REGION_BYTES = 2 ** 32;
/** Region names: the fault injector's, short enough that "<name>/ecc" is one too. */
export const MAX_REGION_NAME_LENGTH = 60;
/** Suffix of the side table's name when it is registered with the fault injector. */
export const SIDE_TABLE_SUFFIX = "/ecc";

export interface CodeSpec {
  /** SECDED (72,64) with this interleave depth; false: per-block checksum only (repair needs a golden copy). Default { interleave: 8 }. */
  secded?: { interleave: InterleaveDepth } | false;
  /** Bytes per checksum block: a power of two, 1 KiB..16 MiB. Default 64 KiB. */
  checksumBlockBytes?: number;
}

/** Time source for pass timestamps; a core Clock fits. */
export type RegionClock = Pick<Clock, "nowTaiNs" | "monotonicMs">;

export interface ProtectedRegionOptions {
  name: string;
  /** The live buffer. Never copied, never moved; its contents are encoded as they are now. */
  bytes: Uint8Array;
  code?: CodeSpec;
  /** For the last-full-pass time and pass durations; without one those stay unset. */
  clock?: RegionClock;
}

export type GoldenStatus =
  | { state: "none" }
  | { state: "verifying"; path: string }
  | { state: "verified"; path: string; sha256: string }
  | { state: "rejected"; path: string; reason: string }
  | { state: "stale"; path: string; reason: string };

/** What one scrub call did. */
export interface ScrubResult {
  checkedBlocks: number;
  checkedBytes: number;
  /** Data bits corrected by SECDED. */
  correctedBits: number;
  /** Side-table bits corrected (check symbols, block checksums). */
  correctedCheckBits: number;
  /** Blocks rewritten from the golden copy. */
  repairedBlocks: number;
  /** Blocks found uncorrectable in this call that were not known to be before. */
  newUncorrectableBlocks: number;
  /** Blocks in the checked range still uncorrectable after this call. */
  uncorrectableBlocks: number;
  /** Nothing found: no correction, no repair, no uncorrectable block in the range. */
  clean: boolean;
  /** No block of the whole region is uncorrectable: its bytes can be used. */
  usable: boolean;
  /** Why a repair from the golden copy failed, if one did. */
  repairErrors: string[];
}

/** Lifetime counters of a region. */
export interface RegionCounters {
  correctedBits: number;
  correctedCheckBits: number;
  /** Blocks found uncorrectable, each counted once when found. */
  uncorrectableDetected: number;
  /** Blocks uncorrectable now. */
  uncorrectableBlocks: number;
  repairedBlocks: number;
  fullPasses: number;
  checkedBytes: number;
  /** Mission time (TAI ns) the last full pass ended; undefined before the first or without a clock. */
  lastFullPassNs: bigint | undefined;
  /** Clock time the last full pass took, first block to last (incremental passes include the gaps). */
  lastPassDurationMs: number | undefined;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function checkName(name: unknown): string {
  if (typeof name !== "string" || name.length > MAX_REGION_NAME_LENGTH || !REGION_NAME.test(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 80)) : String(name);
    throw new RegionError(`region name ${shown} must match ${REGION_NAME.source} and be at most ${MAX_REGION_NAME_LENGTH} characters`);
  }
  return name;
}

function checkCode(code: unknown): { depth: InterleaveDepth | 0; blockBytes: number } {
  if (code === undefined) return { depth: 8, blockBytes: DEFAULT_BLOCK_BYTES };
  if (typeof code !== "object" || code === null) throw new RegionError("code must be an object { secded?, checksumBlockBytes? }");
  const { secded, checksumBlockBytes, ...rest } = code as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new RegionError(`code has unknown field ${JSON.stringify(extra[0])}`);
  let depth: InterleaveDepth | 0 = 8;
  if (secded === false) depth = 0;
  else if (secded !== undefined) {
    const interleave = typeof secded === "object" && secded !== null ? (secded as Record<string, unknown>)["interleave"] : undefined;
    if (!isInterleaveDepth(interleave)) throw new RegionError(`code.secded.interleave must be 8, 16 or 32, got ${String(interleave)}`);
    depth = interleave;
  }
  const blockBytes = checksumBlockBytes ?? DEFAULT_BLOCK_BYTES;
  if (
    typeof blockBytes !== "number" ||
    !Number.isInteger(blockBytes) ||
    blockBytes < MIN_BLOCK_BYTES ||
    blockBytes > MAX_BLOCK_BYTES ||
    (blockBytes & (blockBytes - 1)) !== 0
  ) {
    throw new RegionError(`code.checksumBlockBytes must be a power of two from ${MIN_BLOCK_BYTES} to ${MAX_BLOCK_BYTES}, got ${String(blockBytes)}`);
  }
  return { depth, blockBytes };
}

function checkBytes(name: string, bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new RegionError(`region ${JSON.stringify(name)}: bytes must be a Uint8Array`);
  if (bytes.length === 0) throw new RegionError(`region ${JSON.stringify(name)} is empty`);
  if (bytes.length > MAX_REGION_BYTES) throw new RegionError(`region ${JSON.stringify(name)} has ${bytes.length} bytes; at most ${MAX_REGION_BYTES}`);
  return bytes;
}

function checkIndex(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RegionError(`${what} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function emptyResult(usable: boolean): ScrubResult {
  return {
    checkedBlocks: 0,
    checkedBytes: 0,
    correctedBits: 0,
    correctedCheckBits: 0,
    repairedBlocks: 0,
    newUncorrectableBlocks: 0,
    uncorrectableBlocks: 0,
    clean: true,
    usable,
    repairErrors: [],
  };
}

export class ProtectedRegion {
  readonly name: string;
  /** The live buffer, as given. Read it freely; write it only through update() or modify(). */
  readonly bytes: Uint8Array;
  readonly size: number;
  /** SECDED interleave depth; 0 when the region has block checksums only. */
  readonly interleave: InterleaveDepth | 0;
  readonly blockBytes: number;
  readonly blocks: number;
  /** The side table: check symbols, then one CRC-32 per block. Subject to upsets too; registered as "<name>/ecc". */
  readonly sideTable: Uint8Array;
  /** "secded(72,64) x8 + crc32/64KiB" or "crc32/64KiB". */
  readonly code: string;

  private readonly checks: Uint8Array;
  private readonly crcs: Uint32Array;
  private readonly groupBytes: number;
  private readonly checkBytesPerGroup: number;
  private readonly words: Uint32Array | undefined;
  private readonly scratchBytes: Uint8Array;
  private readonly scratchWords: Uint32Array;
  private readonly symbols = new Uint32Array(8);
  private readonly bad = new Set<number>();
  private readonly clock: RegionClock | undefined;
  private golden: VerifiedGolden | undefined;
  private goldenStatus: GoldenStatus = { state: "none" };
  private goldenAttempt = 0;
  private generation = 0;
  private cursor = 0;
  private passStartMs: number | undefined;
  private readonly counters: RegionCounters = {
    correctedBits: 0,
    correctedCheckBits: 0,
    uncorrectableDetected: 0,
    uncorrectableBlocks: 0,
    repairedBlocks: 0,
    fullPasses: 0,
    checkedBytes: 0,
    lastFullPassNs: undefined,
    lastPassDurationMs: undefined,
  };

  /** Protects `bytes` as they are now (encodes every block). Throws RegionError for bad options. */
  static create(options: ProtectedRegionOptions): ProtectedRegion {
    if (typeof options !== "object" || options === null) throw new RegionError("options must be an object { name, bytes, code?, clock? }");
    return new ProtectedRegion(options);
  }

  /**
   * Reads a golden copy into a new buffer, checks its sha256, and protects it
   * with that file as its verified golden copy: the way to load a model's
   * master weights. Rejects with GoldenCopyError (nothing created) when the
   * file is missing, unreadable, empty, too large or has another hash.
   */
  static async load(options: { name: string; golden: GoldenSpec; code?: CodeSpec; clock?: RegionClock }): Promise<ProtectedRegion> {
    if (typeof options !== "object" || options === null) throw new RegionError("options must be an object { name, golden, code?, clock? }");
    const name = checkName(options.name);
    const { blockBytes } = checkCode(options.code);
    const spec = checkGoldenSpec(options.golden);
    // Read straight into a buffer of our own (aligned, never pooled): no second copy of a large model in memory.
    let handle;
    try {
      handle = await open(spec.path, "r");
    } catch (err) {
      throw new GoldenCopyError(spec.path, `cannot open: ${err instanceof Error ? err.message : String(err)}`);
    }
    let bytes: Uint8Array;
    try {
      const s = await handle.stat();
      if (!s.isFile()) throw new GoldenCopyError(spec.path, "not a regular file");
      const size = s.size;
      if (size === 0) throw new GoldenCopyError(spec.path, "is empty");
      if (size > MAX_REGION_BYTES) throw new GoldenCopyError(spec.path, `has ${size} bytes; a region holds at most ${MAX_REGION_BYTES}`);
      bytes = new Uint8Array(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await handle.read(bytes, got, Math.min(size - got, 16 * 1024 * 1024), got);
        if (bytesRead === 0) throw new GoldenCopyError(spec.path, `ended at byte ${got} of ${size} while being read (file shrank?)`);
        got += bytesRead;
      }
    } catch (err) {
      if (err instanceof GoldenCopyError) throw err;
      throw new GoldenCopyError(spec.path, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await handle.close().catch(() => undefined);
    }
    const digest = sha256Hex(bytes);
    if (digest !== spec.sha256) throw new GoldenCopyError(spec.path, `sha256 is ${digest}, expected ${spec.sha256}`);
    const region = new ProtectedRegion({ name, bytes, ...(options.code ? { code: options.code } : {}), ...(options.clock ? { clock: options.clock } : {}) });
    const blockCrcs = new Uint32Array(region.blocks);
    for (let b = 0; b < region.blocks; b++) blockCrcs[b] = zlib.crc32(bytes.subarray(b * blockBytes, Math.min(bytes.length, (b + 1) * blockBytes)));
    region.golden = { path: spec.path, sha256: spec.sha256, blockBytes, size: bytes.length, blockCrcs };
    region.goldenStatus = { state: "verified", path: spec.path, sha256: spec.sha256 };
    return region;
  }

  private constructor(options: ProtectedRegionOptions) {
    this.name = checkName(options.name);
    this.bytes = checkBytes(this.name, options.bytes);
    const { depth, blockBytes } = checkCode(options.code);
    this.clock = options.clock;
    this.size = this.bytes.length;
    this.interleave = depth;
    this.blockBytes = blockBytes;
    this.blocks = Math.ceil(this.size / blockBytes);
    this.groupBytes = depth ? groupBytes(depth) : 0;
    this.checkBytesPerGroup = depth ? checkBytesPerGroup(depth) : 0;
    const groups = depth ? Math.ceil(this.size / this.groupBytes) : 0;
    const checkLength = groups * this.checkBytesPerGroup; // a multiple of 8
    const side = new ArrayBuffer(checkLength + 4 * this.blocks);
    this.sideTable = new Uint8Array(side);
    this.checks = new Uint8Array(side, 0, checkLength);
    this.crcs = new Uint32Array(side, checkLength, this.blocks);
    this.words = this.bytes.byteOffset % 4 === 0 ? new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.size >>> 2) : undefined;
    this.scratchBytes = new Uint8Array(blockBytes);
    this.scratchWords = new Uint32Array(this.scratchBytes.buffer);
    const kib = blockBytes >= 1024 * 1024 ? `${blockBytes / (1024 * 1024)}MiB` : `${blockBytes / 1024}KiB`;
    this.code = depth ? `secded(72,64) x${depth} + crc32/${kib}` : `crc32/${kib}`;
    for (let b = 0; b < this.blocks; b++) this.encodeBlock(b);
  }

  /** Lifetime counters (a copy). */
  get stats(): RegionCounters {
    return { ...this.counters, uncorrectableBlocks: this.bad.size };
  }

  /** The golden copy's state (a copy). */
  get goldenCopy(): GoldenStatus {
    return { ...this.goldenStatus };
  }

  /** True while no block is uncorrectable. */
  get usable(): boolean {
    return this.bad.size === 0;
  }

  /** Blocks uncorrectable now, ascending, with their byte ranges. */
  uncorrectable(): { block: number; offset: number; length: number }[] {
    return [...this.bad].sort((a, b) => a - b).map((block) => ({ block, offset: block * this.blockBytes, length: this.blockLength(block) }));
  }

  /** Block the next scrubNext() starts at. */
  get nextBlock(): number {
    return this.cursor;
  }

  /** Scrubs every block: one full pass. Cheap when clean (one CRC-32 per block). */
  scrubAll(): ScrubResult {
    this.assertAttached();
    const start = this.clock?.monotonicMs();
    const result = this.scrubRange(0, this.blocks);
    this.completePass(start);
    return result;
  }

  /** Scrubs `blocks` blocks from `startBlock` (defaults: 0, to the end). Not counted as a full pass. */
  scrub(startBlock = 0, blocks = this.blocks - startBlock): ScrubResult {
    this.assertAttached();
    checkIndex(startBlock, "startBlock", 0, this.blocks - 1);
    checkIndex(blocks, "blocks", 0, this.blocks - startBlock);
    return this.scrubRange(startBlock, blocks);
  }

  /**
   * Incremental scrubbing: at least one block and at most about `maxBytes`
   * from where the last call stopped; a pass completes when the cursor wraps.
   */
  scrubNext(maxBytes: number): ScrubResult & { passCompleted: boolean } {
    this.assertAttached();
    if (typeof maxBytes !== "number" || !(maxBytes > 0) || !Number.isFinite(maxBytes)) {
      throw new RegionError(`maxBytes must be a finite number > 0, got ${String(maxBytes)}`);
    }
    if (this.cursor === 0) this.passStartMs = this.clock?.monotonicMs();
    const count = Math.min(this.blocks - this.cursor, Math.max(1, Math.floor(maxBytes / this.blockBytes)));
    const result = this.scrubRange(this.cursor, count);
    this.cursor += count;
    let passCompleted = false;
    if (this.cursor >= this.blocks) {
      this.cursor = 0;
      this.completePass(this.passStartMs);
      passCompleted = true;
    }
    return { ...result, passCompleted };
  }

  /**
   * Writes `data` at `offset` on purpose and re-encodes what it touched. A
   * block only partly overwritten is scrubbed first, so an upset in its other
   * bytes is corrected rather than encoded; if that block is uncorrectable the
   * write is refused (RegionError) and nothing is written. A verified golden
   * copy becomes stale: it no longer holds these bytes.
   */
  update(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new RegionError("data must be a Uint8Array");
    this.modify(offset, data.length, (view) => view.set(data));
  }

  /**
   * Lets `write` change bytes [offset, offset + length) in place, then
   * re-encodes them; the rules of update() apply. If `write` throws, what it
   * wrote is encoded anyway (it was written on purpose) and the error rethrown.
   */
  modify(offset: number, length: number, write: (view: Uint8Array) => void): void {
    this.assertAttached();
    checkIndex(offset, "offset", 0, this.size);
    checkIndex(length, "length", 0, this.size - offset);
    if (typeof write !== "function") throw new RegionError("write must be a function");
    if (length === 0) return;
    const first = Math.floor(offset / this.blockBytes);
    const last = Math.floor((offset + length - 1) / this.blockBytes);
    for (const b of new Set([first, last])) {
      const start = b * this.blockBytes;
      const whole = offset <= start && offset + length >= start + this.blockLength(b);
      if (whole) continue;
      this.scrubRange(b, 1);
      if (this.bad.has(b)) {
        throw new RegionError(`region ${JSON.stringify(this.name)}: block ${b} is uncorrectable; a write covering only part of it would keep its corrupt bytes (write the whole block, or repair it first)`);
      }
    }
    this.generation++;
    if (this.goldenStatus.state === "verified" || this.goldenStatus.state === "verifying") {
      this.goldenStatus = { state: "stale", path: this.goldenStatus.path, reason: "the protected data was updated since the golden copy was verified" };
      this.golden = undefined;
    }
    try {
      write(this.bytes.subarray(offset, offset + length));
    } finally {
      for (let b = first; b <= last; b++) {
        this.encodeBlock(b);
        this.bad.delete(b);
      }
    }
  }

  /**
   * Verifies a golden copy (size, sha256, and that it holds the same bytes as
   * the region after a scrub) and, if good, uses it to repair uncorrectable
   * blocks from now on (and at once). Never throws for a bad file: the status
   * it resolves to says why it was rejected. Throws RegionError only for a
   * spec that is not { path, sha256 }.
   */
  async attachGolden(spec: GoldenSpec): Promise<GoldenStatus> {
    let checked: GoldenSpec;
    try {
      checked = checkGoldenSpec(spec);
    } catch (err) {
      throw new RegionError(err instanceof Error ? err.message : String(err));
    }
    const attempt = ++this.goldenAttempt;
    const generation = this.generation;
    this.golden = undefined;
    this.goldenStatus = { state: "verifying", path: checked.path };
    let verified: VerifiedGolden;
    try {
      verified = await verifyGoldenFile(checked, this.size, this.blockBytes);
    } catch (err) {
      if (attempt === this.goldenAttempt) {
        const reason = err instanceof GoldenCopyError ? err.reason : err instanceof Error ? err.message : String(err);
        this.goldenStatus = { state: "rejected", path: checked.path, reason };
      }
      return this.goldenCopy;
    }
    if (attempt !== this.goldenAttempt) return this.goldenCopy; // superseded by a later attach
    if (generation !== this.generation) {
      this.goldenStatus = { state: "rejected", path: checked.path, reason: "the protected data was updated while the golden copy was being verified" };
      return this.goldenCopy;
    }
    // The file is the file we were promised; now it must be a copy of this region's data.
    this.scrubRange(0, this.blocks);
    let differing = 0;
    let firstDiffering = -1;
    for (let b = 0; b < this.blocks; b++) {
      if (this.bad.has(b)) continue; // exactly what the golden copy is for
      if (zlib.crc32(this.bytes.subarray(b * this.blockBytes, b * this.blockBytes + this.blockLength(b))) !== verified.blockCrcs[b]) {
        differing++;
        if (firstDiffering < 0) firstDiffering = b;
      }
    }
    if (differing > 0) {
      this.goldenStatus = {
        state: "rejected",
        path: checked.path,
        reason: `its sha256 matches but it differs from the live data in ${differing} block(s), first block ${firstDiffering} (byte ${firstDiffering * this.blockBytes}): not a copy of this region`,
      };
      return this.goldenCopy;
    }
    this.golden = verified;
    this.goldenStatus = { state: "verified", path: checked.path, sha256: checked.sha256 };
    if (this.bad.size > 0) this.scrubRange(0, this.blocks);
    return this.goldenCopy;
  }

  /** Stops using the golden copy. */
  detachGolden(): void {
    this.goldenAttempt++;
    this.golden = undefined;
    this.goldenStatus = { state: "none" };
  }

  // --- internals -------------------------------------------------------------

  private assertAttached(): void {
    // A transferred (detached) or shrunk buffer reads as shorter.
    if (this.bytes.length !== this.size) {
      throw new RegionError(`region ${JSON.stringify(this.name)}: its buffer is no longer ${this.size} bytes (detached or resized)`);
    }
  }

  private completePass(startMs: number | undefined): void {
    this.counters.fullPasses++;
    if (this.clock) {
      this.counters.lastFullPassNs = this.clock.nowTaiNs();
      if (startMs !== undefined) this.counters.lastPassDurationMs = this.clock.monotonicMs() - startMs;
    }
  }

  private blockLength(b: number): number {
    return Math.min(this.blockBytes, this.size - b * this.blockBytes);
  }

  private blockCrc(b: number): number {
    const start = b * this.blockBytes;
    const crc = zlib.crc32(this.bytes.subarray(start, start + this.blockLength(b)));
    if (!this.interleave) return crc;
    const groups = Math.ceil(this.blockLength(b) / this.groupBytes);
    const at = (start / this.groupBytes) * this.checkBytesPerGroup;
    return zlib.crc32(this.checks.subarray(at, at + groups * this.checkBytesPerGroup), crc);
  }

  /** The block's data as 32-bit words: the buffer itself when aligned and whole, else a zero-padded copy. */
  private blockWords(b: number): { words: Uint32Array; w0: number; groups: number } {
    const start = b * this.blockBytes;
    const length = this.blockLength(b);
    const groups = Math.ceil(length / this.groupBytes);
    if (this.words && length % this.groupBytes === 0) return { words: this.words, w0: start >>> 2, groups };
    this.scratchBytes.set(this.bytes.subarray(start, start + length));
    this.scratchBytes.fill(0, length, groups * this.groupBytes);
    return { words: this.scratchWords, w0: 0, groups };
  }

  private encodeBlock(b: number): void {
    if (this.interleave) {
      const { words, w0, groups } = this.blockWords(b);
      const at = ((b * this.blockBytes) / this.groupBytes) * this.checkBytesPerGroup;
      encodeGroups(words, w0, groups, this.interleave, this.checks, at, this.symbols);
    }
    this.crcs[b] = this.blockCrc(b);
  }

  private scrubRange(startBlock: number, count: number): ScrubResult {
    const result = emptyResult(true);
    for (let b = startBlock; b < startBlock + count; b++) {
      result.checkedBlocks++;
      result.checkedBytes += this.blockLength(b);
      if (!this.bad.has(b) && this.blockCrc(b) === this.crcs[b]) continue;
      this.scrubSuspectBlock(b, result);
    }
    this.counters.checkedBytes += result.checkedBytes;
    result.usable = this.bad.size === 0;
    result.clean = result.correctedBits === 0 && result.correctedCheckBits === 0 && result.repairedBlocks === 0 && result.uncorrectableBlocks === 0;
    return result;
  }

  /** A block whose CRC does not match, or one already known to be uncorrectable. */
  private scrubSuspectBlock(b: number, result: ScrubResult): void {
    if (!this.bad.has(b)) {
      const fixed = this.interleave ? this.correctBlock(b, result) : false;
      if (fixed) return;
    }
    if (this.golden) {
      try {
        readGoldenBlock(this.golden, b, this.scratchBytes);
        const start = b * this.blockBytes;
        this.bytes.set(this.scratchBytes.subarray(0, this.blockLength(b)), start);
        this.encodeBlock(b);
        this.bad.delete(b);
        this.counters.repairedBlocks++;
        result.repairedBlocks++;
        return;
      } catch (err) {
        const reason = err instanceof GoldenCopyError ? err.reason : err instanceof Error ? err.message : String(err);
        result.repairErrors.push(`block ${b}: ${reason}`);
        if (err instanceof GoldenCopyError && err.untrusted) {
          // The file is no longer the one verified: stop trusting it.
          this.goldenStatus = { state: "rejected", path: this.golden.path, reason };
          this.golden = undefined;
        }
      }
    }
    if (!this.bad.has(b)) {
      this.bad.add(b);
      this.counters.uncorrectableDetected++;
      result.newUncorrectableBlocks++;
    }
    result.uncorrectableBlocks++;
  }

  /**
   * SECDED over every group of the block; applies single-bit corrections.
   * True when the block is now good: every codeword was correctable and the
   * block's CRC matches again (or only the stored CRC itself was hit).
   */
  private correctBlock(b: number, result: ScrubResult): boolean {
    const depth = this.interleave as InterleaveDepth;
    const start = b * this.blockBytes;
    const length = this.blockLength(b);
    const { words, w0, groups } = this.blockWords(b);
    const checkAt = (start / this.groupBytes) * this.checkBytesPerGroup;
    let dataBits = 0;
    let checkBits = 0;
    let uncorrectable = false;
    const wordsPerGroup = depth * 2;
    for (let g = 0; g < groups; g++) {
      const found = decodeGroup(words, w0 + g * wordsPerGroup, depth, this.checks, checkAt + g * depth, this.symbols);
      if (!found) continue;
      if (found.uncorrectable.length > 0) uncorrectable = true;
      const groupStart = start + g * this.groupBytes;
      for (const bit of found.dataBits) {
        const byte = groupStart + (bit >>> 3);
        // A "correction" into the zero padding past the end is a miscorrection: three or more flips.
        if (byte - start >= length) {
          uncorrectable = true;
          continue;
        }
        this.bytes[byte] = this.bytes[byte]! ^ (1 << (bit & 7));
        dataBits++;
      }
      for (const bit of found.checkBits) {
        const byte = checkAt + g * depth + (bit >>> 3);
        this.checks[byte] = this.checks[byte]! ^ (1 << (bit & 7));
        checkBits++;
      }
    }
    if (uncorrectable) return false;
    const crc = this.blockCrc(b);
    const stored = this.crcs[b]!;
    if (crc === stored) {
      this.counters.correctedBits += dataBits;
      this.counters.correctedCheckBits += checkBits;
      result.correctedBits += dataBits;
      result.correctedCheckBits += checkBits;
      return true;
    }
    if (dataBits === 0 && checkBits === 0) {
      // SECDED sees a clean block: the stored CRC is what was hit.
      const flipped = popcount32((crc ^ stored) >>> 0);
      this.crcs[b] = crc;
      this.counters.correctedCheckBits += flipped;
      result.correctedCheckBits += flipped;
      return true;
    }
    // Corrections did not restore the CRC: a miscorrection (three or more
    // flips in a codeword) or the CRC was hit too. Not trusted.
    return false;
  }
}
