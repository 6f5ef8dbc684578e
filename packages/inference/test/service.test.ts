import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceHarness } from "@umbra/core/testing";
import type { PowerPort } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildTinyCnn } from "../src/onnx/build-cnn.js";
import { locateWeights, weightBitOffset, weightCount } from "../src/onnx/weights.js";
import { ModelRegistry } from "../src/registry.js";
import { InferenceService } from "../src/service.js";
import { canaryInput, encodeTensors } from "../src/tensors.js";

const { VoteStatus, Protection } = umbra.inference.v1;
const classifier = buildTinyCnn({ head: "classifier", size: 16, classes: 4, seed: 11 });
const classifierV2 = buildTinyCnn({ head: "classifier", size: 16, classes: 4, seed: 12 });
const segmenter = buildTinyCnn({ head: "segmenter", size: 16, seed: 13 });
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const LABELS = ["cloud", "water", "land", "ice"];

/** A power monitor reading a steady 12 V x 1.5 A = 18 W. */
const power: PowerPort = { read: async () => ({ busVoltageV: 12, busCurrentA: 1.5, inputPowerW: 40, batterySocPct: 80 }) };

let dir: string;
let registry: ModelRegistry;
let h: ServiceHarness<InferenceService>;

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function startService(parameters: Record<string, unknown> = {}): Promise<ServiceHarness<InferenceService>> {
  const harness = await ServiceHarness.start((ctx) => new InferenceService(ctx, { registry, power }), { parameters: { canaryPeriodMs: 0, ...parameters } });
  harness.record(umbra.scrubber.v1.ScrubStatus);
  return harness;
}

const input = () => encodeTensors(canaryInput("image", [1, 3, 16, 16], 99));

function infer(model: string, protection = Protection.PROTECTION_DEFAULT, inputs = input()) {
  return h.bus.request(umbra.inference.v1.InferRequest, { model, protection, inputs, requestId: "t" }, umbra.inference.v1.InferResult, { target: "inference", timeoutMs: 60_000 });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "umbra-inference-"));
  registry = ModelRegistry.open(join(dir, "models.db"));
  h = await startService();
  await h.service.register({ id: "tiny-cls", version: 1, path: write("cls-1.onnx", classifier), voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16] });
  await h.service.activate("tiny-cls", 1);
  await h.service.register({ id: "tiny-seg", version: 1, path: write("seg-1.onnx", segmenter), voter: "median", labels: [], inputDims: [1, 3, 16, 16] });
  await h.service.activate("tiny-seg", 1);
});

