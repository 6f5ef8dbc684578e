import { describe, expect, it } from "vitest";
import { Priority, type ServiceContext } from "@umbra/core";
import { ServiceHarness } from "@umbra/core/testing";
import { createHilPlatform, PlatformError } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { ThermalService, type ThermalServiceOptions } from "../src/service.js";
import type { ThermalConfig } from "../src/config.js";
import { FakeCpuFreq, FakeThermal } from "./support/fake-platform.js";

const { CommandStatus, Severity } = umbra.core.v1;
const { ThrottleState } = umbra.thermal.v1;

const CONFIG: ThermalConfig = {
  cpu: { tables: { policy0: [600_000, 1_000_000, 1_400_000, 1_800_000].map((khz, i) => ({ khz, watts: [6, 11, 19, 32][i]! })) } },
  accelerator: { levels: [0, 4, 7, 10].map((watts, level) => ({ level, watts })) },
  jobs: { minSlots: 1, maxSlots: 4, slotW: 1.5 },
};

async function start(parameters: Record<string, unknown> = {}, options: Partial<ThermalServiceOptions> = {}) {
  const thermal = new FakeThermal();
  const cpufreq = new FakeCpuFreq();
  const h = await ServiceHarness.start((ctx: ServiceContext) => new ThermalService(ctx, { thermal, cpufreq, config: CONFIG, ...options }), { parameters });
  h.record(umbra.thermal.v1.PowerBudget);
  h.record(umbra.thermal.v1.ThermalEmergency);
  return { h, thermal, cpufreq };
}

const lastBudget = (h: Awaited<ReturnType<typeof start>>["h"]) => h.published(umbra.thermal.v1.PowerBudget).at(-1)!.message;

