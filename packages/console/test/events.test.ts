import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventLog, matchesFilter, NO_FILTER, severityRank, toEventItem, type EventItem } from "../src/logic/events.js";

const ev = (over: Partial<EventItem> = {}): EventItem => ({
  service: "counter",
  id: 1,
  name: "limitExceeded",
  severity: "medium",
  message: "counter 150 is above limit 100",
  missionTimeNs: "2000000000000000000",
  args: { count: "150" },
  ...over,
});

describe("event filters", () => {
  it("filter by least severity, by service and by words in the text or arguments", () => {
    const e = ev();
    expect(matchesFilter(e, NO_FILTER)).toBe(true);
    expect(matchesFilter(e, { ...NO_FILTER, minSeverity: "medium" })).toBe(true);
    expect(matchesFilter(e, { ...NO_FILTER, minSeverity: "high" })).toBe(false);
    expect(matchesFilter(e, { ...NO_FILTER, services: ["counter", "ttc"] })).toBe(true);
    expect(matchesFilter(e, { ...NO_FILTER, services: ["ttc"] })).toBe(false);
    expect(matchesFilter(e, { ...NO_FILTER, text: "ABOVE limit" })).toBe(true);
    expect(matchesFilter(e, { ...NO_FILTER, text: "count=150" })).toBe(true);
    expect(matchesFilter(e, { ...NO_FILTER, text: "above below" })).toBe(false);
    expect(matchesFilter(e, { ...NO_FILTER, text: "   " })).toBe(true);
    expect(matchesFilter(ev({ severity: "weird" }), { ...NO_FILTER, minSeverity: "info" })).toBe(false);
    expect(severityRank("high")).toBe(3);
  });

  it("cuts an oversized filter text instead of failing", () => {
    expect(matchesFilter(ev(), { ...NO_FILTER, text: "above" + " ".repeat(100_000) + "nothing-like-this" })).toBe(true);
  });
});

describe("events from the wire", () => {
  it("reads the gateway's event JSON (stream and REST) and refuses what is not an event", () => {
    expect(toEventItem({ type: "event", service: "ttc", id: 2, name: "criticalArmed", severity: "info", message: "armed", missionTimeNs: "5", args: { apid: "2032" } })).toEqual({
      service: "ttc",
      id: 2,
      name: "criticalArmed",
      severity: "info",
      message: "armed",
      missionTimeNs: "5",
      args: { apid: "2032" },
    });
    expect(toEventItem({ service: "s", name: "n", time: "2026-01-01T00:00:00.000Z", args: { n: 5, o: { a: 1 } } })).toMatchObject({ time: "2026-01-01T00:00:00.000Z", args: { n: "5", o: '{"a":1}' }, missionTimeNs: "0", severity: "unspecified" });
    for (const bad of [null, 5, "x", [], {}, { service: 1, name: "n" }]) expect(toEventItem(bad)).toBeUndefined();
    fc.assert(fc.property(fc.anything(), (x) => void toEventItem(x)));
  });
});

describe("EventLog", () => {
  it("keeps each event once, newest first, and at most its capacity", () => {
    const log = new EventLog(3);
    expect(log.add([ev({ missionTimeNs: "10" }), ev({ missionTimeNs: "30" }), ev({ missionTimeNs: "20" })])).toBe(3);
    expect(log.add([ev({ missionTimeNs: "20" })])).toBe(0);
    expect(log.list().map((e) => e.missionTimeNs)).toEqual(["30", "20", "10"]);
    expect(log.add([ev({ missionTimeNs: "40", service: "ttc" })])).toBe(1);
    expect(log.list().map((e) => e.missionTimeNs)).toEqual(["40", "30", "20"]);
    // The dropped one may come back (it is no longer held).
    expect(log.add([ev({ missionTimeNs: "10" })])).toBe(1);
    expect(log.length).toBe(3);
    expect(log.services()).toEqual(["counter", "ttc"]);
    expect(log.list({ ...NO_FILTER, services: ["ttc"] })).toHaveLength(1);
  });

  it("orders mission times as numbers, not as text", () => {
    const log = new EventLog(10);
    log.add([ev({ missionTimeNs: "9" }), ev({ missionTimeNs: "10" }), ev({ missionTimeNs: "100" })]);
    expect(log.list().map((e) => e.missionTimeNs)).toEqual(["100", "10", "9"]);
  });

  it("stays bounded and duplicate-free whatever arrives", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.record({ t: fc.integer({ min: 0, max: 50 }), s: fc.constantFrom("a", "b") }), { maxLength: 100 }), (cap, items) => {
        const log = new EventLog(cap);
        for (const i of items) log.add([ev({ missionTimeNs: String(i.t), service: i.s })]);
        const list = log.list();
        expect(list.length).toBeLessThanOrEqual(cap);
        expect(new Set(list.map((e) => `${e.service}${e.missionTimeNs}`)).size).toBe(list.length);
        for (let k = 1; k < list.length; k++) expect(Number(list[k]!.missionTimeNs)).toBeLessThanOrEqual(Number(list[k - 1]!.missionTimeNs));
      }),
    );
    expect(() => new EventLog(0)).toThrow(/capacity/);
  });
});
