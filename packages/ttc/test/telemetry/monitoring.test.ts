import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { umbra } from "@umbra/proto";
import { cucToTaiNs } from "@umbra/ccsds";
import {
  MonitoringTable,
  decodeTransitionReport,
  fromDeclaration,
  transitionReport,
  type CheckingStatus,
  type MonitoringCheck,
  type MonitoringDefinition,
  type ParamValue,
} from "../../src/telemetry/index.js";
import { lookupOf } from "./support.js";

const lookup = lookupOf(["thermal/socTemp", "thermal/mode", "power/busVoltage", "power/status", "power/label", "jobs/queued"]);
const SEC = 1_000_000_000n;

function pmon(check: MonitoringCheck, over: Partial<MonitoringDefinition> = {}): MonitoringDefinition {
  return { pmonId: 1, service: "thermal", name: "socTemp", repetition: 1, check, ...over };
}

/** A table with one enabled definition; feed() observes values one second apart and returns the statuses reached. */
function monitor(check: MonitoringCheck, over: Partial<MonitoringDefinition> = {}) {
  const t = new MonitoringTable({ lookup });
  const def = pmon(check, over);
  const r = t.add([def], { enabled: true });
  expect(r).toEqual({ ok: true });
  let time = 0n;
  const feed = (...values: (ParamValue | undefined)[]) =>
    values.flatMap((v) => {
      time += SEC;
      return t.observe(def.service, def.name, v, time);
    });
  return { t, feed, status: () => t.status(def.pmonId)?.status };
}

const LIMITS: MonitoringCheck = { kind: "limit", lowRed: -20, lowYellow: -10, highYellow: 80, highRed: 95 };

describe("ST[12] limit check", () => {
  it.each<[ParamValue, CheckingStatus]>([
    [20, "within-limits"],
    [-10, "within-limits"], // a value equal to a limit is within it
    [80, "within-limits"],
    [-10.5, "below-low-yellow"],
    [-20, "below-low-yellow"],
    [-20.001, "below-low-red"],
    [80.5, "above-high-yellow"],
    [95, "above-high-yellow"],
    [96, "above-high-red"],
    [90n, "above-high-yellow"], // integers compare exactly against float limits
    [-21n, "below-low-red"],
    [Number.NaN, "invalid"],
    [Number.POSITIVE_INFINITY, "invalid"],
    [Number.NEGATIVE_INFINITY, "invalid"],
    ["hot", "invalid"],
    [true, "invalid"],
  ])("%s is %s", (v, expected) => {
    const m = monitor(LIMITS);
    m.feed(v);
    expect(m.status()).toBe(expected);
  });

  it("a sample with no value is invalid", () => {
    const m = monitor(LIMITS);
    m.feed(undefined);
    expect(m.status()).toBe("invalid");
  });

  it("works with only some limits", () => {
    const m = monitor({ kind: "limit", highRed: 100 });
    expect(m.feed(1e6)[0]).toMatchObject({ previous: "unchecked", current: "above-high-red", limit: 100 });
    expect(m.feed(-1e6)[0]).toMatchObject({ previous: "above-high-red", current: "within-limits", limit: 100 });
  });

  it("reports each transition with the sample, the limit crossed and the time", () => {
    const m = monitor(LIMITS, { pmonId: 7 });
    expect(m.feed(20)).toEqual([{ pmonId: 7, service: "thermal", name: "socTemp", checkType: "limit", previous: "unchecked", current: "within-limits", value: 20, limit: undefined, tNs: 1n * SEC }]);
    expect(m.feed(21)).toEqual([]); // same status: no transition
    expect(m.feed(85)[0]).toMatchObject({ previous: "within-limits", current: "above-high-yellow", value: 85, limit: 80, tNs: 3n * SEC });
    expect(m.feed(99)[0]).toMatchObject({ previous: "above-high-yellow", current: "above-high-red", limit: 95 });
    expect(m.feed(50)[0]).toMatchObject({ previous: "above-high-red", current: "within-limits", limit: 95 });
    expect(m.feed(-30)[0]).toMatchObject({ current: "below-low-red", limit: -20 });
    expect(m.feed(Number.NaN)[0]).toMatchObject({ previous: "below-low-red", current: "invalid", limit: undefined });
    expect(m.feed(0)[0]).toMatchObject({ previous: "invalid", current: "within-limits", limit: undefined });
  });
});

