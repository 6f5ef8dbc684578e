import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SimClock } from "@umbra/core/testing";
import { GoldenCopyError, ProtectedRegion, RegionError, type InterleaveDepth } from "../src/index.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "umbra-scrubber-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const flip = (buf: Uint8Array, i: number) => {
  buf[i >>> 3] = buf[i >>> 3]! ^ (1 << (i & 7));
};
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
let files = 0;
function goldenFile(bytes: Uint8Array): { path: string; sha256: string } {
  const p = path.join(dir, `golden-${files++}.bin`);
  writeFileSync(p, bytes);
  return { path: p, sha256: sha(bytes) };
}

describe("ProtectedRegion: creation and hostile input", () => {
  const bytes = pattern(4096);
  it("describes its code and layout", () => {
    const r = ProtectedRegion.create({ name: "model/weights", bytes, code: { secded: { interleave: 8 }, checksumBlockBytes: 1024 } });
    expect(r.code).toBe("secded(72,64) x8 + crc32/1KiB");
    expect(r.blocks).toBe(4);
    expect(r.sideTable.length).toBe(4096 / 8 + 4 * 4);
    expect(r.bytes).toBe(bytes); // the live buffer itself, never a copy
    expect(r.scrubAll()).toMatchObject({ clean: true, usable: true, checkedBlocks: 4, checkedBytes: 4096, correctedBits: 0 });
    expect(ProtectedRegion.create({ name: "t", bytes, code: { secded: false } }).code).toBe("crc32/64KiB");
  });

  it("refuses empty buffers, non-buffers, bad names and bad codes with a clear error", () => {
    const cases: [unknown, RegExp][] = [
      [{ name: "x", bytes: new Uint8Array(0) }, /is empty/],
      [{ name: "x", bytes: [1, 2, 3] }, /must be a Uint8Array/],
      [{ name: "x", bytes: Buffer.from("ab").toString() }, /must be a Uint8Array/],
      [{ name: "", bytes }, /region name "" must match/],
      [{ name: "has space", bytes }, /must match/],
      [{ name: "/leading", bytes }, /must match/],
      [{ name: "x".repeat(61), bytes }, /at most 60 characters/],
      [{ name: 42, bytes }, /region name 42/],
      [{ name: "x", bytes, code: { secded: { interleave: 7 } } }, /interleave must be 8, 16 or 32/],
      [{ name: "x", bytes, code: { secded: { interleave: 64 } } }, /interleave must be 8, 16 or 32/],
      [{ name: "x", bytes, code: { secded: true } }, /interleave must be 8, 16 or 32/],
      [{ name: "x", bytes, code: { checksumBlockBytes: 1000 } }, /power of two from 1024 to 16777216/],
      [{ name: "x", bytes, code: { checksumBlockBytes: 512 } }, /power of two/],
      [{ name: "x", bytes, code: { checksumBlockBytes: 2 ** 25 } }, /power of two/],
      [{ name: "x", bytes, code: { checksumBlockBytes: Number.NaN } }, /power of two/],
      [{ name: "x", bytes, code: { checksum: 4096 } }, /unknown field "checksum"/],
      [{ name: "x", bytes, code: "secded" }, /code must be an object/],
      [null, /options must be an object/],
    ];
    for (const [options, message] of cases) {
      expect(() => ProtectedRegion.create(options as never)).toThrow(RegionError);
      expect(() => ProtectedRegion.create(options as never)).toThrow(message);
    }
  });

  it("refuses out-of-range scrub and update arguments and changes nothing", () => {
    const data = pattern(5000);
    const copy = data.slice();
    const r = ProtectedRegion.create({ name: "x", bytes: data, code: { checksumBlockBytes: 1024 } });
    for (const [start, count] of [[-1, 1], [5, 1], [0, 6], [1.5, 1], [0, -1], [2 ** 53, 1], [Number.NaN, 1]] as [number, number][]) {
      expect(() => r.scrub(start, count)).toThrow(RegionError);
    }
    for (const max of [0, -1, Number.NaN, Infinity]) expect(() => r.scrubNext(max)).toThrow(/maxBytes must be a finite number > 0/);
    expect(() => r.update(4999, new Uint8Array(2))).toThrow(/length must be an integer in 0..1/);
    expect(() => r.update(-1, new Uint8Array(1))).toThrow(/offset must be an integer/);
    expect(() => r.update(0, "abc" as never)).toThrow(/data must be a Uint8Array/);
    expect(() => r.modify(0, 1, "no" as never)).toThrow(/write must be a function/);
    expect(data).toEqual(copy);
    expect(r.stats.checkedBytes).toBe(0);
  });

  it("refuses to scrub a buffer that was detached", () => {
    const data = pattern(2048);
    const r = ProtectedRegion.create({ name: "x", bytes: data });
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => r.scrubAll()).toThrow(/no longer 2048 bytes/);
  });
});

