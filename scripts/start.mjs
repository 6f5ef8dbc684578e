#!/usr/bin/env node
// `pnpm start`: the payload stack against the embedded HIL environment. A bus
// hub listens on a Unix socket; the HIL environment runs as its own bus node
// joined to the hub in-process, publishing the emulated hardware and the orbit's
// ground truth; the TTC runs in-process too. The flight services (inference,
// scrubber, thermal, jobs) and the example counter service each run in their
// own OS process on the HIL platform, joined over the socket. This script starts and
// stops them and reports one that exits; it does not restart them: the
// supervisor (issue #10) takes this role over.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bus, BusServer, InProcessLink, RealClock, SimClock, createLogger, parseEndpoint, formatEndpoint } from "../packages/core/dist/index.js";
import { umbra } from "../packages/proto/dist/index.js";
import { HilRun, loadScenario, writeReport } from "../hil/dist/index.js";
import { loadKeyFile } from "../packages/ccsds/dist/index.js";
import { TtcService, TTC_APID, TcBuilder, openTtcDatabase, openArchive, CommandHistory, ScheduleStore, SecurityState, DownlinkQueue, ContactPlan } from "../packages/ttc/dist/index.js";
import { JOBS_APID, syntheticTiles } from "../packages/jobs/dist/index.js";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  allowNegative: true,
  options: {
    socket: { type: "string", default: join(root, ".umbra", "run", "bus.sock") },
    tcp: { type: "string" },
    duration: { type: "string" },
    scenario: { type: "string", default: join(root, "hil", "scenarios", "nominal-day.yaml") },
    speed: { type: "string", default: "60" },
    report: { type: "string", default: join(root, ".umbra", "reports") },
    keys: { type: "string", default: join(root, ".umbra", "keys.json") },
    data: { type: "string", default: join(root, ".umbra", "data") },
    models: { type: "string", default: "tiny-cls,tiny-seg,ocr-cls" },
    demo: { type: "boolean", default: false },
    workload: { type: "boolean", default: true },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`usage: pnpm start [--socket PATH] [--tcp HOST:PORT] [--duration SECONDS]

  --socket    Unix socket the bus hub listens on (default .umbra/run/bus.sock)
  --tcp       also listen on TCP, e.g. 127.0.0.1:7400, so a bench or another board can join
  --duration  stop by itself after this many seconds (default: run until Ctrl-C)
  --scenario  HIL scenario file (default hil/scenarios/nominal-day.yaml)
  --speed     simulated seconds per wall second for the HIL environment (default 60)
  --report    folder for the HIL report written when the scenario ends or the stack stops
  --keys      telecommand key file (default .umbra/keys.json; a development key is made, mode 600, if it is missing)
  --data      folder for the SQLite stores: the TTC's ttc.db and archive.db, the inference service's
              model registry and model files under <data>/inference, the job runner's jobs.db under
              <data>/jobs, and the synthetic tiles the workload runs on under <data>/tiles (default .umbra/data)
  --models    shipped models the inference service activates (default tiny-cls,tiny-seg,ocr-cls;
              also ocr-det)
  --demo      send a few authenticated telecommands through the TTC (development keys only) and
              exercise the inference, thermal, scrubber and jobs services (a tenant and a mixed
              workload of four jobs); prints "demo: ..." lines
  --no-workload  without --demo, start submits one light job (16 synthetic tiles on tiny-cls) through
              the TTC and prints "jobs: ..." lines; this turns that off`);
  process.exit(0);
}
const duration = values.duration === undefined ? undefined : Number(values.duration);
const speed = Number(values.speed);
if (!(speed > 0) || !Number.isFinite(speed)) {
  console.error(`--speed must be a positive number, got ${values.speed}`);
  process.exit(2);
}
if (duration !== undefined && !(duration > 0)) {
  console.error(`--duration must be a positive number of seconds, got ${values.duration}`);
  process.exit(2);
}

const logger = createLogger({ name: "umbra" });
const clock = new RealClock();
const hub = new Bus({ node: "hub", clock, logger });
mkdirSync(dirname(values.socket), { recursive: true });
const servers = [await BusServer.listen(hub, parseEndpoint(`unix:${values.socket}`))];
if (values.tcp) servers.push(await BusServer.listen(hub, parseEndpoint(`tcp:${values.tcp}`)));
logger.info({ endpoints: servers.map((s) => formatEndpoint(s.endpoint)) }, "bus hub listening");

