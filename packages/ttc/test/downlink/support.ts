import { tempDir as sharedTempDir } from "../support/temp.js";
import type { DownlinkPriority, EnqueueOptions } from "../../src/downlink/index.js";

/** A fresh directory under os.tmpdir(), removed after the file's tests. */
export function tempDir(prefix = "umbra-ttc-downlink-"): () => string {
  return sharedTempDir(prefix);
}

export const T0 = 2_200_000_000_000_000_000n;
export const SECOND = 1_000_000_000n;

/** A packet of `size` bytes whose first bytes encode `tag` (so tests can tell packets apart). */
export function pkt(tag: number, size = 100): Uint8Array {
  const p = new Uint8Array(size);
  if (size >= 4) {
    new DataView(p.buffer).setUint32(0, tag);
    p.fill(0xa5, 4);
  } else {
    p.fill(tag & 0xff);
  }
  return p;
}

export function tagOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
}

export function meta(priority: DownlinkPriority, over: Partial<EnqueueOptions> = {}): EnqueueOptions {
  return { priority, generatedNs: T0, apid: 100, service: 3, subtype: 25, ...over };
}
