// Runs one model under a protection mode: single (one replica, no vote), full
// TMR (three replicas, vote) or duplex with arbitration (two replicas; the
// third runs only when they disagree). A replica that loses a vote is counted,
// reported and rebuilt from the master copy, which is verified (scrubbed)
// first, so one corrupted replica can never become the template of the next.
// A vote with no majority is reported as uncorrectable and never passed off
// as good.
import { withBitsFlipped } from "./onnx/weights.js";
import type { NamedTensors, Replica, ReplicaFactory } from "./replica.js";
import { DEFAULT_TOLERANCE, argmaxRow, checkTolerance, tensorsAgree, voteArgmax, voteBitwise, voteMedian, type Tolerance, type VoteStatus } from "./voters.js";

export type ProtectionMode = "single" | "tmr" | "duplex";
export const PROTECTION_MODES: readonly ProtectionMode[] = ["single", "tmr", "duplex"];
export type VoterKind = "argmax" | "median" | "bitwise";
export const VOTER_KINDS: readonly VoterKind[] = ["argmax", "median", "bitwise"];

/** The master copy of a model's bytes, under the scrubber's protection. */
export interface MasterCopy {
  readonly bytes: Uint8Array;
  /** Checks and corrects the copy now; usable is false if an error remains that could not be corrected or repaired. */
  verify(): { usable: boolean; detail: string };
}

export interface ExecutorListener {
  /** A replica lost a vote (or failed its canary). */
  outvoted?(replica: number, detail: string): void;
  /** No majority: the result is marked uncorrectable. */
  noMajority?(detail: string): void;
  rebuilt?(replica: number, reason: string): void;
  /** A rebuild could not be done: the master copy is unusable or the model did not load. */
  rebuildFailed?(replica: number, error: string): void;
}

export interface ExecutorOptions {
  master: MasterCopy;
  factory: ReplicaFactory;
  voter: VoterKind;
  /** Classes of a classifier's output (argmax voter). */
  classes?: number;
  tolerance?: Tolerance;
  listener?: ExecutorListener;
  /** Stopwatch in ms for the compute time of replica runs (default performance.now). */
  stopwatch?: () => number;
}

export type ResultStatus = "unvoted" | VoteStatus;

export interface ProtectedResult {
  outputs: NamedTensors;
  status: ResultStatus;
  /** True exactly when status is no-majority: the outputs must not be trusted. */
  uncorrectable: boolean;
  dissenters: number[];
  /** Replica inferences this took (1 single, 3 TMR, 2 or 3 duplex). */
  runs: number;
  /** Argmax voter: voted class and agreeing confidence of each row of the first output. */
  labels?: number[];
  confidences?: number[];
}

export interface ExecutorCounters {
  inferences: number;
  replicaRuns: number;
  unanimous: number;
  corrected: number;
  noMajority: number;
  /** Votes lost, per replica. */
  outvoted: [number, number, number];
  rebuilds: number;
  rebuildFailures: number;
  canaryRuns: number;
  canaryFailures: number;
}

export class InferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InferenceError";
  }
}

const REPLICAS = 3;
const STATUS_RANK: Record<ResultStatus, number> = { unvoted: 0, unanimous: 0, corrected: 1, "no-majority": 2 };

export class TmrExecutor {
  readonly counters: ExecutorCounters = {
    inferences: 0,
    replicaRuns: 0,
    unanimous: 0,
    corrected: 0,
    noMajority: 0,
    outvoted: [0, 0, 0],
    rebuilds: 0,
    rebuildFailures: 0,
    canaryRuns: 0,
    canaryFailures: 0,
  };
  private readonly tolerance: Tolerance;
  private readonly replicas: (Replica | undefined)[] = [undefined, undefined, undefined];
  /** Output upsets waiting for a replica's next run (fault injection). */
  private readonly pendingOutputFlips: number[][][] = [[], [], []];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly stopwatch: () => number;
  /** Stopwatch ms spent in replica runs that have finished. */
  private finishedComputeMs = 0;
  /** When the replica run in progress started (runs are serialised: at most one). */
  private runningSince: number | undefined;

