#!/usr/bin/env node
// Runs the inference service in its own process, joined to a bus hub.
// Usage: umbra-inference <endpoint> [--data <dir>] [--platform hil|linux] [--models a,b] [--threads n]
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Bus, BusClient, RealClock, createLogger, parseEndpoint } from "@umbra/core";
import { createHilPlatform, createLinuxPlatform, type Platform, waitForHardwareState } from "@umbra/platform";
import { installShippedModels } from "./bootstrap.js";
import { ModelRegistry } from "./registry.js";
import { ortReplicaFactory } from "./replica.js";
import { InferenceService } from "./service.js";

const USAGE = "usage: umbra-inference <unix:/path | tcp:host:port> [--data <dir>] [--platform hil|linux] [--models tiny-cls,ocr-cls] [--threads 1]";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      data: { type: "string", default: ".umbra/data/inference" },
      platform: { type: "string", default: "hil" },
      models: { type: "string", default: "tiny-cls,tiny-seg,ocr-cls" },
      threads: { type: "string", default: "1" },
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
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    console.error(`--threads must be an integer in 1..64 (ONNX Runtime intra-op threads per replica), got ${values.threads}\n${USAGE}`);
    process.exit(2);
  }
  const logger = createLogger({ name: "inference" });
  const clock = new RealClock();
  const bus = new Bus({ node: `inference-${process.pid}`, clock, logger });
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
  const dataDir = resolve(values.data);
  mkdirSync(dataDir, { recursive: true });
  const registry = ModelRegistry.open(join(dataDir, "models.db"));
  const service = new InferenceService({ bus, clock, logger }, { registry, power: platform.power, factory: ortReplicaFactory({ intraOpThreads: threads }) });
  await service.start();
  const installed = await installShippedModels(service, registry, join(dataDir, "models"), values.models.split(",").filter(Boolean));
  for (const f of installed.failed) logger.error({ model: f.model }, `shipped model not installed: ${f.error}`);
  logger.info({ registered: installed.registered, activated: installed.activated }, "models ready");
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    registry.close();
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
