// The pure parts: argument checking and schemas from the bus's own message
// schemas, the stream's subscribe parser, time bounds, tokens, and the
// reserved counters behind anti-replay.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { codecByName } from "@umbra/proto";
import type { ArgumentRuleSpec } from "@umbra/core";
import { argumentSchema, checkArguments, loadProtoTypes, type ProtoTypes } from "../src/dictionary/index.js";
import { messageToJson } from "../src/dictionary/to-json.js";
import { parseSubscribe, wantsTelemetry } from "../src/stream.js";
import { parseTime } from "../src/time-params.js";
import { generateToken, hashToken, hashesEqual, looksLikeToken } from "../src/auth/tokens.js";
import { roleAtLeast } from "../src/auth/roles.js";
import { toJson } from "../src/json.js";
import { openGatewayDatabase } from "../src/db.js";
import { ReservedCounter } from "../src/reservations.js";
import { GatewayArms } from "../src/arms.js";

let types: ProtoTypes;
beforeAll(async () => {
  types = await loadProtoTypes();
});

const ADD: [string, ArgumentRuleSpec][] = [["amount", { min: 1, max: 100 }]];
const TENANT: [string, ArgumentRuleSpec][] = [
  ["tenant", { allowed: ["alpha", "beta"] }],
  ["quotaJoules", { min: 0, max: 1000 }],
];
const PING: [string, ArgumentRuleSpec][] = [["id", { nonZero: true }]];
const refusal = (r: ReturnType<typeof checkArguments>) => (r.ok ? "accepted" : r.message);

