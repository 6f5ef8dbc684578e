// The console's command forms against the gateway's own argument check,
// on real argument messages and rules: whatever the console's form accepts,
// the gateway accepts too (the console never says "fine" to what will be
// refused), and whatever the gateway refuses for a declared rule, the
// console refuses too, naming the same field. The console builds its forms
// from the very JSON Schemas this gateway serves (argumentSchema).
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { ArgumentRuleSpec } from "@umbra/core";
import { fieldsOf, leafFields, parseArguments, type FieldSpec } from "../../console/src/logic/forms.js";
import { argumentSchema, checkArguments, loadProtoTypes, type ProtoTypes } from "../src/dictionary/index.js";

type Rules = [string, ArgumentRuleSpec][];

// Commands as services declare them (examples/counter-service, packages/ttc, packages/inference, the gateway tests' probe).
const COMMANDS: { name: string; type: string; rules: Rules }[] = [
  { name: "counter.add", type: "umbra.examples.v1.CounterAdd", rules: [["amount", { min: -1000, max: 1000, nonZero: true }]] },
  { name: "ttc.arm", type: "umbra.ttc.v1.ArmCommand", rules: [["apid", { min: 0, max: 2046 }]] },
  { name: "ttc.rotateKey", type: "umbra.ttc.v1.RotateKey", rules: [["oldSpi", { min: 1, max: 65534 }], ["newSpi", { min: 1, max: 65534 }]] },
  { name: "ttc.setContacts", type: "umbra.ttc.v1.ContactSchedule", rules: [] },
  { name: "inference.setAccuracy", type: "umbra.inference.v1.SetModelAccuracy", rules: [["accuracy", { min: 0, max: 1 }]] },
  { name: "probe.tenant", type: "umbra.jobs.v1.SetTenant", rules: [["tenant", { allowed: ["alpha", "beta"] }], ["quotaJoules", { min: 0, max: 1000 }]] },
  { name: "jobs.submit", type: "umbra.jobs.v1.SubmitJob", rules: [] },
  { name: "thermal.reset", type: "umbra.thermal.v1.ResetGovernor", rules: [] },
];

let types: ProtoTypes;
let forms: { name: string; type: string; rules: Rules; fields: FieldSpec[] }[];
beforeAll(async () => {
  types = await loadProtoTypes();
  forms = COMMANDS.map((c) => ({ ...c, fields: fieldsOf(argumentSchema(types, c.type, c.rules)) }));
});

/** Text an operator might type into a field of this kind: mostly plausible, some hostile. */
function textFor(f: FieldSpec): fc.Arbitrary<unknown> {
  const junk = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("", " ", "-0", "1e3", "0x1f", "NaN", "Infinity", "[", "{}", "null"));
  switch (f.kind) {
    case "integer":
    case "int64":
      return fc.oneof(fc.integer({ min: -5000, max: 70000 }).map(String), fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }).map(String), junk);
    case "number":
      return fc.oneof(fc.double({ noNaN: true, min: -2, max: 2 }).map(String), fc.double().map(String), junk);
    case "boolean":
      return fc.oneof(fc.boolean(), junk);
    case "choice":
    case "enum":
      return fc.oneof(fc.constantFrom(...(f.options ?? [""]), ""), junk);
    case "list":
      return fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer().map(String)), { maxLength: 3 }).map((a) => a.join(",")), fc.json(), junk);
    case "json":
      return fc.oneof(fc.json(), fc.constantFrom('[{"startNs": "5", "endNs": 9, "station": "a"}]', '{"a": 1}', "[]"), junk);
    default:
      return fc.oneof(fc.string({ maxLength: 12 }), junk);
  }
}

describe("the console's forms and the gateway's argument check", () => {
  it("build a field for every argument field, with the declared ranges", () => {
    const byName = Object.fromEntries(forms.map((f) => [f.name, f.fields]));
    expect(byName["counter.add"]).toEqual([expect.objectContaining({ path: "amount", kind: "int64", min: "-1000", max: "1000", nonZero: true })]);
    expect(byName["ttc.arm"]!.find((f) => f.path === "apid")).toMatchObject({ kind: "integer", min: 0, max: 2046 });
    expect(byName["probe.tenant"]!.find((f) => f.path === "tenant")).toMatchObject({ kind: "choice", options: ["alpha", "beta"] });
    expect(byName["thermal.reset"]).toEqual([expect.objectContaining({ path: "clearSensorFaults", kind: "boolean" })]);
    const submit = leafFields(byName["jobs.submit"]!);
    expect(submit.find((f) => f.path === "deadlineInS")).toMatchObject({ kind: "integer", unit: "s" });
    expect(submit.find((f) => f.path === "output.summary")).toMatchObject({ kind: "enum" });
  });

  it("agree: what the console accepts the gateway accepts, and a declared rule the gateway enforces the console enforces too", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: COMMANDS.length - 1 }).chain((i) => {
          const leaves = leafFields(forms[i]!.fields);
          return fc.tuple(fc.constant(i), fc.record(Object.fromEntries(leaves.map((f) => [f.path, textFor(f)])), { requiredKeys: [] }));
        }),
        ([i, raw]) => {
          const form = forms[i]!;
          const mine = parseArguments(form.fields, raw);
          if (mine.ok) {
            const theirs = checkArguments(types, form.type, form.rules, mine.args);
            expect(theirs.ok ? "ok" : theirs.message, `${form.name} ${JSON.stringify(raw)} -> ${JSON.stringify(mine.args)}`).toBe("ok");
          } else {
            // The console refused: every reason names a field of the form.
            for (const e of mine.errors) expect(leafFields(form.fields).some((f) => f.path === e.path)).toBe(true);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("refuse the same rule violations, naming the same field", () => {
    const cases: [string, Record<string, unknown>][] = [
      ["counter.add", { amount: "5000" }],
      ["counter.add", { amount: "0" }],
      ["counter.add", {}],
      ["ttc.arm", { apid: "2047" }],
      ["ttc.rotateKey", { oldSpi: "0", newSpi: "2" }],
      ["inference.setAccuracy", { accuracy: "1.5" }],
      ["probe.tenant", { tenant: "gamma" }],
      ["probe.tenant", { tenant: "alpha", quotaJoules: "-1" }],
    ];
    for (const [name, raw] of cases) {
      const form = forms.find((f) => f.name === name)!;
      const mine = parseArguments(form.fields, raw);
      expect(mine.ok, `${name} ${JSON.stringify(raw)}`).toBe(false);
      // What the gateway says of the same values (empty fields as the defaults they become).
      const values = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, /^-?[0-9.]+$/.test(String(v)) ? Number(v) : v]));
      const theirs = checkArguments(types, form.type, form.rules, values);
      expect(theirs.ok, `${name} ${JSON.stringify(values)}`).toBe(false);
      if (!mine.ok && !theirs.ok) expect(`args.${mine.errors[0]!.path}`).toBe(theirs.field);
    }
  });
});
