import { afterEach, describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { TTC_APID } from "../src/service.js";
import {
  decodeEventReport,
  decodeHousekeepingReport,
  decodeTransitionReport,
  encodeCreateStructure,
  encodeEventActions,
  encodeEventRefs,
  encodeSids,
} from "../src/telemetry/index.js";
import { startStack, type Stack } from "./support/stack.js";

const COUNTER = 0x7f0;
const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop();
});
async function stack() {
  const s = await startStack();
  stacks.push(s);
  return s;
}
const add = (s: Stack, amount: bigint) => s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount });

describe("TTC telemetry: housekeeping (ST[03])", () => {
  it("packs a structure of service parameters at its own interval, in simulated time", async () => {
    const s = await stack();
    await s.send(
      s.ground.tc(TTC_APID, 3, 1, encodeCreateStructure({ sid: 7, collectionIntervalMs: 2000, enabled: true, parameters: [{ service: "counter", name: "count" }, { service: "counter", name: "overLimit" }] })),
    );
    expect(s.verifications.at(-1)).toMatchObject({ success: true, detail: "structure 7 created" });
    await s.send(add(s, 3n));
    await s.clock.advance(10_000);
    await s.settle();
    const reports = s.tm.filter((t) => t.service === 3 && t.subtype === 25).map((t) => decodeHousekeepingReport(t.appData));
    expect(reports).toHaveLength(5);
    expect(reports.at(-1)).toEqual({ ok: true, value: { sid: 7, values: [3n, false] } });
    // Disabled: no more reports; a one-shot still reports.
    await s.send(s.ground.tc(TTC_APID, 3, 6, encodeSids([7])));
    await s.clock.advance(10_000);
    await s.settle();
    expect(s.tm.filter((t) => t.service === 3 && t.subtype === 25)).toHaveLength(5);
    await s.send(s.ground.tc(TTC_APID, 3, 27, encodeSids([7])));
    expect(s.tm.filter((t) => t.service === 3 && t.subtype === 25)).toHaveLength(6);
  });

  it("refuses a structure naming a parameter no service declared, changing nothing", async () => {
    const s = await stack();
    await s.send(s.ground.tc(TTC_APID, 3, 1, encodeCreateStructure({ sid: 1, collectionIntervalMs: 1000, enabled: true, parameters: [{ service: "counter", name: "speed" }] })));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, code: umbra.ttc.v1.FailureCode.FAILURE_BAD_ARGUMENT });
    await s.clock.advance(5_000);
    await s.settle();
    expect(s.tm.filter((t) => t.service === 3)).toHaveLength(0);
  });
});

describe("TTC telemetry: events (ST[05]) and monitoring (ST[12])", () => {
  it("reports each event at its severity's subtype, and not once disabled", async () => {
    const s = await stack();
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 5n }]));
    await s.send(add(s, 10n));
    const ev = s.tm.filter((t) => t.service === 5);
    expect(ev.map((t) => t.subtype)).toContain(3); // limitExceeded is medium severity
    const report = decodeEventReport(ev.find((t) => t.subtype === 3)!.appData);
    expect(report.ok && report.value).toMatchObject({ service: "counter", eventId: 1 });
    await s.send(s.ground.tc(TTC_APID, 5, 6, encodeEventRefs([{ service: "counter", eventId: 1 }])));
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 100n }]), add(s, 200n));
    expect(s.tm.filter((t) => t.service === 5 && t.subtype === 3)).toHaveLength(1);
  });

  it("monitors declared limits: yellow then red transitions as TM(12,12)", async () => {
    const s = await stack();
    await s.send(add(s, 950n));
    await s.send(add(s, 100n));
    const transitions = s.tm.filter((t) => t.service === 12 && t.subtype === 12).flatMap((t) => {
      const r = decodeTransitionReport(t.appData);
      return r.ok ? r.value : [];
    });
    // The first sample the monitor sees is already 950: straight from unchecked to yellow.
    expect(transitions.map((t) => [t.name, t.previous, t.current])).toEqual([
      ["count", "unchecked", "above-high-yellow"],
      ["count", "above-high-yellow", "above-high-red"],
    ]);
  });
});

