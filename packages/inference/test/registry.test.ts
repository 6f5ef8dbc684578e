import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildTinyCnn } from "../src/onnx/build-cnn.js";
import { ModelRegistry, RegistryError, type NewModel } from "../src/registry.js";

let dir: string;
let registry: ModelRegistry;
const bytes = buildTinyCnn({ head: "classifier", size: 16, classes: 4 });
const sha = createHash("sha256").update(bytes).digest("hex");
const canary = { inputs: new Uint8Array([1]), golden: new Uint8Array([2]) };

function model(overrides: Partial<NewModel> = {}): NewModel {
  return {
    id: "tiny",
    version: 1,
    path: join(dir, "tiny.onnx"),
    voter: "argmax",
    labels: ["a", "b", "c", "d"],
    inputs: [{ name: "image", dims: [-1, 3, 16, 16] }],
    outputs: [{ name: "probabilities", dims: [-1, 4] }],
    inputDims: [1, 3, 16, 16],
    ...overrides,
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "umbra-registry-"));
  writeFileSync(join(dir, "tiny.onnx"), bytes);
  registry = ModelRegistry.open(join(dir, "models.db"));
});

afterEach(() => {
  registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ModelRegistry", () => {
  it("stores an entry with its hash, shapes, labels and canary, and survives a reopen", () => {
    const entry = registry.prepare(model(), bytes);
    expect(entry.sha256).toBe(sha);
    expect(entry.sizeBytes).toBe(bytes.length);
    registry.add(entry, canary);
    registry.setActive("tiny", 1);
    registry.close();
    registry = ModelRegistry.open(join(dir, "models.db"));
    expect(registry.active("tiny")).toMatchObject({ id: "tiny", version: 1, sha256: sha, labels: ["a", "b", "c", "d"], voter: "argmax", samples: 0 });
    expect(registry.canary("tiny", 1)).toEqual(canary);
  });

  it("learns energy and latency from measurements instead of keeping a constant", () => {
    registry.add(registry.prepare(model(), bytes), canary);
    registry.recordMeasurement("tiny", 1, { energyJ: 2, latencyMs: 10, count: 1 });
    expect(registry.get("tiny", 1)).toMatchObject({ energyJ: 2, latencyMs: 10, samples: 1 });
    const after = registry.recordMeasurement("tiny", 1, { energyJ: 4, latencyMs: 20, count: 1 });
    expect(after.energyJ).toBeCloseTo(2.2, 9);
    expect(after.latencyMs).toBeCloseTo(11, 9);
    // Many measurements at a new level move the estimate most of the way there.
    const settled = registry.recordMeasurement("tiny", 1, { energyJ: 4, latencyMs: 20, count: 100 });
    expect(settled.energyJ).toBeCloseTo(4, 3);
    expect(settled.samples).toBe(102);
  });

  it("refuses bad measurements and leaves the learned figures alone", () => {
    registry.add(registry.prepare(model(), bytes), canary);
    registry.recordMeasurement("tiny", 1, { energyJ: 1, latencyMs: 1, count: 1 });
    for (const bad of [{ energyJ: NaN, latencyMs: 1, count: 1 }, { energyJ: -1, latencyMs: 1, count: 1 }, { energyJ: 1, latencyMs: Infinity, count: 1 }, { energyJ: 1, latencyMs: 1, count: 0 }]) {
      expect(() => registry.recordMeasurement("tiny", 1, bad)).toThrow(RegistryError);
    }
    expect(() => registry.recordMeasurement("nope", 1, { energyJ: 1, latencyMs: 1, count: 1 })).toThrow(/not registered/);
    expect(registry.get("tiny", 1)).toMatchObject({ energyJ: 1, latencyMs: 1, samples: 1 });
  });

  it("refuses malformed, hostile and inconsistent entries with a clear error, storing nothing", () => {
    const cases: [Partial<NewModel>, RegExp][] = [
      [{ id: "Bad Id" }, /model id/],
      [{ id: "../../etc" }, /model id/],
      [{ id: "x".repeat(41) }, /model id/],
      [{ version: 0 }, /version/],
      [{ version: 1.5 }, /version/],
      [{ voter: "mode" as "median" }, /voter must be one of/],
      [{ labels: ["only-one"] }, /at least 2 labels/],
      [{ labels: ["a", "b", "c"] }, /4 classes but 3 labels/],
      [{ labels: Array.from({ length: 1001 }, (_, i) => `l${i}`) }, /at most 1000/],
      [{ sha256: "00".repeat(32) }, /hashes to .* expected/],
      [{ sha256: "not-hex" }, /64 lowercase hex/],
      [{ inputDims: [1, 3, 17, 16] }, /does not fit/],
      [{ inputDims: [0, 3, 16, 16] }, /bad dimension/],
      [{ inputs: [] }, /at least one input/],
      [{ path: "" }, /path/],
      [{ path: "a\0b" }, /path/],
    ];
    for (const [overrides, error] of cases) expect(() => registry.prepare(model(overrides), bytes), JSON.stringify(overrides).slice(0, 60)).toThrow(error);
    expect(() => registry.prepare(model(), new Uint8Array())).toThrow(/empty/);
    expect(registry.list()).toEqual([]);
  });

  it("refuses to register the same id and version twice, and to activate what is not registered", () => {
    const entry = registry.prepare(model(), bytes);
    registry.add(entry, canary);
    expect(() => registry.add(entry, canary)).toThrow(/already registered/);
    expect(() => registry.setActive("tiny", 2)).toThrow(/not registered/);
    expect(registry.active("tiny")).toBeUndefined();
  });

  it("refuses a database written by newer software, and a file that is not a database", () => {
    const newer = join(dir, "newer.db");
    const db = new Database(newer);
    db.pragma("user_version = 99");
    db.close();
    expect(() => ModelRegistry.open(newer)).toThrow(/schema version 99, newer than this software knows/);
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, "this is not sqlite ".repeat(100));
    expect(() => ModelRegistry.open(garbage)).toThrow(/model registry .* is not usable/);
  });
});

