#!/usr/bin/env node
// `pnpm start`: the payload stack against the embedded HIL environment. A bus
// hub listens on a Unix socket; the HIL environment runs as its own bus node
// joined to the hub in-process, publishing the emulated hardware and the orbit's
// ground truth; the example service runs in its own OS process, joined over the
// socket. TTC and the flight services join as their issues land, and the
// supervisor then takes this role over (issue "Supervisor and the full stack").
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
  --data      folder for the TTC's command history and schedule (SQLite)
  --demo      send a few authenticated telecommands through the TTC (development keys only)`);
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

// --demo: what ground software would send, built with the same (development) key.
if (values.demo) {
  // A ground system carries its counters on; the demo stands in with the clock.
  const ground = new TcBuilder({ keys: await loadKeyFile(values.keys), spi: 1, securitySequence: Math.floor(Date.now() / 1000) % 4_000_000_000, firstSequenceCount: Math.floor(Date.now() / 1000) });
  const uplink = (packet) => hub.publish(umbra.ttc.v1.TcUplink, { packet, link: "demo" });
  setTimeout(() => {
    uplink(ground.areYouAlive(TTC_APID));
    uplink(ground.perform(0x7f0, "add", umbra.examples.v1.CounterAdd, { amount: 5n }));
    uplink(ground.perform(0x7f0, "add", umbra.examples.v1.CounterAdd, { amount: 5000n }));
  }, 1500);
}

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

const service = spawn(process.execPath, [join(root, "examples/counter-service/dist/main.js"), `unix:${values.socket}`], {
  stdio: ["ignore", "inherit", "inherit"],
});
service.once("exit", (code, signal) => {
  if (!stopping) {
    logger.error({ code, signal }, "counter service exited");
    void shutdown(1);
  }
});

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const stats = hub.stats();
  logger.info(
    { published: Number(stats.published), delivered: Number(stats.delivered), dropped: Object.fromEntries(Object.entries(stats.dropped).map(([k, v]) => [k, Number(v)])) },
    "bus totals",
  );
  if (service.exitCode === null) {
    service.kill("SIGTERM");
    await new Promise((r) => service.once("exit", r));
  }
  hil.stop();
  await hilDone.catch((err) => logger.error({ err }, "HIL run failed"));
  hilBus.close();
  await ttc.stop();
  ttcBus.close();
  ttcDb.close();
  archive.close();
  for (const s of servers) await s.close();
  hub.close();
  process.exit(code);
}
process.once("SIGINT", () => void shutdown(0));
process.once("SIGTERM", () => void shutdown(0));
if (duration !== undefined) setTimeout(() => void shutdown(0), duration * 1000);
