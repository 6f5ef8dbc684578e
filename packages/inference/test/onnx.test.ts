import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildTinyCnn } from "../src/onnx/build-cnn.js";
import { locateWeights, ModelFormatError, weightBitOffset, weightCount, withBitsFlipped } from "../src/onnx/weights.js";
import { ortReplicaFactory } from "../src/replica.js";
import { shippedModels } from "../src/shipped-models.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("tiny CNN built in code", () => {
  it("is the same file for the same seed and loads in ONNX Runtime with the declared shapes", async () => {
    const a = buildTinyCnn({ head: "classifier", size: 16, classes: 5, seed: 3 });
    expect(Buffer.from(a).equals(Buffer.from(buildTinyCnn({ head: "classifier", size: 16, classes: 5, seed: 3 })))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(buildTinyCnn({ head: "classifier", size: 16, classes: 5, seed: 4 })))).toBe(false);
    const replica = await ortReplicaFactory()(a);
    expect(replica.describe()).toEqual({ inputs: [{ name: "image", dims: [-1, 3, 16, 16] }], outputs: [{ name: "probabilities", dims: [-1, 5] }] });
    const out = await replica.run(new Map([["image", { dims: [2, 3, 16, 16], data: new Float32Array(2 * 3 * 16 * 16).fill(0.5) }]]));
    const p = out.get("probabilities")!;
    expect(p.dims).toEqual([2, 5]);
    expect(p.data.slice(0, 5).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    await replica.release();
  });

  it("refuses out-of-range options", () => {
    expect(() => buildTinyCnn({ head: "classifier", size: 3 })).toThrow(/size must be an integer in 4..512/);
    expect(() => buildTinyCnn({ head: "classifier", size: 15 })).toThrow(/must be even/);
    expect(() => buildTinyCnn({ head: "classifier", classes: 1 })).toThrow(/classes/);
    expect(() => buildTinyCnn({ head: "segmenter", channels: [0, 4] })).toThrow(/channels\[0\]/);
  });
});

describe("weight locator", () => {
  it("finds every float weight of a model built in code", () => {
    const model = buildTinyCnn({ head: "classifier", size: 16, classes: 4, channels: [8, 16] });
    const ranges = locateWeights(model);
    expect(ranges.map((r) => r.name)).toEqual(["conv1.w", "conv1.b", "conv2.w", "conv2.b", "fc.w", "fc.b"]);
    expect(weightCount(ranges)).toBe(8 * 27 + 8 + 16 * 8 * 9 + 16 + 4 * 16 + 4);
  });

  it("finds the weights of the real PaddleOCR models, which keep them in Constant nodes", () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-models-"));
    const cls = shippedModels(dir).find((m) => m.id === "ocr-cls")!;
    const ranges = locateWeights(readFileSync(cls.path));
    expect(ranges.length).toBeGreaterThan(100);
    expect(weightCount(ranges)).toBeGreaterThan(100_000);
  });

  it("maps a weight index and bit to the file's bit: bit 31 is the sign", () => {
    const model = buildTinyCnn({ head: "segmenter", size: 8 });
    const ranges = locateWeights(model);
    fc.assert(
      fc.property(fc.nat({ max: weightCount(ranges) - 1 }), (index) => {
        const offset = weightBitOffset(ranges, index, 31);
        const flipped = withBitsFlipped(model, [offset]);
        const byte = Math.floor(offset / 8) - 3; // the float's first byte
        const before = new DataView(model.buffer, model.byteOffset).getFloat32(byte, true);
        const after = new DataView(flipped.buffer, flipped.byteOffset).getFloat32(byte, true);
        expect(after).toBe(-before);
      }),
    );
    expect(() => weightBitOffset(ranges, weightCount(ranges), 0)).toThrow(/beyond/);
    expect(() => weightBitOffset(ranges, 0, 32)).toThrow(/0..31/);
  });

  it("refuses bytes that are not an ONNX model, truncated or garbage, with ModelFormatError", () => {
    const model = buildTinyCnn({ head: "classifier", size: 16 });
    expect(() => locateWeights(model.subarray(0, model.length - 10))).toThrow(ModelFormatError);
    expect(() => locateWeights(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(ModelFormatError);
    expect(() => locateWeights(new Uint8Array())).toThrow(/no graph/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (garbage) => {
        try {
          locateWeights(garbage);
        } catch (err) {
          expect(err).toBeInstanceOf(ModelFormatError);
        }
      }),
    );
  });

  it("withBitsFlipped copies and refuses offsets outside the bytes", () => {
    const bytes = new Uint8Array([0, 0]);
    expect([...withBitsFlipped(bytes, [0, 15])]).toEqual([1, 128]);
    expect([...bytes]).toEqual([0, 0]);
    expect(() => withBitsFlipped(bytes, [16])).toThrow(/outside/);
    expect(() => withBitsFlipped(bytes, [-1])).toThrow(/outside/);
  });
});