describe.each([8, 16, 32].map((d) => [d as InterleaveDepth]))("ProtectedRegion with interleave %i", (depth) => {
  // Odd size (a partial last group and block) and an unaligned view: the awkward cases.
  const size = 3 * 1024 + 77;
  const make = (offset = 0) => {
    const backing = new Uint8Array(size + offset);
    backing.set(pattern(size, depth), offset);
    const bytes = backing.subarray(offset, offset + size);
    return { bytes, original: bytes.slice(), region: ProtectedRegion.create({ name: "table", bytes, code: { secded: { interleave: depth }, checksumBlockBytes: 1024 } }) };
  };

  it.each([0, 1])("corrects every single-bit flip (view offset %i)", (offset) => {
    const { bytes, original, region } = make(offset);
    for (let i = 0; i < size * 8; i++) {
      flip(bytes, i);
      const block = Math.floor(i / 8 / 1024);
      const r = region.scrub(block, 1);
      expect(r.correctedBits).toBe(1);
      expect(r.clean).toBe(false);
      expect(r.usable).toBe(true);
    }
    expect(bytes).toEqual(original);
    expect(region.stats).toMatchObject({ correctedBits: size * 8, uncorrectableDetected: 0, uncorrectableBlocks: 0 });
  });

  it(`corrects every burst of 2..${depth} adjacent flips, across group and block boundaries`, () => {
    const { bytes, original, region } = make();
    for (let length = 2; length <= depth; length++) {
      for (let start = 0; start + length <= size * 8; start += length === depth ? 1 : 13) {
        for (let i = start; i < start + length; i++) flip(bytes, i);
        const r = region.scrubAll();
        expect(r.correctedBits).toBe(length);
        expect(r.usable).toBe(true);
      }
    }
    expect(bytes).toEqual(original);
  });

  it("corrects every single flip in the side table (check symbols and block checksums) without touching the data", () => {
    const { bytes, original, region } = make();
    for (let i = 0; i < region.sideTable.length * 8; i++) {
      flip(region.sideTable, i);
      const r = region.scrubAll();
      expect(r.correctedCheckBits).toBe(1);
      expect(r.correctedBits).toBe(0);
      expect(r.usable).toBe(true);
    }
    expect(bytes).toEqual(original);
    expect(region.scrubAll().clean).toBe(true);
  });

  it("detects two flips in one codeword, reports it once, keeps it unusable and never 'fixes' it", () => {
    fc.assert(
      fc.property(fc.nat({ max: size * 8 - 1 }), fc.integer({ min: 1, max: 63 }), (first, gap) => {
        const { bytes, region } = make();
        const second = first + gap * depth; // same codeword: same offset mod D, same group if it fits
        const groupBits = 64 * depth;
        fc.pre(second < size * 8 && Math.floor(first / groupBits) === Math.floor(second / groupBits));
        flip(bytes, first);
        flip(bytes, second);
        const corrupted = bytes.slice();
        const r = region.scrubAll();
        expect(r).toMatchObject({ usable: false, clean: false, newUncorrectableBlocks: 1, uncorrectableBlocks: 1, correctedBits: 0 });
        expect(bytes).toEqual(corrupted);
        const again = region.scrubAll();
        expect(again).toMatchObject({ usable: false, newUncorrectableBlocks: 0, uncorrectableBlocks: 1 });
        expect(region.stats).toMatchObject({ uncorrectableDetected: 1, uncorrectableBlocks: 1 });
        expect(region.uncorrectable()).toEqual([{ block: Math.floor(first / 8 / 1024), offset: Math.floor(first / 8 / 1024) * 1024, length: Math.min(1024, size - Math.floor(first / 8 / 1024) * 1024) }]);
      }),
      { numRuns: 60 },
    );
  });

  it("counts passes and their time on the clock, incrementally", async () => {
    const clock = new SimClock();
    const bytes = pattern(4096);
    const region = ProtectedRegion.create({ name: "t", bytes, code: { secded: { interleave: depth }, checksumBlockBytes: 1024 }, clock });
    expect(region.scrubNext(1)).toMatchObject({ checkedBlocks: 1, passCompleted: false }); // at least a block
    await clock.advance(500);
    expect(region.scrubNext(2048)).toMatchObject({ checkedBlocks: 2, passCompleted: false });
    await clock.advance(500);
    expect(region.nextBlock).toBe(3);
    expect(region.scrubNext(10_000)).toMatchObject({ checkedBlocks: 1, passCompleted: true });
    expect(region.stats).toMatchObject({ fullPasses: 1, lastFullPassNs: clock.nowTaiNs(), lastPassDurationMs: 1000, checkedBytes: 4096 });
    expect(region.nextBlock).toBe(0);
  });
});

