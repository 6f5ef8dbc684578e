#!/usr/bin/env node
// Runs the job runner in its own process, joined to a bus hub: it reads
// power and illumination through the platform (sysfs and the spacecraft
// bus's eclipse file on a board, HardwareState from the HIL on a bench),
// obeys the thermal governor's budget, and runs jobs through the inference
// service. Its queue, results, tenants and learned costs live in <data>/jobs.db.
// Usage: umbra-jobs <endpoint> --data <dir> [--platform hil|linux] [--clock tone|real] [--policy power-aware|fifo]
// Environment: UMBRA_PARAMETERS (JSON object of parameter values, over those
// the flags set), UMBRA_APID.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runServiceProcess, UsageError } from "@umbra/platform";
import { BusInferenceBackend } from "./backend.js";
import { JobsService } from "./service.js";
import { JobStore } from "./store.js";

const NUMERIC_PARAMETERS = ["batteryCapacityWh", "dodFloorPct", "marginPct", "maxConcurrency"] as const;

await runServiceProcess({
  name: "jobs",
  usage:
    "usage: umbra-jobs <unix:/path | tcp:host:port> --data <dir> [--platform hil|linux] [--clock tone|real] [--policy power-aware|fifo] [--battery-capacity-wh N] [--dod-floor-pct N] [--margin-pct N] [--max-concurrency N]",
  options: {
    data: { type: "string" },
    policy: { type: "string" },
    "battery-capacity-wh": { type: "string" },
    "dod-floor-pct": { type: "string" },
    "margin-pct": { type: "string" },
    "max-concurrency": { type: "string" },
  },
  checkOptions: (values) => {
    if (typeof values["data"] !== "string" || values["data"] === "") throw new UsageError("--data <dir> is required");
  },
  create: ({ bus, clock, livenessClock, logger, platform, parameters: fromEnvironment, apid, values, onShutdown }) => {
    const dir = values["data"] as string;
    mkdirSync(dir, { recursive: true });
    const store = JobStore.open(join(dir, "jobs.db"));
    onShutdown(() => store.close());
    const parameters: Record<string, unknown> = {};
    if (typeof values["policy"] === "string") parameters["policy"] = values["policy"];
    const flags: Record<(typeof NUMERIC_PARAMETERS)[number], string> = {
      batteryCapacityWh: "battery-capacity-wh",
      dodFloorPct: "dod-floor-pct",
      marginPct: "margin-pct",
      maxConcurrency: "max-concurrency",
    };
    for (const name of NUMERIC_PARAMETERS) {
      const raw = values[flags[name]];
      if (typeof raw !== "string") continue;
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`--${flags[name]} must be a number, got ${JSON.stringify(raw)}`);
      parameters[name] = n;
    }
    // The supervisor's values (UMBRA_PARAMETERS) win over the flags'.
    Object.assign(parameters, fromEnvironment);
    try {
      return new JobsService(
        { bus, clock, livenessClock, logger, parameters, apid },
        { store, power: platform.power, illumination: platform.illumination, backend: new BusInferenceBackend(bus) },
      );
    } catch (err) {
      // A parameter out of range is the operator's to fix.
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  },
});