// The HIL environment: its own node on a simulated clock, joined in-process.
let scenario;
try {
  scenario = await loadScenario(values.scenario);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const hilClock = new SimClock({ startUtcMs: scenario.epoch });
const hilBus = new Bus({ node: "hil", clock: hilClock, logger, queueCapacity: 8192 });
const [hubEnd, hilEnd] = InProcessLink.pair("hub-hil");
hub.attach(hubEnd);
hilBus.attach(hilEnd);
const hil = new HilRun({ scenario, scenarioFile: values.scenario, bus: hilBus, clock: hilClock, speed, logger });
logger.info({ scenario: scenario.name, speed, durationH: scenario.duration / 3600 }, "HIL environment running");
let lastLogged = -Infinity;
hub.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
  if (e.elapsedS - lastLogged < 600) return; // every 10 simulated minutes
  lastLogged = e.elapsedS;
  logger.info(
    {
      simH: +(e.elapsedS / 3600).toFixed(2),
      sunlit: e.orbit?.sunlit,
      saa: e.orbit?.inSaa,
      socPct: +(e.power?.batterySocPct ?? 0).toFixed(1),
      arrayW: +(e.power?.arrayPowerW ?? 0).toFixed(1),
      dieC: +(e.thermal?.dieC ?? 0).toFixed(1),
      upsets: Number(e.radiation?.upsetsTotal ?? 0n),
    },
    "environment",
  );
});
let hilReport;
const hilDone = hil.run().then(async (report) => {
  hilReport = report;
  const paths = await writeReport(report, values.report);
  logger.info({ report: paths.html, summary: report.summary }, "HIL scenario finished");
});

// The TTC: its own node, joined in-process; telecommands arrive as TcUplink on the bus
// (the gateway's raw link publishes them once it exists).
const devKeys = !existsSync(values.keys);
if (devKeys) {
  mkdirSync(dirname(values.keys), { recursive: true });
  const key = randomBytes(32).toString("hex");
  writeFileSync(values.keys, JSON.stringify({ keys: [{ spi: 1, algorithm: "hmac-sha256", key, state: "active" }] }, null, 2), { mode: 0o600 });
  logger.warn({ keys: values.keys }, "no key file: made a development key (SPI 1); replace it with the mission's keys");
}
let keys;
try {
  keys = await loadKeyFile(values.keys);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
mkdirSync(values.data, { recursive: true });
const ttcDb = openTtcDatabase(join(values.data, "ttc.db"));
const ttcBus = new Bus({ node: "ttc", clock, logger });
const [hubTtc, ttcEnd] = InProcessLink.pair("hub-ttc");
hub.attach(hubTtc);
ttcBus.attach(ttcEnd);
const archive = openArchive(join(values.data, "archive.db"));
const ttc = new TtcService(
  { bus: ttcBus, clock, logger },
  {
    keys,
    history: new CommandHistory(ttcDb),
    schedule: new ScheduleStore(ttcDb),
    security: new SecurityState(ttcDb),
    downlink: { queue: new DownlinkQueue(ttcDb), plan: new ContactPlan(ttcDb) },
    archive,
  },
);
await ttc.start();
hub.subscribe(umbra.ttc.v1.Verification, (v) => {
  const stage = ["?", "acceptance", "start", "progress", "completion"][v.stage];
  logger.info({ command: v.command, service: v.service, stage, success: v.success, code: umbra.ttc.v1.FailureCode[v.code] }, v.detail || "verification");
});

hub.subscribe(umbra.core.v1.ServiceDeclaration, (d) => {
  logger.info({ service: d.name, apid: d.apid, commands: d.commands.map((c) => c.name) }, "service declared");
});
hub.subscribe(umbra.core.v1.Event, (e) => {
  logger.info({ service: e.service, event: e.name, severity: e.severity }, e.message);
});
hub.subscribe(umbra.core.v1.Heartbeat, (hb) => {
  logger.debug({ service: hb.service, counter: Number(hb.counter), pid: hb.pid }, "heartbeat");
});
hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
  const samples = Object.fromEntries(r.samples.map((s) => [s.name, String(s.value?.[s.value.kind] ?? "")]));
  logger.info({ service: r.service, ...samples }, "telemetry");
});

