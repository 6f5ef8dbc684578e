// The job runner's workload: synthetic PNG tiles written under <data>/tiles,
// a tenant, and jobs submitted by telecommand through the TTC, as a user's
// ground segment would. "demo": four jobs on the three small models (class
// counts and cloud-free tiles on tiny-cls, detections on tiny-seg, and
// ocr-cls with tiny-cls as a cheaper variant); "light": one class-count job
// on tiny-cls. One "<prefix>: ..." line per step; resolves with the jobs'
// final statuses. Cleanup that must happen even if the stack stops first
// (withdrawing the demo's accuracy declaration) is left in ctx.jobsCleanup.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { JOBS_APID, syntheticTiles } from "@umbra/jobs";
import { umbra, type InitOf, type MessageOf } from "@umbra/proto";
import type { StackContext } from "./context.js";
import { failure, sleep } from "./ground.js";

const J = umbra.jobs.v1;
export type JobStatus = MessageOf<typeof umbra.jobs.v1.JobStatus>;
const TERMINAL = new Set<number>([J.JobState.JOB_STATE_DONE, J.JobState.JOB_STATE_FAILED, J.JobState.JOB_STATE_CANCELLED, J.JobState.JOB_STATE_EXPIRED]);
export const stateName = (s: number) => (J.JobState[s] ?? String(s)).replace("JOB_STATE_", "").toLowerCase();
export const DEMO_TENANT = "demo";
const DEMO_ACCURACY = 0.9;
const INFERENCE_APID = 0x040;

type JobPlan = InitOf<typeof umbra.jobs.v1.SubmitJob> & { jobId: string; model: string; variants?: string[] };

function writeTiles(data: string, name: string, count: number, size: number, seed: number) {
  const folder = resolve(data, "tiles", name);
  mkdirSync(folder, { recursive: true });
  let bytes = 0;
  let cloudy = 0;
  for (const t of syntheticTiles(count, size, seed)) {
    writeFileSync(join(folder, t.name), t.png);
    bytes += t.png.length;
    if (t.cloudy) cloudy++;
  }
  return { folder, count, bytes, cloudy };
}