describe("ST[12] repetition", () => {
  it("changes status only after `repetition` consecutive checks agree", () => {
    const m = monitor(LIMITS, { repetition: 3 });
    expect(m.feed(20, 20)).toEqual([]);
    expect(m.status()).toBe("unchecked");
    expect(m.feed(20).map((t) => t.current)).toEqual(["within-limits"]);
    expect(m.feed(85, 85)).toEqual([]);
    const [t] = m.feed(86);
    expect(t).toMatchObject({ previous: "within-limits", current: "above-high-yellow", value: 86, tNs: 6n * SEC });
  });

  it("a value flapping across a limit faster than the count never changes the status", () => {
    const m = monitor(LIMITS, { repetition: 3 });
    m.feed(20, 20, 20);
    const flapping = Array.from({ length: 200 }, (_, i) => (i % 3 === 2 ? 20 : 85)); // 85, 85, 20, ...
    expect(m.feed(...flapping)).toEqual([]);
    expect(m.status()).toBe("within-limits");
  });

  it("the counter restarts when a different new status interrupts it", () => {
    const m = monitor(LIMITS, { repetition: 2 });
    m.feed(20, 20);
    expect(m.feed(85, 99, 85, 99)).toEqual([]); // yellow, red, yellow, red: never twice in a row
    expect(m.feed(99).map((t) => t.current)).toEqual(["above-high-red"]);
  });

  it("NaN must also persist for `repetition` checks before the status is invalid", () => {
    const m = monitor(LIMITS, { repetition: 2 });
    m.feed(20, 20);
    expect(m.feed(Number.NaN, 20, Number.NaN)).toEqual([]);
    expect(m.feed(Number.NaN).map((t) => t.current)).toEqual(["invalid"]);
  });

  it("matches a reference model of the repetition filter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.constantFrom(0, 85, 99, Number.NaN), { maxLength: 60 }), (repetition, values) => {
        const m = monitor(LIMITS, { repetition });
        const got = m.feed(...values).map((t) => t.current);
        const classify = (v: number): CheckingStatus => (Number.isNaN(v) ? "invalid" : v > 95 ? "above-high-red" : v > 80 ? "above-high-yellow" : "within-limits");
        // Reference: a transition at i iff the status differs and the last `repetition`
        // checks, all after the previous transition, gave that same status.
        const want: CheckingStatus[] = [];
        let status: CheckingStatus = "unchecked";
        let last = -1;
        values.forEach((v, i) => {
          const s = classify(v);
          if (s === status || i - last < repetition) return;
          if (values.slice(i + 1 - repetition, i + 1).every((w) => classify(w) === s)) {
            want.push(s);
            status = s;
            last = i;
          }
        });
        expect(got).toEqual(want);
      }),
    );
  });
});

