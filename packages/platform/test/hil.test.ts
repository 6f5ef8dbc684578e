import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Bus, InProcessLink, Priority, SimClock } from "@umbra/core";
import { umbra, type InitOf } from "@umbra/proto";
import { MAX_BUSY_CORES, PlatformError, checkIllumination, checkPower, checkZoneCelsius, createHilPlatform, type HardwareState, type HilPlatform } from "../src/index.js";
import { expectPlatformError } from "./support/fs-faults.js";

const { HardwareState: State, SetCpuMaxFrequency, CpuFreqPolicy, WatchdogAction, WatchdogState, WatchdogActionKind } = umbra.platform.v1;
type StateInit = InitOf<typeof State>;
const TOPIC = "umbra.platform.v1.HardwareState";

function goodState(): StateInit {
  return {
    missionTimeNs: 1n,
    zones: [
      { zone: "thermal_zone0", type: "cpu-thermal", celsius: 45.25 },
      { zone: "thermal_zone1", type: "gpu-thermal", celsius: -5 },
    ],
    cpufreq: [
      { policy: "policy0", cpus: [0, 1, 2, 3], availableKhz: [600000, 1000000, 1400000, 1800000], currentKhz: 1400000, maxKhz: 1800000 },
      { policy: "policy4", cpus: [4, 5], availableKhz: [], currentKhz: 2000000, maxKhz: 2400000 },
    ],
    power: { busVoltageV: 12.034, busCurrentA: 1.52, inputPowerW: 18.3, batterySocPct: 87 },
    edac: [
      { controller: "mc0", correctable: 3n, uncorrectable: 0n },
      { controller: "mc1", correctable: 2n ** 64n - 1n, uncorrectable: 1n },
    ],
    watchdog: { armed: false, timeoutS: 30, lastKickNs: 0n, expirations: 0 },
    illumination: { sunlit: true, secondsToTransition: 1200, eclipseDurationS: 2100, orbitPeriodS: 5668 },
  };
}

/** A tiny stand-in for the HIL environment: publishes states, answers requests, and can be told to misbehave. */
class FakeHil {
  state: StateInit = goodState();
  readonly requests: { topic: string; message: unknown; target: string }[] = [];
  watchdog = { armed: false, timeoutS: 30, lastKickNs: 0n, expirations: 0 };
  /** What to do with the next requests. */
  mode: "normal" | "ignore-change" | "throw" | "wrong-policy" | "wrong-timeout" | "not-armed" = "normal";

  constructor(readonly bus: Bus, target = "hil") {
    bus.serve(
      SetCpuMaxFrequency,
      CpuFreqPolicy,
      (req, meta) => {
        this.requests.push({ topic: "SetCpuMaxFrequency", message: req, target: meta.target });
        if (this.mode === "throw") throw new Error("policy is locked by the scenario");
        const p = this.state.cpufreq!.find((x) => x.policy === req.policy)!;
        if (this.mode !== "ignore-change") p.maxKhz = req.maxKhz;
        return this.mode === "wrong-policy" ? { ...p, policy: "policy4" } : p;
      },
      { target },
    );
    bus.serve(
      WatchdogAction,
      WatchdogState,
      (req, meta) => {
        this.requests.push({ topic: "WatchdogAction", message: req, target: meta.target });
        if (this.mode === "throw") throw new Error("watchdog model offline");
        if (this.mode === "ignore-change") return this.watchdog;
        if (req.action === WatchdogActionKind.WATCHDOG_ACTION_ARM) this.watchdog = { ...this.watchdog, armed: true, timeoutS: this.mode === "wrong-timeout" ? 60 : req.timeoutS };
        if (req.action === WatchdogActionKind.WATCHDOG_ACTION_KICK) this.watchdog = { ...this.watchdog, armed: this.mode !== "not-armed", lastKickNs: bus.clock.nowTaiNs() };
        if (req.action === WatchdogActionKind.WATCHDOG_ACTION_DISARM) this.watchdog = { ...this.watchdog, armed: false };
        return this.watchdog;
      },
      { target },
    );
  }

  publish(state: StateInit = this.state): void {
    this.bus.publish(State, state);
  }
}

let clock: SimClock;
let board: Bus;
let bench: Bus;
let hil: FakeHil;
let platform: HilPlatform;

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await board.idle();
    await bench.idle();
  }
}