  private constructor(private readonly options: ExecutorOptions) {
    this.tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
    checkTolerance(this.tolerance);
    this.stopwatch = options.stopwatch ?? (() => performance.now());
    if (!VOTER_KINDS.includes(options.voter)) throw new RangeError(`voter must be one of ${VOTER_KINDS.join(", ")}, got ${String(options.voter)}`);
    if (options.voter === "argmax" && !(Number.isInteger(options.classes) && options.classes! >= 2)) {
      throw new RangeError(`the argmax voter needs classes >= 2, got ${String(options.classes)}`);
    }
  }

  /** Builds the three replicas from the verified master copy. */
  static async create(options: ExecutorOptions): Promise<TmrExecutor> {
    const executor = new TmrExecutor(options);
    const check = options.master.verify();
    if (!check.usable) throw new InferenceError(`master copy is not usable: ${check.detail}`);
    try {
      for (let r = 0; r < REPLICAS; r++) executor.replicas[r] = await options.factory(options.master.bytes);
    } catch (err) {
      await executor.close();
      throw err;
    }
    return executor;
  }

  /** Runs one protected inference. Calls are serialised: replicas are never rebuilt mid-vote. */
  infer(inputs: NamedTensors, mode: ProtectionMode): Promise<ProtectedResult> {
    if (!PROTECTION_MODES.includes(mode)) return Promise.reject(new RangeError(`protection must be one of ${PROTECTION_MODES.join(", ")}, got ${String(mode)}`));
    return this.serialised(() => this.inferNow(inputs, mode));
  }

  /**
   * Flips these bits of the first output of the replica's next run: an upset
   * in its output buffer before the vote. Offsets past the output's end wrap,
   * as the upset lands somewhere in the buffer either way.
   */
  corruptNextOutput(replica: number, bitOffsets: readonly number[]): void {
    this.checkReplicaIndex(replica);
    if (bitOffsets.length === 0) throw new RangeError("no bit offsets given");
    for (const b of bitOffsets) if (!Number.isSafeInteger(b) || b < 0) throw new RangeError(`bit offset ${String(b)} is not an integer >= 0`);
    this.pendingOutputFlips[replica]!.push([...bitOffsets]);
  }

  /**
   * An upset in the replica's own copy of the weights (ONNX Runtime's): the
   * replica is replaced by one built from the master bytes with these bits
   * flipped. It stays corrupt until a vote, a canary or a command rebuilds it.
   */
  corruptWeights(replica: number, bitOffsets: readonly number[]): Promise<void> {
    this.checkReplicaIndex(replica);
    const corrupted = withBitsFlipped(this.options.master.bytes, bitOffsets);
    return this.serialised(async () => {
      const next = await this.options.factory(corrupted);
      await this.replace(replica, next);
    });
  }

  /** Rebuilds one replica (or all) from the verified master copy. */
  rebuild(replica: number | "all", reason: string): Promise<void> {
    if (replica !== "all") this.checkReplicaIndex(replica);
    return this.serialised(async () => {
      for (const r of replica === "all" ? [0, 1, 2] : [replica]) await this.rebuildNow(r, reason);
    });
  }

  /**
   * Runs each replica alone on known-answer inputs and compares it with the
   * stored golden outputs. Replicas that fail are reported and rebuilt.
   * Returns the failed replicas.
   */
  runCanary(inputs: NamedTensors, golden: NamedTensors): Promise<number[]> {
    return this.serialised(async () => {
      this.counters.canaryRuns++;
      const failed: number[] = [];
      for (let r = 0; r < REPLICAS; r++) {
        const out = await this.runReplica(r, inputs);
        const mismatch = [...golden].find(([name, g]) => {
          const o = out.get(name);
          return !o || !tensorsAgree(o.data, g.data, this.tolerance);
        });
        if (mismatch) failed.push(r);
      }
      for (const r of failed) {
        this.counters.canaryFailures++;
        this.options.listener?.outvoted?.(r, "canary output differs from the golden output");
        await this.rebuildNow(r, "failed its canary");
      }
      return failed;
    });
  }

