// One replica: an ONNX Runtime session built from a copy of the model bytes.
// ONNX Runtime copies the weights into its own memory, out of the scrubber's
// reach; that is why replicas vote and are rebuilt rather than scrubbed.
import ort from "onnxruntime-node";

/** Float32 tensors by name. */
export type NamedTensors = Map<string, { dims: number[]; data: Float32Array }>;

/** A model tensor's name and shape; -1 for a dynamic dimension. */
export interface TensorShape {
  name: string;
  dims: number[];
}

export interface Replica {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The model's declared inputs and outputs. */
  describe(): { inputs: TensorShape[]; outputs: TensorShape[] };
  run(inputs: NamedTensors): Promise<NamedTensors>;
  release(): Promise<void>;
}

/** Builds a replica from model file bytes; the bytes are not kept. */
export type ReplicaFactory = (model: Uint8Array) => Promise<Replica>;

export interface SessionOptions {
  /** Threads inside one operator. The payload has few cores: default 1. */
  intraOpThreads?: number;
  /** Threads across independent operators. Default 1. */
  interOpThreads?: number;
}

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelLoadError";
  }
}

function threads(value: number | undefined, what: string): number {
  const v = value ?? 1;
  if (!Number.isInteger(v) || v < 1 || v > 64) throw new RangeError(`${what} must be an integer in 1..64, got ${String(value)}`);
  return v;
}

class OrtReplica implements Replica {
  constructor(private readonly session: ort.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  describe(): { inputs: TensorShape[]; outputs: TensorShape[] } {
    const shapes = (metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorShape[] =>
      metadata.map((m) => {
        if (!m.isTensor) throw new ModelLoadError(`${m.name} is not a tensor; only tensor inputs and outputs are supported`);
        if (m.type !== "float32") throw new ModelLoadError(`${m.name} is ${m.type}; only float32 tensors are supported`);
        return { name: m.name, dims: m.shape.map((d) => (typeof d === "number" && d > 0 ? d : -1)) };
      });
    return { inputs: shapes(this.session.inputMetadata), outputs: shapes(this.session.outputMetadata) };
  }

  async run(inputs: NamedTensors): Promise<NamedTensors> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of inputs) feeds[name] = new ort.Tensor("float32", t.data, t.dims);
    const results = await this.session.run(feeds);
    const out: NamedTensors = new Map();
    for (const name of this.session.outputNames) {
      const t = results[name];
      if (!t || t.type !== "float32") throw new Error(`output ${name} is ${t ? t.type : "missing"}; only float32 outputs are supported`);
      // A copy: the voter and the fault injector may write into it.
      out.set(name, { dims: [...t.dims], data: new Float32Array(t.data as Float32Array) });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A ReplicaFactory that builds ONNX Runtime CPU sessions. */
export function ortReplicaFactory(options: SessionOptions = {}): ReplicaFactory {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads(options.intraOpThreads, "intraOpThreads"),
    interOpNumThreads: threads(options.interOpThreads, "interOpThreads"),
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    executionProviders: ["cpu"],
  };
  return async (model) => {
    try {
      return new OrtReplica(await ort.InferenceSession.create(model, sessionOptions));
    } catch (err) {
      throw new ModelLoadError(`ONNX Runtime could not load the model: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}