// The services, each in its own OS process on the HIL platform, joined over the
// socket. Each gets its own process group, so a Ctrl-C reaches this script only
// and the services are stopped here, in order, before the hub closes. One that
// exits on its own is reported, not restarted (the supervisor, issue #10, will).
let stopping = false;
const children = [];
const unexpectedExits = [];
function startService(name, main, args = []) {
  const script = join(root, main);
  if (!existsSync(script)) {
    logger.error({ service: name, script }, `${name} is not built (${main} is missing): run pnpm build`);
    unexpectedExits.push(name);
    return;
  }
  const child = spawn(process.execPath, [script, `unix:${values.socket}`, ...args], { stdio: ["ignore", "inherit", "inherit"], detached: true });
  children.push({ name, child });
  child.once("error", (err) => logger.error({ service: name, err }, `${name} could not be started`));
  child.once("exit", (code, signal) => {
    if (stopping) return;
    unexpectedExits.push(name);
    logger.error({ service: name, pid: child.pid, code, signal }, `${name} service exited unexpectedly (${signal ?? `code ${code}`}); it is not restarted`);
  });
  logger.info({ service: name, pid: child.pid }, `${name} service started in its own process`);
}
startService("counter", "examples/counter-service/dist/main.js");
startService("inference", "packages/inference/dist/main.js", ["--platform", "hil", "--data", join(values.data, "inference"), "--models", values.models]);
startService("scrubber", "packages/scrubber/dist/main.js", ["--platform", "hil"]);
startService("thermal", "packages/thermal/dist/main.js", ["--platform", "hil"]);
// The job runner forecasts the battery the HIL emulates: same capacity, same depth-of-discharge floor.
const battery = scenario.power.battery;
startService("jobs", "packages/jobs/dist/main.js", [
  "--platform",
  "hil",
  "--data",
  join(values.data, "jobs"),
  "--battery-capacity-wh",
  String(battery.capacityWh),
  "--dod-floor-pct",
  String(battery.dodFloorPct),
]);
// Last resort if this script dies without shutdown(): do not leave services behind.
process.once("exit", () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
});

