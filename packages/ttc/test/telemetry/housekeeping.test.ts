import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  HK_MAX_INTERVAL_MS,
  HK_MIN_INTERVAL_MS,
  HousekeepingTable,
  decodeHousekeepingReport,
  type HousekeepingStructure,
} from "../../src/telemetry/index.js";
import { lookupOf } from "./support.js";

const lookup = lookupOf(["power/busVoltage", "power/batteryTemp", "thermal/socTemp", "jobs/running", "jobs/tenant", "jobs/ticks"]);
const table = () => new HousekeepingTable({ lookup });
const structure = (over: Partial<HousekeepingStructure> = {}): HousekeepingStructure => ({
  sid: 1,
  collectionIntervalMs: 1000,
  enabled: true,
  parameters: [
    { service: "power", name: "busVoltage" },
    { service: "thermal", name: "socTemp" },
  ],
  ...over,
});

describe("ST[03] housekeeping: the structure table", () => {
  it("creates a structure and reports its definition (3,9 → 3,10)", () => {
    const t = table();
    expect(t.create(structure(), 0)).toEqual({ ok: true });
    expect(t.create(structure({ sid: 2, enabled: false, parameters: [{ service: "jobs", name: "running" }] }), 0)).toEqual({ ok: true });
    const all = t.definitions();
    expect(all.ok && all.value.map((s) => s.sid)).toEqual([1, 2]);
    expect(t.definitions([2])).toEqual({ ok: true, value: [structure({ sid: 2, enabled: false, parameters: [{ service: "jobs", name: "running" }] })] });
    expect(t.definitions([3])).toMatchObject({ ok: false, field: "sids[0]" });
  });

  it.each<[string, Partial<HousekeepingStructure>, string]>([
    ["SID out of range", { sid: 0x10000 }, "sid"],
    ["interval below 100 ms", { collectionIntervalMs: HK_MIN_INTERVAL_MS - 1 }, "collectionIntervalMs"],
    ["interval above 24 h", { collectionIntervalMs: HK_MAX_INTERVAL_MS + 1 }, "collectionIntervalMs"],
    ["fractional interval", { collectionIntervalMs: 150.5 }, "collectionIntervalMs"],
    ["empty parameter list", { parameters: [] }, "parameters"],
    ["unknown parameter", { parameters: [{ service: "power", name: "nope" }] }, "parameters[0]"],
    ["unknown service", { parameters: [{ service: "ghost", name: "busVoltage" }] }, "parameters[0]"],
    ["bad service name", { parameters: [{ service: "-x", name: "busVoltage" }] }, "parameters[0].service"],
    ["bad parameter name", { parameters: [{ service: "power", name: "bus voltage" }] }, "parameters[0].name"],
    [
      "parameter listed twice",
      {
        parameters: [
          { service: "power", name: "busVoltage" },
          { service: "power", name: "busVoltage" },
        ],
      },
      "parameters[1]",
    ],
  ])("refuses a structure with %s, naming the field, and changes nothing", (_, over, field) => {
    const t = table();
    const r = t.create(structure(over), 0);
    expect(r).toMatchObject({ ok: false, field });
    expect(t.size).toBe(0);
  });

  it("accepts the interval bounds themselves", () => {
    const t = table();
    expect(t.create(structure({ sid: 1, collectionIntervalMs: HK_MIN_INTERVAL_MS }), 0).ok).toBe(true);
    expect(t.create(structure({ sid: 2, collectionIntervalMs: HK_MAX_INTERVAL_MS }), 0).ok).toBe(true);
  });

  it("refuses a duplicate SID and keeps the first structure", () => {
    const t = table();
    t.create(structure(), 0);
    expect(t.create(structure({ collectionIntervalMs: 5000 }), 0)).toMatchObject({ ok: false, field: "sid" });
    const d = t.definitions([1]);
    expect(d.ok && d.value[0]!.collectionIntervalMs).toBe(1000);
  });

  it("refuses to grow past its capacity", () => {
    const t = new HousekeepingTable({ lookup, maxStructures: 2 });
    expect(t.create(structure({ sid: 1 }), 0).ok).toBe(true);
    expect(t.create(structure({ sid: 2 }), 0).ok).toBe(true);
    expect(t.create(structure({ sid: 3 }), 0)).toMatchObject({ ok: false, field: "sid" });
  });

  it("keeps its own copy of a structure", () => {
    const t = table();
    const s = structure();
    t.create(s, 0);
    s.parameters.push({ service: "jobs", name: "running" });
    s.collectionIntervalMs = 5;
    const d = t.definitions([1]);
    expect(d.ok && d.value[0]).toEqual(structure());
  });

  it("deletes (3,3) only disabled structures, all or nothing", () => {
    const t = table();
    t.create(structure({ sid: 1, enabled: false }), 0);
    t.create(structure({ sid: 2, enabled: true }), 0);
    expect(t.delete([1, 2])).toMatchObject({ ok: false, field: "sids[1]" });
    expect(t.delete([1, 9])).toMatchObject({ ok: false, field: "sids[1]" });
    expect(t.delete([])).toMatchObject({ ok: false, field: "sids" });
    expect(t.size).toBe(2);
    expect(t.delete([1, 1])).toEqual({ ok: true });
    expect(t.size).toBe(1);
    expect(t.disable([2]).ok && t.delete([2]).ok).toBe(true);
    expect(t.size).toBe(0);
  });

  it("enables (3,5) and disables (3,6) by SID list, refusing unknown SIDs without changing anything", () => {
    const t = table();
    t.create(structure({ sid: 1, enabled: false }), 0);
    t.create(structure({ sid: 2, enabled: false }), 0);
    expect(t.enable([1, 7], 0)).toMatchObject({ ok: false, field: "sids[1]" });
    expect(t.due(10_000)).toEqual([]);
    expect(t.enable([1, 2], 0)).toEqual({ ok: true });
    expect(t.due(1000).map((s) => s.sid)).toEqual([1, 2]);
    expect(t.disable([2])).toEqual({ ok: true });
    expect(t.due(2000).map((s) => s.sid)).toEqual([1]);
    expect(t.disable([3])).toMatchObject({ ok: false, field: "sids[0]" });
  });
});

