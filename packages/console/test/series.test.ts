import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_CAPACITY, SeriesBuffer, plotValue, type Sample } from "../src/logic/series.js";

/** The model: a map time -> value where the first value given for a time stays, keeping the newest `capacity` times. */
function model(capacity: number) {
  const m = new Map<number, number | null>();
  const cut = () => {
    const times = [...m.keys()].sort((a, b) => a - b);
    for (const t of times.slice(0, Math.max(0, times.length - capacity))) m.delete(t);
  };
  return {
    push(t: number, v: number | null) {
      if (!Number.isFinite(t)) return;
      const times = [...m.keys()];
      const newest = times.length ? Math.max(...times) : -Infinity;
      // An append at the newest time replaces it; an older one is a merge (what is held stays).
      if (t === newest || !m.has(t)) m.set(t, v === null || !Number.isFinite(v) ? null : v);
      cut();
    },
    merge(samples: Sample[]) {
      for (const s of samples) if (Number.isFinite(s.t) && !m.has(s.t)) m.set(s.t, s.v === null || !Number.isFinite(s.v) ? null : s.v);
      cut();
    },
    dropBefore(t: number) {
      for (const k of [...m.keys()]) if (k < t) m.delete(k);
    },
    list(): Sample[] {
      return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
    },
  };
}

const time = fc.integer({ min: 0, max: 200 });
const value = fc.oneof(fc.double({ noNaN: false }), fc.constant(null));
const op = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), t: time, v: value }),
  fc.record({ kind: fc.constant("merge" as const), samples: fc.array(fc.record({ t: time, v: value }), { maxLength: 30 }) }),
  fc.record({ kind: fc.constant("drop" as const), t: time }),
);

describe("SeriesBuffer", () => {
  it("appends live samples in order and overwrites the oldest once full", () => {
    const b = new SeriesBuffer(3);
    for (let t = 1; t <= 5; t++) b.push(t * 1000, t);
    expect(b.length).toBe(3);
    expect(b.toArray()).toEqual([
      { t: 3000, v: 3 },
      { t: 4000, v: 4 },
      { t: 5000, v: 5 },
    ]);
    expect(b.toPlotData()).toEqual([
      [3, 4, 5],
      [3, 4, 5],
    ]);
    expect(b.newest()).toEqual({ t: 5000, v: 5 });
    expect(b.oldest()).toEqual({ t: 3000, v: 3 });
  });

  it("merges the archive's history under live samples: sorted, each time once, the live sample kept", () => {
    const b = new SeriesBuffer(100);
    b.push(5000, 50);
    b.push(6000, 60);
    const accepted = b.merge([
      { t: 1000, v: 10 },
      { t: 3000, v: 30 },
      { t: 2000, v: 20 },
      { t: 5000, v: -1 },
    ]);
    expect(accepted).toBe(4);
    expect(b.toArray().map((s) => s.t)).toEqual([1000, 2000, 3000, 5000, 6000]);
    expect(b.at(3)).toEqual({ t: 5000, v: 50 });
  });

  it("keeps the newest samples when a merge brings more than it holds", () => {
    const b = new SeriesBuffer(4);
    b.merge(Array.from({ length: 10 }, (_, i) => ({ t: i, v: i })));
    expect(b.toArray().map((s) => s.t)).toEqual([6, 7, 8, 9]);
  });

  it("drops samples left of the visible window", () => {
    const b = new SeriesBuffer(10);
    for (let t = 0; t < 6; t++) b.push(t, t);
    expect(b.dropBefore(3)).toBe(3);
    expect(b.toArray().map((s) => s.t)).toEqual([3, 4, 5]);
    expect(b.dropBefore(100)).toBe(3);
    expect(b.length).toBe(0);
    expect(b.push(1, 1)).toBe(true);
    expect(b.toArray()).toEqual([{ t: 1, v: 1 }]);
  });

  it("stores non-numbers as gaps and refuses samples without a usable time", () => {
    const b = new SeriesBuffer(5);
    expect(b.push(Number.NaN, 1)).toBe(false);
    expect(b.push(Number.POSITIVE_INFINITY, 1)).toBe(false);
    expect(b.push("7" as never, 1)).toBe(false);
    b.push(1, Number.NaN);
    b.push(2, null);
    expect(b.toPlotData()).toEqual([
      [0.001, 0.002],
      [null, null],
    ]);
    expect(b.merge([{ t: Number.NaN, v: 1 }, null as never, { t: 3, v: 3 }])).toBe(1);
    expect(b.length).toBe(3);
  });

  it("refuses a capacity that is not a positive integer up to the maximum", () => {
    for (const c of [0, -1, 1.5, Number.NaN, MAX_CAPACITY + 1]) expect(() => new SeriesBuffer(c), String(c)).toThrow(/^capacity: must be an integer/);
  });

  it("behaves like its model for any sequence of pushes, merges and window cuts: bounded, sorted, one sample per time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const b = new SeriesBuffer(capacity);
        const m = model(capacity);
        for (const o of ops) {
          if (o.kind === "push") {
            b.push(o.t, o.v);
            m.push(o.t, o.v);
          } else if (o.kind === "merge") {
            b.merge(o.samples);
            m.merge(o.samples);
          } else {
            b.dropBefore(o.t);
            m.dropBefore(o.t);
          }
          const got = b.toArray();
          expect(got.length).toBeLessThanOrEqual(capacity);
          for (let i = 1; i < got.length; i++) expect(got[i]!.t).toBeGreaterThan(got[i - 1]!.t);
          expect(got).toEqual(m.list());
        }
      }),
      { numRuns: 300 },
    );
  });

  it("plots numbers, booleans as 0/1 and integer strings; nothing else", () => {
    expect(plotValue(2.5)).toBe(2.5);
    expect(plotValue(true)).toBe(1);
    expect(plotValue(false)).toBe(0);
    expect(plotValue("123")).toBe(123);
    expect(plotValue("hot")).toBeNull();
    expect(plotValue(Number.NaN)).toBeNull();
    expect(plotValue(null)).toBeNull();
    expect(plotValue({})).toBeNull();
  });
});
