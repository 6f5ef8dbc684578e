// The inference service: registers and activates models, runs protected
// inferences for the job runner (umbra.inference.v1.InferRequest), keeps the
// master copy of each active model's weights under the scrubber, runs
// canaries on a schedule, learns energy and latency per inference from the
// power port, keeps each model's declared accuracy, tells the platform how
// busy it keeps the processor, and takes the HIL fault injector's replica
// upsets.
import { CommandRejected, Service, command, defineService, type CommandHandlers, type ServiceContext } from "@umbra/core";
import { MAX_BUSY_CORES, type ActivityPort, type PowerPort } from "@umbra/platform";
import { umbra, type Init, type MessageOf } from "@umbra/proto";
import { locateWeights, ModelFormatError, type WeightRange } from "./onnx/weights.js";
import { accuracyProblem, ModelRegistry, MODEL_ID, RegistryError, readModelFile, type ModelEntry } from "./registry.js";
import { ModelLoadError, ortReplicaFactory, type NamedTensors, type ReplicaFactory } from "./replica.js";
import { canaryInput, decodeInputs, encodeTensors, packTensorSet, TensorError, unpackTensorSet } from "./tensors.js";
import { Scrubber, type ScrubConfigValues } from "@umbra/memory";
import { loadMasterCopy, type ProtectedMaster } from "./master-copy.js";
import { PROTECTION_MODES, TmrExecutor, VOTER_KINDS, type ProtectionMode, type VoterKind } from "./tmr-executor.js";

const Protection = umbra.inference.v1.Protection;
/** How long one power reading stands for the payload's draw while computing. */
const POWER_SAMPLE_MS = 1000;
const VoteStatus = umbra.inference.v1.VoteStatus;

export const inferenceSpec = defineService({
  name: "inference",
  apid: 0x040,
  description: "ONNX Runtime inference on replicated models with TMR voting, canaries and a scrubbed master copy of the weights",
  commands: {
    registerModel: command(umbra.inference.v1.RegisterModel, {
      description: "Register a model file already on the payload: checks its hash, loads it once, stores its canary",
      arguments: { voter: { allowed: VOTER_KINDS }, accuracy: { min: 0, max: 1 } },
      check: (a) => (MODEL_ID.test(a.model) ? undefined : `model id must match ${MODEL_ID.source}`),
    }),
    activateModel: command(umbra.inference.v1.ActivateModel, {
      description: "Make a registered version the active one; the previous stays active if the new one fails to load",
      arguments: { version: { min: 1 } },
    }),
    setAccuracy: command(umbra.inference.v1.SetModelAccuracy, {
      description: "Declare or correct a registered version's accuracy on the ground validation set, 0..1 (0 = not declared; version 0 = the active one)",
      arguments: { accuracy: { min: 0, max: 1 } },
      check: (a) => (MODEL_ID.test(a.model) ? undefined : `model id must match ${MODEL_ID.source}`),
    }),
    runCanary: command(umbra.inference.v1.RunCanary, { description: "Run the known-answer canaries now (one model or all)" }),
    rebuildReplicas: command(umbra.inference.v1.RebuildReplicas, {
      description: "Rebuild replicas from the verified master copy (one model or all; some replicas or all)",
      check: (a) => (a.replicas.length <= 3 && a.replicas.every((r) => r <= 2) ? undefined : "replicas must be at most three of 0, 1, 2"),
    }),
  },
  telemetry: {
    activeModels: { type: "int", description: "Models loaded with their replicas" },
    protection: { type: "string", description: "Protection mode applied by default" },
    inferences: { type: "int", description: "Protected inferences run since start" },
    replicaRuns: { type: "int", description: "Replica inferences run since start" },
    votesCorrected: { type: "int", description: "Votes where a majority outvoted a replica" },
    uncorrectable: { type: "int", description: "Votes with no majority (results marked uncorrectable)", warning: { high: 0 } },
    replicaRebuilds: { type: "int", description: "Replicas rebuilt from the master copy" },
    rebuildFailures: { type: "int", description: "Rebuilds that could not be done", warning: { high: 0 } },
    canaryFailures: { type: "int", description: "Replicas that failed a canary" },
    lastLatencyMs: { type: "float", unit: "ms", description: "Compute time of the last protected inference" },
    energyPerInferenceJ: { type: "float", unit: "J", description: "Learned energy of one unprotected inference of the last model used" },
  },
  events: {
    replicaOutvoted: { id: 1, severity: "low", description: "A replica lost a vote or failed a canary; it is rebuilt" },
    noMajority: { id: 2, severity: "high", description: "Replicas split with no majority: the result was marked uncorrectable" },
    replicaRebuilt: { id: 3, severity: "info", description: "A replica was rebuilt from the verified master copy" },
    rebuildFailed: { id: 4, severity: "high", description: "A replica could not be rebuilt (master copy unusable or model did not load)" },
    canaryFailed: { id: 5, severity: "medium", description: "A canary found a replica whose outputs differ from the golden outputs" },
    modelActivated: { id: 6, severity: "info", description: "A model version became active" },
    modelLoadFailed: { id: 7, severity: "medium", description: "A model could not be registered or activated; the previous version stays active" },
    modelRegistered: { id: 8, severity: "info", description: "A model version was registered" },
    accuracyDeclared: { id: 9, severity: "info", description: "A model version's declared accuracy was set or changed by command" },
  },
  parameters: {
    protection: { type: "string", default: "tmr", allowed: PROTECTION_MODES, description: "Protection applied when a request does not name one" },
    canaryPeriodMs: { type: "int", default: 600_000, min: 0, max: 86_400_000, unit: "ms", description: "Canary period; 0 = only on command" },
    reportPeriodMs: { type: "int", default: 10_000, min: 100, max: 3_600_000, unit: "ms", description: "Telemetry period" },
    toleranceAbs: { type: "float", default: 1e-5, min: 0, max: 1, description: "Absolute difference at which replica outputs still agree" },
    toleranceRel: { type: "float", default: 1e-4, min: 0, max: 1, description: "Relative difference at which replica outputs still agree" },
    activityPeriodMs: { type: "int", default: 1000, min: 100, max: 60_000, unit: "ms", description: "Period of the compute-activity reports to the platform (busy cores since the last report)" },
  },
});

