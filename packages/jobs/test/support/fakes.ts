// Test doubles at the job runner's boundaries: the platform's power and
// illumination ports, and the inference backend. The backend takes simulated
// time per inference and makes the power port read more while it computes,
// so the runner's energy learning and metering see a real signal.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimClock } from "@umbra/core";
import type { IlluminationPort, IlluminationReading, PowerPort, PowerReadings } from "@umbra/platform";
import { PlatformError } from "@umbra/platform";
import type { InferenceBackend, InferenceOutcome, ModelDescription, OutputTensor } from "../../src/backend.js";
import { InferenceUnavailable } from "../../src/backend.js";
import type { ProtectionName } from "../../src/job.js";
import { syntheticTiles } from "../../src/tiles.js";

export const BUS_V = 28;

export interface FakeModel {
  description: ModelDescription;
  /** Simulated seconds per protected inference. */
  seconds: number;
  /** Extra bus power while it computes, W. */
  watts: number;
}

export function classifier(model: string, over: Partial<FakeModel> & { accuracy?: number } = {}): FakeModel {
  return {
    description: {
      model,
      loaded: true,
      accuracy: over.accuracy ?? 0.9,
      labels: ["clear", "cloudy"],
      voter: "argmax",
      inputName: "x",
      inputDims: [1, 3, 16, 16],
      energyJ: 0,
      latencyMs: 0,
    },
    seconds: over.seconds ?? 0.1,
    watts: over.watts ?? 10,
  };
}

export function segmenter(model: string, over: Partial<FakeModel> = {}): FakeModel {
  return {
    description: { model, loaded: true, accuracy: 0.8, labels: [], voter: "median", inputName: "x", inputDims: [-1, 3, -1, -1], energyJ: 0, latencyMs: 0 },
    seconds: over.seconds ?? 0.1,
    watts: over.watts ?? 10,
  };
}

export class FakeBackend implements InferenceBackend {
  readonly models = new Map<string, FakeModel>();
  busyW = 0;
  calls: { model: string; protection: ProtectionName; dims: number[] }[] = [];
  failNext = 0;

  constructor(
    private readonly clock: SimClock,
    models: FakeModel[],
  ) {
    for (const m of models) this.models.set(m.description.model, m);
  }

  async describe(model: string): Promise<ModelDescription | undefined> {
    const m = this.models.get(model);
    return m ? { ...m.description } : undefined;
  }

  async infer(model: string, protection: ProtectionName, input: OutputTensor): Promise<InferenceOutcome> {
    const m = this.models.get(model);
    if (!m || !m.description.loaded) throw new InferenceUnavailable(`${model} is not loaded`);
    if (this.failNext > 0) {
      this.failNext--;
      throw new InferenceUnavailable(`${model}: timed out`);
    }
    this.calls.push({ model, protection, dims: input.dims });
    this.busyW += m.watts;
    try {
      await this.clock.sleep(m.seconds * 1000);
    } finally {
      this.busyW -= m.watts;
    }
    // Brightness decides the class: bright tiles are "cloudy".
    let mean = 0;
    for (const v of input.data) mean += v;
    mean /= input.data.length;
    if (m.description.voter === "argmax") {
      const cloudy = mean > 0.6;
      return { outputs: [{ name: "p", dims: [1, 2], data: new Float32Array(cloudy ? [0.1, 0.9] : [0.9, 0.1]) }], label: cloudy ? "cloudy" : "clear", confidence: 0.9, vote: "unanimous", computeS: m.seconds };
    }
    // A map with one bright square.
    const [h, w] = [input.dims[2]!, input.dims[3]!];
    const map = new Float32Array(h * w);
    for (let y = 2; y < 6; y++) for (let x = 3; x < 8; x++) map[y * w + x] = 0.9;
    return { outputs: [{ name: "map", dims: [1, 1, h, w], data: map }], label: "", confidence: 0, vote: "unanimous", computeS: m.seconds };
  }
}

export class FakePower implements PowerPort {
  socPct = 80;
  inputPowerW = 80;
  baseW = 20;
  broken = false;
  constructor(private readonly backend: FakeBackend) {}
  async read(): Promise<PowerReadings> {
    if (this.broken) throw new PlatformError("power", "test", "reading out of range");
    return { busVoltageV: BUS_V, busCurrentA: (this.baseW + this.backend.busyW) / BUS_V, inputPowerW: this.inputPowerW, batterySocPct: this.socPct };
  }
}

export class FakeIllumination implements IlluminationPort {
  reading: IlluminationReading = { sunlit: true, secondsToTransition: 3000, eclipseDurationS: 2100, orbitPeriodS: 5700 };
  async read(): Promise<IlluminationReading> {
    return { ...this.reading };
  }
}

/** A folder of synthetic PNG tiles; returns its path and which are cloudy. */
export function tileFolder(count: number, seed = 1, size = 24): { folder: string; cloudy: boolean[]; bytes: number } {
  const folder = mkdtempSync(join(tmpdir(), "umbra-tiles-"));
  const tiles = syntheticTiles(count, size, seed);
  let bytes = 0;
  for (const t of tiles) {
    writeFileSync(join(folder, t.name), t.png);
    bytes += t.png.length;
  }
  return { folder, cloudy: tiles.map((t) => t.cloudy), bytes };
}
