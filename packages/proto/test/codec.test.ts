import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CodecError, codecFor, codecByName, isKnownMessageType, messageTypeNames, umbra, validateMessage } from "../src/index.js";

const heartbeat = codecFor(umbra.core.v1.Heartbeat);
const ping = codecFor(umbra.bench.v1.Ping);
const value = codecFor(umbra.core.v1.Value);
const event = codecFor(umbra.core.v1.Event);

describe("codecs", () => {
  it("property: Ping round-trips every uint64 exactly as bigint, and any bytes", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 64 }), (id, data) => {
        const back = ping.decode(ping.encode({ id, data }));
        expect(back.id).toBe(id);
        expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
      }),
    );
  });

  it("property: Heartbeat round-trips (strings, enums, 64-bit and 32-bit fields)", () => {
    fc.assert(
      fc.property(
        fc.record({
          service: fc.string({ maxLength: 30 }),
          state: fc.constantFrom(...Object.values(umbra.core.v1.ServiceState).filter((v): v is number => typeof v === "number")),
          counter: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          uptimeMs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          pid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          node: fc.string({ maxLength: 30 }),
          host: fc.string({ maxLength: 30 }),
        }),
        (hb) => {
          expect(heartbeat.decode(heartbeat.encode(hb))).toEqual(hb);
        },
      ),
    );
  });

  it("property: a sint64 oneof member round-trips at both ends of its range", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        expect(value.decode(value.encode({ intValue: n }))).toEqual({ intValue: n, kind: "intValue" });
      }),
    );
  });

  it("fills defaults for unset fields and gives maps as plain objects", () => {
    expect(heartbeat.decode(heartbeat.encode({}))).toEqual({ service: "", state: 0, counter: 0n, uptimeMs: 0n, pid: 0, node: "", host: "" });
    expect(event.decode(event.encode({ args: { a: "1" } })).args).toEqual({ a: "1" });
  });

  it("rejects values the static code would silently wrap or truncate, naming the field", () => {
    const bad: [unknown, RegExp][] = [
      [{ id: -1n }, /^umbra.bench.v1.Ping: id: -1 is out of range for uint64$/],
      [{ id: 2n ** 64n }, /id: 18446744073709551616 is out of range for uint64/],
      [{ id: 1.5 }, /id: expected an integer \(uint64\), got number 1.5/],
      [{ id: 2 ** 60 }, /not a safe integer; give a uint64 as bigint/],
      [{ id: "12" }, /id: expected an integer \(uint64\), got string "12"/],
      [{ id: Number.NaN }, /expected an integer/],
      [{ data: "abc" }, /data: expected bytes/],
      [{ data: [1, 2] }, /data: expected bytes/],
      [{ idd: 1n }, /idd: Ping has no such field/],
    ];
    for (const [v, message] of bad) {
      expect(() => ping.encode(v as never)).toThrow(CodecError);
      expect(() => ping.encode(v as never)).toThrow(message);
    }
    expect(() => heartbeat.encode({ pid: -1 })).toThrow(/pid: -1 is out of range for uint32/);
    expect(() => heartbeat.encode({ pid: 5n as never })).toThrow(/pid: expected a number \(uint32\), got bigint 5/);
    expect(() => heartbeat.encode({ state: 99 })).toThrow(/state: 99 is not a ServiceState value/);
    expect(() => heartbeat.encode({ service: 5 as never })).toThrow(/service: expected a string/);
    expect(() => value.encode({ intValue: 2n ** 63n })).toThrow(/out of range for sint64/);
    expect(() => value.encode({ intValue: 1n, boolValue: true })).toThrow(/kind: only one of boolValue, intValue may be set/);
    expect(() => value.encode({ kind: "nonsense" as never })).toThrow(/kind: must name one of/);
    expect(() => event.encode({ args: { a: 1 as never } })).toThrow(/args\["a"\]: expected a string/);
    expect(() => codecFor(umbra.core.v1.TelemetryReport).encode({ samples: [{ name: "x", value: { floatValue: "hot" as never } }] })).toThrow(
      /samples\[0\].value.floatValue: expected a number \(double\)/,
    );
    expect(() => ping.encode(null as never)).toThrow(/message must be an object/);
    expect(() => ping.encode([] as never)).toThrow(/message must be an object/);
  });

  it("allows NaN and infinities in floating-point fields, as protobuf does", () => {
    expect(value.decode(value.encode({ floatValue: Number.POSITIVE_INFINITY })).floatValue).toBe(Number.POSITIVE_INFINITY);
    expect(value.decode(value.encode({ floatValue: Number.NaN })).floatValue).toBeNaN();
  });

  it("rejects bytes that are not the message, with the type named", () => {
    expect(() => ping.decode(new Uint8Array([0x08, 0xff]))).toThrow(/umbra.bench.v1.Ping: cannot decode 2 bytes/);
  });

  it("property: decodeAt reads the message at its place among other bytes exactly as decode reads it alone", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.record({ service: fc.string({ maxLength: 20 }), uptimeMs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }), fc.uint8Array({ maxLength: 40 }), (before, hb, after) => {
        const bytes = heartbeat.encode(hb);
        const all = Buffer.concat([before, bytes, after]);
        expect(heartbeat.decodeAt(all, before.length, bytes.length)).toEqual(heartbeat.decode(bytes));
      }),
    );
  });

  it("decodeAt refuses a place outside the bytes, and bytes that are not the message", () => {
    const bytes = Buffer.from(ping.encode({ id: 5 }));
    expect(() => ping.decodeAt(bytes, 1, bytes.length)).toThrow(RangeError);
    expect(() => ping.decodeAt(bytes, -1, 1)).toThrow(/are not within/);
    expect(() => ping.decodeAt(bytes, 0.5, 1)).toThrow(/are not within/);
    expect(() => ping.decodeAt(Buffer.from([0, 0x08, 0xff, 0]), 1, 2)).toThrow(/umbra.bench.v1.Ping: cannot decode 2 bytes/);
    expect(ping.decodeAt(bytes, bytes.length, 0).id).toBe(0n); // nothing: every field at its default
  });

  it("property: decoding arbitrary bytes either succeeds or throws a CodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          heartbeat.decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
        }
      }),
    );
  });

  it("knows every generated type by full name, and nothing else", () => {
    expect(messageTypeNames.has("umbra.bus.v1.Envelope")).toBe(true);
    expect(messageTypeNames.has("umbra.core.v1.Heartbeat")).toBe(true);
    expect(isKnownMessageType("umbra.core.v1.Nope")).toBe(false);
    expect(codecByName("umbra.bench.v1.Ping")?.typeName).toBe("umbra.bench.v1.Ping");
    expect(codecByName("x")).toBeUndefined();
    expect(validateMessage("no.Such", {})).toMatch(/no message type/);
  });
});

