// Runs one service as its own OS process on the payload: parses the common
// command line (<endpoint> [--platform hil|linux] [--clock tone|real]) and
// the environment a supervisor sets (UMBRA_PARAMETERS, UMBRA_APID), joins the
// bus hub, follows the HIL's time tones (--clock tone, the default with the
// HIL), opens the platform (waiting for the HIL's first hardware state),
// builds and starts the service, and stops everything in order on
// SIGINT/SIGTERM. Each service's main.ts says only what is its own.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Bus, BusClient, RealClock, ToneClock, createLogger, parseEndpoint, type Clock, type Logger } from "@umbra/core";
import { createHilPlatform, waitForHardwareState } from "./hil/index.js";
import { createLinuxPlatform } from "./linux/index.js";
import type { Platform } from "./ports.js";

/** A bad command line: printed with the usage, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ServiceProcessEnvironment {
  bus: Bus;
  /** Mission time: a ToneClock following the HIL's tones (--clock tone) or a RealClock. */
  clock: Clock;
  /** Wall time, for the service's heartbeat (ServiceContext.livenessClock): always a RealClock. */
  livenessClock: Clock;
  logger: Logger;
  platform: Platform;
  /** Parameter values from UMBRA_PARAMETERS ({} when unset); a main merges them over its own defaults. */
  parameters: Record<string, unknown>;
  /** The APID from UMBRA_APID (ServiceContext.apid), undefined when unset. */
  apid: number | undefined;
  /** Parsed options, the service's own, `platform` and `clock`. */
  values: OptionValues;
  /** Called at shutdown after the service stopped, in reverse order of registration. */
  onShutdown(fn: () => void | Promise<void>): void;
}

export interface ServiceProcessOptions {
  /** Logger name and bus node prefix. */
  name: string;
  /** Whole usage line, printed for --help and with usage errors. */
  usage: string;
  /** The service's own options (parseArgs form); --platform, --clock and --help are added. */
  options?: ParseArgsConfig["options"];
  /** Checked before anything starts; throw UsageError for a bad value. */
  checkOptions?(values: OptionValues): void;
  /** Builds the service; it is then started. May throw UsageError. */
  create(env: ServiceProcessEnvironment): Promise<{ start(): Promise<void>; stop(): Promise<void> }> | { start(): Promise<void>; stop(): Promise<void> };
}

/** How long a HIL-platform service waits at start for the first HardwareState. */
export const HIL_STATE_WAIT_MS = 3000;
/** How long a --clock tone service waits at start for the first TimeTone. */
export const TONE_WAIT_MS = 3000;

/** Where a service process's mission time comes from. */
export type ClockMode = "tone" | "real";

/** What a service process takes from the command line's --platform/--clock and from the environment. */
export interface ServiceProcessSettings {
  platform: "hil" | "linux";
  clock: ClockMode;
  parameters: Record<string, unknown>;
  apid: number | undefined;
}

/**
 * The clock (--clock, default tone with --platform hil and real with linux),
 * UMBRA_PARAMETERS (a JSON object of parameter values: the supervisor's
 * persisted and configured values) and UMBRA_APID (a whole number 0..2046).
 * Unset or empty variables mean "none". Pure; throws a UsageError naming
 * the option or variable that is wrong.
 */
export function parseServiceProcessSettings(values: { platform?: unknown; clock?: unknown }, env: Readonly<Record<string, string | undefined>>): ServiceProcessSettings {
  const platform = values.platform ?? "hil";
  if (platform !== "hil" && platform !== "linux") throw new UsageError(`--platform must be hil or linux, got ${String(platform)}`);
  const clock = values.clock ?? (platform === "hil" ? "tone" : "real");
  if (clock !== "tone" && clock !== "real") throw new UsageError(`--clock must be tone or real, got ${String(clock)}`);

  let parameters: Record<string, unknown> = {};
  const rawParameters = env["UMBRA_PARAMETERS"];
  if (rawParameters !== undefined && rawParameters.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawParameters);
    } catch (err) {
      throw new UsageError(`UMBRA_PARAMETERS is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new UsageError(`UMBRA_PARAMETERS must be a JSON object of parameter values, got ${Array.isArray(parsed) ? "an array" : parsed === null ? "null" : typeof parsed}`);
    }
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean") {
        throw new UsageError(`UMBRA_PARAMETERS: ${name} must be a number, a string or a boolean, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
      }
    }
    parameters = parsed as Record<string, unknown>;
  }

  let apid: number | undefined;
  const rawApid = env["UMBRA_APID"];
  if (rawApid !== undefined && rawApid.trim() !== "") {
    const text = rawApid.trim();
    if (!/^\d+$/.test(text) || Number(text) > 2046) throw new UsageError(`UMBRA_APID must be a whole number in 0..2046, got ${JSON.stringify(rawApid)}`);
    apid = Number(text);
  }
  return { platform, clock, parameters, apid };
}

