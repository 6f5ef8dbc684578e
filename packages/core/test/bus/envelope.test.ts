import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { umbra } from "@umbra/proto";
import { decodeEnvelope, encodeEnvelope, Kind, type Envelope } from "../../src/bus/envelope.js";
import type { Priority } from "../../src/bus/priority.js";
import { decodeWireEnvelope, encodeWireEnvelope, MAX_BATCH_MESSAGES, WireError, type DecodedWireEnvelope } from "../../src/bus/envelope-wire.js";

const topics = ["umbra.core.v1.Heartbeat", "umbra.bench.v1.Ping", "umbra.bus.v1.Hello"];
const node = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/);
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({
  topic: fc.constantFrom(...topics),
  source: node,
  sequence: u64,
  missionTimeNs: u64,
  priority: fc.integer({ min: 0, max: 3 }).map((p) => p as Priority),
  kind: fc.constantFrom(Kind.KIND_PUBLISH, Kind.KIND_CONTROL),
  payload: fc.uint8Array({ maxLength: 100 }),
  correlationId: u64,
  replyTo: fc.oneof(fc.constant(""), node),
  target: fc.string({ maxLength: 20 }),
  error: fc.string({ maxLength: 20 }),
  batch: fc.constant(undefined),
});

/** A decoded batch as the list the generated codec gives (payloads in hex). */
function moreOf(e: DecodedWireEnvelope): { payload: string; timeDeltaNs: bigint }[] {
  const b = e.batch;
  if (!b) return [];
  return Array.from({ length: b.count }, (_, i) => ({ payload: b.payload(i).toString("hex"), timeDeltaNs: BigInt(b.timeDeltasNs[i]!) }));
}

describe("envelope codec", () => {
  it("property: decode(encode(e)) == e, 64-bit fields exact", () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const back = decodeEnvelope(encodeEnvelope(env));
        expect(back.ok).toBe(true);
        if (back.ok) expect({ ...back.envelope, payload: Buffer.from(back.envelope.payload) }).toEqual({ ...env, payload: Buffer.from(env.payload) });
      }),
    );
  });

  it("property: arbitrary bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = decodeEnvelope(bytes);
        if (!r.ok) expect(r.problem.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  const base: Envelope = {
    topic: "umbra.core.v1.Heartbeat",
    source: "a",
    sequence: 1n,
    missionTimeNs: 2n ** 63n + 5n,
    priority: 1 as Priority,
    kind: Kind.KIND_PUBLISH,
    payload: new Uint8Array([1]),
    correlationId: 0n,
    replyTo: "",
    target: "",
    error: "",
    batch: undefined,
  };
  const problem = (e: Partial<Envelope>) => {
    const r = decodeEnvelope(encodeEnvelope({ ...base, ...e }));
    return r.ok ? undefined : r.problem;
  };

  it("names the field of each malformed envelope", () => {
    expect(problem({ topic: "" })).toEqual({ kind: "malformed", reason: "topic: empty" });
    expect(problem({ topic: "x".repeat(201) })?.reason).toMatch(/^topic: longer/);
    expect(problem({ source: "" })?.reason).toMatch(/^source:/);
    expect(problem({ source: "bad name" })?.reason).toMatch(/^source:/);
    expect(problem({ priority: 9 as Priority })?.reason).toMatch(/^priority: 9/);
    expect(problem({ kind: 7 as Kind })?.reason).toMatch(/^kind: 7/);
    expect(problem({ kind: Kind.KIND_REQUEST })?.reason).toMatch(/^reply_to:/);
    expect(problem({ kind: Kind.KIND_REPLY })?.reason).toMatch(/inbox/);
    expect(problem({ target: "t".repeat(65) })?.reason).toMatch(/^target:/);
  });

  it("classes a topic that names no known message type as unknown-type", () => {
    expect(problem({ topic: "evil.Type" })).toEqual({ kind: "unknown-type", reason: 'topic: "evil.Type" is not a known message type' });
    expect(problem({ topic: "umbra.core.v1.Nope", kind: Kind.KIND_REQUEST, replyTo: "x" })?.kind).toBe("unknown-type");
  });

  it("accepts a reply on an inbox topic", () => {
    expect(problem({ topic: "@node-1", kind: Kind.KIND_REPLY })).toBeUndefined();
  });

  it("keeps full 64-bit mission time through the wire", () => {
    const r = decodeEnvelope(encodeEnvelope({ ...base, missionTimeNs: 2n ** 64n - 1n }));
    expect(r.ok && r.envelope.missionTimeNs).toBe(2n ** 64n - 1n);
    // and the payload of a known type decodes as that type
    const hb = umbra.core.v1.Heartbeat.decode(umbra.core.v1.Heartbeat.encode({ service: "x" }).finish());
    expect(hb.service).toBe("x");
  });
});

