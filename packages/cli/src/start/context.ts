// What the stack's parts share: the hub, the TTC, the ground, what was seen
// on the bus for the summary, and whether the stack is stopping.
import type { Bus, Clock, Logger } from "@umbra/core";
import type { Archive, TtcService } from "@umbra/ttc";
import type { Ground } from "./ground.js";
import type { StartOptions } from "./options.js";

export type TelemetryValues = Record<string, unknown>;

export interface Observed {
  /** The jobs service's newest telemetry, by name. */
  jobsTelemetry: TelemetryValues | undefined;
  /** The lowest battery state of charge the HIL reported. */
  minSocSeen: number;
}

export interface StackContext {
  options: StartOptions;
  logger: Logger;
  clock: Clock;
  hub: Bus;
  ttc: TtcService;
  archive: Archive;
  ground: Ground;
  observed: Observed;
  /** Cleanup that must happen even if the stack stops first (the demo's accuracy declaration). */
  jobsCleanup: (() => Promise<void>)[];
  isStopping(): boolean;
}