describe("ST[12] expected-value check", () => {
  it("compares booleans", () => {
    const m = monitor({ kind: "expected", value: true }, { service: "power", name: "status" });
    expect(m.feed(true).map((t) => [t.current, t.limit])).toEqual([["expected-value", true]]);
    expect(m.feed(false).map((t) => [t.current, t.limit])).toEqual([["unexpected-value", true]]);
    expect(m.feed(1n).map((t) => t.current)).toEqual(["invalid"]); // type must match
  });

  it("compares integers under a mask", () => {
    const m = monitor({ kind: "expected", value: 0b1010n, mask: 0b1110n }, { service: "power", name: "status" });
    expect(m.feed(0b1011n).map((t) => t.current)).toEqual(["expected-value"]); // bit 0 is masked out
    expect(m.feed(0b1110n).map((t) => t.current)).toEqual(["unexpected-value"]);
    expect(m.feed(0b11010n).map((t) => t.current)).toEqual(["expected-value"]);
    expect(m.feed(10).map((t) => t.current)).toEqual(["invalid"]); // a float is not an integer sample
  });

  it("masks negative integers as 64-bit two's complement", () => {
    const m = monitor({ kind: "expected", value: -1n, mask: 0xffn }, { service: "power", name: "status" });
    expect(m.feed(255n).map((t) => t.current)).toEqual(["expected-value"]);
    expect(m.feed(254n).map((t) => t.current)).toEqual(["unexpected-value"]);
  });

  it("compares integers exactly without a mask, floats and strings", () => {
    let m = monitor({ kind: "expected", value: 3n }, { service: "power", name: "status" });
    expect(m.feed(3n, 4n).map((t) => t.current)).toEqual(["expected-value", "unexpected-value"]);
    m = monitor({ kind: "expected", value: 1.5 }, { service: "power", name: "busVoltage" });
    expect(m.feed(1.5, 1.25, Number.NaN).map((t) => t.current)).toEqual(["expected-value", "unexpected-value", "invalid"]);
    m = monitor({ kind: "expected", value: "nominal" }, { service: "power", name: "label" });
    expect(m.feed("nominal", "safe", undefined).map((t) => t.current)).toEqual(["expected-value", "unexpected-value", "invalid"]);
  });
});

describe("ST[12] delta check (units per second)", () => {
  it("leaves the first sample unchecked and checks the rate from the second", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon({ kind: "delta", lowThreshold: -2, highThreshold: 5 })], { enabled: true });
    expect(t.observe("thermal", "socTemp", 20, 0n)).toEqual([]);
    expect(t.status(1)?.status).toBe("unchecked");
    expect(t.observe("thermal", "socTemp", 24, 1n * SEC)[0]).toMatchObject({ current: "within-thresholds", limit: undefined });
    expect(t.observe("thermal", "socTemp", 30, 2n * SEC)[0]).toMatchObject({ current: "above-high-threshold", limit: 5, value: 30 });
    expect(t.observe("thermal", "socTemp", 27, 3n * SEC)[0]).toMatchObject({ current: "below-low-threshold", limit: -2 });
    expect(t.observe("thermal", "socTemp", 27, 4n * SEC)[0]).toMatchObject({ current: "within-thresholds", limit: -2 });
  });

  it("is a rate, so the same slope passes whatever the sampling interval", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 2, maxLength: 30 }), (gapsMs) => {
        const t = new MonitoringTable({ lookup });
        t.add([pmon({ kind: "delta", lowThreshold: -1.01, highThreshold: 1.01 })], { enabled: true });
        let tNs = 0n;
        const seen: CheckingStatus[] = [];
        for (const g of gapsMs) {
          tNs += BigInt(g) * 1_000_000n;
          // 1 unit per second exactly, sampled at irregular intervals
          for (const tr of t.observe("thermal", "socTemp", Number(tNs) / 1e9, tNs)) seen.push(tr.current);
        }
        expect(seen).toEqual(["within-thresholds"]);
      }),
    );
  });

  it("uses integer samples without losing the difference", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon({ kind: "delta", highThreshold: 10 }, { service: "jobs", name: "queued" })], { enabled: true });
    const big = 1n << 60n;
    t.observe("jobs", "queued", big, 0n);
    expect(t.observe("jobs", "queued", big + 5n, SEC)[0]?.current).toBe("within-thresholds");
    expect(t.observe("jobs", "queued", big + 100n, 2n * SEC)[0]?.current).toBe("above-high-threshold");
  });

  it("a sample not later than the previous one, or without a usable value, is invalid", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon({ kind: "delta", highThreshold: 10 })], { enabled: true });
    t.observe("thermal", "socTemp", 1, 5n * SEC);
    expect(t.observe("thermal", "socTemp", 2, 5n * SEC)[0]?.current).toBe("invalid");
    expect(t.observe("thermal", "socTemp", 2, 6n * SEC)[0]?.current).toBe("within-thresholds"); // the rate is from the last valid sample
    expect(t.observe("thermal", "socTemp", Number.NaN, 7n * SEC)[0]?.current).toBe("invalid");
    expect(t.observe("thermal", "socTemp", "x", 8n * SEC)).toEqual([]); // still invalid: no new transition
  });
});

