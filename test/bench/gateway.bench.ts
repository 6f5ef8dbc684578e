// `pnpm bench gateway`: the ground gateway under load, against a bare fastify
// route measured in the same run.
//
// The payload side, in this process on one in-process bus with the real
// clock: the real TTC (command history, security state and archive on
// temporary SQLite files, synchronous FULL) and the example counter service;
// the gateway (packages/gateway) on loopback. The clients run in worker
// threads, so their work is not on the gateway's event loop.
//
// 1. Command round trip: POST /api/commands?wait=completion with the
//    counter's `add`, at 100 and 1,000 commands/s (open loop, fixed
//    schedule): the gateway checks the token, role and arguments, builds and
//    signs the TC, records it, publishes TcUplink; the TTC authenticates,
//    records, routes it to the counter and reports each stage; the answer
//    goes out at the completion report. Latency = from the scheduled send to
//    the whole answer. Baseline: a bare fastify POST route on loopback that
//    parses the same JSON and answers a similar body without touching the
//    bus, at the same rates. Target (issue #9): p99 under 10 ms at 1,000
//    commands/s. The same again in the deployed layout (each service its own
//    process, gateway-deployed.ts), and once more with that layout's data in
//    RAM (/dev/shm): informational, what this machine's disk adds.
// 2. WebSocket fan-out: 50 clients subscribed to every sample; telemetry
//    published on the bus at 200 samples/s for 5 s; delivery latency from the
//    bus publish to each client's receipt. Baseline: a bare @fastify/websocket
//    route broadcasting the same JSON text to 50 clients at the same rate.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import Fastify from "fastify";
import websocket from "@fastify/websocket";
import { Bus, RealClock, silentLogger } from "@umbra/core";
import { KeyStore } from "@umbra/ccsds";
import { CounterService } from "@umbra/example-counter-service";
import { startGateway } from "@umbra/gateway";
import { umbra } from "@umbra/proto";
import { CommandHistory, ScheduleStore, SecurityState, TtcService, openArchive, openTtcDatabase } from "@umbra/ttc";
import { startDeployedPayload } from "./gateway-deployed.js";
import type { FanoutJob, FanoutResult } from "./gateway-fanout.js";
import type { LoadJob, LoadResult } from "./gateway-load.js";
import { percentile, result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";

const LOAD_WORKER = fileURLToPath(new URL("./gateway-load.js", import.meta.url));
const FANOUT_WORKER = fileURLToPath(new URL("./gateway-fanout.js", import.meta.url));
const RATES = (process.env["UMBRA_BENCH_GATEWAY_RATES"] ?? "100,1000").split(",").map(Number);
const SECONDS = 5;
/**
 * Seconds at the rate before the measured ones, reported apart as the cold start: the JIT compiles the
 * new code paths, the heaps and the group-commit batches grow. Three, because the deployed layout's three
 * fresh processes take that long to settle (in 5 s rounds on one deployed payload at 1,000/s, the first
 * round's p99 was 62-139 ms, each later round's 16-31 ms: docs/benchmarks.md).
 */
const RAMP_S = 3;
/** A RAM file system for the deployed layout's no-disk run ("" skips it). */
const SHM = process.env["UMBRA_BENCH_GATEWAY_SHM"] ?? (process.platform === "linux" ? "/dev/shm" : "");
const FANOUT_CLIENTS = 50;
const FANOUT_RATE = 200;
const KEY = new Uint8Array(32).map((_, i) => (i * 11 + 5) & 0xff);
const keys = () => new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY }]);
const now = () => performance.timeOrigin + performance.now();
/** This process's CPU time so far (µs, every thread: the hub and the load worker). */
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function inWorker<J, R>(file: string, job: J, onMessage?: (m: unknown) => void): Promise<R> {
  return new Promise((resolve, reject) => {
    const w = new Worker(file, { workerData: job });
    w.on("message", (m: unknown) => {
      if (m && typeof m === "object" && "ready" in m) return onMessage?.(m);
      resolve(m as R);
      void w.terminate();
    });
    w.on("error", reject);
  });
}

const load = (job: LoadJob) => inWorker<LoadJob, LoadResult>(LOAD_WORKER, job);

/** Publishes `count` samples at `rate` per second through `emit`, each valued with its send time. */
async function pace(rate: number, count: number, emit: (sentAtMs: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    emit(now());
  }
}

async function fanout(url: string, subscribe: string | undefined, emit: (sentAtMs: number) => void): Promise<FanoutResult> {
  const count = FANOUT_RATE * SECONDS;
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  const done = inWorker<FanoutJob, FanoutResult>(FANOUT_WORKER, { url, clients: FANOUT_CLIENTS, ...(subscribe ? { subscribe } : {}), expectPerClient: count, timeoutMs: SECONDS * 1000 + 10_000 }, () => started());
  await ready;
  await pace(FANOUT_RATE, count, emit);
  return done;
}

interface Phases {
  ramp: number[];
  steady: number[];
  perS: number;
}

