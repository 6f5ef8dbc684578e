import { describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import {
  EventActionTable,
  EventFilter,
  decodeEventReport,
  eventReport,
  eventSubtype,
  severityOfSubtype,
  MAX_EVENT_ARGS,
  MAX_EVENT_MESSAGE_BYTES,
} from "../../src/telemetry/index.js";
import { lookupOf } from "./support.js";

const lookup = lookupOf([], ["thermal/1", "thermal/2", "power/7", "jobs/3"]);

describe("ST[05] severities", () => {
  it("map info/low/medium/high to subtypes 1..4, by name or by the proto enum", () => {
    expect(["info", "low", "medium", "high"].map((s) => eventSubtype(s as "info"))).toEqual([1, 2, 3, 4]);
    const S = umbra.core.v1.Severity;
    expect([S.SEVERITY_INFO, S.SEVERITY_LOW, S.SEVERITY_MEDIUM, S.SEVERITY_HIGH].map(eventSubtype)).toEqual([1, 2, 3, 4]);
    expect([1, 2, 3, 4].map(severityOfSubtype)).toEqual(["info", "low", "medium", "high"]);
    expect(severityOfSubtype(5)).toBeUndefined();
  });

  it("reports an unclassified severity as a low-severity anomaly", () => {
    expect(eventSubtype(umbra.core.v1.Severity.SEVERITY_UNSPECIFIED)).toBe(2);
    expect(eventSubtype(42)).toBe(2);
  });
});

describe("ST[05] event filter", () => {
  it("reports every event until disabled (5,6), and again once enabled (5,5)", () => {
    const f = new EventFilter({ lookup });
    expect(f.isEnabled("thermal", 1)).toBe(true);
    expect(f.disable([{ service: "thermal", eventId: 1 }, { service: "power", eventId: 7 }])).toEqual({ ok: true });
    expect(f.isEnabled("thermal", 1)).toBe(false);
    expect(f.isEnabled("thermal", 2)).toBe(true);
    expect(f.enable([{ service: "thermal", eventId: 1 }])).toEqual({ ok: true });
    expect(f.isEnabled("thermal", 1)).toBe(true);
    expect(f.isEnabled("power", 7)).toBe(false);
  });

  it("reports the disabled list (5,7 → 5,8) by service then id", () => {
    const f = new EventFilter({ lookup });
    f.disable([{ service: "thermal", eventId: 2 }, { service: "power", eventId: 7 }, { service: "thermal", eventId: 1 }, { service: "thermal", eventId: 2 }]);
    expect(f.disabled()).toEqual([
      { service: "power", eventId: 7 },
      { service: "thermal", eventId: 1 },
      { service: "thermal", eventId: 2 },
    ]);
  });

  it("refuses unknown events and malformed references without changing anything", () => {
    const f = new EventFilter({ lookup });
    expect(f.disable([{ service: "thermal", eventId: 1 }, { service: "thermal", eventId: 9 }])).toMatchObject({ ok: false, field: "events[1]" });
    expect(f.disable([{ service: "thermal", eventId: 70000 }])).toMatchObject({ ok: false, field: "events[0].eventId" });
    expect(f.disable([{ service: "", eventId: 1 }])).toMatchObject({ ok: false, field: "events[0].service" });
    expect(f.enable([])).toMatchObject({ ok: false, field: "events" });
    expect(f.disabled()).toEqual([]);
  });

  it("bounds how many events can be disabled", () => {
    const f = new EventFilter({ lookup, maxDisabled: 1 });
    expect(f.disable([{ service: "thermal", eventId: 1 }]).ok).toBe(true);
    expect(f.disable([{ service: "thermal", eventId: 1 }]).ok).toBe(true); // already disabled: no growth
    expect(f.disable([{ service: "thermal", eventId: 2 }])).toMatchObject({ ok: false, field: "events" });
  });
});

describe("ST[05] event report", () => {
  it("builds the subtype and app data from a bus event", () => {
    const Event = umbra.core.v1.Event;
    const e = Event.toObject(
      Event.fromObject({ service: "thermal", id: 2, name: "overTemp", severity: umbra.core.v1.Severity.SEVERITY_HIGH, message: "SoC at 97 °C", args: { zone: "soc", celsius: "97" } }),
      { defaults: true },
    ) as { service: string; id: number; severity: number; message: string; args: Record<string, string> };
    const r = eventReport(e);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.subtype).toBe(4);
    expect(r.value.truncated).toBe(false);
    expect(decodeEventReport(r.value.data)).toEqual({ ok: true, value: { service: "thermal", eventId: 2, message: "SoC at 97 °C", args: { celsius: "97", zone: "soc" } } });
    // Layout: service name, id, message (u16 length), then arguments in key order.
    const hex = Buffer.from(r.value.data).toString("hex");
    expect(hex.startsWith("07" + Buffer.from("thermal").toString("hex") + "0002" + "000d")).toBe(true);
    expect(hex.endsWith("02" + "07" + Buffer.from("celsius").toString("hex") + "02" + Buffer.from("97").toString("hex") + "04" + Buffer.from("zone").toString("hex") + "03" + Buffer.from("soc").toString("hex"))).toBe(true);
  });

  it("cuts what does not fit and says so, never throwing", () => {
    const args: Record<string, string> = { "": "empty key", ["k".repeat(65)]: "long key", bad: "\ud800", __proto__x: "v".repeat(300) };
    for (let i = 0; i < 40; i++) args[`a${String(i).padStart(2, "0")}`] = "x";
    const r = eventReport({ service: "jobs", id: 3, severity: "medium", message: "€".repeat(500), args });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.truncated).toBe(true);
    const back = decodeEventReport(r.value.data);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(Buffer.byteLength(back.value.message)).toBeLessThanOrEqual(MAX_EVENT_MESSAGE_BYTES);
    expect(back.value.message).toBe("€".repeat(341)); // 1023 bytes: a character is never split
    expect(Object.keys(back.value.args).length).toBe(MAX_EVENT_ARGS);
    expect(back.value.args[""]).toBeUndefined();
    expect(back.value.args.a00).toBe("x");
  });

  it("keeps a key named __proto__ as an ordinary argument", () => {
    const args = Object.fromEntries([["__proto__", "p"]]);
    const r = eventReport({ service: "jobs", id: 3, severity: "info", message: "", args });
    const back = r.ok ? decodeEventReport(r.value.data) : r;
    expect(back.ok && Object.getOwnPropertyDescriptor(back.value.args, "__proto__")?.value).toBe("p");
    expect(back.ok && Object.getPrototypeOf(back.value.args)).toBe(Object.prototype);
  });

  it("refuses an event it cannot identify", () => {
    expect(eventReport({ service: "bad name", id: 1, severity: "info", message: "" })).toMatchObject({ ok: false, field: "service" });
    expect(eventReport({ service: "jobs", id: 65536, severity: "info", message: "" })).toMatchObject({ ok: false, field: "id" });
    expect(eventReport({ service: "jobs", id: 1, severity: "info", message: "", args: null }).ok).toBe(true);
  });
});