describe("ST[12] the definition table", () => {
  it("adds definitions disabled (12,5), as PUS says, and enables them (12,1)", () => {
    const t = new MonitoringTable({ lookup });
    expect(t.add([pmon(LIMITS)])).toEqual({ ok: true });
    expect(t.status(1)).toEqual({ enabled: false, status: "unchecked" });
    expect(t.observe("thermal", "socTemp", 1000, 1n)).toEqual([]);
    expect(t.enable([1])).toEqual({ ok: true });
    expect(t.observe("thermal", "socTemp", 1000, 2n).map((x) => x.current)).toEqual(["above-high-red"]);
  });

  it.each<[string, MonitoringDefinition, string]>([
    ["low above high", pmon({ kind: "limit", lowYellow: 50, highYellow: 40 }), "check.lowYellow"],
    ["low equal to high", pmon({ kind: "limit", lowRed: 40, highRed: 40 }), "check.lowRed"],
    ["red inside yellow (low)", pmon({ kind: "limit", lowRed: 0, lowYellow: -5 }), "check.lowRed"],
    ["red inside yellow (high)", pmon({ kind: "limit", highRed: 50, highYellow: 60 }), "check.highRed"],
    ["yellow low above red high", pmon({ kind: "limit", lowYellow: 60, highRed: 50 }), "check.lowYellow"],
    ["no limits", pmon({ kind: "limit" }), "check"],
    ["NaN limit", pmon({ kind: "limit", highRed: Number.NaN }), "check.highRed"],
    ["infinite limit", pmon({ kind: "limit", lowRed: Number.NEGATIVE_INFINITY }), "check.lowRed"],
    ["no delta thresholds", pmon({ kind: "delta" }), "check"],
    ["delta low above high", pmon({ kind: "delta", lowThreshold: 3, highThreshold: 1 }), "check.lowThreshold"],
    ["a mask on a float", pmon({ kind: "expected", value: 1.5, mask: 1n }), "check.mask"],
    ["a mask beyond 64 bits", pmon({ kind: "expected", value: 1n, mask: 1n << 64n }), "check.mask"],
    ["NaN expected", pmon({ kind: "expected", value: Number.NaN }), "check.value"],
    ["an expected integer beyond int64", pmon({ kind: "expected", value: 1n << 63n }), "check.value"],
    ["an unknown check", pmon({ kind: "range" } as unknown as MonitoringCheck), "check.kind"],
    ["repetition 0", pmon(LIMITS, { repetition: 0 }), "repetition"],
    ["repetition 256", pmon(LIMITS, { repetition: 256 }), "repetition"],
    ["fractional repetition", pmon(LIMITS, { repetition: 1.5 }), "repetition"],
    ["a PMON id beyond u16", pmon(LIMITS, { pmonId: 65536 }), "pmonId"],
    ["an unknown parameter", pmon(LIMITS, { name: "ghost" }), "name"],
    ["a bad service name", pmon(LIMITS, { service: "a b" }), "service"],
  ])("refuses a definition with %s, naming the field", (_, def, field) => {
    const t = new MonitoringTable({ lookup });
    expect(t.add([pmon(LIMITS, { pmonId: 9 }), def])).toEqual(expect.objectContaining({ ok: false, field: `definitions[1].${field}` }));
    expect(t.size).toBe(0); // all or nothing
  });

  it("refuses a PMON id that exists or repeats in the request, and an empty request", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon(LIMITS)]);
    expect(t.add([pmon(LIMITS)])).toMatchObject({ ok: false, field: "definitions[0].pmonId" });
    expect(t.add([pmon(LIMITS, { pmonId: 2 }), pmon(LIMITS, { pmonId: 2 })])).toMatchObject({ ok: false, field: "definitions[1].pmonId" });
    expect(t.add([])).toMatchObject({ ok: false, field: "definitions" });
    expect(new MonitoringTable({ lookup, maxDefinitions: 1 }).add([pmon(LIMITS), pmon(LIMITS, { pmonId: 2 })])).toMatchObject({ ok: false, field: "definitions" });
  });

  it("disable (12,2) returns the status to unchecked without a transition; enable restarts the count", () => {
    const m = monitor(LIMITS, { repetition: 2 });
    m.feed(99, 99);
    expect(m.status()).toBe("above-high-red");
    expect(m.t.disable([1])).toEqual({ ok: true });
    expect(m.t.status(1)).toEqual({ enabled: false, status: "unchecked" });
    expect(m.feed(0, 0)).toEqual([]);
    m.t.enable([1]);
    expect(m.feed(99)).toEqual([]);
    expect(m.feed(99).map((t) => [t.previous, t.current])).toEqual([["unchecked", "above-high-red"]]);
    expect(m.t.enable([1, 2])).toMatchObject({ ok: false, field: "pmonIds[1]" });
    expect(m.t.disable([])).toMatchObject({ ok: false, field: "pmonIds" });
  });

  it("deletes (12,6) only disabled definitions, all or nothing", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon(LIMITS), pmon(LIMITS, { pmonId: 2 })]);
    t.enable([2]);
    expect(t.delete([1, 2])).toMatchObject({ ok: false, field: "pmonIds[1]" });
    expect(t.delete([1, 3])).toMatchObject({ ok: false, field: "pmonIds[1]" });
    expect(t.size).toBe(2);
    expect(t.delete([1])).toEqual({ ok: true });
    expect(t.status(1)).toBeUndefined();
    expect(t.observe("thermal", "socTemp", 1000, 1n).map((x) => x.pmonId)).toEqual([2]);
  });

  it("modifies (12,7) a definition's check, keeping its parameter and enabled state, restarting its status", () => {
    const m = monitor(LIMITS);
    m.feed(85);
    expect(m.t.modify([pmon({ kind: "limit", highRed: 90 })])).toEqual({ ok: true });
    expect(m.t.status(1)).toEqual({ enabled: true, status: "unchecked" });
    expect(m.feed(85).map((t) => t.current)).toEqual(["within-limits"]);
    expect(m.t.modify([pmon(LIMITS, { name: "mode" })])).toMatchObject({ ok: false, field: "definitions[0].name" });
    expect(m.t.modify([pmon(LIMITS, { pmonId: 5 })])).toMatchObject({ ok: false, field: "definitions[0].pmonId" });
    expect(m.t.modify([pmon({ kind: "limit", lowRed: 5, highRed: 1 })])).toMatchObject({ ok: false, field: "definitions[0].check.lowRed" });
  });

  it("reports definitions (12,8 → 12,9): listed or all", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon(LIMITS, { pmonId: 5 }), pmon({ kind: "expected", value: 3n, mask: 7n }, { pmonId: 2, service: "power", name: "status" })]);
    t.enable([5]);
    expect(t.definitions()).toEqual({
      ok: true,
      value: [
        { enabled: false, definition: pmon({ kind: "expected", value: 3n, mask: 7n }, { pmonId: 2, service: "power", name: "status" }) },
        { enabled: true, definition: pmon(LIMITS, { pmonId: 5 }) },
      ],
    });
    expect(t.definitions([5])).toMatchObject({ ok: true, value: [{ enabled: true }] });
    expect(t.definitions([4])).toMatchObject({ ok: false, field: "pmonIds[0]" });
  });

  it("checks every definition of a parameter, in PMON id order", () => {
    const t = new MonitoringTable({ lookup });
    t.add([pmon({ kind: "limit", highRed: 100 }, { pmonId: 9 }), pmon({ kind: "limit", highYellow: 50 }, { pmonId: 3 })], { enabled: true });
    expect(t.observe("thermal", "socTemp", 75, 1n).map((x) => [x.pmonId, x.current])).toEqual([
      [3, "above-high-yellow"],
      [9, "within-limits"],
    ]);
    expect(t.observe("thermal", "mode", 75, 1n)).toEqual([]);
  });
});

