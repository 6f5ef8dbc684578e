// What the routes share: the parts of a running gateway.
import type { KeyStore } from "@umbra/ccsds";
import type { Bus, Clock, Logger } from "@umbra/core";
import type { GatewayArms } from "./arms.js";
import type { User, UserStore } from "./auth/users.js";
import type { Role } from "./auth/roles.js";
import type { Commander } from "./commanding.js";
import type { LiveDictionary } from "./dictionary/live.js";
import type { ProtoTypes } from "./dictionary/proto-types.js";
import type { HistoryStore } from "./history.js";
import type { LiveState } from "./live.js";
import type { StreamHub } from "./stream.js";

export interface GatewayConfig {
  commandRatePerMinute: number;
  commandTimeoutMs: number;
  maxBodyBytes: number;
  wsBufferBytes: number;
  /** Timeout of bus queries (TTC archive, jobs, parameters). */
  queryTimeoutMs: number;
  /** Arm window used when the TTC does not say (ms). */
  defaultArmWindowMs: number;
  /** Folder of the built operator console, served at "/". */
  consoleRoot: string;
}

export interface GatewayContext {
  bus: Bus;
  clock: Clock;
  /** Mission time, for telemetry and event ranges (the HIL's simulated time on a bench); the gateway's own timing stays on `clock`. */
  missionClock: Clock;
  /** Mission seconds per wall second now (the HIL's speed; 1 on a board). */
  missionRate: () => number;
  log: Logger;
  keys: KeyStore;
  config: GatewayConfig;
  users: UserStore;
  history: HistoryStore;
  dictionary: LiveDictionary;
  types: ProtoTypes;
  live: LiveState;
  commander: Commander;
  stream: StreamHub;
  arms: GatewayArms;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth hook on every route that needs a role. */
    user: User | null;
  }
  interface FastifyContextConfig {
    /** The least role that may call the route; absent = no token needed. */
    role?: Role;
  }
}

/** The authenticated user of a route that declared a role (the auth hook guarantees one). */
export function userOf(request: { user: User | null }): User {
  if (!request.user) throw new Error("route reached without an authenticated user");
  return request.user;
}