describe("ST[03] housekeeping: the schedule in simulated time", () => {
  it("reports an interval after creation, then every interval, without drift over many intervals", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 1, max: 97 }), fc.integer({ min: 0, max: 1_000_000 }), (interval, tick, start) => {
        const t = table();
        t.create(structure({ collectionIntervalMs: interval }), start);
        const times: number[] = [];
        const periods = 500;
        for (let now = start; now <= start + periods * interval; now += tick) for (const _ of t.due(now)) times.push(now - start);
        // The k-th report comes at the first tick at or after k intervals: the error never accumulates.
        expect(times.length).toBe(Math.floor((Math.floor((periods * interval) / tick) * tick) / interval));
        times.forEach((dt, i) => {
          expect(dt).toBeGreaterThanOrEqual((i + 1) * interval);
          expect(dt).toBeLessThan((i + 1) * interval + tick);
        });
        expect(t.skippedReports).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it("keeps the phase on a fractional monotonic clock", () => {
    const t = table();
    const start = 12_345.678;
    t.create(structure({ collectionIntervalMs: 100 }), start);
    let count = 0;
    for (let i = 1; i <= 36_000; i++) count += t.due(start + i * 100).length; // one hour
    expect(count).toBe(36_000);
    expect(t.nextDueMs()).toBeCloseTo(start + 36_001 * 100, 6);
  });

  it("reports once when called several intervals late, counts the skipped ones, and keeps the phase", () => {
    const t = table();
    t.create(structure({ collectionIntervalMs: 1000 }), 0);
    expect(t.due(999)).toEqual([]);
    expect(t.due(3500).map((s) => s.sid)).toEqual([1]);
    expect(t.skippedReports).toBe(2); // 1000 and 2000 were missed, 3000 reported
    expect(t.nextDueMs()).toBe(4000);
    expect(t.due(3999)).toEqual([]);
    expect(t.due(4000).length).toBe(1);
  });

  it("nextDueMs is the earliest enabled structure's next report", () => {
    const t = table();
    expect(t.nextDueMs()).toBeUndefined();
    t.create(structure({ sid: 1, collectionIntervalMs: 1000 }), 0);
    t.create(structure({ sid: 2, collectionIntervalMs: 300 }), 0);
    t.create(structure({ sid: 3, collectionIntervalMs: 100, enabled: false }), 0);
    expect(t.nextDueMs()).toBe(300);
    t.due(300);
    expect(t.nextDueMs()).toBe(600);
  });

  it("a re-enabled structure is due one interval after enabling; enabling an enabled one keeps its schedule", () => {
    const t = table();
    t.create(structure({ collectionIntervalMs: 1000 }), 0);
    t.enable([1], 500);
    expect(t.nextDueMs()).toBe(1000);
    t.disable([1]);
    expect(t.due(5000)).toEqual([]);
    t.enable([1], 5250);
    expect(t.due(6249)).toEqual([]);
    expect(t.due(6250).length).toBe(1);
    expect(t.skippedReports).toBe(0);
  });

  it("modifies the interval (3,31) counting from the command, all or nothing", () => {
    const t = table();
    t.create(structure({ sid: 1, collectionIntervalMs: 1000 }), 0);
    t.create(structure({ sid: 2, collectionIntervalMs: 1000 }), 0);
    expect(
      t.modifyInterval(
        [
          { sid: 1, collectionIntervalMs: 200 },
          { sid: 2, collectionIntervalMs: 50 },
        ],
        400,
      ),
    ).toMatchObject({ ok: false, field: "changes[1].collectionIntervalMs" });
    expect(t.modifyInterval([{ sid: 9, collectionIntervalMs: 200 }], 400)).toMatchObject({ ok: false, field: "changes[0].sid" });
    expect(t.nextDueMs()).toBe(1000);
    expect(t.modifyInterval([{ sid: 1, collectionIntervalMs: 200 }], 400)).toEqual({ ok: true });
    expect(t.due(600).map((s) => s.sid)).toEqual([1]);
    expect(t.due(800).map((s) => s.sid)).toEqual([1]);
    expect(t.due(1000).map((s) => s.sid)).toEqual([1, 2]);
    const d = t.definitions([1]);
    expect(d.ok && d.value[0]!.collectionIntervalMs).toBe(200);
  });
});

