import { describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { command, checkArgumentRules, checkParameterValue, declarationMessage, defineService, fromValueMessage, toValueMessage, DeclarationError } from "../../src/service/declaration.js";
import { ParameterStore } from "../../src/service/parameters.js";

const minimal = { name: "svc", apid: 100, description: "d", commands: {}, telemetry: {}, events: {}, parameters: {} };

describe("service declarations", () => {
  it("rejects each inconsistency with the service and field named", () => {
    const bad: [object, RegExp][] = [
      [{ name: "bad name" }, /service "bad name": name:/],
      [{ apid: 2047 }, /apid: 2047 is not in 0..2046/],
      [{ apid: -1 }, /apid/],
      [{ apid: 1.5 }, /apid/],
      [{ events: { a: { id: 1, severity: "info", description: "" }, b: { id: 1, severity: "low", description: "" } } }, /events.b.id: 1 is used by another event/],
      [{ events: { a: { id: 70000, severity: "info", description: "" } } }, /events.a.id: 70000 is not in 0..65535/],
      [{ events: { "Bad-Name": { id: 1, severity: "info", description: "" } } }, /events.Bad-Name: name must be/],
      [{ parameters: { p: { type: "int", default: 500, min: 0, max: 100, description: "" } } }, /parameters.p.default: 500 is above the maximum 100/],
      [{ parameters: { p: { type: "int", default: 5, min: 10, max: 1, description: "" } } }, /parameters.p: min is above max/],
      [{ parameters: { p: { type: "string", default: "x", allowed: ["a"], description: "" } } }, /parameters.p.default: "x" is not one of a/],
      [{ telemetry: { t: { type: "float", description: "", warning: { low: 5, high: 1 } } } }, /telemetry.t.warning: low must be below high/],
      [
        {
          commands: {
            a: command(umbra.examples.v1.CounterAdd, { description: "" }),
            b: command(umbra.examples.v1.CounterAdd, { description: "" }),
          },
        },
        /commands.b: argument type umbra.examples.v1.CounterAdd is already used/,
      ],
    ];
    for (const [patch, message] of bad) {
      expect(() => defineService({ ...minimal, ...patch } as never)).toThrow(DeclarationError);
      expect(() => defineService({ ...minimal, ...patch } as never)).toThrow(message);
    }
  });

  it("turns into the ServiceDeclaration message the dictionary is built from", () => {
    const spec = defineService({
      ...minimal,
      commands: { add: command(umbra.examples.v1.CounterAdd, { description: "adds", critical: true }) },
      telemetry: { temp: { type: "float", unit: "degC", description: "t", critical: { high: 90 } } },
      events: { hot: { id: 3, severity: "high", description: "h" } },
      parameters: { gain: { type: "float", default: 0.5, min: 0, max: 1, description: "g" } },
    });
    const bytes = umbra.core.v1.ServiceDeclaration.encode(umbra.core.v1.ServiceDeclaration.fromObject(declarationMessage(spec))).finish();
    const back = umbra.core.v1.ServiceDeclaration.toObject(umbra.core.v1.ServiceDeclaration.decode(bytes), { defaults: true });
    expect(back["commands"]).toEqual([{ name: "add", argumentType: "umbra.examples.v1.CounterAdd", critical: true, description: "adds", arguments: [] }]);
    expect(back["telemetry"][0]).toMatchObject({ name: "temp", unit: "degC", critical: { hasLow: false, hasHigh: true, high: 90 } });
    expect(back["events"][0]).toMatchObject({ id: 3, name: "hot", severity: umbra.core.v1.Severity.SEVERITY_HIGH });
    expect(back["parameters"][0]).toMatchObject({ name: "gain", hasMin: true, min: 0, hasMax: true, max: 1, defaultValue: { floatValue: 0.5 } });
  });
});

describe("argument rules", () => {
  const rules = [
    ["amount", { min: -10, max: 10, nonZero: true }],
    ["mode", { allowed: ["a", "b"] }],
  ] as const;
  it("checks numbers (number or bigint), zero and allowed strings, naming the field", () => {
    expect(checkArgumentRules(rules, { amount: 5n, mode: "a" })).toBeUndefined();
    expect(checkArgumentRules(rules, { amount: 11n })).toBe("amount: 11 is above the maximum 10");
    expect(checkArgumentRules(rules, { amount: -11 })).toBe("amount: -11 is below the minimum -10");
    expect(checkArgumentRules(rules, { amount: 0n })).toBe("amount: must not be 0");
    expect(checkArgumentRules(rules, { amount: 1, mode: "c" })).toBe('mode: "c" is not one of a, b');
    expect(checkArgumentRules(rules, { amount: 2n ** 70n })).toBe(`amount: ${2n ** 70n} is above the maximum 10`);
  });

  it("are published in the declaration and refuse min above max", () => {
    const spec = defineService({
      ...minimal,
      commands: { add: command(umbra.examples.v1.CounterAdd, { description: "", arguments: { amount: { min: 1, max: 5 } } }) },
    });
    expect(declarationMessage(spec).commands?.[0]?.arguments).toEqual([{ field: "amount", hasMin: true, min: 1, hasMax: true, max: 5, allowed: [], nonZero: false }]);
    expect(() => defineService({ ...minimal, commands: { add: command(umbra.examples.v1.CounterAdd, { description: "", arguments: { amount: { min: 5, max: 1 } } }) } })).toThrow(
      /commands.add.arguments.amount: min is above max/,
    );
  });
});

describe("parameter values", () => {
  const int = { type: "int" as const, default: 1, min: -5, max: 5, description: "" };
  it("checks type, integrality, range and allowed strings", () => {
    expect(checkParameterValue(int, 3)).toBeUndefined();
    expect(checkParameterValue(int, 3.5)).toMatch(/integer/);
    expect(checkParameterValue(int, 6)).toMatch(/above the maximum 5/);
    expect(checkParameterValue(int, -6)).toMatch(/below the minimum -5/);
    expect(checkParameterValue(int, Number.NaN)).toMatch(/finite/);
    expect(checkParameterValue(int, "3")).toMatch(/expected a finite number, got string "3"/);
    expect(checkParameterValue(int, 3n)).toMatch(/got bigint 3/);
    expect(checkParameterValue({ type: "bool", default: true, description: "" }, 1)).toMatch(/boolean/);
    expect(checkParameterValue({ type: "string", default: "", description: "" }, "x".repeat(257))).toMatch(/longer than 256/);
  });

  it("round-trips through the Value message; an int outside the safe range is flagged, not rounded", () => {
    for (const [t, v] of [["bool", true], ["int", -42], ["float", 1.25], ["string", "ok"]] as const) {
      const msg = umbra.core.v1.Value.toObject(umbra.core.v1.Value.fromObject(toValueMessage(t, v)), { longs: BigInt, oneofs: true });
      expect(fromValueMessage(msg as never)).toBe(v);
    }
    expect(fromValueMessage({ kind: "intValue", intValue: 2n ** 60n } as never)).toBeNaN();
    expect(fromValueMessage(null)).toBeUndefined();
  });

  it("sets atomically: one bad value leaves every value as it was", () => {
    const store = new ParameterStore({ a: int, b: { type: "bool", default: false, description: "" } });
    expect(store.setMany({ a: 2, b: true })).toEqual({ ok: true, changed: ["a", "b"] });
    expect(store.setMany({ a: 4, b: "yes" })).toEqual({ ok: false, error: "b: expected a boolean, got string \"yes\"" });
    expect(store.snapshot()).toEqual({ a: 2, b: true });
    expect(store.setMany({ nope: 1 })).toEqual({ ok: false, error: "nope: no such parameter" });
    expect(store.setMany({ constructor: 1 })).toEqual({ ok: false, error: "constructor: no such parameter" });
    expect(store.setMany({ a: 2 })).toEqual({ ok: true, changed: [] });
  });

  it("refuses bad initial values when the service is built", () => {
    expect(() => new ParameterStore({ a: int }, { a: 99 })).toThrow(/initial parameters: a: 99 is above the maximum 5/);
  });
});