describe("ST[12] seeding from a TelemetryDeclaration", () => {
  const Decl = umbra.core.v1.TelemetryDeclaration;

  it("turns warning limits into yellow and critical limits into red", () => {
    const d = Decl.toObject(Decl.fromObject({ name: "socTemp", type: 3, warning: { hasLow: true, low: -10, hasHigh: true, high: 80 }, critical: { hasHigh: true, high: 95 } }), { defaults: true });
    expect(fromDeclaration("thermal", d, 4, 2)).toEqual({
      ok: true,
      value: { pmonId: 4, service: "thermal", name: "socTemp", repetition: 2, check: { kind: "limit", lowYellow: -10, highYellow: 80, highRed: 95 } },
    });
  });

  it("gives nothing for a parameter without limits", () => {
    expect(fromDeclaration("thermal", { name: "socTemp", type: 3 }, 1)).toBeUndefined();
    expect(fromDeclaration("thermal", { name: "socTemp", type: 3, warning: { hasLow: false, low: 3 } }, 1)).toBeUndefined();
  });

  it("refuses inconsistent limits, naming the declaration's field", () => {
    expect(fromDeclaration("thermal", { name: "socTemp", type: 3, warning: { hasLow: true, low: -30 }, critical: { hasLow: true, low: -20 } }, 1)).toMatchObject({
      ok: false,
      field: "critical.low",
    });
    expect(fromDeclaration("power", { name: "status", type: 1, warning: { hasHigh: true, high: 1 } }, 1)).toMatchObject({ ok: false, field: "type" });
  });

  it("seeds a table that then monitors", () => {
    const def = fromDeclaration("thermal", { name: "socTemp", type: 3, critical: { hasHigh: true, high: 95 } }, 1);
    const t = new MonitoringTable({ lookup });
    expect(def?.ok && t.add([def.value], { enabled: true })).toEqual({ ok: true });
    expect(t.observe("thermal", "socTemp", 96, 1n).map((x) => x.current)).toEqual(["above-high-red"]);
  });
});

