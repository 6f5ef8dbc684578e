import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { codecByName, messageClassByName } from "../src/index.js";
import { allTypeNames, messageValue, schemaRoot } from "./support/schema-arbitrary.js";

/** What codec.decode returned before plain.ts: protobufjs's toObject with defaults. */
const referenceOptions = { longs: BigInt, defaults: true, oneofs: true, arrays: true, objects: true };

/** Every key path in order, so that two objects with the same keys in another order differ. */
function keyOrder(value: unknown, path = ""): string[] {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.push(`${path}.${k}`, ...keyOrder(v, `${path}.${k}`));
  return out;
}

describe("decoded plain objects", () => {
  it("property: equal protobufjs's toObject with defaults, key order included, for every message type", () => {
    const byType = fc
      .constantFrom(...allTypeNames)
      .chain((name) => messageValue(schemaRoot.lookupType(name), 0, false).map((value) => [name, value] as const));
    fc.assert(
      fc.property(byType, ([name, value]) => {
        const codec = codecByName(name)!;
        const cls = messageClassByName(name)!;
        const bytes = codec.encode(value);
        const reference = cls.toObject(cls.decode(bytes), referenceOptions);
        const decoded = codec.decode(bytes);
        expect(decoded).toStrictEqual(reference);
        expect(keyOrder(decoded)).toEqual(keyOrder(reference));
      }),
      { numRuns: 2000 },
    );
  });

  it("gives each decode its own arrays and maps, so changing one result leaves the next alone", () => {
    const codec = codecByName("umbra.core.v1.TelemetryReport")!;
    const first = codec.decode(new Uint8Array(0)) as { samples: unknown[] };
    first.samples.push("changed");
    expect((codec.decode(new Uint8Array(0)) as { samples: unknown[] }).samples).toEqual([]);
    const event = codecByName("umbra.core.v1.Event")!;
    const a = event.decode(new Uint8Array(0)) as { args: Record<string, string> };
    a.args.x = "1";
    expect((event.decode(new Uint8Array(0)) as { args: Record<string, string> }).args).toEqual({});
  });

  it("fills in the defaults of nested messages too", () => {
    const codec = codecByName("umbra.core.v1.TelemetryReport")!;
    const decoded = codec.decode(codec.encode({ samples: [{ name: "a" }] })) as { samples: Record<string, unknown>[] };
    const reference = messageClassByName("umbra.core.v1.TelemetryReport")!;
    expect(decoded).toStrictEqual(reference.toObject(reference.decode(codec.encode({ samples: [{ name: "a" }] })), referenceOptions));
    expect(Object.keys(decoded.samples[0]!).length).toBeGreaterThan(1);
  });
});