describe("TTC telemetry: event-action (ST[19])", () => {
  it("an event triggers a stored command, verified like any command", async () => {
    const s = await stack();
    const action = add(s, -100n);
    await s.send(s.ground.tc(TTC_APID, 19, 1, encodeEventActions([{ service: "counter", eventId: 1, action }])));
    expect(s.verifications.at(-1)).toMatchObject({ success: true });
    await s.send(s.ground.tc(TTC_APID, 19, 4, encodeEventRefs([{ service: "counter", eventId: 1 }])));
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 10n }]));
    await s.send(add(s, 20n));
    expect(s.counter.value).toBe(-80);
    const seq = ((action[2]! & 0x3f) << 8) | action[3]!;
    expect(s.stages(COUNTER, seq)).toEqual(["acceptance:ok", "start:ok", "completion:ok"]);
  });
});

describe("TTC telemetry: archive", () => {
  it("archives every sample, event and verification stage, queryable by time range", async () => {
    const s = await stack();
    const t0 = s.clock.nowTaiNs();
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 5n }]));
    await s.send(add(s, 10n));
    await s.clock.advance(5_000);
    await s.settle();
    const t1 = s.clock.nowTaiNs();
    const series = s.archive.samples("counter", "count", t0, t1);
    expect(series.length).toBeGreaterThanOrEqual(6);
    expect(series.values.at(-1)).toBe(10n);
    const events = s.archive.events({ fromNs: t0, toNs: t1, service: "counter" });
    expect(events.map((e) => e.name)).toContain("limitExceeded");
    const stages = s.archive.verifications({ fromNs: t0, toNs: t1 }).map((v) => `${v.stage}:${v.success}`);
    expect(stages).toEqual(expect.arrayContaining(["acceptance:true", "start:true", "completion:true"]));
    // Nothing before t0 or after t1.
    expect(s.archive.samples("counter", "count", t1 + 1n, t1 + 1_000_000_000n).length).toBe(0);
  });
});

describe("TTC telemetry: archive retention", () => {
  it("drops rows older than the age limit on its own schedule and says so", async () => {
    const s = await stack();
    await s.send(s.ground.setParameters(TTC_APID, [{ name: "archiveMaxAgeHours", value: 1n }]));
    const t0 = s.clock.nowTaiNs();
    await s.clock.advance(10_000);
    await s.settle();
    expect(s.archive.samples("counter", "count", t0, t0 + 20_000_000_000n).length).toBeGreaterThan(0);
    for (let i = 0; i < 65; i++) await s.clock.advance(60_000);
    await s.settle();
    expect(s.archive.samples("counter", "count", t0, t0 + 20_000_000_000n).length).toBe(0);
    expect(s.events.some((e) => e.name === "archiveTrimmed")).toBe(true);
  });
});

describe("TTC telemetry: event-action repeats and loops", () => {
  it("fires every time its event comes (stored commands are not uplink duplicates), but at most once per second", async () => {
    const s = await stack();
    const action = add(s, -100n);
    await s.send(s.ground.tc(TTC_APID, 19, 1, encodeEventActions([{ service: "counter", eventId: 1, action }])));
    await s.send(s.ground.tc(TTC_APID, 19, 4, encodeEventRefs([{ service: "counter", eventId: 1 }])));
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 10n }]));
    await s.send(add(s, 20n)); // crosses the limit: action runs, count 20 - 100 = -80
    await s.clock.advance(2_000);
    await s.send(add(s, 200n)); // 120: crosses again, a second later: runs again
    expect(s.counter.value).toBe(20);
    // Crossing again within the second: the action is held back (a loop guard), the event still reported.
    await s.send(add(s, -200n), add(s, 200n));
    expect(s.counter.value).toBe(20);
    expect(s.ttc.telemetryFunctions.suppressedActions).toBe(1);
  });
});