describe("ST[03] housekeeping: reports", () => {
  it("reports the latest sample of each parameter, in the structure's order, with no-sample markers", () => {
    const t = table();
    t.create(
      structure({
        parameters: [
          { service: "jobs", name: "running" },
          { service: "jobs", name: "ticks" },
          { service: "power", name: "busVoltage" },
          { service: "jobs", name: "tenant" },
        ],
      }),
      0,
    );
    t.observe("power", "busVoltage", 27.9, 1n);
    t.observe("power", "busVoltage", 28.1, 2n);
    t.observe("jobs", "running", true, 3n);
    t.observe("jobs", "tenant", "acme", 4n);
    const r = t.report(1, 100n);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.values).toEqual([true, undefined, 28.1, "acme"]);
    expect(r.value.tNs).toBe(100n);
    expect(decodeHousekeepingReport(r.value.data)).toEqual({ ok: true, value: { sid: 1, values: [true, undefined, 28.1, "acme"] } });
    // Layout: SID, then type-tagged values (0 = no sample yet).
    expect(Buffer.from(r.value.data).toString("hex")).toBe(
      "0001" + "0101" + "00" + "03" + Buffer.from(new Float64Array([28.1]).buffer).reverse().toString("hex") + "04" + "04" + Buffer.from("acme").toString("hex"),
    );
    expect(t.report(2, 0n)).toMatchObject({ ok: false, field: "sid" });
  });

  it("a sample without a value replaces the previous one and is reported as no sample", () => {
    const t = table();
    t.create(structure({ parameters: [{ service: "power", name: "busVoltage" }] }), 0);
    t.observe("power", "busVoltage", 28, 1n);
    t.observe("power", "busVoltage", undefined, 2n);
    const r = t.report(1, 3n);
    expect(r.ok && r.value.values).toEqual([undefined]);
  });

  it("reports an int64 sample as an integer", () => {
    const t = table();
    t.create(structure({ parameters: [{ service: "jobs", name: "ticks" }] }), 0);
    t.observe("jobs", "ticks", -(1n << 63n), 1n);
    const r = t.report(1, 1n);
    expect(r.ok && decodeHousekeepingReport(r.value.data)).toEqual({ ok: true, value: { sid: 1, values: [-(1n << 63n)] } });
  });

  it("never fails a report on what a service published: long strings are cut, out-of-range integers become no-sample", () => {
    const t = table();
    t.create(
      structure({
        parameters: [
          { service: "jobs", name: "tenant" },
          { service: "jobs", name: "ticks" },
        ],
      }),
      0,
    );
    t.observe("jobs", "tenant", "é".repeat(200), 1n); // 400 bytes
    t.observe("jobs", "ticks", 1n << 70n, 1n);
    const r = t.report(1, 1n);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.values).toEqual(["é".repeat(127), undefined]);
    expect(decodeHousekeepingReport(r.value.data)).toEqual({ ok: true, value: { sid: 1, values: ["é".repeat(127), undefined] } });
  });

  it("one-shot (3,27) reports now even when disabled, and leaves the schedule alone", () => {
    const t = table();
    t.create(structure({ sid: 1, enabled: false }), 0);
    t.create(structure({ sid: 2, enabled: true }), 0);
    t.observe("power", "busVoltage", 28, 5n);
    const r = t.oneShot([1, 2], 42n);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.map((x) => [x.sid, x.tNs, x.values])).toEqual([
      [1, 42n, [28, undefined]],
      [2, 42n, [28, undefined]],
    ]);
    expect(t.nextDueMs()).toBe(1000);
    expect(t.due(999)).toEqual([]);
    expect(t.oneShot([1, 3], 0n)).toMatchObject({ ok: false, field: "sids[1]" });
    expect(t.oneShot([], 0n)).toMatchObject({ ok: false, field: "sids" });
  });

  it("keeps samples of parameters no structure names only up to its bound", () => {
    const t = new HousekeepingTable({ lookup, maxSamples: 1 });
    t.observe("jobs", "running", true, 1n);
    t.observe("jobs", "ticks", 5n, 1n); // dropped: the store is full and nothing names it
    t.create(structure({ parameters: [{ service: "jobs", name: "running" }, { service: "jobs", name: "ticks" }] }), 0);
    t.observe("power", "busVoltage", 1, 1n); // dropped, not named either
    let r = t.report(1, 1n);
    expect(r.ok && r.value.values).toEqual([true, undefined]);
    t.observe("jobs", "ticks", 6n, 2n); // named by a structure: always kept
    r = t.report(1, 2n);
    expect(r.ok && r.value.values).toEqual([true, 6n]);
  });
});
