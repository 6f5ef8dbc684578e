#!/usr/bin/env node
// Runs the TTC in its own process, joined to a bus hub: authenticated
// telecommanding with its command history and anti-replay state in
// <data>/ttc.db, and the telemetry archive in <data>/archive.db. Both are
// reopened after a restart, so nothing acknowledged is lost.
// Usage: umbra-ttc <endpoint> --data <dir> --keys <key file> [--platform hil|linux]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadKeyFile } from "@umbra/ccsds";
import { UsageError, runServiceProcess } from "@umbra/platform";
import { CommandHistory, ContactPlan, DownlinkQueue, ScheduleStore, SecurityState, TtcService, openArchive, openTtcDatabase } from "./index.js";

await runServiceProcess({
  name: "ttc",
  usage: "usage: umbra-ttc <unix:/path | tcp:host:port> --data <dir> --keys <key file> [--platform hil|linux]",
  options: {
    data: { type: "string" },
    keys: { type: "string" },
  },
  checkOptions: (values) => {
    if (typeof values["data"] !== "string" || !values["data"]) throw new UsageError("--data <dir> is required");
    if (typeof values["keys"] !== "string" || !values["keys"]) throw new UsageError("--keys <key file> is required");
  },
  create: async (env) => {
    const { bus, clock, logger, values } = env;
    const data = String(values["data"]);
    let keys;
    try {
      keys = await loadKeyFile(String(values["keys"]));
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    mkdirSync(data, { recursive: true });
    const db = openTtcDatabase(join(data, "ttc.db"));
    const archive = openArchive(join(data, "archive.db"));
    env.onShutdown(() => {
      db.close();
      archive.close();
    });
    return new TtcService(
      { bus, clock, logger, livenessClock: env.livenessClock, parameters: env.parameters, ...(env.apid !== undefined ? { apid: env.apid } : {}) },
      {
        keys,
        history: new CommandHistory(db),
        schedule: new ScheduleStore(db),
        security: new SecurityState(db),
        downlink: { queue: new DownlinkQueue(db), plan: new ContactPlan(db) },
        archive,
      },
    );
  },
});