/** The round-trip results of one rate and layout against the bare route's at that rate (`targeted`: whether the 1,000/s p99 is judged against the target). */
function roundTrip(rate: number, layout: string, g: Phases, b: Phases, targeted = true): BenchResult[] {
  const fast = rate === 1000 && targeted;
  return [
    result(`command round trip at ${rate}/s${layout}, p50 (baseline: bare fastify route)`, percentile(g.steady, 50), "ms", { baseline: percentile(b.steady, 50) }),
    result(`command round trip at ${rate}/s${layout}, p99 (baseline: bare fastify route)`, percentile(g.steady, 99), "ms", {
      baseline: percentile(b.steady, 99),
      target: fast ? "< 10 ms" : "informational",
      met: fast ? percentile(g.steady, 99) < 10 : null,
    }),
    result(`command round trip in the first ${RAMP_S} s at ${rate}/s${layout} (cold start, not in the target), p99`, percentile(g.ramp, 99), "ms", { baseline: percentile(b.ramp, 99) }),
    result(`commands completed per second at ${rate}/s offered${layout}`, g.perS, "cmd/s", { baseline: b.perS }),
  ];
}

export const gatewayBenchmark: Benchmark = {
  name: "gateway",
  description: "Gateway: command round trip (HTTP in to completion) at 100 and 1,000 commands/s, WebSocket fan-out to 50 clients, vs bare fastify",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const dir = mkdtempSync(join(os.tmpdir(), "umbra-bench-gateway-"));
    const clock = new RealClock({ unref: true });
    const bus = new Bus({ node: "payload", clock, logger: silentLogger(), queueCapacity: 100_000, requestTimeoutMs: 10_000 });
    const db = openTtcDatabase(join(dir, "ttc.db"));
    const archive = openArchive(join(dir, "archive.db"));
    const ttc = new TtcService({ bus, clock }, { keys: keys(), history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db), archive });
    const counter = new CounterService({ bus, clock });
    const bare = Fastify({ logger: false });
    const results: BenchResult[] = [];
    try {
      await ttc.start();
      await counter.start();
      await bus.idle();
      const gateway = await startGateway({
        bus,
        clock,
        dataDir: join(dir, "gateway"),
        logger: silentLogger(),
        keys: keys(),
        spi: 1,
        port: 0,
        adminTokenFile: join(dir, "admin.token"),
        commandRatePerMinute: 1_000_000,
      });
      const token = readFileSync(join(dir, "admin.token"), "utf8").trim();
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      // The dictionary fills as services answer DescribeRequest.
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${gateway.url}/api/dictionary`, { headers });
        const d = (await r.json()) as { services: { name: string }[] };
        if (d.services.some((s) => s.name === "counter")) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      await bare.register(websocket);
      const bareClients = new Set<{ send(data: string): void }>();
      bare.post("/echo", async (req) => {
        const body = req.body as { service: string; command: string; args: unknown };
        return { id: 1, user: "bench", service: body.service, command: body.command, args: body.args, state: "completed", stages: [{ stage: "completion", success: true }] };
      });
      bare.register(async (app) => {
        app.get("/stream", { websocket: true }, (socket) => {
          bareClients.add(socket);
          socket.on("close", () => bareClients.delete(socket));
        });
      });
      const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });

      const expect = '"state":"completed"';
      const bodies = Array.from({ length: 16 }, (_, i) => JSON.stringify({ service: "counter", command: "add", args: { amount: String(i + 1) } }));
      const commandsAt = (url: string) => `${url}/api/commands?wait=completion`;
      /** One rate: RAMP_S s reported apart (the batches grow, the heap grows, new code paths are compiled), then SECONDS s steady. */
      const run = async (url: string, rate: number, loopDelay?: ReturnType<typeof monitorEventLoopDelay>, requestHeaders = headers) => {
        const ramp = rate * RAMP_S;
        const count = rate * (RAMP_S + SECONDS);
        const r = await inWorker<LoadJob, LoadResult>(LOAD_WORKER, { url, method: "POST", headers: requestHeaders, bodies, expect, ratePerS: rate, count, rampCount: ramp }, () => loopDelay?.enable());
        loopDelay?.disable();
        if (r.failures > 0) throw new Error(`${r.failures} of ${count} requests to ${url} failed at ${rate}/s; first: ${r.firstFailure}`);
        return { ramp: r.latencyByIndexMs.slice(0, ramp), steady: r.latencyByIndexMs.slice(ramp), perS: count / r.wallS };
      };
      ctx.log("warm-up: 300 commands at 100/s");
      await load({ url: commandsAt(gateway.url), method: "POST", headers, bodies, expect, ratePerS: 100, count: 300 });
      await load({ url: `${bareUrl}/echo`, method: "POST", headers, bodies, expect, ratePerS: 100, count: 300 });
      const bareRuns = new Map<number, Awaited<ReturnType<typeof run>>>();
      for (const rate of RATES) {
        ctx.log(`commands: ${rate * (RAMP_S + SECONDS)} at ${rate}/s through the gateway, one process (the first ${RAMP_S} s apart)`);
        const loopDelay = monitorEventLoopDelay({ resolution: 1 });
        const g = await run(commandsAt(gateway.url), rate, loopDelay);
        ctx.log(`commands: the same at ${rate}/s against a bare fastify route`);
        const b = await run(`${bareUrl}/echo`, rate);
        bareRuns.set(rate, b);
        results.push(...roundTrip(rate, "", g, b), result(`event-loop delay of the one payload process at ${rate}/s after the first ${RAMP_S} s, p99`, loopDelay.percentile(99) / 1e6, "ms"));
      }
      // The same, laid out as deployed: each service its own process on a bus hub.
      const runDeployed = async (dataDir: string, layout: string, targeted: boolean) => {
        const deployed = await startDeployedPayload(dataDir, KEY);
        try {
          const dHeaders = { ...headers, authorization: `Bearer ${deployed.token}` };
          await load({ url: commandsAt(deployed.url), method: "POST", headers: dHeaders, bodies, expect, ratePerS: 100, count: 300 });
          for (const rate of RATES) {
            const count = rate * (RAMP_S + SECONDS);
            ctx.log(`commands: ${count} at ${rate}/s through the gateway${layout}`);
            const cpu0 = { ...deployed.cpuMicros(), "hub and client": cpuNow() };
            results.push(...roundTrip(rate, layout, await run(commandsAt(deployed.url), rate, undefined, dHeaders), bareRuns.get(rate)!, targeted));
            const cpu1: Record<string, number> = { ...deployed.cpuMicros(), "hub and client": cpuNow() };
            // Where a command's CPU goes on the board's layout: each process's user + system time over the run (ramp included), per command.
            for (const [name, before] of Object.entries(cpu0)) {
              const after = cpu1[name];
              if (after !== undefined) results.push(result(`CPU per command at ${rate}/s${layout}: ${name}`, (after - before) / count, "µs"));
            }
          }
        } finally {
          await deployed.close();
        }
      };
      ctx.log("deployed layout: starting the hub here, umbra-ttc, umbra-counter-service and umbra-gateway as processes");
      await runDeployed(join(dir, "deployed"), ", deployed layout", true);
      // Again with the services' data on a RAM file system: the same code and commits, but no disk under the
      // fsyncs and page writes. Informational: it tells what this machine's disk adds to the deployed figure.
      if (SHM && existsSync(SHM)) {
        const shmDir = mkdtempSync(join(SHM, "umbra-bench-gateway-"));
        try {
          ctx.log(`deployed layout again, data on ${SHM} (RAM, no disk)`);
          await runDeployed(shmDir, ", deployed layout, data in RAM", false);
        } finally {
          rmSync(shmDir, { recursive: true, force: true });
        }
      }

      ctx.log(`fan-out: ${FANOUT_CLIENTS} WebSocket clients, ${FANOUT_RATE} samples/s for ${SECONDS} s through the gateway`);
      const subscribe = JSON.stringify({ type: "subscribe", telemetry: ["bench.*"], events: false, verifications: false });
      const wsUrl = `${gateway.url.replace(/^http/, "ws")}/api/stream?token=${encodeURIComponent(token)}`;
      const gf = await fanout(wsUrl, subscribe, (t) =>
        bus.publish(umbra.core.v1.TelemetryReport, { service: "bench", missionTimeNs: clock.nowTaiNs(), samples: [{ name: "sentAt", value: { floatValue: t } }] }),
      );
      ctx.log("fan-out: the same through a bare @fastify/websocket broadcast");
      const bf = await fanout(`${bareUrl.replace(/^http/, "ws")}/stream`, undefined, (t) => {
        const text = JSON.stringify({ type: "telemetry", service: "bench", name: "sentAt", missionTimeNs: String(clock.nowTaiNs()), value: t });
        for (const c of bareClients) c.send(text);
      });
      const expected = FANOUT_CLIENTS * FANOUT_RATE * SECONDS;
      results.push(
        result(`WebSocket fan-out to ${FANOUT_CLIENTS} clients at ${FANOUT_RATE} samples/s: delivery p50 (baseline: bare broadcast)`, percentile(gf.latenciesMs, 50), "ms", { baseline: percentile(bf.latenciesMs, 50) }),
        result(`WebSocket fan-out: delivery p99 (baseline: bare broadcast)`, percentile(gf.latenciesMs, 99), "ms", { baseline: percentile(bf.latenciesMs, 99) }),
        result(`WebSocket fan-out: messages delivered of ${expected} (baseline: bare broadcast)`, gf.received, "messages", { baseline: bf.received }),
        result(`WebSocket fan-out: clients dropped as too slow`, gf.closedEarly, "clients", { baseline: bf.closedEarly }),
      );
      await gateway.close();
    } finally {
      await bare.close();
      await counter.stop();
      await ttc.stop();
      bus.close();
      archive.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return results;
  },
};
