// The one check on a compute-activity report, shared by both ActivityPort
// adapters so a service that reports nonsense fails the same way on a board
// as on a bench.
import { isValidNodeName } from "@umbra/core";

/** Most cores one report may claim: far above any payload computer, low enough to catch unit mistakes (ms for s). */
export const MAX_BUSY_CORES = 1024;

/** Throws a RangeError unless `source` is a service (node) name and `busyCores` a finite number in 0..MAX_BUSY_CORES. */
export function checkActivityReport(source: unknown, busyCores: unknown): void {
  if (typeof source !== "string" || !isValidNodeName(source)) {
    const shown = typeof source === "string" ? JSON.stringify(source.slice(0, 80)) : typeof source;
    throw new RangeError(`activity: source must be a service name ([A-Za-z0-9][A-Za-z0-9_.:-]{0,63}), got ${shown}`);
  }
  if (typeof busyCores !== "number" || !Number.isFinite(busyCores) || busyCores < 0 || busyCores > MAX_BUSY_CORES) {
    throw new RangeError(`activity: busyCores must be a finite number in 0..${MAX_BUSY_CORES}, got ${typeof busyCores === "number" ? String(busyCores) : typeof busyCores}`);
  }
}
