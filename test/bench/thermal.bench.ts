// `pnpm bench thermal`: the thermal governor in the HIL with the real job
// runner loaded, against the kernel's step-wise governor measured in the
// same run under identical conditions.
//
// For each scenario (hot case, nominal day) and each governor, one HIL run
// of one simulated day on one in-process bus:
//   - the HIL environment (orbit, array, battery, radiator, die);
//   - the thermal service on the HIL platform (the same code as on a board),
//     with HIL_CONFIG, the site config of the HIL payload;
//   - the real JobsService (packages/jobs), which obeys the governor's
//     PowerBudget.job_concurrency and ThermalEmergency, fed with detection
//     jobs (PaddleOCR's detector, TMR) so that it always has work queued;
//   - the emulated payload computer (emulated-payload.ts): an inference takes
//     its measured ONNX Runtime latency × a declared board slowdown, divided
//     by the CPU speed the HIL's cpufreq ceiling allows now, and keeps one
//     core busy meanwhile. The HIL turns busy cores into payload power
//     (× frequency²), and that power into die heat.
// So the loop closes through the real runner: the governor grants job slots
// and sets the CPU ceiling, the runner runs that many jobs, the payload
// computes that fast and heats the die that much.
//
// Figures per run: maximum die temperature, time above the target (passive
// trip), work done (board-seconds of inference completed at the top
// frequency, as a fraction of all cores flat out all day), inferences
// completed. Targets (issue #8): in the hot case never above the hot trip,
// and more work than step-wise at the same (or lower) maximum temperature.
// A third hot-case run per governor injects sensor faults (stuck, NaN) on
// the die sensor to show the fallback (informational).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { sendCommand, type Bus } from "@umbra/core";
import { HilRun, loadScenario, type Scenario } from "@umbra/hil";
import { JobStore, JobsService, syntheticTiles } from "@umbra/jobs";
import { createHilPlatform } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { HIL_CONFIG, HIL_PARAMETERS, ThermalService, type ThermalConfig } from "@umbra/thermal";
import { EmulatedPayload, measureVariants, type BoardModel, type MeasuredVariant } from "./emulated-payload.js";
import { result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCENARIOS = { hot: join(here, "../../../hil/scenarios/hot-case.yaml"), nominal: join(here, "../../../hil/scenarios/nominal-day.yaml") };

export const CONFIG: ThermalConfig = HIL_CONFIG;

/** Site defaults for this payload: the tuned gains plus the die trip points the scenarios use. */
export const PARAMETERS = { ...HIL_PARAMETERS, diePassiveC: 80, dieHotC: 90, dieCriticalC: 100, switchOnBandC: 10, kD: 0, integralCutoffC: 3 };

/**
 * One board core per job: the runner's job slots are the payload's four
 * cores. The slowdown (a declared figure, see emulated-payload.ts) sets how
 * many inferences a simulated day holds, and so the wall time of the run; the
 * heat follows the busy cores and the CPU ceiling, not the inference count.
 */
const BOARD: BoardModel = { slowdown: 120, threads: 1, threadEfficiency: 1 };
const SLOTS = CONFIG.jobs.maxSlots;
/** Tiles per job, and how many tiles the runner is kept supplied with. */
const JOB_TILES = 500;
const BACKLOG_TILES = 2_000;
const J = umbra.jobs.v1;

interface Outcome {
  maxDieC: number;
  secondsAboveTarget: number;
  secondsAboveTargetPlus1: number;
  /** Board-seconds at the top frequency of completed inference ÷ (all slots × the run). */
  work: number;
  inferences: number;
  payloadWh: number;
  throttledS: number;
  emergencies: number;
  durationS: number;
  wallS: number;
}

/** Keeps the runner supplied: a new job whenever fewer than BACKLOG_TILES tiles are waiting. */
class Feeder {
  private submitted = 0;
  private n = 0;
  readonly failures: unknown[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly payload: EmulatedPayload,
    private readonly folder: string,
  ) {}

  top(): void {
    while (this.submitted - this.payload.completed < BACKLOG_TILES) {
      this.submitted += JOB_TILES;
      const jobId = `t${String(++this.n).padStart(4, "0")}`;
      void sendCommand(this.bus, "jobs", J.SubmitJob, { jobId, tenant: "thermal-bench", model: "det", inputFolder: this.folder, priority: 5, deadlineInS: 3 * 86_400, protection: "tmr", batchSize: 8 } as never, { timeoutMs: 60_000 })
        .then((r) => {
          if (r.status !== umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED) throw new Error(`${jobId}: ${r.message}`);
        })
        .catch((err) => this.failures.push(err));
    }
  }
}

async function runCase(
  scenario: Scenario,
  governor: "power-allocator" | "step-wise",
  variants: Map<string, MeasuredVariant>,
  folder: string,
  targetC: number = PARAMETERS.diePassiveC,
): Promise<Outcome> {
  const run = new HilRun({ scenario });
  const stepMs = scenario.step * 1000;
  const platform = createHilPlatform({ bus: run.bus, staleAfterMs: 3 * stepMs });
  const policy0 = scenario.hardware.cpufreq[0]!;
  const fMax = policy0.availableKHz.at(-1)!;
  let khz = fMax;
  let busW = 30;
  let payloadWh = 0;
  let emergencies = 0;
  let emergency = false;
  const idleW = scenario.power.payload.idleW;
  const platformW = scenario.power.platformLoadW;
  run.bus.subscribe(umbra.platform.v1.HardwareState, (s) => {
    const p = s.cpufreq.find((x) => x.policy === policy0.policy);
    if (p) khz = p.maxKhz;
  });
  run.bus.subscribe(umbra.thermal.v1.ThermalEmergency, (e) => {
    if (e.active && !emergency) emergencies++;
    emergency = e.active;
  });
  const payload = new EmulatedPayload({ clock: run.clock, variants, activity: platform.activity, stepS: scenario.step, board: BOARD, busPowerW: () => busW, speed: () => khz / fMax });
  run.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
    const p = e.power!;
    payload.railOff = p.shedPowerW > 0;
    busW = p.loadPowerW;
    payloadWh += (Math.max(0, p.loadPowerW - p.shedPowerW - platformW) * scenario.step) / 3600;
  });
  const battery = scenario.power.battery;
  const store = JobStore.open(":memory:");
  const jobs = new JobsService(
    {
      bus: run.bus,
      clock: run.clock,
      parameters: {
        tickMs: 5000,
        maxConcurrency: SLOTS,
        batteryCapacityWh: battery.capacityWh,
        chargeEfficiency: battery.chargeEfficiency,
        dischargeEfficiency: battery.dischargeEfficiency,
        dodFloorPct: battery.dodFloorPct,
        marginPct: 5,
      },
    },
    { store, power: platform.power, illumination: platform.illumination, backend: payload },
  );
  const thermal = new ThermalService(
    { bus: run.bus, clock: run.clock, parameters: { ...PARAMETERS, diePassiveC: targetC, governor, pollPeriodMs: stepMs } },
    { thermal: platform.thermal, cpufreq: platform.cpufreq, config: CONFIG },
  );
  await thermal.start();
  const feeder = new Feeder(run.bus, payload, folder);
  run.clock.setTimeout(() => {
    void jobs.start().then(async () => {
      const r = await sendCommand(run.bus, "jobs", J.SetTenant, { tenant: "thermal-bench", period: J.QuotaPeriod.QUOTA_PERIOD_DAY } as never, { timeoutMs: 30_000 });
      if (r.status !== umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED) throw new Error(`tenant: ${r.message}`);
      feeder.top();
      run.clock.setInterval(() => feeder.top(), 60_000);
    });
  }, 10);
  const t0 = performance.now();
  const report = await run.run();
  const wallS = (performance.now() - t0) / 1000;
  const throttledS = thermal.throttledSeconds;
  await jobs.stop();
  await thermal.stop();
  store.close();
  await platform.close();
  if (feeder.failures.length > 0) throw new Error(`submissions failed: ${String(feeder.failures[0])}`);
  const die = report.series.dieC;
  const target = PARAMETERS.diePassiveC;
  const durationS = report.timeS.at(-1) ?? 0;
  return {
    maxDieC: Math.max(...die),
    secondsAboveTarget: die.filter((t) => t > target).length * scenario.step,
    secondsAboveTargetPlus1: die.filter((t) => t > target + 1).length * scenario.step,
    work: payload.workS / (SLOTS * durationS),
    inferences: payload.completed,
    payloadWh,
    throttledS,
    emergencies,
    durationS,
    wallS,
  };
}

