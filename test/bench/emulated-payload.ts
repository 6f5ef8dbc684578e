// The emulated payload computer shared by the benchmarks that run the real
// job runner in the HIL (`jobs`, `thermal`).
//
// An inference takes simulated time = its measured host latency on ONNX
// Runtime (at the start of the run) × a declared board slowdown ÷ the board
// cores it uses × the replicas its protection runs ÷ the CPU speed the board
// has now (its cpufreq ceiling over the top frequency, where the benchmark
// says so). Meanwhile it keeps its cores busy, reported to the HIL as
// ComputeActivity, which the HIL turns into payload load (scaled by the
// frequency squared), so the battery and the die feel it. It returns outputs
// really computed by ONNX Runtime on synthetic tiles at the start of the run.
// When the power system sheds the payload, the computer is off: the inference
// in flight is lost and none runs until power returns.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Bus, SimClock, silentLogger, type Clock } from "@umbra/core";
import { canaryInput, loadMasterCopy, ortReplicaFactory, shippedModels, TmrExecutor, type ShippedModel } from "@umbra/inference";
import {
  InferenceUnavailable,
  replicaRuns,
  syntheticTiles,
  decodePng,
  tileTensor,
  type InferenceBackend,
  type InferenceOutcome,
  type ModelDescription,
  type OutputTensor,
  type ProtectionName,
} from "@umbra/jobs";
import { Scrubber } from "@umbra/memory";
import type { ActivityPort } from "@umbra/platform";
import type { BenchContext } from "./report.js";

/** How a board core compares with this host's, and how many an inference uses. */
export interface BoardModel {
  /**
   * How much slower one board core is than one core of this host: declared,
   * not measured (a low-power SoC core without this host's vector units,
   * running ONNX Runtime's portable kernels).
   */
  slowdown: number;
  /** ONNX Runtime intra-op threads (busy cores) per inference on the board. */
  threads: number;
  /** How well those threads scale (1 = perfectly). */
  threadEfficiency: number;
}

export interface VariantSpec {
  /** Name jobs use. */
  id: string;
  shipped: string;
  /** Input tile size (square; the classifier uses its fixed input). */
  dims: number[];
  /** Declared accuracy for the workload (an input of the benchmark, not a measurement). */
  accuracy: number;
}

/** The models the workloads use: PaddleOCR's detector and classifier, and the small built-in variants. */
export const VARIANTS: readonly VariantSpec[] = [
  { id: "det", shipped: "ocr-det", dims: [1, 3, 320, 320], accuracy: 0.9 },
  { id: "det-lite", shipped: "tiny-seg", dims: [1, 3, 32, 32], accuracy: 0.72 },
  { id: "cls", shipped: "ocr-cls", dims: [1, 3, 48, 192], accuracy: 0.95 },
  { id: "cls-lite", shipped: "tiny-cls", dims: [1, 3, 32, 32], accuracy: 0.8 },
];

export interface MeasuredVariant {
  spec: VariantSpec;
  model: ShippedModel;
  /** Board seconds per unprotected inference at the top CPU frequency. */
  seconds: number;
  outcomes: InferenceOutcome[];
}

/** Runs each model on real tiles with ONNX Runtime: host latency and a set of real outputs. */
export async function measureVariants(ctx: BenchContext, modelsDir: string, board: BoardModel, ids?: readonly string[]): Promise<Map<string, MeasuredVariant>> {
  const clock = new SimClock();
  const bus = new Bus({ node: "bench-measure", clock, logger: silentLogger() });
  const scrubber = new Scrubber({ bus, clock, service: "bench-measure" });
  const catalogue = shippedModels(modelsDir);
  const out = new Map<string, MeasuredVariant>();
  const tiles = syntheticTiles(8, 96, 11);
  try {
    for (const spec of VARIANTS.filter((v) => !ids || ids.includes(v.id))) {
      const model = catalogue.find((m) => m.id === spec.shipped)!;
      const sha256 = createHash("sha256").update(readFileSync(model.path)).digest("hex");
      const master = await loadMasterCopy(scrubber, clock, `bench/${spec.id}`, { path: model.path, sha256 });
      const factory = ortReplicaFactory({ intraOpThreads: 1 });
      const executor = await TmrExecutor.create({ master, factory, voter: model.voter, classes: model.voter === "argmax" ? model.labels.length : undefined });
      const probe = await factory(master.bytes);
      const inputName = probe.inputNames[0]!;
      const [h, w] = [spec.dims[2]!, spec.dims[3]!];
      const outcomes: InferenceOutcome[] = [];
      for (const t of tiles) {
        const data = tileTensor(decodePng(t.png, t.name), h, w);
        const r = await executor.infer(new Map([[inputName, { dims: spec.dims, data }]]), "single");
        const [name, o] = [...r.outputs][0]!;
        const cls = r.labels?.[0];
        const label = model.voter === "argmax" && cls !== undefined && cls >= 0 ? (model.labels[cls] ?? "") : "";
        outcomes.push({ outputs: [{ name, dims: [...o.dims], data: new Float32Array(o.data) }], label, confidence: r.confidences?.[0] ?? 0, vote: "unanimous", computeS: 0 });
      }
      // Host latency of one unprotected inference.
      const input = canaryInput(inputName, spec.dims);
      for (let i = 0; i < 3; i++) await executor.infer(input, "single");
      const n = 10;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await executor.infer(input, "single");
      const hostMs = (performance.now() - t0) / n;
      const seconds = ((hostMs / 1000) * board.slowdown) / (board.threads * board.threadEfficiency);
      ctx.log(`${spec.id} (${spec.shipped} ${spec.dims.slice(2).join("x")}): ${hostMs.toFixed(2)} ms on this host → ${seconds.toFixed(3)} s per replica on ${board.threads} board core(s)`);
      out.set(spec.id, { spec, model, seconds, outcomes });
    }
  } finally {
    scrubber.close();
    bus.close();
  }
  return out;
}

