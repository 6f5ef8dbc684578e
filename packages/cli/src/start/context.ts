// What the launcher's parts share: its bus node joined to the payload's hub,
// the ground, what was seen on the bus, and whether the stack is stopping.
import type { Bus, Logger } from "@umbra/core";
import type { Ground } from "./ground.js";
import type { StackObservation } from "./observe.js";

export interface WorkloadOptions {
  data: string;
  models: string[];
}

export interface StackContext {
  options: WorkloadOptions;
  logger: Logger;
  /** The launcher's node, a client of the supervisor's hub. */
  hub: Bus;
  ground: Ground;
  observed: StackObservation;
  /** Whether the TTC has had a declaration from this service (it routes telecommands only to those). */
  declared(service: string): boolean;
  /** Cleanup that must happen even if the stack stops first (the demo's accuracy declaration). */
  jobsCleanup: (() => Promise<void>)[];
  isStopping(): boolean;
}
