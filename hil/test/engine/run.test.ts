import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { umbra, type MessageOf } from "@umbra/proto";
import { parseScenario } from "../../src/scenario/load.js";
import { HilRun } from "../../src/engine/run.js";
import { deterministicPart } from "../../src/report/report.js";
import type { ScenarioInput } from "../../src/scenario/schema.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function scenario(extra: Partial<ScenarioInput> = {}) {
  return parseScenario({ name: "t", seed: 11, epoch: "2026-03-20T00:00:00Z", duration: "3h", step: "10s", ...extra });
}

describe("HIL run", () => {
  it("is deterministic: same scenario and seed give the same environment and faults; another seed does not", async () => {
    const s = scenario({
      radiation: { sefiRatePerDay: 20, latchupRatePerDay: 5, solarParticleEvents: [{ start: "1h", duration: "1h" }] },
      faults: [{ at: "30m", kind: "sensor-stuck", sensor: "thermal_zone0", duration: "10m" }],
    });
    const a = await new HilRun({ scenario: s }).run();
    const b = await new HilRun({ scenario: s }).run();
    expect(deterministicPart(a)).toEqual(deterministicPart(b));
    expect(a.faults.length).toBeGreaterThan(1);
    const c = await new HilRun({ scenario: { ...s, seed: 12 } }).run();
    expect(c.series.upsetsTotal).not.toEqual(a.series.upsetsTotal);
  });

  it("publishes hardware state every step, and a stuck sensor holds its value for the fault's duration", async () => {
    const s = scenario({ duration: "1h", faults: [{ at: "10m", kind: "sensor-stuck", sensor: "thermal_zone0", duration: "20m" }] });
    const run = new HilRun({ scenario: s });
    const readings: { t: number; die: number; truth: number }[] = [];
    let lastTruth = Number.NaN;
    run.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
      lastTruth = e.thermal?.dieC ?? Number.NaN;
    });
    let t = 0;
    run.bus.subscribe(umbra.platform.v1.HardwareState, (h) => {
      t += 10;
      readings.push({ t, die: h.zones.find((z) => z.zone === "thermal_zone0")!.celsius, truth: lastTruth });
    });
    const report = await run.run();
    expect(readings).toHaveLength(360);
    const during = readings.filter((r) => r.t >= 600 && r.t < 1800).map((r) => r.die);
    expect(new Set(during).size).toBe(1);
    const after = readings.filter((r) => r.t >= 1800).map((r) => r.die);
    expect(new Set(after).size).toBeGreaterThan(10);
    expect(report.faults[0]).toMatchObject({ kind: "sensor-stuck", target: "thermal_zone0", cause: "schedule", outcome: "applied", elapsedS: 600 });
  });

  it("latch-up adds load and heat until the current limiter power-cycles the rail", async () => {
    const s = scenario({ duration: "1h", faults: [{ at: "20m", kind: "latch-up", currentStepW: 15 }], hardware: { latchingCurrentLimiter: { tripDelay: "5m" } } });
    const r = await new HilRun({ scenario: s }).run();
    const load = (tS: number) => r.series.loadPowerW[r.timeS.indexOf(tS)]!;
    expect(load(1260) - load(1190)).toBeCloseTo(15, 0);
    expect(load(1600) - load(1190)).toBeLessThan(1);
    expect(r.faults.map((f) => f.kind)).toEqual(["latch-up", "lcl-trip"]);
    expect(r.faults[1]!.elapsedS).toBe(1500);
  });

  it("hangs and kills a real service process it knows from heartbeats", async () => {
    const victim = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    children.push(victim);
    const s = scenario({
      duration: "30m",
      faults: [
        { at: "5m", kind: "hang", service: "victim", duration: "10m" },
        { at: "20m", kind: "kill", service: "victim" },
        { at: "21m", kind: "kill", service: "ghost" },
        { at: "22m", kind: "kill", service: "remote" },
      ],
    });
    const run = new HilRun({ scenario: s });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "victim", pid: victim.pid!, node: "elsewhere", host: hostname(), state: umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING });
    // The same pid reported from another machine (a board over TCP) must never be signalled here.
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "remote", pid: victim.pid!, node: "board", host: "flight-board-1" });
    const states: string[] = [];
    run.bus.subscribe(umbra.platform.v1.HardwareState, () => {
      if (victim.exitCode === null && victim.signalCode === null) states.push(readFileSync(`/proc/${victim.pid}/stat`, "utf8").split(" ")[2]!);
    });
    const exited = new Promise<string | null>((resolve) => victim.once("exit", (_c, sig) => resolve(sig)));
    const r = await run.run();
    expect(await exited).toBe("SIGKILL");
    expect(states).toContain("T"); // stopped while hung
    expect(states.at(-1)).not.toBe("T"); // resumed after the hang
    expect(r.faults.map((f) => [f.kind, f.outcome])).toEqual([
      ["hang", "applied"],
      ["kill", "applied"],
      ["kill", "not delivered: no heartbeat with a pid from this service"],
      ["kill", `not delivered: the service runs on host flight-board-1, not on this bench (${hostname()})`],
    ]);
  });

  it("answers cpufreq and watchdog requests as the hardware would, and an unkicked watchdog fires", async () => {
    const s = scenario({ duration: "20m" });
    const run = new HilRun({ scenario: s });
    const states: MessageOf<typeof umbra.platform.v1.HardwareState>[] = [];
    run.bus.subscribe(umbra.platform.v1.HardwareState, (h) => {
      states.push(h);
    });
    const policy = await run.bus.request(umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy0", maxKhz: 600000 }, umbra.platform.v1.CpuFreqPolicy, { target: "hil" });
    expect(policy).toMatchObject({ policy: "policy0", maxKhz: 600000 });
    await expect(run.bus.request(umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy0", maxKhz: 700000 }, umbra.platform.v1.CpuFreqPolicy, { target: "hil" })).rejects.toThrow(
      /700000 kHz is not one of 600000, 1000000, 1400000, 1800000/,
    );
    await expect(run.bus.request(umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy9", maxKhz: 600000 }, umbra.platform.v1.CpuFreqPolicy, { target: "hil" })).rejects.toThrow(/no cpufreq policy/);
    await expect(
      run.bus.request(umbra.platform.v1.WatchdogAction, { action: umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_KICK }, umbra.platform.v1.WatchdogState, { target: "hil" }),
    ).rejects.toThrow(/not armed/);
    await expect(
      run.bus.request(umbra.platform.v1.WatchdogAction, { action: umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_ARM, timeoutS: 0 }, umbra.platform.v1.WatchdogState, { target: "hil" }),
    ).rejects.toThrow(/not in 1..86400/);
    const armed = await run.bus.request(umbra.platform.v1.WatchdogAction, { action: umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_ARM, timeoutS: 60 }, umbra.platform.v1.WatchdogState, {
      target: "hil",
    });
    expect(armed.armed).toBe(true);
    const r = await run.run();
    expect(r.series.cpuFrequencyRatio.at(-1)).toBeCloseTo(1 / 3, 6);
    expect(r.summary["watchdogResets"]).toBe(1);
    expect(r.faults.find((f) => f.kind === "watchdog-reset")?.elapsedS).toBe(70);
    expect(states.at(-1)!.watchdog).toMatchObject({ armed: false, expirations: 1 });
    expect(states.at(-1)!.cpufreq[0]).toMatchObject({ maxKhz: 600000, availableKhz: [600000, 1000000, 1400000, 1800000] });
  });

  it("lower CPU frequency lowers the payload's draw and the die temperature", async () => {
    const s = scenario({ duration: "3h" });
    const fast = await new HilRun({ scenario: s }).run();
    const run = new HilRun({ scenario: s });
    await run.bus.request(umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy0", maxKhz: 600000 }, umbra.platform.v1.CpuFreqPolicy, { target: "hil" });
    const slow = await run.run();
    expect(slow.series.payloadPowerW.at(-1)!).toBeLessThan(fast.series.payloadPowerW.at(-1)!);
    expect(slow.summary["maxDieC"] as number).toBeLessThan(fast.summary["maxDieC"] as number);
  });

  it("takes the payload load from what services report on the bus, and sheds it at the DoD floor", async () => {
    const s = scenario({ duration: "6h", power: { battery: { capacityWh: 30, initialSocPct: 40, dodFloorPct: 30 } } });
    const run = new HilRun({ scenario: s });
    // A service reporting a heavy draw every simulated minute.
    run.clock.setInterval(() => run.bus.publish(umbra.platform.v1.PowerDraw, { source: "jobs", watts: 150 }), 60_000);
    const r = await run.run();
    expect(Math.max(...r.series.payloadPowerW)).toBe(150);
    expect(r.summary["shedWh"] as number).toBeGreaterThan(0);
    expect(Math.min(...r.series.socPct)).toBeGreaterThan(0);
  });
});

describe("HIL fault injection into live memory regions", () => {
  it("flips exactly the scheduled bits in a service's registered buffer, and logs each injection", async () => {
    const { MemoryRegionRegistry, attachFaultInjection } = await import("@umbra/platform");
    const s = scenario({
      duration: "1h",
      faults: [
        { at: "10m", kind: "bit-flip", service: "inference", region: "weights", bits: 3 },
        { at: "20m", kind: "multi-bit-flip", service: "inference", region: "weights", adjacent: 2 },
        { at: "30m", kind: "bit-flip", service: "inference", region: "nope", bits: 1 },
      ],
    });
    const run = new HilRun({ scenario: s });
    const registry = new MemoryRegionRegistry();
    const weights = new Uint8Array(4096);
    registry.register("weights", weights);
    attachFaultInjection(run.bus, registry, { service: "inference" });
    const r = await run.run();
    const flipped = [...weights].reduce((n, b) => n + ((b.toString(2).match(/1/g) ?? []).length), 0);
    expect(flipped).toBe(5);
    expect(r.faults.map((f) => [f.kind, f.target, f.outcome])).toEqual([
      ["bit-flip", "inference/weights", "applied"],
      ["multi-bit-flip", "inference/weights", "applied"],
      ["bit-flip", "inference/nope", "not delivered: region not registered"],
    ]);
    // The multi-bit flip hit two adjacent bits.
    const mbu = r.faults[1]!.detail.replace("bits ", "").split(",").map(Number);
    expect(mbu[1]! - mbu[0]!).toBe(1);
  });

  it("sends radiation upsets that land in a region to it (no ECC), and only counts singles with ECC", async () => {
    const { MemoryRegionRegistry, attachFaultInjection } = await import("@umbra/platform");
    // A small memory and a high rate so a 1 MiB region is hit often.
    const base = { duration: "2h", radiation: { quietRatePerBitDay: 1e-4 }, hardware: { memoryBytes: "4MiB" } } as const;
    const runWith = async (ecc: boolean) => {
      const run = new HilRun({ scenario: scenario({ ...base, hardware: { ...base.hardware, ecc } }) });
      const registry = new MemoryRegionRegistry();
      const region = new Uint8Array(1024 * 1024);
      registry.register("table", region);
      attachFaultInjection(run.bus, registry, { service: "svc" });
      const r = await run.run();
      return { r, ones: region.reduce((n, b) => n + ((b.toString(2).match(/1/g) ?? []).length), 0) };
    };
    const plain = await runWith(false);
    const radiationFlips = plain.r.faults.filter((f) => f.cause === "radiation");
    expect(radiationFlips.length).toBeGreaterThan(20);
    expect(radiationFlips.every((f) => f.outcome === "applied")).toBe(true);
    expect(plain.ones).toBeGreaterThan(0);
    const withEcc = await runWith(true);
    // Only multi-bit upsets get past ECC, and the EDAC counters saw every upset.
    expect(withEcc.r.faults.filter((f) => f.cause === "radiation").every((f) => f.kind === "multi-bit-flip")).toBe(true);
    expect(withEcc.ones).toBeLessThan(plain.ones);
  });
});

describe("replaying a run's faults", () => {
  it("applies exactly the logged flips, sensor faults and latch-ups again, and nothing the radiation model draws", async () => {
    const { MemoryRegionRegistry, attachFaultInjection } = await import("@umbra/platform");
    const { parseReplayLog } = await import("../../src/engine/replay.js");
    const base = scenario({
      duration: "2h",
      radiation: { quietRatePerBitDay: 1e-4, latchupRatePerDay: 30 },
      hardware: { memoryBytes: "4MiB" },
      faults: [
        { at: "10m", kind: "bit-flip", service: "svc", region: "table", bits: 5 },
        { at: "15m", kind: "sensor-spike", sensor: "busVoltage", value: 99, duration: "1m" },
      ],
    });
    const withRegion = (run: HilRun) => {
      const registry = new MemoryRegionRegistry();
      const table = new Uint8Array(1024 * 1024);
      registry.register("table", table);
      attachFaultInjection(run.bus, registry, { service: "svc" });
      return table;
    };
    const first = new HilRun({ scenario: base });
    const original = withRegion(first);
    const report = await first.run();
    const log = parseReplayLog(JSON.parse(JSON.stringify(report)), "first.json");
    expect(log.steps.length).toBe(report.faults.filter((f) => f.action).length);
    expect(log.steps.some((s) => s.action.kind === "latch-up")).toBe(true);

    // Same environment, a different seed for everything random: only the replay decides the faults.
    const again = new HilRun({ scenario: { ...base, seed: 999 }, replay: log });
    const replayed = withRegion(again);
    const r2 = await again.run();
    expect(Buffer.from(replayed).equals(Buffer.from(original))).toBe(true);
    expect(r2.faults.filter((f) => f.cause === "replay").map((f) => [f.elapsedS, f.kind, f.target, f.detail])).toEqual(
      report.faults.filter((f) => f.action).map((f) => [f.elapsedS, f.kind, f.target, f.detail]),
    );
    expect(r2.faults.some((f) => f.cause === "radiation" || f.cause === "schedule")).toBe(false);
  });

  it("rejects a malformed log, naming the file and the entry", async () => {
    const { parseReplayLog, loadReplayLog } = await import("../../src/engine/replay.js");
    const ok = { format: "umbra-hil-report/1", scenario: { name: "x" }, faults: [] };
    expect(() => parseReplayLog({ ...ok, format: "v0" }, "r.json")).toThrow(/^r\.json: format:/);
    expect(() => parseReplayLog({ ...ok, faults: [{ elapsedS: -1 }] }, "r.json")).toThrow(/r\.json: faults\[0\]\.elapsedS:/);
    expect(() => parseReplayLog({ ...ok, faults: [{ elapsedS: 5, action: { kind: "flip", name: "bit-flip", service: "s", region: "r", bitOffsets: [] } }] }, "r.json")).toThrow(
      /faults\[0\]\.action\.bitOffsets/,
    );
    expect(() => parseReplayLog({ ...ok, faults: [{ elapsedS: 5, action: { kind: "format-disk" } }] }, "r.json")).toThrow(/faults\[0\]\.action\.kind/);
    await expect(loadReplayLog("/nonexistent/r.json")).rejects.toThrow(/r\.json: cannot read: ENOENT/);
  });
});

describe("a run always ends cleanly", () => {
  it("finishes even when a fault request in the last step is never answered, and resumes a hang that outlasts the run", async () => {
    const victim = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    children.push(victim);
    const s = scenario({
      duration: "10m",
      faults: [
        { at: "10m", kind: "replica-output", service: "silent", replica: 0 },
        { at: "9m", kind: "hang", service: "victim", duration: "1h" },
      ],
    });
    const run = new HilRun({ scenario: s });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "victim", pid: victim.pid!, host: hostname() });
    // Something answers nothing: a server on the target that stays silent.
    run.bus.serve(umbra.hil.v1.CorruptReplicaOutput, umbra.hil.v1.FaultAck, () => undefined, { target: "silent" });
    const r = await run.run();
    expect(r.faults.find((f) => f.kind === "replica-output")!.outcome).toMatch(/^not delivered: .*got no reply/);
    expect(readFileSync(`/proc/${victim.pid}/stat`, "utf8").split(" ")[2]).not.toBe("T");
  });
});

describe("HIL radio", () => {
  it("confirms downlinked packets only while a ground station is in view, and counts them", async () => {
    const run = new HilRun({ scenario: scenario({ duration: "3h" }) });
    const outcomes: boolean[] = [];
    let inView = false;
    run.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
      inView = (e.orbit?.stationsInView.length ?? 0) > 0;
      void run.bus
        .request(umbra.ttc.v1.TransmitPackets, { packets: [new Uint8Array(100)] }, umbra.ttc.v1.TransmitResult, { target: "downlink" })
        .then((r) => {
          expect(r.confirmed).toBe(inView);
          outcomes.push(r.confirmed);
        });
    });
    const r = await run.run();
    expect(outcomes.filter(Boolean).length).toBe(r.summary["downlinkedPackets"]);
    expect(r.summary["downlinkedPackets"] as number).toBeGreaterThan(0);
    expect(outcomes.some((o) => !o)).toBe(true);
  });
});
