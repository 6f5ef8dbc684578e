import { describe, expect, it } from "vitest";
import { createHilPlatform, type IlluminationReading } from "@umbra/platform";
import { umbra, type MessageOf } from "@umbra/proto";
import { parseScenario } from "../../src/scenario/load.js";
import { HilRun } from "../../src/engine/run.js";
import { illuminationAt } from "../../src/engine/environment.js";
import type { ScenarioInput } from "../../src/scenario/schema.js";

function scenario(extra: Partial<ScenarioInput> = {}) {
  return parseScenario({ name: "t", seed: 11, epoch: "2026-03-20T00:00:00Z", duration: "3h", step: "10s", ...extra });
}

// Defaults of the scenario's payload: 8 W idle, 40 W busy, 60 % duty cycle, 4 CPUs in policy0.
const IDLE_W = 8;
const BUSY_W = 40;
const DUTY_CYCLE_W = IDLE_W + (BUSY_W - IDLE_W) * 0.6;
const MU_EARTH = 398600.4418;
const R_EARTH = 6378.137;

/** A wall clock that runs as `pnpm start` does: the HIL at speed 60 against services on real time. */
const speed60 = (run: HilRun) => () => run.clock.monotonicMs() / 60;

describe("HIL illumination in HardwareState", () => {
  it("publishes illumination every step, consistent with the eclipse windows and the orbit", async () => {
    const s = scenario({ duration: "4h" });
    const run = new HilRun({ scenario: s });
    const seen: { t: number; ill: MessageOf<typeof umbra.platform.v1.Illumination>; fraction: number }[] = [];
    let fraction = Number.NaN;
    run.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
      fraction = e.orbit!.sunFraction;
    });
    run.bus.subscribe(umbra.platform.v1.HardwareState, (h) => {
      seen.push({ t: run.environment.timeS, ill: h.illumination!, fraction });
    });
    // The same states through the platform's HIL adapter, as a service reads them: every one must pass its checks.
    const platform = createHilPlatform({ bus: run.bus, staleAfterMs: 60_000 });
    const reads: Promise<IlluminationReading>[] = [];
    run.bus.subscribe(umbra.platform.v1.HardwareState, () => {
      reads.push(platform.illumination.read());
    });
    await run.run();
    const readings = await Promise.all(reads);
    await platform.close();

    expect(seen).toHaveLength(4 * 360);
    const eclipses = run.environment.eclipses;
    const inside = eclipses.filter((w) => w.startS > 0 && w.endS < 4 * 3600);
    expect(inside.length).toBeGreaterThanOrEqual(2);

    // The period: 2π·√(a³/μ) for the 500 km circular orbit, and the spacing of consecutive eclipse starts.
    const a = R_EARTH + 500;
    const kepler = 2 * Math.PI * Math.sqrt((a * a * a) / MU_EARTH);
    expect(seen[0]!.ill.orbitPeriodS).toBeCloseTo(kepler, 6);
    for (let i = 1; i < inside.length; i++) expect(Math.abs(inside[i]!.startS - inside[i - 1]!.startS - kepler) / kepler).toBeLessThan(0.01);

    let sunlitSteps = 0;
    let eclipseSteps = 0;
    for (const { t, ill, fraction: f } of seen) {
      const current = eclipses.find((w) => w.startS <= t && t < w.endS);
      const next = eclipses.find((w) => w.startS > t)!;
      if (current) {
        eclipseSteps++;
        expect(ill.sunlit).toBe(false);
        expect(ill.secondsToTransition).toBeCloseTo(current.endS - t, 6);
        expect(ill.eclipseDurationS).toBeCloseTo(current.endS - current.startS, 6);
      } else {
        sunlitSteps++;
        expect(ill.sunlit).toBe(true);
        expect(ill.secondsToTransition).toBeCloseTo(next.startS - t, 6);
        expect(ill.eclipseDurationS).toBeCloseTo(next.endS - next.startS, 6);
      }
      // Away from the edges (where the penumbra is), the sun fraction says the same.
      const nearEdge = eclipses.some((w) => Math.abs(w.startS - t) < 30 || Math.abs(w.endS - t) < 30);
      if (!nearEdge) expect(ill.sunlit).toBe(f > 0.5);
      expect(ill.eclipseDurationS).toBeGreaterThan(20 * 60);
      expect(ill.eclipseDurationS).toBeLessThan(40 * 60);
    }
    expect(sunlitSteps).toBeGreaterThan(eclipseSteps);
    expect(eclipseSteps).toBeGreaterThan(0);
    // Every state passed the adapter's checks (a rejection would have failed Promise.all).
    expect(readings).toHaveLength(seen.length);
    expect(readings.some((r) => r.sunlit) && readings.some((r) => !r.sunlit)).toBe(true);
    expect(readings.every((r) => r.orbitPeriodS === seen[0]!.ill.orbitPeriodS)).toBe(true);
  });

  it("illuminationAt: before, inside and after the windows, and with none", () => {
    const w = [
      { startS: 100, endS: 300 },
      { startS: 1000, endS: 1250 },
    ];
    expect(illuminationAt(w, 0, 5000)).toEqual({ sunlit: true, secondsToTransition: 100, eclipseDurationS: 200, orbitPeriodS: 5000 });
    expect(illuminationAt(w, 100, 5000)).toEqual({ sunlit: false, secondsToTransition: 200, eclipseDurationS: 200, orbitPeriodS: 5000 });
    expect(illuminationAt(w, 300, 5000)).toEqual({ sunlit: true, secondsToTransition: 700, eclipseDurationS: 250, orbitPeriodS: 5000 });
    expect(illuminationAt(w, 1249, 5000)).toEqual({ sunlit: false, secondsToTransition: 1, eclipseDurationS: 250, orbitPeriodS: 5000 });
    expect(illuminationAt(w, 1250, 5000)).toEqual({ sunlit: true, secondsToTransition: -1, eclipseDurationS: 0, orbitPeriodS: 5000 });
    expect(illuminationAt([], 0, 5000)).toEqual({ sunlit: true, secondsToTransition: -1, eclipseDurationS: 0, orbitPeriodS: 5000 });
  });
});

