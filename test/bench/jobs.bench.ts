// `pnpm bench jobs`: the power-aware job runner in the HIL over one simulated
// day, against a naive first-in-first-out runner measured in the same run on
// the same day, the same workload and the same emulated payload.
//
// Each run: the HIL environment (orbit, array, battery, thermal), the real
// JobsService on the HIL platform (power and illumination from HardwareState),
// and a mixed workload of jobs submitted over the bus at their arrival times
// (detection jobs on PaddleOCR's detector with the small built-in segmenter
// as a cheaper variant, classification jobs on PaddleOCR's direction
// classifier with the small built-in classifier as a variant; half the jobs
// accept a variant). The two runners differ only in the `policy` parameter.
//
// The payload computer is emulated (EmulatedPayload, emulated-payload.ts): an
// inference takes simulated time from its measured host latency on ONNX
// Runtime × a declared board slowdown × the replicas TMR runs, keeps two
// cores busy meanwhile (the HIL turns that into payload load, so the battery
// feels it), and returns outputs really computed by ONNX Runtime. When the
// power system sheds the payload (battery at its DoD floor), the emulated
// computer is off: the inference in flight is lost and none runs until power
// returns.
//
// Figures per scenario (nominal day, low power): goodput (inferences
// completed before their job's deadline), payload energy above idle per
// useful inference, minimum state of charge, jobs missed, load shed. Targets
// (issue #7): the power-aware runner never breaches the DoD floor (no load
// shed, SoC never under the floor) and beats FIFO on goodput in low power.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { sendCommand } from "@umbra/core";
import { HilRun, loadScenario, type Scenario } from "@umbra/hil";
import { JobStore, JobsService, seededRandom, syntheticTiles } from "@umbra/jobs";
import { createHilPlatform } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { EmulatedPayload, measureVariants, type BoardModel, type MeasuredVariant } from "./emulated-payload.js";
import { result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCENARIOS = { nominal: join(here, "../../../hil/scenarios/nominal-day.yaml"), "low-power": join(here, "../../../hil/scenarios/low-power.yaml") };

/** The board (see emulated-payload.ts): a core 60× slower than this host's, two threads per inference at 80 % scaling. */
const BOARD: BoardModel = { slowdown: 60, threads: 2, threadEfficiency: 0.8 };
const J = umbra.jobs.v1;

interface Arrival {
  atS: number;
  args: Record<string, unknown>;
  deadlineS: number;
}

/** The day's workload: deterministic from the seed. */
function workload(folders: Map<number, string>, durationS: number): Arrival[] {
  const rand = seededRandom(7);
  const arrivals: Arrival[] = [];
  const sizes = [...folders.keys()];
  let t = 300;
  let n = 0;
  while (t < durationS - 3600) {
    const detection = rand() < 0.45;
    const size = sizes[Math.floor(rand() * sizes.length)]!;
    const flexible = rand() < 0.5;
    const deadlineS = t + 3600 * (1 + rand() * 2.5);
    const priority = 1 + Math.floor(rand() * 9);
    const id = `w${String(++n).padStart(3, "0")}`;
    arrivals.push({
      atS: t,
      deadlineS,
      args: {
        jobId: id,
        tenant: rand() < 0.6 ? "earth-obs" : "maritime",
        model: detection ? "det" : "cls",
        variants: flexible ? [detection ? "det-lite" : "cls-lite"] : [],
        accuracyFloor: flexible ? 0.7 : 0,
        inputFolder: folders.get(size)!,
        priority,
        deadlineInS: Math.round(deadlineS - t),
        protection: "tmr",
        batchSize: 8,
      },
    });
    t += 300 + rand() * 420;
  }
  return arrivals;
}

interface Outcome {
  goodput: number;
  inferences: number;
  payloadWh: number;
  minSocPct: number;
  shedWh: number;
  jobs: number;
  missed: number;
  done: number;
  variantTiles: number;
  lost: number;
  wallS: number;
}

async function runDay(scenario: Scenario, policy: "power-aware" | "fifo", variants: Map<string, MeasuredVariant>, folders: Map<number, string>): Promise<Outcome> {
  const run = new HilRun({ scenario });
  const stepMs = scenario.step * 1000;
  const platform = createHilPlatform({ bus: run.bus, staleAfterMs: 3 * stepMs });
  const battery = scenario.power.battery;
  let busW = 30;
  const payload = new EmulatedPayload({ clock: run.clock, variants, activity: platform.activity, stepS: scenario.step, board: BOARD, busPowerW: () => busW });
  const idleW = scenario.power.payload.idleW;
  const platformW = scenario.power.platformLoadW;
  let payloadWh = 0;
  run.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
    const p = e.power!;
    payload.railOff = p.shedPowerW > 0;
    busW = p.loadPowerW;
    payloadWh += (Math.max(0, p.loadPowerW - p.shedPowerW - platformW - idleW) * scenario.step) / 3600;
  });
  const store = JobStore.open(":memory:");
  const service = new JobsService(
    {
      bus: run.bus,
      clock: run.clock,
      parameters: {
        policy,
        tickMs: 5000,
        maxConcurrency: 2,
        batteryCapacityWh: battery.capacityWh,
        chargeEfficiency: battery.chargeEfficiency,
        dischargeEfficiency: battery.dischargeEfficiency,
        dodFloorPct: battery.dodFloorPct,
        marginPct: 5,
      },
    },
    { store, power: platform.power, illumination: platform.illumination, backend: payload },
  );
  const send = (type: Parameters<typeof sendCommand>[2], args: Record<string, unknown>) =>
    sendCommand(run.bus, "jobs", type, args as never, { timeoutMs: 30_000 }).then((r) => {
      if (r.status !== umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED) throw new Error(`${String(args["jobId"] ?? args["tenant"])}: ${r.message}`);
    });
  const arrivals = workload(folders, scenario.duration);
  const failures: unknown[] = [];
  run.clock.setTimeout(() => {
    void service.start().then(async () => {
      await send(J.SetTenant, { tenant: "earth-obs", period: J.QuotaPeriod.QUOTA_PERIOD_DAY });
      await send(J.SetTenant, { tenant: "maritime", period: J.QuotaPeriod.QUOTA_PERIOD_DAY });
    });
  }, 10);
  for (const a of arrivals) run.clock.setTimeout(() => void send(J.SubmitJob, a.args).catch((err) => failures.push(err)), a.atS * 1000);
  const t0 = performance.now();
  const report = await run.run();
  const wallS = (performance.now() - t0) / 1000;
  await service.stop();
  if (failures.length > 0) throw new Error(`submissions failed: ${String(failures[0])}`);
  const epochTaiMs = Number(run.clock.nowTaiNs() / 1_000_000n) - scenario.duration * 1000;
  let goodput = 0;
  let inferences = 0;
  let missed = 0;
  let done = 0;
  let variantTiles = 0;
  for (const a of arrivals) {
    const id = a.args["jobId"] as string;
    const job = store.get(id);
    if (!job) continue;
    const deadlineMs = epochTaiMs + a.deadlineS * 1000;
    goodput += store.usefulResults(id, deadlineMs);
    inferences += job.inferences;
    if (job.state === "done" && job.finishedMs <= deadlineMs) done++;
    else missed++;
    variantTiles += store.results(id).filter((r) => r.model !== job.spec.model).length;
  }
  store.close();
  await platform.close();
  return {
    goodput,
    inferences,
    payloadWh,
    minSocPct: Number(report.summary["minSocPct"]),
    shedWh: Number(report.summary["shedWh"]),
    jobs: arrivals.length,
    missed,
    done,
    variantTiles,
    lost: payload.lostInferences,
    wallS,
  };
}

