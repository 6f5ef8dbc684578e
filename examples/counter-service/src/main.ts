#!/usr/bin/env node
// Runs the counter service in its own process, joined to a bus server.
// Usage: umbra-counter-service <endpoint> [--clock real|tone]   e.g. unix:/tmp/umbra/bus.sock
// --clock tone follows the HIL's TimeTones for mission time (default real:
// the system clock). A supervisor may set UMBRA_PARAMETERS (a JSON object of
// parameter values) and UMBRA_APID (a whole number 0..2046).
//
// The service processes of the payload get all this from @umbra/platform's
// runServiceProcess; the example depends on @umbra/core alone, so it reads
// the same options here.
import { parseArgs } from "node:util";
import { Bus, BusClient, RealClock, ToneClock, createLogger, parseEndpoint, type Clock } from "@umbra/core";
import { CounterService } from "./service.js";

const USAGE = "usage: umbra-counter-service <unix:/path | tcp:host:port> [--clock real|tone]";
/** How long --clock tone waits at start for the first tone. */
const TONE_WAIT_MS = 3000;

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** UMBRA_PARAMETERS and UMBRA_APID, checked; unset or empty means none. */
function fromEnvironment(env: NodeJS.ProcessEnv): { parameters: Record<string, unknown>; apid: number | undefined } {
  let parameters: Record<string, unknown> = {};
  const raw = env["UMBRA_PARAMETERS"];
  if (raw !== undefined && raw.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      usage(`UMBRA_PARAMETERS is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) usage("UMBRA_PARAMETERS must be a JSON object of parameter values");
    parameters = parsed as Record<string, unknown>;
  }
  let apid: number | undefined;
  const rawApid = env["UMBRA_APID"]?.trim();
  if (rawApid) {
    if (!/^\d+$/.test(rawApid) || Number(rawApid) > 2046) usage(`UMBRA_APID must be a whole number in 0..2046, got ${JSON.stringify(rawApid)}`);
    apid = Number(rawApid);
  }
  return { parameters, apid };
}

async function main(): Promise<void> {
  let values: { clock?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ allowPositionals: true, options: { clock: { type: "string", default: "real" } } }));
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const target = positionals[0] ?? process.env["UMBRA_BUS"];
  if (!target) usage("no bus endpoint given (argument or UMBRA_BUS)");
  if (values.clock !== "real" && values.clock !== "tone") usage(`--clock must be real or tone, got ${String(values.clock)}`);
  const { parameters, apid } = fromEnvironment(process.env);
  const endpoint = parseEndpoint(target);
  const logger = createLogger({ name: "counter" });
  // Mission time from the tones or the system clock; heartbeats and request timeouts in wall time.
  const wall = new RealClock();
  const tones = values.clock === "tone" ? new ToneClock({ logger }) : undefined;
  const clock: Clock = tones ?? wall;
  const bus = new Bus({ node: `counter-${process.pid}`, clock, timeoutClock: wall, logger });
  tones?.follow(bus);
  const client = BusClient.start(bus, endpoint);
  // Start once the hub knows us, so our declaration and first heartbeat are routed.
  // If the hub is not up yet, start anyway: the client keeps reconnecting.
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway"));
  if (tones && !(await tones.waitForFirstTone(TONE_WAIT_MS))) {
    logger.warn(`no time tone within ${TONE_WAIT_MS} ms (--clock tone); starting anyway, but mission time stands still and no timer fires until the first tone arrives`);
  }
  const service = new CounterService({ bus, clock, livenessClock: wall, logger, parameters, apid });
  await service.start();
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    await client.close(); // lets the final heartbeat reach the hub
    bus.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
