#!/usr/bin/env node
// `pnpm start`: the payload stack against the embedded HIL environment. A bus
// hub listens on a Unix socket; the HIL environment runs as its own bus node
// joined to the hub in-process, publishing the emulated hardware and the orbit's
// ground truth; the TTC runs in-process too. The flight services (inference,
// scrubber, thermal) and the example counter service each run in their own OS
// process on the HIL platform, joined over the socket. This script starts and
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
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    socket: { type: "string", default: join(root, ".umbra", "run", "bus.sock") },
    tcp: { type: "string" },
    duration: { type: "string" },
    scenario: { type: "string", default: join(root, "hil", "scenarios", "nominal-day.yaml") },
    speed: { type: "string", default: "60" },
    report: { type: "string", default: join(root, ".umbra", "reports") },
    keys: { type: "string", default: join(root, ".umbra", "keys.json") },
    data: { type: "string", default: join(root, ".umbra", "data") },
    models: { type: "string", default: "tiny-cls,ocr-cls" },
    demo: { type: "boolean", default: false },
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
              model registry and model files under <data>/inference (default .umbra/data)
  --models    shipped models the inference service activates (default tiny-cls,ocr-cls;
              also tiny-seg, ocr-det)
  --demo      send a few authenticated telecommands through the TTC (development keys only) and
              exercise the inference, thermal and scrubber services; prints "demo: ..." lines`);
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
const hilDone = hil.run().then(async (report) => {
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
// Last resort if this script dies without shutdown(): do not leave services behind.
process.once("exit", () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
});

// --demo: what ground software and the job runner would send. Each step logs one
// "demo: ..." line with its result.
if (values.demo) {
  runDemo().catch((err) => {
    if (stopping) logger.warn({ err: err.message }, "demo: interrupted by the shutdown");
    else logger.error({ err }, `demo: failed: ${err.message}`);
  });
}

async function runDemo() {
  const demo = (fields, msg) => logger.info({ demo: true, ...fields }, `demo: ${msg}`);
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
  const waiting = new Set();
  hub.subscribe(umbra.ttc.v1.Verification, (v) => {
    for (const w of waiting) if (w.service === v.service && w.command === v.command && (!v.success || v.stage === umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION)) w.resolve(v);
  });
  const outcome = (service, command) => {
    const w = { service, command };
    const p = new Promise((resolve) => (w.resolve = resolve));
    waiting.add(w);
    return p.finally(() => waiting.delete(w));
  };
  const latest = { budget: undefined, scrubber: undefined };
  hub.subscribe(umbra.thermal.v1.PowerBudget, (b) => (latest.budget = b));
  hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
    if (r.service === "scrubber") latest.scrubber = r;
  });

  // A ground system carries its counters on; the demo stands in with the clock.
  const ground = new TcBuilder({ keys: await loadKeyFile(values.keys), spi: 1, securitySequence: Math.floor(Date.now() / 1000) % 4_000_000_000, firstSequenceCount: Math.floor(Date.now() / 1000) });
  const uplink = (packet) => hub.publish(umbra.ttc.v1.TcUplink, { packet, link: "demo" });
  await sleep(1500);
  uplink(ground.areYouAlive(TTC_APID));
  uplink(ground.perform(0x7f0, "add", umbra.examples.v1.CounterAdd, { amount: 5n }));
  uplink(ground.perform(0x7f0, "add", umbra.examples.v1.CounterAdd, { amount: 5000n }));

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
    uplink(ground.perform(0x040, "runCanary", umbra.inference.v1.RunCanary, { model: "" }));
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

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const stats = hub.stats();
  logger.info(
    { published: Number(stats.published), delivered: Number(stats.delivered), dropped: Object.fromEntries(Object.entries(stats.dropped).map(([k, v]) => [k, Number(v)])) },
    "bus totals",
  );
  await stopServices();
  hil.stop();
  await hilDone.catch((err) => logger.error({ err }, "HIL run failed"));
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
