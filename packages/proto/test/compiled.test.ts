// The fast encoders and decoders (compiled.ts) against the reference path
// (validate.ts, then protobufjs's generated classes), over every message type:
// the same bytes for every value the fast path takes, the same objects (key
// order included) for every byte string it takes, and it takes the ordinary
// case rather than declining everything.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import protobuf from "protobufjs/light.js";
import { CodecError, codecByName, messageClassByName, validateMessage, type GeneratedMessageClass } from "../src/index.js";
import { fastDecoderFor, fastEncoderFor, fastSourceOf } from "../src/compiled.js";
import { allTypeNames, messageValue, schemaRoot } from "./support/schema-arbitrary.js";

const referenceOptions = { longs: BigInt, defaults: true, oneofs: true, arrays: true, objects: true };

function classOf(name: string): GeneratedMessageClass {
  return messageClassByName(name)!;
}

/** What the codecs did before compiled.ts: check, fromObject, the generated encode. */
function referenceEncode(name: string, value: unknown): Uint8Array {
  const problem = validateMessage(name, value);
  if (problem) throw new CodecError(name, problem);
  const cls = classOf(name);
  return (cls.encode as unknown as (m: unknown) => protobuf.Writer)(cls.fromObject(value as Record<string, unknown>)).finish();
}

/** The reference decode (as plain.test.ts has it): generated decode, then toObject with defaults. */
function referenceDecode(name: string, bytes: Uint8Array): unknown {
  const cls = classOf(name);
  const reader = protobuf.Reader.create(bytes);
  return cls.toObject(cls.decode(reader, bytes.length), referenceOptions);
}

function fastEncode(name: string, value: unknown): Uint8Array | false {
  const writer = protobuf.Writer.create();
  let ok: boolean;
  try {
    ok = fastEncoderFor(name)!(value, writer, 0);
  } catch {
    ok = false;
  }
  return ok ? writer.finish() : false;
}

function fastDecode(name: string, bytes: Uint8Array): unknown {
  try {
    return fastDecoderFor(name)!(bytes, 0, bytes.length, 0);
  } catch {
    return undefined;
  }
}

function keyOrder(value: unknown, path = ""): string[] {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.push(`${path}.${k}`, ...keyOrder(v, `${path}.${k}`));
  return out;
}

const byType = (hostile: boolean) =>
  fc.constantFrom(...allTypeNames).chain((name) => messageValue(schemaRoot.lookupType(name), 0, hostile).map((value) => [name, value] as const));