// Ground commanding, shared by the demo and the jobs workload: what ground
// software would send, authenticated with the key file, and each command's
// outcome as the TTC verifies it.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(probe, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (stopping) throw new Error("stopping");
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}
// The TTC's verification of a command: its completion, or the first failure.
const waitingFor = new Set();
hub.subscribe(umbra.ttc.v1.Verification, (v) => {
  for (const w of waitingFor) if (w.service === v.service && w.command === v.command && (!v.success || v.stage === umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION)) w.resolve(v);
});
function outcome(service, command, timeoutMs = 20_000) {
  const w = { service, command };
  const p = new Promise((resolve, reject) => {
    w.resolve = resolve;
    w.timer = setTimeout(() => reject(new Error(`no verification of ${service}.${command} within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  waitingFor.add(w);
  return p.finally(() => {
    clearTimeout(w.timer);
    waitingFor.delete(w);
  });
}
// A ground system carries its counters on; this one stands in with the clock.
let groundBuilder;
async function ground() {
  groundBuilder ??= new TcBuilder({ keys: await loadKeyFile(values.keys), spi: 1, securitySequence: Math.floor(Date.now() / 1000) % 4_000_000_000, firstSequenceCount: Math.floor(Date.now() / 1000) });
  return groundBuilder;
}
const uplink = (packet) => hub.publish(umbra.ttc.v1.TcUplink, { packet, link: "demo" });
/** One ST[8] telecommand through the TTC; resolves with its completion or first failure (Verification). */
async function telecommand(apid, service, name, type, args) {
  const builder = await ground();
  const done = outcome(service, name);
  uplink(builder.perform(apid, name, type, args));
  return done;
}
const failure = (v) => `${umbra.ttc.v1.FailureCode[v.code]}: ${v.detail}`;
async function describeModel(model, timeoutMs = 1000) {
  return hub.request(umbra.inference.v1.DescribeModel, { model }, umbra.inference.v1.ModelInfo, { target: "inference", timeoutMs });
}

// What the jobs service reports, for the summary at the end.
const jobsSeen = { telemetry: undefined };
hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
  if (r.service !== "jobs") return;
  jobsSeen.telemetry = Object.fromEntries(r.samples.map((s) => [s.name, s.value?.[s.value.kind]]));
});
let minSocSeen = Number.POSITIVE_INFINITY;
hub.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
  if (e.power && Number.isFinite(e.power.batterySocPct)) minSocSeen = Math.min(minSocSeen, e.power.batterySocPct);
});

// The job runner's workload: synthetic PNG tiles written under <data>/tiles,
// a tenant, and jobs submitted by telecommand through the TTC, as a user's
// ground segment would. "demo": four jobs on the three small models (class
// counts and cloud-free tiles on tiny-cls, detections on tiny-seg, and
// ocr-cls with tiny-cls as a cheaper variant); "light": one class-count job
// on tiny-cls. One "<prefix>: ..." line per step; resolves with the jobs'
// final statuses. Cleanup that must happen even if the stack stops first
// (withdrawing the demo's accuracy declaration) is left in jobsCleanup.
const J = umbra.jobs.v1;
const TERMINAL = new Set([J.JobState.JOB_STATE_DONE, J.JobState.JOB_STATE_FAILED, J.JobState.JOB_STATE_CANCELLED, J.JobState.JOB_STATE_EXPIRED]);
const stateName = (s) => (J.JobState[s] ?? String(s)).replace("JOB_STATE_", "").toLowerCase();
const jobsCleanup = [];
const DEMO_TENANT = "demo";
const DEMO_ACCURACY = 0.9;

function writeTiles(name, count, size, seed) {
  const folder = resolve(values.data, "tiles", name);
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

async function runJobs(mode, prefix, waitMs) {
  const say = (fields, msg) => logger.info({ [prefix]: true, ...fields }, `${prefix}: ${msg}`);
  const active = new Set(values.models.split(","));
  // Deterministic scenes (about a third cloudy, some ground tiles with dark features), rewritten each run.
  const sceneA = writeTiles("scene-a", mode === "demo" ? 24 : 16, 64, 1);
  const sceneB = mode === "demo" ? writeTiles("scene-b", 16, 64, 2) : undefined;
  for (const s of [sceneA, sceneB].filter(Boolean)) {
    say({ folder: s.folder, tiles: s.count, bytes: s.bytes, cloudy: s.cloudy }, `wrote ${s.count} synthetic 64×64 PNG tiles (${(s.bytes / 1024).toFixed(0)} KiB, ${s.cloudy} cloudy) to ${s.folder}`);
  }
  const tag = Date.now().toString(36);
  const C = J.SummaryKind;
  const plan =
    mode === "demo"
      ? [
          { jobId: `cls-${tag}`, model: "tiny-cls", inputFolder: sceneA.folder, priority: 5, output: { summary: C.SUMMARY_KIND_CLASS_COUNTS } },
          // tiny-cls is untrained: its labels mean nothing; class-0 stands in for "clear" to show the cloud-free product.
          { jobId: `clear-${tag}`, model: "tiny-cls", inputFolder: sceneA.folder, priority: 3, output: { summary: C.SUMMARY_KIND_CLOUD_FREE, clearLabels: ["class-0"] } },
          { jobId: `det-${tag}`, model: "tiny-seg", inputFolder: sceneB.folder, priority: 4, output: { summary: C.SUMMARY_KIND_DETECTIONS, detectionThreshold: 0.5, maxDetections: 8 } },
          { jobId: `orient-${tag}`, model: "ocr-cls", variants: ["tiny-cls"], accuracyFloor: 0.8, inputFolder: sceneB.folder, priority: 2, deadlineInS: 600, output: { summary: C.SUMMARY_KIND_CLASS_COUNTS } },
        ]
      : [{ jobId: `cls-${tag}`, model: "tiny-cls", inputFolder: sceneA.folder, priority: 5, output: { summary: C.SUMMARY_KIND_CLASS_COUNTS } }];
  const jobs = plan.filter((j) => {
    if (active.has(j.model)) return true;
    say({ job: j.jobId, model: j.model }, `${j.model} is not in --models (${values.models}): not submitting ${j.jobId}`);
    return false;
  });
  if (jobs.length === 0) return [];

  // The runner and the models must be up: the TTC routes a telecommand only to a service it has learned.
  await until(() => (ttc.dictionary.serviceNamed("jobs") ? true : undefined), 30_000, "the TTC to learn the jobs service");
  for (const model of new Set(jobs.flatMap((j) => [j.model, ...(j.variants ?? [])]))) {
    await until(() => describeModel(model).then((i) => (i.loaded ? i : undefined)).catch(() => undefined), 60_000, `the inference service to load ${model}`);
  }

  // The runner meters a job's energy as the bus power above the load it
  // learned with nothing running; until it has that (its second tick), it
  // meters nothing. Let it learn it first, so the workload's energy counts.
  const base = await until(() => (typeof jobsSeen.telemetry?.baseLoadW === "number" ? jobsSeen.telemetry.baseLoadW : undefined), 15_000, "the job runner to learn the base load").catch((err) => {
    if (stopping) throw err;
    say({}, `${err.message}; submitting anyway (the first jobs may be metered 0 J)`);
    return undefined;
  });
  if (base !== undefined) say({ baseLoadW: +base.toFixed(2) }, `the job runner reads a base load of ${base.toFixed(1)} W on the bus with no job running`);

  let v = await telecommand(JOBS_APID, "jobs", "setTenant", J.SetTenant, { tenant: DEMO_TENANT, quotaJoules: 20_000, quotaCoreSeconds: 0, period: J.QuotaPeriod.QUOTA_PERIOD_ORBIT, rejectOverQuota: false });
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
    const info = await describeModel("tiny-cls");
    if (info.accuracy === 0) {
      v = await telecommand(0x040, "inference", "setAccuracy", umbra.inference.v1.SetModelAccuracy, { model: "tiny-cls", version: 0, accuracy: DEMO_ACCURACY });
      say({ command: "inference.setAccuracy", success: v.success }, `inference.setAccuracy tiny-cls ${DEMO_ACCURACY} (a demo declaration, not a measured accuracy): ${v.success ? v.detail : failure(v)}`);
      if (v.success) {
        jobsCleanup.push(async () => {
          const w = await telecommand(0x040, "inference", "setAccuracy", umbra.inference.v1.SetModelAccuracy, { model: "tiny-cls", version: 0, accuracy: 0 });
          say({ command: "inference.setAccuracy", success: w.success }, `inference.setAccuracy tiny-cls 0: demo declaration withdrawn: ${w.success ? w.detail : failure(w)}`);
        });
      }
    } else {
      say({ model: "tiny-cls", accuracy: info.accuracy }, `tiny-cls already has a declared accuracy (${info.accuracy}); the demo leaves it`);
    }
  }

  const submitted = [];
  for (const j of jobs) {
    v = await telecommand(JOBS_APID, "jobs", "submit", J.SubmitJob, { tenant: DEMO_TENANT, protection: "tmr", ...j });
    say({ command: "jobs.submit", job: j.jobId, model: j.model, success: v.success }, `jobs.submit ${j.jobId} (${j.model}${j.variants ? `, variant ${j.variants.join("/")}` : ""}) by telecommand: ${v.success ? v.detail : failure(v)}`);
    if (v.success) submitted.push(j.jobId);
  }
  if (submitted.length === 0) return [];

  // Until every job ended and its summary product is on the downlink (or, if
  // the TTC does not take products, a few seconds after the last one ended).
  const query = () => hub.request(J.QueryJobs, { states: [], tenant: DEMO_TENANT, limit: 1000 }, J.JobList, { target: "jobs", timeoutMs: 2000 }).then((l) => l.jobs.filter((s) => submitted.includes(s.jobId)));
  const started = Date.now();
  let endedAt;
  let statuses = [];
  for (;;) {
    if (stopping) throw new Error("stopping");
    statuses = await query().catch(() => statuses);
    const ended = statuses.length === submitted.length && statuses.every((s) => TERMINAL.has(s.state));
    if (ended) endedAt ??= Date.now();
    if (ended && (statuses.every((s) => s.downlinkedBytes > 0n || s.tilesDone === 0) || Date.now() - endedAt > 5000)) break;
    if (Date.now() - started > waitMs) {
      say({ jobs: statuses.map((s) => `${s.jobId}:${stateName(s.state)}`) }, `not every job ended within ${waitMs / 1000} s: ${statuses.map((s) => `${s.jobId} ${stateName(s.state)} ${s.tilesDone}/${s.tilesTotal} (${s.reason})`).join("; ")}`);
      break;
    }
    await sleep(500);
  }
  for (const jobId of submitted) {
    const r = await hub.request(J.GetJobReport, { jobId }, J.JobReport, { target: "jobs", timeoutMs: 2000 }).catch(() => undefined);
    if (!r?.status) continue;
    const s = r.status;
    const counts = Object.entries(r.classCounts).map(([k, n]) => `${k} ${n}`).join(", ");
    const product = s.downlinkedBytes > 0n ? `summary product ${s.downlinkedBytes} B queued for downlink (reduction ${s.reductionRatio.toFixed(1)}:1)` : "summary product not on the downlink yet (pending at the runner)";
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
  for (const fn of jobsCleanup.splice(0)) await fn().catch((err) => logger.warn({ err: err.message }, `${prefix}: cleanup failed`));
  return statuses;
}

// --demo: what ground software and the job runner would send. Each step logs one
// "demo: ..." line with its result. Without it, a light jobs workload ("jobs: ...").
if (values.demo) {
  runDemo().catch((err) => {
    if (stopping) logger.warn({ err: err.message }, "demo: interrupted by the shutdown");
    else logger.error({ err }, `demo: failed: ${err.message}`);
  });
} else if (values.workload) {
  runJobs("light", "jobs", 120_000).catch((err) => {
    if (stopping) logger.warn({ err: err.message }, "jobs: workload interrupted by the shutdown");
    else logger.error({ err }, `jobs: workload failed: ${err.message}`);
  });
}

async function runDemo() {
  const demo = (fields, msg) => logger.info({ demo: true, ...fields }, `demo: ${msg}`);
  const latest = { budget: undefined, scrubber: undefined };
  hub.subscribe(umbra.thermal.v1.PowerBudget, (b) => (latest.budget = b));
  hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
    if (r.service === "scrubber") latest.scrubber = r;
  });
  const tc = await ground();
  await sleep(1500);
  uplink(tc.areYouAlive(TTC_APID));
  uplink(tc.perform(0x7f0, "add", umbra.examples.v1.CounterAdd, { amount: 5n }));
  uplink(tc.perform(0x7f0, "add", umbra.examples.v1.CounterAdd, { amount: 5000n }));

  // Inference: wait for the model, then a canary by telecommand through the TTC.
  const MODEL = "ocr-cls";
  if (!values.models.split(",").includes(MODEL)) {
    demo({}, `${MODEL} is not in --models (${values.models}): skipping the inference demo`);
  } else {
    const info = await until(
      () =>
        hub
          .request(umbra.inference.v1.DescribeModel, { model: MODEL }, umbra.inference.v1.ModelInfo, { target: "inference", timeoutMs: 1000 })
          .then((i) => (i.loaded ? i : undefined))
          .catch(() => undefined),
      60_000,
      `the inference service to load ${MODEL}`,
    );
    demo(
      { model: info.model, version: info.version, sha256: info.sha256 },
      `inference has ${info.model} v${info.version} loaded (${Number(info.sizeBytes)} bytes, voter ${info.voter}, labels ${info.labels.join("/")}, ${info.weights.length} weight ranges in its scrubbed master copy)`,
    );
    await until(() => (ttc.dictionary.serviceNamed("inference") ? true : undefined), 10_000, "the TTC to learn the inference service");
    const canary = outcome("inference", "runCanary");
    uplink(tc.perform(0x040, "runCanary", umbra.inference.v1.RunCanary, { model: "" }));
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
    const ink = (x, y) => x >= 6 && x < 186 && ((y >= 8 && y < 34 && x % 16 < 3) || (y >= 20 && y < 34 && x % 16 >= 3 && x % 16 < 11 && (y < 23 || y >= 31 || x % 16 >= 8)));
    for (let c = 0; c < 3; c++) for (let y = 0; y < 48; y++) for (let x = 0; x < 192; x++) if (ink(x, y)) pixels[(c * 48 + y) * 192 + x] = -1;
    const request = (requestId) =>
      hub.request(
        umbra.inference.v1.InferRequest,
        { model: MODEL, protection: umbra.inference.v1.Protection.PROTECTION_TMR, inputs: [{ name: info.inputs[0].name, dims, data: new Uint8Array(pixels.buffer) }], requestId },
        umbra.inference.v1.InferResult,
        { target: "inference", timeoutMs: 10_000 },
      );
    const describe = (r) =>
      `label ${JSON.stringify(r.labelName)} (class ${r.label}, confidence ${r.confidence.toFixed(3)}), vote ${umbra.inference.v1.VoteStatus[r.vote].replace("VOTE_STATUS_", "")}` +
      `${r.dissentingReplicas.length ? `, replica ${r.dissentingReplicas.join(", ")} outvoted` : ""}, ${r.replicaRuns} replica runs, ${r.latencyMs.toFixed(1)} ms`;
    const fields = (r) => ({ label: r.labelName, vote: umbra.inference.v1.VoteStatus[r.vote], dissenting: r.dissentingReplicas, replicaRuns: r.replicaRuns, uncorrectable: r.uncorrectable });
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
  const jobsRun = runJobs("demo", "demo", 40_000).then(
    (statuses) => ({ statuses }),
    (err) => ({ err }),
  );

  // Thermal: the newest PowerBudget (published every poll).
  const b = await until(() => latest.budget, 15_000, "a PowerBudget from the thermal service");
  const grant = (actor) => b.grants.find((g) => g.actor === actor);
  const cpu = b.grants.filter((g) => g.kind === umbra.thermal.v1.ActorKind.ACTOR_KIND_CPU).map((g) => `${g.actor} ${g.khz / 1000} MHz`);
  demo(
    { budgetW: +b.budgetW.toFixed(2), state: umbra.thermal.v1.ThrottleState[b.state], jobConcurrency: b.jobConcurrency, controlZone: b.controlZone, controlC: +b.controlC.toFixed(2) },
    `thermal PowerBudget #${b.sequence}: ${b.budgetW.toFixed(1)} W (${umbra.thermal.v1.ThrottleState[b.state].replace("THROTTLE_STATE_", "")}, ${b.governor}): ${cpu.join(", ")}, accelerator level ${grant("accelerator")?.level ?? "-"}, ${b.jobConcurrency} job slot(s); ${b.controlZone || "no zone"} at ${b.controlC.toFixed(1)} °C, target ${b.targetC} °C`,
  );

  // Scrubber: its telemetry (every reportPeriodMs, 10 s), once it knows a region.
  const value = (r, name) => {
    const s = r.samples.find((x) => x.name === name);
    return s?.value ? s.value[s.value.kind] : undefined;
  };
  const s = await until(() => (latest.scrubber && Number(value(latest.scrubber, "regions") ?? 0) > 0 ? latest.scrubber : undefined), 30_000, "scrubber telemetry with a protected region");
  const n = (name) => Number(value(s, name));
  demo(
    { regions: n("regions"), protectedBytes: n("protectedBytes"), correctedBits: n("correctedBits"), uncorrectableBlocks: n("uncorrectableBlocks"), edacOk: value(s, "edacOk") },
    `scrubber telemetry: ${n("regions")} region(s), ${(n("protectedBytes") / 1024).toFixed(0)} KiB protected, ${n("correctedBits")} bit(s) corrected, ${n("uncorrectableBlocks")} uncorrectable block(s), ${value(s, "edacOk") ? `EDAC ${n("edacCorrectable")} correctable, ${n("edacUncorrectable")} uncorrectable` : "EDAC not read yet (it is read every edacPeriodMs)"}`,
  );

  // The TTC: its mission dictionary, and what its archive holds from the services.
  const services = ttc.dictionary.services().map((e) => `${e.name}@0x${e.apid.toString(16).padStart(3, "0")}`);
  demo({ services }, `TTC mission dictionary: ${services.join(", ")}`);
  // Each service reports every reportPeriodMs (inference and scrubber: 10 s): give them that long.
  const archivedParameters = () => {
    const params = {};
    for (const p of archive.parameters()) params[p.service] = (params[p.service] ?? 0) + 1;
    return params;
  };
  const params = await until(() => {
    const p = archivedParameters();
    return ["inference", "scrubber", "thermal"].every((svc) => p[svc] > 0) ? p : undefined;
  }, 15_000, "telemetry from inference, scrubber and thermal in the TTC archive").catch((err) => {
    if (stopping) throw err;
    logger.warn(err.message);
    return archivedParameters();
  });
  const upTo = clock.nowTaiNs() + 60_000_000_000n;
  const events = {};
  for (const svc of ["inference", "scrubber", "thermal"]) events[svc] = archive.events({ fromNs: 0n, toNs: upTo, service: svc }).length;
  demo(
    { archivedParameters: params, archivedEvents: events },
    `TTC archive: telemetry parameters per service ${Object.entries(params).map(([k, v]) => `${k} ${v}`).join(", ")}; events from inference ${events.inference}, scrubber ${events.scrubber}, thermal ${events.thermal}`,
  );
  const jobs = await jobsRun;
  if (jobs.err) throw jobs.err;
  demo({}, "done");
}

async function stopServices() {
  await Promise.all(
    children.map(async ({ name, child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        logger.warn({ service: name, pid: child.pid }, `${name} did not stop within 10 s of SIGTERM; killing it`);
        child.kill("SIGKILL");
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** The job runner's queue by state (all jobs in its database) and the energy it metered since it started. */
async function jobsTally() {
  const t = jobsSeen.telemetry;
  const meteredJ = typeof t?.meteredJoules === "number" ? t.meteredJoules : undefined;
  const meteredCoreS = typeof t?.meteredCoreSeconds === "number" ? t.meteredCoreSeconds : undefined;
  try {
    const list = await hub.request(J.QueryJobs, { states: [], tenant: "", limit: 1000 }, J.JobList, { target: "jobs", timeoutMs: 2000 });
    const by = {};
    for (const j of list.jobs) by[stateName(j.state)] = (by[stateName(j.state)] ?? 0) + 1;
    const n = (s) => by[s] ?? 0;
    return {
      done: n("done"),
      waiting: n("queued") + n("admitted") + n("paused"),
      running: n("running"),
      failed: n("failed"),
      expired: n("expired"),
      cancelled: n("cancelled"),
      meteredJ,
      meteredCoreS,
      jobsEnergyJ: list.jobs.reduce((a, j) => a + j.energyJ, 0),
      inferences: typeof t?.inferences === "number" ? t.inferences : undefined,
    };
  } catch (err) {
    return { error: `the jobs service did not answer QueryJobs: ${err.message}`, meteredJ, meteredCoreS };
  }
}

function logSummary(jobs) {
  const minSocPct = typeof hilReport?.summary?.minSocPct === "number" ? hilReport.summary.minSocPct : Number.isFinite(minSocSeen) ? +minSocSeen.toFixed(2) : undefined;
  const energy =
    jobs.meteredJ === undefined
      ? "energy metered unknown (no runner telemetry)"
      : `${jobs.meteredJ.toFixed(2)} J and ${(jobs.meteredCoreS ?? 0).toFixed(3)} core-s metered to jobs since the runner started`;
  const soc = minSocPct === undefined ? "lowest battery state of charge unknown" : `lowest battery state of charge ${minSocPct}%`;
  const queue = jobs.error
    ? jobs.error
    : `jobs ${jobs.done} done, ${jobs.waiting} waiting, ${jobs.running} running, ${jobs.failed} failed` + `${jobs.expired ? `, ${jobs.expired} expired` : ""}${jobs.cancelled ? `, ${jobs.cancelled} cancelled` : ""}`;
  logger.info({ summary: true, jobs, minSocPct }, `summary: ${queue}; ${energy}; ${soc}`);
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const stats = hub.stats();
  logger.info(
    { published: Number(stats.published), delivered: Number(stats.delivered), dropped: Object.fromEntries(Object.entries(stats.dropped).map(([k, v]) => [k, Number(v)])) },
    "bus totals",
  );
  // Left over from a workload the shutdown interrupted (the demo's accuracy declaration).
  for (const fn of jobsCleanup.splice(0)) {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 3 s")), 3000).unref());
    await Promise.race([fn(), late]).catch((err) => logger.warn({ err: err.message }, "workload cleanup failed at shutdown"));
  }
  const jobs = await jobsTally();
  await stopServices();
  hil.stop();
  await hilDone.catch((err) => logger.error({ err }, "HIL run failed"));
  logSummary(jobs);
  hilBus.close();
  await ttc.stop();
  ttcBus.close();
  ttcDb.close();
  archive.close();
  for (const s of servers) await s.close();
  hub.close();
  if (unexpectedExits.length) logger.error({ services: unexpectedExits }, "stopped; these services had exited unexpectedly");
  process.exit(code || (unexpectedExits.length ? 1 : 0));
}
process.once("SIGINT", () => void shutdown(0));
process.once("SIGTERM", () => void shutdown(0));
if (duration !== undefined) setTimeout(() => void shutdown(0), duration * 1000);
