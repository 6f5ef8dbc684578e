import { CodecError, umbra } from "@umbra/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classCounts, cloudFree, decodeSummaryProduct, detectRegions, encodeSummaryProduct, type Region, type SummaryInput } from "../src/summary.js";

const JobState = umbra.jobs.v1.JobState;

/** Rows of characters: '#' = 1, '+' = 0.7, '.' = 0, 'n' = NaN. */
function mapOf(rows: string[]): { map: Float32Array; width: number; height: number } {
  const width = rows[0]!.length;
  const values: Record<string, number> = { "#": 1, "+": 0.7, ".": 0, n: Number.NaN };
  return { map: Float32Array.from(rows.join(""), (c) => values[c]!), width, height: rows.length };
}

/** An independent reference: union-find over 4-neighbours. */
function referenceComponents(map: Float32Array, width: number, height: number, threshold: number): Region[] {
  const parent = Int32Array.from({ length: map.length }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const on = (i: number) => map[i]! >= threshold;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!on(i)) continue;
      if (x + 1 < width && on(i + 1)) parent[find(i + 1)] = find(i);
      if (y + 1 < height && on(i + width)) parent[find(i + width)] = find(i);
    }
  const boxes = new Map<number, { x0: number; y0: number; x1: number; y1: number; score: number }>();
  for (let i = 0; i < map.length; i++) {
    if (!on(i)) continue;
    const x = i % width;
    const y = Math.floor(i / width);
    const r = find(i);
    const b = boxes.get(r);
    if (!b) boxes.set(r, { x0: x, y0: y, x1: x, y1: y, score: map[i]! });
    else {
      b.x0 = Math.min(b.x0, x);
      b.y0 = Math.min(b.y0, y);
      b.x1 = Math.max(b.x1, x);
      b.y1 = Math.max(b.y1, y);
      b.score = Math.max(b.score, map[i]!);
    }
  }
  return [...boxes.values()].map((b) => ({ x: b.x0, y: b.y0, width: b.x1 - b.x0 + 1, height: b.y1 - b.y0 + 1, score: b.score }));
}

const key = (r: Region) => `${r.x},${r.y},${r.width},${r.height},${r.score}`;

/** Maps of 1..14 × 1..14 pixels drawn from a few levels around the threshold, NaN included. */
const arbMap = fc
  .record({ width: fc.integer({ min: 1, max: 14 }), height: fc.integer({ min: 1, max: 14 }) })
  .chain(({ width, height }) =>
    fc
      .array(fc.oneof(fc.constantFrom(0, 0.2, 0.49, 0.5, 0.51, 0.8, 1, Number.NaN), fc.float({ min: 0, max: 1, noNaN: true })), {
        minLength: width * height,
        maxLength: width * height,
      })
      .map((values) => ({ width, height, map: Float32Array.from(values) })),
  );

describe("classCounts and cloudFree", () => {
  it("counts labels, keys sorted, even odd ones", () => {
    expect(classCounts(["cloud", "water", "cloud", "land", "cloud"])).toEqual({ cloud: 3, land: 1, water: 1 });
    expect(Object.keys(classCounts(["b", "a", "c", "a"]))).toEqual(["a", "b", "c"]);
    expect(classCounts([])).toEqual({});
    const odd = classCounts(["__proto__", "__proto__", "constructor", ""]);
    expect(Object.getOwnPropertyDescriptor(odd, "__proto__")?.value).toBe(2);
    expect(odd["constructor"]).toBe(1);
    expect(odd[""]).toBe(1);
  });

  it("lists the indices of tiles with a clear label", () => {
    expect(cloudFree(["clear", "cloud", "clear", "haze", "thin"], ["clear", "thin"])).toEqual([0, 2, 4]);
    expect(cloudFree(["cloud"], [])).toEqual([]);
    expect(cloudFree([], ["clear"])).toEqual([]);
  });
});

