import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checkActorModel, chooseLevels, divideBudget, type ActorModel } from "../src/allocator.js";

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("divideBudget", () => {
  it("divides in proportion to weighted requests above the minimums", () => {
    const { grantsW } = divideBudget(40, [
      { weight: 1, requestW: 30, minW: 0, maxW: 30 },
      { weight: 1, requestW: 10, minW: 0, maxW: 30 },
    ]);
    expect(grantsW[0]).toBeCloseTo(30, 9);
    expect(grantsW[1]).toBeCloseTo(10, 9);
    const w = divideBudget(20, [
      { weight: 3, requestW: 30, minW: 0, maxW: 30 },
      { weight: 1, requestW: 30, minW: 0, maxW: 30 },
    ]).grantsW;
    expect(w[0]).toBeCloseTo(15, 9);
    expect(w[1]).toBeCloseTo(5, 9);
  });

  it("gives the minimums first", () => {
    const { grantsW } = divideBudget(14, [
      { weight: 1, requestW: 30, minW: 6, maxW: 30 },
      { weight: 1, requestW: 10, minW: 4, maxW: 10 },
    ]);
    // 10 W of minimums, then 4 W split 24:6
    expect(grantsW[0]).toBeCloseTo(6 + 4 * (24 / 30), 9);
    expect(grantsW[1]).toBeCloseTo(4 + 4 * (6 / 30), 9);
  });

  it("passes the surplus of a capped actor to those still below their maximum", () => {
    // Weighted shares 36 : 4 of 40 W; actor 0 can take only 20, its 16 W surplus goes to the others by headroom.
    const { grantsW } = divideBudget(40, [
      { weight: 9, requestW: 20, minW: 0, maxW: 20 },
      { weight: 1, requestW: 20, minW: 0, maxW: 20 },
      { weight: 0, requestW: 20, minW: 0, maxW: 10 },
    ]);
    expect(grantsW[0]).toBeCloseTo(20, 9);
    expect(sum(grantsW)).toBeCloseTo(40, 9);
    // Headroom after the first pass: actor 1 has 16 left (20 − 4), actor 2 has 10: 16 W split 16:10.
    expect(grantsW[1]).toBeCloseTo(4 + (16 * 16) / 26, 9);
    expect(grantsW[2]).toBeCloseTo((16 * 10) / 26, 9);
  });

  it("puts everyone at the minimum when the budget cannot cover it, and says so", () => {
    const d = divideBudget(3, [
      { weight: 1, requestW: 30, minW: 2, maxW: 30 },
      { weight: 1, requestW: 30, minW: 2, maxW: 30 },
    ]);
    expect(d.grantsW).toEqual([2, 2]);
    expect(d.belowMinimum).toBe(true);
  });

  it("sums to clamp(budget, Σmin, Σmax) with every grant in its range (property)", () => {
    const actor = fc
      .record({ weight: fc.double({ min: 0, max: 10, noNaN: true }), a: fc.double({ min: 0, max: 50, noNaN: true }), b: fc.double({ min: 0, max: 50, noNaN: true }), req: fc.double({ min: 0, max: 60, noNaN: true }) })
      .map(({ weight, a, b, req }) => ({ weight, minW: Math.min(a, b), maxW: Math.max(a, b), requestW: req }));
    fc.assert(
      fc.property(fc.array(actor, { minLength: 1, maxLength: 8 }), fc.double({ min: -10, max: 500, noNaN: true }), (actors, budget) => {
        const { grantsW } = divideBudget(budget, actors);
        const lo = sum(actors.map((a) => a.minW));
        const hi = sum(actors.map((a) => a.maxW));
        const expected = Math.min(hi, Math.max(lo, budget));
        if (Math.abs(sum(grantsW) - expected) > 1e-6 * Math.max(1, expected)) return false;
        return grantsW.every((g, i) => g >= actors[i]!.minW - 1e-9 && g <= actors[i]!.maxW + 1e-9);
      }),
    );
  });

  it("refuses a non-finite budget or a bad actor", () => {
    expect(() => divideBudget(Number.NaN, [])).toThrow(/finite/);
    expect(() => divideBudget(1, [{ weight: -1, requestW: 1, minW: 0, maxW: 1 }])).toThrow(/weight/);
    expect(() => divideBudget(1, [{ weight: 1, requestW: 1, minW: 2, maxW: 1 }])).toThrow(/range/);
  });
});

const cpu: ActorModel = {
  name: "cpu:policy0",
  kind: "cpu",
  weight: 1,
  levels: [
    { value: 600_000, watts: 6 },
    { value: 1_000_000, watts: 11 },
    { value: 1_400_000, watts: 19 },
    { value: 1_800_000, watts: 32 },
  ],
};
const jobs: ActorModel = { name: "jobs", kind: "jobs", weight: 1, levels: [1, 2, 3, 4].map((n) => ({ value: n, watts: 1.5 * n })) };

describe("chooseLevels", () => {
  it("buys the highest state that fits each grant", () => {
    expect(chooseLevels([cpu], [18.9])).toEqual([1]);
    expect(chooseLevels([cpu], [19])).toEqual([2]);
    expect(chooseLevels([cpu], [100])).toEqual([3]);
    expect(chooseLevels([cpu], [1])).toEqual([0]); // below the minimum: the lowest state
  });

  it("spends rounding leftovers on whole steps without exceeding the total", () => {
    // cpu 18 → level 1 (11 W, 7 W left); jobs 2.9 → 1 slot (1.5 W, 1.4 left); pool 8.4 W buys 5 more slots? only 3 exist: +4.5 W, then cpu step costs 8 > 3.9.
    const idx = chooseLevels([cpu, jobs], [18, 2.9]);
    expect(idx).toEqual([1, 3]);
    const spent = cpu.levels[idx[0]!]!.watts + jobs.levels[idx[1]!]!.watts;
    expect(spent).toBeLessThanOrEqual(18 + 2.9);
  });

  it("never spends more than the grants when every grant covers its minimum (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 6, max: 40, noNaN: true }), fc.double({ min: 1.5, max: 8, noNaN: true }), (g1, g2) => {
        const idx = chooseLevels([cpu, jobs], [g1, g2]);
        return cpu.levels[idx[0]!]!.watts + jobs.levels[idx[1]!]!.watts <= g1 + g2 + 1e-9;
      }),
    );
  });
});

describe("checkActorModel", () => {
  it("refuses bad models with the field", () => {
    expect(checkActorModel(cpu)).toBeUndefined();
    expect(checkActorModel({ ...cpu, levels: [] })).toMatch(/at least one level/);
    expect(checkActorModel({ ...cpu, levels: [{ value: 2, watts: 1 }, { value: 1, watts: 2 }] })).toMatch(/ascending/);
    expect(checkActorModel({ ...cpu, levels: [{ value: 1, watts: 2 }, { value: 2, watts: 1 }] })).toMatch(/must not fall/);
    expect(checkActorModel({ ...cpu, levels: [{ value: 1, watts: Number.NaN }] })).toMatch(/watts/);
    expect(checkActorModel({ ...cpu, weight: Number.POSITIVE_INFINITY })).toMatch(/weight/);
    expect(checkActorModel({ ...cpu, name: "bad name!" })).toMatch(/name/);
  });
});
