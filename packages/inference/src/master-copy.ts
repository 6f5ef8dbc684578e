// The master copy of a model: the file's bytes in a scrubber-protected region
// (SECDED-coded, background-scrubbed, registered with the fault injector),
// with the file itself as the verified golden copy for what the code cannot
// correct. Replicas are built only from it, and only after verify() has
// scrubbed it, so an upset in memory never becomes a replica's weights.
import type { Clock } from "@umbra/core";
import { ProtectedRegion, type Scrubber, type ScrubResult } from "@umbra/memory";
import type { MasterCopy } from "./tmr-executor.js";

export interface ProtectedMaster extends MasterCopy {
  readonly region: ProtectedRegion;
  /** Withdraws the region from the scrubber and the fault injector. */
  close(): void;
}

function describe(r: ScrubResult): string {
  if (r.clean) return "clean";
  const parts: string[] = [];
  if (r.correctedBits + r.correctedCheckBits > 0) parts.push(`${r.correctedBits + r.correctedCheckBits} bit(s) corrected`);
  if (r.repairedBlocks > 0) parts.push(`${r.repairedBlocks} block(s) repaired from the golden copy`);
  if (r.uncorrectableBlocks > 0) parts.push(`${r.uncorrectableBlocks} block(s) uncorrectable`);
  if (r.repairErrors.length > 0) parts.push(`repair failed: ${r.repairErrors.join("; ")}`);
  return parts.join(", ") || "not clean";
}

/**
 * Loads a model file as a protected master copy: the file must hash to
 * sha256 (GoldenCopyError otherwise, naming the file and what is wrong), and
 * becomes the region's golden copy.
 */
export async function loadMasterCopy(scrubber: Scrubber, clock: Clock, region: string, golden: { path: string; sha256: string }): Promise<ProtectedMaster> {
  const protectedRegion = await ProtectedRegion.load({ name: region, golden, clock });
  scrubber.protect(protectedRegion);
  let closed = false;
  return {
    region: protectedRegion,
    bytes: protectedRegion.bytes,
    verify: () => {
      if (closed) return { usable: false, detail: "the master copy was withdrawn" };
      const result = protectedRegion.scrubAll();
      return { usable: result.usable, detail: describe(result) };
    },
    close: () => {
      if (closed) return;
      closed = true;
      scrubber.unprotect(region);
    },
  };
}
