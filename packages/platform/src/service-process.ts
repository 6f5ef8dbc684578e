// Runs one service as its own OS process on the payload: parses the common
// command line (<endpoint> [--platform hil|linux]), joins the bus hub, opens
// the platform (waiting for the HIL's first hardware state), builds and starts
// the service, and stops everything in order on SIGINT/SIGTERM. Each
// service's main.ts says only what is its own.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Bus, BusClient, RealClock, createLogger, parseEndpoint, type Clock, type Logger } from "@umbra/core";
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
  clock: Clock;
  logger: Logger;
  platform: Platform;
  /** Parsed options, the service's own and `platform`. */
  values: OptionValues;
  /** Called at shutdown after the service stopped, in reverse order of registration. */
  onShutdown(fn: () => void | Promise<void>): void;
}

export interface ServiceProcessOptions {
  /** Logger name and bus node prefix. */
  name: string;
  /** Whole usage line, printed for --help and with usage errors. */
  usage: string;
  /** The service's own options (parseArgs form); --platform and --help are added. */
  options?: ParseArgsConfig["options"];
  /** Checked before anything starts; throw UsageError for a bad value. */
  checkOptions?(values: OptionValues): void;
  /** Builds the service; it is then started. May throw UsageError. */
  create(env: ServiceProcessEnvironment): Promise<{ start(): Promise<void>; stop(): Promise<void> }> | { start(): Promise<void>; stop(): Promise<void> };
}

/** How long a HIL-platform service waits at start for the first HardwareState. */
export const HIL_STATE_WAIT_MS = 3000;

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
      options: { ...options.options, platform: { type: "string", default: "hil" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (err) {
    return fail(new UsageError(err instanceof Error ? err.message : String(err)));
  }
  if (values["help"]) {
    console.log(options.usage);
    return;
  }
  const target = positionals[0] ?? process.env["UMBRA_BUS"];
  try {
    if (!target) throw new UsageError("no bus endpoint given (argument or UMBRA_BUS)");
    if (values["platform"] !== "hil" && values["platform"] !== "linux") throw new UsageError(`--platform must be hil or linux, got ${String(values["platform"])}`);
    options.checkOptions?.(values);
  } catch (err) {
    return fail(err);
  }

  const logger = createLogger({ name: options.name });
  const clock = new RealClock();
  const bus = new Bus({ node: `${options.name}-${process.pid}`, clock, logger });
  const client = BusClient.start(bus, parseEndpoint(target!));
  // Start once the hub knows us, so our declaration and first heartbeat are routed.
  // If the hub is not up yet, start anyway: the client keeps reconnecting.
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway"));
  let platform: Platform;
  if (values["platform"] === "linux") platform = createLinuxPlatform({ clock });
  else {
    const hil = createHilPlatform({ bus, staleAfterMs: 5000 });
    // The first port reads come at start: let the HIL's first hardware state arrive so they do not fail spuriously.
    if (!(await waitForHardwareState(hil, HIL_STATE_WAIT_MS))) logger.warn(`no hardware state from the HIL within ${HIL_STATE_WAIT_MS} ms; starting anyway`);
    platform = hil;
  }
  const cleanups: (() => void | Promise<void>)[] = [];
  let service: { start(): Promise<void>; stop(): Promise<void> };
  try {
    service = await options.create({ bus, clock, logger, platform, values, onShutdown: (fn) => cleanups.push(fn) });
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
