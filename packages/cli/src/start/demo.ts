// --demo: what ground software and the job runner would send. Each step logs
// one "demo: ..." line with its result.
import { umbra, type MessageOf } from "@umbra/proto";
import { TTC_APID } from "@umbra/ttc";
import type { StackContext } from "./context.js";
import { sleep } from "./ground.js";
import { runJobs, type JobStatus } from "./workload.js";

type TelemetryReport = MessageOf<typeof umbra.core.v1.TelemetryReport>;
type PowerBudget = MessageOf<typeof umbra.thermal.v1.PowerBudget>;
type InferResult = MessageOf<typeof umbra.inference.v1.InferResult>;

const COUNTER_APID = 0x7f0;
const INFERENCE_APID = 0x040;

/** A sample's value from a TelemetryReport, by name. */
function sampleValue(r: TelemetryReport, name: string): unknown {
  const s = r.samples.find((x) => x.name === name);
  const v = s?.value as Record<string, unknown> | undefined;
  return v && typeof v["kind"] === "string" ? v[v["kind"]] : undefined;
}

/** The archive's queries take a closed range: this is "until now and beyond". */
const END_OF_TIME = 0x7fff_ffff_ffff_ffffn;

export async function runDemo(ctx: StackContext): Promise<void> {
  const { hub, ground, logger, options } = ctx;
  const demo = (fields: Record<string, unknown>, msg: string) => logger.info({ demo: true, ...fields }, `demo: ${msg}`);
  const latest: { budget: PowerBudget | undefined; scrubber: TelemetryReport | undefined } = { budget: undefined, scrubber: undefined };
  hub.subscribe(umbra.thermal.v1.PowerBudget, (b) => {
    latest.budget = b;
  });
  hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
    if (r.service === "scrubber") latest.scrubber = r;
  });
  const tc = await ground.builder();
  await sleep(1500);
  ground.uplink(tc.areYouAlive(TTC_APID));
  ground.uplink(tc.perform(COUNTER_APID, "add", umbra.examples.v1.CounterAdd, { amount: 5n }));
  ground.uplink(tc.perform(COUNTER_APID, "add", umbra.examples.v1.CounterAdd, { amount: 5000n }));

  // Inference: wait for the model, then a canary by telecommand through the TTC.
  const MODEL = "ocr-cls";
  if (!options.models.includes(MODEL)) {
    demo({}, `${MODEL} is not in --models (${options.models.join(",")}): skipping the inference demo`);
  } else {
    const info = await ground.until(
      () =>
        ground
          .describeModel(MODEL)
          .then((i) => (i.loaded ? i : undefined))
          .catch(() => undefined),
      60_000,
      `the inference service to load ${MODEL}`,
    );
    demo(
      { model: info.model, version: info.version, sha256: info.sha256 },
      `inference has ${info.model} v${info.version} loaded (${Number(info.sizeBytes)} bytes, voter ${info.voter}, labels ${info.labels.join("/")}, ${info.weights.length} weight ranges in its scrubbed master copy)`,
    );
    await ground.until(() => (ctx.declared("inference") ? true : undefined), 30_000, "the inference service to declare itself");
    const canary = ground.outcome("inference", "runCanary");
    ground.uplink(tc.perform(INFERENCE_APID, "runCanary", umbra.inference.v1.RunCanary, { model: "" }));
    const v = await canary;
    demo(
      { command: "inference.runCanary", success: v.success, code: umbra.ttc.v1.FailureCode[v.code] },
      `inference.runCanary by telecommand through the TTC: ${v.success ? "completed" : `failed (${umbra.ttc.v1.FailureCode[v.code]})`}: ${v.detail}`,
    );

    // A protected inference, as the job runner will ask for one, under TMR: a
    // synthetic line of glyphs (dark "b"-like strokes on white, normalised to
    // -1..1 as PaddleOCR's classifier expects). What it makes of them does not
    // matter here; that the three replicas agree, or are outvoted, does.
    const dims = [1, 3, 48, 192];
    const pixels = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1);
    const ink = (x: number, y: number) =>
      x >= 6 && x < 186 && ((y >= 8 && y < 34 && x % 16 < 3) || (y >= 20 && y < 34 && x % 16 >= 3 && x % 16 < 11 && (y < 23 || y >= 31 || x % 16 >= 8)));
    for (let c = 0; c < 3; c++) for (let y = 0; y < 48; y++) for (let x = 0; x < 192; x++) if (ink(x, y)) pixels[(c * 48 + y) * 192 + x] = -1;
    const inputName = info.inputs[0]?.name ?? "";
    const request = (requestId: string) =>
      hub.request(
        umbra.inference.v1.InferRequest,
        { model: MODEL, protection: umbra.inference.v1.Protection.PROTECTION_TMR, inputs: [{ name: inputName, dims, data: new Uint8Array(pixels.buffer) }], requestId },
        umbra.inference.v1.InferResult,
        { target: "inference", timeoutMs: 10_000 },
      );
    const describe = (r: InferResult) =>
      `label ${JSON.stringify(r.labelName)} (class ${r.label}, confidence ${r.confidence.toFixed(3)}), vote ${String(umbra.inference.v1.VoteStatus[r.vote]).replace("VOTE_STATUS_", "")}` +
      `${r.dissentingReplicas.length ? `, replica ${r.dissentingReplicas.join(", ")} outvoted` : ""}, ${r.replicaRuns} replica runs, ${r.latencyMs.toFixed(1)} ms`;
    const fields = (r: InferResult) => ({
      label: r.labelName,
      vote: umbra.inference.v1.VoteStatus[r.vote],
      dissenting: r.dissentingReplicas,
      replicaRuns: r.replicaRuns,
      uncorrectable: r.uncorrectable,
    });
    const first = await request("demo-1");
    demo(fields(first), `${MODEL} under TMR: ${describe(first)}`);
    // The HIL fault injector's path: an upset in replica 1's output (exponent
    // bit of the class that lost), which the vote must outvote.
    const loser = first.label === 0 ? 1 : 0;
    const ack = await hub.request(
      umbra.hil.v1.CorruptReplicaOutput,
      { service: "inference", replica: 1, bitOffsets: [BigInt(loser * 32 + 30)], injectionId: "demo-upset" },
      umbra.hil.v1.FaultAck,
      { target: "inference", timeoutMs: 5000 },
    );
    if (!ack.applied) throw new Error(`the upset was not applied: ${ack.error}`);
    const second = await request("demo-2");
    demo(fields(second), `${MODEL} under TMR with an upset injected into replica 1's output: ${describe(second)}`);
  }

  // The job runner's workload runs from here on, beside the steps below (not
  // before: its inferences would take the upset injected above). Its outcome
  // is held, not left to reject unhandled, and awaited before "done".
  const jobsRun: Promise<{ statuses?: JobStatus[]; err?: unknown }> = runJobs(ctx, "demo", "demo", 40_000).then(
    (statuses) => ({ statuses }),
    (err: unknown) => ({ err }),
  );

  // Thermal: the newest PowerBudget (published every poll).
  const b = await ground.until(() => latest.budget, 15_000, "a PowerBudget from the thermal service");
  const grant = (actor: string) => b.grants.find((g) => g.actor === actor);
  const cpu = b.grants.filter((g) => g.kind === umbra.thermal.v1.ActorKind.ACTOR_KIND_CPU).map((g) => `${g.actor} ${g.khz / 1000} MHz`);
  const throttle = String(umbra.thermal.v1.ThrottleState[b.state]);
  demo(
    { budgetW: +b.budgetW.toFixed(2), state: umbra.thermal.v1.ThrottleState[b.state], jobConcurrency: b.jobConcurrency, controlZone: b.controlZone, controlC: +b.controlC.toFixed(2) },
    `thermal PowerBudget #${b.sequence}: ${b.budgetW.toFixed(1)} W (${throttle.replace("THROTTLE_STATE_", "")}, ${b.governor}): ${cpu.join(", ")}, accelerator level ${grant("accelerator")?.level ?? "-"}, ${b.jobConcurrency} job slot(s); ${b.controlZone || "no zone"} at ${b.controlC.toFixed(1)} °C, target ${b.targetC} °C`,
  );

  // Scrubber: its telemetry (every reportPeriodMs, 10 s), once it knows a region.
  const s = await ground.until(
    () => (latest.scrubber && Number(sampleValue(latest.scrubber, "regions") ?? 0) > 0 ? latest.scrubber : undefined),
    30_000,
    "scrubber telemetry with a protected region",
  );
  const n = (name: string) => Number(sampleValue(s, name));
  demo(
    { regions: n("regions"), protectedBytes: n("protectedBytes"), correctedBits: n("correctedBits"), uncorrectableBlocks: n("uncorrectableBlocks"), edacOk: sampleValue(s, "edacOk") },
    `scrubber telemetry: ${n("regions")} region(s), ${(n("protectedBytes") / 1024).toFixed(0)} KiB protected, ${n("correctedBits")} bit(s) corrected, ${n("uncorrectableBlocks")} uncorrectable block(s), ${
      sampleValue(s, "edacOk") ? `EDAC ${n("edacCorrectable")} correctable, ${n("edacUncorrectable")} uncorrectable` : "EDAC not read yet (it is read every edacPeriodMs)"
    }`,
  );

  // The TTC's archive, asked over the bus as the gateway does: what it holds from the services.
  const archived = async (service: string, name: string) => {
    const series = await hub.request(umbra.ttc.v1.QueryTelemetry, { service, name, fromNs: 0n, toNs: END_OF_TIME, limit: 10_000 }, umbra.ttc.v1.TelemetrySeries, { target: "ttc", timeoutMs: 5000 });
    return series.points.length;
  };
  const counts: Record<string, number> = {};
  for (const [svc, name] of [["inference", "inferences"], ["scrubber", "correctedBits"], ["thermal", "dieC"]] as const) {
    counts[svc] = await ground.until(() => archived(svc, name).then((n) => (n > 0 ? n : undefined)).catch(() => undefined), 30_000, `${svc}.${name} in the TTC archive`).catch((err: Error) => {
      if (ctx.isStopping()) throw err;
      logger.warn(err.message);
      return 0;
    });
  }
  const events = await hub.request(umbra.ttc.v1.QueryEvents, { fromNs: 0n, toNs: END_OF_TIME, minSeverity: "", service: "", limit: 10_000 }, umbra.ttc.v1.EventList, { target: "ttc", timeoutMs: 5000 });
  demo(
    { archivedSamples: counts, archivedEvents: events.events.length },
    `TTC archive: ${Object.entries(counts)
      .map(([k, v]) => `${k} ${v} samples`)
      .join(", ")}; ${events.events.length} events`,
  );
  const jobs = await jobsRun;
  if (jobs.err) throw jobs.err;
  demo({}, "done");
}
