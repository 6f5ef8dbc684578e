import * as v from "../store/validate.js";
import { InvalidFieldError } from "../store/errors.js";

/**
 * Downlink priority classes, in order of service: the first is sent first.
 * Each class is its own rank (0 = verification ... 4 = bulk); within a class,
 * packets go in enqueue order. Overflow drops from the other end: the oldest
 * packet of the last class first.
 */
export const DOWNLINK_PRIORITIES = ["verification", "event-high", "housekeeping", "event-low", "bulk"] as const;
export type DownlinkPriority = (typeof DOWNLINK_PRIORITIES)[number];

/** 0 for verification ... 4 for bulk. */
export function priorityRank(priority: DownlinkPriority): number {
  return DOWNLINK_PRIORITIES.indexOf(priority);
}

export function priorityOfRank(rank: number): DownlinkPriority {
  const p = DOWNLINK_PRIORITIES[rank];
  if (p === undefined) throw new Error(`downlink: no priority class of rank ${rank} (damaged database?)`);
  return p;
}

export function checkPriority(field: string, value: unknown): DownlinkPriority {
  if (typeof value !== "string" || !(DOWNLINK_PRIORITIES as readonly string[]).includes(value)) {
    throw new InvalidFieldError(
      field,
      `must be one of ${DOWNLINK_PRIORITIES.map((p) => JSON.stringify(p)).join(", ")}, got ${
        typeof value === "string" ? JSON.stringify(value) : String(value)
      }`,
    );
  }
  return value as DownlinkPriority;
}

/** A byte count: a non-negative safe integer. */
export function byteCount(field: string, value: unknown): number {
  return v.intInRange(field, value, 0, Number.MAX_SAFE_INTEGER);
}