describe("detectRegions", () => {
  it("finds 4-connected components with their boxes and peaks, highest first", () => {
    const { map, width, height } = mapOf([
      "##....+", //
      "#.....+",
      "...#...",
      "..###..",
      "...#..+",
    ]);
    map[3 * width + 3] = 0.9;
    expect(detectRegions(map, width, height)).toEqual([
      { x: 0, y: 0, width: 2, height: 2, score: 1 },
      { x: 2, y: 2, width: 3, height: 3, score: 1 },
      { x: 6, y: 0, width: 1, height: 2, score: Math.fround(0.7) },
      { x: 6, y: 4, width: 1, height: 1, score: Math.fround(0.7) },
    ]);
  });

  it("does not join diagonal neighbours, treats NaN as background and includes the threshold itself", () => {
    const { map, width, height } = mapOf(["#.", ".#", "n#"]);
    expect(detectRegions(map, width, height).map((r) => [r.x, r.y, r.width, r.height])).toEqual([
      [0, 0, 1, 1],
      [1, 1, 1, 2],
    ]);
    expect(detectRegions(Float32Array.of(0.5, 0.4999), 2, 1, 0.5)).toEqual([{ x: 0, y: 0, width: 1, height: 1, score: 0.5 }]);
    expect(detectRegions(Float32Array.of(1, 1), 2, 1, 1)).toHaveLength(1);
    expect(detectRegions(new Float32Array(6), 3, 2)).toEqual([]);
    expect(detectRegions(new Float32Array(6).fill(Number.NaN), 3, 2)).toEqual([]);
  });

  it("boxes can overlap: a ring around a dot gives two boxes, one inside the other", () => {
    const { map, width, height } = mapOf(["#####", "#...#", "#.+.#", "#...#", "#####"]);
    expect(detectRegions(map, width, height)).toEqual([
      { x: 0, y: 0, width: 5, height: 5, score: 1 },
      { x: 2, y: 2, width: 1, height: 1, score: Math.fround(0.7) },
    ]);
  });

  it("orders ties by top, then left, and keeps at most maxDetections", () => {
    const { map, width, height } = mapOf(["#.#.#", ".....", "#.#.#"]);
    const all = detectRegions(map, width, height, 0.5, 100);
    expect(all.map((r) => [r.x, r.y])).toEqual([
      [0, 0],
      [2, 0],
      [4, 0],
      [0, 2],
      [2, 2],
      [4, 2],
    ]);
    expect(detectRegions(map, width, height, 0.5, 2)).toEqual(all.slice(0, 2));
    expect(detectRegions(map, width, height)).toHaveLength(6);
  });

  it("handles a map that is all foreground, and a checkerboard, without recursion", () => {
    const side = 2048;
    const full = new Float32Array(side * side).fill(0.9);
    full[side * 1000 + 77] = 0.95;
    expect(detectRegions(full, side, side)).toEqual([{ x: 0, y: 0, width: side, height: side, score: Math.fround(0.95) }]);
    const checker = Float32Array.from({ length: 512 * 512 }, (_, i) => ((i % 512) + Math.floor(i / 512)) % 2);
    const regions = detectRegions(checker, 512, 512, 0.5, 1_000_000);
    expect(regions).toHaveLength((512 * 512) / 2);
    expect(regions.every((r) => r.width === 1 && r.height === 1)).toBe(true);
  });

  it("validates its arguments", () => {
    const m = new Float32Array(6);
    expect(() => detectRegions(m, 4, 2)).toThrow(/map has 6 values, expected 4×2 = 8/);
    expect(() => detectRegions(m, 0, 2)).toThrow(/width/);
    expect(() => detectRegions(m, 3, 2.5)).toThrow(/height/);
    for (const t of [0, -0.1, 1.01, Number.NaN, Infinity]) expect(() => detectRegions(m, 3, 2, t)).toThrow(/threshold must be in \(0, 1\]/);
    for (const k of [0, -1, 1.5, Number.NaN, 2_000_000]) expect(() => detectRegions(m, 3, 2, 0.5, k)).toThrow(/maxDetections/);
    expect(() => detectRegions([0, 1] as unknown as Float32Array, 2, 1)).toThrow(/Float32Array/);
  });

  it("matches an independent union-find: every foreground pixel is in its component's box, peaks are component maxima (property)", () => {
    fc.assert(
      fc.property(arbMap, fc.constantFrom(0.5, 0.2, 1, 0.51), ({ width, height, map }, threshold) => {
        const got = detectRegions(map, width, height, threshold, width * height);
        const want = referenceComponents(map, width, height, threshold);
        // Same components (box and peak), as multisets.
        expect(got.map(key).sort()).toEqual(want.map(key).sort());
        // Every foreground pixel lies in at least one box; background pixels outside all boxes are fine.
        for (let i = 0; i < map.length; i++) {
          if (!(map[i]! >= threshold)) continue;
          const x = i % width;
          const y = Math.floor(i / width);
          expect(got.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)).toBe(true);
        }
        // Each box is tight: its edges each touch a foreground pixel, and its score is a pixel value inside it.
        for (const r of got) {
          const inside = (x: number, y: number) => map[y * width + x]! >= threshold;
          let top = false;
          let bottom = false;
          let left = false;
          let right = false;
          let peakSeen = false;
          for (let y = r.y; y < r.y + r.height; y++)
            for (let x = r.x; x < r.x + r.width; x++) {
              if (!inside(x, y)) continue;
              top ||= y === r.y;
              bottom ||= y === r.y + r.height - 1;
              left ||= x === r.x;
              right ||= x === r.x + r.width - 1;
              peakSeen ||= map[y * width + x] === r.score;
            }
          expect([top, bottom, left, right, peakSeen]).toEqual([true, true, true, true, true]);
        }
        // Sorted by score, highest first; a cap keeps a prefix.
        for (let i = 1; i < got.length; i++) expect(got[i - 1]!.score).toBeGreaterThanOrEqual(got[i]!.score);
        const k = Math.max(1, Math.floor(got.length / 2));
        expect(detectRegions(map, width, height, threshold, k)).toEqual(got.slice(0, k));
      }),
      { numRuns: 300 },
    );
  });

  it("separate rectangles come back as their own boxes: every foreground pixel in exactly one (property)", () => {
    // Solid rectangles, one per cell of a coarse grid with a background gutter between cells, so
    // the components are known and their boxes cannot overlap.
    const cell = 6;
    const arbScene = fc.record({ cols: fc.integer({ min: 1, max: 6 }), rows: fc.integer({ min: 1, max: 6 }) }).chain(({ cols, rows }) =>
      fc
        .array(
          fc.option(
            fc.record({
              x: fc.integer({ min: 0, max: cell - 2 }),
              y: fc.integer({ min: 0, max: cell - 2 }),
              w: fc.integer({ min: 1, max: cell - 1 }),
              h: fc.integer({ min: 1, max: cell - 1 }),
              peak: fc.float({ min: Math.fround(0.5), max: 1, noNaN: true }),
            }),
            { nil: undefined },
          ),
          { minLength: cols * rows, maxLength: cols * rows },
        )
        .map((cells) => ({ cols, rows, cells })),
    );
    fc.assert(
      fc.property(arbScene, ({ cols, rows, cells }) => {
        const width = cols * cell;
        const height = rows * cell;
        const map = new Float32Array(width * height).fill(0.1);
        const want: Region[] = [];
        cells.forEach((c, i) => {
          if (!c) return;
          const x0 = (i % cols) * cell + c.x;
          const y0 = Math.floor(i / cols) * cell + c.y;
          const w = Math.min(c.w, cell - 1 - c.x);
          const h = Math.min(c.h, cell - 1 - c.y);
          for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) map[y * width + x] = 0.5;
          map[(y0 + h - 1) * width + x0] = c.peak; // the peak somewhere inside
          want.push({ x: x0, y: y0, width: w, height: h, score: Math.max(0.5, c.peak) });
        });
        const got = detectRegions(map, width, height, 0.5, 1000);
        expect(got.map(key).sort()).toEqual(want.map(key).sort());
        for (let i = 0; i < map.length; i++) {
          if (!(map[i]! >= 0.5)) continue;
          const x = i % width;
          const y = Math.floor(i / width);
          expect(got.filter((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)).toHaveLength(1);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("summary product codec", () => {
  const sample: SummaryInput = {
    jobId: "job-1",
    tenant: "esa",
    models: ["cloudnet-v2", "cloudnet-v2-int8"],
    tiles: 10,
    uncorrectable: 1,
    classCounts: { clear: 6, cloud: 3 },
    detections: [{ tile: 4, x: 1, y: 2, width: 3, height: 4, score: 0.75 }],
    cloudFree: [{ tile: 0, name: "tile-00000.png", png: Uint8Array.of(0x89, 0x50, 0x4e, 0x47) }],
    rawInputBytes: 123_456_789_012n,
    energyJ: 42.5,
    finishedNs: 2n ** 62n + 5n,
    state: JobState.JOB_STATE_DONE,
  };

  it("round-trips a product", () => {
    const bytes = encodeSummaryProduct(sample);
    expect(bytes).toBeInstanceOf(Uint8Array);
    const back = decodeSummaryProduct(bytes);
    expect(back).toEqual(sample);
    expect(Object.getPrototypeOf(back.cloudFree[0]!.png)).toBe(Uint8Array.prototype);
    expect(umbra.jobs.v1.JobSummaryProduct.decode(bytes).jobId).toBe("job-1");
  });

  it("refuses out-of-range fields and tile indices past the job's tiles, naming them", () => {
    const bad = (patch: Partial<SummaryInput>, message: RegExp) => {
      expect(() => encodeSummaryProduct({ ...sample, ...patch })).toThrow(CodecError);
      expect(() => encodeSummaryProduct({ ...sample, ...patch })).toThrow(message);
    };
    bad({ tiles: -1 }, /tiles/);
    bad({ tiles: 2 ** 32 }, /tiles/);
    bad({ uncorrectable: 1.5 }, /uncorrectable/);
    bad({ rawInputBytes: -1n }, /rawInputBytes/);
    bad({ finishedNs: 2n ** 64n }, /finishedNs/);
    bad({ state: 99 as umbra.jobs.v1.JobState }, /state/);
    bad({ classCounts: { a: -1 } }, /classCounts/);
    bad({ detections: [{ tile: 10, x: 0, y: 0, width: 1, height: 1, score: 1 }] }, /detections\[0\]\.tile: 10 is not below tiles \(10\)/);
    bad({ detections: [{ tile: 0, x: -1, y: 0, width: 1, height: 1, score: 1 }] }, /detections\[0\]\.x/);
    bad({ cloudFree: [{ tile: 11, name: "x", png: new Uint8Array(0) }] }, /cloudFree\[0\]\.tile/);
    bad({ cloudFree: [{ tile: 1, name: "x", png: "png" as unknown as Uint8Array }] }, /cloudFree\[0\]\.png/);
  });

  it("refuses bytes that are not a product", () => {
    expect(() => decodeSummaryProduct(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toThrow(CodecError);
    expect(() => decodeSummaryProduct(encodeSummaryProduct(sample).subarray(0, 20))).toThrow(CodecError);
    // Well-formed protobuf, but a detection past the job's tiles.
    const forged = umbra.jobs.v1.JobSummaryProduct.encode({ tiles: 1, detections: [{ tile: 5 }] }).finish();
    expect(() => decodeSummaryProduct(forged)).toThrow(/detections\[0\]\.tile: 5 is not below tiles \(1\)/);
    expect(decodeSummaryProduct(new Uint8Array(0))).toMatchObject({ jobId: "", tiles: 0, rawInputBytes: 0n, state: 0 });
  });

  it("round-trips any valid product (property)", () => {
    const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
    const arbProduct = fc.integer({ min: 0, max: 2 ** 32 - 1 }).chain((tiles) => {
      const tile = tiles === 0 ? fc.constant(-1) : fc.integer({ min: 0, max: tiles - 1 });
      return fc.record({
        jobId: fc.string({ maxLength: 48 }),
        tenant: fc.string({ maxLength: 32 }),
        models: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
        tiles: fc.constant(tiles),
        uncorrectable: u32,
        classCounts: fc.dictionary(
          fc.string({ maxLength: 12 }).filter((k) => k !== "__proto__"),
          u32,
          { maxKeys: 6 },
        ),
        detections:
          tiles === 0
            ? fc.constant([])
            : fc.array(fc.record({ tile, x: u32, y: u32, width: u32, height: u32, score: fc.float().map((f) => (Object.is(f, -0) ? 0 : f)) }), { maxLength: 8 }),
        cloudFree: tiles === 0 ? fc.constant([]) : fc.array(fc.record({ tile, name: fc.string({ maxLength: 24 }), png: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 3 }),
        rawInputBytes: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        energyJ: fc.double(),
        finishedNs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        state: fc.constantFrom(...(Object.values(JobState).filter((v) => typeof v === "number") as umbra.jobs.v1.JobState[])),
      });
    });
    fc.assert(
      fc.property(arbProduct, (p) => {
        const back = decodeSummaryProduct(encodeSummaryProduct(p as SummaryInput));
        expect(back).toEqual({ ...p, energyJ: Object.is(p.energyJ, -0) ? back.energyJ : p.energyJ });
      }),
      { numRuns: 300 },
    );
  });
});
