// A small CNN built in code, for tests and for HIL runs that need a model
// that loads in milliseconds. Its weights are drawn from a seeded generator
// (He initialisation), not trained: it stands in for a real classifier or
// segmenter in shape and arithmetic, and the same seed always gives the
// same file, byte for byte.
import { AttributeType, DataType, ModelProto } from "./schema.js";

export interface TinyCnnOptions {
  /** "classifier": softmax over `classes`; "segmenter": a per-pixel sigmoid mask. */
  head: "classifier" | "segmenter";
  /** Image side in pixels (square, 3 channels). Default 32. */
  size?: number;
  /** Classifier classes. Default 4. */
  classes?: number;
  /** Channels of the two conv layers. Default [8, 16]. */
  channels?: [number, number];
  /** Weight seed. Default 1. */
  seed?: number;
}

/** Name of the input and the output of a tiny CNN. */
export const TINY_CNN_INPUT = "image";
export const TINY_CNN_OUTPUT = { classifier: "probabilities", segmenter: "mask" } as const;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function initializer(name: string, dims: number[], values: Float32Array) {
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function heWeights(random: () => number, count: number, fanIn: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    // Box–Muller.
    const u = Math.max(random(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

function smallBiases(random: () => number, count: number): Float32Array {
  return Float32Array.from({ length: count }, () => (random() - 0.5) * 0.1);
}

const ints = (name: string, values: number[]) => ({ name, type: AttributeType["INTS"], ints: values });
const int = (name: string, value: number) => ({ name, type: AttributeType["INT"], i: value });

function tensorInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/** Builds the model and returns its ONNX file bytes. */
export function buildTinyCnn(options: TinyCnnOptions): Uint8Array {
  const size = options.size ?? 32;
  const classes = options.classes ?? 4;
  const [c1, c2] = options.channels ?? [8, 16];
  for (const [what, v, min, max] of [["size", size, 4, 512], ["classes", classes, 2, 1000], ["channels[0]", c1, 1, 256], ["channels[1]", c2, 1, 256]] as const) {
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`tiny CNN: ${what} must be an integer in ${min}..${max}, got ${v}`);
  }
  if (options.head === "classifier" && size % 2 !== 0) throw new RangeError(`tiny CNN: a classifier's size must be even, got ${size}`);
  const random = mulberry32(options.seed ?? 1);
  const nodes: object[] = [];
  const inits: object[] = [];
  const pads = ints("pads", [1, 1, 1, 1]);
  const kernel = ints("kernel_shape", [3, 3]);

  inits.push(initializer("conv1.w", [c1, 3, 3, 3], heWeights(random, c1 * 27, 27)), initializer("conv1.b", [c1], smallBiases(random, c1)));
  nodes.push({ op_type: "Conv", name: "conv1", input: [TINY_CNN_INPUT, "conv1.w", "conv1.b"], output: ["c1"], attribute: [kernel, pads] });
  nodes.push({ op_type: "Relu", name: "relu1", input: ["c1"], output: ["r1"] });

  let output: { name: string; dims: (number | string)[] };
  if (options.head === "classifier") {
    nodes.push({ op_type: "MaxPool", name: "pool1", input: ["r1"], output: ["p1"], attribute: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])] });
    inits.push(initializer("conv2.w", [c2, c1, 3, 3], heWeights(random, c2 * c1 * 9, c1 * 9)), initializer("conv2.b", [c2], smallBiases(random, c2)));
    nodes.push({ op_type: "Conv", name: "conv2", input: ["p1", "conv2.w", "conv2.b"], output: ["c2"], attribute: [kernel, pads] });
    nodes.push({ op_type: "Relu", name: "relu2", input: ["c2"], output: ["r2"] });
    nodes.push({ op_type: "GlobalAveragePool", name: "gap", input: ["r2"], output: ["g"] });
    nodes.push({ op_type: "Flatten", name: "flatten", input: ["g"], output: ["f"], attribute: [int("axis", 1)] });
    inits.push(initializer("fc.w", [classes, c2], heWeights(random, classes * c2, c2)), initializer("fc.b", [classes], smallBiases(random, classes)));
    nodes.push({ op_type: "Gemm", name: "fc", input: ["f", "fc.w", "fc.b"], output: ["logits"], attribute: [int("transB", 1)] });
    nodes.push({ op_type: "Softmax", name: "softmax", input: ["logits"], output: [TINY_CNN_OUTPUT.classifier], attribute: [int("axis", 1)] });
    output = { name: TINY_CNN_OUTPUT.classifier, dims: ["N", classes] };
  } else {
    inits.push(initializer("conv2.w", [1, c1, 3, 3], heWeights(random, c1 * 9, c1 * 9)), initializer("conv2.b", [1], smallBiases(random, 1)));
    nodes.push({ op_type: "Conv", name: "conv2", input: ["r1", "conv2.w", "conv2.b"], output: ["c2"], attribute: [kernel, pads] });
    nodes.push({ op_type: "Sigmoid", name: "sigmoid", input: ["c2"], output: [TINY_CNN_OUTPUT.segmenter] });
    output = { name: TINY_CNN_OUTPUT.segmenter, dims: ["N", 1, size, size] };
  }

  const model = ModelProto.fromObject({
    ir_version: 8,
    opset_import: [{ domain: "", version: 13 }],
    producer_name: "umbra-inference",
    producer_version: "1",
    doc_string: `tiny CNN ${options.head}, seed ${options.seed ?? 1}, untrained (seeded He initialisation)`,
    graph: {
      name: `tiny-${options.head}`,
      node: nodes,
      initializer: inits,
      input: [tensorInfo(TINY_CNN_INPUT, DataType.FLOAT, ["N", 3, size, size])],
      output: [tensorInfo(output.name, DataType.FLOAT, output.dims)],
    },
  });
  return ModelProto.encode(model).finish();
}