async function setup(options: { hilTarget?: string; staleAfterMs?: number } = {}): Promise<void> {
  clock = new SimClock();
  board = new Bus({ node: "board", clock });
  bench = new Bus({ node: "bench", clock });
  const [a, b] = InProcessLink.pair("board-bench");
  board.attach(a);
  bench.attach(b);
  hil = new FakeHil(bench, options.hilTarget ?? "hil");
  platform = createHilPlatform({ bus: board, staleAfterMs: options.staleAfterMs ?? 2000, requestTimeoutMs: 500, ...(options.hilTarget ? { hilTarget: options.hilTarget } : {}) });
  await settle();
}

beforeEach(async () => {
  await setup();
});
afterEach(async () => {
  await platform.close();
  board.close();
  bench.close();
});

describe("hil platform: reads", () => {
  it("rejects every read before the first hardware state", async () => {
    expect(platform.kind).toBe("hil");
    const reason = "no hardware state from the HIL yet";
    await expectPlatformError(platform.thermal.zones(), { port: "thermal", source: TOPIC, reason });
    await expectPlatformError(platform.thermal.readCelsius("thermal_zone0"), { port: "thermal", source: TOPIC, reason });
    await expectPlatformError(platform.cpufreq.policies(), { port: "cpufreq", source: TOPIC, reason });
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy0", 600000), { port: "cpufreq", source: TOPIC, reason });
    await expectPlatformError(platform.power.read(), { port: "power", source: TOPIC, reason });
    await expectPlatformError(platform.edac.read(), { port: "edac", source: TOPIC, reason });
    await expectPlatformError(platform.illumination.read(), { port: "illumination", source: TOPIC, reason });
    expect(hil.requests).toEqual([]);
  });

  it("serves every port from the newest state", async () => {
    hil.publish();
    await settle();
    expect(await platform.thermal.zones()).toEqual([
      { zone: "thermal_zone0", type: "cpu-thermal" },
      { zone: "thermal_zone1", type: "gpu-thermal" },
    ]);
    expect(await platform.thermal.readCelsius("thermal_zone0")).toBe(45.25);
    expect(await platform.cpufreq.policies()).toEqual([
      { policy: "policy0", cpus: [0, 1, 2, 3], availableKHz: [600000, 1000000, 1400000, 1800000] },
      { policy: "policy4", cpus: [4, 5], availableKHz: [] },
    ]);
    expect(await platform.cpufreq.currentKHz("policy0")).toBe(1400000);
    expect(await platform.cpufreq.maxKHz("policy4")).toBe(2400000);
    expect(await platform.power.read()).toEqual({ busVoltageV: 12.034, busCurrentA: 1.52, inputPowerW: 18.3, batterySocPct: 87 });
    expect(await platform.edac.read()).toEqual([
      { controller: "mc0", correctable: 3n, uncorrectable: 0n },
      { controller: "mc1", correctable: 2n ** 64n - 1n, uncorrectable: 1n },
    ]);
    hil.state.zones![0]!.celsius = 60;
    hil.publish();
    await settle();
    expect(await platform.thermal.readCelsius("thermal_zone0")).toBe(60);
    expect(platform.state.count).toBe(2);
    expect(platform.state.peek()?.source).toBe("bench");
    expect(await platform.illumination.read()).toEqual({ sunlit: true, secondsToTransition: 1200, eclipseDurationS: 2100, orbitPeriodS: 5668 });
    hil.state.illumination = { sunlit: false, secondsToTransition: 300.5, eclipseDurationS: 2100, orbitPeriodS: 5668 };
    hil.publish();
    await settle();
    expect(await platform.illumination.read()).toEqual({ sunlit: false, secondsToTransition: 300.5, eclipseDurationS: 2100, orbitPeriodS: 5668 });
    hil.state.illumination = { sunlit: true, secondsToTransition: -1, eclipseDurationS: 0, orbitPeriodS: 5668 };
    hil.publish();
    await settle();
    expect(await platform.illumination.read()).toEqual({ sunlit: true, secondsToTransition: -1, eclipseDurationS: 0, orbitPeriodS: 5668 });
  });

  it("calls a state stale once it is older than staleAfterMs of the bus clock, and fresh again on the next", async () => {
    hil.publish();
    await settle();
    await clock.advance(2000);
    expect(await platform.thermal.readCelsius("thermal_zone0")).toBe(45.25);
    await clock.advance(500);
    await expectPlatformError(platform.thermal.readCelsius("thermal_zone0"), { port: "thermal", source: TOPIC, reason: "hardware state is stale: last 2.5s ago (limit 2.0s)" });
    await expectPlatformError(platform.power.read(), { port: "power", source: TOPIC, reason: "hardware state is stale: last 2.5s ago (limit 2.0s)" });
    await expectPlatformError(platform.illumination.read(), { port: "illumination", source: TOPIC, reason: "hardware state is stale: last 2.5s ago (limit 2.0s)" });
    hil.publish();
    await settle();
    expect(await platform.power.read()).toMatchObject({ batterySocPct: 87 });
  });

  const bad: [string, (s: StateInit) => void, PlatformError["port"], () => Promise<unknown>, string, string][] = [
    ["a NaN temperature", (s) => (s.zones![0]!.celsius = Number.NaN), "thermal", () => platform.thermal.readCelsius("thermal_zone0"), "zones[thermal_zone0].celsius", "temperature is not a number (NaN)"],
    ["an infinite temperature", (s) => (s.zones![0]!.celsius = Number.NEGATIVE_INFINITY), "thermal", () => platform.thermal.readCelsius("thermal_zone0"), "zones[thermal_zone0].celsius", "temperature is not finite (-Infinity)"],
    ["a temperature of 900 °C", (s) => (s.zones![1]!.celsius = 900), "thermal", () => platform.thermal.readCelsius("thermal_zone1"), "zones[thermal_zone1].celsius", "temperature 900 °C is outside -100..250 °C"],
    ["an unknown zone", () => undefined, "thermal", () => platform.thermal.readCelsius("thermal_zone5"), "zones", 'unknown zone "thermal_zone5" (have thermal_zone0, thermal_zone1)'],
    ["a duplicate zone", (s) => (s.zones![1]!.zone = "thermal_zone0"), "thermal", () => platform.thermal.zones(), "zones[thermal_zone0]", "duplicate zone"],
    ["a zone name that is a path", (s) => (s.zones![1]!.zone = "../../etc"), "thermal", () => platform.thermal.zones(), "zones[#1].zone", '"../../etc" is not a thermal_zoneN name'],
    ["an empty zone type", (s) => (s.zones![1]!.type = ""), "thermal", () => platform.thermal.zones(), "zones[thermal_zone1].type", "file is empty"],
    ["steps out of order", (s) => (s.cpufreq![0]!.availableKhz = [600000, 1800000, 1000000]), "cpufreq", () => platform.cpufreq.policies(), "cpufreq[#0].available_khz", "available frequencies are not strictly ascending at #2 (1800000 then 1000000)"],
    ["a zero current frequency", (s) => (s.cpufreq![0]!.currentKhz = 0), "cpufreq", () => platform.cpufreq.currentKHz("policy0"), "cpufreq[policy0].current_khz", "frequency 0 kHz is outside 1..100000000 kHz"],
    ["a CPU listed twice", (s) => (s.cpufreq![1]!.cpus = [4, 4]), "cpufreq", () => platform.cpufreq.policies(), "cpufreq[#1].cpus", "CPU 4 is listed twice"],
    ["no power reading", (s) => (s.power = null), "power", () => platform.power.read(), "power", "no power reading in the hardware state"],
    ["a NaN bus voltage", (s) => (s.power!.busVoltageV = Number.NaN), "power", () => platform.power.read(), "power.bus_voltage_v", "bus voltage is not a number (NaN)"],
    ["a negative input power", (s) => (s.power!.inputPowerW = -3), "power", () => platform.power.read(), "power.input_power_w", "input power -3 W is outside 0..100000 W"],
    ["a state of charge of 120 %", (s) => (s.power!.batterySocPct = 120), "power", () => platform.power.read(), "power.battery_soc_pct", "battery state of charge 120 % is outside 0..100 %"],
    ["an infinite current", (s) => (s.power!.busCurrentA = Number.POSITIVE_INFINITY), "power", () => platform.power.read(), "power.bus_current_a", "bus current is not finite (Infinity)"],
    ["a bad controller name", (s) => (s.edac![0]!.controller = "dimm0"), "edac", () => platform.edac.read(), "edac[#0].controller", '"dimm0" is not a mcN name'],
    ["a duplicate controller", (s) => (s.edac![1]!.controller = "mc0"), "edac", () => platform.edac.read(), "edac[mc0]", "duplicate controller"],
    ["no illumination", (s) => (s.illumination = null), "illumination", () => platform.illumination.read(), "illumination", "no illumination in the hardware state"],
    ["a zero orbit period (the field left out)", (s) => (s.illumination!.orbitPeriodS = 0), "illumination", () => platform.illumination.read(), "illumination.orbit_period_s", "orbit period 0 s is outside 60..10000000 s"],
    ["a negative orbit period", (s) => (s.illumination!.orbitPeriodS = -5668), "illumination", () => platform.illumination.read(), "illumination.orbit_period_s", "orbit period -5668 s is outside 60..10000000 s"],
    ["a NaN orbit period", (s) => (s.illumination!.orbitPeriodS = Number.NaN), "illumination", () => platform.illumination.read(), "illumination.orbit_period_s", "orbit period is not a number (NaN)"],
    ["a NaN time to the transition", (s) => (s.illumination!.secondsToTransition = Number.NaN), "illumination", () => platform.illumination.read(), "illumination.seconds_to_transition", "time to the next transition is not a number (NaN) (-1 means none predicted)"],
    ["a time to the transition of -2 s", (s) => (s.illumination!.secondsToTransition = -2), "illumination", () => platform.illumination.read(), "illumination.seconds_to_transition", "time to the next transition -2 s is outside 0..31622400 s (-1 means none predicted)"],
    ["an infinite eclipse", (s) => (s.illumination!.eclipseDurationS = Number.POSITIVE_INFINITY), "illumination", () => platform.illumination.read(), "illumination.eclipse_duration_s", "eclipse duration is not finite (Infinity)"],
    ["a negative eclipse", (s) => (s.illumination!.eclipseDurationS = -1), "illumination", () => platform.illumination.read(), "illumination.eclipse_duration_s", "eclipse duration -1 s is outside 0..10000000 s"],
    ["an eclipse longer than the orbit", (s) => (s.illumination!.eclipseDurationS = 6000), "illumination", () => platform.illumination.read(), "illumination.eclipse_duration_s", "eclipse duration 6000 s is longer than the orbit period 5668 s"],
    [
      "an exit further away than the eclipse is long",
      (s) => (s.illumination = { sunlit: false, secondsToTransition: 3000, eclipseDurationS: 2100, orbitPeriodS: 5668 }),
      "illumination",
      () => platform.illumination.read(),
      "illumination.seconds_to_transition",
      "3000 s to the end of the eclipse is more than the eclipse's duration 2100 s",
    ],
  ];
  for (const [what, spoil, port, read, field, reason] of bad) {
    it(`turns ${what} into a PlatformError`, async () => {
      const state = goodState();
      spoil(state);
      hil.publish(state);
      await settle();
      await expectPlatformError(read(), { port, source: `${TOPIC}.${field}`, reason });
    });
  }
});

