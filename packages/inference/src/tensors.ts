// Tensors at the service's boundary: checked conversion from the bus's
// umbra.inference.v1.Tensor (little-endian float32 bytes) to what a replica
// runs on, and back; canary inputs.
import { codecFor, umbra, type Init } from "@umbra/proto";
import type { NamedTensors } from "./replica.js";
import type { TensorShape } from "./registry.js";

/** Most elements in one tensor (64 MiB of float32). */
export const MAX_TENSOR_ELEMENTS = 16 * 1024 * 1024;
export const MAX_DIMS = 8;

export class TensorError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "TensorError";
  }
}

type WireTensor = { name: string; dims: number[]; data: Uint8Array };

/**
 * Checks a request's input tensors against the model's declared inputs: every
 * input present exactly once, dims matching (dynamic dims free), data the
 * right size, every value finite. Returns them ready to run.
 */
export function decodeInputs(tensors: readonly WireTensor[], declared: readonly TensorShape[]): NamedTensors {
  const out: NamedTensors = new Map();
  for (const t of tensors) {
    const spec = declared.find((d) => d.name === t.name);
    if (!spec) throw new TensorError(`input ${JSON.stringify(t.name.slice(0, 80))} is not one of the model's inputs (${declared.map((d) => d.name).join(", ")})`);
    if (out.has(t.name)) throw new TensorError(`input ${t.name} is given twice`);
    if (t.dims.length !== spec.dims.length) throw new TensorError(`input ${t.name} has ${t.dims.length} dimensions, the model takes ${spec.dims.length}`);
    let elements = 1;
    for (const [i, d] of t.dims.entries()) {
      if (!Number.isInteger(d) || d < 1) throw new TensorError(`input ${t.name} dimension ${i} is ${d}; dimensions must be >= 1`);
      if (spec.dims[i] !== -1 && spec.dims[i] !== d) throw new TensorError(`input ${t.name} dimension ${i} is ${d}, the model takes ${spec.dims[i]}`);
      elements *= d;
      if (elements > MAX_TENSOR_ELEMENTS) throw new TensorError(`input ${t.name} has more than ${MAX_TENSOR_ELEMENTS} elements`);
    }
    if (t.data.length !== elements * 4) throw new TensorError(`input ${t.name} has ${t.data.length} data bytes; dims [${t.dims.join(",")}] need ${elements * 4}`);
    // Copy into an aligned buffer, little-endian as the wire says.
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const data = new Float32Array(elements);
    for (let i = 0; i < elements; i++) {
      const v = view.getFloat32(i * 4, true);
      if (!Number.isFinite(v)) throw new TensorError(`input ${t.name} element ${i} is ${v}; inputs must be finite`);
      data[i] = v;
    }
    out.set(t.name, { dims: [...t.dims], data });
  }
  for (const d of declared) if (!out.has(d.name)) throw new TensorError(`input ${d.name} is missing`);
  return out;
}

/** Tensors to the wire form (little-endian float32). */
export function encodeTensors(tensors: NamedTensors): Init<umbra.inference.v1.Tensor.$Shape>[] {
  return [...tensors].map(([name, t]) => {
    const bytes = new Uint8Array(t.data.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i]!, true);
    return { name, dims: t.dims, data: bytes };
  });
}

/** Wire-form tensors back to float32 arrays, without the input checks (for outputs and stored records). */
export function tensorsFromWire(tensors: readonly WireTensor[]): NamedTensors {
  const out: NamedTensors = new Map();
  for (const t of tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (t.data.length !== elements * 4) throw new TensorError(`tensor ${t.name} has ${t.data.length} bytes for ${elements} elements`);
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(t.name, { dims: [...t.dims], data: Float32Array.from({ length: elements }, (_, i) => view.getFloat32(i * 4, true)) });
  }
  return out;
}

/** A tensor set as stored in the registry (canary inputs and golden outputs). */
export function packTensorSet(tensors: NamedTensors): Uint8Array {
  return codecFor(umbra.inference.v1.TensorSet).encode({ tensors: encodeTensors(tensors) });
}

export function unpackTensorSet(bytes: Uint8Array): NamedTensors {
  return tensorsFromWire(codecFor(umbra.inference.v1.TensorSet).decode(bytes).tensors);
}

/**
 * Deterministic canary input of the given shape: a smooth pattern with
 * seeded noise in [0, 1], like a normalised image tile, so that it exercises
 * every weight rather than just biases.
 */
export function canaryInput(name: string, dims: readonly number[], seed = 0x5eed): NamedTensors {
  const elements = dims.reduce((a, b) => a * b, 1);
  if (!(elements > 0 && elements <= MAX_TENSOR_ELEMENTS)) throw new TensorError(`canary shape [${dims.join(",")}] is not usable`);
  let state = seed >>> 0 || 1;
  const data = new Float32Array(elements);
  for (let i = 0; i < elements; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const noise = (state >>> 0) / 4294967296;
    data[i] = 0.5 + 0.35 * Math.sin(i * 0.013) * Math.cos(i * 0.0007) + 0.15 * (noise - 0.5);
  }
  return new Map([[name, { dims: [...dims], data }]]);
}
