// The job runner end to end, in one process: the REAL inference service
// (tiny-cls and tiny-seg under ONNX Runtime, TMR), the REAL TTC (authenticated
// telecommands, verification, the downlink queue that takes the runner's
// summary products) and the JobsService on the HIL platform
// (createHilPlatform), fed by a real HilRun. Nothing is faked.
//
// The services share one bus node ("payload") on the real clock; the HIL runs
// as its own node on a simulated clock (1 s steps, 20 simulated seconds per
// wall second), joined in-process, exactly as `pnpm start` runs it: a HilRun
// needs a bus on its SimClock, and the inference service's compute activity
// (busy cores per activity period) only means something on the clock its
// stopwatch runs on. The HIL turns that activity into payload load on its
// power bus (one CPU, 8 W idle .. 120 W busy, so the runner's power readings
// respond to the jobs), and the runner meters that as the jobs' energy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, InProcessLink, RealClock, SimClock, silentLogger } from "@umbra/core";
import { KeyStore } from "@umbra/ccsds";
import { umbra, type MessageOf } from "@umbra/proto";
import { createHilPlatform, waitForHardwareState } from "@umbra/platform";
import { HilRun, parseScenario } from "@umbra/hil";
import { InferenceService, ModelRegistry, installShippedModels } from "@umbra/inference";
import {
  CommandHistory,
  ContactPlan,
  DownlinkQueue,
  PRODUCT_SERVICE,
  ScheduleStore,
  SecurityState,
  TcBuilder,
  TtcService,
  openArchive,
  openTtcDatabase,
  reassembleProducts,
} from "@umbra/ttc";
import { BusInferenceBackend, JOBS_APID, JobStore, JobsService, decodeSummaryProduct, syntheticTiles } from "@umbra/jobs";

const J = umbra.jobs.v1;
const { FailureCode, VerificationStage } = umbra.ttc.v1;
const KEY = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Verification = MessageOf<typeof umbra.ttc.v1.Verification>;
type Telemetry = Record<string, number | boolean | string | bigint | undefined>;

/** The sequence count of a space packet (its primary header). */
function sequenceCount(packet: Uint8Array): number {
  return ((packet[2]! << 8) | packet[3]!) & 0x3fff;
}

