#!/usr/bin/env node
// Runs the thermal governor in its own process, joined to a bus hub. It reads
// the thermal zones and sets the CPU frequency ceilings through the platform
// port (sysfs on a board, HardwareState and SetCpuMaxFrequency with the HIL),
// and publishes PowerBudget and ThermalEmergency on the bus.
// Usage: umbra-thermal <endpoint> [--platform hil|linux] [--clock tone|real] [--config <file.json>]
// Environment: UMBRA_PARAMETERS (JSON object of parameter values, over the
// config file's or the built-in ones), UMBRA_APID.
//
// The config file holds the actors' energy model and the site's parameter
// defaults: { "config": ThermalConfig, "parameters": { "sustainablePowerW": 30, ... } }
// (both optional). Without one, --platform hil uses the HIL bench payload's
// model (HIL_CONFIG below: the emulated hardware's one cpufreq policy, an
// accelerator and four job slots) and linux uses the default CPU power model.
import { readFileSync } from "node:fs";
import { runServiceProcess, UsageError } from "@umbra/platform";
import { ThermalConfigError, checkConfig, type ThermalConfig } from "./config.js";
import { HIL_CONFIG, HIL_PARAMETERS } from "./hil-payload.js";
import { ThermalService } from "./service.js";

const USAGE = "usage: umbra-thermal <unix:/path | tcp:host:port> [--platform hil|linux] [--clock tone|real] [--config <file.json>]";

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

let site: { config: ThermalConfig; parameters: Record<string, unknown> } = { config: LINUX_CONFIG, parameters: {} };

await runServiceProcess({
  name: "thermal",
  usage: USAGE,
  options: { config: { type: "string" } },
  // The config file is read before joining the bus, so a bad one fails at once.
  checkOptions: (values) => {
    try {
      site = values["config"] ? loadThermalConfigFile(String(values["config"])) : values["platform"] === "hil" ? { config: HIL_CONFIG, parameters: HIL_PARAMETERS } : { config: LINUX_CONFIG, parameters: {} };
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  },
  create: ({ bus, clock, livenessClock, logger, platform, parameters, apid, values }) => {
    // Bad parameters or a config that does not fit the hardware fail here, with the field named.
    const from = values["config"] ? String(values["config"]) : `the built-in ${String(values["platform"])} config`;
    const named = (err: unknown) => new Error(`${from}: ${err instanceof Error ? err.message : String(err)}`);
    let service: ThermalService;
    try {
      // The supervisor's values (UMBRA_PARAMETERS) win over the site's defaults.
      service = new ThermalService(
        { bus, clock, livenessClock, logger, parameters: { ...site.parameters, ...parameters }, apid },
        { thermal: platform.thermal, cpufreq: platform.cpufreq, config: site.config },
      );
    } catch (err) {
      throw named(err);
    }
    return {
      start: () => service.start().catch((err: unknown) => Promise.reject(named(err))),
      stop: () => service.stop(),
    };
  },
});