  /**
   * Stopwatch ms spent in replica runs (inferences and canaries) so far,
   * counting the part of a run still in progress at `now`, so that it never
   * decreases and a long run is spread over the periods it spans.
   */
  computeMs(now: number = this.stopwatch()): number {
    const running = this.runningSince === undefined ? 0 : now - this.runningSince;
    return this.finishedComputeMs + (Number.isFinite(running) && running > 0 ? running : 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    for (let r = 0; r < REPLICAS; r++) {
      const replica = this.replicas[r];
      this.replicas[r] = undefined;
      await replica?.release().catch(() => undefined);
    }
  }

  // ---- internals ---------------------------------------------------------

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new InferenceError("the executor is closed"));
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private checkReplicaIndex(replica: number): void {
    if (!Number.isInteger(replica) || replica < 0 || replica >= REPLICAS) throw new RangeError(`replica must be 0, 1 or 2, got ${String(replica)}`);
  }

  private async runReplica(r: number, inputs: NamedTensors): Promise<NamedTensors> {
    let replica = this.replicas[r];
    if (!replica) {
      // A rebuild failed earlier; try again before giving up on this replica.
      await this.rebuildNow(r, "was down");
      replica = this.replicas[r];
      if (!replica) throw new InferenceError(`replica ${r} is down and cannot be rebuilt`);
    }
    const start = this.stopwatch();
    this.runningSince = start;
    let out: NamedTensors;
    try {
      out = await replica.run(inputs);
    } finally {
      const ms = this.stopwatch() - start;
      if (Number.isFinite(ms) && ms > 0) this.finishedComputeMs += ms;
      this.runningSince = undefined;
    }
    this.counters.replicaRuns++;
    const flips = this.pendingOutputFlips[r]!.splice(0);
    if (flips.length > 0) {
      const first = out.values().next().value;
      if (first) {
        const bytes = new Uint8Array(first.data.buffer, first.data.byteOffset, first.data.byteLength);
        const bits = bytes.length * 8;
        for (const offsets of flips) {
          for (const offset of offsets) {
            const bit = offset % bits;
            bytes[Math.floor(bit / 8)] = bytes[Math.floor(bit / 8)]! ^ (1 << bit % 8);
          }
        }
      }
    }
    return out;
  }

  private async inferNow(inputs: NamedTensors, mode: ProtectionMode): Promise<ProtectedResult> {
    this.counters.inferences++;
    if (mode === "single") {
      const outputs = await this.runReplica(0, inputs);
      const result: ProtectedResult = { outputs, status: "unvoted", uncorrectable: false, dissenters: [], runs: 1 };
      if (this.options.voter === "argmax") this.addLabels(result, [outputs]);
      return result;
    }
    const runs: NamedTensors[] = [await this.runReplica(0, inputs), await this.runReplica(1, inputs)];
    if (mode === "duplex" && this.agree(runs[0]!, runs[1]!)) {
      this.counters.unanimous++;
      const result: ProtectedResult = { outputs: runs[0]!, status: "unanimous", uncorrectable: false, dissenters: [], runs: 2 };
      if (this.options.voter === "argmax") this.addLabels(result, runs);
      return result;
    }
    runs.push(await this.runReplica(2, inputs));
    const result = this.vote(runs);
    if (result.status === "unanimous") this.counters.unanimous++;
    else if (result.status === "corrected") this.counters.corrected++;
    else this.counters.noMajority++;

    if (result.uncorrectable) {
      this.options.listener?.noMajority?.(`no majority among the replicas (${mode}); the result is marked uncorrectable`);
      // No replica can be trusted after a split vote: rebuild them all.
      for (let r = 0; r < REPLICAS; r++) await this.rebuildNow(r, "no majority");
    } else {
      for (const r of result.dissenters) {
        this.counters.outvoted[r as 0 | 1 | 2]++;
        this.options.listener?.outvoted?.(r, `replica ${r} lost a ${mode} vote`);
        await this.rebuildNow(r, "lost a vote");
      }
    }
    return result;
  }

