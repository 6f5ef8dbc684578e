// The payload configuration as the supervisor and the launcher see it: every
// default filled in, every path absolute. The file's layout (with a `defaults`
// section merged into each service) is `PayloadConfigFile`.

export type PlatformName = "hil" | "linux";
export const PLATFORM_NAMES: readonly PlatformName[] = ["hil", "linux"];

/** Every service the supervisor knows, in start order (stopped in reverse). */
export const SERVICE_NAMES = ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway", "counter"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Services that must run: the ground reaches the payload through the TTC, and the thermal governor keeps the hardware alive. */
export const ESSENTIAL_SERVICES: readonly ServiceName[] = ["ttc", "thermal"];

/**
 * How a crashed or hung service is restarted: after the n-th failure in a row
 * it waits min(initialBackoffS * factor^(n-1), maxBackoffS) wall seconds; once
 * maxFailures failures fall within windowS wall seconds it is given up on.
 */
export interface RestartPolicyConfig {
  initialBackoffS: number;
  factor: number;
  maxBackoffS: number;
  maxFailures: number;
  windowS: number;
}

export interface ServiceConfig {
  name: ServiceName;
  enabled: boolean;
  /** Overrides the service's declared APID (0..2046, unique across services; not allowed for gateway). */
  apid?: number;
  /** Wall seconds without a heartbeat before the service counts as hung. */
  heartbeatTimeoutS: number;
  /** Wall seconds from spawn to first heartbeat. */
  startTimeoutS: number;
  /** Wall seconds from SIGTERM to SIGKILL. */
  stopTimeoutS: number;
  restart: RestartPolicyConfig;
  /** Initial parameter values (the service validates them against its declaration). */
  parameters: Record<string, boolean | number | string>;
  /** Extra command-line flags for the service's main, rarely needed. */
  args: string[];
}

export interface PayloadConfig {
  /** The file it came from (absolute), or "<defaults>". */
  source: string;
  platform: PlatformName;
  /** All absolute. */
  paths: { data: string; run: string; keys: string; reports: string; models?: string };
  /** socket: absolute; tcp: "host:port". */
  bus: { socket: string; tcp?: string };
  /** Used with platform hil; scenario absolute, speed in simulated seconds per wall second. */
  hil: { scenario: string; speed: number };
  /** Mission-time seconds; kickIntervalS < timeoutS / 2. */
  watchdog: { enabled: boolean; timeoutS: number; kickIntervalS: number };
  /** A boot that lasts stableAfterS (mission s) is stable; loopThreshold unstable boots in a row => safe mode. */
  boot: { stableAfterS: number; loopThreshold: number };
  /** keep includes ttc and thermal. */
  safeMode: { keep: ServiceName[]; minBatterySocPct: number; onThermalEmergency: boolean };
  supervisor: { statusIntervalS: number };
  /** Every known service present; disabled ones with enabled false. */
  services: Record<ServiceName, ServiceConfig>;
  /** Models to activate (non-empty, names like tiny-cls). */
  inference: { models: string[] };
  gateway: { host: string; port: number; spi: number; sourceId: number; rawTcpPort?: number; rawUdpPort?: number };
}

/** The per-service timeouts and restart policy the `defaults` section gives every service. */
export interface ServiceDefaultsConfig {
  heartbeatTimeoutS: number;
  startTimeoutS: number;
  stopTimeoutS: number;
  restart: RestartPolicyConfig;
}

/** A service as written in the file: anything left out comes from `defaults`. */
export interface ServiceConfigFile {
  enabled: boolean;
  apid: number;
  heartbeatTimeoutS: number;
  startTimeoutS: number;
  stopTimeoutS: number;
  restart: RestartPolicyConfig;
  parameters: Record<string, boolean | number | string>;
  args: string[];
}

/** The file's layout, complete. Files and overrides give a `PayloadConfigOverrides` (any part of it). */
export interface PayloadConfigFile {
  platform: PlatformName;
  paths: { data: string; run: string; keys: string; reports: string; models: string };
  bus: { socket: string; tcp: string };
  hil: { scenario: string; speed: number };
  watchdog: { enabled: boolean; timeoutS: number; kickIntervalS: number };
  boot: { stableAfterS: number; loopThreshold: number };
  safeMode: { keep: ServiceName[]; minBatterySocPct: number; onThermalEmergency: boolean };
  supervisor: { statusIntervalS: number };
  defaults: ServiceDefaultsConfig;
  services: Record<ServiceName, ServiceConfigFile>;
  inference: { models: string[] };
  gateway: { host: string; port: number; spi: number; sourceId: number; rawTcpPort: number; rawUdpPort: number };
}

/** Every property optional, all the way down; arrays and records of values are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | undefined } : T;

/**
 * Values that replace the file's (the launcher's command-line flags). Same
 * layout as the file; an `undefined` leaf is skipped, so a flag that was not
 * given can be passed as is.
 */
export type PayloadConfigOverrides = DeepPartial<PayloadConfigFile>;