describe("hand-written envelope wire codec against the generated one", () => {
  const Generated = umbra.bus.v1.Envelope;
  const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  // topic, source and reply_to are ASCII by the envelope rules (and decoded as such);
  // target and error may carry any Unicode.
  const arb = fc.record({
    topic: fc.string({ maxLength: 40, unit: "binary-ascii" }),
    source: fc.string({ maxLength: 20, unit: "binary-ascii" }),
    sequence: u64,
    missionTimeNs: u64,
    priority: fc.integer({ min: 0, max: 3 }),
    kind: fc.integer({ min: 0, max: 3 }),
    payload: fc.uint8Array({ maxLength: 300 }),
    correlationId: u64,
    replyTo: fc.string({ maxLength: 20, unit: "binary-ascii" }),
    target: fc.string({ maxLength: 20, unit: "binary" }),
    error: fc.string({ maxLength: 20, unit: "binary" }),
    more: fc.array(fc.record({ payload: fc.uint8Array({ maxLength: 40 }), timeDeltaNs: fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n - 1n }) }), { maxLength: 6 }),
  });
  const viaGenerated = (bytes: Uint8Array) => {
    const o = Generated.toObject(Generated.decode(bytes), { longs: BigInt, defaults: true }) as Record<string, unknown>;
    const more = (o["more"] as { payload: Uint8Array; timeDeltaNs: bigint }[]).map((m) => ({ payload: Buffer.from(m.payload).toString("hex"), timeDeltaNs: m.timeDeltaNs }));
    return { ...o, payload: Buffer.from(o["payload"] as Uint8Array).toString("hex"), more };
  };

  it("property: writes exactly the bytes the generated encoder writes", () => {
    fc.assert(
      fc.property(arb, (e) => {
        const ours = Buffer.from(encodeWireEnvelope(e));
        const theirs = Buffer.from(Generated.encode(Generated.fromObject(e)).finish());
        expect(ours.toString("hex")).toBe(theirs.toString("hex"));
      }),
    );
  });

  it("property: reads back what the generated encoder wrote, and vice versa", () => {
    fc.assert(
      fc.property(arb, (e) => {
        const theirs = Generated.encode(Generated.fromObject(e)).finish();
        const ours = decodeWireEnvelope(theirs);
        const { batch: _batch, ...fields } = ours;
        expect({ ...fields, payload: Buffer.from(ours.payload).toString("hex"), more: moreOf(ours) }).toEqual(viaGenerated(theirs));
      }),
    );
  });

  it("property: arbitrary bytes either decode or raise WireError, never anything else, and never read past the end", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const e = decodeWireEnvelope(bytes);
          expect(e.payload.length).toBeLessThanOrEqual(bytes.length);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
    );
  });

  it("skips unknown fields (a newer peer) and rejects wrong wire types and truncation with the place named", () => {
    const base = { topic: "umbra.bench.v1.Ping", source: "a", sequence: 1n, missionTimeNs: 5n, priority: 1, kind: 0, payload: new Uint8Array([1]), correlationId: 0n, replyTo: "", target: "", error: "" };
    const withExtra = Buffer.concat([Buffer.from(encodeWireEnvelope({ ...base, kind: 0 })), Buffer.from([0x98, 0x01, 0x05, 0xa2, 0x01, 0x02, 0x41, 0x42])]);
    expect(decodeWireEnvelope(withExtra).topic).toBe(base.topic);
    expect(() => decodeWireEnvelope(Buffer.from([0x0d, 0, 0, 0, 0]))).toThrow(/field 1 has wire type 5, expected 2/);
    expect(() => decodeWireEnvelope(Buffer.from([0x0a, 0x05, 0x41]))).toThrow(/length 5 at byte 2 runs past the end/);
    expect(() => decodeWireEnvelope(Buffer.from([0x18, 0xff, 0xff]))).toThrow(/truncated varint/);
    expect(() => decodeWireEnvelope(Buffer.from([0x18, ...Array(11).fill(0xff)]))).toThrow(/longer than 10 bytes/);
    expect(() => decodeWireEnvelope(Buffer.from([0x00]))).toThrow(/field number 0/);
    expect(() => decodeWireEnvelope(Buffer.from([0x9b, 0x01]))).toThrow(/unsupported wire type 3/);
    expect(() => encodeWireEnvelope({ ...base, sequence: -1n })).toThrow(/sequence: -1 is not a uint64/);
    expect(() => encodeWireEnvelope({ ...base, missionTimeNs: 2n ** 64n })).toThrow(/mission_time_ns/);
  });
});
