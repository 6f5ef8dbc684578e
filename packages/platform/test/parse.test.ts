import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  checkAscendingKHz,
  checkIndexedName,
  checkKHz,
  checkRange,
  checkTimeoutS,
  CELSIUS_RANGE,
  parseCounter,
  parseCpuList,
  parseFlag,
  parseKHz,
  parseKHzList,
  parseMicrowatts,
  parseMilliamps,
  parseMilliCelsius,
  parseMillivolts,
  parseName,
  parsePercent,
  parseWatchdogTimeout,
  type Parsed,
} from "../src/index.js";

const reason = <T>(p: Parsed<T>): string => (p.ok ? `ok: ${String(p.value)}` : p.reason);

describe("integer attributes", () => {
  it("parse good sysfs text", () => {
    expect(parseMilliCelsius("45250\n")).toEqual({ ok: true, value: 45.25 });
    expect(parseMilliCelsius("-5000\n")).toEqual({ ok: true, value: -5 });
    expect(parseMilliCelsius("+1000")).toEqual({ ok: true, value: 1 });
    expect(parseKHz("1800000\n")).toEqual({ ok: true, value: 1_800_000 });
    expect(parseMillivolts("12034\n")).toEqual({ ok: true, value: 12.034 });
    expect(parseMilliamps("-1520\n")).toEqual({ ok: true, value: -1.52 });
    expect(parseMicrowatts("18300000\n")).toEqual({ ok: true, value: 18.3 });
    expect(parsePercent("0\n")).toEqual({ ok: true, value: 0 });
    expect(parsePercent("100\n")).toEqual({ ok: true, value: 100 });
    expect(parseWatchdogTimeout("30\n")).toEqual({ ok: true, value: 30 });
  });

  it("say exactly what is wrong with bad text", () => {
    expect(reason(parseMilliCelsius(""))).toBe("file is empty");
    expect(reason(parseMilliCelsius("\n"))).toBe("file is blank");
    expect(reason(parseMilliCelsius("abc\n"))).toBe('not an integer: "abc"');
    expect(reason(parseMilliCelsius("12x\n"))).toBe('not an integer: "12x"');
    expect(reason(parseMilliCelsius("NaN"))).toBe('not an integer: "NaN"');
    expect(reason(parseMilliCelsius("4.5"))).toBe('not an integer: "4.5"');
    expect(reason(parseMilliCelsius("1e3"))).toBe('not an integer: "1e3"');
    expect(reason(parseMilliCelsius("0x10"))).toBe('not an integer: "0x10"');
    expect(reason(parseMilliCelsius("1 2"))).toBe('not an integer: "1 2"');
    expect(reason(parseMilliCelsius("250001"))).toBe("temperature 250.001 °C is outside -100..250 °C");
    expect(reason(parseMilliCelsius("-100001"))).toBe("temperature -100.001 °C is outside -100..250 °C");
    expect(reason(parseMilliCelsius("99999999999999999999999"))).toBe("temperature 99999999999999999999… (raw) °C is outside -100..250 °C");
    expect(reason(parseMilliCelsius("9".repeat(100)))).toMatch(/^not an integer: "9{40}…" is too long$/);
    expect(reason(parseKHz("0"))).toBe("frequency 0 kHz is outside 1..100000000 kHz");
    expect(reason(parseKHz("-600000"))).toBe("frequency -600000 kHz is outside 1..100000000 kHz");
    expect(reason(parseMillivolts("-5"))).toBe("bus voltage -0.005 V is outside 0..1000 V");
    expect(reason(parseMicrowatts("-1"))).toBe("input power -0.000001 W is outside 0..100000 W");
    expect(reason(parsePercent("101"))).toBe("battery state of charge 101 % is outside 0..100 %");
    expect(reason(parsePercent("-1"))).toBe("battery state of charge -1 % is outside 0..100 %");
    expect(reason(parseWatchdogTimeout("0"))).toBe("watchdog timeout 0 s is outside 1..86400 s");
  });

  it("keep the exact limits inclusive", () => {
    expect(parseMilliCelsius("250000")).toEqual({ ok: true, value: 250 });
    expect(parseMilliCelsius("-100000")).toEqual({ ok: true, value: -100 });
  });
});

describe("counters", () => {
  it("are exact bigints up to 2^64-1", () => {
    expect(parseCounter("0\n")).toEqual({ ok: true, value: 0n });
    expect(parseCounter("18446744073709551615\n")).toEqual({ ok: true, value: 2n ** 64n - 1n });
    expect(reason(parseCounter("18446744073709551616"))).toBe("counter 18446744073709551616 exceeds 2^64-1");
    expect(reason(parseCounter("-1"))).toBe('not an unsigned integer: "-1"');
    expect(reason(parseCounter("+1"))).toBe('not an unsigned integer: "+1"');
    expect(reason(parseCounter("abc"))).toBe('not an unsigned integer: "abc"');
    expect(reason(parseCounter(""))).toBe("file is empty");
  });
});