describe("hil platform: cpufreq requests", () => {
  beforeEach(async () => {
    hil.publish();
    await settle();
  });

  it("sends SetCpuMaxFrequency to the HIL and takes the reply as the new policy", async () => {
    await platform.cpufreq.setMaxKHz("policy0", 1000000);
    expect(hil.requests).toEqual([{ topic: "SetCpuMaxFrequency", message: { policy: "policy0", maxKhz: 1000000 }, target: "hil" }]);
    expect(await platform.cpufreq.maxKHz("policy0")).toBe(1000000);
    // A policy without steps: the HIL decides.
    await platform.cpufreq.setMaxKHz("policy4", 1234567);
    expect(await platform.cpufreq.maxKHz("policy4")).toBe(1234567);
  });

  it("checks against the cached steps before asking", async () => {
    const source = "SetCpuMaxFrequency(policy0) to hil";
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy0", 1200000), {
      port: "cpufreq",
      source,
      reason: "1200000 kHz is not one of the available frequencies of policy0 (600000, 1000000, 1400000, 1800000 kHz)",
    });
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy0", Number.NaN), { port: "cpufreq", source, reason: "frequency must be a whole number of kHz, got NaN" });
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy7", 600000), { port: "cpufreq", source: `${TOPIC}.cpufreq`, reason: 'unknown policy "policy7" (have policy0, policy4)' });
    expect(hil.requests).toEqual([]);
  });

  it("reports a HIL that does not apply it, fails, answers for another policy, or does not answer", async () => {
    const source = "SetCpuMaxFrequency(policy0) to hil";
    hil.mode = "ignore-change";
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy0", 600000), { port: "cpufreq", source, reason: "the HIL did not apply it: max is 1800000 kHz, asked for 600000 kHz" });
    hil.mode = "wrong-policy";
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy0", 600000), { port: "cpufreq", source, reason: "the reply is for policy4, not policy0" });
    hil.mode = "throw";
    await expectPlatformError(platform.cpufreq.setMaxKHz("policy0", 600000), { port: "cpufreq", source, reason: "bench failed: policy is locked by the scenario" });
    bench.close();
    const pending = platform.cpufreq.setMaxKHz("policy0", 1000000);
    const check = expectPlatformError(pending, { port: "cpufreq", source, reason: 'no reply from "hil" within 500 ms' });
    await settle();
    await clock.advance(500);
    await check;
  });
});

