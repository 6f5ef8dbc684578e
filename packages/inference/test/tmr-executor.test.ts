import { createHash } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTinyCnn, TINY_CNN_INPUT, TINY_CNN_OUTPUT } from "../src/onnx/build-cnn.js";
import { locateWeights, weightBitOffset } from "../src/onnx/weights.js";
import { ortReplicaFactory, type NamedTensors } from "../src/replica.js";
import { canaryInput } from "../src/tensors.js";
import { TmrExecutor, type ExecutorListener, type MasterCopy } from "../src/tmr-executor.js";

/**
 * The executor only asks its master copy to verify itself; the scrubber's
 * real protection is tested in packages/scrubber and wired in by the
 * service. This one checks a hash, and can be made unusable.
 */
class HashCheckedMaster implements MasterCopy {
  verifications = 0;
  private readonly sha: string;
  constructor(readonly bytes: Uint8Array) {
    this.sha = createHash("sha256").update(bytes).digest("hex");
  }
  verify() {
    this.verifications++;
    const ok = createHash("sha256").update(this.bytes).digest("hex") === this.sha;
    return { usable: ok, detail: ok ? "clean" : "hash mismatch" };
  }
}

function recorder() {
  const events: string[] = [];
  const listener: ExecutorListener = {
    outvoted: (r) => events.push(`outvoted ${r}`),
    noMajority: () => events.push("no-majority"),
    rebuilt: (r, reason) => events.push(`rebuilt ${r} (${reason})`),
    rebuildFailed: (r, error) => events.push(`rebuild-failed ${r}: ${error}`),
  };
  return { events, listener };
}

const classifier = buildTinyCnn({ head: "classifier", size: 16, classes: 4, seed: 7 });
const segmenter = buildTinyCnn({ head: "segmenter", size: 16, seed: 8 });
const input = canaryInput(TINY_CNN_INPUT, [1, 3, 16, 16]);
const factory = ortReplicaFactory({ intraOpThreads: 1 });
let reference: NamedTensors;
const executors: TmrExecutor[] = [];

async function make(model: Uint8Array, voter: "argmax" | "median" | "bitwise", master = new HashCheckedMaster(model)) {
  const { events, listener } = recorder();
  const executor = await TmrExecutor.create({ master, factory, voter, classes: voter === "argmax" ? 4 : undefined, listener });
  executors.push(executor);
  return { executor, events, master };
}

/** Bit offset of bit `bit` of the first float of the model's first weight tensor. */
function weightBit(model: Uint8Array, bit: number): number {
  return weightBitOffset(locateWeights(model), 0, bit);
}

beforeAll(async () => {
  const replica = await factory(classifier);
  reference = await replica.run(input);
  await replica.release();
});

afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
});