describe("lists", () => {
  it("frequency lists come back ascending and unique", () => {
    expect(parseKHzList("1800000 600000 1000000 600000 \n")).toEqual({ ok: true, value: [600000, 1000000, 1800000] });
    expect(reason(parseKHzList("600000 fast\n"))).toBe('"fast": not an integer: "fast"');
    expect(reason(parseKHzList("600000 0\n"))).toBe('"0": frequency 0 kHz is outside 1..100000000 kHz');
    expect(reason(parseKHzList(""))).toBe("file is empty");
  });

  it("CPU lists take the kernel's blank-separated form and the cpulist form", () => {
    expect(parseCpuList("0 1 2 3\n")).toEqual({ ok: true, value: [0, 1, 2, 3] });
    expect(parseCpuList("0-3,6\n")).toEqual({ ok: true, value: [0, 1, 2, 3, 6] });
    expect(reason(parseCpuList("3-1"))).toBe('CPU range "3-1" is backwards');
    expect(reason(parseCpuList("4096"))).toBe('CPU "4096" is beyond 4095');
    expect(reason(parseCpuList("0 x"))).toBe('not a CPU number or range: "x"');
    expect(reason(parseCpuList("-1"))).toBe('not a CPU number or range: "-1"');
  });
});

describe("names and flags", () => {
  it("names are printable ASCII", () => {
    expect(parseName("cpu-thermal\n")).toEqual({ ok: true, value: "cpu-thermal" });
    expect(reason(parseName("bad\u0000name"))).toBe('name has characters that are not printable ASCII: "bad\\u0000name"');
    expect(reason(parseName("x".repeat(129)))).toMatch(/^name is longer than 128 characters/);
    expect(reason(parseName(" \n"))).toBe("file is blank");
  });

  it("flags are 0 or 1", () => {
    expect(parseFlag("1\n")).toEqual({ ok: true, value: true });
    expect(parseFlag("0\n")).toEqual({ ok: true, value: false });
    expect(reason(parseFlag("yes"))).toBe('not 0 or 1: "yes"');
  });

  it("indexed names cannot escape their folder", () => {
    expect(checkIndexedName("policy0", "policy")).toEqual({ ok: true, value: "policy0" });
    expect(reason(checkIndexedName("../../etc/passwd", "policy"))).toBe('"../../etc/passwd" is not a policyN name');
    expect(reason(checkIndexedName("policy0/../x", "policy"))).toBe('"policy0/../x" is not a policyN name');
    expect(reason(checkIndexedName(7, "policy"))).toBe("name must be a string, got number");
  });
});

describe("number checks (HIL values and requests)", () => {
  it("reject NaN, infinities and out-of-range values", () => {
    expect(reason(checkRange(Number.NaN, CELSIUS_RANGE))).toBe("temperature is not a number (NaN)");
    expect(reason(checkRange(Number.POSITIVE_INFINITY, CELSIUS_RANGE))).toBe("temperature is not finite (Infinity)");
    expect(reason(checkRange(251, CELSIUS_RANGE))).toBe("temperature 251 °C is outside -100..250 °C");
    expect(checkRange(20.5, CELSIUS_RANGE)).toEqual({ ok: true, value: 20.5 });
    expect(reason(checkKHz(1.5))).toBe("frequency must be a whole number of kHz, got 1.5");
    expect(reason(checkTimeoutS(0))).toBe("watchdog timeout 0 s is outside 1..86400 s");
    expect(reason(checkAscendingKHz([600000, 600000]))).toBe("available frequencies are not strictly ascending at #1 (600000 then 600000)");
    expect(reason(checkAscendingKHz([Number.NaN]))).toBe("available frequency #0: frequency must be a whole number of kHz, got NaN");
  });
});

describe("properties", () => {
  const parsers: [string, (text: string) => Parsed<unknown>][] = [
    ["parseMilliCelsius", parseMilliCelsius],
    ["parseKHz", parseKHz],
    ["parseKHzList", parseKHzList],
    ["parseCpuList", parseCpuList],
    ["parseMillivolts", parseMillivolts],
    ["parseMilliamps", parseMilliamps],
    ["parseMicrowatts", parseMicrowatts],
    ["parsePercent", parsePercent],
    ["parseWatchdogTimeout", parseWatchdogTimeout],
    ["parseCounter", parseCounter],
    ["parseFlag", parseFlag],
    ["parseName", parseName],
  ];
  const text = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.stringMatching(/^[-+ 0-9,\n.e-]{0,60}$/),
    fc.bigInt().map((n) => `${n}\n`),
    fc.double().map((n) => `${n}\n`),
  );

  for (const [name, parse] of parsers) {
    it(`${name} never throws and never yields NaN or an unchecked number`, () => {
      fc.assert(
        fc.property(text, (input) => {
          const result = parse(input);
          expect(typeof result.ok).toBe("boolean");
          if (!result.ok) {
            expect(typeof result.reason).toBe("string");
            expect(result.reason.length).toBeGreaterThan(0);
            return;
          }
          const values = Array.isArray(result.value) ? result.value : [result.value];
          for (const v of values) if (typeof v === "number") expect(Number.isFinite(v)).toBe(true);
        }),
        { numRuns: 500 },
      );
    });
  }

  it("a temperature parses to exactly m°C/1000 inside the range and fails outside it", () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 400_000 }), (m) => {
        const r = parseMilliCelsius(`${m}\n`);
        if (m >= -100_000 && m <= 250_000) expect(r).toEqual({ ok: true, value: m / 1000 });
        else expect(r.ok).toBe(false);
      }),
    );
  });

  it("counters round-trip every uint64", () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => {
      expect(parseCounter(`${n}\n`)).toEqual({ ok: true, value: n });
    }));
  });

  it("frequency lists are sorted and unique whatever the order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100_000_000 }), { minLength: 1, maxLength: 50 }), (list) => {
        const r = parseKHzList(list.join(" ") + "\n");
        expect(r).toEqual({ ok: true, value: [...new Set(list)].sort((a, b) => a - b) });
      }),
    );
  });
});