describe("ThermalService", () => {
  it("publishes a PowerBudget every poll at command priority, with telemetry", async () => {
    const { h } = await start();
    await h.advance(3000);
    const budgets = h.published(umbra.thermal.v1.PowerBudget);
    expect(budgets).toHaveLength(3);
    expect(budgets.every((b) => b.meta.priority === Priority.PRIORITY_COMMAND)).toBe(true);
    const b = budgets.at(-1)!.message;
    expect(b.sequence).toBe(3n);
    expect(b.state).toBe(ThrottleState.THROTTLE_STATE_NONE);
    expect(b.jobConcurrency).toBe(4);
    expect(b.budgetW).toBe(48);
    expect(b.grants.map((g) => `${g.actor}:${g.level}/${g.maxLevel}`)).toEqual(["cpu:policy0:3/3", "accelerator:3/3", "jobs:4/4"]);
    expect(b.grants[0]!.khz).toBe(1_800_000);
    expect(b.governor).toBe("power-allocator");
    expect(h.telemetry("dieC").at(-1)!.value).toBeCloseTo(50, 1);
    expect(h.telemetry("budgetW").at(-1)!.value).toBe(48);
    expect(h.telemetry("throttleState").at(-1)!.value).toBe(1);
    await h.stop();
  });

  it("throttles through the cpufreq port when the die is over target and counts time throttled", async () => {
    const { h, thermal, cpufreq } = await start();
    thermal.set("thermal_zone0", 84);
    await h.advance(5000);
    const b = lastBudget(h);
    expect(b.state).toBe(ThrottleState.THROTTLE_STATE_CONTROLLING);
    expect(b.budgetW).toBeLessThan(25);
    expect(b.estimatedW).toBeLessThanOrEqual(b.budgetW + 1e-9);
    expect(cpufreq.sets.length).toBeGreaterThan(0);
    expect(cpufreq.max.get("policy0")).toBe(b.grants[0]!.khz);
    expect(cpufreq.max.get("policy0")).toBeLessThan(1_800_000);
    expect(h.events("passiveTrip")).toHaveLength(1);
    expect(h.telemetry("throttledS").at(-1)!.value).toBe(4);
    await h.stop();
  });

  it("critical trip: ThermalEmergency at safety priority, jobs 0, lowest frequency, high event; recovers with hysteresis", async () => {
    const { h, thermal, cpufreq } = await start();
    await h.advance(1000);
    thermal.set("thermal_zone0", 101);
    await h.advance(1000);
    const em = h.published(umbra.thermal.v1.ThermalEmergency);
    expect(em).toHaveLength(1);
    expect(em[0]!.meta.priority).toBe(Priority.PRIORITY_SAFETY);
    expect(em[0]!.message).toMatchObject({ active: true, zone: "thermal_zone0", criticalC: 100 });
    const b = lastBudget(h);
    expect(b.state).toBe(ThrottleState.THROTTLE_STATE_CRITICAL);
    expect(b.jobConcurrency).toBe(0);
    expect(cpufreq.max.get("policy0")).toBe(600_000);
    const ev = h.events("criticalTrip");
    expect(ev).toHaveLength(1);
    expect(ev[0]!.severity).toBe(Severity.SEVERITY_HIGH);
    // Inside the hysteresis band: still an emergency, repeated each poll, one event only.
    thermal.set("thermal_zone0", 97.5);
    await h.advance(2000);
    expect(lastBudget(h).jobConcurrency).toBe(0);
    expect(h.published(umbra.thermal.v1.ThermalEmergency).every((e) => e.message.active)).toBe(true);
    expect(h.events("criticalTrip")).toHaveLength(1);
    // Below critical − hysteresis: cleared, announced, jobs may run again within the budget.
    thermal.set("thermal_zone0", 85);
    await h.advance(1000);
    const last = h.published(umbra.thermal.v1.ThermalEmergency).at(-1)!;
    expect(last.message.active).toBe(false);
    expect(last.meta.priority).toBe(Priority.PRIORITY_SAFETY);
    expect(h.events("criticalCleared")).toHaveLength(1);
    expect(lastBudget(h).jobConcurrency).toBeGreaterThanOrEqual(1);
    await h.stop();
  });

  it("the emergency reaches a subscriber before the budget of the same poll", async () => {
    const { h, thermal } = await start();
    const order: string[] = [];
    h.bus.subscribe(umbra.thermal.v1.ThermalEmergency, () => void order.push("emergency"));
    h.bus.subscribe(umbra.thermal.v1.PowerBudget, (b) => void order.push(`budget:${b.jobConcurrency}`));
    thermal.set("thermal_zone0", 120);
    await h.advance(1000);
    expect(order).toEqual(["emergency", "budget:0"]);
    await h.stop();
  });

  for (const [kind, value] of [
    ["nan", Number.NaN],
    ["nan", "72.0"],
    ["out-of-range", 400],
    ["out-of-range", Number.POSITIVE_INFINITY],
    ["missing", new PlatformError("thermal", "thermal_zone0/temp", "EIO")],
    ["nan", new PlatformError("thermal", "thermal_zone0/temp", "temperature is not a number (NaN)")],
  ] as const) {
    it(`sensor ${kind} (${String(value)}): conservative budget, reported, never acted on`, async () => {
      const { h, thermal } = await start();
      await h.advance(1000);
      thermal.set("thermal_zone0", value);
      await h.advance(2000);
      const b = lastBudget(h);
      expect(b.sensorsDegraded).toBe(true);
      expect(b.budgetW).toBe(10);
      expect(b.state).not.toBe(ThrottleState.THROTTLE_STATE_CRITICAL);
      expect(h.published(umbra.thermal.v1.ThermalEmergency)).toHaveLength(0);
      const ev = h.events("sensorFault");
      expect(ev).toHaveLength(1);
      expect(ev[0]!.args["kind"]).toBe(kind);
      expect(h.telemetry("sensorsDegraded").at(-1)!.value).toBe(true);
      expect(h.telemetry("sensorFaults").at(-1)!.value).toBe(1);
      // Good readings again: trusted after recoverSamples (3).
      thermal.set("thermal_zone0", 50);
      await h.advance(3000);
      expect(h.events("sensorRecovered")).toHaveLength(1);
      expect(lastBudget(h).sensorsDegraded).toBe(false);
      await h.stop();
    });
  }

  it("sensor stuck: detected after stuckAfterMs", async () => {
    const { h, thermal } = await start({ stuckAfterMs: 5000 });
    const frozen = new FakeThermal();
    // Replace the noisy read by a frozen one.
    thermal.readCelsius = async (zone: string) => (zone === "thermal_zone0" ? 70.125 : frozen.readCelsius("thermal_zone1"));
    await h.advance(5000);
    expect(h.events("sensorFault")).toHaveLength(0);
    await h.advance(1000);
    expect(h.events("sensorFault").map((e) => e.args["kind"])).toEqual(["stuck"]);
    expect(lastBudget(h).sensorsDegraded).toBe(true);
    await h.stop();
  });

  it("a zone listing that fails makes every known zone missing", async () => {
    const { h, thermal } = await start();
    await h.advance(1000);
    thermal.listFails = true;
    await h.advance(1000);
    expect(h.events("sensorFault").map((e) => e.args["zone"]).sort()).toEqual(["thermal_zone0", "thermal_zone1"]);
    expect(lastBudget(h).budgetW).toBe(10);
    await h.stop();
  });

  it("refuses hostile parameters over SetParameters (ST[20]) and changes nothing", async () => {
    const { h } = await start();
    const before = await h.getParameters();
    const cases: [Record<string, number | string | boolean>, RegExp][] = [
      [{ dieHotC: 75 }, /die trips: need passive < hot < critical/],
      [{ diePassiveC: 95, dieHotC: 90 }, /passive < hot < critical/],
      [{ dieHysteresisC: 20 }, /hysteresis 20 °C must be smaller/],
      [{ boardCriticalC: 70 }, /board trips/],
      [{ validMinC: 130 }, /validMinC .* must be below validMaxC/],
      [{ kI: Number.NaN }, /kI: expected a finite number/],
      [{ kPo: -1 }, /kPo: -1 is below the minimum 0/],
      [{ sustainablePowerW: 1e9 }, /above the maximum/],
      [{ governor: "bang-bang" }, /governor: "bang-bang" is not one of power-allocator, step-wise/],
      [{ pollPeriodMs: 1 }, /pollPeriodMs: 1 is below the minimum 100/],
      [{ diePassiveC: 70, stuckAfterMs: -5 }, /stuckAfterMs/],
      [{ noSuch: 1 }, /no such parameter/],
    ];
    for (const [values, error] of cases) {
      const r = await h.setParameters(values);
      expect(r.ok, JSON.stringify(values)).toBe(false);
      expect(r.error).toMatch(error);
    }
    expect(await h.getParameters()).toEqual(before);
    // A consistent set that moves all three trips together is accepted atomically.
    const ok = await h.setParameters({ diePassiveC: 70, dieHotC: 78, dieCriticalC: 88 });
    expect(ok.ok).toBe(true);
    await h.stop();
  });

  it("applies new trip points and the governor choice at the next poll", async () => {
    const { h, thermal } = await start();
    thermal.set("thermal_zone0", 76);
    await h.advance(1000);
    expect(h.events("passiveTrip")).toHaveLength(0);
    expect((await h.setParameters({ diePassiveC: 75 })).ok).toBe(true);
    await h.advance(1000);
    expect(h.events("passiveTrip")).toHaveLength(1);
    expect((await h.setParameters({ governor: "step-wise" })).ok).toBe(true);
    await h.advance(1000);
    expect(lastBudget(h).governor).toBe("step-wise");
    await h.stop();
  });

  it("refuses garbage PowerRequests and counts them", async () => {
    const { h } = await start();
    h.bus.publish(umbra.thermal.v1.PowerRequest, { actor: "jobs", requestedW: Number.NaN });
    h.bus.publish(umbra.thermal.v1.PowerRequest, { actor: "jobs", requestedW: -3 });
    h.bus.publish(umbra.thermal.v1.PowerRequest, { actor: "warp-drive", requestedW: 3 });
    h.bus.publish(umbra.thermal.v1.PowerRequest, { actor: "jobs", requestedW: 1e300 });
    await h.advance(1000);
    expect(h.telemetry("badRequests").at(-1)!.value).toBe(3);
    // The huge one is clamped to the actor's maximum.
    expect(lastBudget(h).grants.find((g) => g.actor === "jobs")!.requestedW).toBe(6);
    await h.stop();
  });

  it("a refused frequency change raises actuatorFailed and is retried", async () => {
    const { h, thermal, cpufreq } = await start();
    cpufreq.failSets = true;
    thermal.set("thermal_zone0", 88);
    await h.advance(2000);
    expect(h.events("actuatorFailed").length).toBeGreaterThanOrEqual(1);
    expect(h.telemetry("actuatorErrors").at(-1)!.value).toBeGreaterThanOrEqual(1);
    cpufreq.failSets = false;
    await h.advance(1000);
    expect(cpufreq.max.get("policy0")).toBeLessThan(1_800_000);
    await h.stop();
  });

  it("reset command clears the loop and, when asked, sensor faults", async () => {
    const { h, thermal } = await start();
    thermal.set("thermal_zone0", Number.NaN);
    await h.advance(1000);
    thermal.set("thermal_zone0", 60);
    const r = await h.command("reset", { clearSensorFaults: true });
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    await h.advance(1000);
    expect(lastBudget(h).sensorsDegraded).toBe(false);
    expect(h.events("governorReset")).toHaveLength(1);
    await h.stop();
  });

  it("refuses a configuration that does not fit the hardware, and inconsistent initial parameters", async () => {
    const bad: ThermalConfig = { ...CONFIG, cpu: { tables: { policy0: [{ khz: 600_000, watts: 6 }] } } };
    await expect(ServiceHarness.start((ctx) => new ThermalService(ctx, { thermal: new FakeThermal(), cpufreq: new FakeCpuFreq(), config: bad }))).rejects.toThrow(
      /cpu.tables.policy0: has no power for 1000000 kHz/,
    );
    await expect(
      ServiceHarness.start((ctx) => new ThermalService(ctx, { thermal: new FakeThermal(), cpufreq: new FakeCpuFreq(), config: { ...CONFIG, jobs: { minSlots: 0, maxSlots: 4, slotW: 1 } } })),
    ).rejects.toThrow(/jobs.minSlots/);
    await expect(
      ServiceHarness.start((ctx) => new ThermalService(ctx, { thermal: new FakeThermal(), cpufreq: new FakeCpuFreq(), config: CONFIG }), { parameters: { dieHotC: 70 } }),
    ).rejects.toThrow(/initial parameters: die trips/);
  });

  it("runs on the HIL platform: reads HardwareState, sets the ceiling by request to the HIL, treats a NaN zone as a fault", async () => {
    let hil: ReturnType<typeof createHilPlatform> | undefined;
    const h = await ServiceHarness.start((ctx) => {
      hil = createHilPlatform({ bus: ctx.bus, staleAfterMs: 5000 });
      return new ThermalService(ctx, { thermal: hil.thermal, cpufreq: hil.cpufreq, config: CONFIG });
    });
    h.record(umbra.thermal.v1.PowerBudget);
    const requests: number[] = [];
    let maxKhz = 1_800_000;
    const steps = [600_000, 1_000_000, 1_400_000, 1_800_000];
    h.bus.serve(
      umbra.platform.v1.SetCpuMaxFrequency,
      umbra.platform.v1.CpuFreqPolicy,
      (req) => {
        requests.push(req.maxKhz);
        maxKhz = req.maxKhz;
        return { policy: req.policy, cpus: [0, 1, 2, 3], availableKhz: steps, currentKhz: maxKhz, maxKhz };
      },
      { target: "hil" },
    );
    const state = (die: number) =>
      h.bus.publish(umbra.platform.v1.HardwareState, {
        missionTimeNs: h.clock.nowTaiNs(),
        zones: [
          { zone: "thermal_zone0", type: "cpu-thermal", celsius: die },
          { zone: "thermal_zone1", type: "board-thermal", celsius: 40 + Math.random() * 0.01 },
        ],
        cpufreq: [{ policy: "policy0", cpus: [0, 1, 2, 3], availableKhz: steps, currentKhz: maxKhz, maxKhz }],
        power: { busVoltageV: 28, busCurrentA: 1, inputPowerW: 50, batterySocPct: 80 },
      });
    // No hardware state yet: the service waits for it rather than failing.
    await h.advance(1000);
    expect(h.published(umbra.thermal.v1.PowerBudget)).toHaveLength(0);
    for (let i = 0; i < 3; i++) {
      state(86 + i * 0.1);
      await h.advance(1000);
    }
    expect(requests.length).toBeGreaterThan(0);
    expect(maxKhz).toBeLessThan(1_800_000);
    state(Number.NaN);
    await h.advance(1000);
    expect(h.events("sensorFault").map((e) => e.args["kind"])).toEqual(["nan"]);
    await h.stop();
    await hil!.close();
  });
});