describe("TmrExecutor", () => {
  it("single mode runs one replica and reports the result as unvoted", async () => {
    const { executor } = await make(classifier, "argmax");
    const r = await executor.infer(input, "single");
    expect(r.status).toBe("unvoted");
    expect(r.runs).toBe(1);
    expect([...r.outputs.get(TINY_CNN_OUTPUT.classifier)!.data]).toEqual([...reference.get(TINY_CNN_OUTPUT.classifier)!.data]);
    expect(r.labels).toHaveLength(1);
  });

  it("TMR outvotes a corrupted output, names and rebuilds that replica from the verified master", async () => {
    const { executor, events, master } = await make(classifier, "argmax");
    const verifiedAtStart = master.verifications;
    executor.corruptNextOutput(1, [30]); // exponent MSB of the first probability
    const r = await executor.infer(input, "tmr");
    expect(r.status).toBe("corrected");
    expect(r.dissenters).toEqual([1]);
    expect(r.uncorrectable).toBe(false);
    expect(r.runs).toBe(3);
    expect([...r.outputs.get(TINY_CNN_OUTPUT.classifier)!.data]).toEqual([...reference.get(TINY_CNN_OUTPUT.classifier)!.data]);
    expect(events).toEqual(["outvoted 1", "rebuilt 1 (lost a vote)"]);
    expect(master.verifications).toBe(verifiedAtStart + 1);
    expect(executor.counters.outvoted).toEqual([0, 1, 0]);
    const again = await executor.infer(input, "tmr");
    expect(again.status).toBe("unanimous");
  });

  it("TMR masks an upset in one replica's weights, and the rebuilt replica is clean again", async () => {
    const { executor, events } = await make(classifier, "argmax");
    await executor.corruptWeights(2, [weightBit(classifier, 30)]);
    const r = await executor.infer(input, "tmr");
    expect(r.status).toBe("corrected");
    expect(r.dissenters).toEqual([2]);
    expect(r.labels).toEqual([reference.get(TINY_CNN_OUTPUT.classifier)!.data.indexOf(Math.max(...reference.get(TINY_CNN_OUTPUT.classifier)!.data))]);
    expect(events).toContain("rebuilt 2 (lost a vote)");
    expect((await executor.infer(input, "tmr")).status).toBe("unanimous");
  });

  it("single mode passes a weight upset through silently: that is what unprotected means", async () => {
    const { executor } = await make(classifier, "argmax");
    await executor.corruptWeights(0, [weightBit(classifier, 30)]);
    const r = await executor.infer(input, "single");
    expect(r.status).toBe("unvoted");
    expect([...r.outputs.get(TINY_CNN_OUTPUT.classifier)!.data]).not.toEqual([...reference.get(TINY_CNN_OUTPUT.classifier)!.data]);
  });

  it("a split vote is reported as uncorrectable, never as good, and every replica is rebuilt", async () => {
    const { executor, events } = await make(segmenter, "median");
    executor.corruptNextOutput(0, [30]);
    executor.corruptNextOutput(1, [29, 30]);
    executor.corruptNextOutput(2, [28, 30]);
    const r = await executor.infer(input, "tmr");
    expect(r.status).toBe("no-majority");
    expect(r.uncorrectable).toBe(true);
    expect(events[0]).toBe("no-majority");
    expect(events.filter((e) => e.startsWith("rebuilt"))).toHaveLength(3);
    expect(executor.counters.noMajority).toBe(1);
    expect((await executor.infer(input, "tmr")).status).toBe("unanimous");
  });

  it("duplex runs two replicas when they agree and a third only when they disagree", async () => {
    const { executor } = await make(segmenter, "bitwise");
    const clean = await executor.infer(input, "duplex");
    expect(clean.runs).toBe(2);
    expect(clean.status).toBe("unanimous");
    executor.corruptNextOutput(0, [3 * 32 + 30]); // exponent MSB of element 3
    const r = await executor.infer(input, "duplex");
    expect(r.runs).toBe(3);
    expect(r.status).toBe("corrected");
    expect(r.dissenters).toEqual([0]);
    expect([...r.outputs.get(TINY_CNN_OUTPUT.segmenter)!.data]).toEqual([...clean.outputs.get(TINY_CNN_OUTPUT.segmenter)!.data]);
  });

  it("the canary finds a replica with corrupted weights between jobs and rebuilds it", async () => {
    const { executor, events } = await make(classifier, "argmax");
    await executor.corruptWeights(1, [weightBit(classifier, 29)]);
    expect(await executor.runCanary(input, reference)).toEqual([1]);
    expect(events).toContain("rebuilt 1 (failed its canary)");
    expect(await executor.runCanary(input, reference)).toEqual([]);
    expect(executor.counters.canaryFailures).toBe(1);
  });

  it("refuses to rebuild from a master copy that fails verification, and says so", async () => {
    const master = new HashCheckedMaster(new Uint8Array(classifier));
    const { executor, events } = await make(master.bytes, "argmax", master);
    master.bytes[10] = master.bytes[10]! ^ 0xff; // an error the master cannot correct
    executor.corruptNextOutput(0, [30]);
    const r = await executor.infer(input, "tmr");
    expect(r.status).toBe("corrected");
    expect(events.some((e) => e.startsWith("rebuild-failed 0: master copy is not usable"))).toBe(true);
    expect(executor.counters.rebuildFailures).toBe(1);
  });

  it("refuses to start from an unusable master and rejects bad arguments clearly", async () => {
    const master = new HashCheckedMaster(new Uint8Array(classifier));
    master.bytes[5] = master.bytes[5]! ^ 1;
    await expect(TmrExecutor.create({ master, factory, voter: "argmax", classes: 4 })).rejects.toThrow(/master copy is not usable/);
    await expect(TmrExecutor.create({ master: new HashCheckedMaster(classifier), factory, voter: "argmax" })).rejects.toThrow(/classes >= 2/);
    await expect(TmrExecutor.create({ master: new HashCheckedMaster(classifier), factory, voter: "vote" as "median" })).rejects.toThrow(/voter must be one of/);
    await expect(TmrExecutor.create({ master: new HashCheckedMaster(new Uint8Array([1, 2, 3])), factory, voter: "median" })).rejects.toThrow(/could not load/);
    const { executor } = await make(classifier, "argmax");
    await expect(executor.infer(input, "quad" as "tmr")).rejects.toThrow(/protection must be one of/);
    expect(() => executor.corruptNextOutput(3, [1])).toThrow(/replica must be 0, 1 or 2/);
    expect(() => executor.corruptNextOutput(0, [])).toThrow(/no bit offsets/);
    expect(() => executor.corruptNextOutput(0, [-1])).toThrow(/not an integer >= 0/);
    expect(() => executor.corruptWeights(0, [classifier.length * 8])).toThrow(/outside/);
    await expect(executor.infer(new Map([["nope", { dims: [1], data: new Float32Array(1) }]]), "tmr")).rejects.toThrow();
    // Nothing above changed the replicas.
    expect((await executor.infer(input, "tmr")).status).toBe("unanimous");
  });
});