describe("encoding through the shared writer", () => {
  const ping = codecFor(umbra.bench.v1.Ping);

  it("gives encode() bytes of its own, untouched by later encodes of any size", () => {
    const first = ping.encode({ id: 1n, data: new Uint8Array([1, 2, 3]) });
    const copy = Uint8Array.from(first);
    ping.encode({ id: 2n, data: new Uint8Array(100_000).fill(9) }); // grows past what the writer keeps
    ping.encodeTransient({ id: 3n, data: new Uint8Array([7, 7, 7, 7]) });
    expect(Uint8Array.from(first)).toEqual(copy);
    expect(ping.decode(first)).toEqual({ id: 1n, data: Buffer.from([1, 2, 3]) });
  });

  it("gives encodeTransient() the same bytes as encode(), valid until the next encode", () => {
    const value = { id: 2n ** 63n, data: new Uint8Array([4, 5, 6]) };
    const view = ping.encodeTransient(value);
    expect(Uint8Array.from(view)).toEqual(Uint8Array.from(ping.encode(value)));
  });

  it("gives encodeTransient() of the same length the same view, with the bytes of the latest encode, also after the writer grows", () => {
    const a = ping.encodeTransient({ id: 1n, data: new Uint8Array([1, 1]) });
    const aBytes = Uint8Array.from(a);
    const b = ping.encodeTransient({ id: 2n, data: new Uint8Array([2, 2]) });
    expect(b).toBe(a); // the earlier view was only good until this encode
    expect(Uint8Array.from(b)).not.toEqual(aBytes);
    expect(ping.decode(b)).toEqual({ id: 2n, data: Buffer.from([2, 2]) });
    ping.encode({ id: 3n, data: new Uint8Array(70_000) }); // the shared writer is replaced
    const c = ping.encodeTransient({ id: 4n, data: new Uint8Array([4, 4]) });
    expect(c).not.toBe(b);
    expect(ping.decode(c)).toEqual({ id: 4n, data: Buffer.from([4, 4]) });
    const large = ping.encodeTransient({ id: 5n, data: new Uint8Array(2000).fill(5) }); // past the reused sizes: a view of its own
    expect(ping.decode(large).data.length).toBe(2000);
  });

  it("encodes correctly after a refused encode", () => {
    expect(() => ping.encodeTransient({ id: -1n })).toThrow(CodecError);
    expect(() => ping.encode({ data: { length: 3 } as unknown as Uint8Array })).toThrow(/data: expected bytes/);
    expect(ping.decode(ping.encode({ id: 5n, data: new Uint8Array([1]) }))).toEqual({ id: 5n, data: Buffer.from([1]) });
  });

  it("property: any sequence of encodes and transient encodes gives each value's own bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }),
        (ops) => {
          const owned: [Uint8Array, bigint, Uint8Array][] = [];
          for (const [transient, id, data] of ops) {
            if (transient) expect(ping.decode(ping.encodeTransient({ id, data }))).toEqual({ id, data: Buffer.from(data) });
            else owned.push([ping.encode({ id, data }), id, data]);
          }
          for (const [bytes, id, data] of owned) expect(ping.decode(bytes)).toEqual({ id, data: Buffer.from(data) });
        },
      ),
    );
  });
});