/** Damage of the kinds a link or a hostile peer could do to valid bytes. */
const damaged = (bytes: Uint8Array) =>
  fc.oneof(
    fc.nat({ max: Math.max(0, bytes.length - 1) }).chain((i) => fc.integer({ min: 0, max: 255 }).map((b) => Uint8Array.from(bytes, (x, j) => (j === i ? b : x)))),
    fc.nat({ max: bytes.length }).map((n) => bytes.subarray(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 12 }).map((extra) => Buffer.concat([bytes, extra])),
    fc.tuple(fc.nat({ max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([i, ins]) => Buffer.concat([bytes.subarray(0, i), ins, bytes.subarray(i)])),
  );

describe("compiled fast path", () => {
  it("covers every message type in the schema", () => {
    for (const name of allTypeNames) {
      expect(fastEncoderFor(name), name).not.toBeNull();
      expect(fastDecoderFor(name), name).not.toBeNull();
    }
    expect(fastEncoderFor("no.such.Type")).toBeNull();
    expect(fastSourceOf("umbra.bench.v1.Ping")?.encoder).toContain("w.uint64");
  });

  it("property: takes every valid value and writes exactly the reference bytes", () => {
    fc.assert(
      fc.property(byType(false), ([name, value]) => {
        const fast = fastEncode(name, value);
        expect(fast, `${name} declined a valid value`).not.toBe(false);
        expect(Buffer.from(fast as Uint8Array).equals(Buffer.from(referenceEncode(name, value)))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("property: on hostile values, takes only what the reference takes, and writes the same bytes", () => {
    fc.assert(
      fc.property(byType(true), ([name, value]) => {
        const fast = fastEncode(name, value);
        if (fast === false) return;
        expect(validateMessage(name, value)).toBeUndefined();
        expect(Buffer.from(fast).equals(Buffer.from(referenceEncode(name, value)))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("property: decodes every valid encoding, to the reference object with its key order, from a Buffer or a plain Uint8Array", () => {
    fc.assert(
      fc.property(byType(false), fc.boolean(), ([name, value], asBuffer) => {
        const encoded = referenceEncode(name, value);
        const bytes = asBuffer ? Buffer.from(encoded) : Uint8Array.from(encoded);
        const fast = fastDecode(name, bytes);
        expect(fast, `${name} declined valid bytes`).not.toBeUndefined();
        const reference = referenceDecode(name, bytes);
        expect(fast).toStrictEqual(reference);
        expect(keyOrder(fast)).toEqual(keyOrder(reference));
      }),
      { numRuns: 3000 },
    );
  });

  it("property: on damaged bytes, gives what the reference gives, or declines", () => {
    const cases = byType(false).chain(([name, value]) => damaged(Buffer.from(referenceEncode(name, value))).map((bytes) => [name, bytes] as const));
    let taken = 0;
    fc.assert(
      fc.property(cases, ([name, bytes]) => {
        const fast = fastDecode(name, bytes);
        if (fast === undefined) return;
        taken++;
        const reference = referenceDecode(name, bytes); // throws if the fast path took bytes the reference refuses
        expect(fast).toStrictEqual(reference);
        expect(keyOrder(fast)).toEqual(keyOrder(reference));
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(100); // damage that leaves valid bytes is still decoded the fast way
  });

  it("property: on arbitrary bytes, the codec gives what the reference gives or a CodecError where it throws", () => {
    fc.assert(
      fc.property(fc.constantFrom(...allTypeNames), fc.uint8Array({ maxLength: 60 }), (name, bytes) => {
        let reference: unknown;
        let referenceFailed = false;
        try {
          reference = referenceDecode(name, bytes);
        } catch {
          referenceFailed = true;
        }
        const codec = codecByName(name)!;
        if (referenceFailed) expect(() => codec.decode(bytes)).toThrow(CodecError);
        else expect(codec.decode(bytes)).toStrictEqual(reference);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("compiled fast path: edge cases", () => {
  const value = codecByName("umbra.core.v1.Value")!;
  const ping = codecByName("umbra.bench.v1.Ping")!;
  const event = codecByName("umbra.core.v1.Event")!;

  it("writes the bytes protobufjs writes at the ends of each integer range, and for -0, NaN and infinities", () => {
    const values: [string, unknown][] = [
      ["umbra.bench.v1.Ping", { id: 2n ** 64n - 1n }],
      ["umbra.bench.v1.Ping", { id: 2n ** 53n }],
      ["umbra.bench.v1.Ping", { id: Number.MAX_SAFE_INTEGER }],
      ["umbra.core.v1.Value", { intValue: -(2n ** 63n) }],
      ["umbra.core.v1.Value", { intValue: 2n ** 63n - 1n }],
      ["umbra.core.v1.Value", { intValue: -1 }],
      ["umbra.core.v1.Value", { intValue: 0n }],
      ["umbra.core.v1.Value", { floatValue: -0 }],
      ["umbra.core.v1.Value", { floatValue: Number.NaN }],
      ["umbra.core.v1.Value", { floatValue: Number.NEGATIVE_INFINITY }],
      ["umbra.core.v1.Value", { boolValue: false }],
      ["umbra.core.v1.Value", { stringValue: "" }],
      ["umbra.supervisor.v1.ServiceStatus", { pid: -(2 ** 31) }],
      ["umbra.inference.v1.InferResult", { label: -5, confidence: -0, dissentingReplicas: [0, 2 ** 32 - 1] }],
      ["umbra.inference.v1.TensorSpec", { dims: [-1n, 2n ** 63n - 1n, -(2n ** 63n), 0] }],
      ["umbra.platform.v1.FlipBits", { bitOffsets: [2n ** 64n - 1n, 0n, 7] }],
    ];
    for (const [name, v] of values) {
      const fast = fastEncode(name, v);
      expect(fast, name).not.toBe(false);
      expect(Buffer.from(fast as Uint8Array).toString("hex"), name).toBe(Buffer.from(referenceEncode(name, v)).toString("hex"));
      const codec = codecByName(name)!;
      expect(codec.decode(fast as Uint8Array)).toStrictEqual(referenceDecode(name, fast as Uint8Array));
    }
    expect(Object.is(value.decode(value.encode({ floatValue: -0 })).floatValue, -0)).toBe(true);
  });

  it("writes strings as protobufjs does, lone surrogates included, short and long", () => {
    for (const s of ["héllo", "\u{1F6F0}", "a\uD800b", "\uDC00", "x".repeat(39) + "\uD800", "é".repeat(100), "\uD800".repeat(50), "s".repeat(300)]) {
      const fast = fastEncode("umbra.core.v1.Value", { stringValue: s });
      expect(Buffer.from(fast as Uint8Array).toString("hex")).toBe(Buffer.from(referenceEncode("umbra.core.v1.Value", { stringValue: s })).toString("hex"));
    }
  });

  it("leaves objects that are not plain, unknown keys and throwing getters to the reference path, with the same outcome", () => {
    class PingLike {
      constructor(readonly id: bigint) {}
    }
    expect(fastEncode("umbra.bench.v1.Ping", new PingLike(5n))).toBe(false);
    expect(ping.decode(ping.encode(new PingLike(5n) as never)).id).toBe(5n);
    expect(fastEncode("umbra.bench.v1.Ping", { id: 5n, extra: undefined })).toBe(false);
    expect(ping.encode({ id: 5n, extra: undefined } as never)).toEqual(ping.encode({ id: 5n }));
    expect(() => ping.encode({ id: 5n, extra: 1 } as never)).toThrow(/extra: Ping has no such field/);
    const getter = Object.defineProperty({}, "id", {
      enumerable: true,
      get() {
        throw new Error("no id here");
      },
    });
    expect(fastEncode("umbra.bench.v1.Ping", getter)).toBe(false);
    expect(() => ping.encode(getter as never)).toThrow(/no id here/);
    expect(ping.decode(ping.encode({ id: 6n })).id).toBe(6n); // the shared writer is usable afterwards
    expect(fastEncode("umbra.bench.v1.Ping", Object.assign(Object.create(null), { id: 7n }))).not.toBe(false);
  });

  it("takes a decoded message back as it is, oneof name included", () => {
    const decoded = value.decode(value.encode({ intValue: -3n }));
    expect(decoded).toEqual({ intValue: -3n, kind: "intValue" });
    expect(fastEncode("umbra.core.v1.Value", decoded)).not.toBe(false);
    expect(value.encode(decoded)).toEqual(value.encode({ intValue: -3n }));
    expect(fastEncode("umbra.core.v1.Value", { intValue: 1n, kind: "boolValue" })).not.toBe(false); // as validate.ts: the name is not checked against the member
    expect(fastEncode("umbra.core.v1.Value", { kind: "nonsense" })).toBe(false);
    expect(fastEncode("umbra.core.v1.Value", { intValue: 1n, boolValue: true })).toBe(false);
  });

  it("leaves a map key of __proto__ to the reference path, both ways", () => {
    const args = JSON.parse('{"__proto__": "x", "a": "1"}') as Record<string, string>;
    expect(fastEncode("umbra.core.v1.Event", { args })).toBe(false);
    const bytes = event.encode({ args });
    expect(fastDecode("umbra.core.v1.Event", bytes)).toBeUndefined();
    expect(event.decode(bytes)).toStrictEqual(referenceDecode("umbra.core.v1.Event", bytes));
  });

  it("leaves merges, unpacked repeats, unknown fields and long varints to the reference path, with the same result", () => {
    const report = codecByName("umbra.jobs.v1.JobReport")!;
    const status1 = Buffer.from(report.encode({ status: { jobId: "j1" } }));
    const status2 = Buffer.from(report.encode({ status: { tenant: "t" } }));
    const cases: [string, Buffer][] = [
      ["umbra.jobs.v1.JobReport", Buffer.concat([status1, status2])], // a nested message given twice: merged
      ["umbra.inference.v1.Tensor", Buffer.from([0x10, 0x03, 0x10, 0x04])], // dims unpacked
      ["umbra.bench.v1.Ping", Buffer.from([0x08, 0x05, 0xf8, 0x06, 0x01])], // field 99, unknown
      ["umbra.bench.v1.Ping", Buffer.from([0x08, 0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])], // 10-byte varint
      ["umbra.core.v1.Value", Buffer.from([0x08, 0x02])], // a bool of 2
      ["umbra.core.v1.Value", Buffer.from([0x08, 0x01, 0x10, 0x04])], // two oneof members: the last wins
      ["umbra.bench.v1.Ping", Buffer.from([0x0a, 0x00])], // field 1 with the wrong wire type
    ];
    for (const [name, bytes] of cases) {
      expect(codecByName(name)!.decode(bytes), name).toStrictEqual(referenceDecode(name, bytes));
    }
    expect(fastDecode("umbra.jobs.v1.JobReport", cases[0]![1])).toBeUndefined();
    expect(fastDecode("umbra.core.v1.Value", cases[5]![1])).toEqual({ intValue: 2n, kind: "intValue" });
  });

  it("refuses invalid UTF-8 and truncated bytes with a CodecError, as before", () => {
    expect(() => value.decode(Buffer.from([0x22, 0x02, 0xc3, 0x28]))).toThrow(CodecError);
    expect(() => value.decode(Buffer.from([0x22, 0x05, 0x61]))).toThrow(CodecError);
    expect(() => ping.decode(Buffer.from([0x12, 0x80]))).toThrow(CodecError);
  });

  it("gives bytes fields as views of the input, of the input's class, and an unset one as an empty Buffer", () => {
    const bytes = Buffer.from(ping.encode({ id: 1n, data: new Uint8Array([1, 2, 3]) }));
    const fromBuffer = ping.decode(bytes);
    expect(Buffer.isBuffer(fromBuffer.data)).toBe(true);
    expect(fromBuffer.data.buffer).toBe(bytes.buffer);
    const fromArray = ping.decode(Uint8Array.from(bytes));
    expect(Buffer.isBuffer(fromArray.data)).toBe(false);
    expect(Array.from(fromArray.data)).toEqual([1, 2, 3]);
    expect(Buffer.isBuffer(ping.decode(new Uint8Array(0)).data)).toBe(true);
  });

  it("refuses nesting deeper than validate.ts allows, through the reference path", () => {
    // TelemetryReport -> Sample -> Value is the deepest chain; depth itself is checked on every nested call.
    const encoder = fastEncoderFor("umbra.core.v1.Value")!;
    expect(encoder({ intValue: 1n }, protobuf.Writer.create(), 33)).toBe(false);
    expect(fastDecoderFor("umbra.core.v1.Value")!(new Uint8Array(0), 0, 0, 33)).toBeUndefined();
  });
});
