import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkJson, fieldsOf, leafFields, MAX_FIELD_CHARS, parseArguments, parseJsonSafely, rangeText, unitOfField, type FieldSpec } from "../src/logic/forms.js";

// Argument schemas as GET /api/dictionary gives them (packages/gateway/src/dictionary/json-schema.ts).
const counterAdd = {
  type: "object",
  title: "umbra.examples.v1.CounterAdd",
  properties: {
    amount: {
      format: "sint64",
      description: "sint64: a safe integer, or any sint64 as a decimal string",
      anyOf: [
        { type: "integer", minimum: -1000, maximum: 1000 },
        { type: "string", pattern: "^-?[0-9]{1,19}$" },
      ],
      "x-minimum": -1000,
      "x-maximum": 1000,
      "x-nonZero": true,
    },
  },
  additionalProperties: false,
};
const enumOf = (title: string, names: string[]) => ({
  title,
  anyOf: [
    { type: "string", enum: names },
    { type: "integer", enum: names.map((_, i) => i) },
  ],
});
const submitJob = {
  type: "object",
  title: "umbra.jobs.v1.SubmitJob",
  properties: {
    jobId: { type: "string" },
    tenant: { type: "string", enum: ["earth-obs", "ocean"] },
    variants: { type: "array", items: { type: "string" } },
    accuracyFloor: { type: "number", format: "double", minimum: 0, maximum: 1 },
    priority: { type: "integer", format: "uint32", minimum: 0, maximum: 9 },
    deadlineNs: {
      format: "uint64",
      anyOf: [
        { type: "integer", minimum: 0, maximum: 9007199254740991 },
        { type: "string", pattern: "^[0-9]{1,20}$" },
      ],
    },
    deadlineInS: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 },
    output: {
      type: "object",
      title: "umbra.jobs.v1.OutputPolicy",
      properties: {
        keep: enumOf("umbra.jobs.v1.KeepPolicy", ["KEEP_POLICY_UNSPECIFIED", "KEEP_POLICY_SUMMARY", "KEEP_POLICY_OUTPUTS", "KEEP_POLICY_NONE"]),
        maxDetections: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 },
        clearLabels: { type: "array", items: { type: "string" } },
      },
      additionalProperties: false,
    },
    payload: { type: "string", contentEncoding: "base64", description: "bytes, base64 encoded" },
    labels: { type: "object", description: "map<string, uint32>", additionalProperties: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 } },
  },
  additionalProperties: false,
};
const contactSchedule = {
  type: "object",
  properties: {
    windows: {
      type: "array",
      items: {
        type: "object",
        title: "umbra.ttc.v1.ContactWindow",
        properties: {
          startNs: { format: "uint64", anyOf: [{ type: "integer", minimum: 0, maximum: 9007199254740991 }, { type: "string", pattern: "^[0-9]{1,20}$" }] },
          bytesPerSecond: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 },
          station: { type: "string" },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
};
const resetGovernor = { type: "object", properties: { clearSensorFaults: { type: "boolean" } }, additionalProperties: false };

const byPath = (fields: FieldSpec[]) => Object.fromEntries(leafFields(fields).map((f) => [f.path, f]));

describe("fields from the dictionary's argument schemas", () => {
  it("reads kinds, ranges, units and choices", () => {
    const f = byPath(fieldsOf(submitJob));
    expect(f["jobId"]).toMatchObject({ kind: "string", top: true });
    expect(f["tenant"]).toMatchObject({ kind: "choice", options: ["earth-obs", "ocean"] });
    expect(f["variants"]).toMatchObject({ kind: "list", item: { kind: "string" } });
    expect(f["accuracyFloor"]).toMatchObject({ kind: "number", min: 0, max: 1 });
    expect(f["priority"]).toMatchObject({ kind: "integer", type: "uint32", min: 0, max: 9 });
    expect(f["deadlineNs"]).toMatchObject({ kind: "int64", type: "uint64", min: "0", max: "18446744073709551615", unit: "ns (TAI)" });
    expect(f["deadlineInS"]).toMatchObject({ kind: "integer", unit: "s" });
    expect(f["output.keep"]).toMatchObject({ kind: "enum", options: ["KEEP_POLICY_UNSPECIFIED", "KEEP_POLICY_SUMMARY", "KEEP_POLICY_OUTPUTS", "KEEP_POLICY_NONE"], top: false });
    expect(f["output.clearLabels"]).toMatchObject({ kind: "list" });
    expect(f["payload"]).toMatchObject({ kind: "bytes" });
    expect(f["labels"]).toMatchObject({ kind: "json" });
    expect(fieldsOf(submitJob).find((x) => x.name === "output")).toMatchObject({ kind: "group" });
    const amount = fieldsOf(counterAdd)[0]!;
    expect(amount).toMatchObject({ kind: "int64", min: "-1000", max: "1000", nonZero: true, unit: "" });
    expect(rangeText(amount)).toBe("-1000..1000, not 0");
    expect(rangeText(byPath(fieldsOf(submitJob))["deadlineInS"]!)).toBe("uint32");
    expect(rangeText(byPath(fieldsOf(submitJob))["tenant"]!)).toBe("one of earth-obs, ocean");
    expect(fieldsOf(contactSchedule)[0]).toMatchObject({ kind: "json" });
  });

  it("reads units from field names by the project's convention, and only from real suffixes", () => {
    expect(unitOfField("deadlineInS")).toBe("s");
    expect(unitOfField("quotaJoules")).toBe("J");
    expect(unitOfField("timeoutMs")).toBe("ms");
    expect(unitOfField("budgetW")).toBe("W");
    expect(unitOfField("dieC")).toBe("°C");
    expect(unitOfField("cpuKHz")).toBe("kHz");
    expect(unitOfField("socPct")).toBe("%");
    expect(unitOfField("energyWh")).toBe("Wh");
    expect(unitOfField("startNs")).toBe("ns (TAI)");
    for (const none of ["amount", "jobIds", "spec", "S", "newSpi", "", "x".repeat(300)]) expect(unitOfField(none), none).toBe("");
  });

  it("gives no fields for schemas that are not an object's", () => {
    for (const bad of [null, undefined, 5, "x", [], {}, { properties: [] }, { properties: { a: 5 } }]) expect(fieldsOf(bad)).toEqual([]);
  });
});

describe("parsing what the operator typed", () => {
  const add = fieldsOf(counterAdd);

  it("turns valid input into the arguments the gateway takes", () => {
    expect(parseArguments(add, { amount: "150" })).toEqual({ ok: true, args: { amount: 150 } });
    expect(parseArguments(add, { amount: " -7 " })).toEqual({ ok: true, args: { amount: -7 } });
    expect(parseArguments(fieldsOf(resetGovernor), { clearSensorFaults: true })).toEqual({ ok: true, args: { clearSensorFaults: true } });
    expect(parseArguments(fieldsOf(resetGovernor), {})).toEqual({ ok: true, args: { clearSensorFaults: false } });
    const job = fieldsOf(submitJob);
    expect(
      parseArguments(job, {
        jobId: "pass-7",
        tenant: "ocean",
        variants: "tiny-seg, tiny-cls",
        accuracyFloor: "0.7",
        priority: "6",
        deadlineNs: "18446744073709551615",
        "output.keep": "KEEP_POLICY_SUMMARY",
        "output.clearLabels": '["clear, mostly", "clear"]',
        payload: "AAEC",
        labels: '{"a": 1}',
      }),
    ).toEqual({
      ok: true,
      args: {
        jobId: "pass-7",
        tenant: "ocean",
        variants: ["tiny-seg", "tiny-cls"],
        accuracyFloor: 0.7,
        priority: 6,
        deadlineNs: "18446744073709551615",
        output: { keep: "KEEP_POLICY_SUMMARY", clearLabels: ["clear, mostly", "clear"] },
        payload: "AAEC",
        labels: { a: 1 },
      },
    });
    expect(parseArguments(fieldsOf(contactSchedule), { windows: '[{"startNs": "123", "station": "kiruna"}]' })).toEqual({ ok: true, args: { windows: [{ startNs: "123", station: "kiruna" }] } });
  });

  it("refuses out-of-range and malformed values with a reason naming the field", () => {
    const msg = (fields: FieldSpec[], raw: Record<string, unknown>) => {
      const r = parseArguments(fields, raw);
      return r.ok ? "ok" : r.errors.map((e) => e.message).join(" | ");
    };
    expect(msg(add, { amount: "5000" })).toBe("amount: 5000 is above the maximum 1000");
    expect(msg(add, { amount: "-1001" })).toBe("amount: -1001 is below the minimum -1000");
    expect(msg(add, { amount: "0" })).toBe("amount: must not be 0");
    expect(msg(add, { amount: "" })).toBe("amount: required (0, the default, is not allowed)");
    expect(msg(add, { amount: "1.5" })).toBe('amount: expected a whole number, got "1.5"');
    expect(msg(add, { amount: "12abc" })).toBe('amount: expected a whole number, got "12abc"');
    expect(msg(add, { amount: "99999999999999999999999" })).toBe("amount: 99999999999999999999999 is out of range for sint64 (-9223372036854775808..9223372036854775807)");
    const job = fieldsOf(submitJob);
    expect(msg(job, { tenant: "" })).toBe("tenant: required: one of earth-obs, ocean");
    expect(msg(job, { tenant: "mallory" })).toBe('tenant: "mallory" is not one of earth-obs, ocean');
    expect(msg(job, { tenant: "ocean", priority: "12" })).toBe("priority: 12 is above the maximum 9");
    expect(msg(job, { tenant: "ocean", priority: "-1" })).toBe("priority: -1 is out of range for uint32 (0..4294967295)");
    expect(msg(job, { tenant: "ocean", accuracyFloor: "1e999" })).toBe('accuracyFloor: "1e999" is not a finite number');
    expect(msg(job, { tenant: "ocean", accuracyFloor: "NaN" })).toBe('accuracyFloor: expected a number, got "NaN"');
    expect(msg(job, { tenant: "ocean", deadlineNs: "18446744073709551616" })).toBe("deadlineNs: 18446744073709551616 is out of range for uint64 (0..18446744073709551615)");
    expect(msg(job, { tenant: "ocean", "output.keep": "KEEP_EVERYTHING" })).toMatch(/^output\.keep: "KEEP_EVERYTHING" is not one of KEEP_POLICY_UNSPECIFIED/);
    expect(msg(job, { tenant: "ocean", "output.maxDetections": "x" })).toBe('output.maxDetections: expected a whole number, got "x"');
    expect(msg(job, { tenant: "ocean", payload: "not base64!" })).toBe("payload: expected bytes as base64");
    expect(msg(job, { tenant: "ocean", labels: '{"a": -1}' })).toBe('labels["a"]: -1 is below the minimum 0');
    expect(msg(job, { tenant: "ocean", labels: "{" })).toMatch(/^labels: not valid JSON/);
    expect(msg(job, { tenant: "ocean", variants: "a,,b" })).toBe("variants: item 2: is empty (give a JSON array for empty strings)");
    expect(msg(job, { tenant: "ocean", variants: '["a", ""]' })).toBe("ok");
    expect(msg(job, { tenant: "ocean", variants: "[1]" })).toBe("variants[0]: expected a string");
    expect(msg(fieldsOf(contactSchedule), { windows: '[{"startNs": "12x"}]' })).toBe('windows[0].startNs: "12x" does not have the expected form');
    expect(msg(fieldsOf(contactSchedule), { windows: '[{"antenna": 1}]' })).toBe("windows[0].antenna: unknown field (expected startNs, bytesPerSecond, station)");
    expect(msg(fieldsOf(contactSchedule), { windows: '{"a": 1}' })).toBe("windows: expected an array");
  });

  it("reports every field's problem at once", () => {
    const r = parseArguments(fieldsOf(submitJob), { tenant: "x", priority: "99", accuracyFloor: "2" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(["tenant", "accuracyFloor", "priority"]);
  });

  it("refuses hostile input: prototype poisoning, oversized text, values of the wrong type", () => {
    const job = fieldsOf(submitJob);
    const r1 = parseArguments(job, { tenant: "ocean", labels: '{"__proto__": {"admin": true}}' });
    expect(r1).toEqual({ ok: false, errors: [{ path: "labels", message: "labels: a __proto__ property is not accepted" }] });
    const r2 = parseArguments(job, { tenant: "ocean", labels: '{"constructor": {"prototype": {"x": 1}}}' });
    expect(r2.ok).toBe(false);
    const r3 = parseArguments(add, { amount: "1".repeat(MAX_FIELD_CHARS + 1) });
    expect(r3).toEqual({ ok: false, errors: [{ path: "amount", message: `amount: longer than ${MAX_FIELD_CHARS} characters` }] });
    expect(parseArguments(add, { amount: { valueOf: () => 5 } })).toEqual({ ok: false, errors: [{ path: "amount", message: "amount: expected text" }] });
    expect(parseArguments(add, { amount: ["5"] }).ok).toBe(false);
    expect(parseArguments(add, null)).toEqual({ ok: false, errors: [{ path: "amount", message: "amount: required (0, the default, is not allowed)" }] });
    expect(parseArguments(add, "amount=5")).toMatchObject({ ok: false });
    // A field named __proto__ in a (hostile) schema cannot reach the arguments' prototype.
    const evil = fieldsOf({ type: "object", properties: { ["__proto__"]: { type: "string" } } });
    const r4 = parseArguments(evil, JSON.parse('{"__proto__": "x"}'));
    expect(Object.getPrototypeOf(r4.ok ? r4.args : {})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
    expect(parseJsonSafely(5 as never)).toEqual({ ok: false, message: "expected JSON text" });
  });

  it("never throws on any input, and every refusal names a field of the form", () => {
    const forms = [fieldsOf(counterAdd), fieldsOf(submitJob), fieldsOf(contactSchedule), fieldsOf(resetGovernor)];
    const paths = new Set(forms.flatMap((f) => leafFields(f).map((x) => x.path)));
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.json(), fc.integer().map(String), fc.double().map(String), fc.constantFrom("", " ", "[", "{}", "[1,2]", "true", "-0", "1e308", "0x10", "١٢٣"));
    fc.assert(
      fc.property(fc.constantFrom(...forms), fc.dictionary(fc.constantFrom(...paths), fc.oneof(text, fc.anything())), (fields, raw) => {
        const r = parseArguments(fields, raw);
        if (!r.ok) {
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) {
            expect(paths.has(e.path)).toBe(true);
            expect(e.message.startsWith(e.path)).toBe(true);
          }
        } else {
          expect(JSON.parse(JSON.stringify(r.args))).toEqual(r.args);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("accepts every whole number in range, and gives it back as the same number", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }).filter((n) => n !== 0), (n) => {
        expect(parseArguments(add, { amount: String(n) })).toEqual({ ok: true, args: { amount: n } });
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => {
        const r = parseArguments(fieldsOf(submitJob), { tenant: "ocean", deadlineNs: n.toString() });
        expect(r.ok).toBe(true);
        if (r.ok) expect(BigInt(r.args["deadlineNs"] as number | string)).toBe(n);
      }),
    );
  });

  it("takes null as unset for a field, but refuses it as a list item or a map value, as the gateway does", () => {
    // Found by the gateway's agreement property (console-forms.test.ts): {"windows": [null]} passed here and was refused there.
    const windows = { type: "array", items: { type: "object", properties: { startNs: { type: "integer" } }, additionalProperties: false } };
    expect(checkJson(windows, [null], "args.windows")).toBe("args.windows[0]: null is not a value here (a list item or a map value must be given)");
    expect(checkJson(windows, [{ startNs: null }], "args.windows")).toBeUndefined(); // a field of an item may be null (unset)
    expect(checkJson(windows, null, "args.windows")).toBeUndefined(); // the field itself: unset
    const map = { type: "object", additionalProperties: { type: "string" } };
    expect(checkJson(map, { a: null }, "args.tags")).toMatch(/^args\.tags\["a"\]: null is not a value here/);
    expect(checkJson({ type: "array", items: { anyOf: [{ type: "integer" }, { type: "string" }] } }, [1, null], "x")).toMatch(/^x\[1\]: null is not a value here/);
  });

  it("checks JSON values against the schema subset the gateway uses", () => {
    expect(checkJson({ type: "integer", minimum: 0 }, 1.5, "x")).toBe("x: expected a whole number, got 1.5");
    expect(checkJson({ type: "boolean" }, "yes", "x")).toBe("x: expected true or false");
    expect(checkJson({ type: "string", pattern: "(" }, "a", "x")).toBeUndefined(); // a broken pattern is not ours to judge
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    let schema: Record<string, unknown> = { type: "integer" };
    for (let i = 0; i < 40; i++) schema = { type: "array", items: schema };
    expect(checkJson(schema, deep, "x")).toMatch(/nested deeper than 32/);
  });
});