describe("HIL payload load from ComputeActivity", () => {
  /** Runs with `busyCores` reported by "inference" every simulated `everyS` from the start until `untilS`. */
  async function runWith(options: { busyCores?: number; everyS?: number; untilS?: number; duration?: string; wall?: (run: HilRun) => () => number; setup?: (run: HilRun) => Promise<void> | void }) {
    const s = scenario({ duration: options.duration ?? "2h", power: { battery: { capacityWh: 200, initialSocPct: 50 } } });
    let run!: HilRun;
    const wall = options.wall;
    run = new HilRun({ scenario: s, ...(wall ? { wallClockMs: () => wall(run)() } : {}) });
    await options.setup?.(run);
    if (options.busyCores !== undefined) {
      const timer = run.clock.setInterval(() => {
        if (options.untilS !== undefined && run.clock.monotonicMs() / 1000 > options.untilS) timer.cancel();
        else run.bus.publish(umbra.platform.v1.ComputeActivity, { source: "inference", busyCores: options.busyCores! });
      }, (options.everyS ?? 10) * 1000);
    }
    const report = await run.run();
    const at = (tS: number) => report.series.payloadPowerW[report.timeS.indexOf(tS)]!;
    return { report, at };
  }

  it("sets the payload's load from the busy cores: all CPUs busy is busyW, none is idleW; the battery follows", async () => {
    const none = await runWith({});
    const idle = await runWith({ busyCores: 0 });
    const half = await runWith({ busyCores: 2 });
    const full = await runWith({ busyCores: 4 });
    const over = await runWith({ busyCores: 16 });
    // Once the first report has arrived, the duty-cycle stand-in gives way to the reports.
    expect(none.at(3600)).toBeCloseTo(DUTY_CYCLE_W, 3);
    expect(idle.at(3600)).toBeCloseTo(IDLE_W, 3);
    expect(half.at(3600)).toBeCloseTo(IDLE_W + (BUSY_W - IDLE_W) / 2, 3);
    expect(full.at(3600)).toBeCloseTo(BUSY_W, 3);
    expect(over.at(3600)).toBeCloseTo(BUSY_W, 3); // more busy cores than CPUs is all of them
    const soc = (r: typeof none) => r.report.summary["minSocPct"] as number;
    expect(soc(idle)).toBeGreaterThan(soc(none));
    expect(soc(none)).toBeGreaterThan(soc(full));
    expect(full.report.summary["energyOutWh"] as number).toBeGreaterThan(idle.report.summary["energyOutWh"] as number);
    expect(full.report.summary["maxDieC"] as number).toBeGreaterThan(idle.report.summary["maxDieC"] as number);
    const load = (r: typeof none) => r.report.series.loadPowerW.reduce((x, y) => x + y, 0);
    expect(load(full) - load(idle)).toBeGreaterThan(0);
  });

  it("scales the dynamic part with the CPU frequency as the duty cycle did", async () => {
    const slow = await runWith({
      busyCores: 4,
      setup: async (run) => {
        await run.bus.request(umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy0", maxKhz: 600000 }, umbra.platform.v1.CpuFreqPolicy, { target: "hil" });
      },
    });
    expect(slow.at(3600)).toBeCloseTo(IDLE_W + (BUSY_W - IDLE_W) / 9, 3);
  });

  it("lets an explicit PowerDraw win over ComputeActivity", async () => {
    const r = await runWith({
      busyCores: 4,
      setup: (run) => {
        run.clock.setInterval(() => run.bus.publish(umbra.platform.v1.PowerDraw, { source: "jobs", watts: 15 }), 10_000);
      },
    });
    expect(r.at(3600)).toBe(15);
  });

  it("takes reports made through a service's platform ActivityPort (HIL adapter)", async () => {
    const r = await runWith({
      setup: (run) => {
        const platform = createHilPlatform({ bus: run.bus, staleAfterMs: 60_000 });
        run.clock.setInterval(() => platform.activity.report("inference", 3), 1000);
      },
    });
    expect(r.at(3600)).toBeCloseTo(IDLE_W + ((BUSY_W - IDLE_W) * 3) / 4, 3);
  });

  it("sums the sources", async () => {
    const r = await runWith({
      busyCores: 1,
      setup: (run) => {
        run.clock.setInterval(() => run.bus.publish(umbra.platform.v1.ComputeActivity, { source: "jobs", busyCores: 2 }), 10_000);
      },
    });
    expect(r.at(3600)).toBeCloseTo(IDLE_W + ((BUSY_W - IDLE_W) * 3) / 4, 3);
  });

  it("lets reports expire: after 3 steps when the wall clock runs far ahead, after 2 s of wall time at speed 60", async () => {
    // Wall time races (1000 wall ms per simulated ms): only the step count keeps a report fresh.
    const fast = await runWith({ busyCores: 4, everyS: 60, untilS: 1800, wall: (run) => () => run.clock.monotonicMs() * 1000 });
    expect(fast.at(1800)).toBeCloseTo(BUSY_W, 3);
    expect(fast.at(1820)).toBeCloseTo(BUSY_W, 3);
    expect(fast.at(1850)).toBeCloseTo(DUTY_CYCLE_W, 3);
    // Speed 60: 2 s of wall time is 120 simulated seconds, longer than 3 steps.
    const real = await runWith({ busyCores: 4, everyS: 60, untilS: 1800, wall: speed60 });
    expect(real.at(1850)).toBeCloseTo(BUSY_W, 3);
    expect(real.at(1900)).toBeCloseTo(BUSY_W, 3);
    expect(real.at(1950)).toBeCloseTo(DUTY_CYCLE_W, 3);
    expect(real.at(7200)).toBeCloseTo(DUTY_CYCLE_W, 3);
  });

  it("counts and drops invalid reports: NaN, negative, absurd, infinite, no source", async () => {
    const r = await runWith({
      setup: (run) => {
        run.clock.setInterval(() => {
          for (const [source, busyCores] of [
            ["inference", Number.NaN],
            ["inference", -1],
            ["inference", 1e9],
            ["inference", Number.POSITIVE_INFINITY],
            ["", 4],
            ["bad/name", 4],
          ] as [string, number][]) {
            run.bus.publish(umbra.platform.v1.ComputeActivity, { source, busyCores });
          }
        }, 600_000);
      },
    });
    expect(r.report.series.payloadPowerW.every((w) => Math.abs(w - DUTY_CYCLE_W) < 1e-9)).toBe(true);
    expect(r.report.summary["invalidActivityReports"]).toBe(6 * 12);
  });
});
