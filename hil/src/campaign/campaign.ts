// Fault campaign: injects N faults into a real model served by an inference
// service, under each protection mode, and classifies what each fault did to
// the delivered result. The service is a black box on the bus, exactly as in
// flight: the campaign speaks InferRequest, DescribeModel, the fault
// injector's CorruptReplicaWeights / CorruptReplicaOutput, and the
// RebuildReplicas telecommand that puts the replicas back between trials.
//
// Outcomes, per trial:
//   sdc            the result differs from the fault-free one and nobody said so
//   uncorrectable  the result was marked uncorrectable (detected, not corrected)
//   corrected      a vote outvoted the faulty replica; the result is right
//   masked         the fault did not change the result beyond the tolerance
import { sendCommand, type Bus } from "@umbra/core";
import { umbra, type InitOf, type MessageOf } from "@umbra/proto";
import { Rng } from "../models/rng.js";

export type CampaignMode = "single" | "tmr" | "duplex";
export const CAMPAIGN_MODES: readonly CampaignMode[] = ["single", "tmr", "duplex"];
export type FaultKind = "weight-bit" | "weight-burst" | "replica-output";
export const FAULT_KINDS: readonly FaultKind[] = ["weight-bit", "weight-burst", "replica-output"];
export type Outcome = "sdc" | "uncorrectable" | "corrected" | "masked";
export const OUTCOMES: readonly Outcome[] = ["sdc", "uncorrectable", "corrected", "masked"];

export interface CampaignOptions {
  bus: Bus;
  /** The inference service's bus name. Default "inference". */
  service?: string;
  /** A model the service has loaded. */
  model: string;
  /** Faults per mode. */
  faults: number;
  modes?: readonly CampaignMode[];
  kinds?: readonly FaultKind[];
  seed?: number;
  /** Adjacent bits flipped by a weight-burst fault: 2..maxBurst (default 4). */
  maxBurst?: number;
  /** Agreement tolerance when comparing with the fault-free result (default abs 1e-5, rel 1e-4: the service's default). */
  tolerance?: { abs: number; rel: number };
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  onTrial?: (done: number, total: number) => void;
}

export interface Trial {
  mode: CampaignMode;
  kind: FaultKind;
  replica: number;
  /** Bits flipped: in the model file (weights) or in the replica's first output. */
  bitOffsets: number[];
  /** Bit within the float32 of the first flipped bit (0 = mantissa LSB, 23..30 exponent, 31 sign). */
  floatBit: number;
  outcome: Outcome;
  vote: string;
}

export interface Tally {
  trials: number;
  sdc: number;
  uncorrectable: number;
  corrected: number;
  masked: number;
}

export interface CampaignReport {
  model: string;
  version: number;
  seed: number;
  faultsPerMode: number;
  weights: number;
  byMode: Record<string, Tally>;
  byModeAndKind: Record<string, Record<string, Tally>>;
  /** Per mode: tallies by the float bit the fault hit (32 entries). */
  byModeAndBit: Record<string, Tally[]>;
  trials: Trial[];
  wallSeconds: number;
}

export class CampaignError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CampaignError";
  }
}

const PROTECTION: Record<CampaignMode, umbra.inference.v1.Protection> = {
  single: umbra.inference.v1.Protection.PROTECTION_SINGLE,
  tmr: umbra.inference.v1.Protection.PROTECTION_TMR,
  duplex: umbra.inference.v1.Protection.PROTECTION_DUPLEX,
};

function emptyTally(): Tally {
  return { trials: 0, sdc: 0, uncorrectable: 0, corrected: 0, masked: 0 };
}

