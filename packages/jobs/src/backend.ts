// How the runner reaches inference: the InferenceBackend interface, and its
// implementation over the bus (the inference service, target "inference").
// The runner never loads a model itself; the inference service owns the
// replicas, the voting and the model registry.
import { BusRemoteError, BusTimeoutError, type Bus } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import type { ProtectionName } from "./job.js";

export interface ModelDescription {
  model: string;
  loaded: boolean;
  /** Declared accuracy 0..1 (0 = not declared). */
  accuracy: number;
  labels: string[];
  voter: string;
  inputName: string;
  /** First input's dims; -1 = dynamic. */
  inputDims: number[];
  /** Inference service's learned energy (J) and latency (ms) per unprotected inference; 0 = not measured. */
  energyJ: number;
  latencyMs: number;
}

export interface OutputTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

export type VoteName = "unanimous" | "corrected" | "unvoted" | "no-majority";

export interface InferenceOutcome {
  outputs: OutputTensor[];
  /** Classifiers: voted label name ("" otherwise). */
  label: string;
  confidence: number;
  vote: VoteName;
  /** Compute time of the whole protected inference, s (metered as core-seconds). */
  computeS: number;
}

export class InferenceUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InferenceUnavailable";
  }
}

export interface InferenceBackend {
  /** undefined when the model is not registered. Throws InferenceUnavailable when the service cannot be asked. */
  describe(model: string): Promise<ModelDescription | undefined>;
  infer(model: string, protection: ProtectionName, input: OutputTensor): Promise<InferenceOutcome>;
}

const PROTECTION: Record<ProtectionName, umbra.inference.v1.Protection> = {
  single: umbra.inference.v1.Protection.PROTECTION_SINGLE,
  tmr: umbra.inference.v1.Protection.PROTECTION_TMR,
  duplex: umbra.inference.v1.Protection.PROTECTION_DUPLEX,
};

const VOTE: Record<number, VoteName> = {
  [umbra.inference.v1.VoteStatus.VOTE_STATUS_UNVOTED]: "unvoted",
  [umbra.inference.v1.VoteStatus.VOTE_STATUS_UNANIMOUS]: "unanimous",
  [umbra.inference.v1.VoteStatus.VOTE_STATUS_CORRECTED]: "corrected",
  [umbra.inference.v1.VoteStatus.VOTE_STATUS_NO_MAJORITY]: "no-majority",
};

function toFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new InferenceUnavailable(`output of ${bytes.byteLength} bytes is not float32`);
  const copy = new Uint8Array(bytes); // aligned copy
  return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
}

/** The inference service over the bus. */
export class BusInferenceBackend implements InferenceBackend {
  constructor(
    private readonly bus: Bus,
    private readonly options: { target?: string; timeoutMs?: number } = {},
  ) {}

  private get target(): string {
    return this.options.target ?? "inference";
  }

  async describe(model: string): Promise<ModelDescription | undefined> {
    let info: MessageOf<typeof umbra.inference.v1.ModelInfo>;
    try {
      info = await this.bus.request(umbra.inference.v1.DescribeModel, { model }, umbra.inference.v1.ModelInfo, { target: this.target, timeoutMs: this.options.timeoutMs ?? 5000 });
    } catch (err) {
      if (err instanceof BusRemoteError && /no model/.test(err.message)) return undefined;
      throw new InferenceUnavailable(`describe ${model}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const first = info.inputs[0];
    return {
      model: info.model,
      loaded: info.loaded,
      accuracy: info.accuracy,
      labels: [...info.labels],
      voter: info.voter,
      inputName: first?.name ?? "",
      inputDims: (first?.dims ?? []).map(Number),
      energyJ: info.energyJ,
      latencyMs: info.latencyMs,
    };
  }

  async infer(model: string, protection: ProtectionName, input: OutputTensor): Promise<InferenceOutcome> {
    let r: MessageOf<typeof umbra.inference.v1.InferResult>;
    try {
      r = await this.bus.request(
        umbra.inference.v1.InferRequest,
        {
          model,
          protection: PROTECTION[protection],
          inputs: [{ name: input.name, dims: input.dims, data: new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength) }],
        },
        umbra.inference.v1.InferResult,
        { target: this.target, timeoutMs: this.options.timeoutMs ?? 30_000 },
      );
    } catch (err) {
      const why = err instanceof BusTimeoutError ? "timed out" : err instanceof Error ? err.message : String(err);
      throw new InferenceUnavailable(`${model}: ${why}`);
    }
    return {
      outputs: r.outputs.map((t) => ({ name: t.name, dims: [...t.dims], data: toFloat32(t.data) })),
      label: r.labelName,
      confidence: r.confidence,
      vote: VOTE[r.vote] ?? "unvoted",
      computeS: r.latencyMs / 1000,
    };
  }
}
