// Every request and report codec of ST[03], ST[05], ST[12] and ST[19]:
// decode(encode(x)) == x; encode(decode(b)) == b whenever decode accepts b
// (one encoding per value); decoders never throw and name the bad field.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { CucFormat } from "@umbra/ccsds";
import {
  decodeCreateStructure,
  decodeEventActionStatus,
  decodeEventActions,
  decodeEventRefs,
  decodeEventReport,
  decodeHousekeepingReport,
  decodeIntervalChanges,
  decodeMonitoringDefinitionReport,
  decodeMonitoringDefinitions,
  decodePmonIds,
  decodeSids,
  decodeStructureDefinitions,
  decodeTransitionReport,
  encodeCreateStructure,
  encodeEventActionStatus,
  encodeEventActions,
  encodeEventRefs,
  encodeEventReport,
  encodeHousekeepingReport,
  encodeIntervalChanges,
  encodeMonitoringDefinitionReport,
  encodeMonitoringDefinitions,
  encodePmonIds,
  encodeSids,
  encodeStructureDefinitions,
  encodeTransitionReport,
  CHECKING_STATUSES,
  type HousekeepingStructure,
  type MonitoringCheck,
  type MonitoringDefinition,
  type Parsed,
  type TransitionRecord,
} from "../../src/telemetry/index.js";
import { bytes, int64, maybeValue, paramName, prefixes, serviceName, shortString, u16, value } from "./support.js";