describe("ProtectedRegion: golden copies", () => {
  const size = 10_000;
  const setup = (code: { secded?: false } = {}) => {
    const bytes = pattern(size, 7);
    const region = ProtectedRegion.create({ name: "weights", bytes, code: { ...code, checksumBlockBytes: 1024 } });
    return { bytes, original: bytes.slice(), region };
  };

  it("repairs a double flip from a verified golden copy, reading only that block", async () => {
    const { bytes, original, region } = setup();
    const golden = goldenFile(original);
    expect(await region.attachGolden(golden)).toEqual({ state: "verified", path: golden.path, sha256: golden.sha256 });
    flip(bytes, 8 * 5000 + 1);
    flip(bytes, 8 * 5001 + 1); // same codeword: depth 8, one byte apart
    const r = region.scrubAll();
    expect(r).toMatchObject({ repairedBlocks: 1, uncorrectableBlocks: 0, newUncorrectableBlocks: 0, usable: true, clean: false });
    expect(bytes).toEqual(original);
    expect(region.stats).toMatchObject({ repairedBlocks: 1, uncorrectableDetected: 0 });
    expect(region.scrubAll().clean).toBe(true);
  });

  it("rejects a golden copy whose hash is wrong, and then cannot repair (reported, not fixed)", async () => {
    const { bytes, original, region } = setup();
    const golden = goldenFile(original);
    const wrong = "0".repeat(64);
    const status = await region.attachGolden({ path: golden.path, sha256: wrong });
    expect(status.state).toBe("rejected");
    expect(status).toMatchObject({ reason: `sha256 is ${golden.sha256}, expected ${wrong}` });
    flip(bytes, 3);
    flip(bytes, 3 + 8);
    expect(region.scrubAll()).toMatchObject({ repairedBlocks: 0, newUncorrectableBlocks: 1, usable: false });
    expect(bytes).not.toEqual(original);
    // A good copy attached later repairs what is pending at once.
    expect((await region.attachGolden(golden)).state).toBe("verified");
    expect(region.usable).toBe(true);
    expect(bytes).toEqual(original);
    expect(region.stats).toMatchObject({ repairedBlocks: 1, uncorrectableDetected: 1, uncorrectableBlocks: 0 });
  });

  it("rejects a truncated, a missing, a larger and a foreign golden file, each with its reason", async () => {
    const { original, region } = setup();
    const short = goldenFile(original.subarray(0, size - 1));
    expect(await region.attachGolden(short)).toMatchObject({ state: "rejected", reason: `has ${size - 1} bytes; the region has ${size} (truncated or not this region's copy)` });
    const long = goldenFile(new Uint8Array([...original, 0]));
    expect(await region.attachGolden(long)).toMatchObject({ state: "rejected", reason: expect.stringMatching(/has 10001 bytes/) });
    expect(await region.attachGolden({ path: path.join(dir, "nope.bin"), sha256: "a".repeat(64) })).toMatchObject({ state: "rejected", reason: expect.stringMatching(/cannot open: ENOENT/) });
    expect(await region.attachGolden({ path: dir, sha256: "a".repeat(64) })).toMatchObject({ state: "rejected", reason: "not a regular file" });
    const other = pattern(size, 99);
    const foreign = goldenFile(other); // its own hash is right, but it is not this data
    expect(await region.attachGolden(foreign)).toMatchObject({ state: "rejected", reason: expect.stringMatching(/differs from the live data in 10 block\(s\), first block 0/) });
    expect(region.goldenCopy.state).toBe("rejected");
  });

  it("refuses a malformed golden spec before touching anything", async () => {
    const { region } = setup();
    await expect(region.attachGolden({ path: "x", sha256: "abc" })).rejects.toThrow(/sha256 must be 64 hex digits/);
    await expect(region.attachGolden({ path: "", sha256: "a".repeat(64) })).rejects.toThrow(/path must be a non-empty string/);
    await expect(region.attachGolden(null as never)).rejects.toThrow(RegionError);
    expect(region.goldenCopy).toEqual({ state: "none" });
  });

  it("stops trusting a golden file that changed on disk after verification", async () => {
    const { bytes, original, region } = setup();
    const golden = goldenFile(original);
    await region.attachGolden(golden);
    const tampered = original.slice();
    tampered[100] ^= 0xff;
    writeFileSync(golden.path, tampered);
    flip(bytes, 0);
    flip(bytes, 8);
    const r = region.scrubAll();
    expect(r).toMatchObject({ repairedBlocks: 0, newUncorrectableBlocks: 1, usable: false });
    expect(r.repairErrors[0]).toMatch(/block 0: block 0 no longer matches the copy that was verified/);
    expect(region.goldenCopy.state).toBe("rejected");
    truncateSync(golden.path, 10);
  });

  it("with block checksums only: detects any flip; repairs from the golden copy, or reports it", async () => {
    const { bytes, original, region } = setup({ secded: false });
    flip(bytes, 12345);
    expect(region.scrubAll()).toMatchObject({ newUncorrectableBlocks: 1, usable: false, correctedBits: 0 });
    await region.attachGolden(goldenFile(original));
    expect(region.usable).toBe(true);
    expect(bytes).toEqual(original);
  });

  it("load(): reads and verifies the master copy; refuses a wrong hash, a missing, an empty or an oversized file", async () => {
    const original = pattern(5000, 3);
    const golden = goldenFile(original);
    const region = await ProtectedRegion.load({ name: "model/weights", golden, code: { checksumBlockBytes: 1024 } });
    expect(region.bytes).toEqual(original);
    expect(region.goldenCopy.state).toBe("verified");
    flip(region.bytes, 40);
    flip(region.bytes, 48);
    expect(region.scrubAll()).toMatchObject({ repairedBlocks: 1, usable: true });
    expect(region.bytes).toEqual(original);

    await expect(ProtectedRegion.load({ name: "m", golden: { ...golden, sha256: "f".repeat(64) } })).rejects.toThrow(GoldenCopyError);
    await expect(ProtectedRegion.load({ name: "m", golden: { ...golden, sha256: "f".repeat(64) } })).rejects.toThrow(/sha256 is [0-9a-f]{64}, expected f{64}/);
    await expect(ProtectedRegion.load({ name: "m", golden: { path: path.join(dir, "missing"), sha256: "f".repeat(64) } })).rejects.toThrow(/cannot open/);
    await expect(ProtectedRegion.load({ name: "m", golden: goldenFile(new Uint8Array(0)) })).rejects.toThrow(/is empty/);
    const huge = path.join(dir, "huge.bin");
    writeFileSync(huge, "");
    truncateSync(huge, 2 ** 32 + 1); // sparse: nothing is allocated or read
    await expect(ProtectedRegion.load({ name: "m", golden: { path: huge, sha256: "f".repeat(64) } })).rejects.toThrow(/has 4294967297 bytes; a region holds at most 4294967296/);
    await expect(ProtectedRegion.load({ name: "bad name", golden })).rejects.toThrow(RegionError);
  });
});