describe("ST[19] event-action table", () => {
  const packet = (n: number) => Uint8Array.from([0x18, n, 0xc0, 0x00, 0x00, 0x01, 0xaa]);

  it("adds actions disabled (19,1); once enabled (19,4) an event yields its packet; disabled (19,5) it yields none", () => {
    const t = new EventActionTable({ lookup });
    expect(t.add([{ service: "thermal", eventId: 2, action: packet(1) }])).toEqual({ ok: true });
    expect(t.onEvent("thermal", 2)).toEqual([]);
    expect(t.enable([{ service: "thermal", eventId: 2 }])).toEqual({ ok: true });
    expect(t.onEvent("thermal", 2)).toEqual([packet(1)]);
    expect(t.onEvent("thermal", 1)).toEqual([]);
    expect(t.onEvent("power", 2)).toEqual([]);
    expect(t.disable([{ service: "thermal", eventId: 2 }])).toEqual({ ok: true });
    expect(t.onEvent("thermal", 2)).toEqual([]);
  });

  it("stores the packet as uplinked, unaffected by later changes to either buffer", () => {
    const t = new EventActionTable({ lookup });
    const p = Buffer.from(packet(1)); // a Buffer's slice() would share memory
    t.add([{ service: "thermal", eventId: 2, action: p }]);
    t.enable([{ service: "thermal", eventId: 2 }]);
    p[6] = 0;
    const out = t.onEvent("thermal", 2)[0]!;
    out[0] = 0;
    expect(t.onEvent("thermal", 2)).toEqual([packet(1)]);
    expect(t.definition("thermal", 2)).toEqual({ service: "thermal", eventId: 2, action: packet(1) });
  });

  it("refuses duplicates, unknown events, empty packets and packets the TTC's check refuses, all or nothing", () => {
    const t = new EventActionTable({ lookup, checkAction: (p) => (p[0] === 0x18 ? undefined : "not a TC packet") });
    t.add([{ service: "thermal", eventId: 2, action: packet(1) }]);
    expect(t.add([{ service: "thermal", eventId: 1, action: packet(1) }, { service: "thermal", eventId: 2, action: packet(2) }])).toMatchObject({ ok: false, field: "definitions[1]" });
    expect(t.add([{ service: "jobs", eventId: 3, action: packet(1) }, { service: "jobs", eventId: 3, action: packet(2) }])).toMatchObject({ ok: false, field: "definitions[1]" });
    expect(t.add([{ service: "jobs", eventId: 4, action: packet(1) }])).toMatchObject({ ok: false, field: "definitions[0]" });
    expect(t.add([{ service: "jobs", eventId: 3, action: new Uint8Array(0) }])).toMatchObject({ ok: false, field: "definitions[0].action" });
    expect(t.add([{ service: "jobs", eventId: 3, action: Uint8Array.from([1, 2]) }])).toEqual({ ok: false, field: "definitions[0].action", reason: "not a TC packet" });
    expect(t.size).toBe(1);
    expect(new EventActionTable({ lookup, maxDefinitions: 1 }).add([{ service: "jobs", eventId: 3, action: packet(1) }, { service: "power", eventId: 7, action: packet(1) }])).toMatchObject({ ok: false, field: "definitions" });
  });

  it("deletes (19,2) only disabled actions, all or nothing", () => {
    const t = new EventActionTable({ lookup });
    t.add([{ service: "thermal", eventId: 2, action: packet(1) }, { service: "power", eventId: 7, action: packet(2) }]);
    t.enable([{ service: "power", eventId: 7 }]);
    expect(t.delete([{ service: "thermal", eventId: 2 }, { service: "power", eventId: 7 }])).toMatchObject({ ok: false, field: "events[1]" });
    expect(t.delete([{ service: "jobs", eventId: 3 }])).toMatchObject({ ok: false, field: "events[0]" });
    expect(t.size).toBe(2);
    expect(t.delete([{ service: "thermal", eventId: 2 }])).toEqual({ ok: true });
    expect(t.definition("thermal", 2)).toBeUndefined();
    expect(t.enable([{ service: "thermal", eventId: 2 }])).toMatchObject({ ok: false, field: "events[0]" });
  });

  it("reports each definition's status (19,6 → 19,7), by service then id", () => {
    const t = new EventActionTable({ lookup });
    t.add([{ service: "thermal", eventId: 2, action: packet(1) }, { service: "power", eventId: 7, action: packet(2) }, { service: "thermal", eventId: 1, action: packet(3) }]);
    t.enable([{ service: "thermal", eventId: 1 }]);
    expect(t.report()).toEqual([
      { service: "power", eventId: 7, enabled: false },
      { service: "thermal", eventId: 1, enabled: true },
      { service: "thermal", eventId: 2, enabled: false },
    ]);
  });
});
