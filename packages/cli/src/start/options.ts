// `umbra start`'s options: what each flag means, its default, and the checks
// on the values (pure; the command registers these with commander and the
// stack gets the checked result).
import { isAbsolute, join } from "node:path";
import { parseEndpoint } from "@umbra/core";
import { UsageError } from "../errors.js";

export type PlatformName = "hil" | "linux";

/** The SPI the demo and the workload sign their telecommands with. */
export const DEMO_SPI = 1;
/** The SPI the gateway signs its telecommands with: never the demo's, so their anti-replay counters never clash. */
export const DEFAULT_GATEWAY_SPI = 2;
export const DEFAULT_MODELS = "tiny-cls,tiny-seg,ocr-cls";
export const DEFAULT_GATEWAY_PORT = 8080;

/** Option values as commander hands them over: strings and booleans, not yet checked. */
export interface RawStartOptions {
  socket: string;
  tcp?: string;
  duration?: string;
  scenario: string;
  speed: string;
  report: string;
  keys: string;
  data: string;
  models: string;
  demo: boolean;
  workload: boolean;
  platform: string;
  gateway: boolean;
  gatewayHost: string;
  gatewayPort: string;
  /** Whether --gateway-port was given (a busy default port falls back to any free one; a busy given one is an error). */
  gatewayPortGiven?: boolean;
  gatewaySpi: string;
  rawTcpPort?: string;
  rawUdpPort?: string;
  rawUdpTmTo?: string;
}

export interface StartOptions {
  socket: string;
  tcp?: string;
  /** Seconds; undefined runs until Ctrl-C. */
  duration?: number;
  scenario: string;
  speed: number;
  report: string;
  keys: string;
  data: string;
  models: string[];
  demo: boolean;
  workload: boolean;
  platform: PlatformName;
  gateway?: {
    host: string;
    port: number;
    /** Take any free port if `port` is in use (the default port, not one the user asked for). */
    portFallback: boolean;
    spi: number;
    rawTcpPort?: number;
    rawUdpPort?: number;
    rawUdpTmTo?: string;
  };
}

/** Where the defaults live: the workspace root (for .umbra/) and the HIL package (for its scenarios). */
export interface StartRoots {
  root: string;
  hilRoot: string;
}

export interface StartOptionSpec {
  flags: string;
  description: string;
  /** A default shown in --help and used when the flag is absent. */
  default?: (roots: StartRoots) => string;
}

/** Every flag of `umbra start` (and `pnpm start`), in --help order. */
export const START_OPTIONS: readonly StartOptionSpec[] = [
  { flags: "--socket <path>", description: "Unix socket the bus hub listens on", default: ({ root }) => join(root, ".umbra", "run", "bus.sock") },
  { flags: "--tcp <host:port>", description: "also listen on TCP, e.g. 127.0.0.1:7400, so a bench or another board can join" },
  { flags: "--duration <seconds>", description: "stop by itself after this many seconds (default: run until Ctrl-C)" },
  { flags: "--platform <hil|linux>", description: "hil: the services on the embedded HIL environment; linux: on this board's sysfs, no HIL", default: () => "hil" },
  { flags: "--scenario <file>", description: "HIL scenario file (hil only)", default: ({ hilRoot }) => join(hilRoot, "scenarios", "nominal-day.yaml") },
  { flags: "--speed <x>", description: "simulated seconds per wall second for the HIL environment (hil only)", default: () => "60" },
  { flags: "--report <dir>", description: "folder for the HIL report written when the scenario ends or the stack stops (hil only)", default: ({ root }) => join(root, ".umbra", "reports") },
  {
    flags: "--keys <file>",
    description: `telecommand key file (a development key file is made, mode 600, if it is missing: SPI ${DEMO_SPI} for the demo and the workload, SPI ${DEFAULT_GATEWAY_SPI} for the gateway)`,
    default: ({ root }) => join(root, ".umbra", "keys.json"),
  },
  {
    flags: "--data <dir>",
    description:
      "folder for the SQLite stores: the TTC's ttc.db and archive.db, the inference service's model registry and model files under <data>/inference, " +
      "the job runner's jobs.db under <data>/jobs, the gateway's gateway.db and admin token under <data>/gateway, and the synthetic tiles the workload runs on under <data>/tiles",
    default: ({ root }) => join(root, ".umbra", "data"),
  },
  { flags: "--models <list>", description: "shipped models the inference service activates (also ocr-det)", default: () => DEFAULT_MODELS },
  {
    flags: "--demo",
    description:
      'send a few authenticated telecommands through the TTC (development keys only) and exercise the inference, thermal, scrubber and jobs services (a tenant and a mixed workload of four jobs); prints "demo: ..." lines',
  },
  { flags: "--no-workload", description: 'without --demo, start submits one light job (16 synthetic tiles on tiny-cls) through the TTC and prints "jobs: ..." lines; this turns that off' },
  { flags: "--no-gateway", description: "do not start the ground gateway (REST, WebSocket, raw CCSDS link)" },
  { flags: "--gateway-host <host>", description: "address the gateway listens on", default: () => "127.0.0.1" },
  { flags: "--gateway-port <port>", description: "gateway HTTP/WebSocket port (0: any free port)", default: () => String(DEFAULT_GATEWAY_PORT) },
  { flags: "--gateway-spi <spi>", description: `SPI of the key the gateway signs telecommands with (an active key in --keys, not the demo's ${DEMO_SPI})`, default: () => String(DEFAULT_GATEWAY_SPI) },
  { flags: "--raw-tcp-port <port>", description: "serve the raw CCSDS link on this TCP port (default off; 0: any free port)" },
  { flags: "--raw-udp-port <port>", description: "serve the raw CCSDS link on this UDP port (default off; 0: any free port)" },
  { flags: "--raw-udp-tm-to <host:port>", description: "send TM on the raw UDP link to this address (default: the last sender)" },
];

