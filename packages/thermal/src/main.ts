#!/usr/bin/env node
// Runs the thermal governor in its own process, joined to a bus hub. It reads
// the thermal zones and sets the CPU frequency ceilings through the platform
// port (sysfs on a board, HardwareState and SetCpuMaxFrequency with the HIL),
// and publishes PowerBudget and ThermalEmergency on the bus.
// Usage: umbra-thermal <endpoint> [--platform hil|linux] [--config <file.json>]
//
// The config file holds the actors' energy model and the site's parameter
// defaults: { "config": ThermalConfig, "parameters": { "sustainablePowerW": 30, ... } }
// (both optional). Without one, --platform hil uses the HIL bench payload's
// model (HIL_CONFIG below: the emulated hardware's one cpufreq policy, an
// accelerator and four job slots) and linux uses the default CPU power model.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Bus, BusClient, RealClock, createLogger, parseEndpoint } from "@umbra/core";
import { createHilPlatform, createLinuxPlatform, type Platform, waitForHardwareState } from "@umbra/platform";
import { ThermalConfigError, checkConfig, type ThermalConfig } from "./config.js";
import { ThermalService } from "./service.js";

const USAGE = "usage: umbra-thermal <unix:/path | tcp:host:port> [--platform hil|linux] [--config <file.json>]";

/**
 * The HIL's emulated payload (hil/src/scenario/schema.ts `hardware:` defaults:
 * policy0 at 600/1000/1400/1800 MHz) as test/bench/thermal.bench.ts models it.
 * A scenario that changes the cpufreq steps needs a config file with a table
 * for them; the service refuses a table that misses a step, naming it.
 */
const HIL_CONFIG: ThermalConfig = {
  cpu: {
    tables: {
      policy0: [
        { khz: 600_000, watts: 6 },
        { khz: 1_000_000, watts: 11 },
        { khz: 1_400_000, watts: 19 },
        { khz: 1_800_000, watts: 32 },
      ],
    },
  },
  accelerator: {
    levels: [
      { level: 0, watts: 0 },
      { level: 1, watts: 4 },
      { level: 2, watts: 7 },
      { level: 3, watts: 10 },
    ],
  },
  jobs: { minSlots: 1, maxSlots: 4, slotW: 1.5 },
};

/** Site defaults for the HIL payload: the gains the bench tuned (packages/thermal/README.md, Tuning). */
const HIL_PARAMETERS: Record<string, unknown> = {
  sustainablePowerW: 30,
  kPo: 3,
  kPu: 6,
  kI: 0.02,
  integralMaxW: 25,
  conservativeBudgetW: 15,
};

/** A board without a config file: the default CPU power model on whatever policies sysfs lists. */
const LINUX_CONFIG: ThermalConfig = { jobs: { minSlots: 1, maxSlots: 4, slotW: 1.5 } };

/** Reads and checks a config file; every error names the file (and the field). */
function loadThermalConfigFile(file: string): { config: ThermalConfig; parameters: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (root === null || typeof root !== "object" || Array.isArray(root)) throw new Error(`${file}: must be a JSON object with "config" and/or "parameters"`);
  const unknown = Object.keys(root).filter((k) => k !== "config" && k !== "parameters");
  if (unknown.length > 0) throw new Error(`${file}: unknown field ${JSON.stringify(unknown[0])} (expected "config" and/or "parameters")`);
  const { config, parameters } = root as { config?: unknown; parameters?: unknown };
  if (parameters !== undefined && (parameters === null || typeof parameters !== "object" || Array.isArray(parameters))) throw new Error(`${file}: parameters: must be an object of parameter values`);
  const cfg = (config ?? LINUX_CONFIG) as ThermalConfig;
  try {
    checkConfig(cfg);
  } catch (err) {
    if (err instanceof ThermalConfigError) throw new Error(`${file}: ${err.message}`);
    throw err;
  }
  return { config: cfg, parameters: (parameters ?? {}) as Record<string, unknown> };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      platform: { type: "string", default: "hil" },
      config: { type: "string" },
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
  let site: { config: ThermalConfig; parameters: Record<string, unknown> };
  try {
    site = values.config
      ? loadThermalConfigFile(values.config)
      : values.platform === "hil"
        ? { config: HIL_CONFIG, parameters: HIL_PARAMETERS }
        : { config: LINUX_CONFIG, parameters: {} };
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  }
  const logger = createLogger({ name: "thermal" });
  const clock = new RealClock();
  const bus = new Bus({ node: `thermal-${process.pid}`, clock, logger });
  const client = BusClient.start(bus, parseEndpoint(target));
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway"));
  let platform: Platform;
  if (values.platform === "linux") platform = createLinuxPlatform();
  else {
    const hil = createHilPlatform({ bus, staleAfterMs: 5000 });
    // Give the HIL a moment to send its first hardware state, so the actors are
    // built at start and a config that does not fit the emulated hardware fails
    // the start. Without one the service starts anyway and builds them later.
    if (!(await waitForHardwareState(hil, 3000))) logger.warn("no hardware state from the HIL within 3 s; starting anyway");
    platform = hil;
  }
  // Bad parameters or a config that does not fit the hardware fail here, with the field named.
  const from = values.config ?? `the built-in ${values.platform} config`;
  let service: ThermalService;
  try {
    service = new ThermalService({ bus, clock, logger, parameters: site.parameters }, { thermal: platform.thermal, cpufreq: platform.cpufreq, config: site.config });
    await service.start();
  } catch (err) {
    throw new Error(`${from}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    await platform.close();
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