describe("ST[12] transition report (12,12)", () => {
  it("carries each transition, with its time as CUC", () => {
    const m = monitor(LIMITS);
    const tr = [...m.feed(20), ...m.feed(99)];
    const data = transitionReport(tr);
    const back = decodeTransitionReport(data);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.value.map((r) => [r.pmonId, r.checkType, r.value, r.limit, r.previous, r.current, cucToTaiNs(r.time)])).toEqual([
      [1, "limit", 20, undefined, "unchecked", "within-limits", 1n * SEC],
      [1, "limit", 99, 95, "within-limits", "above-high-red", 2n * SEC],
    ]);
  });

  it("never fails on a long string sample or an integer beyond int64", () => {
    const long = "x".repeat(300);
    const data = transitionReport([
      { pmonId: 1, service: "power", name: "label", checkType: "expected", previous: "unchecked", current: "unexpected-value", value: long, limit: "ok", tNs: SEC },
      { pmonId: 2, service: "jobs", name: "queued", checkType: "limit", previous: "unchecked", current: "above-high-red", value: 1n << 64n, limit: 10, tNs: SEC },
    ]);
    const back = decodeTransitionReport(data);
    expect(back.ok && back.value.map((r) => r.value)).toEqual(["x".repeat(255), undefined]);
  });
});
