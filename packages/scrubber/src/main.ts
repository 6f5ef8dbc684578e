#!/usr/bin/env node
// Runs the scrubber service in its own process, joined to a bus hub: it
// aggregates every process's ScrubStatus, configures their scrub agents, and
// reads the EDAC counters (sysfs on a board, HardwareState from the HIL).
// Usage: umbra-scrubber <endpoint> [--platform hil|linux]
import { runServiceProcess } from "@umbra/platform";
import { ScrubberService } from "./service.js";

await runServiceProcess({
  name: "scrubber",
  usage: "usage: umbra-scrubber <unix:/path | tcp:host:port> [--platform hil|linux]",
  create: ({ bus, clock, logger, platform }) => new ScrubberService({ bus, clock, logger }, { edac: platform.edac }),
});
