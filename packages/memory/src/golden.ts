// Golden copies: a file on disk holding exactly the bytes a region should
// hold, and its sha256. Verified once in full (hash, size, per-block CRC-32 of
// the file's blocks); afterwards single blocks are read back for repair and
// checked against the CRC recorded at verification, so a file that changed on
// disk since is caught before it overwrites anything.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import zlib from "node:zlib";
import { GoldenCopyError } from "./errors.js";

export interface GoldenSpec {
  /** Path of the file holding the region's bytes. */
  path: string;
  /** Expected sha256 of the whole file, 64 hex digits. */
  sha256: string;
}

export const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** Throws a GoldenCopyError for a spec that is not even well-formed. */
export function checkGoldenSpec(spec: unknown): GoldenSpec {
  if (typeof spec !== "object" || spec === null) throw new GoldenCopyError(String(spec), "golden copy must be an object { path, sha256 }");
  const { path, sha256 } = spec as Record<string, unknown>;
  if (typeof path !== "string" || path.length === 0 || path.length > 4096 || path.includes("\0")) {
    throw new GoldenCopyError(String(path).slice(0, 80), "path must be a non-empty string without NUL, at most 4096 characters");
  }
  if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
    throw new GoldenCopyError(path, `sha256 must be 64 hex digits, got ${JSON.stringify(String(sha256).slice(0, 80))}`);
  }
  return { path, sha256: sha256.toLowerCase() };
}

/** A verified golden copy: where it is, and the CRC-32 of each of its blocks. */
export interface VerifiedGolden {
  path: string;
  sha256: string;
  blockBytes: number;
  size: number;
  blockCrcs: Uint32Array;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : err instanceof Error ? err.message : String(err);
}

/**
 * Reads the whole file once: its size must be `size`, its sha256 must match,
 * and the CRC-32 of every block is recorded. Rejects with GoldenCopyError.
 */
export async function verifyGoldenFile(spec: GoldenSpec, size: number, blockBytes: number): Promise<VerifiedGolden> {
  const { path, sha256 } = checkGoldenSpec(spec);
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    throw new GoldenCopyError(path, `cannot open: ${describe(err)}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new GoldenCopyError(path, "not a regular file");
    if (stat.size !== size) throw new GoldenCopyError(path, `has ${stat.size} bytes; the region has ${size} (truncated or not this region's copy)`);
    const blocks = Math.ceil(size / blockBytes);
    const blockCrcs = new Uint32Array(blocks);
    const hash = createHash("sha256");
    const chunk = new Uint8Array(blockBytes);
    for (let b = 0; b < blocks; b++) {
      const length = Math.min(blockBytes, size - b * blockBytes);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(chunk, got, length - got, b * blockBytes + got);
        if (bytesRead === 0) throw new GoldenCopyError(path, `ended at byte ${b * blockBytes + got} while reading (file shrank?)`);
        got += bytesRead;
      }
      const view = chunk.subarray(0, length);
      hash.update(view);
      blockCrcs[b] = zlib.crc32(view);
    }
    const digest = hash.digest("hex");
    if (digest !== sha256) throw new GoldenCopyError(path, `sha256 is ${digest}, expected ${sha256}`);
    return { path, sha256, blockBytes, size, blockCrcs };
  } catch (err) {
    if (err instanceof GoldenCopyError) throw err;
    throw new GoldenCopyError(path, `cannot read: ${describe(err)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads block `b` of a verified golden copy into `into` (at least one block
 * long) and checks it against the CRC recorded at verification. Synchronous on
 * purpose: one block (64 KiB by default), rarely, and the repair then happens
 * with no await between the read and the write into the live buffer.
 * Returns the block's length; throws GoldenCopyError.
 */
export function readGoldenBlock(golden: VerifiedGolden, b: number, into: Uint8Array): number {
  const start = b * golden.blockBytes;
  const length = Math.min(golden.blockBytes, golden.size - start);
  let fd: number;
  try {
    fd = openSync(golden.path, "r");
  } catch (err) {
    throw new GoldenCopyError(golden.path, `cannot open for repair: ${describe(err)}`);
  }
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, into, got, length - got, start + got);
      if (n === 0) throw new GoldenCopyError(golden.path, `ended at byte ${start + got} while repairing block ${b} (file changed since it was verified)`, true);
      got += n;
    }
  } catch (err) {
    if (err instanceof GoldenCopyError) throw err;
    throw new GoldenCopyError(golden.path, `cannot read block ${b} for repair: ${describe(err)}`);
  } finally {
    closeSync(fd);
  }
  const crc = zlib.crc32(into.subarray(0, length));
  if (crc !== golden.blockCrcs[b]) throw new GoldenCopyError(golden.path, `block ${b} no longer matches the copy that was verified (file changed on disk)`, true);
  return length;
}

/** sha256 of bytes in memory, hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
