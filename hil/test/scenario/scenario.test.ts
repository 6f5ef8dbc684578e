import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario, parseScenarioText, ScenarioError } from "../../src/scenario/load.js";
import { parseBytes, parseDuration } from "../../src/scenario/schema.js";

const scenarios = join(dirname(fileURLToPath(import.meta.url)), "../../scenarios");
const minimal = "name: t\nseed: 1\nepoch: 2026-01-01T00:00:00Z\nduration: 1h\n";

function problems(text: string): string {
  try {
    parseScenarioText(text, "bad.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  throw new Error("expected the scenario to be rejected");
}

describe("scenario files", () => {
  it.each(["nominal-day", "hot-case", "high-radiation", "low-power"])("ships %s, which validates", async (name) => {
    const s = await loadScenario(join(scenarios, `${name}.yaml`));
    expect(s.name).toBe(name);
    expect(s.duration).toBe(86400);
  });

  it("accepts a reset-payload fault (a power cycle of the payload computer) and refuses one with fields it does not have", () => {
    const s = parseScenarioText(minimal + "faults:\n  - at: 30m\n    kind: reset-payload\n");
    expect(s.faults).toEqual([{ at: 1800, kind: "reset-payload" }]);
    expect(problems(minimal + "faults:\n  - at: 30m\n    kind: reset-payload\n    service: jobs\n")).toMatch(/bad\.yaml: faults\[0\]: .*service/);
    expect(problems(minimal + "faults:\n  - at: 2h\n    kind: reset-payload\n")).toMatch(/bad\.yaml: faults\[0\]\.at: 7200 s is after the end of the run/);
    expect(problems(minimal + "faults:\n  - at: soon\n    kind: reset-payload\n")).toMatch(/bad\.yaml: faults\[0\]\.at: expected a duration/);
    expect(problems(minimal + "faults:\n  - kind: reset-payload\n")).toMatch(/bad\.yaml: faults\[0\]\.at/);
    expect(problems(minimal + "faults:\n  - at: 1m\n    kind: reset-board\n")).toMatch(/bad\.yaml: faults\[0\]\.kind/);
  });

  it("fills the documented defaults: 500 km SSO, 10 s step, default power, thermal and radiation", () => {
    const s = parseScenarioText(minimal);
    expect(s.orbit).toMatchObject({ kind: "circular", altitudeKm: 500, inclinationDeg: "sun-synchronous" });
    expect(s.step).toBe(10);
    expect(s.radiation).toMatchObject({ quietRatePerBitDay: 1e-8, saaMultiplier: 10, speMultiplier: 100, multiBitFraction: 0.014 });
    expect(s.power.battery.dodFloorPct).toBe(30);
    expect(s.hardware.memoryBytes).toBe(8 * 1024 ** 3);
  });

  it("names the file, the field and what was expected", () => {
    expect(problems(minimal + "orbit:\n  kind: circular\n  altitudeKm: abc\n")).toMatch(/^bad\.yaml: orbit\.altitudeKm: .*expected number/im);
    expect(problems(minimal + "orbit:\n  kind: circular\n  altitudeKm: 50\n")).toMatch(/bad\.yaml: orbit\.altitudeKm: .*160/);
    expect(problems(minimal + "orbit:\n  kind: molniya\n")).toMatch(/bad\.yaml: orbit\.kind:/);
    expect(problems(minimal.replace("duration: 1h", "duration: forever"))).toMatch(/bad\.yaml: duration: expected a duration like 90s/);
    expect(problems(minimal.replace("2026-01-01T00:00:00Z", "yesterday"))).toMatch(/bad\.yaml: epoch: expected a UTC instant/);
    expect(problems(minimal + "power:\n  battery:\n    initialSocPct: 10\n")).toMatch(/power\.battery: initialSocPct must not be below dodFloorPct/);
    expect(problems(minimal + "faults:\n  - at: 2h\n    kind: kill\n    service: x\n")).toMatch(/faults\[0\]\.at: 7200 s is after the end of the run/);
    expect(problems(minimal + "faults:\n  - at: 1m\n    kind: explode\n")).toMatch(/faults\[0\]\.kind:/);
    expect(problems(minimal + "faults:\n  - at: 1m\n    kind: sensor-stuck\n    sensor: nose\n    duration: 1m\n")).toMatch(/faults\[0\]\.sensor: unknown sensor "nose"; known: thermal_zone0, thermal_zone1, busVoltage/);
    expect(problems(minimal + "colour: blue\n")).toMatch(/bad\.yaml: unknown field colour/);
    expect(problems(minimal + "orbit:\n  kind: circular\n  ltanHours: 6\n  raanDeg: 10\n")).toMatch(/orbit: give ltanHours or raanDeg, not both/);
    expect(problems(minimal + "hardware:\n  cpufreq:\n    - policy: p0\n      cpus: [0]\n      availableKHz: [2, 1]\n")).toMatch(/hardware\.cpufreq\[0\]: availableKHz must be strictly ascending/);
    expect(problems(minimal + "orbit:\n  kind: tle\n  line1: short\n  line2: short\n")).toMatch(/orbit\.line1: a TLE line is 69 characters/);
  });

  it("rejects malformed YAML, duplicate keys, a non-mapping, and alias bombs", () => {
    expect(problems("name: [unclosed\n")).toMatch(/^bad\.yaml: YAML: .*at line \d+, column \d+$/);
    expect(problems(minimal + "name: again\n")).toMatch(/bad\.yaml: YAML: .*[Mm]ap keys must be unique/);
    expect(problems("- 1\n- 2\n")).toMatch(/expected a mapping of scenario fields/);
    expect(problems("")).toMatch(/expected a mapping/);
    const bomb = ["a: &a [x,x,x,x,x,x,x,x,x,x]", ...Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill("*" + String.fromCharCode(97 + i)).join(",")}]`)].join("\n");
    expect(problems(bomb)).toMatch(/bad\.yaml: YAML: .*(alias|Excessive)/i);
  });

  it("rejects unreadable, oversized and non-file paths with the path named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-scn-"));
    await expect(loadScenario(join(dir, "missing.yaml"))).rejects.toThrow(/missing\.yaml: cannot read: ENOENT/);
    mkdirSync(join(dir, "folder.yaml"));
    await expect(loadScenario(join(dir, "folder.yaml"))).rejects.toThrow(/folder\.yaml: not a regular file/);
    writeFileSync(join(dir, "big.yaml"), "x".repeat(1024 * 1024 + 1));
    await expect(loadScenario(join(dir, "big.yaml"))).rejects.toThrow(/big\.yaml: larger than/);
  });

  it("parses durations and sizes, and refuses nonsense", () => {
    expect([parseDuration("90"), parseDuration("15m"), parseDuration("1.5h"), parseDuration("1d"), parseDuration(20)]).toEqual([90, 900, 5400, 86400, 20]);
    expect([parseDuration("1 week"), parseDuration("-5s"), parseDuration(Number.NaN)]).toEqual([undefined, undefined, undefined]);
    expect([parseBytes("8GiB"), parseBytes("512 MiB"), parseBytes(1024)]).toEqual([8 * 1024 ** 3, 512 * 1024 ** 2, 1024]);
    expect(parseBytes("lots")).toBeUndefined();
  });
});

describe("orbit and hardware names checked at load", () => {
  it("rejects a TLE that fails its checksum and an altitude with no sun-synchronous orbit, naming the orbit", () => {
    const iss1 = "1 25544U 98067A   19156.50900463  .00003075  00000-0  59442-4 0  9992";
    const iss2 = "2 25544  51.6433  59.2583 0008217  16.4489 347.6017 15.51174618173442";
    expect(parseScenarioText(`${minimal}orbit:\n  kind: tle\n  line1: "${iss1}"\n  line2: "${iss2}"\n`).orbit.kind).toBe("tle");
    const bad = iss1.slice(0, 68) + ((Number(iss1[68]) + 1) % 10);
    expect(problems(`${minimal}orbit:\n  kind: tle\n  line1: "${bad}"\n  line2: "${iss2}"\n`)).toMatch(/^bad\.yaml: orbit: .*checksum/i);
    expect(problems(`${minimal}orbit:\n  kind: circular\n  altitudeKm: 30000\n`)).toMatch(/^bad\.yaml: orbit: /);
  });

  it("insists on kernel-style hardware names and platform-style region names", () => {
    expect(problems(minimal + "hardware:\n  thermalZones:\n    - { zone: cpu, type: t, node: die }\n")).toMatch(/hardware\.thermalZones\[0\]\.zone: expected thermal_zoneN/);
    expect(problems(minimal + "hardware:\n  edacControllers: [edac0]\n")).toMatch(/hardware\.edacControllers\[0\]: expected mcN/);
    expect(problems(minimal + "hardware:\n  memoryBytes: 1PiB\n")).toMatch(/hardware\.memoryBytes: expected a size/);
    const ok = parseScenarioText(minimal.replace("1h", "2h") + "faults:\n  - { at: 1h, kind: bit-flip, service: s, region: model/weights }\n");
    expect(ok.faults[0]).toMatchObject({ region: "model/weights" });
  });
});