/**
 * Step-wise again with its target lowered until its maximum die temperature
 * is within 0.5 °C of the power allocator's (at most three runs): the work
 * the kernel's governor does at the same maximum temperature.
 */
async function stepWiseAtSameMax(scenario: Scenario, paMaxC: number, first: Outcome, ctx: BenchContext, variants: Map<string, MeasuredVariant>, folder: string): Promise<{ outcome: Outcome; targetC: number }> {
  let best = { outcome: first, targetC: PARAMETERS.diePassiveC };
  let targetC = PARAMETERS.diePassiveC;
  let last = first;
  for (let i = 0; i < 3 && Math.abs(last.maxDieC - paMaxC) > 0.5; i++) {
    // Its overshoot above its target barely depends on the target: move the target by the gap.
    targetC = Math.round((targetC - (last.maxDieC - paMaxC)) * 10) / 10;
    ctx.log(`step-wise with target ${targetC} °C, to match the power allocator's maximum ${paMaxC.toFixed(1)} °C`);
    last = await runCase(scenario, "step-wise", variants, folder, targetC);
    ctx.log(`  max die ${last.maxDieC.toFixed(1)} °C, work ${last.work.toFixed(3)}, ${last.wallS.toFixed(0)} s wall`);
    const closer = Math.abs(last.maxDieC - paMaxC) < Math.abs(best.outcome.maxDieC - paMaxC);
    if (closer) best = { outcome: last, targetC };
  }
  return best;
}

