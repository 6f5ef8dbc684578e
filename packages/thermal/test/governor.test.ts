import { describe, expect, it } from "vitest";
import type { ActorModel } from "../src/allocator.js";
import { ThermalGovernor, profileFor, type GovernorSettings, type ZoneInput } from "../src/governor.js";

const ACTORS: ActorModel[] = [
  { name: "cpu:policy0", kind: "cpu", weight: 1, levels: [600_000, 1_000_000, 1_400_000, 1_800_000].map((value, i) => ({ value, watts: [6, 11, 19, 32][i]! })) },
  { name: "accelerator", kind: "accelerator", weight: 1, levels: [0, 4, 7, 10].map((watts, value) => ({ value, watts })) },
  { name: "jobs", kind: "jobs", weight: 1, levels: [1, 2, 3, 4].map((n) => ({ value: n, watts: 1.5 * n })) },
];
const SUM_MIN = 6 + 0 + 1.5;
const SUM_MAX = 32 + 10 + 6;

const S: GovernorSettings = {
  governor: "power-allocator",
  trips: { die: { passiveC: 80, hotC: 90, criticalC: 100, hysteresisC: 3 }, board: { passiveC: 65, hotC: 75, criticalC: 85, hysteresisC: 2 } },
  switchOnBandC: 10,
  gains: { sustainableW: 30, kPo: 3, kPu: 6, kI: 0.02, kD: 0, integralCutoffC: 3, integralMaxW: 25 },
  conservativeBudgetW: 15,
  sensor: { validMinC: -40, validMaxC: 125, stuckAfterMs: 60_000, recoverSamples: 3 },
  trendDeadbandC: 0.25,
  weights: { cpu: 1, accelerator: 1, jobs: 1 },
  requestTtlMs: 10_000,
};

const zones = (die: unknown, board: unknown = 40): ZoneInput[] => [
  { zone: "thermal_zone0", type: "cpu-thermal", raw: { value: die } },
  { zone: "thermal_zone1", type: "board-thermal", raw: { value: board } },
];