function closeTo(a: number, b: number, tol: { abs: number; rel: number }): boolean {
  if (Object.is(a, b) || a === b) return true;
  if (Number.isNaN(a) || Number.isNaN(b) || !Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tol.abs + tol.rel * Math.max(Math.abs(a), Math.abs(b));
}

function floats(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length / 4);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

type Result = MessageOf<typeof umbra.inference.v1.InferResult>;

function sameResult(a: Result, golden: Result, tol: { abs: number; rel: number }): boolean {
  if (a.label !== golden.label) return false;
  if (a.outputs.length !== golden.outputs.length) return false;
  return a.outputs.every((t, i) => {
    const g = golden.outputs[i]!;
    if (t.name !== g.name || t.data.length !== g.data.length) return false;
    const x = floats(t.data);
    const y = floats(g.data);
    for (let k = 0; k < x.length; k++) if (!closeTo(x[k]!, y[k]!, tol)) return false;
    return true;
  });
}

/** Deterministic input of the model's concrete input shape (smooth pattern plus noise in [0, 1]). */
function campaignInput(name: string, dims: number[], rng: Rng): InitOf<typeof umbra.inference.v1.Tensor> {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n * 4);
  const view = new DataView(data.buffer);
  for (let i = 0; i < n; i++) view.setFloat32(i * 4, 0.5 + 0.3 * Math.sin(i * 0.021) + 0.2 * (rng.next() - 0.5), true);
  return { name, dims, data };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const started = performance.now();
  const { bus, model } = options;
  const service = options.service ?? "inference";
  const modes = options.modes ?? CAMPAIGN_MODES;
  const kinds = options.kinds ?? FAULT_KINDS;
  const seed = options.seed ?? 1;
  const maxBurst = options.maxBurst ?? 4;
  const tol = options.tolerance ?? { abs: 1e-5, rel: 1e-4 };
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(options.faults) || options.faults < 1 || options.faults > 1_000_000) throw new CampaignError(`faults must be an integer in 1..1000000, got ${options.faults}`);
  if (modes.length === 0 || modes.some((m) => !CAMPAIGN_MODES.includes(m))) throw new CampaignError(`modes must be some of ${CAMPAIGN_MODES.join(", ")}`);
  if (kinds.length === 0 || kinds.some((k) => !FAULT_KINDS.includes(k))) throw new CampaignError(`fault kinds must be some of ${FAULT_KINDS.join(", ")}`);
  if (!Number.isInteger(maxBurst) || maxBurst < 2 || maxBurst > 32) throw new CampaignError(`maxBurst must be an integer in 2..32, got ${maxBurst}`);

  const info = await bus.request(umbra.inference.v1.DescribeModel, { model }, umbra.inference.v1.ModelInfo, { target: service, timeoutMs });
  if (!info.loaded) throw new CampaignError(`model ${model} is registered but not loaded by ${service}`);
  const weights = info.weights.map((w) => ({ offset: Number(w.offset), floats: Number(w.length) / 4 }));
  const weightCount = weights.reduce((a, w) => a + w.floats, 0);
  if (weightCount === 0) throw new CampaignError(`model ${model} has no float weights to hit`);
  const input = info.inputs[0];
  if (!input) throw new CampaignError(`model ${model} has no inputs`);
  const rng = new Rng(seed);
  // Dynamic dimensions: batch 1, and the model's canary-sized 32 for the rest.
  const dims = input.dims.map((d, i) => (d > 0n ? Number(d) : i === 0 ? 1 : 32));
  const inputs = [campaignInput(input.name, dims, rng)];

  const infer = (mode: CampaignMode) =>
    bus.request(umbra.inference.v1.InferRequest, { model, protection: PROTECTION[mode], inputs, requestId: `campaign-${mode}` }, umbra.inference.v1.InferResult, { target: service, timeoutMs });
  const rebuild = async (replicas: number[] = []) => {
    const r = await sendCommand(bus, service, umbra.inference.v1.RebuildReplicas, { model, replicas }, { timeoutMs });
    if (r.status !== umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED) throw new CampaignError(`could not rebuild the replicas between trials: ${r.message}`);
  };

  await rebuild();
  const golden = await infer("tmr");
  if (golden.uncorrectable || golden.vote !== umbra.inference.v1.VoteStatus.VOTE_STATUS_UNANIMOUS) {
    throw new CampaignError(`the fault-free reference run was not unanimous (${umbra.inference.v1.VoteStatus[golden.vote]}); is a fault already present?`);
  }
  const outputBits = (golden.outputs[0]?.data.length ?? 0) * 8;

  /** Bit offset in the model file of bit `bit` of weight `index`. */
  const weightBit = (index: number, bit: number): number => {
    let i = index;
    for (const w of weights) {
      if (i < w.floats) return (w.offset + i * 4) * 8 + bit;
      i -= w.floats;
    }
    throw new CampaignError("weight index out of range");
  };

  const trials: Trial[] = [];
  const total = modes.length * options.faults;
  for (const mode of modes) {
    for (let n = 0; n < options.faults; n++) {
      const kind = kinds[n % kinds.length]!;
      // Single mode has one replica, so that is where its faults land.
      const replica = mode === "single" ? 0 : rng.int(3);
      let bitOffsets: number[];
      let floatBit: number;
      if (kind === "replica-output") {
        const offset = rng.int(outputBits);
        bitOffsets = [offset];
        floatBit = offset % 32;
      } else {
        const index = rng.int(weightCount);
        const width = kind === "weight-burst" ? 2 + rng.int(maxBurst - 1) : 1;
        floatBit = rng.int(32 - width + 1);
        bitOffsets = Array.from({ length: width }, (_, k) => weightBit(index, floatBit + k));
      }
      const injectionId = `campaign-${mode}-${n}`;
      const ack =
        kind === "replica-output"
          ? await bus.request(umbra.hil.v1.CorruptReplicaOutput, { service, replica, bitOffsets: bitOffsets.map(BigInt), injectionId }, umbra.hil.v1.FaultAck, { target: service, timeoutMs })
          : await bus.request(umbra.hil.v1.CorruptReplicaWeights, { service, model, replica, bitOffsets: bitOffsets.map(BigInt), injectionId }, umbra.hil.v1.FaultAck, { target: service, timeoutMs });
      let outcome: Outcome;
      let vote: string;
      let rebuiltByService = false;
      if (!ack.applied) {
        // A flip that left the model unloadable is caught at load: detected, nothing delivered.
        outcome = "uncorrectable";
        vote = `fault rejected: ${ack.error}`;
      } else {
        const result = await infer(mode);
        vote = umbra.inference.v1.VoteStatus[result.vote] ?? String(result.vote);
        // A replica that lost the vote, or a split vote, was already rebuilt by the service.
        rebuiltByService = result.uncorrectable || result.dissentingReplicas.includes(replica);
        if (result.uncorrectable) outcome = "uncorrectable";
        else if (sameResult(result, golden, tol)) outcome = result.vote === umbra.inference.v1.VoteStatus.VOTE_STATUS_CORRECTED ? "corrected" : "masked";
        else outcome = "sdc";
      }
      trials.push({ mode, kind, replica, bitOffsets, floatBit, outcome, vote });
      // Put the faulty replica back (and drop an output upset it never consumed) before the next trial.
      if (!rebuiltByService) await rebuild([replica]);
      options.onTrial?.(trials.length, total);
    }
  }

  const byMode: Record<string, Tally> = {};
  const byModeAndKind: Record<string, Record<string, Tally>> = {};
  const byModeAndBit: Record<string, Tally[]> = {};
  for (const t of trials) {
    const tallies = [
      (byMode[t.mode] ??= emptyTally()),
      ((byModeAndKind[t.mode] ??= {})[t.kind] ??= emptyTally()),
      ((byModeAndBit[t.mode] ??= Array.from({ length: 32 }, emptyTally))[t.floatBit] ??= emptyTally()),
    ];
    for (const tally of tallies) {
      tally.trials++;
      tally[t.outcome]++;
    }
  }
  return { model, version: info.version, seed, faultsPerMode: options.faults, weights: weightCount, byMode, byModeAndKind, byModeAndBit, trials, wallSeconds: (performance.now() - started) / 1000 };
}