describe("hil platform: watchdog requests", () => {
  const action = (a: number, timeoutS = 0) => ({ topic: "WatchdogAction", message: { action: a, timeoutS }, target: "hil" });

  it("arm, kick and disarm go to the HIL as WatchdogAction and its WatchdogState confirms them", async () => {
    expect(platform.watchdog.status()).toEqual({ armed: false, timeoutS: 0 });
    await platform.watchdog.arm(30);
    expect(platform.watchdog.status()).toEqual({ armed: true, timeoutS: 30 });
    await platform.watchdog.kick();
    await platform.watchdog.disarm();
    expect(platform.watchdog.status()).toEqual({ armed: false, timeoutS: 30 });
    expect(hil.requests).toEqual([
      action(WatchdogActionKind.WATCHDOG_ACTION_ARM, 30),
      action(WatchdogActionKind.WATCHDOG_ACTION_KICK),
      action(WatchdogActionKind.WATCHDOG_ACTION_DISARM),
    ]);
  });

  it("refuses locally what it can: a kick before arm, a bad timeout, a second arm with another timeout", async () => {
    await expectPlatformError(platform.watchdog.kick(), { port: "watchdog", source: "WatchdogAction(KICK) to hil", reason: "not armed: arm() before kick()" });
    await expectPlatformError(platform.watchdog.arm(0), { port: "watchdog", source: "WatchdogAction(ARM) to hil", reason: "watchdog timeout 0 s is outside 1..86400 s" });
    await platform.watchdog.disarm(); // not armed: nothing sent
    expect(hil.requests).toEqual([]);
    await platform.watchdog.arm(30);
    await expectPlatformError(platform.watchdog.arm(10), { port: "watchdog", source: "WatchdogAction(ARM) to hil", reason: "already armed with a 30 s timeout; disarm first" });
  });

  it("reports a HIL that arms with another timeout, has let it expire, refuses to stop it, or fails", async () => {
    hil.mode = "wrong-timeout";
    await expectPlatformError(platform.watchdog.arm(30), { port: "watchdog", source: "WatchdogAction(ARM) to hil", reason: "the HIL armed it with 60 s, asked for 30 s" });
    expect(platform.watchdog.status().armed).toBe(false);
    hil.mode = "normal";
    await platform.watchdog.arm(30);
    hil.mode = "not-armed";
    await expectPlatformError(platform.watchdog.kick(), { port: "watchdog", source: "WatchdogAction(KICK) to hil", reason: "the HIL says the watchdog is not armed (did it expire?)" });
    expect(platform.watchdog.status().armed).toBe(false);
    hil.mode = "normal";
    await platform.watchdog.arm(30);
    hil.mode = "ignore-change";
    await expectPlatformError(platform.watchdog.disarm(), {
      port: "watchdog",
      source: "WatchdogAction(DISARM) to hil",
      reason: "the HIL did not stop the watchdog; it stays armed, keep kicking it",
    });
    expect(platform.watchdog.status().armed).toBe(true);
    hil.mode = "throw";
    await expectPlatformError(platform.watchdog.kick(), { port: "watchdog", source: "WatchdogAction(KICK) to hil", reason: "bench failed: watchdog model offline" });
  });
});