export async function runServiceProcess(options: ServiceProcessOptions): Promise<void> {
  const fail = (err: unknown): never => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${options.usage}`);
      process.exit(2);
    }
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  };
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      allowPositionals: true,
      options: { ...options.options, platform: { type: "string", default: "hil" }, clock: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (err) {
    return fail(new UsageError(err instanceof Error ? err.message : String(err)));
  }
  if (values["help"]) {
    console.log(options.usage);
    return;
  }
  const target = positionals[0] ?? process.env["UMBRA_BUS"];
  let settings: ServiceProcessSettings;
  try {
    if (!target) throw new UsageError("no bus endpoint given (argument or UMBRA_BUS)");
    settings = parseServiceProcessSettings({ platform: values["platform"], clock: values["clock"] }, process.env);
    values["clock"] = settings.clock;
    options.checkOptions?.(values);
  } catch (err) {
    return fail(err);
  }

  const logger = createLogger({ name: options.name });
  // Mission time follows the HIL's tones (or the system clock); liveness and
  // request timeouts are wall time either way.
  const wall = new RealClock();
  const tones = settings.clock === "tone" ? new ToneClock({ logger: logger.child({ component: "tone-clock" }) }) : undefined;
  const clock: Clock = tones ?? wall;
  const bus = new Bus({ node: `${options.name}-${process.pid}`, clock, timeoutClock: wall, logger });
  // Subscribed before joining, so the hub learns it with our first advertisement.
  tones?.follow(bus);
  const client = BusClient.start(bus, parseEndpoint(target!));
  // Start once the hub knows us, so our declaration and first heartbeat are routed.
  // If the hub is not up yet, start anyway: the client keeps reconnecting.
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway"));
  let platform: Platform;
  let hil: ReturnType<typeof createHilPlatform> | undefined;
  if (settings.platform === "linux") platform = createLinuxPlatform({ clock });
  // Freshness on the wall clock: the HIL publishes its state once per simulated step (10 s and more),
  // which at high speed is a fraction of a wall second; a HIL that stopped is stale in wall time.
  else platform = hil = createHilPlatform({ bus, clock: wall, staleAfterMs: 5000 });
  // Both waits at once. The first port reads come at start: let the HIL's
  // first hardware state arrive so they do not fail spuriously; and let
  // mission time be the HIL's before the service stamps anything with it.
  const [stateCame, toneCame] = await Promise.all([
    hil ? waitForHardwareState(hil, HIL_STATE_WAIT_MS) : true,
    tones ? tones.waitForFirstTone(TONE_WAIT_MS) : true,
  ]);
  if (!stateCame) logger.warn(`no hardware state from the HIL within ${HIL_STATE_WAIT_MS} ms; starting anyway`);
  if (!toneCame) {
    logger.warn(
      `no time tone within ${TONE_WAIT_MS} ms (--clock tone); starting anyway, but mission time stands still and no service timer fires until the first tone arrives (is the HIL running? --clock real runs on the system clock)`,
    );
  }
  const cleanups: (() => void | Promise<void>)[] = [];
  let service: { start(): Promise<void>; stop(): Promise<void> };
  try {
    service = await options.create({
      bus,
      clock,
      livenessClock: wall,
      logger,
      platform,
      parameters: settings.parameters,
      apid: settings.apid,
      values,
      onShutdown: (fn) => cleanups.push(fn),
    });
    await service.start();
  } catch (err) {
    return fail(err);
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    for (const fn of cleanups.reverse()) await fn();
    await platform.close();
    await client.close(); // lets the final heartbeat reach the hub
    bus.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}
