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
      [{ accuracy: 1.01 }, /accuracy must be a number in 0..1/],
      [{ accuracy: -0.1 }, /accuracy must be a number in 0..1/],
      [{ accuracy: NaN }, /accuracy must be a number in 0..1/],
      [{ accuracy: "0.9" as unknown as number }, /accuracy must be a number in 0..1/],
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

  it("stores a declared accuracy, corrects it, withdraws it with 0, and refuses out-of-range or unknown ones, changing nothing", () => {
    registry.add(registry.prepare(model(), bytes), canary);
    expect(registry.get("tiny", 1)?.accuracy).toBe(0);
    registry.add(registry.prepare(model({ version: 2, accuracy: 0.87 }), bytes), canary);
    expect(registry.get("tiny", 2)?.accuracy).toBe(0.87);
    expect(registry.setAccuracy("tiny", 1, 0.9).accuracy).toBe(0.9);
    for (const bad of [1.5, -0.01, NaN, Infinity]) expect(() => registry.setAccuracy("tiny", 1, bad)).toThrow(/accuracy must be a number in 0..1/);
    expect(() => registry.setAccuracy("tiny", 3, 0.5)).toThrow(/version 3 is not registered/);
    expect(() => registry.setAccuracy("nope", 1, 0.5)).toThrow(/not registered/);
    expect(registry.get("tiny", 1)?.accuracy).toBe(0.9);
    registry.close();
    registry = ModelRegistry.open(join(dir, "models.db"));
    expect(registry.get("tiny", 1)?.accuracy).toBe(0.9);
    expect(registry.setAccuracy("tiny", 1, 0).accuracy).toBe(0);
  });

  it("migrates a database created by the version 1 schema in place: rows kept, accuracy 0, then settable", () => {
    const path = join(dir, "v1.db");
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    // The version 1 schema, exactly as the first release created it.
    db.exec(`
      CREATE TABLE models (
        id TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, path TEXT NOT NULL, size_bytes INTEGER NOT NULL,
        inputs TEXT NOT NULL, outputs TEXT NOT NULL, input_dims TEXT NOT NULL, labels TEXT NOT NULL, voter TEXT NOT NULL,
        energy_j REAL NOT NULL DEFAULT 0, latency_ms REAL NOT NULL DEFAULT 0, samples INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (id, version)
      ) STRICT;
      CREATE TABLE active (id TEXT PRIMARY KEY, version INTEGER NOT NULL, FOREIGN KEY (id, version) REFERENCES models (id, version)) STRICT;
      CREATE TABLE canaries (
        id TEXT NOT NULL, version INTEGER NOT NULL, inputs BLOB NOT NULL, golden BLOB NOT NULL,
        PRIMARY KEY (id, version), FOREIGN KEY (id, version) REFERENCES models (id, version)
      ) STRICT;
    `);
    db.prepare(
      `INSERT INTO models (id, version, sha256, path, size_bytes, inputs, outputs, input_dims, labels, voter, energy_j, latency_ms, samples)
       VALUES ('old', 1, ?, '/m/old.onnx', 10, '[{"name":"image","dims":[-1,3,16,16]}]', '[{"name":"p","dims":[-1,4]}]', '[1,3,16,16]', '["a","b","c","d"]', 'argmax', 1.5, 12, 7)`,
    ).run(sha);
    db.prepare("INSERT INTO active (id, version) VALUES ('old', 1)").run();
    db.prepare("INSERT INTO canaries (id, version, inputs, golden) VALUES ('old', 1, ?, ?)").run(Buffer.from([1]), Buffer.from([2]));
    db.pragma("user_version = 1");
    db.close();

    const migrated = ModelRegistry.open(path);
    try {
      expect(migrated.active("old")).toMatchObject({ id: "old", version: 1, energyJ: 1.5, latencyMs: 12, samples: 7, accuracy: 0, voter: "argmax" });
      expect(migrated.canary("old", 1)).toEqual(canary);
      expect(migrated.setAccuracy("old", 1, 0.75).accuracy).toBe(0.75);
      migrated.add(migrated.prepare(model({ id: "new", accuracy: 0.5 }), bytes), canary);
    } finally {
      migrated.close();
    }
    const check = new Database(path, { readonly: true });
    expect(check.pragma("user_version", { simple: true })).toBe(2);
    // The column has its range check in the migrated file too.
    check.close();
    const writable = new Database(path);
    expect(() => writable.prepare("UPDATE models SET accuracy = 2 WHERE id = 'old'").run()).toThrow(/CHECK constraint/);
    writable.close();
    const reopened = ModelRegistry.open(path);
    expect(reopened.get("old", 1)?.accuracy).toBe(0.75);
    expect(reopened.get("new", 1)?.accuracy).toBe(0.5);
    reopened.close();
  });
});