describe("the job runner on the payload stack", () => {
  it(
    "runs a tile job through real TMR inference to done, meters its energy from the HIL's power readings, downlinks its summary, and refuses bad telecommands",
    { timeout: 90_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "umbra-jobs-stack-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const logger = silentLogger();
      const clock = new RealClock();
      const bus = new Bus({ node: "payload", clock, logger, queueCapacity: 100_000 });
      cleanups.push(() => bus.close());

      // ---- the HIL: power, orbit, emulated hardware --------------------------------
      const scenario = parseScenario({
        name: "jobs-stack",
        seed: 11,
        epoch: "2026-03-20T00:00:00Z",
        duration: "6h",
        step: "1s",
        power: { payload: { idleW: 8, busyW: 120, dutyCycle: 0.5 } },
        // Quiet: no upsets, hangs or latch-ups to make the run depend on the seed.
        radiation: { quietRatePerBitDay: 0, sefiRatePerDay: 0, latchupRatePerDay: 0 },
        hardware: { cpufreq: [{ policy: "policy0", cpus: [0], availableKHz: [600000, 1200000] }] },
      });
      const hilClock = new SimClock({ startUtcMs: scenario.epoch });
      const hilBus = new Bus({ node: "hil", clock: hilClock, logger, queueCapacity: 8192 });
      const [payloadEnd, hilEnd] = InProcessLink.pair("payload-hil");
      bus.attach(payloadEnd);
      hilBus.attach(hilEnd);
      const hil = new HilRun({ scenario, bus: hilBus, clock: hilClock, speed: 20, logger });
      const hilDone = hil.run();
      cleanups.push(async () => {
        hil.stop();
        await hilDone;
        hilBus.close();
      });
      const loadW: number[] = [];
      bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
        if (e.power) loadW.push(e.power.loadPowerW);
      });
      const platform = createHilPlatform({ bus, staleAfterMs: 2000 });
      cleanups.push(() => platform.close());
      expect(await waitForHardwareState(platform, 5000)).toBe(true);

      // ---- the TTC ------------------------------------------------------------------
      const ttcDb = openTtcDatabase(join(dir, "ttc.db"));
      const archive = openArchive(join(dir, "archive.db"));
      const queue = new DownlinkQueue(ttcDb);
      const ttc = new TtcService(
        { bus, clock, logger },
        {
          keys: new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY }]),
          history: new CommandHistory(ttcDb),
          schedule: new ScheduleStore(ttcDb),
          security: new SecurityState(ttcDb),
          downlink: { queue, plan: new ContactPlan(ttcDb) },
          archive,
        },
      );
      await ttc.start();
      cleanups.push(async () => {
        await ttc.stop();
        ttcDb.close();
        archive.close();
      });
      const verifications: Verification[] = [];
      bus.subscribe(umbra.ttc.v1.Verification, (v) => void verifications.push(v));
      const productPackets: Uint8Array[] = [];
      bus.subscribe(umbra.ttc.v1.TmDownlink, (d) => {
        if (d.service === PRODUCT_SERVICE) productPackets.push(Uint8Array.from(d.packet));
      });
      const ground = new TcBuilder({ keys: new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY }]), spi: 1, securitySequence: 1 });
      /** A telecommand through the TTC; resolves with the verification that ends it (completion, or the first failure). */
      const telecommand = async (packet: Uint8Array): Promise<{ end: Verification; stages: Verification[] }> => {
        const count = sequenceCount(packet);
        const mine = () => verifications.filter((v) => v.sequenceCount === count && v.apid === ((packet[0]! & 0x07) << 8 | packet[1]!));
        bus.publish(umbra.ttc.v1.TcUplink, { packet, link: "test" });
        const end = await until(() => mine().find((v) => !v.success || v.stage === VerificationStage.VERIFICATION_STAGE_COMPLETION), `the verification of TC ${count}`);
        return { end, stages: mine() };
      };

      // ---- inference: the shipped tiny models, its activity reported to the HIL -------
      const registry = ModelRegistry.open(join(dir, "models.db"));
      cleanups.push(() => registry.close());
      const inference = new InferenceService(
        { bus, clock, logger, parameters: { activityPeriodMs: 100, reportPeriodMs: 500, canaryPeriodMs: 0 } },
        { registry, power: platform.power, activity: platform.activity },
      );
      await inference.start();
      cleanups.push(() => inference.stop());
      const installed = await installShippedModels(inference, registry, join(dir, "models"), ["tiny-cls", "tiny-seg"]);
      expect(installed.failed).toEqual([]);
      const telemetry = new Map<string, Telemetry>();
      bus.subscribe(umbra.core.v1.TelemetryReport, (r) => {
        const t = telemetry.get(r.service) ?? {};
        for (const s of r.samples) t[s.name] = s.value ? (s.value as unknown as Record<string, Telemetry[string]>)[s.value.kind as string] : undefined;
        telemetry.set(r.service, t);
      });
      // The HIL takes the payload's load from the activity reports from here on.
      let activityReports = 0;
      bus.subscribe(umbra.platform.v1.ComputeActivity, (a) => {
        if (a.source === "inference") activityReports++;
      });
      await until(() => activityReports >= 3, "compute activity reports from the inference service");

      // ---- the job runner, on the HIL battery --------------------------------------
      const store = JobStore.open(join(dir, "jobs.db"));
      cleanups.push(() => store.close());
      const battery = scenario.power.battery;
      const jobs = new JobsService(
        { bus, clock, logger, parameters: { tickMs: 100, batchSize: 8, batteryCapacityWh: battery.capacityWh, dodFloorPct: battery.dodFloorPct } },
        { store, power: platform.power, illumination: platform.illumination, backend: new BusInferenceBackend(bus) },
      );
      await jobs.start();
      cleanups.push(() => jobs.stop());
      await until(() => ttc.dictionary.serviceNamed("jobs"), "the TTC to learn the jobs service");
      // The runner meters energy above the bus load it learned with no job running.
      const baseLoadW = await until(() => telemetry.get("jobs")?.["baseLoadW"] as number | undefined, "the runner's base load");
      expect(baseLoadW).toBeGreaterThan(20);

      // ---- bad telecommands: a failure report each, nothing stored -----------------
      const tiles = join(dir, "tiles");
      mkdirSync(tiles);
      const synthetic = syntheticTiles(96, 64, 2026);
      for (const t of synthetic) writeFileSync(join(tiles, t.name), t.png);
      const rawBytes = synthetic.reduce((a, t) => a + t.png.length, 0);

      const badTenant = await telecommand(ground.perform(JOBS_APID, "setTenant", J.SetTenant, { tenant: "no spaces allowed", quotaJoules: 0, quotaCoreSeconds: 0, period: 0, rejectOverQuota: false }));
      expect(badTenant.end.success).toBe(false);
      expect(badTenant.end.code).toBe(FailureCode.FAILURE_BAD_ARGUMENT);
      expect(badTenant.end.detail).toMatch(/not a tenant name/);
      expect(store.tenants()).toEqual([]);

      const tenant = await telecommand(ground.perform(JOBS_APID, "setTenant", J.SetTenant, { tenant: "acme", quotaJoules: 0, quotaCoreSeconds: 0, period: J.QuotaPeriod.QUOTA_PERIOD_ORBIT, rejectOverQuota: false }));
      expect(tenant.end.success, tenant.end.detail).toBe(true);

      const badSubmits: [Partial<MessageOf<typeof J.SubmitJob>>, RegExp][] = [
        [{ jobId: "bad-1", tenant: "acme", model: "tiny-cls", inputFolder: "tiles" }, /input_folder: .*not an absolute path/],
        [{ jobId: "bad-2", tenant: "acme", model: "tiny-cls", variants: ["tiny-seg"], inputFolder: tiles }, /accuracy_floor/],
        [{ jobId: "bad-3", tenant: "acme", model: "tiny-cls", inputFolder: tiles, protection: "quadruple" }, /protection/],
      ];
      for (const [args, why] of badSubmits) {
        const r = await telecommand(ground.perform(JOBS_APID, "submit", J.SubmitJob, args));
        expect(r.end.success, JSON.stringify(args)).toBe(false);
        expect(r.end.code).toBe(FailureCode.FAILURE_BAD_ARGUMENT);
        expect(r.end.detail).toMatch(why);
        expect(r.stages.some((v) => v.stage === VerificationStage.VERIFICATION_STAGE_COMPLETION && v.success)).toBe(false);
      }
      expect(store.list()).toEqual([]);
      const none = await bus.request(J.QueryJobs, { states: [], tenant: "", limit: 0 }, J.JobList, { target: "jobs" });
      expect(none.jobs).toEqual([]);

      // ---- two jobs over the tiles: class counts on tiny-cls, detections on tiny-seg ---
      const cls = await telecommand(
        ground.perform(JOBS_APID, "submit", J.SubmitJob, { jobId: "scene-cls", tenant: "acme", model: "tiny-cls", inputFolder: tiles, priority: 5, protection: "tmr", output: { summary: J.SummaryKind.SUMMARY_KIND_CLASS_COUNTS } }),
      );
      expect(cls.end.success, cls.end.detail).toBe(true);
      expect(cls.end.detail).toMatch(/^job scene-cls queued: 96 tiles/);
      const det = await telecommand(
        ground.perform(JOBS_APID, "submit", J.SubmitJob, { jobId: "scene-det", tenant: "acme", model: "tiny-seg", inputFolder: tiles, priority: 4, protection: "tmr", output: { summary: J.SummaryKind.SUMMARY_KIND_DETECTIONS, maxDetections: 4 } }),
      );
      expect(det.end.success, det.end.detail).toBe(true);

      const status = async (jobId: string) => (await bus.request(J.GetJobReport, { jobId }, J.JobReport, { target: "jobs" })).status!;
      const finished = async (jobId: string) => {
        const s = await status(jobId);
        // Done, and its summary product acknowledged by the TTC.
        return s.state === J.JobState.JOB_STATE_DONE && s.downlinkedBytes > 0n ? s : undefined;
      };
      await until(() => finished("scene-cls"), "scene-cls to finish", 60_000);
      await until(() => finished("scene-det"), "scene-det to finish", 60_000);
      // A worker's last activity is metered at the tick after its job ended: let a few ticks pass.
      await new Promise((r) => setTimeout(r, 500));

      // ---- what it did ---------------------------------------------------------------
      const report = await bus.request(J.GetJobReport, { jobId: "scene-cls" }, J.JobReport, { target: "jobs" });
      const s = report.status!;
      expect(s.tilesDone).toBe(96);
      expect(Number(s.inferences)).toBe(96);
      expect(s.variant).toBe("tiny-cls");
      expect(Number(s.rawInputBytes)).toBe(rawBytes);
      expect(Object.values(report.classCounts).reduce((a, n) => a + n, 0)).toBe(96);
      expect(report.decisions.map((d) => d.to)).toEqual(expect.arrayContaining([J.JobState.JOB_STATE_ADMITTED, J.JobState.JOB_STATE_RUNNING, J.JobState.JOB_STATE_DONE]));
      // Every tile was inferred under TMR and voted (a single run would be "unvoted").
      for (const id of ["scene-cls", "scene-det"]) {
        const results = store.results(id);
        expect(results).toHaveLength(96);
        expect(results.every((r) => r.vote === "unanimous" || r.vote === "corrected"), `${id} votes ${[...new Set(results.map((r) => r.vote))].join(",")}`).toBe(true);
      }
      await until(() => Number(telemetry.get("inference")?.["inferences"] ?? 0) >= 192, "the inference service's telemetry to count the jobs' inferences");
      expect(Number(telemetry.get("inference")!["replicaRuns"])).toBeGreaterThanOrEqual(3 * 192);

      // Energy: the inference service's activity became payload load on the HIL's
      // bus, the runner's power readings rose above the base load while its jobs
      // ran, and it metered that to them and to their tenant.
      expect(Math.max(...loadW)).toBeGreaterThan(baseLoadW + 1);
      const usage = await bus.request(J.GetTenantUsage, { tenant: "acme" }, J.TenantUsageList, { target: "jobs" });
      const acme = usage.tenants[0]!;
      const jobsEnergy = s.energyJ + (await status("scene-det")).energyJ;
      expect(jobsEnergy).toBeGreaterThan(0);
      expect(acme.totalJoules).toBeCloseTo(jobsEnergy, 6);
      expect(acme.totalCoreSeconds).toBeGreaterThan(0);
      expect(acme.jobsDone).toBe(2);

      // The summary reached the TTC's downlink queue as ST[13] segments; the
      // ground rebuilds it from them, and it is far smaller than the tiles.
      expect(store.pendingProducts()).toEqual([]);
      expect(s.downlinkedBytes).toBeGreaterThan(0n);
      expect(s.reductionRatio).toBeGreaterThan(1);
      expect(s.reductionRatio).toBeCloseTo(rawBytes / Number(s.downlinkedBytes), 6);
      expect(queue.stats().classes.bulk.enqueuedPackets).toBeGreaterThanOrEqual(2);
      const products = reassembleProducts(productPackets).products;
      const byId = new Map(products.map((p) => [p.productId, p]));
      expect(byId.get("job-scene-cls")).toMatchObject({ source: "jobs", kind: "umbra.jobs.v1.JobSummaryProduct" });
      const clsProduct = decodeSummaryProduct(byId.get("job-scene-cls")!.data);
      expect(clsProduct).toMatchObject({ jobId: "scene-cls", tenant: "acme", models: ["tiny-cls"], tiles: 96, uncorrectable: 0, rawInputBytes: BigInt(rawBytes) });
      expect(clsProduct.classCounts).toEqual(report.classCounts);
      const detProduct = decodeSummaryProduct(byId.get("job-scene-det")!.data);
      expect(detProduct).toMatchObject({ jobId: "scene-det", models: ["tiny-seg"], tiles: 96 });
      expect(detProduct.detections.every((d) => d.tile < 96 && d.width > 0 && d.height > 0)).toBe(true);
      expect((await status("scene-det")).reductionRatio).toBeGreaterThan(1);
    },
  );
});
