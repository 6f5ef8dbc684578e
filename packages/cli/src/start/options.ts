// `umbra start`'s options. The payload's configuration is one YAML file
// (config/umbra.yaml by default; --config names another); a flag that is
// given overrides that file's field, and the result is validated as one, so
// an error names the field and says it came from the command line. The
// launcher's own flags (--duration, --demo, --no-workload, --verbose,
// --json) are not configuration. Pure: commander registers these.
import type { PayloadConfigOverrides } from "@umbra/supervisor";
import { UsageError } from "../errors.js";

/** The SPI the demo and the workload sign their telecommands with. */
export const DEMO_SPI = 1;
/** The SPI a development key file gets for the gateway (the configuration's default gateway.spi). */
export const DEFAULT_GATEWAY_SPI = 2;

/** Option values as commander hands them over: strings and booleans, not yet checked. Absent = not given. */
export interface RawStartOptions {
  config?: string;
  socket?: string;
  tcp?: string;
  duration?: string;
  platform?: string;
  scenario?: string;
  speed?: string;
  report?: string;
  keys?: string;
  data?: string;
  models?: string;
  demo?: boolean;
  workload?: boolean;
  gateway?: boolean;
  gatewayHost?: string;
  gatewayPort?: string;
  gatewaySpi?: string;
  rawTcpPort?: string;
  rawUdpPort?: string;
  rawUdpTmTo?: string;
  verbose?: boolean;
  json?: boolean;
}

export interface StartRequest {
  /** The configuration file given with --config (else the default one, if present). */
  configFile?: string;
  overrides: PayloadConfigOverrides;
  /** Wall seconds; undefined runs until Ctrl-C or the scenario's end. */
  duration?: number;
  demo: boolean;
  workload: boolean;
  /** The payload's own logs on this terminal instead of in <run>/logs. */
  verbose: boolean;
  /** Print the summary as one JSON document. */
  json: boolean;
}

export interface StartOptionSpec {
  flags: string;
  description: string;
}

/** Every flag of `umbra start` (and `pnpm start`), in --help order. */
export const START_OPTIONS: readonly StartOptionSpec[] = [
  { flags: "--config <file>", description: "payload configuration (YAML); default config/umbra.yaml where it exists, else the built-in defaults" },
  { flags: "--platform <hil|linux>", description: "hil: the embedded HIL environment in simulated time; linux: this board's sysfs (config: platform)" },
  { flags: "--scenario <file>", description: "HIL scenario (config: hil.scenario)" },
  { flags: "--speed <x>", description: "simulated seconds per wall second (config: hil.speed)" },
  { flags: "--duration <seconds>", description: "stop after this many wall seconds (default: at the scenario's end, or Ctrl-C)" },
  { flags: "--data <dir>", description: "SQLite stores and model files (config: paths.data)" },
  { flags: "--keys <file>", description: `telecommand key file; a development one is made if missing (SPI ${DEMO_SPI} for the workload, the gateway's SPI) (config: paths.keys)` },
  { flags: "--report <dir>", description: "where the HIL report goes (config: paths.reports)" },
  { flags: "--socket <path>", description: "Unix socket of the bus hub (config: bus.socket)" },
  { flags: "--tcp <host:port>", description: "also serve the bus on TCP, for a bench or another board (config: bus.tcp)" },
  { flags: "--models <list>", description: "models the inference service activates, comma-separated (config: inference.models)" },
  { flags: "--demo", description: 'send a few telecommands through the TTC and a mixed workload of four jobs; prints "demo: ..." lines' },
  { flags: "--no-workload", description: "without --demo, jobs are submitted by telecommand all along the run; this turns that off" },
  { flags: "--no-gateway", description: "do not run the ground gateway (config: services.gateway.enabled)" },
  { flags: "--gateway-host <host>", description: "address the gateway listens on (config: gateway.host)" },
  { flags: "--gateway-port <port>", description: "gateway port, 0 for any free one (config: gateway.port)" },
  { flags: "--gateway-spi <spi>", description: "SPI the gateway signs telecommands with (config: gateway.spi)" },
  { flags: "--raw-tcp-port <port>", description: "serve the raw CCSDS link on this TCP port (config: gateway.rawTcpPort)" },
  { flags: "--raw-udp-port <port>", description: "serve the raw CCSDS link on this UDP port (config: gateway.rawUdpPort)" },
  { flags: "--raw-udp-tm-to <host:port>", description: "send TM on the raw UDP link to this address (default: the last sender)" },
  { flags: "--verbose", description: "show the payload's own log lines here (default: in <run>/logs/)" },
  { flags: "--json", description: "print the summary as one JSON document" },
];

function number(flag: string, value: string | undefined, whole = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || (whole && !Number.isInteger(n))) throw new UsageError(`${flag} must be a ${whole ? "whole " : ""}number, got ${JSON.stringify(value)}`);
  return n;
}

/** Checks the launcher's own values and turns the configuration flags into overrides (the configuration validates their values). */
export function checkStartOptions(raw: RawStartOptions): StartRequest {
  const duration = number("--duration", raw.duration);
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration must be a positive number of seconds, got ${raw.duration}`);
  const spi = number("--gateway-spi", raw.gatewaySpi, true);
  if (spi === DEMO_SPI) throw new UsageError(`--gateway-spi must not be ${DEMO_SPI}: the workload signs with SPI ${DEMO_SPI}, and two senders on one SPI refuse each other's telecommands as replays`);
  if (raw.rawUdpTmTo !== undefined && raw.rawUdpPort === undefined) throw new UsageError("--raw-udp-tm-to needs --raw-udp-port");
  if (raw.gateway === false && (raw.rawTcpPort !== undefined || raw.rawUdpPort !== undefined)) throw new UsageError("--raw-tcp-port and --raw-udp-port are served by the gateway: drop --no-gateway");
  const models = raw.models?.split(",").map((m) => m.trim()).filter(Boolean);
  if (models && models.length === 0) throw new UsageError("--models must name at least one model, e.g. tiny-cls,ocr-cls");
  const overrides: PayloadConfigOverrides = {
    platform: raw.platform as PayloadConfigOverrides["platform"],
    paths: { data: raw.data, keys: raw.keys, reports: raw.report },
    bus: { socket: raw.socket, tcp: raw.tcp },
    hil: { scenario: raw.scenario, speed: number("--speed", raw.speed) },
    inference: models ? { models } : undefined,
    gateway: {
      host: raw.gatewayHost,
      port: number("--gateway-port", raw.gatewayPort, true),
      spi,
      rawTcpPort: number("--raw-tcp-port", raw.rawTcpPort, true),
      rawUdpPort: number("--raw-udp-port", raw.rawUdpPort, true),
    },
  };
  const gateway: Record<string, unknown> = {};
  if (raw.gateway === false) gateway["enabled"] = false;
  if (raw.rawUdpTmTo !== undefined) gateway["args"] = ["--udp-tm-to", raw.rawUdpTmTo];
  if (Object.keys(gateway).length) overrides.services = { gateway } as PayloadConfigOverrides["services"];
  const request: StartRequest = { overrides, demo: raw.demo === true, workload: raw.workload !== false, verbose: raw.verbose === true, json: raw.json === true };
  if (raw.config !== undefined) request.configFile = raw.config;
  if (duration !== undefined) request.duration = duration;
  return request;
}
