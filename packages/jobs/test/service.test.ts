import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Priority, SimClock, type ServiceContext } from "@umbra/core";
import { ServiceHarness } from "@umbra/core/testing";
import { umbra } from "@umbra/proto";
import { JobsService } from "../src/service.js";
import { JobStore } from "../src/store.js";
import { decodeSummaryProduct } from "../src/summary.js";
import { classifier, FakeBackend, FakeIllumination, FakePower, segmenter, tileFolder, type FakeModel } from "./support/fakes.js";

const { CommandStatus } = umbra.core.v1;
const J = umbra.jobs.v1;
const cleanup: string[] = [];
afterEach(() => {
  for (const d of cleanup.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Rig {
  h: ServiceHarness<JobsService>;
  backend: FakeBackend;
  power: FakePower;
  illumination: FakeIllumination;
  store: JobStore;
  products: { productId: string; data: Uint8Array }[];
}

async function rig(options: { models?: FakeModel[]; parameters?: Record<string, unknown>; dbPath?: string; ttc?: boolean } = {}): Promise<Rig> {
  let backend!: FakeBackend;
  let power!: FakePower;
  const illumination = new FakeIllumination();
  const store = JobStore.open(options.dbPath ?? ":memory:");
  const products: { productId: string; data: Uint8Array }[] = [];
  const h = await ServiceHarness.start(
    (ctx: ServiceContext) => {
      backend = new FakeBackend(ctx.clock as SimClock, options.models ?? [classifier("big", { seconds: 0.5, watts: 12 }), classifier("small", { seconds: 0.1, watts: 6, accuracy: 0.8 })]);
      power = new FakePower(backend);
      if (options.ttc !== false) {
        // The TTC's side of product downlink: acknowledge and count.
        ctx.bus.serve(
          umbra.ttc.v1.QueueProduct,
          umbra.ttc.v1.ProductQueued,
          (q) => {
            products.push({ productId: q.productId, data: q.data });
            const packets = Math.ceil(q.data.length / 1000);
            return { productId: q.productId, packets, bytes: BigInt(q.data.length + packets * 20), duplicate: false, productNumber: products.length };
          },
          { target: "ttc" },
        );
      }
      return new JobsService(ctx, { store, power, illumination, backend });
    },
    { parameters: { tickMs: 1000, batchSize: 4, batteryCapacityWh: 100, ...options.parameters } },
  );
  h.record(J.RunnerStatus);
  return { h, backend, power, illumination, store, products };
}

async function until(r: Rig, cond: () => boolean, maxMs = 120_000, stepMs = 250): Promise<void> {
  for (let t = 0; t < maxMs; t += stepMs) {
    if (cond()) return;
    await r.h.advance(stepMs);
  }
  if (!cond()) throw new Error(`condition not met within ${maxMs} ms of simulated time`);
}

async function tenant(r: Rig, name = "acme", quotaJoules = 0, extra: Partial<{ rejectOverQuota: boolean; period: number }> = {}) {
  const res = await r.h.command("setTenant", { tenant: name, quotaJoules, quotaCoreSeconds: 0, period: extra.period ?? J.QuotaPeriod.QUOTA_PERIOD_ORBIT, rejectOverQuota: extra.rejectOverQuota ?? false });
  expect(res.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
}

function folder(n: number, seed = 1) {
  const f = tileFolder(n, seed);
  cleanup.push(f.folder);
  return f;
}

describe("JobsService", () => {
  it("runs a job from submission to done, queues its summary for downlink and reports the data reduction", async () => {
    const r = await rig();
    await tenant(r);
    const tiles = folder(10);
    const sub = await r.h.command("submit", { jobId: "scan-1", tenant: "acme", model: "big", inputFolder: tiles.folder, priority: 5 });
    expect(sub.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(sub.message).toMatch(/^job scan-1 queued: 10 tiles/);
    await until(r, () => r.store.get("scan-1")!.state === "done" && r.store.get("scan-1")!.productState === "queued");
    const job = r.store.get("scan-1")!;
    expect(job.tilesDone).toBe(10);
    expect(job.inferences).toBe(10);
    expect(job.rawInputBytes).toBe(tiles.bytes);
    expect(r.store.decisions("scan-1").filter((d) => d.from !== d.to || d.to === "queued").map((d) => d.to)).toEqual(["queued", "admitted", "running", "done"]);
    // The product: class counts that match the tiles' brightness.
    expect(r.products).toHaveLength(1);
    expect(r.products[0]!.productId).toBe("job-scan-1");
    const product = decodeSummaryProduct(r.products[0]!.data);
    expect(product.tiles).toBe(10);
    expect(product.models).toEqual(["big"]);
    const counts = product.classCounts;
    expect((counts["clear"] ?? 0) + (counts["cloudy"] ?? 0)).toBe(10);
    expect(counts["cloudy"] ?? 0).toBe(tiles.cloudy.filter(Boolean).length);
    const report = await r.h.command("report", { jobId: "scan-1" });
    expect(report.message).toMatch(/^scan-1 done 10\/10 tiles on big, 10 inferences, .* reduction \d+\.\d:1; done/);
    expect(r.store.get("scan-1")!.downlinkedBytes).toBeGreaterThan(0);
    expect(r.h.events("jobDone")).toHaveLength(1);
    expect(r.h.events("productQueued")).toHaveLength(1);
    await r.h.stop();
  });

  it("rejects bad submissions with a failure report and stores nothing", async () => {
    const r = await rig();
    await tenant(r);
    const tiles = folder(2);
    const empty = mkdtempSync(join(tmpdir(), "umbra-empty-"));
    cleanup.push(empty);
    writeFileSync(join(empty, "notes.txt"), "no tiles here");
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ tenant: "nobody", model: "big", inputFolder: tiles.folder }, /tenant nobody does not exist/],
      [{ tenant: "acme", model: "Big Model", inputFolder: tiles.folder }, /^model: /],
      [{ tenant: "acme", model: "big", inputFolder: "/no/such/folder" }, /folder/],
      [{ tenant: "acme", model: "big", inputFolder: empty }, /PNG/i],
      [{ tenant: "acme", model: "big", inputFolder: "relative/path" }, /not an absolute path/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, inputArchiveTag: "x" }, /exactly one/],
      [{ tenant: "acme", model: "big" }, /exactly one/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, priority: 12 }, /priority: must be 0..9/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, protection: "quad" }, /protection/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, variants: ["small"] }, /accuracy floor/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, accuracyFloor: 1.5 }, /accuracy_floor/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, deadlineNs: 5n }, /in the past/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, deadlineNs: 10n ** 19n, deadlineInS: 60 }, /not both/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, batchSize: 100_000 }, /batch_size/],
      [{ jobId: "../etc", tenant: "acme", model: "big", inputFolder: tiles.folder }, /job_id/],
      [{ tenant: "acme", model: "big", inputFolder: `${tiles.folder}\0x` }, /NUL/],
      [{ tenant: "acme", model: "big", inputFolder: tiles.folder, output: { summary: J.SummaryKind.SUMMARY_KIND_CLOUD_FREE } }, /clear_labels/],
      [{ tenant: "acme", model: "big", inputArchiveTag: "never-imported" }, /no tiles under tag/],
    ];
    for (const [args, why] of cases) {
      const res = await r.h.command("submit", args as never);
      expect(res.status, JSON.stringify(args, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
      expect(res.message).toMatch(why);
    }
    expect(r.store.list()).toHaveLength(0);
    // A duplicate id is refused and the first job is untouched.
    expect((await r.h.command("submit", { jobId: "j1", tenant: "acme", model: "big", inputFolder: tiles.folder })).status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    const dup = await r.h.command("submit", { jobId: "j1", tenant: "acme", model: "small", inputFolder: tiles.folder });
    expect(dup.message).toMatch(/exists/);
    expect(r.store.get("j1")!.spec.model).toBe("big");
    await r.h.stop();
  });

  it("cancel, pause, resume and reprioritise move the job, and refuse what does not apply", async () => {
    const r = await rig({ parameters: { maxConcurrency: 1 } });
    await tenant(r);
    const tiles = folder(40);
    await r.h.command("submit", { jobId: "a", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await r.h.command("submit", { jobId: "b", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await until(r, () => r.store.get("a")!.state === "running" && r.store.get("a")!.tilesDone >= 4);
    expect(r.store.get("b")!.reason).toMatch(/job slot\(s\) taken/);
    expect((await r.h.command("pause", { jobId: "a" })).message).toMatch(/^job a paused at tile \d+ of 40/);
    expect(r.store.get("a")!.state).toBe("paused");
    const doneAtPause = r.store.get("a")!.tilesDone;
    await until(r, () => r.store.get("b")!.state === "running");
    await r.h.advance(5000);
    expect(r.store.get("a")!.tilesDone).toBe(doneAtPause);
    expect((await r.h.command("pause", { jobId: "a" })).message).toMatch(/already paused/);
    expect((await r.h.command("resume", { jobId: "b" })).message).toMatch(/not paused/);
    expect((await r.h.command("reprioritise", { jobId: "a", priority: 9 })).status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect((await r.h.command("reprioritise", { jobId: "a", priority: 10 })).status).not.toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r.store.get("a")!.spec.priority).toBe(9);
    await r.h.command("resume", { jobId: "a" });
    // Higher priority now: a takes the only slot back from b.
    await until(r, () => r.store.get("a")!.state === "running" && r.store.get("b")!.state === "queued");
    expect(r.h.events("preempted").some((e) => e.message.startsWith("b:"))).toBe(true);
    expect((await r.h.command("cancel", { jobId: "b" })).message).toMatch(/^job b cancelled/);
    expect((await r.h.command("cancel", { jobId: "b" })).message).toMatch(/cancelled; cannot cancel/);
    expect((await r.h.command("cancel", { jobId: "zzz" })).message).toMatch(/no job "zzz"/);
    expect(r.store.get("b")!.state).toBe("cancelled");
    await r.h.stop();
  });

  it("a reset mid-job loses nothing: the job resumes at its last completed batch and no tile is inferred into the results twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-jobs-reset-"));
    cleanup.push(dir);
    const dbPath = join(dir, "jobs.db");
    const r1 = await rig({ dbPath });
    await tenant(r1);
    const tiles = folder(20);
    await r1.h.command("submit", { jobId: "long", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await until(r1, () => r1.store.get("long")!.tilesDone >= 8);
    // Power cut: the process is gone mid-batch. Nothing is stopped cleanly; the database is all that is left.
    const atCut = JobStore.open(dbPath);
    const before = atCut.get("long")!;
    atCut.close();
    expect(before.state).toBe("running");
    expect(before.tilesDone % 4).toBe(0);
    const r2 = await rig({ dbPath });
    const resumed = r2.store.get("long")!;
    expect(resumed.state).toBe("queued");
    expect(resumed.reason).toBe(`resumed after a reset at tile ${resumed.tilesDone} of 20`);
    expect(r2.h.events("resumedAfterReset")).toHaveLength(1);
    await until(r2, () => r2.store.get("long")!.state === "done");
    const results = r2.store.results("long");
    expect(results.map((x) => x.index)).toEqual([...Array(20).keys()]);
    // The second runner started exactly where the first one's last commit left off.
    expect(r2.backend.calls.length).toBe(20 - resumed.tilesDone);
    await r2.h.stop();
  });

  it("a thermal emergency stops every job as it arrives; jobs run again when it clears", async () => {
    const r = await rig();
    await tenant(r);
    const tiles = folder(60);
    await r.h.command("submit", { jobId: "a", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await r.h.command("submit", { jobId: "b", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await until(r, () => r.store.get("a")!.state === "running" && r.store.get("b")!.state === "running");
    r.h.bus.publish(umbra.thermal.v1.ThermalEmergency, { active: true, zone: "thermal_zone0", celsius: 104, criticalC: 100, reason: "critical trip" }, { priority: Priority.PRIORITY_SAFETY });
    await r.h.settle(); // no tick: delivery alone stops them
    for (const id of ["a", "b"]) {
      expect(r.store.get(id)!.state).toBe("queued");
      expect(r.store.get(id)!.reason).toMatch(/^emergency: thermal: thermal_zone0 at 104.0 °C/);
    }
    const calls = r.backend.calls.length;
    await r.h.advance(5000);
    expect(r.backend.calls.length - calls).toBeLessThanOrEqual(2); // at most the inferences already in flight
    expect(r.h.events("emergencyStop")).toHaveLength(1);
    expect(r.h.published(J.RunnerStatus).at(-1)!.message.emergency).toBe(true);
    r.h.bus.publish(umbra.thermal.v1.ThermalEmergency, { active: false, zone: "thermal_zone0", celsius: 80 }, { priority: Priority.PRIORITY_SAFETY });
    await until(r, () => r.store.get("a")!.state === "running");
    expect(r.h.events("emergencyOver")).toHaveLength(1);
    await r.h.stop();
  });

  it("the thermal budget's slot count is obeyed at the next batch boundary; a power emergency (battery at the floor) stops every job within one tick", async () => {
    const r = await rig();
    await tenant(r);
    const tiles = folder(60);
    await r.h.command("submit", { jobId: "a", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await r.h.command("submit", { jobId: "b", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await until(r, () => r.store.get("b")!.state === "running");
    r.h.bus.publish(umbra.thermal.v1.PowerBudget, { budgetW: 10, jobConcurrency: 1, state: umbra.thermal.v1.ThrottleState.THROTTLE_STATE_CONTROLLING, reason: "die over target" });
    // Fewer slots is not an emergency: the batch in flight (4 tiles, 2 s) finishes first.
    await until(r, () => ["a", "b"].filter((id) => r.store.get(id)!.state === "running").length === 1, 3000);
    const waiting = ["a", "b"].find((id) => r.store.get(id)!.state === "queued")!;
    expect(r.store.get(waiting)!.reason).toMatch(/thermal budget 10.0 W grants 1 job slot\(s\): die over target/);
    r.power.socPct = 29.5;
    await r.h.advance(1000);
    expect(["a", "b"].map((id) => r.store.get(id)!.state)).toEqual(["queued", "queued"]);
    expect(r.store.get("a")!.reason).toMatch(/^emergency: power: battery at 29.5%, at or below the 30% depth-of-discharge floor/);
    expect(r.h.events("emergencyStop")[0]!.message).toMatch(/power: battery at 29.5%/);
    await r.h.stop();
  });

  it("learns energy per inference from the power port, meters it per job and tenant, and the sums agree", async () => {
    const r = await rig();
    await tenant(r, "acme");
    await tenant(r, "beta");
    const tiles = folder(30);
    await r.h.advance(3000); // idle: learns the base load
    expect(r.h.service.costOf("big", "tmr").baseLoadW).toBeCloseTo(20, 6);
    await r.h.command("submit", { jobId: "a", tenant: "acme", model: "big", inputFolder: tiles.folder, protection: "single" });
    await r.h.command("submit", { jobId: "b", tenant: "beta", model: "big", inputFolder: tiles.folder, protection: "single" });
    await until(r, () => ["a", "b"].every((id) => r.store.get(id)!.state === "done"));
    await r.h.advance(2000); // the last interval is metered at the next tick
    const learned = r.h.service.costOf("big", "single");
    expect(learned.samples).toBeGreaterThan(5);
    // 12 W for 0.5 s per inference.
    expect(learned.energyJ).toBeGreaterThan(6 * 0.7);
    expect(learned.energyJ).toBeLessThan(6 * 1.3);
    expect(learned.seconds).toBeCloseTo(0.5, 1);
    const a = r.store.get("a")!;
    const b = r.store.get("b")!;
    expect(a.energyJ).toBeGreaterThan(30 * 6 * 0.7);
    expect(a.energyJ).toBeLessThan(30 * 6 * 1.3);
    expect(a.coreSeconds).toBeCloseTo(15, 6);
    const usage = await r.h.bus.request(J.GetTenantUsage, { tenant: "" }, J.TenantUsageList, { target: "jobs" });
    const byTenant = new Map(usage.tenants.map((t) => [t.tenant, t]));
    expect(byTenant.get("acme")!.totalJoules).toBeCloseTo(a.energyJ, 6);
    expect(byTenant.get("beta")!.totalJoules).toBeCloseTo(b.energyJ, 6);
    expect(byTenant.get("acme")!.jobsDone).toBe(1);
    const metered = r.h.telemetry("meteredJoules").at(-1)!.value as number;
    expect(metered).toBeCloseTo(a.energyJ + b.energyJ, 6);
    await expect(r.h.bus.request(J.GetTenantUsage, { tenant: "ghost" }, J.TenantUsageList, { target: "jobs" })).rejects.toThrow(/no tenant "ghost"/);
    await r.h.stop();
  });

  it("a tenant over its quota waits with the reason, and one that rejects over-quota work refuses the submission", async () => {
    const r = await rig();
    await tenant(r, "small", 20);
    await tenant(r, "strict", 20, { rejectOverQuota: true });
    const tiles = folder(30);
    await r.h.advance(2000);
    await r.h.command("submit", { jobId: "q", tenant: "small", model: "big", inputFolder: tiles.folder, protection: "single" });
    await until(r, () => /^quota: tenant small has/.test(r.store.get("q")!.reason));
    const q = r.store.get("q")!;
    expect(q.state).toBe("queued");
    // The batch that crossed the quota finished and counted (4 tiles at about 6 J); then it stopped.
    expect(q.tilesDone).toBe(4);
    expect(q.energyJ).toBeGreaterThan(20);
    expect(q.energyJ).toBeLessThan(4 * 6 * 1.3);
    expect(r.h.events("preempted").some((e) => e.message.startsWith("q: quota"))).toBe(true);
    const rejected = await r.h.command("submit", { jobId: "s", tenant: "strict", model: "big", inputFolder: tiles.folder, protection: "single" });
    expect(rejected.status).not.toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(rejected.message).toMatch(/^quota: strict has 20 J left this orbit; the job needs about \d+ J on big/);
    expect(r.store.get("s")).toBeUndefined();
    await r.h.stop();
  });

  it("switches a job to a cheaper variant when power runs short, never below its accuracy floor", async () => {
    const big = classifier("big", { seconds: 0.5, watts: 12 });
    big.description.energyJ = 6;
    big.description.latencyMs = 500;
    const small = classifier("small", { seconds: 0.1, watts: 20, accuracy: 0.8 });
    small.description.energyJ = 2;
    small.description.latencyMs = 100;
    const r = await rig({ models: [big, small], parameters: { marginPct: 5, batteryCapacityWh: 10 } });
    await tenant(r);
    const tiles = folder(40);
    // Eclipse, 1 W base load, the battery a little above the kept floor (35%) at the eclipse's end:
    // about 100 J for jobs. big needs 240 J for the job, small 80 J.
    r.power.baseW = 1;
    r.illumination.reading = { sunlit: false, secondsToTransition: 1200, eclipseDurationS: 2100, orbitPeriodS: 5700 };
    r.power.inputPowerW = 0;
    r.power.socPct = 38.8;
    await r.h.advance(2000);
    await r.h.command("submit", { jobId: "v", tenant: "acme", model: "big", variants: ["small"], accuracyFloor: 0.75, inputFolder: tiles.folder, protection: "single" });
    await r.h.command("submit", { jobId: "w", tenant: "acme", model: "big", variants: ["small"], accuracyFloor: 0.85, inputFolder: tiles.folder, protection: "single" });
    await until(r, () => r.store.get("v")!.tilesDone >= 4);
    expect(r.store.get("v")!.variant).toBe("small");
    expect(r.store.decisions("v").some((d) => d.reason.startsWith("on small: big would not finish"))).toBe(true);
    expect(r.backend.calls.length).toBeGreaterThan(0);
    expect(r.backend.calls.every((c) => c.model === "small")).toBe(true);
    const w = r.store.get("w")!;
    expect(w.state).toBe("queued");
    expect(w.reason).toMatch(/^energy: the forecast keeps \d+ J for jobs until the eclipse ends in 20 min; a batch on big needs 24 J$/);
    // Sunrise with plenty of power: the preferred model comes back.
    r.illumination.reading = { sunlit: true, secondsToTransition: 3000, eclipseDurationS: 2100, orbitPeriodS: 5700 };
    r.power.inputPowerW = 120;
    r.power.socPct = 95;
    await until(r, () => r.store.get("w")!.state === "running");
    expect(r.store.get("w")!.variant).toBe("big");
    await r.h.stop();
  });

  it("expires a job at its deadline and downlinks what it found; failures after repeated inference errors", async () => {
    const r = await rig({ parameters: { maxInferenceFailures: 2 } });
    await tenant(r);
    const tiles = folder(200);
    await r.h.command("submit", { jobId: "late", tenant: "acme", model: "big", inputFolder: tiles.folder, deadlineInS: 20 });
    await until(r, () => r.store.get("late")!.state === "expired", 60_000);
    const late = r.store.get("late")!;
    expect(late.reason).toMatch(/^deadline passed with \d+ of 200 tiles done/);
    expect(late.tilesDone).toBeGreaterThan(0);
    await until(r, () => r.products.length === 1);
    expect(decodeSummaryProduct(r.products[0]!.data).state).toBe(J.JobState.JOB_STATE_EXPIRED);
    expect(r.h.events("jobExpired")).toHaveLength(1);
    r.backend.failNext = 100;
    await r.h.command("submit", { jobId: "broken", tenant: "acme", model: "big", inputFolder: tiles.folder });
    await until(r, () => r.store.get("broken")!.state === "failed");
    expect(r.store.get("broken")!.reason).toMatch(/^2 batches failed in a row; last: big: timed out/);
    expect(r.h.events("jobFailed")).toHaveLength(1);
    await r.h.stop();
  });

  it("segmenter jobs downlink detections; queries list and report jobs and refuse bad queries", async () => {
    const r = await rig({ models: [segmenter("seg", { seconds: 0.1 })] });
    await tenant(r);
    const tiles = folder(3);
    await r.h.command("submit", { jobId: "det", tenant: "acme", model: "seg", inputFolder: tiles.folder });
    await until(r, () => r.products.length === 1);
    const p = decodeSummaryProduct(r.products[0]!.data);
    expect(p.detections).toHaveLength(3);
    expect(p.detections[0]).toMatchObject({ x: 3, y: 2, width: 5, height: 4 });
    // Dynamic spatial dims: the tile's size rounded to a multiple of 32.
    expect(r.backend.calls[0]!.dims).toEqual([1, 3, 32, 32]);
    const list = await r.h.bus.request(J.QueryJobs, { states: [J.JobState.JOB_STATE_DONE] }, J.JobList, { target: "jobs" });
    expect(list.jobs.map((j) => j.jobId)).toEqual(["det"]);
    expect(list.jobs[0]!.reductionRatio).toBeGreaterThan(0);
    const report = await r.h.bus.request(J.GetJobReport, { jobId: "det" }, J.JobReport, { target: "jobs" });
    expect(report.decisions.filter((d, i) => i === 0 || d.from !== d.to).map((d) => d.to)).toEqual([J.JobState.JOB_STATE_QUEUED, J.JobState.JOB_STATE_ADMITTED, J.JobState.JOB_STATE_RUNNING, J.JobState.JOB_STATE_DONE]);
    await expect(r.h.bus.request(J.QueryJobs, { states: [99] }, J.JobList, { target: "jobs" })).rejects.toThrow(/states\[0\]/);
    await expect(r.h.bus.request(J.QueryJobs, { limit: 5000 }, J.JobList, { target: "jobs" })).rejects.toThrow(/limit/);
    await expect(r.h.bus.request(J.GetJobReport, { jobId: "nope" }, J.JobReport, { target: "jobs" })).rejects.toThrow(/no job/);
    const listCmd = await r.h.command("list", {});
    expect(listCmd.message).toMatch(/^1 job\(s\): det done 3\/3 p0/);
    await r.h.stop();
  });

  it("unreadable power readings hold the power-aware runner; imported archive tiles run like a folder", async () => {
    const r = await rig();
    await tenant(r);
    const tiles = folder(6);
    const imp = await r.h.command("importTiles", { folder: tiles.folder, tag: "pass-7" });
    expect(imp.message).toBe(`6 tile(s), ${tiles.bytes} B imported under pass-7`);
    expect((await r.h.command("importTiles", { folder: tiles.folder, tag: "bad tag!" })).status).not.toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    r.power.broken = true;
    await r.h.command("submit", { jobId: "arc", tenant: "acme", model: "big", inputArchiveTag: "pass-7" });
    await r.h.advance(3000);
    expect(r.store.get("arc")!.reason).toMatch(/power readings unavailable/);
    r.power.broken = false;
    await until(r, () => r.store.get("arc")!.state === "done");
    expect(r.store.get("arc")!.rawInputBytes).toBe(tiles.bytes);
    await r.h.stop();
  });
});