async function compare(name: string, scenario: Scenario, ctx: BenchContext, variants: Map<string, MeasuredVariant>, folder: string, hotTargets: boolean): Promise<BenchResult[]> {
  ctx.log(`${name}: power allocator`);
  const pa = await runCase(scenario, "power-allocator", variants, folder);
  ctx.log(`${name}: max die ${pa.maxDieC.toFixed(1)} °C, work ${pa.work.toFixed(3)}, ${pa.inferences} inferences, ${pa.wallS.toFixed(0)} s wall; step-wise`);
  const sw = await runCase(scenario, "step-wise", variants, folder);
  ctx.log(`${name}: step-wise max die ${sw.maxDieC.toFixed(1)} °C, work ${sw.work.toFixed(3)}, ${sw.inferences} inferences, ${sw.wallS.toFixed(0)} s wall`);
  const rows = [
    result(`${name}: max die temperature (baseline: step-wise)`, pa.maxDieC, "°C", {
      baseline: sw.maxDieC,
      target: hotTargets ? `< hot trip ${PARAMETERS.dieHotC} °C` : "informational",
      met: hotTargets ? pa.maxDieC < PARAMETERS.dieHotC : null,
    }),
    result(`${name}: time above target ${PARAMETERS.diePassiveC} °C (baseline: step-wise)`, pa.secondsAboveTarget, "s", { baseline: sw.secondsAboveTarget }),
    result(`${name}: time more than 1 °C above target (baseline: step-wise)`, pa.secondsAboveTargetPlus1, "s", { baseline: sw.secondsAboveTargetPlus1 }),
    result(`${name}: work done, fraction of all cores flat out (baseline: step-wise, same target)`, pa.work, "x", { baseline: sw.work }),
    result(`${name}: inferences completed, TMR (baseline: step-wise, same target)`, pa.inferences, "inferences", { baseline: sw.inferences }),
    result(`${name}: payload energy (baseline: step-wise)`, pa.payloadWh, "Wh", { baseline: sw.payloadWh }),
    result(`${name}: time throttled (baseline: step-wise)`, pa.throttledS, "s", { baseline: sw.throttledS }),
    result(`${name}: emergency stops (baseline: step-wise)`, pa.emergencies, "count", { baseline: sw.emergencies }),
  ];
  if (!hotTargets) return rows;
  const same = await stepWiseAtSameMax(scenario, pa.maxDieC, sw, ctx, variants, folder);
  const matched = Math.abs(same.outcome.maxDieC - pa.maxDieC) <= 0.5 || same.outcome.maxDieC > pa.maxDieC;
  rows.push(
    result(`${name}: step-wise target for the same max die temperature`, same.targetC, "°C", { baseline: null }),
    result(`${name}: max die temperature (baseline: step-wise at that target)`, pa.maxDieC, "°C", { baseline: same.outcome.maxDieC }),
    result(`${name}: work done at the same max die temperature (baseline: step-wise at that target)`, pa.work, "x", {
      baseline: same.outcome.work,
      target: "ratio > 1 with max die within 0.5 °C of step-wise's or below",
      met: pa.work > same.outcome.work && matched,
    }),
  );
  return rows;
}

export const thermalBenchmark: Benchmark = {
  name: "thermal",
  description: "Thermal governor in the HIL with the job runner loaded (hot case, nominal day): max die temperature, time above target, work, vs step-wise",
  async run(ctx) {
    const dir = mkdtempSync(join(os.tmpdir(), "umbra-bench-thermal-"));
    try {
      const modelsDir = join(dir, "models");
      mkdirSync(modelsDir);
      const variants = await measureVariants(ctx, modelsDir, BOARD, ["det"]);
      const folder = join(dir, "tiles");
      mkdirSync(folder);
      for (const t of syntheticTiles(JOB_TILES, 64, 5)) writeFileSync(join(folder, t.name), t.png);
      const hot = await loadScenario(SCENARIOS.hot);
      const nominal = await loadScenario(SCENARIOS.nominal);
      const faulty: Scenario = {
        ...hot,
        name: "hot-case-sensor-faults",
        faults: [
          { at: 6 * 3600, kind: "sensor-stuck", sensor: "thermal_zone0", duration: 1800 },
          { at: 12 * 3600, kind: "sensor-nan", sensor: "thermal_zone0", duration: 1800 },
        ],
      };
      const only = process.env["UMBRA_BENCH_THERMAL_ONLY"];
      const rows: BenchResult[] = [];
      if (!only || only === "hot") rows.push(...(await compare("hot case", hot, ctx, variants, folder, true)));
      if (!only || only === "nominal") rows.push(...(await compare("nominal day", nominal, ctx, variants, folder, false)));
      if (!only || only === "faults") {
        const faultRows = await compare("hot case + die sensor stuck 30 min, NaN 30 min", faulty, ctx, variants, folder, false);
        rows.push(...faultRows.filter((r) => /temperature|work|emergency/.test(r.name)));
      }
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
