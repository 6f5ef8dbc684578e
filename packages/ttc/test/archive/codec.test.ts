import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  SampleColumns,
  Scratch,
  SeriesBuilder,
  collectStaged,
  decodeBlock,
  decodeBlockInto,
  decodeStagedBatch,
  encodeBlock,
  encodeStagedBatch,
} from "../../src/archive/sample-codec.js";
import type { SampleValue } from "../../src/archive/types.js";

const INT64_MAX = (1n << 63n) - 1n;

const values: SampleValue[] = [
  0,
  -0,
  1,
  -1,
  28.125,
  Math.PI,
  -1e-300,
  2 ** 52,
  -(2 ** 52),
  2 ** 53 + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  2 ** 31,
  -(2 ** 31) - 1,
  0n,
  -1n,
  INT64_MAX,
  -INT64_MAX - 1n,
  true,
  false,
  "",
  "NOMINAL",
  "ünïcødé ✓ 🛰️",
];

function stage(samples: Array<{ paramId: number; tNs: bigint; value: SampleValue }>): Buffer {
  const ids = Uint32Array.from(samples.map((s) => s.paramId));
  return Buffer.from(encodeStagedBatch(samples, 0, samples.length, ids, new Scratch(16)).data);
}

function columnsOf(samples: Array<{ paramId: number; tNs: bigint; value: SampleValue }>): SampleColumns {
  const cols = new SampleColumns();
  decodeStagedBatch(stage(samples), cols);
  return cols;
}

describe("staged batch", () => {
  it("round-trips every kind of value with its parameter id and time", () => {
    const samples = values.map((value, i) => ({ paramId: i * 7 + 1, tNs: BigInt(i) * 1_000_000_007n, value }));
    const cols = columnsOf(samples);
    expect(cols.length).toBe(samples.length);
    samples.forEach((s, i) => {
      expect(cols.paramIds[i]).toBe(s.paramId);
      expect(cols.times[i]).toBe(s.tNs);
      expect(Object.is(cols.value(i), s.value)).toBe(true);
    });
  });

  it("reports its time span and collects one parameter within a window", () => {
    const samples = [
      { paramId: 1, tNs: 50n, value: 1 },
      { paramId: 2, tNs: 10n, value: "x" },
      { paramId: 1, tNs: 20n, value: true },
      { paramId: 1, tNs: 90n, value: 3n },
    ];
    const ids = Uint32Array.from([1, 2, 1, 1]);
    const encoded = encodeStagedBatch(samples, 0, 4, ids, new Scratch(16));
    expect([encoded.tMin, encoded.tMax]).toEqual([10n, 90n]);
    const out = new SeriesBuilder();
    collectStaged(encoded.data, 1, 20n, 50n, out);
    const series = out.finish();
    expect([...series.tNs]).toEqual([50n, 20n]);
    expect(series.values).toEqual([1, true]);
  });

  it("appends several batches to the same columns and grows past the initial capacity", () => {
    const cols = new SampleColumns();
    for (let b = 0; b < 3; b++) {
      const batch = Array.from({ length: 1500 }, (_, i) => ({ paramId: i, tNs: BigInt(b * 1500 + i), value: i % 2 === 0 ? i : `s${i}` }));
      decodeStagedBatch(stage(batch), cols);
    }
    expect(cols.length).toBe(4500);
    expect(cols.value(4499)).toBe("s1499");
    expect(cols.times[3000]).toBe(3000n);
  });

  it("refuses an unknown format or a truncated batch", () => {
    const data = stage([{ paramId: 1, tNs: 1n, value: 1 }]);
    expect(() => decodeStagedBatch(Buffer.concat([Buffer.from([9]), data.subarray(1)]), new SampleColumns())).toThrow(/unknown format 9/);
    expect(() => decodeStagedBatch(data.subarray(0, 12), new SampleColumns())).toThrow(/truncated/);
  });
});

