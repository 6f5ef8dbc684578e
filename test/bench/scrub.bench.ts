// `pnpm bench scrub`: the memory scrubber (issue #6, packages/scrubber).
//
// One 1 GiB buffer of pseudo-random bytes, protected as a model's master
// weights are: SECDED (72,64) interleaved x8 in a side table, CRC-32 per
// 64 KiB block. All figures are per core: bytes over CPU time (user + system,
// process.cpuUsage) of a single-threaded call. Baseline, measured in the same
// run over the same bytes in the same 64 KiB pieces: zlib.crc32 alone.
//
// 1. Check only (clean): region.scrubAll() when nothing is wrong: one CRC-32
//    over each block and its check symbols (1.125 GiB). Target: a full check of
//    1 GiB in under 1 CPU-second.
// 2. Check and correct, realistic: 1,024 single-bit upsets (one per MiB) put
//    in before each pass, all corrected by the pass.
// 3. Check and correct, worst case: one upset in every 64 KiB block, so SECDED
//    decodes the whole GiB (what a check without the CRC fast path would cost),
//    for interleave 8 and 32.
// 4. Informational: encoding 1 GiB (ProtectedRegion.create, and after an
//    intended rewrite).
//
// Each figure is the median of 3 runs; the baseline runs between them.
import { performance } from "node:perf_hooks";
import zlib from "node:zlib";
import { ProtectedRegion, type InterleaveDepth } from "@umbra/memory";
import { median, result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";

const GiB = 1024 ** 3;
const BLOCK = 64 * 1024;
const RUNS = 3;

function cpuSeconds(fn: () => void): { cpuS: number; wallS: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  fn();
  const wallS = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { cpuS: (used.user + used.system) / 1e6, wallS };
}

function fill(bytes: Uint8Array): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
}

function crcBaseline(bytes: Uint8Array): number {
  let acc = 0;
  for (let at = 0; at < bytes.length; at += BLOCK) acc ^= zlib.crc32(bytes.subarray(at, at + BLOCK));
  return acc;
}

/** One flip per `stride` bytes at a varying bit, so every flip is alone in its codeword. */
function upset(bytes: Uint8Array, stride: number, round: number): number {
  let n = 0;
  for (let at = (round * 4099) % stride; at < bytes.length; at += stride) {
    bytes[at] = bytes[at]! ^ (1 << ((at + round) & 7));
    n++;
  }
  return n;
}

interface Measured {
  cpuS: number[];
  wallS: number[];
}

function measure(into: Measured, fn: () => void): void {
  const m = cpuSeconds(fn);
  into.cpuS.push(m.cpuS);
  into.wallS.push(m.wallS);
}

const gbps = (bytes: number, s: number) => bytes / s / 1e9;

export const scrubBenchmark: Benchmark = {
  name: "scrub",
  description: "memory scrubber: full check and check-and-correct of 1 GiB (SECDED x8 + CRC-32/64 KiB) vs zlib.crc32, per core",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    ctx.log("filling 1 GiB");
    const bytes = new Uint8Array(GiB);
    fill(bytes);

    const encode: Measured = { cpuS: [], wallS: [] };
    let region!: ProtectedRegion;
    measure(encode, () => {
      region = ProtectedRegion.create({ name: "bench/weights", bytes, code: { secded: { interleave: 8 }, checksumBlockBytes: BLOCK } });
    });
    ctx.log(`encoded in ${encode.cpuS[0]!.toFixed(2)} CPU-s; side table ${(region.sideTable.length / 2 ** 20).toFixed(0)} MiB`);

    const baseline: Measured = { cpuS: [], wallS: [] };
    const check: Measured = { cpuS: [], wallS: [] };
    const correct: Measured = { cpuS: [], wallS: [] };
    const worst: Measured = { cpuS: [], wallS: [] };
    crcBaseline(bytes); // warm-up
    region.scrubAll();
    let flips = 0;
    for (let round = 0; round < RUNS; round++) {
      measure(baseline, () => crcBaseline(bytes));
      measure(check, () => {
        const r = region.scrubAll();
        if (!r.clean) throw new Error("clean region reported dirty");
      });
      flips = upset(bytes, 1024 * 1024, round);
      measure(correct, () => {
        const r = region.scrubAll();
        if (r.correctedBits !== flips || !r.usable) throw new Error(`corrected ${r.correctedBits} of ${flips} flips`);
      });
      const dirty = upset(bytes, BLOCK, round + 7);
      measure(worst, () => {
        const r = region.scrubAll();
        if (r.correctedBits !== dirty || !r.usable) throw new Error(`corrected ${r.correctedBits} of ${dirty} flips (worst case)`);
      });
      ctx.log(
        `round ${round + 1}/${RUNS}: crc32 ${gbps(GiB, baseline.cpuS.at(-1)!).toFixed(2)} GB/s, check ${gbps(GiB, check.cpuS.at(-1)!).toFixed(2)} GB/s, ` +
          `correct ${gbps(GiB, correct.cpuS.at(-1)!).toFixed(2)} GB/s, every block dirty ${gbps(GiB, worst.cpuS.at(-1)!).toFixed(2)} GB/s`,
      );
    }

    const rewrite: Measured = { cpuS: [], wallS: [] };
    measure(rewrite, () => region.modify(0, GiB, () => undefined));

    ctx.log("interleave 32, every block dirty");
    const worst32: Measured = { cpuS: [], wallS: [] };
    const region32 = ProtectedRegion.create({ name: "bench/weights32", bytes, code: { secded: { interleave: 32 as InterleaveDepth }, checksumBlockBytes: BLOCK } });
    for (let round = 0; round < RUNS; round++) {
      const dirty = upset(bytes, BLOCK, round + 11);
      measure(worst32, () => {
        const r = region32.scrubAll();
        if (r.correctedBits !== dirty) throw new Error(`corrected ${r.correctedBits} of ${dirty} flips (x32)`);
      });
    }

    const base = median(baseline.cpuS);
    const checkS = median(check.cpuS);
    return [
      result("full check of 1 GiB, clean (CRC-32 over data + check symbols; baseline: zlib.crc32 over the data)", gbps(GiB, checkS), "GB/s per core", {
        baseline: gbps(GiB, base),
      }),
      result("full check of 1 GiB, clean: CPU time", checkS, "CPU-s", { baseline: base, target: "< 1 CPU-s", met: checkS < 1 }),
      result(`check and correct 1 GiB with ${flips.toLocaleString("en-US")} single-bit upsets (one per MiB)`, gbps(GiB, median(correct.cpuS)), "GB/s per core", {
        baseline: gbps(GiB, base),
      }),
      result("check and correct 1 GiB, one upset in every 64 KiB block (SECDED decodes everything), interleave 8", gbps(GiB, median(worst.cpuS)), "GB/s per core", {
        baseline: gbps(GiB, base),
      }),
      result("the same, interleave 32", gbps(GiB, median(worst32.cpuS)), "GB/s per core", { baseline: gbps(GiB, base) }),
      result("encode 1 GiB (create, interleave 8)", encode.cpuS[0]!, "CPU-s", { baseline: base }),
      result("re-encode 1 GiB after an intended rewrite (modify)", rewrite.cpuS[0]!, "CPU-s", { baseline: base }),
      result("full check of 1 GiB, clean: wall time", median(check.wallS), "s", { baseline: median(baseline.wallS) }),
    ];
  },
};