  private agree(a: NamedTensors, b: NamedTensors): boolean {
    if (a.size !== b.size) return false;
    for (const [name, t] of a) {
      const u = b.get(name);
      if (!u || !tensorsAgree(t.data, u.data, this.tolerance)) return false;
    }
    return true;
  }

  private vote(runs: NamedTensors[]): ProtectedResult {
    const outputs: NamedTensors = new Map();
    let status: ResultStatus = "unanimous";
    const dissenters = new Set<number>();
    let labels: number[] | undefined;
    let confidences: number[] | undefined;
    let first = true;
    for (const [name, t] of runs[0]!) {
      const tensors = runs.map((run) => run.get(name)?.data);
      if (tensors.some((x) => x === undefined || x.length !== t.data.length)) {
        // A replica returned a different shape: that is a disagreement the voters cannot resolve element-wise.
        throw new InferenceError(`replicas disagree on the shape of output ${name}`);
      }
      const replicaData = tensors as Float32Array[];
      let value: Float32Array;
      let s: VoteStatus;
      let d: number[];
      if (first && this.options.voter === "argmax") {
        const v = voteArgmax(replicaData, this.options.classes!, this.tolerance);
        ({ value, status: s, dissenters: d } = v);
        labels = v.labels;
        confidences = v.confidences;
      } else {
        const v = this.options.voter === "bitwise" ? voteBitwise(replicaData, this.tolerance) : voteMedian(replicaData, this.tolerance);
        ({ value, status: s, dissenters: d } = v);
      }
      first = false;
      outputs.set(name, { dims: t.dims, data: value });
      if (STATUS_RANK[s] > STATUS_RANK[status]) status = s;
      for (const r of d) dissenters.add(r);
    }
    const result: ProtectedResult = {
      outputs,
      status,
      uncorrectable: status === "no-majority",
      dissenters: status === "no-majority" ? [] : [...dissenters].sort((x, y) => x - y),
      runs: runs.length,
    };
    if (labels && confidences) {
      result.labels = labels;
      result.confidences = confidences;
    }
    return result;
  }

  /** Labels for an unvoted or duplex-agreed classifier result: the first run's argmax, the lowest confidence of the runs. */
  private addLabels(result: ProtectedResult, runs: NamedTensors[]): void {
    const data = runs.map((run) => run.values().next().value?.data).filter((d): d is Float32Array => d !== undefined);
    if (data.length === 0) return;
    const classes = this.options.classes!;
    const rows = Math.floor(data[0]!.length / classes);
    result.labels = [];
    result.confidences = [];
    for (let row = 0; row < rows; row++) {
      const best = argmaxRow(data[0]!, row, classes);
      result.labels.push(best);
      result.confidences.push(best < 0 ? 0 : Math.min(...data.map((d) => d[row * classes + best]!)));
    }
  }

  private async rebuildNow(r: number, reason: string): Promise<void> {
    const check = this.options.master.verify();
    if (!check.usable) {
      this.counters.rebuildFailures++;
      this.options.listener?.rebuildFailed?.(r, `master copy is not usable: ${check.detail}`);
      return;
    }
    try {
      const next = await this.options.factory(this.options.master.bytes);
      await this.replace(r, next);
      this.counters.rebuilds++;
      this.options.listener?.rebuilt?.(r, reason);
    } catch (err) {
      this.counters.rebuildFailures++;
      this.options.listener?.rebuildFailed?.(r, err instanceof Error ? err.message : String(err));
    }
  }

  private async replace(r: number, next: Replica): Promise<void> {
    const old = this.replicas[r];
    this.replicas[r] = next;
    this.pendingOutputFlips[r]!.length = 0;
    await old?.release().catch(() => undefined);
  }
}