async function compare(name: keyof typeof SCENARIOS, ctx: BenchContext, variants: Map<string, MeasuredVariant>, folders: Map<number, string>): Promise<BenchResult[]> {
  const scenario = await loadScenario(SCENARIOS[name]);
  const floor = scenario.power.battery.dodFloorPct;
  ctx.log(`${name}: power-aware`);
  const pa = await runDay(scenario, "power-aware", variants, folders);
  ctx.log(`${name}: ${pa.goodput} useful inferences, min SoC ${pa.minSocPct}%, ${pa.wallS.toFixed(0)} s wall; FIFO`);
  const ff = await runDay(scenario, "fifo", variants, folders);
  ctx.log(`${name}: FIFO ${ff.goodput} useful inferences, min SoC ${ff.minSocPct}%, ${ff.wallS.toFixed(0)} s wall`);
  const perUseful = (o: Outcome) => (o.goodput > 0 ? (o.payloadWh * 3600) / o.goodput : Number.NaN);
  const lowPower = name === "low-power";
  const breached = (o: Outcome) => o.shedWh > 0 || o.minSocPct < floor - 0.01;
  return [
    result(`${name}: goodput, inferences done before their deadline (baseline: FIFO)`, pa.goodput, "inferences", {
      baseline: ff.goodput,
      target: lowPower ? "ratio > 1" : "informational",
      met: lowPower ? pa.goodput > ff.goodput : null,
    }),
    result(`${name}: payload energy above idle per useful inference (baseline: FIFO)`, perUseful(pa), "J", { baseline: perUseful(ff) }),
    result(`${name}: minimum state of charge, DoD floor ${floor}% (baseline: FIFO)`, pa.minSocPct, "%", {
      baseline: ff.minSocPct,
      target: `never under ${floor}%, no load shed`,
      met: !breached(pa),
    }),
    result(`${name}: payload load shed by the power system (baseline: FIFO)`, pa.shedWh, "Wh", { baseline: ff.shedWh }),
    result(`${name}: jobs missed (not done by their deadline) of ${pa.jobs} (baseline: FIFO)`, pa.missed, "jobs", { baseline: ff.missed }),
    result(`${name}: inferences run in all (baseline: FIFO)`, pa.inferences, "inferences", { baseline: ff.inferences }),
    result(`${name}: tiles run on a cheaper variant (baseline: FIFO)`, pa.variantTiles, "tiles", { baseline: ff.variantTiles }),
    result(`${name}: inferences lost to the payload rail being shed (baseline: FIFO)`, pa.lost, "inferences", { baseline: ff.lost }),
  ];
}

export const jobsBenchmark: Benchmark = {
  name: "jobs",
  description: "Power-aware job runner vs FIFO over a simulated day (nominal and low power): goodput, energy, min SoC",
  async run(ctx) {
    const dir = mkdtempSync(join(os.tmpdir(), "umbra-bench-jobs-"));
    try {
      const modelsDir = join(dir, "models");
      mkdirSync(modelsDir);
      const variants = await measureVariants(ctx, modelsDir, BOARD);
      // Tile folders of a few sizes; jobs of the same size share one.
      const folders = new Map<number, string>();
      const all = syntheticTiles(1200, 64, 5);
      for (const size of [200, 400, 800, 1200]) {
        const folder = join(dir, `tiles-${size}`);
        mkdirSync(folder);
        for (const t of all.slice(0, size)) writeFileSync(join(folder, t.name), t.png);
        folders.set(size, folder);
      }
      const results: BenchResult[] = [];
      for (const name of ["nominal", "low-power"] as const) results.push(...(await compare(name, ctx, variants, folders)));
      return results;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
