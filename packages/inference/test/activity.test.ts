import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceHarness } from "@umbra/core/testing";
import type { ActivityPort } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildTinyCnn, TINY_CNN_INPUT } from "../src/onnx/build-cnn.js";
import { ModelRegistry } from "../src/registry.js";
import { installShippedModels } from "../src/bootstrap.js";
import { shippedModels } from "../src/shipped-models.js";
import { ortReplicaFactory, type NamedTensors, type Replica, type ReplicaFactory } from "../src/replica.js";
import { InferenceService } from "../src/service.js";
import { canaryInput } from "../src/tensors.js";
import { TmrExecutor, type MasterCopy } from "../src/tmr-executor.js";

const classifier = buildTinyCnn({ head: "classifier", size: 16, classes: 4, seed: 21 });
const LABELS = ["a", "b", "c", "d"];
const input = () => canaryInput(TINY_CNN_INPUT, [1, 3, 16, 16], 5);
/** Stopwatch ms each replica run takes (the fake stopwatch moves by this much per run). */
const RUN_MS = 50;

/** The stopwatch the service and its executors read: it moves only when a replica runs. */
let stopwatchMs = 0;
/** When set, the next replica run waits for it (a long run spanning report periods). */
let gate: Promise<void> | undefined;

/** Real ONNX Runtime replicas whose runs "take" RUN_MS of the fake stopwatch (or as long as the gate holds them). */
function timedFactory(): ReplicaFactory {
  const ort = ortReplicaFactory();
  return async (bytes) => {
    const inner = await ort(bytes);
    const replica: Replica = {
      get inputNames() {
        return inner.inputNames;
      },
      get outputNames() {
        return inner.outputNames;
      },
      describe: () => inner.describe(),
      run: async (inputs: NamedTensors) => {
        const out = await inner.run(inputs);
        if (gate) await gate;
        else stopwatchMs += RUN_MS;
        return out;
      },
      release: () => inner.release(),
    };
    return replica;
  };
}

class RecordingActivity implements ActivityPort {
  readonly reports: { source: string; busyCores: number }[] = [];
  throwNext = false;
  report(source: string, busyCores: number): void {
    if (this.throwNext) {
      this.throwNext = false;
      throw new RangeError("activity: refused");
    }
    this.reports.push({ source, busyCores });
  }
  take(): number[] {
    return this.reports.splice(0).map((r) => r.busyCores);
  }
}

let dir: string;
let registry: ModelRegistry;
let activity: RecordingActivity;
let h: ServiceHarness<InferenceService>;

async function start(withActivity = true, parameters: Record<string, unknown> = {}) {
  h = await ServiceHarness.start(
    (ctx) => new InferenceService(ctx, { registry, factory: timedFactory(), stopwatch: () => stopwatchMs, ...(withActivity ? { activity } : {}) }),
    { parameters: { canaryPeriodMs: 0, reportPeriodMs: 3_600_000, ...parameters } },
  );
}

async function installModel(): Promise<void> {
  const path = join(dir, "cls.onnx");
  writeFileSync(path, classifier);
  await h.service.register({ id: "tiny-cls", version: 1, path, voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16] });
  await h.service.activate("tiny-cls", 1);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "umbra-activity-"));
  registry = ModelRegistry.open(join(dir, "models.db"));
  activity = new RecordingActivity();
  stopwatchMs = 0;
  gate = undefined;
});