afterEach(async () => {
  await h.stop();
  registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("InferenceService", () => {
  it("answers an inference request with the voted outputs, the class label and the vote", async () => {
    const r = await infer("tiny-cls", Protection.PROTECTION_TMR);
    expect(r.vote).toBe(VoteStatus.VOTE_STATUS_UNANIMOUS);
    expect(r.replicaRuns).toBe(3);
    expect(r.uncorrectable).toBe(false);
    expect(r.label).toBeGreaterThanOrEqual(0);
    expect(r.labelName).toBe(LABELS[r.label]);
    expect(r.confidence).toBeGreaterThan(0.25);
    expect(r.outputs[0]!.dims).toEqual([1, 4]);
    expect(r.protection).toBe(Protection.PROTECTION_TMR);
    const single = await infer("tiny-cls", Protection.PROTECTION_SINGLE);
    expect(single.vote).toBe(VoteStatus.VOTE_STATUS_UNVOTED);
    expect(single.replicaRuns).toBe(1);
  });

  it("uses the protection parameter when a request names none", async () => {
    await h.setParameters({ protection: "duplex" });
    const r = await infer("tiny-seg");
    expect(r.protection).toBe(Protection.PROTECTION_DUPLEX);
    expect(r.replicaRuns).toBe(2);
  });

  it("masks an upset in one replica's output injected over the bus, reports it and rebuilds the replica", async () => {
    const ack = await h.bus.request(umbra.hil.v1.CorruptReplicaOutput, { service: "inference", replica: 2, bitOffsets: [30n], injectionId: "f1" }, umbra.hil.v1.FaultAck, { target: "inference" });
    expect(ack).toMatchObject({ applied: true, injectionId: "f1" });
    const clean = await infer("tiny-seg", Protection.PROTECTION_SINGLE);
    const r = await infer("tiny-seg", Protection.PROTECTION_TMR);
    expect(r.vote).toBe(VoteStatus.VOTE_STATUS_CORRECTED);
    expect(r.dissentingReplicas).toEqual([2]);
    expect(Buffer.from(r.outputs[0]!.data).equals(Buffer.from(clean.outputs[0]!.data))).toBe(true);
    await h.settle();
    expect(h.events("replicaOutvoted")).toHaveLength(1);
    expect(h.events("replicaRebuilt")[0]!.message).toMatch(/replica 2 rebuilt \(lost a vote\)/);
  });

  it("a canary finds a replica whose weights were upset between jobs", async () => {
    const ranges = locateWeights(classifier);
    // The last weight is a bias of the final layer: a huge value there changes every output.
    const offset = weightBitOffset(ranges, weightCount(ranges) - 1, 30);
    const ack = await h.bus.request(umbra.hil.v1.CorruptReplicaWeights, { service: "inference", model: "tiny-cls", replica: 1, bitOffsets: [BigInt(offset)], injectionId: "w1" }, umbra.hil.v1.FaultAck, { target: "inference" });
    expect(ack.applied).toBe(true);
    const result = await h.command("runCanary", { model: "tiny-cls" });
    expect(result.status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(result.message).toMatch(/tiny-cls: replicas 1/);
    expect(h.events("canaryFailed")).toHaveLength(1);
    expect((await h.command("runCanary", { model: "" })).message).toMatch(/2 model\(s\) passed/);
  });

  it("scrubs the master copy before rebuilding: an upset in the master never reaches a replica", async () => {
    const info = h.service.describe("tiny-cls");
    const bit = Number(info.weights![0]!.offset) * 8 + 30;
    const flip = await h.bus.request(umbra.platform.v1.FlipBits, { service: "inference", region: "model/tiny-cls/v1", bitOffsets: [BigInt(bit)], injectionId: "m1" }, umbra.platform.v1.FlipBitsResult, { target: "inference" });
    expect(flip.applied).toBe(true);
    expect((await h.command("rebuildReplicas", { model: "tiny-cls" })).status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED);
    // Had the flip reached the replicas, they would no longer match the canary.
    expect((await h.command("runCanary", { model: "tiny-cls" })).message).toMatch(/passed/);
    expect(h.events("canaryFailed")).toHaveLength(0);
  });

  it("learns energy and latency per inference from the power port and stores them", async () => {
    for (let i = 0; i < 5; i++) await infer("tiny-cls", Protection.PROTECTION_SINGLE);
    await h.advance(10_000); // one report period: measurements are folded into the registry
    const entry = registry.get("tiny-cls", 1)!;
    expect(entry.samples).toBe(5);
    expect(entry.latencyMs).toBeGreaterThan(0);
    // 18 W while computing: energy = 18 W x latency.
    expect(entry.energyJ).toBeCloseTo((18 * entry.latencyMs) / 1000, 6);
    const info = await h.bus.request(umbra.inference.v1.DescribeModel, { model: "tiny-cls" }, umbra.inference.v1.ModelInfo, { target: "inference" });
    expect(info).toMatchObject({ model: "tiny-cls", version: 1, loaded: true, voter: "argmax", labels: LABELS, samples: 5 });
    expect(info.weights.length).toBe(6);
    expect(h.telemetry("inferences").at(-1)!.value).toBe(5);
  });

  it("refuses malformed and hostile inference requests with a reason, and changes nothing", async () => {
    const before = { ...h.service.counters("tiny-cls") };
    const good = input()[0]!;
    const nan = new Uint8Array(good.data);
    new DataView(nan.buffer).setFloat32(8, NaN, true);
    const cases: [Parameters<typeof infer>, RegExp][] = [
      [["nope"], /model "nope" is not loaded/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, []], /input image is missing/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, name: "other" }]], /not one of the model's inputs/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [good, good]], /given twice/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, dims: [1, 3, 16] }]], /3 dimensions/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, dims: [1, 3, 17, 16] }]], /dimension 2 is 17/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, dims: [0, 3, 16, 16] }]], /must be >= 1/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, dims: [100000, 3, 16, 16] }]], /more than/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, data: good.data!.subarray(4) }]], /data bytes/],
      [["tiny-cls", Protection.PROTECTION_DEFAULT, [{ ...good, data: nan }]], /element 2 is NaN/],
      [["tiny-cls", 7 as umbra.inference.v1.Protection], /protection/],
    ];
    for (const [args, error] of cases) await expect(infer(...args)).rejects.toThrow(error);
    expect(h.service.counters("tiny-cls")).toEqual(before);
    const badFault = await h.bus.request(umbra.hil.v1.CorruptReplicaOutput, { service: "inference", replica: 3, bitOffsets: [1n], injectionId: "x" }, umbra.hil.v1.FaultAck, { target: "inference" });
    expect(badFault).toMatchObject({ applied: false, error: expect.stringMatching(/replica must be 0, 1 or 2/) });
    const badWeights = await h.bus.request(umbra.hil.v1.CorruptReplicaWeights, { service: "inference", model: "tiny-cls", replica: 0, bitOffsets: [BigInt(classifier.length * 8)], injectionId: "y" }, umbra.hil.v1.FaultAck, { target: "inference" });
    expect(badWeights).toMatchObject({ applied: false, error: expect.stringMatching(/outside/) });
    expect((await infer("tiny-cls", Protection.PROTECTION_TMR)).vote).toBe(VoteStatus.VOTE_STATUS_UNANIMOUS);
  });

  it("registers by telecommand, refusing a wrong hash, a file that is not a model, and bad arguments, storing nothing", async () => {
    const ok = await h.command("registerModel", { model: "tiny-cls", version: 2, path: write("cls-2.onnx", classifierV2), sha256: sha(classifierV2), voter: "argmax", labels: LABELS.join(","), inputDims: [1, 3, 16, 16] });
    expect(ok.status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED);
    const rejected = umbra.core.v1.CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ version: 3, sha256: "00".repeat(32) }, /hashes to/],
      [{ version: 3, path: write("junk.onnx", new TextEncoder().encode("not a model at all")) }, /not a well-formed ONNX model|could not load/],
      [{ version: 3, path: join(dir, "missing.onnx") }, /cannot read model file/],
      [{ version: 3, labels: "a,b" }, /4 classes but 2 labels/],
      [{ version: 3, inputDims: [1, 3, 15, 16] }, /does not fit/],
      [{ version: 2 }, /already registered/],
      [{ version: 3, model: "Evil/../id" }, /model id must match/],
    ];
    for (const [overrides, error] of cases) {
      const r = await h.command("registerModel", { model: "tiny-cls", path: join(dir, "cls-2.onnx"), sha256: "", voter: "argmax", labels: LABELS.join(","), inputDims: [1, 3, 16, 16], version: 3, ...overrides } as never);
      expect(r.status, JSON.stringify(overrides)).toBe(rejected);
      expect(r.message).toMatch(error);
    }
    const badVoter = await h.command("registerModel", { model: "x", version: 1, path: "p", sha256: "", voter: "plurality", labels: "", inputDims: [1] });
    expect(badVoter.status).toBe(rejected);
    expect(registry.list().map((e) => `${e.id}@${e.version}`)).toEqual(["tiny-cls@2", "tiny-cls@1", "tiny-seg@1"]);
  });

  it("activates a new version, and keeps the previous one active when the new file is corrupt or truncated", async () => {
    await h.service.register({ id: "tiny-cls", version: 2, path: write("cls-2.onnx", classifierV2), voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16] });
    await h.service.register({ id: "tiny-cls", version: 3, path: write("cls-3.onnx", classifierV2.slice()), voter: "argmax", labels: LABELS, inputDims: [1, 3, 16, 16] });
    // After registration, v3's file is damaged on disk.
    truncateSync(join(dir, "cls-3.onnx"), 1000);
    const bad = await h.command("activateModel", { model: "tiny-cls", version: 3 });
    expect(bad.status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION);
    expect(bad.message).toMatch(/sha256 is .*, expected/);
    expect(registry.active("tiny-cls")!.version).toBe(1);
    expect((await infer("tiny-cls")).version).toBe(1);
    expect(h.events("modelLoadFailed")).toHaveLength(1);

    const good = await h.command("activateModel", { model: "tiny-cls", version: 2 });
    expect(good.status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED);
    expect((await infer("tiny-cls")).version).toBe(2);
    expect(registry.active("tiny-cls")!.version).toBe(2);
    expect((await h.command("activateModel", { model: "tiny-cls", version: 9 })).message).toMatch(/not registered/);
  });

  it("comes back after a restart with the active models loaded from the registry", async () => {
    await h.stop();
    h = await startService();
    const r = await infer("tiny-seg", Protection.PROTECTION_TMR);
    expect(r.vote).toBe(VoteStatus.VOTE_STATUS_UNANIMOUS);
    await h.advance(10_000); // the scrub agent's status period
    const regions = h.published(umbra.scrubber.v1.ScrubStatus).map((s) => s.message.region);
    expect(regions).toEqual(expect.arrayContaining(["model/tiny-cls/v1", "model/tiny-seg/v1"]));
  });

  it("declares accuracy by telecommand (a version, or 0 for the active one) and returns it in DescribeModel", async () => {
    const describe = () => h.bus.request(umbra.inference.v1.DescribeModel, { model: "tiny-cls" }, umbra.inference.v1.ModelInfo, { target: "inference" });
    expect((await describe()).accuracy).toBe(0);
    const completed = umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED;
    const active = await h.command("setAccuracy", { model: "tiny-cls", version: 0, accuracy: 0.93 });
    expect(active.status).toBe(completed);
    expect(active.message).toBe("tiny-cls v1 accuracy 0.93 (was not declared)");
    expect((await describe()).accuracy).toBe(0.93);
    expect(registry.get("tiny-cls", 1)!.accuracy).toBe(0.93);
    expect(h.events("accuracyDeclared").at(-1)!.message).toBe("tiny-cls v1 accuracy: 0.93 (was not declared)");
    // A version that is not active, registered by command with its accuracy, then corrected.
    const reg = await h.command("registerModel", { model: "tiny-cls", version: 2, path: write("cls-2.onnx", classifierV2), sha256: "", voter: "argmax", labels: LABELS.join(","), inputDims: [1, 3, 16, 16], accuracy: 0.8 });
    expect(reg.status).toBe(completed);
    expect(registry.get("tiny-cls", 2)!.accuracy).toBe(0.8);
    expect((await h.command("setAccuracy", { model: "tiny-cls", version: 2, accuracy: 0.85 })).status).toBe(completed);
    expect(registry.get("tiny-cls", 2)!.accuracy).toBe(0.85);
    expect((await describe()).accuracy).toBe(0.93); // v1 is still the active one
    // Activating v2 describes v2's accuracy; 0 withdraws a declaration.
    await h.service.activate("tiny-cls", 2);
    expect((await describe()).accuracy).toBe(0.85);
    expect((await h.command("setAccuracy", { model: "tiny-cls", version: 0, accuracy: 0 })).message).toBe("tiny-cls v2 accuracy not declared (was 0.85)");
    expect((await describe()).accuracy).toBe(0);
  });

  it("refuses an out-of-range, NaN or hostile accuracy and an unknown model or version, changing nothing", async () => {
    await h.command("setAccuracy", { model: "tiny-cls", version: 1, accuracy: 0.5 });
    const rejected = umbra.core.v1.CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ accuracy: 1.0001 }, /accuracy: 1.0001 is above the maximum 1/],
      [{ accuracy: -0.5 }, /accuracy: -0.5 is below the minimum 0/],
      [{ accuracy: Number.NaN }, /accuracy: NaN is not a finite number/],
      [{ accuracy: Number.POSITIVE_INFINITY }, /above the maximum/],
      [{ model: "nope" }, /no model "nope" is registered/],
      [{ model: "../../etc/passwd" }, /model id must match/],
      [{ model: "" }, /model id must match/],
      [{ version: 7 }, /model "tiny-cls" has no version 7/],
    ];
    for (const [overrides, error] of cases) {
      const r = await h.command("setAccuracy", { model: "tiny-cls", version: 1, accuracy: 0.9, ...overrides } as never);
      expect(r.status, JSON.stringify(overrides)).toBe(rejected);
      expect(r.message).toMatch(error);
    }
    // A model registered but never activated has no active version to default to.
    registry.add(registry.prepare({ id: "idle", version: 1, path: join(dir, "x.onnx"), voter: "median", labels: [], inputs: [{ name: "image", dims: [1, 3, 16, 16] }], outputs: [{ name: "o", dims: [1] }], inputDims: [1, 3, 16, 16] }, segmenter), { inputs: new Uint8Array([1]), golden: new Uint8Array([1]) });
    const noActive = await h.command("setAccuracy", { model: "idle", version: 0, accuracy: 0.9 });
    expect(noActive.status).toBe(rejected);
    expect(noActive.message).toMatch(/model "idle" has no active version; name the version/);
    expect(registry.get("idle", 1)!.accuracy).toBe(0);
    const badRegister = await h.command("registerModel", { model: "tiny-cls", version: 5, path: write("cls-5.onnx", classifierV2), sha256: "", voter: "argmax", labels: LABELS.join(","), inputDims: [1, 3, 16, 16], accuracy: 2 });
    expect(badRegister.status).toBe(rejected);
    expect(badRegister.message).toMatch(/accuracy: 2 is above the maximum 1/);
    expect(registry.get("tiny-cls", 5)).toBeUndefined();
    expect(registry.get("tiny-cls", 1)!.accuracy).toBe(0.5);
    expect(h.events("accuracyDeclared")).toHaveLength(1);
  });
});
