import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classify, describeLimits, hasLimits, limitText, numericValue } from "../src/logic/limits.js";

describe("limit classification", () => {
  // counter.count: yellow above 900, red above 1000 (examples/counter-service).
  const warning = { high: 900 };
  const critical = { high: 1000 };

  it("is ok within limits, warning outside yellow, critical outside red; a value on a limit is within it (as the TTC's ST[12] check)", () => {
    expect(classify(5, warning, critical)).toBe("ok");
    expect(classify(900, warning, critical)).toBe("ok");
    expect(classify(900.5, warning, critical)).toBe("warning");
    expect(classify(1000, warning, critical)).toBe("warning");
    expect(classify(1001, warning, critical)).toBe("critical");
    // Low limits too: jobs.forecastMinSocPct, yellow below 35, red below 30.
    expect(classify(36, { low: 35 }, { low: 30 })).toBe("ok");
    expect(classify(34, { low: 35 }, { low: 30 })).toBe("warning");
    expect(classify(29.9, { low: 35 }, { low: 30 })).toBe("critical");
  });

  it("checks red before yellow, so a red limit inside the yellow band still wins", () => {
    expect(classify(5, { high: 10 }, { high: 4 })).toBe("critical");
  });

  it("says none for values no limit applies to: no limits, text, booleans, NaN, infinities", () => {
    expect(classify(5, {}, {})).toBe("none");
    expect(classify(5, undefined, undefined)).toBe("none");
    expect(classify("hot", warning, critical)).toBe("none");
    expect(classify(true, warning, critical)).toBe("none");
    expect(classify(null, warning, critical)).toBe("none");
    expect(classify(Number.NaN, warning, critical)).toBe("none");
    expect(classify(Number.POSITIVE_INFINITY, warning, critical)).toBe("none");
  });

  it("reads 64-bit integers sent as decimal strings", () => {
    expect(numericValue("12345678901234567890")).toBe(12345678901234567890);
    expect(classify("2000", warning, critical)).toBe("critical");
    expect(numericValue("1e5")).toBeUndefined();
  });

  it("ignores limit fields that are not finite numbers (a malformed dictionary)", () => {
    expect(hasLimits({ high: Number.NaN } as never, { low: "3" } as never)).toBe(false);
    expect(classify(1e9, { high: "5" } as never, null as never)).toBe("none");
  });

  it("never throws, and always answers one of the four classes", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (v, w, c) => {
        expect(["ok", "warning", "critical", "none"]).toContain(classify(v as never, w as never, c as never));
      }),
    );
  });

  it("is monotone: moving a value further out never makes it less severe", () => {
    const rank = { none: -1, ok: 0, warning: 1, critical: 2 } as const;
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), fc.double({ noNaN: true, min: 0, max: 1e6 }), (x, d) => {
        expect(rank[classify(x + d, warning, critical)]).toBeGreaterThanOrEqual(rank[classify(x, warning, critical)]);
        expect(rank[classify(x - d, { low: 35 }, { low: 30 })]).toBeGreaterThanOrEqual(rank[classify(x, { low: 35 }, { low: 30 })]);
      }),
    );
  });

  it("describes limits and classes in words", () => {
    expect(describeLimits({ low: 35 }, { low: 30, high: 99 })).toBe("yellow < 35; red < 30 or > 99");
    expect(describeLimits({}, {})).toBe("");
    expect(limitText("critical")).toBe("outside critical limits");
    expect(limitText("none")).toBe("");
  });
});
