import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { validateMessage } from "../src/validate.js";
import { validateMessage as referenceValidate } from "./support/reference-validate.js";
import { allTypeNames, messageValue, schemaRoot } from "./support/schema-arbitrary.js";

describe("validateMessage (compiled per type)", () => {
  it("knows every message type of the schema", () => {
    expect(allTypeNames.length).toBeGreaterThan(50);
    for (const name of allTypeNames) expect(validateMessage(name, {})).toBeUndefined();
  });

  it("property: gives the reference walker's answer, word for word, on hostile values of every type", () => {
    const byType = fc.constantFrom(...allTypeNames).chain((name) => messageValue(schemaRoot.lookupType(name)).map((value) => [name, value] as const));
    fc.assert(
      fc.property(byType, ([name, value]) => {
        expect(validateMessage(name, value)).toBe(referenceValidate(name, value));
      }),
      { numRuns: 3000 },
    );
  });

  it("property: accepts every valid value of every type", () => {
    const byType = fc.constantFrom(...allTypeNames).chain((name) => messageValue(schemaRoot.lookupType(name), 0, false).map((value) => [name, value] as const));
    fc.assert(
      fc.property(byType, ([name, value]) => {
        expect(validateMessage(name, value)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it("names the element of a repeated or map field that is wrong, and a nested field's full path", () => {
    expect(validateMessage("umbra.core.v1.TelemetryReport", { samples: [{ name: "a" }, { name: 5 }] })).toBe(
      "samples[1].name: expected a string, got number 5",
    );
    expect(validateMessage("umbra.core.v1.Event", { args: { ok: "1", bad: 2 } })).toBe('args["bad"]: expected a string, got number 2');
  });

  it("treats inherited property names as unknown fields rather than schema entries", () => {
    const value = JSON.parse('{"constructor": 1}') as Record<string, unknown>;
    expect(validateMessage("umbra.bench.v1.Ping", value)).toBe("constructor: Ping has no such field");
  });
});
