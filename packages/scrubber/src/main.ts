#!/usr/bin/env node
// Runs the scrubber service in its own process, joined to a bus hub: it
// aggregates every process's ScrubStatus, configures their scrub agents, and
// reads the EDAC counters (sysfs on a board, HardwareState from the HIL).
// Usage: umbra-scrubber <endpoint> [--platform hil|linux]
import { parseArgs } from "node:util";
import { Bus, BusClient, RealClock, createLogger, parseEndpoint } from "@umbra/core";
import { createHilPlatform, createLinuxPlatform, type Platform, waitForHardwareState } from "@umbra/platform";
import { ScrubberService } from "./service.js";

const USAGE = "usage: umbra-scrubber <unix:/path | tcp:host:port> [--platform hil|linux]";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      platform: { type: "string", default: "hil" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const target = positionals[0] ?? process.env["UMBRA_BUS"];
  if (!target) {
    console.error(USAGE);
    process.exit(2);
  }
  if (values.platform !== "hil" && values.platform !== "linux") {
    console.error(`--platform must be hil or linux, got ${values.platform}\n${USAGE}`);
    process.exit(2);
  }
  const logger = createLogger({ name: "scrubber" });
  const clock = new RealClock();
  const bus = new Bus({ node: `scrubber-${process.pid}`, clock, logger });
  const client = BusClient.start(bus, parseEndpoint(target));
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway"));
  let platform: Platform;
  if (values.platform === "linux") platform = createLinuxPlatform();
  else {
    const hil = createHilPlatform({ bus, staleAfterMs: 5000 });
    // The first port reads come at start: let the HIL's first hardware state arrive so they do not fail spuriously.
    if (!(await waitForHardwareState(hil, 3000))) logger.warn("no hardware state from the HIL within 3 s; starting anyway");
    platform = hil;
  }
  const service = new ScrubberService({ bus, clock, logger }, { edac: platform.edac });
  await service.start();
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    await platform.close();
    await client.close();
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
