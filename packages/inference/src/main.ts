#!/usr/bin/env node
// Runs the inference service in its own process, joined to a bus hub.
// Usage: umbra-inference <endpoint> [--data <dir>] [--platform hil|linux] [--clock tone|real] [--models a,b] [--threads n]
// Environment: UMBRA_PARAMETERS (JSON object of parameter values), UMBRA_APID.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { runServiceProcess, UsageError } from "@umbra/platform";
import { installShippedModels } from "./bootstrap.js";
import { ModelRegistry } from "./registry.js";
import { ortReplicaFactory } from "./replica.js";
import { InferenceService } from "./service.js";

await runServiceProcess({
  name: "inference",
  usage: "usage: umbra-inference <unix:/path | tcp:host:port> [--data <dir>] [--platform hil|linux] [--clock tone|real] [--models tiny-cls,ocr-cls] [--threads 1]",
  options: {
    data: { type: "string", default: ".umbra/data/inference" },
    models: { type: "string", default: "tiny-cls,tiny-seg,ocr-cls" },
    threads: { type: "string", default: "1" },
  },
  checkOptions: (values) => {
    const threads = Number(values["threads"]);
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new UsageError(`--threads must be an integer in 1..64 (ONNX Runtime intra-op threads per replica), got ${String(values["threads"])}`);
  },
  create: async ({ bus, clock, livenessClock, logger, platform, parameters, apid, values, onShutdown }) => {
    const dataDir = resolve(String(values["data"]));
    mkdirSync(dataDir, { recursive: true });
    const registry = ModelRegistry.open(join(dataDir, "models.db"));
    onShutdown(() => registry.close());
    const service = new InferenceService(
      { bus, clock, livenessClock, logger, parameters, apid },
      { registry, power: platform.power, activity: platform.activity, factory: ortReplicaFactory({ intraOpThreads: Number(values["threads"]) }) },
    );
    return {
      // Models are installed once the service runs (registration needs its scrub agent).
      start: async () => {
        await service.start();
        const installed = await installShippedModels(service, registry, join(dataDir, "models"), String(values["models"]).split(",").filter(Boolean));
        for (const f of installed.failed) logger.error({ model: f.model }, `shipped model not installed: ${f.error}`);
        logger.info({ registered: installed.registered, activated: installed.activated }, "models ready");
      },
      stop: () => service.stop(),
    };
  },
});