export async function runJobs(ctx: StackContext, mode: "demo" | "light", prefix: string, waitMs: number): Promise<JobStatus[]> {
  const { logger, hub, ground, options } = ctx;
  const say = (fields: Record<string, unknown>, msg: string) => logger.info({ [prefix]: true, ...fields }, `${prefix}: ${msg}`);
  const active = new Set(options.models);
  const models = options.models.join(",");
  // Deterministic scenes (about a third cloudy, some ground tiles with dark features), rewritten each run.
  const sceneA = writeTiles(options.data, "scene-a", mode === "demo" ? 24 : 16, 64, 1);
  const sceneB = mode === "demo" ? writeTiles(options.data, "scene-b", 16, 64, 2) : undefined;
  for (const s of sceneB ? [sceneA, sceneB] : [sceneA]) {
    say({ folder: s.folder, tiles: s.count, bytes: s.bytes, cloudy: s.cloudy }, `wrote ${s.count} synthetic 64×64 PNG tiles (${(s.bytes / 1024).toFixed(0)} KiB, ${s.cloudy} cloudy) to ${s.folder}`);
  }
  const tag = Date.now().toString(36);
  const C = J.SummaryKind;
  const plan: JobPlan[] =
    mode === "demo" && sceneB
      ? [
          { jobId: `cls-${tag}`, model: "tiny-cls", inputFolder: sceneA.folder, priority: 5, output: { summary: C.SUMMARY_KIND_CLASS_COUNTS } },
          // tiny-cls is untrained: its labels mean nothing; class-0 stands in for "clear" to show the cloud-free product.
          { jobId: `clear-${tag}`, model: "tiny-cls", inputFolder: sceneA.folder, priority: 3, output: { summary: C.SUMMARY_KIND_CLOUD_FREE, clearLabels: ["class-0"] } },
          { jobId: `det-${tag}`, model: "tiny-seg", inputFolder: sceneB.folder, priority: 4, output: { summary: C.SUMMARY_KIND_DETECTIONS, detectionThreshold: 0.5, maxDetections: 8 } },
          {
            jobId: `orient-${tag}`,
            model: "ocr-cls",
            variants: ["tiny-cls"],
            accuracyFloor: 0.8,
            inputFolder: sceneB.folder,
            priority: 2,
            deadlineInS: 600,
            output: { summary: C.SUMMARY_KIND_CLASS_COUNTS },
          },
        ]
      : [{ jobId: `cls-${tag}`, model: "tiny-cls", inputFolder: sceneA.folder, priority: 5, output: { summary: C.SUMMARY_KIND_CLASS_COUNTS } }];
  const jobs = plan.filter((j) => {
    if (active.has(j.model)) return true;
    say({ job: j.jobId, model: j.model }, `${j.model} is not in --models (${models}): not submitting ${j.jobId}`);
    return false;
  });
  if (jobs.length === 0) return [];

  // The runner and the models must be up: the TTC routes a telecommand only to a service it has learned.
  await ground.until(() => (ctx.declared("jobs") ? true : undefined), 60_000, "the jobs service to declare itself");
  for (const model of new Set(jobs.flatMap((j) => [j.model, ...(j.variants ?? [])]))) {
    await ground.until(
      () =>
        ground
          .describeModel(model)
          .then((i) => (i.loaded ? i : undefined))
          .catch(() => undefined),
      60_000,
      `the inference service to load ${model}`,
    );
  }

  // The runner meters a job's energy as the bus power above the load it
  // learned with nothing running; until it has that (its second tick), it
  // meters nothing. Let it learn it first, so the workload's energy counts.
  const base = await ground
    .until(
      () => {
        const b = ctx.observed.telemetry["jobs"]?.["baseLoadW"];
        return typeof b === "number" ? b : undefined;
      },
      15_000,
      "the job runner to learn the base load",
    )
    .catch((err: Error) => {
      if (ctx.isStopping()) throw err;
      say({}, `${err.message}; submitting anyway (the first jobs may be metered 0 J)`);
      return undefined;
    });
  if (base !== undefined) say({ baseLoadW: +base.toFixed(2) }, `the job runner reads a base load of ${base.toFixed(1)} W on the bus with no job running`);

  let v = await ground.telecommand(JOBS_APID, "jobs", "setTenant", J.SetTenant, {
    tenant: DEMO_TENANT,
    quotaJoules: 20_000,
    quotaCoreSeconds: 0,
    period: J.QuotaPeriod.QUOTA_PERIOD_ORBIT,
    rejectOverQuota: false,
  });
  say({ command: "jobs.setTenant", success: v.success }, `jobs.setTenant by telecommand through the TTC: ${v.success ? v.detail : failure(v)}`);
  if (!v.success) throw new Error(`setTenant failed: ${failure(v)}`);

  // The runner takes a variant only if its accuracy is declared. None of the
  // shipped models declares one, so the demo declares one for tiny-cls:
  // A DEMO DECLARATION, NOT A MEASUREMENT (tiny-cls is an untrained CNN built
  // in code; it has no accuracy on any validation set, and its labels are not
  // ocr-cls's). It lets the ocr-cls job list tiny-cls as the cheaper model to
  // fall back on when energy is short; it is withdrawn (0 = not declared)
  // when the demo's jobs end, or at shutdown. A figure already declared is
  // left as it is.
  if (jobs.some((j) => j.variants?.length)) {
    const info = await ground.describeModel("tiny-cls");
    if (info.accuracy === 0) {
      v = await ground.telecommand(INFERENCE_APID, "inference", "setAccuracy", umbra.inference.v1.SetModelAccuracy, { model: "tiny-cls", version: 0, accuracy: DEMO_ACCURACY });
      say(
        { command: "inference.setAccuracy", success: v.success },
        `inference.setAccuracy tiny-cls ${DEMO_ACCURACY} (a demo declaration, not a measured accuracy): ${v.success ? v.detail : failure(v)}`,
      );
      if (v.success) {
        ctx.jobsCleanup.push(async () => {
          const w = await ground.telecommand(INFERENCE_APID, "inference", "setAccuracy", umbra.inference.v1.SetModelAccuracy, { model: "tiny-cls", version: 0, accuracy: 0 });
          say({ command: "inference.setAccuracy", success: w.success }, `inference.setAccuracy tiny-cls 0: demo declaration withdrawn: ${w.success ? w.detail : failure(w)}`);
        });
      }
    } else {
      say({ model: "tiny-cls", accuracy: info.accuracy }, `tiny-cls already has a declared accuracy (${info.accuracy}); the demo leaves it`);
    }
  }

  const submitted: string[] = [];
  for (const j of jobs) {
    v = await ground.telecommand(JOBS_APID, "jobs", "submit", J.SubmitJob, { tenant: DEMO_TENANT, protection: "tmr", ...j });
    say(
      { command: "jobs.submit", job: j.jobId, model: j.model, success: v.success },
      `jobs.submit ${j.jobId} (${j.model}${j.variants ? `, variant ${j.variants.join("/")}` : ""}) by telecommand: ${v.success ? v.detail : failure(v)}`,
    );
    if (v.success) submitted.push(j.jobId);
  }
  if (submitted.length === 0) return [];

  // Until every job ended and its summary product is on the downlink (or, if
  // the TTC does not take products, a few seconds after the last one ended).
  const query = () =>
    hub
      .request(J.QueryJobs, { states: [], tenant: DEMO_TENANT, limit: 1000 }, J.JobList, { target: "jobs", timeoutMs: 2000 })
      .then((l) => l.jobs.filter((s) => submitted.includes(s.jobId)));
  const started = Date.now();
  let endedAt: number | undefined;
  let statuses: JobStatus[] = [];
  for (;;) {
    if (ctx.isStopping()) throw new Error("stopping");
    statuses = await query().catch(() => statuses);
    const ended = statuses.length === submitted.length && statuses.every((s) => TERMINAL.has(s.state));
    if (ended) endedAt ??= Date.now();
    if (ended && (statuses.every((s) => s.downlinkedBytes > 0n || s.tilesDone === 0) || Date.now() - (endedAt ?? 0) > 5000)) break;
    if (Date.now() - started > waitMs) {
      say(
        { jobs: statuses.map((s) => `${s.jobId}:${stateName(s.state)}`) },
        `not every job ended within ${waitMs / 1000} s: ${statuses.map((s) => `${s.jobId} ${stateName(s.state)} ${s.tilesDone}/${s.tilesTotal} (${s.reason})`).join("; ")}`,
      );
      break;
    }
    await sleep(500);
  }
  for (const jobId of submitted) {
    const r = await hub.request(J.GetJobReport, { jobId }, J.JobReport, { target: "jobs", timeoutMs: 2000 }).catch(() => undefined);
    if (!r?.status) continue;
    const s = r.status;
    const counts = Object.entries(r.classCounts)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    const product =
      s.downlinkedBytes > 0n
        ? `summary product ${s.downlinkedBytes} B queued for downlink (reduction ${s.reductionRatio.toFixed(1)}:1)`
        : "summary product not on the downlink yet (pending at the runner)";
    say(
      {
        job: s.jobId,
        state: stateName(s.state),
        model: s.model,
        variant: s.variant,
        tilesDone: s.tilesDone,
        tilesTotal: s.tilesTotal,
        inferences: Number(s.inferences),
        energyJ: +s.energyJ.toFixed(3),
        rawInputBytes: Number(s.rawInputBytes),
        downlinkedBytes: Number(s.downlinkedBytes),
        reductionRatio: +s.reductionRatio.toFixed(2),
        classCounts: r.classCounts,
      },
      `job ${s.jobId} ${stateName(s.state)}: ${s.tilesDone}/${s.tilesTotal} tiles on ${s.variant || s.model} under TMR, ${s.inferences} protected inferences, ${s.energyJ.toFixed(2)} J metered` +
        `${counts ? `, class counts ${counts}` : ""}; ${product}; ${s.reason}`,
    );
  }
  for (const fn of ctx.jobsCleanup.splice(0)) await fn().catch((err: Error) => logger.warn({ err: err.message }, `${prefix}: cleanup failed`));
  return statuses;
}