describe("ProtectedRegion: intended writes", () => {
  it("re-encodes an update, so nothing is 'corrected' back, and marks the golden copy stale", async () => {
    const bytes = pattern(4096);
    const region = ProtectedRegion.create({ name: "t", bytes, code: { checksumBlockBytes: 1024 } });
    await region.attachGolden(goldenFile(bytes.slice()));
    region.update(1000, new Uint8Array([1, 2, 3, 4, 5]));
    expect(region.scrubAll().clean).toBe(true);
    expect([...bytes.subarray(1000, 1005)]).toEqual([1, 2, 3, 4, 5]);
    expect(region.goldenCopy).toMatchObject({ state: "stale" });
    region.modify(2000, 3000 - 2000, (view) => view.fill(9));
    expect(region.scrubAll().clean).toBe(true);
    expect(bytes[2500]).toBe(9);
  });

  it("corrects an upset in the untouched part of a block before re-encoding it", () => {
    const bytes = pattern(4096);
    const original = bytes.slice();
    const region = ProtectedRegion.create({ name: "t", bytes, code: { checksumBlockBytes: 1024 } });
    flip(bytes, 8 * 10); // block 0, outside the write
    region.update(500, new Uint8Array([7]));
    original[500] = 7;
    expect(bytes).toEqual(original);
    expect(region.stats.correctedBits).toBe(1);
  });

  it("refuses a partial write into an uncorrectable block (nothing written), accepts a whole-block rewrite", () => {
    const bytes = pattern(4096);
    const region = ProtectedRegion.create({ name: "t", bytes, code: { checksumBlockBytes: 1024 } });
    flip(bytes, 8 * 1100);
    flip(bytes, 8 * 1101);
    const before = bytes.slice();
    expect(() => region.update(1500, new Uint8Array([1]))).toThrow(/block 1 is uncorrectable; a write covering only part of it/);
    expect(bytes).toEqual(before);
    expect(region.usable).toBe(false);
    const fresh = pattern(1024, 5);
    region.update(1024, fresh);
    expect(region.usable).toBe(true);
    expect(region.scrubAll().clean).toBe(true);
    expect(bytes.subarray(1024, 2048)).toEqual(fresh);
  });

  it("encodes what a failing modify() wrote and rethrows", () => {
    const bytes = pattern(2048);
    const region = ProtectedRegion.create({ name: "t", bytes, code: { checksumBlockBytes: 1024 } });
    expect(() =>
      region.modify(0, 10, (v) => {
        v[0] = 0xaa;
        throw new Error("half-way");
      }),
    ).toThrow("half-way");
    expect(bytes[0]).toBe(0xaa);
    expect(region.scrubAll().clean).toBe(true);
  });
});
