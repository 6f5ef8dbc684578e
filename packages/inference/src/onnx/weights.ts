// Where a model file keeps its float32 weights: the byte ranges of every
// float initializer and Constant-node tensor (raw_data or packed float_data). The
// fault injector aims its weight upsets there, and the campaign reports by
// bit position within a float, so it must know which bytes are floats.
//
// This walks the protobuf wire format directly rather than decoding the
// model, because decoding loses the byte offsets.
import protobuf from "protobufjs";
import { DataType, FIELD } from "./schema.js";

export interface WeightRange {
  /** Initializer name. */
  name: string;
  /** Byte offset in the model file of the first float (little-endian float32s follow). */
  offset: number;
  /** Bytes; a multiple of 4. */
  length: number;
}

export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFormatError";
  }
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Calls visit(field, wireType, start, end) for each field of the message in bytes[start, end). */
function forEachField(reader: protobuf.Reader, start: number, end: number, visit: (field: number, wireType: number, valueStart: number, valueEnd: number) => void): void {
  reader.pos = start;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new ModelFormatError(`field number 0 at byte ${reader.pos}`);
    if (wireType === WIRE_LEN) {
      const length = reader.uint32();
      const valueStart = reader.pos;
      const valueEnd = valueStart + length;
      if (valueEnd > end) throw new ModelFormatError(`field ${field} at byte ${valueStart} runs ${length} bytes past its message`);
      visit(field, wireType, valueStart, valueEnd);
      reader.pos = valueEnd;
    } else {
      const valueStart = reader.pos;
      reader.skipType(wireType);
      if (reader.pos > end) throw new ModelFormatError(`field ${field} at byte ${valueStart} runs past its message`);
      visit(field, wireType, valueStart, reader.pos);
    }
  }
}

function utf8(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8");
}

/**
 * Lists the float32 weight ranges of an ONNX model file, in file order.
 * Throws ModelFormatError for bytes that are not a well-formed ModelProto.
 */
export function locateWeights(model: Uint8Array): WeightRange[] {
  const reader = protobuf.Reader.create(model);
  const ranges: WeightRange[] = [];
  try {
    let graphs = 0;
    // Float tensors in file order: graph initializers, and the `value` of
    // Constant nodes (exporters such as paddle2onnx keep weights there).
    const tensor = (name: string, tStart: number, tEnd: number): void => {
      let dataType = 0;
      let tensorName = "";
      let data: { start: number; end: number } | undefined;
      forEachField(reader, tStart, tEnd, (tField, tWire, vStart, vEnd) => {
        if (tField === FIELD.tensor.name && tWire === WIRE_LEN) tensorName = utf8(model, vStart, vEnd);
        else if (tField === FIELD.tensor.dataType && tWire === WIRE_VARINT) dataType = protobuf.Reader.create(model.subarray(vStart, vEnd)).int32();
        else if ((tField === FIELD.tensor.rawData || tField === FIELD.tensor.floatData) && tWire === WIRE_LEN) data = { start: vStart, end: vEnd };
      });
      if (dataType === DataType.FLOAT && data && data.end > data.start) {
        const length = (data.end - data.start) & ~3;
        if (length > 0) ranges.push({ name: tensorName || name, offset: data.start, length });
      }
    };
    forEachField(reader, 0, model.length, (field, wireType, start, end) => {
      if (field !== FIELD.model.graph || wireType !== WIRE_LEN) return;
      graphs++;
      forEachField(reader, start, end, (gField, gWire, gStart, gEnd) => {
        if (gWire !== WIRE_LEN) return;
        if (gField === FIELD.graph.initializer) tensor("", gStart, gEnd);
        else if (gField === FIELD.graph.node) {
          let output = "";
          const tensors: [number, number][] = [];
          forEachField(reader, gStart, gEnd, (nField, nWire, nStart, nEnd) => {
            if (nWire !== WIRE_LEN) return;
            if (nField === FIELD.node.output && output === "") output = utf8(model, nStart, nEnd);
            else if (nField === FIELD.node.attribute) {
              forEachField(reader, nStart, nEnd, (aField, aWire, aStart, aEnd) => {
                if (aField === FIELD.attribute.t && aWire === WIRE_LEN) tensors.push([aStart, aEnd]);
              });
            }
          });
          for (const [tStart, tEnd] of tensors) tensor(output, tStart, tEnd);
        }
      });
    });
    if (graphs === 0) throw new ModelFormatError("no graph in the model file");
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    throw new ModelFormatError(`not a well-formed ONNX model: ${err instanceof Error ? err.message : String(err)}`);
  }
  return ranges;
}

/** Total float32 weights in the ranges. */
export function weightCount(ranges: readonly WeightRange[]): number {
  return ranges.reduce((sum, r) => sum + r.length / 4, 0);
}

/**
 * Maps the index of a float weight (0 .. weightCount-1, over all ranges in
 * order) and a bit within it (0 = least significant mantissa bit, 31 = sign)
 * to a bit offset in the model file.
 */
export function weightBitOffset(ranges: readonly WeightRange[], weightIndex: number, bit: number): number {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new RangeError(`bit ${bit} is not in 0..31`);
  let index = weightIndex;
  for (const r of ranges) {
    const floats = r.length / 4;
    if (index < floats) {
      // Little-endian: bit b of the float sits in byte b >> 3 of it.
      return (r.offset + index * 4 + (bit >> 3)) * 8 + (bit & 7);
    }
    index -= floats;
  }
  throw new RangeError(`weight index ${weightIndex} is beyond the model's ${weightCount(ranges)} weights`);
}

/** A copy of bytes with the given bit offsets flipped (bit 0 = LSB of byte 0). */
export function withBitsFlipped(bytes: Uint8Array, bitOffsets: readonly number[]): Uint8Array {
  const copy = new Uint8Array(bytes);
  for (const offset of bitOffsets) {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= bytes.length * 8) throw new RangeError(`bit offset ${offset} is outside the ${bytes.length * 8} bits`);
    const byte = Math.floor(offset / 8); // offsets may exceed 2^31
    copy[byte] = copy[byte]! ^ (1 << offset % 8);
  }
  return copy;
}