export interface InferenceServiceOptions {
  registry: ModelRegistry;
  /** Scrubbing of the master copies (CPU budget, rates); also settable over the bus with ScrubConfig. */
  scrub?: Partial<ScrubConfigValues>;
  /** Default: ONNX Runtime CPU sessions with one intra-op thread. */
  factory?: ReplicaFactory;
  /** For energy per inference; without it energy is not learned. */
  power?: PowerPort;
  /** Compute-time stopwatch in ms (default performance.now): latency is wall time spent computing, not mission time. */
  stopwatch?: () => number;
  /**
   * Where to report how busy the service keeps the processor, every
   * activityPeriodMs (the platform's ActivityPort: on a bench the HIL turns
   * it into electrical load). Without it nothing is reported.
   */
  activity?: ActivityPort;
}

interface LoadedModel {
  entry: ModelEntry;
  executor: TmrExecutor;
  master: ProtectedMaster;
  weights: WeightRange[];
  canaryInputs: NamedTensors;
  canaryGolden: NamedTensors;
  /** Measurements not yet folded into the registry. */
  pending: { energyJ: number; latencyMs: number; count: number; energyCount: number };
  /** The executor's computeMs() at the last activity report. */
  computeMark: number;
}

const protectionOf: Record<number, ProtectionMode | undefined> = {
  [Protection.PROTECTION_SINGLE]: "single",
  [Protection.PROTECTION_TMR]: "tmr",
  [Protection.PROTECTION_DUPLEX]: "duplex",
};
const protectionEnum: Record<ProtectionMode, umbra.inference.v1.Protection> = {
  single: Protection.PROTECTION_SINGLE,
  tmr: Protection.PROTECTION_TMR,
  duplex: Protection.PROTECTION_DUPLEX,
};
const voteEnum = {
  unvoted: VoteStatus.VOTE_STATUS_UNVOTED,
  unanimous: VoteStatus.VOTE_STATUS_UNANIMOUS,
  corrected: VoteStatus.VOTE_STATUS_CORRECTED,
  "no-majority": VoteStatus.VOTE_STATUS_NO_MAJORITY,
} as const;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class InferenceService extends Service<typeof inferenceSpec> {
  private readonly models = new Map<string, LoadedModel>();
  private readonly factory: ReplicaFactory;
  private readonly stopwatch: () => number;
  /** Output upsets armed by the fault injector, per replica: they land on the next inference. */
  private readonly pendingOutputFlips: number[][][] = [[], [], []];
  private lastLatencyMs = 0;
  private lastEnergyJ = 0;
  /** The last good power reading, reused for POWER_SAMPLE_MS of compute-time stopwatch. */
  private power: { watts: number; atMs: number } | undefined;
  private canaryTimer: { cancel(): void } | undefined;
  private reportTimer: { cancel(): void } | undefined;
  private activityTimer: { cancel(): void } | undefined;
  /** Compute ms not yet reported that no loaded executor holds: registration runs, models unloaded since. */
  private unreportedComputeMs = 0;
  /** Clock time of the last activity report (or of the start). */
  private activityLastMs = 0;
  /** Scrubs this process's master copies; the scrubber service aggregates its status. */
  private scrubber: Scrubber | undefined;
  private totals = { inferences: 0, replicaRuns: 0, corrected: 0, noMajority: 0, rebuilds: 0, rebuildFailures: 0, canaryFailures: 0 };

  constructor(
    context: ServiceContext,
    private readonly options: InferenceServiceOptions,
  ) {
    super(inferenceSpec, context);
    this.factory = options.factory ?? ortReplicaFactory();
    this.stopwatch = options.stopwatch ?? (() => performance.now());
  }

  /** Loads every model the registry says is active. One that fails is reported and skipped. */
  protected override async onInit(): Promise<void> {
    this.scrubber = new Scrubber({ service: this.name, bus: this.bus, clock: this.clock, logger: this.log, ...(this.options.scrub ? { config: this.options.scrub } : {}) });
    for (const entry of this.options.registry.activeModels()) {
      try {
        const model = await this.load(entry);
        this.models.set(entry.id, model);
      } catch (err) {
        this.log.error({ err, model: entry.id, version: entry.version }, "active model did not load");
        this.event("modelLoadFailed", `${entry.id} v${entry.version} did not load at start: ${message(err)}`, { model: entry.id, version: String(entry.version) });
      }
    }
  }

  protected override onStart(): void {
    const bus = this.bus;
    this.keep(bus.serve(umbra.inference.v1.InferRequest, umbra.inference.v1.InferResult, (req) => this.handleInfer(req), { target: this.name }));
    this.keep(bus.serve(umbra.inference.v1.DescribeModel, umbra.inference.v1.ModelInfo, (req) => this.describe(req.model), { target: this.name }));
    this.keep(
      bus.serve(
        umbra.hil.v1.CorruptReplicaOutput,
        umbra.hil.v1.FaultAck,
        (req) => {
          try {
            if (req.service !== this.name) throw new RangeError(`this is service ${this.name}; the request names ${JSON.stringify(req.service.slice(0, 80))}`);
            if (!(req.replica <= 2)) throw new RangeError(`replica must be 0, 1 or 2, got ${req.replica}`);
            if (req.bitOffsets.length === 0 || req.bitOffsets.length > 64) throw new RangeError("give 1..64 bit offsets");
            this.pendingOutputFlips[req.replica]!.push(req.bitOffsets.map(Number));
            return { injectionId: req.injectionId, applied: true, error: "" };
          } catch (err) {
            return { injectionId: req.injectionId, applied: false, error: message(err) };
          }
        },
        { target: this.name },
      ),
    );
    this.keep(
      bus.serve(
        umbra.hil.v1.CorruptReplicaWeights,
        umbra.hil.v1.FaultAck,
        async (req) => {
          try {
            if (req.service !== this.name) throw new RangeError(`this is service ${this.name}; the request names ${JSON.stringify(req.service.slice(0, 80))}`);
            const model = this.loaded(req.model);
            if (req.bitOffsets.length === 0 || req.bitOffsets.length > 64) throw new RangeError("give 1..64 bit offsets");
            await model.executor.corruptWeights(req.replica, req.bitOffsets.map(Number));
            return { injectionId: req.injectionId, applied: true, error: "" };
          } catch (err) {
            return { injectionId: req.injectionId, applied: false, error: message(err) };
          }
        },
        { target: this.name },
      ),
    );
    this.scheduleCanaries();
    this.scheduleReports();
    this.activityLastMs = this.clock.monotonicMs();
    this.scheduleActivity();
    this.scrubber?.start();
  }

  protected override async onStop(): Promise<void> {
    this.flushMeasurements();
    for (const model of this.models.values()) await this.unload(model);
    this.models.clear();
    this.scrubber?.close();
  }

  protected override onParametersChanged(changed: string[]): void {
    if (changed.includes("canaryPeriodMs")) this.scheduleCanaries();
    if (changed.includes("reportPeriodMs")) this.scheduleReports();
    if (changed.includes("activityPeriodMs")) this.scheduleActivity();
  }

  protected commands(): CommandHandlers<typeof inferenceSpec> {
    return {
      registerModel: async (args, ctx) => {
        ctx.progress(1, "checking and loading the model file");
        const labels = args.labels === "" ? [] : args.labels.split(",").map((l) => l.trim());
        try {
          const entry = await this.register({
            id: args.model,
            version: args.version,
            path: args.path,
            sha256: args.sha256 === "" ? undefined : args.sha256.toLowerCase(),
            voter: args.voter as VoterKind,
            labels,
            inputDims: args.inputDims,
            accuracy: args.accuracy,
          });
          return `registered ${entry.id} v${entry.version} (${entry.sizeBytes} bytes, sha256 ${entry.sha256.slice(0, 16)}…)`;
        } catch (err) {
          this.event("modelLoadFailed", `register ${args.model} v${args.version}: ${message(err)}`, { model: args.model.slice(0, 64), version: String(args.version) });
          throw new CommandRejected(err instanceof RegistryError || err instanceof ModelLoadError || err instanceof TensorError || err instanceof ModelFormatError ? "argument" : "precondition", message(err));
        }
      },
      activateModel: async (args) => {
        try {
          const entry = await this.activate(args.model, args.version);
          return `${entry.id} v${entry.version} is active`;
        } catch (err) {
          throw new CommandRejected("precondition", message(err));
        }
      },
      setAccuracy: (args) => {
        const registry = this.options.registry;
        const id = JSON.stringify(args.model.slice(0, 80));
        const bad = accuracyProblem(args.accuracy);
        if (bad) throw new CommandRejected("argument", bad);
        if (!registry.list().some((e) => e.id === args.model)) throw new CommandRejected("argument", `no model ${id} is registered`);
        const entry = args.version === 0 ? registry.active(args.model) : registry.get(args.model, args.version);
        if (!entry) throw new CommandRejected("argument", args.version === 0 ? `model ${id} has no active version; name the version` : `model ${id} has no version ${args.version}`);
        let updated: ModelEntry;
        try {
          updated = registry.setAccuracy(entry.id, entry.version, args.accuracy);
        } catch (err) {
          throw new CommandRejected(err instanceof RegistryError ? "argument" : "precondition", message(err));
        }
        const loaded = this.models.get(entry.id);
        if (loaded?.entry.version === entry.version) loaded.entry = { ...loaded.entry, accuracy: updated.accuracy };
        const was = entry.accuracy === 0 ? "not declared" : String(entry.accuracy);
        const now = updated.accuracy === 0 ? "not declared" : String(updated.accuracy);
        this.event("accuracyDeclared", `${entry.id} v${entry.version} accuracy: ${now} (was ${was})`, { model: entry.id, version: String(entry.version), accuracy: String(updated.accuracy) });
        return `${entry.id} v${entry.version} accuracy ${now} (was ${was})`;
      },
      runCanary: async (args) => {
        const targets = args.model === "" ? [...this.models.values()] : [this.loadedOrReject(args.model)];
        const failed: string[] = [];
        for (const model of targets) {
          const replicas = await this.canary(model);
          if (replicas.length > 0) failed.push(`${model.entry.id}: replicas ${replicas.join(", ")}`);
        }
        return failed.length === 0 ? `${targets.length} model(s) passed their canaries` : `rebuilt after failed canaries: ${failed.join("; ")}`;
      },
      rebuildReplicas: async (args) => {
        const targets = args.model === "" ? [...this.models.values()] : [this.loadedOrReject(args.model)];
        const replicas = [...new Set(args.replicas)].sort();
        for (const model of targets) {
          if (replicas.length === 0) await model.executor.rebuild("all", "by command");
          else for (const r of replicas) await model.executor.rebuild(r, "by command");
        }
        return `rebuilt ${replicas.length === 0 ? "the replicas" : `replica(s) ${replicas.join(", ")}`} of ${targets.length} model(s)`;
      },
    };
  }

  // ---- public API (also used by tests and the campaign) ------------------

  /**
   * Registers a model file: reads it and checks its hash, loads it once to
   * learn its inputs and outputs, computes its canary's golden outputs, and
   * stores all of it. Nothing is stored if any step fails.
   */
  async register(model: { id: string; version: number; path: string; sha256?: string; voter: VoterKind; labels: string[]; inputDims: number[]; accuracy?: number }): Promise<ModelEntry> {
    const registry = this.options.registry;
    if (typeof model.id === "string" && registry.get(model.id, model.version)) throw new RegistryError(`model ${model.id} version ${model.version} is already registered`);
    const bytes = readModelFile(model.path);
    locateWeights(bytes); // a file that is not an ONNX model is refused before ONNX Runtime sees it
    const replica = await this.factory(bytes);
    try {
      const { inputs, outputs } = replica.describe();
      const entry = registry.prepare({ ...model, inputs, outputs }, bytes);
      const canaryInputs = canaryInput(inputs[0]!.name, entry.inputDims);
      if (inputs.length > 1) throw new RegistryError(`model has ${inputs.length} inputs; canaries support one`);
      const started = this.stopwatch();
      const golden = await replica.run(canaryInputs);
      this.creditCompute(this.stopwatch() - started);
      registry.add(entry, { inputs: packTensorSet(canaryInputs), golden: packTensorSet(golden) });
      this.event("modelRegistered", `${entry.id} v${entry.version} registered`, { model: entry.id, version: String(entry.version), sha256: entry.sha256 });
      return entry;
    } finally {
      await replica.release().catch(() => undefined);
    }
  }

  /**
   * Makes a registered version active: verifies its file, builds its master
   * copy and replicas, and checks every replica against the stored canary.
   * Only then does it replace the running version, which stays active if
   * anything fails.
   */
  async activate(id: string, version: number): Promise<ModelEntry> {
    const entry = this.options.registry.get(id, version);
    try {
      if (!entry) throw new RegistryError(`model ${id} version ${version} is not registered`);
      const previous = this.models.get(id);
      if (previous?.entry.version === version) return entry; // already active: nothing to do
      const next = await this.load(entry);
      this.options.registry.setActive(id, version);
      this.models.set(id, next);
      if (previous) await this.unload(previous);
      this.event("modelActivated", `${id} v${version} is active${previous ? ` (was v${previous.entry.version})` : ""}`, { model: id, version: String(version) });
      return entry;
    } catch (err) {
      this.event("modelLoadFailed", `activate ${id.slice(0, 64)} v${version}: ${message(err)}`, { model: id.slice(0, 64), version: String(version) });
      throw err;
    }
  }

  /** Runs one protected inference. */
  async infer(modelId: string, inputs: NamedTensors, protection?: ProtectionMode) {
    const model = this.loaded(modelId);
    const mode = protection ?? (this.parameters.get("protection") as ProtectionMode);
    for (let r = 0; r < 3; r++) for (const flips of this.pendingOutputFlips[r]!.splice(0)) model.executor.corruptNextOutput(r, flips);
    const before = { ...model.executor.counters };
    const start = this.stopwatch();
    const result = await model.executor.infer(inputs, mode);
    const latencyMs = this.stopwatch() - start;
    this.account(model, before);
    this.lastLatencyMs = latencyMs;
    await this.measure(model, latencyMs / result.runs);
    return { ...result, mode, latencyMs, entry: model.entry };
  }

  describe(modelId: string): Init<umbra.inference.v1.ModelInfo.$Shape> {
    const loaded = this.models.get(modelId);
    const entry = loaded?.entry ?? this.options.registry.active(modelId) ?? this.options.registry.list().find((e) => e.id === modelId);
    if (!entry) throw new RegistryError(`no model ${JSON.stringify(modelId.slice(0, 80))} is registered`);
    const learned = this.options.registry.get(entry.id, entry.version) ?? entry;
    return {
      model: entry.id,
      version: entry.version,
      sha256: entry.sha256,
      sizeBytes: BigInt(entry.sizeBytes),
      inputs: entry.inputs.map((t) => ({ name: t.name, dims: t.dims.map(BigInt) })),
      outputs: entry.outputs.map((t) => ({ name: t.name, dims: t.dims.map(BigInt) })),
      labels: entry.labels,
      voter: entry.voter,
      weights: (loaded?.weights ?? []).map((w) => ({ name: w.name, offset: BigInt(w.offset), length: BigInt(w.length) })),
      energyJ: learned.energyJ,
      latencyMs: learned.latencyMs,
      samples: learned.samples,
      loaded: loaded !== undefined,
      accuracy: learned.accuracy,
    };
  }

  /** Counters of a loaded model's executor (tests, campaign). */
  counters(modelId: string) {
    return this.loaded(modelId).executor.counters;
  }

  // ---- internals -----------------------------------------------------------

  private async handleInfer(req: MessageOf<typeof umbra.inference.v1.InferRequest>): Promise<Init<umbra.inference.v1.InferResult.$Shape>> {
    const model = this.loaded(req.model);
    let protection: ProtectionMode | undefined;
    if (req.protection !== Protection.PROTECTION_DEFAULT) {
      protection = protectionOf[req.protection];
      if (!protection) throw new RangeError(`unknown protection ${req.protection}`);
    }
    const inputs = decodeInputs(req.inputs, model.entry.inputs);
    const r = await this.infer(req.model, inputs, protection);
    const label = r.labels?.[0] ?? -1;
    return {
      requestId: req.requestId,
      model: r.entry.id,
      version: r.entry.version,
      outputs: encodeTensors(r.outputs),
      vote: voteEnum[r.status],
      dissentingReplicas: r.dissenters,
      replicaRuns: r.runs,
      uncorrectable: r.uncorrectable,
      label,
      labelName: label >= 0 ? (r.entry.labels[label] ?? "") : "",
      confidence: r.confidences?.[0] ?? 0,
      latencyMs: r.latencyMs,
      protection: protectionEnum[r.mode],
    };
  }

  private loaded(modelId: string): LoadedModel {
    const model = this.models.get(modelId);
    if (!model) {
      const known = [...this.models.keys()];
      throw new RangeError(`model ${JSON.stringify(String(modelId).slice(0, 80))} is not loaded (loaded: ${known.length ? known.join(", ") : "none"})`);
    }
    return model;
  }

  private loadedOrReject(modelId: string): LoadedModel {
    try {
      return this.loaded(modelId);
    } catch (err) {
      throw new CommandRejected("argument", message(err));
    }
  }

  /** Builds a model ready to serve (master copy, replicas, canary passed); the caller installs it. */
  private async load(entry: ModelEntry): Promise<LoadedModel> {
    const canary = this.options.registry.canary(entry.id, entry.version);
    if (!canary) throw new RegistryError(`model ${entry.id} v${entry.version} has no canary record`);
    if (!this.scrubber) throw new RegistryError("the service is not initialised");
    // The file is read once, checked against the registry's hash, and becomes the scrubbed master copy.
    const region = `model/${entry.id}/v${entry.version}`;
    const master = await loadMasterCopy(this.scrubber, this.clock, region, { path: entry.path, sha256: entry.sha256 });
    let executor: TmrExecutor | undefined;
    try {
      const weights = locateWeights(master.bytes);
      const id = entry.id;
      executor = await TmrExecutor.create({
        master,
        factory: this.factory,
        voter: entry.voter,
        classes: entry.voter === "argmax" ? entry.labels.length : undefined,
        tolerance: { abs: this.parameters.get("toleranceAbs"), rel: this.parameters.get("toleranceRel") },
        stopwatch: this.stopwatch,
        listener: {
          outvoted: (r, detail) => this.event("replicaOutvoted", `${id}: ${detail}`, { model: id, replica: String(r) }),
          noMajority: (detail) => this.event("noMajority", `${id}: ${detail}`, { model: id }),
          rebuilt: (r, reason) => this.event("replicaRebuilt", `${id}: replica ${r} rebuilt (${reason})`, { model: id, replica: String(r) }),
          rebuildFailed: (r, error) => this.event("rebuildFailed", `${id}: replica ${r}: ${error}`, { model: id, replica: String(r) }),
        },
      });
      const model: LoadedModel = {
        entry,
        executor,
        master,
        weights,
        canaryInputs: unpackTensorSet(canary.inputs),
        canaryGolden: unpackTensorSet(canary.golden),
        pending: { energyJ: 0, latencyMs: 0, count: 0, energyCount: 0 },
        computeMark: 0,
      };
      // A fresh replica must give the registered answers before it serves anyone.
      const failed = await executor.runCanary(model.canaryInputs, model.canaryGolden);
      if (failed.length > 0) throw new ModelLoadError(`replicas ${failed.join(", ")} did not reproduce the canary's golden outputs`);
      return model;
    } catch (err) {
      // The canary runs of a model that failed to load were still work done.
      if (executor) this.creditCompute(executor.computeMs());
      await executor?.close();
      master.close();
      throw err;
    }
  }

  private async unload(model: LoadedModel): Promise<void> {
    this.flushModel(model);
    this.creditCompute(model.executor.computeMs() - model.computeMark);
    await model.executor.close();
    model.master.close();
  }

  private async canary(model: LoadedModel): Promise<number[]> {
    const before = { ...model.executor.counters };
    const failed = await model.executor.runCanary(model.canaryInputs, model.canaryGolden);
    this.account(model, before);
    for (const r of failed) this.event("canaryFailed", `${model.entry.id}: replica ${r} failed its canary and was rebuilt`, { model: model.entry.id, replica: String(r) });
    return failed;
  }

  /** Adds what an executor call did to the service totals. */
  private account(model: LoadedModel, before: TmrExecutor["counters"]): void {
    const c = model.executor.counters;
    this.totals.inferences += c.inferences - before.inferences;
    this.totals.replicaRuns += c.replicaRuns - before.replicaRuns;
    this.totals.corrected += c.corrected - before.corrected;
    this.totals.noMajority += c.noMajority - before.noMajority;
    this.totals.rebuilds += c.rebuilds - before.rebuilds;
    this.totals.rebuildFailures += c.rebuildFailures - before.rebuildFailures;
    this.totals.canaryFailures += c.canaryFailures - before.canaryFailures;
  }

  /**
   * Energy of one unprotected inference: payload power while computing times
   * its compute time. On a board the power port is several sysfs reads, so
   * it is sampled at most once per POWER_SAMPLE_MS, not after every inference.
   */
  private async measure(model: LoadedModel, latencyPerRunMs: number): Promise<void> {
    const p = model.pending;
    p.latencyMs += latencyPerRunMs;
    p.count++;
    const watts = await this.payloadWatts();
    if (watts === undefined) return;
    const energy = (watts * latencyPerRunMs) / 1000;
    p.energyJ += energy;
    p.energyCount++;
    this.lastEnergyJ = energy;
  }

  private async payloadWatts(): Promise<number | undefined> {
    if (!this.options.power) return undefined;
    const now = this.stopwatch();
    if (this.power && now - this.power.atMs < POWER_SAMPLE_MS) return this.power.watts;
    try {
      const reading = await this.options.power.read();
      const watts = reading.busVoltageV * reading.busCurrentA;
      this.power = Number.isFinite(watts) && watts >= 0 ? { watts, atMs: now } : undefined;
    } catch (err) {
      this.power = undefined;
      this.log.debug({ err }, "no power reading for this inference");
    }
    return this.power?.watts;
  }

  private flushModel(model: LoadedModel): void {
    const p = model.pending;
    if (p.count === 0) return;
    try {
      // Energy is learned from the inferences that had a power reading; latency from all.
      const energyJ = p.energyCount > 0 ? p.energyJ / p.energyCount : (this.options.registry.get(model.entry.id, model.entry.version)?.energyJ ?? 0);
      const updated = this.options.registry.recordMeasurement(model.entry.id, model.entry.version, { energyJ, latencyMs: p.latencyMs / p.count, count: p.count });
      this.lastEnergyJ = updated.energyJ;
    } catch (err) {
      this.log.warn({ err, model: model.entry.id }, "could not store measurements");
    }
    model.pending = { energyJ: 0, latencyMs: 0, count: 0, energyCount: 0 };
  }

  private flushMeasurements(): void {
    for (const model of this.models.values()) this.flushModel(model);
  }

  private scheduleCanaries(): void {
    this.canaryTimer?.cancel();
    const period = this.parameters.get("canaryPeriodMs");
    this.canaryTimer = period > 0 ? this.every(period, () => void this.canaryAll()) : undefined;
  }

  private async canaryAll(): Promise<void> {
    for (const model of [...this.models.values()]) {
      try {
        await this.canary(model);
      } catch (err) {
        this.log.error({ err, model: model.entry.id }, "canary run failed");
      }
    }
  }

  private creditCompute(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.unreportedComputeMs += ms;
  }

  private scheduleActivity(): void {
    this.activityTimer?.cancel();
    this.activityTimer = this.options.activity ? this.every(this.parameters.get("activityPeriodMs"), () => this.reportActivity()) : undefined;
  }

  /**
   * Busy cores since the last report: compute time of replica runs (the
   * stopwatch's ms, a run in progress counted up to now) over the clock's
   * elapsed ms. Reported every period, 0 included: a steady 0 tells the HIL
   * this service is idle, where silence would bring back its duty-cycle
   * stand-in for the load. One small message per period (>= 100 ms).
   */
  private reportActivity(): void {
    const port = this.options.activity;
    if (!port) return;
    const nowMs = this.clock.monotonicMs();
    const elapsedMs = nowMs - this.activityLastMs;
    if (!(elapsedMs > 0)) return;
    const now = this.stopwatch();
    let computeMs = this.unreportedComputeMs;
    for (const model of this.models.values()) {
      const total = model.executor.computeMs(now);
      computeMs += total - model.computeMark;
      model.computeMark = total;
    }
    this.unreportedComputeMs = 0;
    this.activityLastMs = nowMs;
    const busy = computeMs / elapsedMs;
    if (!Number.isFinite(busy)) {
      this.log.warn({ computeMs, elapsedMs }, "compute activity is not a number; not reported");
      return;
    }
    try {
      port.report(this.name, Math.min(MAX_BUSY_CORES, Math.max(0, busy)));
    } catch (err) {
      this.log.warn({ err }, "compute activity report refused");
    }
  }

  private scheduleReports(): void {
    this.reportTimer?.cancel();
    this.reportTimer = this.every(this.parameters.get("reportPeriodMs"), () => this.report());
  }

  private report(): void {
    this.flushMeasurements();
    this.telemetry({
      activeModels: this.models.size,
      protection: this.parameters.get("protection"),
      inferences: this.totals.inferences,
      replicaRuns: this.totals.replicaRuns,
      votesCorrected: this.totals.corrected,
      uncorrectable: this.totals.noMajority,
      replicaRebuilds: this.totals.rebuilds,
      rebuildFailures: this.totals.rebuildFailures,
      canaryFailures: this.totals.canaryFailures,
      lastLatencyMs: this.lastLatencyMs,
      energyPerInferenceJ: this.lastEnergyJ,
    });
  }
}
