#!/usr/bin/env node
// Runs the scrubber service in its own process, joined to a bus hub: it
// aggregates every process's ScrubStatus, configures their scrub agents, and
// reads the EDAC counters (sysfs on a board, HardwareState from the HIL).
// Usage: umbra-scrubber <endpoint> [--platform hil|linux] [--clock tone|real]
// Environment: UMBRA_PARAMETERS (JSON object of parameter values), UMBRA_APID.
import { runServiceProcess } from "@umbra/platform";
import { ScrubberService } from "./service.js";

await runServiceProcess({
  name: "scrubber",
  usage: "usage: umbra-scrubber <unix:/path | tcp:host:port> [--platform hil|linux] [--clock tone|real]",
  create: ({ bus, clock, livenessClock, logger, platform, parameters, apid }) =>
    new ScrubberService({ bus, clock, livenessClock, logger, parameters, apid }, { edac: platform.edac }),
});
