// Typing and checking telecommand arguments from the dictionary's JSON Schema,
// against the schemas the gateway really builds (argumentSchema from
// @umbra/gateway over the real protobuf types): every bad input is a
// UsageError naming the field, before anything is sent.
import { beforeAll, describe, expect, it } from "vitest";
import { argumentSchema, loadProtoTypes, type ProtoTypes } from "@umbra/gateway";
import { UsageError } from "../src/errors.js";
import { coerceArguments, describeRange, describeType, splitPair, type JsonSchema } from "../src/coerce.js";

let types: ProtoTypes;
let counterAdd: JsonSchema;
let submit: JsonSchema;
let setTenant: JsonSchema;
let point: JsonSchema;

beforeAll(async () => {
  types = await loadProtoTypes();
  counterAdd = argumentSchema(types, "umbra.examples.v1.CounterAdd", [["amount", { min: -1000, max: 1000, nonZero: true }]]) as JsonSchema;
  submit = argumentSchema(types, "umbra.jobs.v1.SubmitJob", [["priority", { min: 0, max: 9 }]]) as JsonSchema;
  setTenant = argumentSchema(types, "umbra.jobs.v1.SetTenant", [["tenant", { allowed: ["alpha", "beta"] }]]) as JsonSchema;
  point = argumentSchema(types, "umbra.ttc.v1.TelemetryPoint", []) as JsonSchema;
});

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("coerceArguments", () => {
  it("types a 64-bit integer as an exact decimal string, from key=value or JSON", () => {
    expect(coerceArguments(counterAdd, ["amount=5"], undefined, "counter.add")).toEqual({ amount: "5" });
    expect(coerceArguments(counterAdd, ["amount=-1000"], undefined, "counter.add")).toEqual({ amount: "-1000" });
    expect(coerceArguments(counterAdd, [], '{"amount": 7}', "counter.add")).toEqual({ amount: "7" });
    expect(coerceArguments(counterAdd, [], '{"amount": "7"}', "counter.add")).toEqual({ amount: "7" });
    // key=value overrides --args
    expect(coerceArguments(counterAdd, ["amount=9"], '{"amount": 7}', "counter.add")).toEqual({ amount: "9" });
    expect(coerceArguments(counterAdd, [], undefined, "counter.add")).toEqual({});
  });

  it("keeps 64-bit values beyond 2^53 exact", () => {
    const any64 = argumentSchema(types, "umbra.jobs.v1.SubmitJob", []) as JsonSchema;
    expect(coerceArguments(any64, ["deadlineNs=18446744073709551615"], undefined, "jobs.submit")).toEqual({ deadlineNs: "18446744073709551615" });
    expect(refused(() => coerceArguments(any64, ["deadlineNs=18446744073709551616"], undefined, "jobs.submit"))).toMatch(/deadlineNs: 18446744073709551616 is out of range for an unsigned 64-bit integer/);
    expect(refused(() => coerceArguments(any64, ["deadlineNs=-1"], undefined, "jobs.submit"))).toMatch(/deadlineNs: -1 is out of range/);
  });

  it("refuses out-of-range values, naming the field and the limit", () => {
    expect(refused(() => coerceArguments(counterAdd, ["amount=5000"], undefined, "counter.add"))).toBe("amount: 5000 is above the maximum 1000");
    expect(refused(() => coerceArguments(counterAdd, ["amount=-1001"], undefined, "counter.add"))).toBe("amount: -1001 is below the minimum -1000");
    expect(refused(() => coerceArguments(counterAdd, ["amount=0"], undefined, "counter.add"))).toBe("amount: must not be 0");
    expect(refused(() => coerceArguments(submit, ["priority=10"], undefined, "jobs.submit"))).toBe("priority: 10 is above the maximum 9");
    expect(refused(() => coerceArguments(submit, ["batchSize=4294967296"], undefined, "jobs.submit"))).toBe("batchSize: 4294967296 is above the maximum 4294967295");
  });

  it("refuses the wrong type", () => {
    expect(refused(() => coerceArguments(counterAdd, ["amount=abc"], undefined, "counter.add"))).toBe('amount: expected a 64-bit integer, got "abc"');
    expect(refused(() => coerceArguments(counterAdd, ["amount=1.5"], undefined, "counter.add"))).toMatch(/amount: expected a 64-bit integer/);
    expect(refused(() => coerceArguments(counterAdd, [], '{"amount": true}', "counter.add"))).toBe("amount: expected a 64-bit integer, got true");
    expect(refused(() => coerceArguments(submit, ["priority=high"], undefined, "jobs.submit"))).toBe('priority: expected an integer, got "high"');
    expect(refused(() => coerceArguments(submit, ["priority=2.5"], undefined, "jobs.submit"))).toBe('priority: expected an integer, got "2.5"');
    expect(refused(() => coerceArguments(submit, ["accuracyFloor=x"], undefined, "jobs.submit"))).toBe('accuracyFloor: expected a number, got "x"');
    expect(refused(() => coerceArguments(setTenant, ["rejectOverQuota=maybe"], undefined, "jobs.setTenant"))).toBe('rejectOverQuota: expected true or false, got "maybe"');
    expect(refused(() => coerceArguments(submit, [], '{"tenant": 5}', "jobs.submit"))).toBe("tenant: expected a string, got 5");
  });

  it("refuses an unknown field, listing the command's arguments", () => {
    expect(refused(() => coerceArguments(counterAdd, ["amont=5"], undefined, "counter.add"))).toBe('counter.add has no argument "amont" (its arguments: amount)');
    expect(refused(() => coerceArguments(counterAdd, [], '{"amont": 5}', "counter.add"))).toBe('counter.add has no argument "amont" (its arguments: amount)');
    expect(refused(() => coerceArguments(submit, ["output.sumary=x"], undefined, "jobs.submit"))).toMatch(/^jobs\.submit has no argument "output\.sumary" \(its arguments: output\.keep, output\.summary/);
    const empty = argumentSchema(types, "umbra.examples.v1.CounterReset", []) as JsonSchema;
    expect(refused(() => coerceArguments(empty, ["x=1"], undefined, "counter.reset"))).toBe('counter.reset has no argument "x" (it takes no arguments)');
  });

  it("refuses malformed input: not key=value, a key twice, --args that is not a JSON object", () => {
    expect(refused(() => coerceArguments(counterAdd, ["amount"], undefined, "counter.add"))).toBe('argument "amount" must be key=value');
    expect(refused(() => coerceArguments(counterAdd, ["=5"], undefined, "counter.add"))).toBe('argument "=5" must be key=value');
    expect(refused(() => coerceArguments(counterAdd, ["amount=1", "amount=2"], undefined, "counter.add"))).toBe('argument "amount" is given twice');
    expect(refused(() => coerceArguments(counterAdd, [], "[1]", "counter.add"))).toMatch(/--args must be a JSON object/);
    expect(refused(() => coerceArguments(counterAdd, [], "{amount: 1}", "counter.add"))).toMatch(/--args: not valid JSON/);
  });

  it("types strings, numbers, booleans, lists, enums and nested messages", () => {
    const args = coerceArguments(
      submit,
      ["jobId=j1", "tenant=demo", "model=tiny-cls", "variants=tiny-seg, ocr-cls", "accuracyFloor=0.8", "priority=5", "output.summary=class_counts", "output.maxDetections=8", "protection=tmr"],
      undefined,
      "jobs.submit",
    );
    expect(args).toEqual({
      jobId: "j1",
      tenant: "demo",
      model: "tiny-cls",
      variants: ["tiny-seg", "ocr-cls"],
      accuracyFloor: 0.8,
      priority: 5,
      output: { summary: "SUMMARY_KIND_CLASS_COUNTS", maxDetections: 8 },
      protection: "tmr",
    });
    // An enum by its full name, by its number, and an unknown one.
    expect(coerceArguments(submit, ["output.summary=SUMMARY_KIND_DETECTIONS"], undefined, "jobs.submit")).toEqual({ output: { summary: "SUMMARY_KIND_DETECTIONS" } });
    expect(coerceArguments(submit, ["output.summary=2"], undefined, "jobs.submit")).toEqual({ output: { summary: 2 } });
    expect(refused(() => coerceArguments(submit, ["output.summary=pie"], undefined, "jobs.submit"))).toMatch(/^output\.summary: "pie" is not one of SUMMARY_KIND_/);
    // Lists as JSON too, and a nested message as JSON.
    expect(coerceArguments(submit, ['variants=["a","b"]', 'output={"summary":"cloud_free","clearLabels":["class-0"]}'], undefined, "jobs.submit")).toEqual({
      variants: ["a", "b"],
      output: { summary: "SUMMARY_KIND_CLOUD_FREE", clearLabels: ["class-0"] },
    });
    expect(coerceArguments(setTenant, ["rejectOverQuota=yes", "quotaJoules=1e3"], undefined, "jobs.setTenant")).toEqual({ rejectOverQuota: true, quotaJoules: 1000 });
  });

  it("checks a string against the declared allowed values", () => {
    expect(coerceArguments(setTenant, ["tenant=alpha"], undefined, "jobs.setTenant")).toEqual({ tenant: "alpha" });
    expect(refused(() => coerceArguments(setTenant, ["tenant=gamma"], undefined, "jobs.setTenant"))).toBe('tenant: "gamma" is not one of alpha, beta');
  });

  it("refuses two members of one oneof", () => {
    expect(coerceArguments(point, ["number=1.5"], undefined, "x.point")).toEqual({ number: 1.5 });
    expect(refused(() => coerceArguments(point, ["number=1.5", "flag=true"], undefined, "x.point"))).toBe("give at most one of number, flag (they are the oneof value)");
  });

  it("splitPair keeps everything after the first =", () => {
    expect(splitPair("note=a=b")).toEqual({ key: "note", value: "a=b" });
    expect(splitPair("empty=")).toEqual({ key: "empty", value: "" });
  });
});

describe("describeType and describeRange (for umbra dict)", () => {
  it("says what a field takes", () => {
    const props = (s: JsonSchema) => s.properties!;
    expect(describeType(props(counterAdd)["amount"]!)).toBe("64-bit integer");
    expect(describeRange(props(counterAdd)["amount"]!)).toBe("-1000..1000, not 0");
    expect(describeType(props(submit)["priority"]!)).toBe("integer");
    expect(describeRange(props(submit)["priority"]!)).toBe("0..9");
    expect(describeType(props(submit)["variants"]!)).toBe("list of string");
    expect(describeType(props(submit)["accuracyFloor"]!)).toBe("number");
    expect(describeType(props(setTenant)["rejectOverQuota"]!)).toBe("boolean (true/false)");
    expect(describeType(props(setTenant)["tenant"]!)).toBe("one of alpha, beta");
    expect(describeType(props(props(submit)["output"]!)["summary"]!)).toMatch(/^one of SUMMARY_KIND_UNSPECIFIED, SUMMARY_KIND_CLASS_COUNTS/);
    expect(describeType(props(submit)["deadlineNs"]!)).toBe("unsigned 64-bit integer");
  });
});
