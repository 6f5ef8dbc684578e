// `pnpm bench tmr`: throughput of each protection mode relative to single
// unprotected inference on the same model, in the same run (issue
// "Radiation-tolerant inference").
//
// Models: the real PaddleOCR text-direction classifier (argmax voter, tiles
// of 3x48x192) and the PP-OCRv4 text detector on 3x64x64 tiles (median voter
// over the probability map). Tiles go in batches of 8 in one tensor, as the
// job runner sends them: each replica then keeps its weights in cache for the
// whole batch. With one tile per call every replica's weights are evicted by
// the next replica's, which costs TMR a further ~15 % on this machine; that
// case is reported too, as information. Each mode runs through the
// TmrExecutor with replicas built from a scrubber-protected master copy,
// exactly as the inference service runs it; every replica has one intra-op
// thread. The modes take turns call by call (single, duplex, tmr, bare), so
// drift on a noisy machine hits all of them alike; throughput is tiles/s over
// all calls. Informational: a bare onnxruntime session.run, to show what the
// executor itself costs.
// Targets (batched): duplex-with-arbitration >= 0.45x single, full TMR >= 0.32x.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Bus, SimClock, silentLogger } from "@umbra/core";
import { canaryInput, loadMasterCopy, ortReplicaFactory, shippedModels, TmrExecutor, type ProtectionMode, type ShippedModel } from "@umbra/inference";
import { Scrubber } from "@umbra/memory";
import { result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const ROUNDS = 5;
const TARGET_MS_PER_ROUND = 500;

const BATCH = 8;

async function measureModel(model: ShippedModel, batch: number, clock: SimClock, scrubber: Scrubber, context: BenchContext): Promise<BenchResult[]> {
  const sha256 = createHash("sha256").update(readFileSync(model.path)).digest("hex");
  const master = await loadMasterCopy(scrubber, clock, `bench/${model.id}/b${batch}`, { path: model.path, sha256 });
  const factory = ortReplicaFactory({ intraOpThreads: 1 });
  const executor = await TmrExecutor.create({ master, factory, voter: model.voter, classes: model.voter === "argmax" ? model.labels.length : undefined });
  const bare = await factory(master.bytes);
  const inputName = bare.inputNames[0]!;
  const inputs = canaryInput(inputName, [batch, ...model.inputDims.slice(1)]);
  try {
    // Warm up and size a round so each mode runs for about TARGET_MS_PER_ROUND.
    for (let i = 0; i < 10; i++) await executor.infer(inputs, "single");
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) await executor.infer(inputs, "single");
    const perSingleMs = (performance.now() - t0) / 10;
    const n = Math.max(5, Math.round(TARGET_MS_PER_ROUND / perSingleMs));
    context.log(`${model.id}, batch ${batch}: ${perSingleMs.toFixed(2)} ms per single inference; ${ROUNDS * n} calls per mode, interleaved`);

    const modes: ProtectionMode[] = ["single", "duplex", "tmr"];
    const elapsed: Record<string, number> = { single: 0, duplex: 0, tmr: 0, bare: 0 };
    // Interleaved call by call, so a burst of load from elsewhere falls on every mode alike.
    for (let i = 0; i < ROUNDS * n; i++) {
      for (const mode of modes) {
        const start = performance.now();
        const r = await executor.infer(inputs, mode);
        elapsed[mode]! += performance.now() - start;
        if (r.status !== "unvoted" && r.status !== "unanimous") throw new Error(`${model.id} ${mode}: unexpected vote ${r.status} without faults`);
      }
      const start = performance.now();
      await bare.run(inputs);
      elapsed["bare"]! += performance.now() - start;
    }
    // Tiles per second: inferences x batch.
    const rate = (mode: string) => (ROUNDS * n * batch) / (elapsed[mode]! / 1000);
    const single = rate("single");
    const label = `${model.id} x${batch}`;
    const targeted = batch === BATCH;
    return [
      result(`${label} single (unprotected)`, single, "tiles/s", { baseline: rate("bare"), target: "informational (baseline: bare onnxruntime run)" }),
      result(`${label} duplex with arbitration`, rate("duplex"), "tiles/s", targeted ? { baseline: single, target: "ratio >= 0.45", met: rate("duplex") / single >= 0.45 } : { baseline: single, target: "informational (one tile per call)" }),
      result(`${label} full TMR`, rate("tmr"), "tiles/s", targeted ? { baseline: single, target: "ratio >= 0.32", met: rate("tmr") / single >= 0.32 } : { baseline: single, target: "informational (one tile per call)" }),
    ];
  } finally {
    await bare.release();
    await executor.close();
    master.close();
  }
}

export const tmrBenchmark: Benchmark = {
  name: "tmr",
  description: "inference throughput under duplex and TMR vs single unprotected (real PaddleOCR models)",
  async run(context: BenchContext): Promise<BenchResult[]> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "umbra-bench-tmr-"));
    const clock = new SimClock();
    const bus = new Bus({ node: "bench-tmr", clock, logger: silentLogger() });
    const scrubber = new Scrubber({ service: "bench", bus, clock });
    try {
      const models = shippedModels(dir).filter((m) => m.id === "ocr-cls" || m.id === "ocr-det");
      const results: BenchResult[] = [];
      for (const model of models) for (const batch of [BATCH, 1]) results.push(...(await measureModel(model, batch, clock, scrubber, context)));
      return results;
    } finally {
      scrubber.close();
      bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