describe("block", () => {
  function block(samples: Array<{ tNs: bigint; value: SampleValue }>) {
    const cols = columnsOf(samples.map((s) => ({ paramId: 5, ...s })));
    const order = Array.from({ length: cols.length }, (_, i) => i);
    const encoded = encodeBlock(cols, order, 0, cols.length, new Scratch(16));
    return { ...encoded, data: Buffer.from(encoded.data) };
  }

  function decodeAll(b: ReturnType<typeof block>, from = 0n, to = INT64_MAX) {
    const out = new SeriesBuilder();
    decodeBlock(b.data, b.tFirst, from, to, out);
    return out.finish();
  }

  it("round-trips every kind of value in time order", () => {
    const samples = values.map((value, i) => ({ tNs: 1_000_000_000n + BigInt(i) * 1_000_000_000n, value }));
    const b = block(samples);
    expect([b.tFirst, b.tLast, b.count]).toEqual([samples[0]!.tNs, samples.at(-1)!.tNs, samples.length]);
    const series = decodeAll(b);
    expect([...series.tNs]).toEqual(samples.map((s) => s.tNs));
    series.values.forEach((v, i) => expect(Object.is(v, samples[i]!.value)).toBe(true));
  });

  it("is compact: a 1 Hz float costs 14 bytes, a small counter 7", () => {
    const floats = block(Array.from({ length: 100 }, (_, i) => ({ tNs: BigInt(i) * 1_000_000_000n, value: i + 0.5 })));
    const counters = block(Array.from({ length: 100 }, (_, i) => ({ tNs: BigInt(i) * 1_000_000_000n, value: i % 50 })));
    expect(floats.data.length).toBeLessThanOrEqual(2 + 100 * 14);
    expect(counters.data.length).toBeLessThanOrEqual(2 + 100 * 7);
  });

  it("decodes only the window asked for, ends inclusive", () => {
    const b = block(Array.from({ length: 10 }, (_, i) => ({ tNs: 100n + BigInt(i) * 10n, value: i })));
    expect([...decodeAll(b, 120n, 150n).tNs]).toEqual([120n, 130n, 140n, 150n]);
    expect(decodeAll(b, 121n, 129n).length).toBe(0);
    expect(decodeAll(b, 0n, 99n).length).toBe(0);
    expect(decodeAll(b, 191n, 500n).length).toBe(0);
    expect(decodeAll(b, 190n, 190n).values).toEqual([9]);
  });

  it("keeps times exact at the top of the int64 range and across 32-bit boundaries", () => {
    const times = [INT64_MAX - 3_000_000_000_000n, INT64_MAX - 5n, INT64_MAX, (1n << 32n) - 1n + (1n << 40n)].sort((a, b) => (a < b ? -1 : 1));
    const b = block(times.map((tNs) => ({ tNs, value: 1 })));
    // Deltas over 2^53 ns take the bigint path of the encoder; the cold decoder reads them back.
    const cols = new SampleColumns();
    decodeBlockInto(b.data, b.tFirst, 5, cols);
    expect([...cols.times.subarray(0, cols.length)]).toEqual(times);
    const near = block([(1n << 32n) - 2n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 1n].map((tNs) => ({ tNs, value: 0 })));
    expect([...decodeAll(near).tNs]).toEqual([(1n << 32n) - 2n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 1n]);
  });

  it("round-trips random series (property)", () => {
    const valueArb = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.bigInt({ min: -INT64_MAX - 1n, max: INT64_MAX }),
      fc.boolean(),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: INT64_MAX - 4_000_000_000_000n }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000_000_000 }), valueArb), { minLength: 1, maxLength: 60 }),
        (start, steps) => {
          let t = start;
          const samples = steps.map(([dt, value]) => ({ tNs: (t += BigInt(dt)), value }));
          const series = decodeAll(block(samples));
          expect([...series.tNs]).toEqual(samples.map((s) => s.tNs));
          series.values.forEach((v, i) => expect(Object.is(v, samples[i]!.value)).toBe(true));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a corrupt block instead of returning garbage", () => {
    const b = block([
      { tNs: 1n, value: 1.5 },
      { tNs: 2n, value: "abc" },
    ]);
    expect(() => decodeAll({ ...b, data: b.data.subarray(0, b.data.length - 2) })).toThrow(/truncated/);
    const badTag = Buffer.from(b.data);
    badTag[3] = 77; // the first sample's tag
    expect(() => decodeAll({ ...b, data: badTag })).toThrow(/unknown value tag 77/);
    expect(() => decodeAll({ ...b, data: Buffer.from([2, 1, 0, 0]) })).toThrow(/unknown format 2/);
  });
});

describe("series builder", () => {
  it("sorts stably by time and truncates", () => {
    const out = new SeriesBuilder();
    out.push(30n, "c");
    out.push(10n, "a");
    out.push(30n, "d");
    out.push(20n, "b");
    expect(out.sortedFrom(0)).toBe(false);
    out.sort();
    out.truncate(3);
    const s = out.finish();
    expect([...s.tNs]).toEqual([10n, 20n, 30n]);
    expect(s.values).toEqual(["a", "b", "c"]);
  });
});
