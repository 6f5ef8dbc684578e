// The model registry: which model files the payload has, what they must hash
// to, how they are called and voted, which version of each is active, their
// canary records, the energy and latency per inference measured on this
// payload, and each version's declared accuracy. better-sqlite3 in WAL mode with synchronous FULL: a registration
// or an activation that returned survives a power cut.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { VOTER_KINDS, type VoterKind } from "./tmr-executor.js";

/** Model ids: short enough that "model/<id>/v<version>" is a valid scrubber region name. */
export const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,39}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Largest model file the registry accepts (the payload's memory holds a master copy and three replicas). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;
export const MAX_LABELS = 1000;
/**
 * 1: models, active, canaries.
 * 2: models.accuracy (declared accuracy, 0 = not declared), added in place to a version 1 file.
 */
const SCHEMA_VERSION = 2;

export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

import type { TensorShape } from "./replica.js";

export type { TensorShape };

export interface ModelEntry {
  id: string;
  version: number;
  sha256: string;
  path: string;
  sizeBytes: number;
  inputs: TensorShape[];
  outputs: TensorShape[];
  /** Concrete shape of the first input, used for canaries. */
  inputDims: number[];
  labels: string[];
  voter: VoterKind;
  /** Learned energy per unprotected inference (J); 0 until measured. */
  energyJ: number;
  /** Learned latency per unprotected inference (ms); 0 until measured. */
  latencyMs: number;
  samples: number;
  /** Declared accuracy on the ground validation set, 0..1; 0 = not declared. */
  accuracy: number;
}

export type NewModel = Omit<ModelEntry, "energyJ" | "latencyMs" | "samples" | "sha256" | "sizeBytes" | "accuracy"> & { sha256?: string; accuracy?: number };

/** Why `accuracy` is not a declared accuracy (a finite number in 0..1; 0 = not declared), or undefined. */
export function accuracyProblem(accuracy: unknown): string | undefined {
  if (typeof accuracy !== "number" || !Number.isFinite(accuracy) || accuracy < 0 || accuracy > 1) {
    return `accuracy must be a number in 0..1 (0 = not declared), got ${typeof accuracy === "number" ? String(accuracy) : typeof accuracy}`;
  }
  return undefined;
}

export interface CanaryRecord {
  inputs: Uint8Array;
  golden: Uint8Array;
}

/** Weight of a new measurement in the learned figures (exponential moving average). */
export const MEASUREMENT_WEIGHT = 0.1;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function checkDims(dims: unknown, what: string, allowDynamic: boolean): number[] {
  if (!Array.isArray(dims) || dims.length === 0 || dims.length > 8) throw new RegistryError(`${what} must have 1..8 dimensions`);
  for (const d of dims) {
    if (!Number.isInteger(d) || d > 1 << 20 || (allowDynamic ? d < -1 || d === 0 : d < 1)) throw new RegistryError(`${what} has a bad dimension ${String(d)}`);
  }
  return dims as number[];
}

/** Reads a model file, refusing an empty or oversized one. */
export function readModelFile(path: string): Uint8Array {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new RegistryError(`cannot read model file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (size === 0) throw new RegistryError(`model file ${path} is empty`);
  if (size > MAX_MODEL_BYTES) throw new RegistryError(`model file ${path} has ${size} bytes; at most ${MAX_MODEL_BYTES}`);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new RegistryError(`cannot read model file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

interface Row {
  id: string;
  version: number;
  sha256: string;
  path: string;
  size_bytes: number;
  inputs: string;
  outputs: string;
  input_dims: string;
  labels: string;
  voter: string;
  energy_j: number;
  latency_ms: number;
  samples: number;
  accuracy: number;
}

function fromRow(row: Row): ModelEntry {
  return {
    id: row.id,
    version: row.version,
    sha256: row.sha256,
    path: row.path,
    sizeBytes: row.size_bytes,
    inputs: JSON.parse(row.inputs) as TensorShape[],
    outputs: JSON.parse(row.outputs) as TensorShape[],
    inputDims: JSON.parse(row.input_dims) as number[],
    labels: JSON.parse(row.labels) as string[],
    voter: row.voter as VoterKind,
    energyJ: row.energy_j,
    latencyMs: row.latency_ms,
    samples: row.samples,
    accuracy: row.accuracy,
  };
}

/**
 * Brings a file made by an older schema up to date, in one transaction (a
 * power cut leaves it as it was, to be migrated on the next open). The
 * tables made above already have every column; a version 1 file's models
 * table lacks accuracy, so it is added, 0 (not declared) for every row.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    const columns = (db.prepare("SELECT name FROM pragma_table_info('models')").all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes("accuracy")) db.exec("ALTER TABLE models ADD COLUMN accuracy REAL NOT NULL DEFAULT 0 CHECK (accuracy >= 0 AND accuracy <= 1)");
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

export class ModelRegistry {
  private constructor(private readonly db: Database.Database) {}

  /** Opens (creating if needed) the registry database at path (":memory:" for tests). */
  static open(path: string): ModelRegistry {
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 5000 });
    } catch (err) {
      throw new RegistryError(`cannot open model registry ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const version = Number(db.pragma("user_version", { simple: true }));
      if (version > SCHEMA_VERSION) throw new RegistryError(`model registry ${path} has schema version ${version}, newer than this software knows (${SCHEMA_VERSION})`);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.exec(`
        CREATE TABLE IF NOT EXISTS models (
          id TEXT NOT NULL,
          version INTEGER NOT NULL,
          sha256 TEXT NOT NULL,
          path TEXT NOT NULL,
          size_bytes INTEGER NOT NULL,
          inputs TEXT NOT NULL,
          outputs TEXT NOT NULL,
          input_dims TEXT NOT NULL,
          labels TEXT NOT NULL,
          voter TEXT NOT NULL,
          energy_j REAL NOT NULL DEFAULT 0,
          latency_ms REAL NOT NULL DEFAULT 0,
          samples INTEGER NOT NULL DEFAULT 0,
          accuracy REAL NOT NULL DEFAULT 0 CHECK (accuracy >= 0 AND accuracy <= 1),
          PRIMARY KEY (id, version)
        ) STRICT;
        CREATE TABLE IF NOT EXISTS active (
          id TEXT PRIMARY KEY,
          version INTEGER NOT NULL,
          FOREIGN KEY (id, version) REFERENCES models (id, version)
        ) STRICT;
        CREATE TABLE IF NOT EXISTS canaries (
          id TEXT NOT NULL,
          version INTEGER NOT NULL,
          inputs BLOB NOT NULL,
          golden BLOB NOT NULL,
          PRIMARY KEY (id, version),
          FOREIGN KEY (id, version) REFERENCES models (id, version)
        ) STRICT;
      `);
      migrate(db);
      return new ModelRegistry(db);
    } catch (err) {
      db.close();
      if (err instanceof RegistryError) throw err;
      throw new RegistryError(`model registry ${path} is not usable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Checks a new entry and its file's bytes: the id, version, shapes, labels
   * and voter; the size and, when given, the expected hash. Returns the
   * entry as it would be stored. Changes nothing.
   */
  prepare(model: NewModel, bytes: Uint8Array): ModelEntry {
    if (typeof model.id !== "string" || !MODEL_ID.test(model.id)) throw new RegistryError(`model id ${JSON.stringify(String(model.id).slice(0, 80))} must match ${MODEL_ID.source}`);
    if (!Number.isInteger(model.version) || model.version < 1 || model.version > 0xffff_ffff) throw new RegistryError(`version must be an integer in 1..4294967295, got ${String(model.version)}`);
    if (typeof model.path !== "string" || model.path === "" || model.path.length > 4096 || model.path.includes("\0")) throw new RegistryError("path must be a non-empty file path");
    if (!VOTER_KINDS.includes(model.voter)) throw new RegistryError(`voter must be one of ${VOTER_KINDS.join(", ")}, got ${JSON.stringify(String(model.voter).slice(0, 40))}`);
    if (!Array.isArray(model.labels) || model.labels.length > MAX_LABELS || model.labels.some((l) => typeof l !== "string" || l.length === 0 || l.length > 64)) {
      throw new RegistryError(`labels must be at most ${MAX_LABELS} names of 1..64 characters`);
    }
    if (model.voter === "argmax" && model.labels.length < 2) throw new RegistryError("a classifier (argmax voter) needs at least 2 labels");
    if (model.sha256 !== undefined && !SHA256_HEX.test(model.sha256)) throw new RegistryError("sha256 must be 64 lowercase hex digits");
    const accuracy = model.accuracy ?? 0;
    const badAccuracy = accuracyProblem(accuracy);
    if (badAccuracy) throw new RegistryError(badAccuracy);
    if (!Array.isArray(model.inputs) || model.inputs.length === 0) throw new RegistryError("a model needs at least one input");
    if (!Array.isArray(model.outputs) || model.outputs.length === 0) throw new RegistryError("a model needs at least one output");
    for (const t of [...model.inputs, ...model.outputs]) checkDims(t.dims, `tensor ${t.name}`, true);
    const inputDims = checkDims(model.inputDims, "inputDims", false);
    const first = model.inputs[0]!;
    if (inputDims.length !== first.dims.length || first.dims.some((d, i) => d !== -1 && d !== inputDims[i])) {
      throw new RegistryError(`inputDims [${inputDims.join(",")}] does not fit input ${first.name} [${first.dims.join(",")}]`);
    }
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new RegistryError(`model file ${model.path} is empty`);
    if (bytes.length > MAX_MODEL_BYTES) throw new RegistryError(`model file ${model.path} has ${bytes.length} bytes; at most ${MAX_MODEL_BYTES}`);
    const hash = sha256(bytes);
    if (model.sha256 !== undefined && hash !== model.sha256) throw new RegistryError(`model file ${model.path} hashes to ${hash}, expected ${model.sha256}`);
    if (model.voter === "argmax") {
      const classes = model.outputs[0]!.dims.at(-1)!;
      if (classes !== -1 && classes !== model.labels.length) throw new RegistryError(`output ${model.outputs[0]!.name} has ${classes} classes but ${model.labels.length} labels were given`);
    }
    const entry: ModelEntry = { ...model, inputDims: [...inputDims], sha256: hash, sizeBytes: bytes.length, energyJ: 0, latencyMs: 0, samples: 0, accuracy };
    return entry;
  }

  /** Stores a prepared entry with its canary record, in one transaction. Refuses to replace an existing id+version. */
  add(entry: ModelEntry, canary: CanaryRecord): void {
    if (this.get(entry.id, entry.version)) throw new RegistryError(`model ${entry.id} version ${entry.version} is already registered`);
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO models (id, version, sha256, path, size_bytes, inputs, outputs, input_dims, labels, voter, accuracy)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          entry.id,
          entry.version,
          entry.sha256,
          entry.path,
          entry.sizeBytes,
          JSON.stringify(entry.inputs),
          JSON.stringify(entry.outputs),
          JSON.stringify(entry.inputDims),
          JSON.stringify(entry.labels),
          entry.voter,
          entry.accuracy,
        );
      this.db.prepare("INSERT INTO canaries (id, version, inputs, golden) VALUES (?, ?, ?, ?)").run(entry.id, entry.version, canary.inputs, canary.golden);
    })();
  }

  get(id: string, version: number): ModelEntry | undefined {
    const row = this.db.prepare("SELECT * FROM models WHERE id = ? AND version = ?").get(id, version) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Every version, newest first per id. */
  list(): ModelEntry[] {
    return (this.db.prepare("SELECT * FROM models ORDER BY id, version DESC").all() as Row[]).map(fromRow);
  }

  /** The active version of a model, if any. */
  active(id: string): ModelEntry | undefined {
    const row = this.db.prepare("SELECT m.* FROM models m JOIN active a ON a.id = m.id AND a.version = m.version WHERE a.id = ?").get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Every active model. */
  activeModels(): ModelEntry[] {
    return (this.db.prepare("SELECT m.* FROM models m JOIN active a ON a.id = m.id AND a.version = m.version ORDER BY m.id").all() as Row[]).map(fromRow);
  }

  setActive(id: string, version: number): void {
    if (!this.get(id, version)) throw new RegistryError(`model ${id} version ${version} is not registered`);
    this.db.prepare("INSERT INTO active (id, version) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version").run(id, version);
  }

  canary(id: string, version: number): CanaryRecord | undefined {
    const row = this.db.prepare("SELECT inputs, golden FROM canaries WHERE id = ? AND version = ?").get(id, version) as { inputs: Buffer; golden: Buffer } | undefined;
    return row ? { inputs: new Uint8Array(row.inputs), golden: new Uint8Array(row.golden) } : undefined;
  }

  /**
   * Folds measurements into the learned energy and latency: the means over
   * `count` unprotected inferences, as if each had been folded in on its own.
   * Non-finite or negative figures are refused: a bad power reading must not
   * poison what admission control plans with.
   */
  recordMeasurement(id: string, version: number, mean: { energyJ: number; latencyMs: number; count: number }): ModelEntry {
    for (const [what, v] of [["energyJ", mean.energyJ], ["latencyMs", mean.latencyMs]] as const) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new RegistryError(`${what} must be a finite number >= 0, got ${String(v)}`);
    }
    if (!Number.isSafeInteger(mean.count) || mean.count < 1) throw new RegistryError(`count must be a positive integer, got ${String(mean.count)}`);
    const entry = this.get(id, version);
    if (!entry) throw new RegistryError(`model ${id} version ${version} is not registered`);
    // The first measurements stand alone; later ones move the average as count EWMA steps would.
    const w = entry.samples === 0 ? 1 : 1 - (1 - MEASUREMENT_WEIGHT) ** mean.count;
    const energyJ = entry.energyJ + w * (mean.energyJ - entry.energyJ);
    const latencyMs = entry.latencyMs + w * (mean.latencyMs - entry.latencyMs);
    this.db.prepare("UPDATE models SET energy_j = ?, latency_ms = ?, samples = samples + ? WHERE id = ? AND version = ?").run(energyJ, latencyMs, mean.count, id, version);
    return this.get(id, version)!;
  }

  /** Declares (or corrects, or with 0 withdraws) a registered version's accuracy. Refuses anything outside 0..1 and changes nothing then. */
  setAccuracy(id: string, version: number, accuracy: number): ModelEntry {
    const problem = accuracyProblem(accuracy);
    if (problem) throw new RegistryError(problem);
    if (!this.get(id, version)) throw new RegistryError(`model ${JSON.stringify(String(id).slice(0, 80))} version ${String(version)} is not registered`);
    this.db.prepare("UPDATE models SET accuracy = ? WHERE id = ? AND version = ?").run(accuracy, id, version);
    return this.get(id, version)!;
  }

  close(): void {
    this.db.close();
  }
}