describe("checkArguments", () => {
  it("accepts arguments that fit, 64-bit integers as safe numbers or decimal strings", () => {
    const a = checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: 5 });
    expect(a.ok && a.decoded).toEqual({ amount: 5n });
    const b = checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: "100" });
    expect(b.ok && b.decoded).toEqual({ amount: 100n });
    const big = checkArguments(types, "umbra.bench.v1.Ping", PING, { id: "18446744073709551615", data: "AAEC" });
    expect(big.ok && big.decoded.id).toBe(2n ** 64n - 1n);
    expect(big.ok && [...(big.decoded.data as Uint8Array)]).toEqual([0, 1, 2]);
    // The encoded bytes are exactly what the message's own codec makes.
    expect(big.ok && Buffer.from(big.encoded).equals(Buffer.from(codecByName("umbra.bench.v1.Ping")!.encode({ id: 2n ** 64n - 1n, data: new Uint8Array([0, 1, 2]) } as never)))).toBe(true);
  });

  it("takes enums by name or number, doubles, bools and strings", () => {
    const r = checkArguments(types, "umbra.jobs.v1.SetTenant", TENANT, { tenant: "alpha", quotaJoules: 12.5, period: "QUOTA_PERIOD_DAY", rejectOverQuota: true });
    expect(r.ok && r.decoded).toMatchObject({ tenant: "alpha", quotaJoules: 12.5, period: 2, rejectOverQuota: true });
    const n = checkArguments(types, "umbra.jobs.v1.SetTenant", TENANT, { tenant: "beta", period: 1 });
    expect(n.ok && n.decoded).toMatchObject({ period: 1 });
  });

  it("refuses with the field named: unknown field, wrong type, range, allowed values, not zero, defaults", () => {
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: 5, extra: 1 }))).toMatch(/^args\.extra: unknown field/);
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: "five" }))).toMatch(/^args\.amount: expected an integer \(sint64\) as a decimal string/);
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: 1.5 }))).toMatch(/^args\.amount: expected an integer/);
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: 101 }))).toBe("args.amount: 101 is above the maximum 100");
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, { amount: 2 ** 60 }))).toMatch(/^args\.amount: \d+ is not a safe integer; give it as a decimal string/);
    // A missing field takes its default, which the rules see as the TTC will.
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, {}))).toBe("args.amount: 0 is below the minimum 1");
    expect(refusal(checkArguments(types, "umbra.jobs.v1.SetTenant", TENANT, { tenant: "gamma" }))).toBe('args.tenant: "gamma" is not one of alpha, beta');
    expect(refusal(checkArguments(types, "umbra.jobs.v1.SetTenant", TENANT, { tenant: "alpha", period: "WEEKLY" }))).toMatch(/^args\.period: "WEEKLY" is not one of QUOTA_PERIOD_UNSPECIFIED/);
    expect(refusal(checkArguments(types, "umbra.jobs.v1.SetTenant", TENANT, { tenant: "alpha", rejectOverQuota: "yes" }))).toMatch(/^args\.rejectOverQuota: expected true or false/);
    expect(refusal(checkArguments(types, "umbra.bench.v1.Ping", PING, { id: 0 }))).toBe("args.id: must not be 0");
    expect(refusal(checkArguments(types, "umbra.bench.v1.Ping", PING, { id: 1, data: "not base64!" }))).toMatch(/^args\.data: expected bytes as a base64 string/);
    expect(refusal(checkArguments(types, "umbra.ttc.v1.ArmCommand", [], { apid: 2 ** 32 }))).toMatch(/^args\.apid: 4294967296 is out of range for uint32/);
    expect(refusal(checkArguments(types, "umbra.examples.v1.CounterAdd", ADD, [1, 2]))).toMatch(/^args: expected an object/);
  });

  it("names nested fields, array items and oneofs by their path", () => {
    expect(refusal(checkArguments(types, "umbra.ttc.v1.ContactSchedule", [], { windows: [{ startNs: 1 }, { startNs: -1 }] }))).toMatch(/^args\.windows\[1\]\.startNs: -1 is out of range for uint64/);
    expect(refusal(checkArguments(types, "umbra.ttc.v1.ContactSchedule", [], { windows: [{ station: 5 }] }))).toMatch(/^args\.windows\[0\]\.station: expected a string/);
    expect(refusal(checkArguments(types, "umbra.ttc.v1.ContactSchedule", [], { windows: {} }))).toMatch(/^args\.windows: expected an array/);
    expect(refusal(checkArguments(types, "umbra.core.v1.TelemetryReport", [], { samples: [{ name: "x", value: { intValue: 1, floatValue: 2 } }] }))).toMatch(
      /^args\.samples\[0\]\.value\.floatValue: only one of intValue and floatValue may be set/,
    );
    expect(refusal(checkArguments(types, "umbra.core.v1.Event", [], { args: { a: 1 } }))).toMatch(/^args\.args\["a"\]: expected a string/);
  });

  it("an unknown message type is a refusal, not a crash", () => {
    expect(refusal(checkArguments(types, "umbra.nope.v1.Missing", [], {}))).toMatch(/^args: has an unknown message type/);
  });

  const argumentTypes: [string, [string, ArgumentRuleSpec][]][] = [
    ["umbra.examples.v1.CounterAdd", ADD],
    ["umbra.jobs.v1.SetTenant", TENANT],
    ["umbra.bench.v1.Ping", PING],
    ["umbra.ttc.v1.ContactSchedule", []],
    ["umbra.core.v1.TelemetryReport", []],
    ["umbra.jobs.v1.SubmitJob", []],
  ];

  it("property: any JSON value gives a result, never an exception; a refusal always names a field under args", () => {
    fc.assert(
      fc.property(fc.constantFrom(...argumentTypes), fc.jsonValue({ maxDepth: 5 }), ([type, rules], json) => {
        const r = checkArguments(types, type, rules, json);
        if (!r.ok) expect(r.message).toMatch(/^args(\.|\[|:)/);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: objects with the message's own field names and random values never throw, and whatever is accepted encodes and meets the rules", () => {
    const fieldsOf = (type: string) => [...types.message(type)!.fields.keys()];
    const arb = fc.constantFrom(...argumentTypes).chain(([type, rules]) =>
      fc
        .dictionary(fc.constantFrom(...fieldsOf(type), "bogus"), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.constantFrom("alpha", "beta", "QUOTA_PERIOD_DAY")), { maxKeys: 6 })
        .map((args) => ({ type, rules, args })),
    );
    fc.assert(
      fc.property(arb, ({ type, rules, args }) => {
        const r = checkArguments(types, type, rules, args);
        if (r.ok) {
          expect(codecByName(type)!.decode(r.encoded)).toEqual(r.decoded);
        } else {
          expect(r.message).toMatch(/^args(\.|\[|:)/);
          expect(r.message.length).toBeLessThan(400);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("argument JSON Schemas", () => {
  it("carry the field types and the declared rules", () => {
    const add = argumentSchema(types, "umbra.examples.v1.CounterAdd", ADD) as any;
    expect(add).toMatchObject({ type: "object", title: "umbra.examples.v1.CounterAdd", additionalProperties: false });
    expect(add.properties.amount.anyOf[0]).toMatchObject({ type: "integer", minimum: 1, maximum: 100 });
    expect(add.properties.amount).toMatchObject({ format: "sint64", "x-minimum": 1, "x-maximum": 100 });
    const tenant = argumentSchema(types, "umbra.jobs.v1.SetTenant", TENANT) as any;
    expect(tenant.properties.tenant).toEqual({ type: "string", enum: ["alpha", "beta"] });
    expect(tenant.properties.quotaJoules).toMatchObject({ type: "number", minimum: 0, maximum: 1000 });
    expect(tenant.properties.period.anyOf[0].enum).toContain("QUOTA_PERIOD_DAY");
    const arm = argumentSchema(types, "umbra.ttc.v1.ArmCommand", [["apid", { min: 0, max: 2046 }]]) as any;
    expect(arm.properties.apid).toMatchObject({ type: "integer", format: "uint32", minimum: 0, maximum: 2046 });
    const ping = argumentSchema(types, "umbra.bench.v1.Ping", PING) as any;
    expect(ping.properties.id["x-nonZero"]).toBe(true);
    expect(ping.properties.data).toMatchObject({ type: "string", contentEncoding: "base64" });
    const contacts = argumentSchema(types, "umbra.ttc.v1.ContactSchedule", []) as any;
    expect(contacts.properties.windows.items.properties.station).toEqual({ type: "string" });
    const event = argumentSchema(types, "umbra.core.v1.Event", []) as any;
    expect(event.properties.args).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
  });

  it("bus replies become JSON: 64-bit as strings, enums by name, bytes as base64", () => {
    expect(
      messageToJson(types, "umbra.jobs.v1.JobList", { jobs: [{ jobId: "j1", state: 5, inferences: 2n ** 63n, energyJ: 1.5 }] }),
    ).toEqual({ jobs: [{ jobId: "j1", state: "JOB_STATE_DONE", inferences: "9223372036854775808", energyJ: 1.5 }] });
    expect(messageToJson(types, "umbra.bench.v1.Ping", { id: 1n, data: new Uint8Array([1, 2, 3]) })).toEqual({ id: "1", data: "AQID" });
  });
});

describe("stream subscriptions", () => {
  it("parses patterns and flags, and refuses bad ones naming the field", () => {
    const r = parseSubscribe(JSON.stringify({ type: "subscribe", telemetry: ["probe.level", "ttc.*"], events: true }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(wantsTelemetry(r.subscription, "probe", "level")).toBe(true);
    expect(wantsTelemetry(r.subscription, "probe", "note")).toBe(false);
    expect(wantsTelemetry(r.subscription, "ttc", "received")).toBe(true);
    expect(r.subscription.events).toBe(true);
    expect(r.subscription.verifications).toBe(false);
    const all = parseSubscribe('{"type":"subscribe","telemetry":["*"]}');
    expect(all.ok && wantsTelemetry(all.subscription, "any", "thing")).toBe(true);
    expect(parseSubscribe("{nope")).toMatchObject({ ok: false, message: expect.stringMatching(/^not JSON/) });
    expect(parseSubscribe('{"type":"unsubscribe"}')).toMatchObject({ ok: false, message: expect.stringMatching(/^type:/) });
    expect(parseSubscribe('{"type":"subscribe","telemetry":"probe.level"}')).toMatchObject({ ok: false, message: expect.stringMatching(/^telemetry:/) });
    expect(parseSubscribe('{"type":"subscribe","telemetry":["probe"]}')).toMatchObject({ ok: false, message: expect.stringMatching(/^telemetry\[0\]:/) });
    expect(parseSubscribe('{"type":"subscribe","events":"yes"}')).toMatchObject({ ok: false, message: expect.stringMatching(/^events:/) });
    expect(parseSubscribe('{"type":"subscribe","colour":1}')).toMatchObject({ ok: false, message: expect.stringMatching(/^colour: unknown field/) });
  });

  it("property: any text is parsed or refused, never thrown", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.record({ type: fc.constant("subscribe"), telemetry: fc.jsonValue() }).map((v) => JSON.stringify(v))), (text) => {
        const r = parseSubscribe(text);
        if (!r.ok) expect(typeof r.message).toBe("string");
      }),
      { numRuns: 1000 },
    );
  });
});

describe("time bounds", () => {
  it("takes ISO 8601 or TAI ns, refuses the rest", () => {
    expect(parseTime("from", "2026-06-01T00:00:00Z")).toEqual({ ok: true, ns: BigInt(Date.UTC(2026, 5, 1) - Date.UTC(1958, 0, 1)) * 1_000_000n + 37_000_000_000n });
    expect(parseTime("from", "123456789")).toEqual({ ok: true, ns: 123456789n });
    expect(parseTime("to", "yesterday")).toMatchObject({ ok: false, message: expect.stringMatching(/^to: expected an ISO 8601 time/) });
    expect(parseTime("to", "99999999999999999999999")).toMatchObject({ ok: false });
  });
});

describe("tokens, roles, arms", () => {
  it("tokens are umb_ + 43 base64url characters; only their SHA-256 is kept; comparison is exact", () => {
    const t = generateToken();
    expect(t).toMatch(/^umb_[A-Za-z0-9_-]{43}$/);
    expect(looksLikeToken(t)).toBe(true);
    expect(looksLikeToken(t + "x")).toBe(false);
    expect(generateToken()).not.toBe(t);
    expect(hashToken(t)).toHaveLength(32);
    // SHA-256 of the token's UTF-8 text: what gateway.db holds for tokens issued before.
    expect(hashToken("umb_" + "A".repeat(43)).toString("hex")).toBe(createHash("sha256").update("umb_" + "A".repeat(43), "utf8").digest("hex"));
    expect(hashesEqual(hashToken(t), hashToken(t))).toBe(true);
    expect(hashesEqual(hashToken(t), hashToken(generateToken()))).toBe(false);
    expect(hashesEqual(hashToken(t), new Uint8Array(31))).toBe(false);
  });

  it("answers are JSON; a stray bigint is written as a decimal string, other refusals still throw", () => {
    expect(toJson({ a: 1, b: "x", c: [true, null] })).toBe('{"a":1,"b":"x","c":[true,null]}');
    expect(toJson({ missionTimeNs: 1858000000123456789n, nested: [{ n: -5n }] })).toBe('{"missionTimeNs":"1858000000123456789","nested":[{"n":"-5"}]}');
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    expect(() => toJson(cyclic)).toThrow(TypeError);
  });

  it("roles are ordered viewer < operator < admin", () => {
    expect(roleAtLeast("viewer", "operator")).toBe(false);
    expect(roleAtLeast("operator", "operator")).toBe(true);
    expect(roleAtLeast("admin", "viewer")).toBe(true);
    expect(roleAtLeast("operator", "admin")).toBe(false);
  });

  it("an arm is good for one execution within its window", () => {
    const arms = new GatewayArms();
    expect(arms.consume("probe", "reset", 0)).toEqual({ ok: false, reason: "not armed" });
    arms.set({ service: "probe", command: "reset", untilMs: 1000, armedUntil: "", armedBy: "olga", armCommandId: 1 });
    expect(arms.consume("probe", "reset", 999).ok).toBe(true);
    expect(arms.consume("probe", "reset", 999)).toEqual({ ok: false, reason: "not armed" });
    arms.set({ service: "probe", command: "reset", untilMs: 1000, armedUntil: "", armedBy: "olga", armCommandId: 2 });
    expect(arms.consume("probe", "reset", 1001)).toEqual({ ok: false, reason: "arm expired" });
  });
});

describe("reserved counters", () => {
  it("never repeat a number across reopenings, and write once per block", () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-gw-res-"));
    try {
      const path = join(dir, "gateway.db");
      let db = openGatewayDatabase(path);
      const seen = new Set<number>();
      let c = new ReservedCounter(db, "x", 10, 1);
      for (let i = 0; i < 25; i++) seen.add(c.take());
      expect([...seen]).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      // 3 blocks reserved: 1..30. A restart resumes after the reservation.
      db.close();
      db = openGatewayDatabase(path);
      c = new ReservedCounter(db, "x", 10, 1);
      expect(c.take()).toBe(31);
      const next = new ReservedCounter(db, "y", 4, 0, 5);
      expect([next.take(), next.take(), next.take(), next.take(), next.take(), next.take()]).toEqual([0, 1, 2, 3, 4, 5]);
      expect(() => next.take()).toThrow(/exhausted/);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