describe("hil platform: options", () => {
  it("sends requests to the configured hilTarget", async () => {
    await platform.close();
    board.close();
    bench.close();
    await setup({ hilTarget: "bench-hil" });
    hil.publish();
    await settle();
    await platform.cpufreq.setMaxKHz("policy0", 600000);
    await platform.watchdog.arm(30);
    expect(hil.requests.map((r) => r.target)).toEqual(["bench-hil", "bench-hil"]);
  });

  it("rejects bad options", () => {
    expect(() => createHilPlatform({ bus: board, staleAfterMs: 0 })).toThrow("hil platform: staleAfterMs must be a positive number of ms, got 0");
    expect(() => createHilPlatform({ bus: board, staleAfterMs: Number.NaN })).toThrow(/staleAfterMs/);
    expect(() => createHilPlatform({ bus: board, staleAfterMs: 1000, hilTarget: "" })).toThrow(/hilTarget/);
    expect(() => createHilPlatform({ bus: board, staleAfterMs: 1000, requestTimeoutMs: -1 })).toThrow(/requestTimeoutMs/);
  });

  it("stops listening on close", async () => {
    await platform.close();
    hil.publish();
    await settle();
    expect(platform.state.count).toBe(0);
  });
});

describe("hil platform: compute activity", () => {
  it("publishes ComputeActivity at telemetry priority for the HIL", async () => {
    const seen: { source: string; busyCores: number; priority: number; from: string }[] = [];
    bench.subscribe(umbra.platform.v1.ComputeActivity, (m, meta) => {
      seen.push({ source: m.source, busyCores: m.busyCores, priority: meta.priority, from: meta.source });
    });
    await settle();
    platform.activity.report("inference", 1.25);
    platform.activity.report("jobs", 0);
    await settle();
    expect(seen).toEqual([
      { source: "inference", busyCores: 1.25, priority: Priority.PRIORITY_TELEMETRY, from: "board" },
      { source: "jobs", busyCores: 0, priority: Priority.PRIORITY_TELEMETRY, from: "board" },
    ]);
  });

  it("refuses a bad report with a RangeError and publishes nothing", async () => {
    let count = 0;
    bench.subscribe(umbra.platform.v1.ComputeActivity, () => {
      count++;
    });
    await settle();
    for (const [source, cores] of [
      ["inference", -1],
      ["inference", Number.NaN],
      ["inference", Number.NEGATIVE_INFINITY],
      ["inference", MAX_BUSY_CORES + 0.5],
      ["", 1],
      ["a/b", 1],
      [undefined, 1],
    ] as [unknown, number][]) {
      expect(() => platform.activity.report(source as string, cores)).toThrow(RangeError);
    }
    await settle();
    expect(count).toBe(0);
  });

  it("drops a report made after the bus closed", () => {
    board.close();
    expect(() => platform.activity.report("inference", 1)).not.toThrow();
  });
});