const parameterRef = fc.record({ service: serviceName, name: paramName });
const structure: fc.Arbitrary<HousekeepingStructure> = fc.record({
  sid: u16,
  collectionIntervalMs: fc.integer({ min: 0, max: 0xffffffff }),
  enabled: fc.boolean(),
  parameters: fc.array(parameterRef, { maxLength: 8 }),
});
const threshold = fc.double(); // the codec carries any float64, NaN and infinities included; the table judges them
const limitCheck = fc.record(
  { kind: fc.constant("limit" as const), lowRed: threshold, lowYellow: threshold, highYellow: threshold, highRed: threshold },
  { requiredKeys: ["kind"] },
);
const deltaCheck = fc.record({ kind: fc.constant("delta" as const), lowThreshold: threshold, highThreshold: threshold }, { requiredKeys: ["kind"] });
const expectedCheck = fc.oneof(
  fc.record({ kind: fc.constant("expected" as const), value }),
  fc.record({ kind: fc.constant("expected" as const), value: int64, mask: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
);
const check: fc.Arbitrary<MonitoringCheck> = fc.oneof(limitCheck, deltaCheck, expectedCheck);
const definition: fc.Arbitrary<MonitoringDefinition> = fc.record({ pmonId: u16, service: serviceName, name: paramName, repetition: fc.integer({ min: 0, max: 255 }), check });
const eventRef = fc.record({ service: serviceName, eventId: u16 });
const argKey = fc.string({ unit: "binary", minLength: 1, maxLength: 16 });
const eventReportData = fc.record({
  service: serviceName,
  eventId: u16,
  message: fc.string({ unit: "binary", maxLength: 256 }),
  args: fc.dictionary(argKey, shortString, { maxKeys: 32 }),
});
const cucFormat: fc.Arbitrary<CucFormat | undefined> = fc.constantFrom(undefined, { coarseOctets: 4, fineOctets: 3, pField: true }, { coarseOctets: 2, fineOctets: 0 });
const status = fc.constantFrom(...CHECKING_STATUSES);
const transition = (format: CucFormat | undefined): fc.Arbitrary<TransitionRecord> =>
  fc.record({
    pmonId: u16,
    service: serviceName,
    name: paramName,
    checkType: fc.constantFrom("limit" as const, "expected" as const, "delta" as const),
    value: maybeValue,
    limit: maybeValue,
    previous: status,
    current: status,
    time: fc.record({
      coarse: fc.integer({ min: 0, max: 2 ** (8 * (format?.coarseOctets ?? 4)) - 1 }),
      fine: fc.integer({ min: 0, max: 2 ** (8 * (format?.fineOctets ?? 2)) - 1 }),
    }),
  });
const actionDef = fc.record({ service: serviceName, eventId: u16, action: fc.uint8Array({ minLength: 1, maxLength: 64 }) });
const actionStatus = fc.record({ service: serviceName, eventId: u16, enabled: fc.boolean() });

interface Codec<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode(v: T): Uint8Array;
  decode(b: Uint8Array): Parsed<T>;
  /** Whether every strict prefix of an encoding is refused (false where the layout runs to the end of the data). */
  counted: boolean;
}

const codec = <T>(c: Codec<T>): Codec<unknown> => c as Codec<unknown>;

const CODECS: Codec<unknown>[] = [
  codec({ name: "(3,1) create structure", arb: structure, encode: encodeCreateStructure, decode: decodeCreateStructure, counted: true }),
  codec({ name: "(3,10) structure definitions", arb: fc.array(structure, { maxLength: 4 }), encode: encodeStructureDefinitions, decode: decodeStructureDefinitions, counted: true }),
  codec({ name: "(3,3/5/6/9/27) SIDs", arb: fc.array(u16, { maxLength: 20 }), encode: encodeSids, decode: decodeSids, counted: true }),
  codec({
    name: "(3,31) interval changes",
    arb: fc.array(fc.record({ sid: u16, collectionIntervalMs: fc.integer({ min: 0, max: 0xffffffff }) }), { maxLength: 10 }),
    encode: encodeIntervalChanges,
    decode: decodeIntervalChanges,
    counted: true,
  }),
  codec({
    name: "(3,25) housekeeping report",
    arb: fc.record({ sid: u16, values: fc.array(maybeValue, { minLength: 1, maxLength: 10 }) }),
    encode: encodeHousekeepingReport,
    decode: decodeHousekeepingReport,
    counted: false,
  }),
  codec({ name: "(5,5/6/8) event references", arb: fc.array(eventRef, { maxLength: 10 }), encode: encodeEventRefs, decode: decodeEventRefs, counted: true }),
  codec({ name: "(5,1..4) event report", arb: eventReportData, encode: encodeEventReport, decode: decodeEventReport, counted: true }),
  codec({ name: "(12,5/7) monitoring definitions", arb: fc.array(definition, { maxLength: 5 }), encode: encodeMonitoringDefinitions, decode: decodeMonitoringDefinitions, counted: true }),
  codec({
    name: "(12,9) monitoring definition report",
    arb: fc.array(fc.record({ enabled: fc.boolean(), definition }), { maxLength: 5 }),
    encode: encodeMonitoringDefinitionReport,
    decode: decodeMonitoringDefinitionReport,
    counted: true,
  }),
  codec({ name: "(12,1/2/6/8) PMON ids", arb: fc.array(u16, { maxLength: 20 }), encode: encodePmonIds, decode: decodePmonIds, counted: true }),
  codec({ name: "(19,1) event actions", arb: fc.array(actionDef, { maxLength: 5 }), encode: encodeEventActions, decode: decodeEventActions, counted: true }),
  codec({ name: "(19,7) event-action status", arb: fc.array(actionStatus, { maxLength: 10 }), encode: encodeEventActionStatus, decode: decodeEventActionStatus, counted: true }),
];

describe.each(CODECS)("$name", (c) => {
  it("decodes what it encodes, exactly", () => {
    fc.assert(
      fc.property(c.arb, (v) => {
        expect(c.decode(c.encode(v))).toEqual({ ok: true, value: v });
      }),
    );
  });

  it("never throws on arbitrary bytes; what it accepts re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const r = c.decode(b);
        if (r.ok) expect(Buffer.from(c.encode(r.value)).equals(Buffer.from(b))).toBe(true);
        else expect(r.field.length > 0 && r.reason.length > 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on a valid encoding with a byte changed, added or removed", () => {
    fc.assert(
      fc.property(c.arb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete"), (v, at, byte, how) => {
        const good = Array.from(c.encode(v));
        const i = at % (good.length + 1);
        if (how === "set" && i < good.length) good[i] = byte;
        else if (how === "insert") good.splice(i, 0, byte);
        else good.splice(i, 1);
        const b = Uint8Array.from(good);
        const r = c.decode(b);
        if (r.ok) expect(Buffer.from(c.encode(r.value)).equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses trailing bytes", () => {
    fc.assert(
      fc.property(c.arb, (v) => {
        const b = Buffer.concat([c.encode(v), Buffer.from([0])]);
        const r = c.decode(b);
        // A report whose values run to the end reads a trailing 0 as one more "no sample" value.
        if (c.counted) expect(r.ok).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  if (c.counted) {
    it("refuses every truncation", () => {
      fc.assert(
        fc.property(c.arb, (v) => {
          for (const p of prefixes(c.encode(v))) expect(c.decode(p).ok).toBe(false);
        }),
        { numRuns: 30 },
      );
    });
  }
});

describe("(12,12) check transition report", () => {
  it("decodes what it encodes, in any CUC format, exactly", () => {
    fc.assert(
      fc.property(
        cucFormat.chain((f) => fc.tuple(fc.constant(f), fc.array(transition(f), { maxLength: 4 }))),
        ([format, records]) => {
          expect(decodeTransitionReport(encodeTransitionReport(records, format), format)).toEqual({ ok: true, value: records });
        },
      ),
    );
  });

  it("never throws on arbitrary or damaged bytes; what it accepts re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(cucFormat, bytes, (format, b) => {
        const r = decodeTransitionReport(b, format);
        if (r.ok) expect(Buffer.from(encodeTransitionReport(r.value, format)).equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(transition(undefined), { minLength: 1, maxLength: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (records, at, byte) => {
        const b = Uint8Array.from(encodeTransitionReport(records));
        b[at % b.length] = byte;
        const r = decodeTransitionReport(b);
        if (r.ok) expect(Buffer.from(encodeTransitionReport(r.value)).equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses every truncation", () => {
    const b = encodeTransitionReport([
      { pmonId: 1, service: "thermal", name: "socTemp", checkType: "limit", value: 99, limit: 95, previous: "within-limits", current: "above-high-red", time: { coarse: 2_000_000_000, fine: 7 } },
    ]);
    for (const p of prefixes(b)) expect(decodeTransitionReport(p).ok).toBe(false);
  });
});

describe("malformed input names the field", () => {
  const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");
  it.each<[string, Parsed<unknown>, string]>([
    ["(3,1) empty", decodeCreateStructure(hex("")), "sid"],
    ["(3,1) no interval", decodeCreateStructure(hex("0001 0000")), "collectionIntervalMs"],
    ["(3,1) status 2", decodeCreateStructure(hex("0001 000003e8 02 00")), "enabled"],
    ["(3,1) no parameter count", decodeCreateStructure(hex("0001 000003e8 01")), "parameters.count"],
    ["(3,1) service name of length 0", decodeCreateStructure(hex("0001 000003e8 01 01 00")), "parameters[0].service"],
    ["(3,1) parameter name not a name", decodeCreateStructure(hex("0001 000003e8 01 01 01 61 02 3161")), "parameters[0].name"],
    ["(3,1) count larger than the list", decodeCreateStructure(hex("0001 000003e8 01 02 01 61 01 62")), "parameters[1].service"],
    ["(3,1) bytes after the list", decodeCreateStructure(hex("0001 000003e8 01 01 01 61 01 62 ff")), "parameters"],
    ["SIDs: count but no ids", decodeSids(hex("0002 0001")), "sids"],
    ["SIDs: nothing", decodeSids(hex("")), "sids.count"],
    ["(3,31) short", decodeIntervalChanges(hex("0001 0001 0000")), "changes"],
    ["(3,25) no SID", decodeHousekeepingReport(hex("00")), "sid"],
    ["(3,25) no values", decodeHousekeepingReport(hex("0001")), "values"],
    ["(3,25) unknown type", decodeHousekeepingReport(hex("0001 09")), "values[0]"],
    ["(3,25) bool 2", decodeHousekeepingReport(hex("0001 00 0102")), "values[1]"],
    ["(3,25) short int", decodeHousekeepingReport(hex("0001 02 0000")), "values[0]"],
    ["(3,25) non-canonical NaN", decodeHousekeepingReport(hex("0001 03 7ff8000000000001")), "values[0]"],
    ["(3,25) invalid UTF-8", decodeHousekeepingReport(hex("0001 04 02 c328")), "values[0]"],
    ["(3,25) string past the end", decodeHousekeepingReport(hex("0001 04 05 6162")), "values[0]"],
    ["(5,5) service name with a space", decodeEventRefs(hex("0001 03 612062 0001")), "events[0].service"],
    ["(5,5) no event id", decodeEventRefs(hex("0001 01 61 00")), "events[0].eventId"],
    ["(5,x) no message", decodeEventReport(hex("01 61 0001")), "message"],
    ["(5,x) message too long", decodeEventReport(hex("01 61 0001 0401")), "message"],
    ["(5,x) no argument count", decodeEventReport(hex("01 61 0001 0000")), "args.count"],
    ["(5,x) too many arguments", decodeEventReport(hex("01 61 0001 0000 21")), "args.count"],
    ["(5,x) empty key", decodeEventReport(hex("01 61 0001 0000 01 00")), "args[0].key"],
    ["(5,x) keys out of order", decodeEventReport(hex("01 61 0001 0000 02 01 62 00 01 61 00")), "args[1].key"],
    ["(5,x) repeated key", decodeEventReport(hex("01 61 0001 0000 02 01 61 00 01 61 00")), "args[1].key"],
    ["(5,x) value past the end", decodeEventReport(hex("01 61 0001 0000 01 01 61 05 00")), "args[0].value"],
    ["(12,5) unknown check type", decodeMonitoringDefinitions(hex("0001 0001 01 61 01 62 01 07")), "definitions[0].check.kind"],
    ["(12,5) reserved presence bits", decodeMonitoringDefinitions(hex("0001 0001 01 61 01 62 01 01 10")), "definitions[0].check.presence"],
    ["(12,5) threshold past the end", decodeMonitoringDefinitions(hex("0001 0001 01 61 01 62 01 03 01 0000")), "definitions[0].check.lowThreshold"],
    ["(12,5) expected value of type 0", decodeMonitoringDefinitions(hex("0001 0001 01 61 01 62 01 02 00 00")), "definitions[0].check.value"],
    ["(12,5) mask flag 2", decodeMonitoringDefinitions(hex("0001 0001 01 61 01 62 01 02 0101 02")), "definitions[0].check.mask"],
    ["(12,5) no repetition", decodeMonitoringDefinitions(hex("0001 0001 01 61 01 62")), "definitions[0].repetition"],
    ["(12,9) status 3", decodeMonitoringDefinitionReport(hex("0001 03")), "definitions[0].enabled"],
    ["(12,12) unknown status", decodeTransitionReport(hex("0001 0001 01 61 01 62 01 00 00 00 0c")), "transitions[0].current"],
    ["(12,12) check type 0", decodeTransitionReport(hex("0001 0001 01 61 01 62 00")), "transitions[0].checkType"],
    ["(12,12) time past the end", decodeTransitionReport(hex("0001 0001 01 61 01 62 01 00 00 00 02 0000")), "transitions[0].time"],
    ["(19,1) empty packet", decodeEventActions(hex("0001 01 61 0001 0000")), "definitions[0].action"],
    ["(19,1) packet past the end", decodeEventActions(hex("0001 01 61 0001 0004 1800")), "definitions[0].action"],
    ["(19,7) status 2", decodeEventActionStatus(hex("0001 01 61 0001 02")), "definitions[0].enabled"],
  ])("%s", (_, r, field) => {
    expect(r).toMatchObject({ ok: false, field });
  });
});

describe("encoders refuse what the layout cannot hold, naming the field", () => {
  it.each<[string, () => unknown, RegExp]>([
    ["a SID beyond u16", () => encodeSids([65536]), /sids\[0\]/],
    ["a parameter name that is not a name", () => encodeCreateStructure({ sid: 1, collectionIntervalMs: 1000, enabled: true, parameters: [{ service: "a", name: "1x" }] }), /parameters\[0\]\.name/],
    ["more than 255 parameters", () => encodeCreateStructure({ sid: 1, collectionIntervalMs: 1000, enabled: true, parameters: Array(256).fill({ service: "a", name: "b" }) }), /parameters\.count/],
    ["an empty report", () => encodeHousekeepingReport({ sid: 1, values: [] }), /values/],
    ["an integer beyond int64", () => encodeHousekeepingReport({ sid: 1, values: [1n << 63n] }), /values\[0\]/],
    ["a string over 255 bytes", () => encodeHousekeepingReport({ sid: 1, values: ["x".repeat(256)] }), /values\[0\]/],
    ["a lone surrogate", () => encodeHousekeepingReport({ sid: 1, values: ["\ud800"] }), /values\[0\]/],
    ["an event message over 1024 bytes", () => encodeEventReport({ service: "a", eventId: 1, message: "x".repeat(1025), args: {} }), /message/],
    ["an empty argument key", () => encodeEventReport({ service: "a", eventId: 1, message: "", args: { "": "x" } }), /args/],
    ["repetition beyond u8", () => encodeMonitoringDefinitions([{ pmonId: 1, service: "a", name: "b", repetition: 256, check: { kind: "limit", highRed: 1 } }]), /definitions\[0\]\.repetition/],
    ["a mask beyond u64", () => encodeMonitoringDefinitions([{ pmonId: 1, service: "a", name: "b", repetition: 1, check: { kind: "expected", value: 1n, mask: -1n } }]), /check\.mask/],
    ["an empty action", () => encodeEventActions([{ service: "a", eventId: 1, action: new Uint8Array(0) }]), /action/],
    ["an unknown checking status", () => encodeTransitionReport([{ pmonId: 1, service: "a", name: "b", checkType: "limit", value: 1, limit: 1, previous: "hot" as never, current: "invalid", time: { coarse: 0, fine: 0 } }]), /previous/],
  ])("%s", (_, f, message) => {
    expect(f).toThrow(RangeError);
    expect(f).toThrow(message);
  });
});