afterEach(async () => {
  await h?.stop();
  registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("InferenceService compute activity", () => {
  it("reports busy cores = replica compute time / elapsed clock time, every activityPeriodMs, as its own name", async () => {
    await start();
    await installModel(); // 1 golden run at registration + 3 canary runs at activation = 200 ms
    await h.advance(1000);
    expect(activity.reports).toEqual([{ source: "inference", busyCores: 0.2 }]);
    activity.take();
    for (let i = 0; i < 4; i++) await h.service.infer("tiny-cls", input(), "tmr"); // 4 × 3 runs × 50 ms
    await h.service.infer("tiny-cls", input(), "single"); // 1 run
    await h.advance(1000);
    expect(activity.take()).toEqual([0.65]);
    // Idle: 0, every period, no more often.
    await h.advance(3000);
    expect(activity.take()).toEqual([0, 0, 0]);
    // Two periods with one burst between: it lands in the period it was done in.
    await h.advance(500);
    await h.service.infer("tiny-cls", input(), "duplex"); // 2 runs agree: 100 ms
    await h.advance(500);
    await h.advance(1000);
    expect(activity.take()).toEqual([0.1, 0]);
  });

  it("counts canary runs, and more than one core when the work overlaps a period's length", async () => {
    await start();
    await installModel();
    await h.advance(1000);
    activity.take();
    await h.command("runCanary", { model: "" }); // 3 runs
    for (let i = 0; i < 10; i++) await h.service.infer("tiny-cls", input(), "tmr"); // 30 runs
    await h.advance(1000);
    expect(activity.take()).toEqual([1.65]);
  });

  it("spreads a run still in progress over the periods it spans", async () => {
    await start();
    await installModel();
    await h.advance(1000);
    activity.take();
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    const running = h.service.infer("tiny-cls", input(), "single");
    await new Promise((r) => setTimeout(r, 50)); // let ONNX Runtime finish; the run now waits at the gate
    stopwatchMs += 700; // 700 ms of this run fall in the first period
    await h.advance(1000);
    stopwatchMs += 500; // and 500 ms in the next, where it ends
    gate = undefined;
    release();
    await running;
    await h.advance(1000);
    expect(activity.take()).toEqual([0.7, 0.5]);
  });

  it("follows activityPeriodMs, refuses an out-of-range or NaN period and keeps the old one", async () => {
    await start();
    await installModel();
    await h.advance(1000);
    activity.take();
    expect((await h.setParameters({ activityPeriodMs: 5000 })).ok).toBe(true);
    for (let i = 0; i < 5; i++) await h.service.infer("tiny-cls", input(), "tmr"); // 750 ms
    await h.advance(4999);
    expect(activity.take()).toEqual([]);
    await h.advance(1);
    expect(activity.take()).toEqual([0.15]);
    for (const bad of [50, 60_001, 0, -1000]) {
      const r = await h.setParameters({ activityPeriodMs: bad });
      expect(r.ok, String(bad)).toBe(false);
    }
    // A NaN or a fraction can only come as a float value on the wire: refused as well.
    for (const floatValue of [Number.NaN, 1500.5, Number.POSITIVE_INFINITY]) {
      const r = await h.bus.request(
        umbra.core.v1.SetParameters,
        { service: "inference", values: [{ name: "activityPeriodMs", value: { floatValue } }] },
        umbra.core.v1.ParameterReport,
        { target: "inference" },
      );
      expect(r.ok, String(floatValue)).toBe(false);
    }
    expect((await h.getParameters(["activityPeriodMs"]))["activityPeriodMs"]).toBe(5000);
    await h.advance(5000);
    expect(activity.take()).toEqual([0]);
  });

  it("keeps running when the port refuses a report, and reports nothing without a port", async () => {
    await start();
    await installModel();
    activity.throwNext = true;
    await h.advance(1000);
    expect(activity.take()).toEqual([]);
    await h.advance(1000);
    expect(activity.take()).toEqual([0]);
    await h.stop();
    const silent = new RecordingActivity();
    activity = silent;
    await start(false); // loads the active model again: canary runs, but no port to tell
    expect(h.service.describe("tiny-cls").loaded).toBe(true);
    await h.advance(5000);
    expect(silent.reports).toEqual([]);
  });

  it("keeps the compute of a model replaced by a new version", async () => {
    await start();
    await installModel();
    await h.advance(1000);
    activity.take();
    await h.service.infer("tiny-cls", input(), "tmr"); // 150 ms on v1
    const v2 = join(dir, "cls-2.onnx");
    writeFileSync(v2, buildTinyCnn({ head: "classifier", size: 16, classes: 4, seed: 22 }));
    await h.service.register({ id: "tiny-cls", version: 2, path: v2, voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16] }); // 50 ms
    await h.service.activate("tiny-cls", 2); // 150 ms of canaries on v2; v1 unloaded
    await h.advance(1000);
    expect(activity.take()).toEqual([0.35]);
  });
});

describe("TmrExecutor.computeMs", () => {
  class Master implements MasterCopy {
    constructor(readonly bytes: Uint8Array) {}
    verify() {
      return { usable: true, detail: "clean" };
    }
  }

  it("adds up replica run time and counts a run in progress up to now, never decreasing", async () => {
    const executor = await TmrExecutor.create({ master: new Master(classifier), factory: timedFactory(), voter: "argmax", classes: 4, stopwatch: () => stopwatchMs });
    try {
      expect(executor.computeMs()).toBe(0);
      await executor.infer(input(), "tmr");
      expect(executor.computeMs()).toBe(150);
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      const running = executor.infer(input(), "single");
      await new Promise((r) => setTimeout(r, 50));
      stopwatchMs += 40;
      expect(executor.computeMs()).toBe(190);
      expect(executor.computeMs(stopwatchMs + 10)).toBe(200);
      stopwatchMs += 20;
      gate = undefined;
      release();
      await running;
      expect(executor.computeMs()).toBe(210);
      expect(executor.computeMs(stopwatchMs + 1000)).toBe(210);
      expect(executor.computeMs(Number.NaN)).toBe(210);
    } finally {
      await executor.close();
    }
  });
});

describe("InferenceService accuracy: registration passes it through", () => {
  it("stores a declared accuracy at registration and refuses one out of range", async () => {
    await start();
    const path = join(dir, "cls.onnx");
    writeFileSync(path, classifier);
    await expect(h.service.register({ id: "tiny-cls", version: 1, path, voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16], accuracy: 1.2 })).rejects.toThrow(/accuracy must be a number in 0..1/);
    expect(registry.list()).toEqual([]);
    await h.service.register({ id: "tiny-cls", version: 1, path, voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16], accuracy: 0.91 });
    expect(registry.get("tiny-cls", 1)?.accuracy).toBe(0.91);
    expect(h.service.describe("tiny-cls").accuracy).toBe(0.91);
    expect(createHash("sha256").update(classifier).digest("hex")).toBe(registry.get("tiny-cls", 1)?.sha256);
  });

  it("passes a catalogue entry's declared accuracy through at first boot; the shipped models declare none", async () => {
    await start();
    const path = join(dir, "cls.onnx");
    writeFileSync(path, classifier);
    const base = { version: 1, path, voter: "argmax" as const, labels: LABELS, inputDims: [1, 3, 16, 16], description: "test" };
    const result = await installShippedModels(h.service, registry, join(dir, "models"), ["declared"], () => [
      { ...base, id: "declared", accuracy: 0.875 },
      { ...base, id: "undeclared" },
      { ...base, id: "wrong", accuracy: 7 },
    ]);
    expect(result.registered).toEqual(["declared", "undeclared"]);
    expect(result.failed).toEqual([{ model: "wrong", error: expect.stringMatching(/accuracy must be a number in 0..1/) }]);
    expect(registry.get("declared", 1)?.accuracy).toBe(0.875);
    expect(registry.get("undeclared", 1)?.accuracy).toBe(0);
    expect(h.service.describe("declared").accuracy).toBe(0.875);
    expect(shippedModels(join(dir, "shipped")).every((m) => m.accuracy === undefined)).toBe(true);
  });
});