describe("hil state checks (properties)", () => {
  const anyDouble = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 100, 250, -100));

  it("power: any doubles give either finite in-range readings or a field problem", () => {
    fc.assert(
      fc.property(anyDouble, anyDouble, anyDouble, anyDouble, (v, a, w, soc) => {
        const state = { power: { busVoltageV: v, busCurrentA: a, inputPowerW: w, batterySocPct: soc } } as unknown as HardwareState;
        const r = checkPower(state);
        if (r.ok) {
          for (const x of Object.values(r.value)) expect(Number.isFinite(x)).toBe(true);
          expect(r.value.batterySocPct).toBeGreaterThanOrEqual(0);
          expect(r.value.batterySocPct).toBeLessThanOrEqual(100);
        } else {
          expect(r.problem.field).toMatch(/^power\./);
        }
      }),
    );
  });

  it("illumination: any doubles give a consistent reading or a field problem", () => {
    fc.assert(
      fc.property(fc.boolean(), anyDouble, anyDouble, anyDouble, (sunlit, t, d, p) => {
        const state = { illumination: { sunlit, secondsToTransition: t, eclipseDurationS: d, orbitPeriodS: p } } as unknown as HardwareState;
        const r = checkIllumination(state);
        if (r.ok) {
          for (const x of [r.value.secondsToTransition, r.value.eclipseDurationS, r.value.orbitPeriodS]) expect(Number.isFinite(x)).toBe(true);
          expect(r.value.orbitPeriodS).toBeGreaterThan(0);
          expect(r.value.eclipseDurationS).toBeGreaterThanOrEqual(0);
          expect(r.value.eclipseDurationS).toBeLessThanOrEqual(r.value.orbitPeriodS);
          expect(r.value.secondsToTransition === -1 || r.value.secondsToTransition >= 0).toBe(true);
        } else {
          expect(r.problem.field).toMatch(/^illumination\./);
        }
      }),
    );
  });

  it("thermal: any double or name gives a temperature in -100..250 or a field problem", () => {
    fc.assert(
      fc.property(anyDouble, fc.oneof(fc.string(), fc.constant("thermal_zone0")), (celsius, zone) => {
        const state = { zones: [{ zone, type: "t", celsius }] } as unknown as HardwareState;
        const r = checkZoneCelsius(state, "thermal_zone0");
        if (r.ok) expect(r.value >= -100 && r.value <= 250).toBe(true);
        else expect(typeof r.problem.reason).toBe("string");
      }),
    );
  });
});