export interface EmulatedPayloadOptions {
  clock: Clock;
  variants: Map<string, MeasuredVariant>;
  activity: ActivityPort;
  /** The HIL's step: how often busy cores are reported, and the longest slice an inference advances by. */
  stepS: number;
  board: BoardModel;
  /** Whole-bus power now, for what the inference service would have learned per inference. */
  busPowerW: () => number;
  /** CPU speed now, as a fraction of the top frequency (default: always 1). */
  speed?: () => number;
}

/** The payload computer: inference takes simulated time and power; nothing runs while the power system sheds it. */
export class EmulatedPayload implements InferenceBackend {
  private busy = 0;
  private busyCoreS = 0;
  private last: number;
  private calls = 0;
  railOff = false;
  lostInferences = 0;
  /** Inferences completed, and the board seconds at the top frequency they took (replicas included). */
  completed = 0;
  workS = 0;

  constructor(private readonly o: EmulatedPayloadOptions) {
    this.last = o.clock.monotonicMs();
    o.clock.setInterval(() => this.report(), o.stepS * 1000);
  }

  private accumulate(): void {
    const now = this.o.clock.monotonicMs();
    this.busyCoreS += (this.busy * (now - this.last)) / 1000;
    this.last = now;
  }

  private report(): void {
    this.accumulate();
    this.o.activity.report("payload-compute", this.busyCoreS / this.o.stepS);
    this.busyCoreS = 0;
  }

  async describe(model: string): Promise<ModelDescription | undefined> {
    const v = this.o.variants.get(model);
    if (!v) return undefined;
    return {
      model,
      loaded: true,
      accuracy: v.spec.accuracy,
      labels: v.model.labels,
      voter: v.model.voter,
      inputName: "x",
      inputDims: v.spec.dims,
      // What the inference service would have learned: whole-bus power × compute time.
      energyJ: this.o.busPowerW() * v.seconds,
      latencyMs: v.seconds * 1000,
    };
  }

  async infer(model: string, protection: ProtectionName, _input: OutputTensor): Promise<InferenceOutcome> {
    const v = this.o.variants.get(model);
    if (!v) throw new InferenceUnavailable(`${model} is not loaded`);
    const { clock, stepS, board } = this.o;
    // Work left, in board seconds at the top frequency.
    const total = v.seconds * replicaRuns(protection);
    let left = total;
    // Compute time of the attempt that completes (at a lowered ceiling, longer than `total`).
    let computeS = 0;
    while (left > 1e-9) {
      while (this.railOff) await clock.sleep(stepS * 1000);
      // The ceiling can change between slices; a slice runs at the speed it started with.
      const speed = Math.min(1, Math.max(0.01, this.o.speed?.() ?? 1));
      const sliceS = Math.min(stepS, left / speed);
      this.accumulate();
      this.busy += board.threads;
      await clock.sleep(sliceS * 1000);
      this.accumulate();
      this.busy -= board.threads;
      if (this.railOff) {
        // The payload lost power during the slice: the inference starts over.
        this.lostInferences++;
        left = total;
        computeS = 0;
      } else {
        left -= sliceS * speed;
        computeS += sliceS;
      }
    }
    this.completed++;
    this.workS += total;
    const o = v.outcomes[this.calls++ % v.outcomes.length]!;
    return { ...o, computeS };
  }
}
