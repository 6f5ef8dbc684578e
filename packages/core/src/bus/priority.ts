import { umbra } from "@umbra/proto";

/** Delivery classes, lowest first. Mirrors umbra.bus.v1.Priority. */
export const Priority = umbra.bus.v1.Priority;
export type Priority = umbra.bus.v1.Priority;

export const PRIORITY_COUNT = 4;
export const PRIORITY_NAMES = ["bulk", "telemetry", "command", "safety"] as const;
export type PriorityName = (typeof PRIORITY_NAMES)[number];

export function isPriority(value: number): value is Priority {
  return Number.isInteger(value) && value >= 0 && value < PRIORITY_COUNT;
}

/** Drop counters per class, as kept by queues and reported in BusStats. */
export interface DropCounts {
  bulk: number;
  telemetry: number;
  command: number;
  safety: number;
}

export function emptyDropCounts(): DropCounts {
  return { bulk: 0, telemetry: 0, command: 0, safety: 0 };
}

export function addDropCounts(into: DropCounts, from: DropCounts): DropCounts {
  into.bulk += from.bulk;
  into.telemetry += from.telemetry;
  into.command += from.command;
  into.safety += from.safety;
  return into;
}