const POSITIVE = (value: number) => value > 0 && Number.isFinite(value);

function port(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port number 0..65535 (0: any free port), got ${value}`);
  return n;
}

/** Checks the values; throws a UsageError naming the flag for a bad one. */
export function checkStartOptions(raw: RawStartOptions): StartOptions {
  const speed = Number(raw.speed);
  if (!POSITIVE(speed)) throw new UsageError(`--speed must be a positive number, got ${raw.speed}`);
  const duration = raw.duration === undefined ? undefined : Number(raw.duration);
  if (duration !== undefined && !POSITIVE(duration)) throw new UsageError(`--duration must be a positive number of seconds, got ${raw.duration}`);
  if (raw.platform !== "hil" && raw.platform !== "linux") throw new UsageError(`--platform must be hil or linux, got ${raw.platform}`);
  if (raw.tcp !== undefined) {
    try {
      parseEndpoint(`tcp:${raw.tcp}`);
    } catch (err) {
      throw new UsageError(`--tcp must be HOST:PORT, e.g. 127.0.0.1:7400: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const models = raw.models.split(",").map((m) => m.trim()).filter(Boolean);
  if (models.length === 0) throw new UsageError("--models must name at least one model, e.g. tiny-cls,ocr-cls");
  const options: StartOptions = {
    socket: raw.socket,
    scenario: raw.scenario,
    speed,
    report: raw.report,
    keys: raw.keys,
    data: raw.data,
    models,
    demo: raw.demo,
    workload: raw.workload,
    platform: raw.platform,
  };
  if (raw.tcp !== undefined) options.tcp = raw.tcp;
  if (duration !== undefined) options.duration = duration;
  if (raw.gateway) {
    const spi = Number(raw.gatewaySpi);
    if (!Number.isInteger(spi) || spi < 1 || spi > 65534) throw new UsageError(`--gateway-spi must be an integer 1..65534, got ${raw.gatewaySpi}`);
    if (spi === DEMO_SPI) throw new UsageError(`--gateway-spi must not be ${DEMO_SPI}: the demo and the workload sign with SPI ${DEMO_SPI}, and two senders on one SPI refuse each other's telecommands as replays`);
    const gateway: NonNullable<StartOptions["gateway"]> = { host: raw.gatewayHost, port: port("--gateway-port", raw.gatewayPort), portFallback: !raw.gatewayPortGiven, spi };
    if (raw.rawTcpPort !== undefined) gateway.rawTcpPort = port("--raw-tcp-port", raw.rawTcpPort);
    if (raw.rawUdpPort !== undefined) gateway.rawUdpPort = port("--raw-udp-port", raw.rawUdpPort);
    if (raw.rawUdpTmTo !== undefined) {
      if (!/^[^\s]+:\d+$/.test(raw.rawUdpTmTo)) throw new UsageError(`--raw-udp-tm-to must be HOST:PORT, got ${raw.rawUdpTmTo}`);
      if (gateway.rawUdpPort === undefined) throw new UsageError("--raw-udp-tm-to needs --raw-udp-port");
      gateway.rawUdpTmTo = raw.rawUdpTmTo;
    }
    options.gateway = gateway;
  } else if (raw.rawTcpPort !== undefined || raw.rawUdpPort !== undefined) {
    throw new UsageError("--raw-tcp-port and --raw-udp-port are served by the gateway: drop --no-gateway");
  }
  for (const [flag, value] of [["--socket", options.socket], ["--keys", options.keys], ["--data", options.data]] as const) {
    if (value.trim() === "") throw new UsageError(`${flag} must not be empty`);
  }
  try {
    parseEndpoint(`unix:${options.socket}`);
  } catch (err) {
    throw new UsageError(`--socket: ${err instanceof Error ? err.message : String(err)}`);
  }
  return options;
}

/** Relative paths are taken from the current directory, as a shell user expects. */
export function absolutePaths(options: StartOptions, cwd: string): StartOptions {
  const abs = (p: string) => (isAbsolute(p) ? p : join(cwd, p));
  return { ...options, socket: abs(options.socket), scenario: abs(options.scenario), report: abs(options.report), keys: abs(options.keys), data: abs(options.data) };
}