/** A plain-text table of a campaign's rates. */
export function formatCampaign(report: CampaignReport): string {
  const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)}%`);
  const lines = [
    `fault campaign: model ${report.model} v${report.version}, ${report.faultsPerMode} faults per mode, seed ${report.seed}, ${report.weights} weights`,
    `${"mode".padEnd(8)} ${"kind".padEnd(15)} ${"trials".padStart(6)} ${"SDC".padStart(7)} ${"uncorr.".padStart(7)} ${"corrected".padStart(9)} ${"masked".padStart(7)}`,
  ];
  for (const [mode, kinds] of Object.entries(report.byModeAndKind)) {
    for (const [kind, t] of [...Object.entries(kinds), ["all", report.byMode[mode]!] as const]) {
      lines.push(`${mode.padEnd(8)} ${kind.padEnd(15)} ${String(t.trials).padStart(6)} ${pct(t.sdc, t.trials).padStart(7)} ${pct(t.uncorrectable, t.trials).padStart(7)} ${pct(t.corrected, t.trials).padStart(9)} ${pct(t.masked, t.trials).padStart(7)}`);
    }
  }
  const single = report.byModeAndBit["single"];
  if (single) {
    const field = (range: [number, number]) => {
      const t = single.slice(range[0], range[1] + 1).reduce((a, b) => ({ trials: a.trials + b.trials, sdc: a.sdc + b.sdc }), { trials: 0, sdc: 0 });
      return `${pct(t.sdc, t.trials)} of ${t.trials}`;
    };
    lines.push(`single, SDC by float field: mantissa 0-22 ${field([0, 22])}, exponent 23-29 ${field([23, 29])}, exponent MSB 30 ${field([30, 30])}, sign 31 ${field([31, 31])}`);
  }
  return lines.join("\n");
}