describe("ThermalGovernor", () => {
  it("below the switch-on band: no throttling, every actor at its top", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    const d = g.step(0, zones(60), S);
    expect(d.state).toBe("none");
    expect(d.budgetW).toBe(SUM_MAX);
    expect(d.grants.map((x) => x.levelIndex)).toEqual([3, 3, 3]);
    expect(d.jobConcurrency).toBe(4);
    expect(d.controlZone).toBe("thermal_zone0");
  });

  it("inside the band: the PID budget, divided and quantised, never spending more than the budget", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    const d = g.step(0, zones(82), S);
    expect(d.state).toBe("controlling");
    // 30 + 3·(−2) = 24 W (the integral has had one second)
    expect(d.budgetW).toBeCloseTo(24 - 0.04, 6);
    expect(d.grants.reduce((s, x) => s + x.grantW, 0)).toBeCloseTo(d.budgetW, 6);
    expect(d.grants.reduce((s, x) => s + x.levelW, 0)).toBeLessThanOrEqual(d.budgetW + 1e-9);
    expect(d.pid.pW).toBe(-6);
  });

  it("controls on the zone furthest above its own target", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    // die 78 is 2 below its 80; board 66 is 1 above its 65
    const d = g.step(0, zones(78, 66), S);
    expect(d.controlZone).toBe("thermal_zone1");
    expect(d.targetC).toBe(65);
  });

  it("hot trip: every actor at its minimum until below hot − hysteresis", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    let d = g.step(0, zones(90), S);
    expect(d.state).toBe("hot");
    expect(d.budgetW).toBe(SUM_MIN);
    expect(d.grants.map((x) => x.levelIndex)).toEqual([0, 0, 0]);
    expect(d.transitions.map((t) => `${t.trip}:${t.entered}`)).toEqual(["passive:true", "hot:true"]);
    d = g.step(1000, zones(87.5), S);
    expect(d.state).toBe("hot");
    d = g.step(2000, zones(86.9), S);
    expect(d.state).toBe("controlling");
    expect(d.transitions).toEqual([expect.objectContaining({ trip: "hot", entered: false })]);
  });

  it("critical trip: emergency once, jobs 0, lowest states; cleared below critical − hysteresis", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    let d = g.step(0, zones(100.5), S);
    expect(d.state).toBe("critical");
    expect(d.emergency).toMatchObject({ change: "entered", zone: "thermal_zone0", criticalC: 100 });
    expect(d.jobConcurrency).toBe(0);
    expect(d.grants.find((x) => x.kind === "jobs")).toMatchObject({ value: 0, levelW: 0 });
    expect(d.grants.find((x) => x.kind === "cpu")).toMatchObject({ levelIndex: 0, value: 600_000 });
    d = g.step(1000, zones(98), S);
    expect(d.state).toBe("critical");
    expect(d.emergency).toBeUndefined();
    expect(g.inEmergency).toBe(true);
    d = g.step(2000, zones(96.9), S);
    expect(d.emergency).toMatchObject({ change: "cleared", zone: "thermal_zone0" });
    expect(d.state).toBe("hot"); // still above hot − hysteresis
    expect(g.inEmergency).toBe(false);
  });

  it("a faulty sensor: conservative budget, reported, and its garbage never reaches a trip", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    g.step(0, zones(82), S);
    for (const garbage of [Number.NaN, 1e6, "hot", undefined]) {
      const d = g.step(1000, zones(garbage), S);
      expect(d.degraded).toBe(true);
      expect(d.budgetW).toBe(S.conservativeBudgetW);
      expect(d.reason).toMatch(/sensor fault \(thermal_zone0/);
      expect(d.transitions).toEqual([]);
      expect(d.zones.find((z) => z.zone === "thermal_zone0")!.level).toBe("passive"); // held, not cleared by garbage
    }
  });

  it("a garbage reading of 1000 °C does not cause an emergency", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    const d = g.step(0, zones(1000), S);
    expect(d.state).not.toBe("critical");
    expect(d.emergency).toBeUndefined();
    expect(d.degraded).toBe(true);
  });

  it("degraded with a healthy zone over its target: less than the conservative budget", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    const d = g.step(0, zones(Number.NaN, 72), S);
    // board 7 °C over 65: 30 − 3·7 = 9 W < 15 W
    expect(d.budgetW).toBeCloseTo(9, 9);
    expect(d.controlZone).toBe("thermal_zone1");
  });

  it("a zone that disappears is a missing sensor", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    g.step(0, zones(60), S);
    const d = g.step(1000, [zones(60)[1]!], S);
    expect(d.sensorChanges).toEqual([{ zone: "thermal_zone0", change: "faulted", fault: { kind: "missing", detail: "zone is no longer listed by the platform" } }]);
    expect(d.degraded).toBe(true);
  });

  it("weights and requests steer the division", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    expect(g.setRequest("jobs", 3, 0)).toBeUndefined();
    expect(g.setRequest("nope", 3, 0)).toMatch(/no actor/);
    expect(g.setRequest("jobs", Number.NaN, 0)).toMatch(/finite/);
    const d = g.step(0, zones(83), { ...S, weights: { cpu: 1, accelerator: 0, jobs: 1 } });
    const acc = d.grants.find((x) => x.kind === "accelerator")!;
    // The accelerator's weight is 0: it gets only surplus, and the CPU takes the rest.
    expect(acc.grantW).toBeLessThan(d.grants.find((x) => x.kind === "cpu")!.grantW);
    expect(d.grants.find((x) => x.kind === "jobs")!.requestW).toBe(3);
    // After the TTL the request lapses back to the maximum.
    expect(g.step(20_000, zones(83), S).grants.find((x) => x.kind === "jobs")!.requestW).toBe(6);
  });

  it("step-wise mode: one step per poll by trend", () => {
    const g = new ThermalGovernor(ACTORS, S.gains);
    const sw = { ...S, governor: "step-wise" as const };
    expect(g.step(0, zones(81), sw).grants.map((x) => x.levelIndex)).toEqual([3, 3, 3]);
    expect(g.step(1000, zones(82), sw).grants.map((x) => x.levelIndex)).toEqual([2, 2, 2]);
    expect(g.step(2000, zones(83), sw).grants.map((x) => x.levelIndex)).toEqual([1, 1, 1]);
    expect(g.step(3000, zones(82), sw).grants.map((x) => x.levelIndex)).toEqual([2, 2, 2]);
    const d = g.step(4000, zones(82.1), sw);
    expect(d.grants.map((x) => x.levelIndex)).toEqual([2, 2, 2]);
    expect(d.budgetW).toBe(19 + 7 + 4.5);
  });

  it("zone profiles: configured, else by kernel type", () => {
    expect(profileFor("thermal_zone3", "soc-thermal")).toBe("die");
    expect(profileFor("thermal_zone3", "battery")).toBe("board");
    expect(profileFor("thermal_zone3", "battery", { thermal_zone3: "die" })).toBe("die");
    expect(() => new ThermalGovernor([], S.gains)).toThrow(/at least one actor/);
    expect(() => new ThermalGovernor([ACTORS[0]!, ACTORS[0]!], S.gains)).toThrow(/twice/);
  });
});
