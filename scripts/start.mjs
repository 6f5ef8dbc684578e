#!/usr/bin/env node
// `pnpm start`: runs the bus hub and the example service in its own process.
// For now this is the whole payload stack; the HIL environment, TTC and the
// flight services join as their issues land, and the supervisor takes this
// role over (issue "Supervisor and the full stack").
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bus, BusServer, RealClock, createLogger, parseEndpoint, formatEndpoint } from "../packages/core/dist/index.js";
import { umbra } from "../packages/proto/dist/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    socket: { type: "string", default: join(root, ".umbra", "run", "bus.sock") },
    tcp: { type: "string" },
    duration: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`usage: pnpm start [--socket PATH] [--tcp HOST:PORT] [--duration SECONDS]

  --socket    Unix socket the bus hub listens on (default .umbra/run/bus.sock)
  --tcp       also listen on TCP, e.g. 127.0.0.1:7400, so a bench or another board can join
  --duration  stop by itself after this many seconds (default: run until Ctrl-C)`);
  process.exit(0);
}
const duration = values.duration === undefined ? undefined : Number(values.duration);
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
  for (const s of servers) await s.close();
  hub.close();
  process.exit(code);
}
process.once("SIGINT", () => void shutdown(0));
process.once("SIGTERM", () => void shutdown(0));
if (duration !== undefined) setTimeout(() => void shutdown(0), duration * 1000);
