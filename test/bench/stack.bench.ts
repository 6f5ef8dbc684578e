// `pnpm bench stack` (issue #10): the whole stack as `umbra start` runs it,
// measured from outside through /proc, against bare Node processes measured
// in the same run.
//
// Each run spawns `node packages/cli/dist/main.js start` in a fresh
// temporary directory (first boot: empty data directory, new development
// keys), with the workspace configuration (config/umbra.yaml), the HIL
// scenario hil/scenarios/nominal-day.yaml (no scheduled faults, so idle is
// idle), --no-workload, --gateway-port 0 and its own socket, data, report and
// key paths. The launcher powers on the supervisor (the bus hub; it starts
// ttc, thermal, scrubber, inference, jobs and gateway, each its own process)
// and runs the HIL environment as its own process.
//
// 1. Cold start to ready: wall time from spawning the launcher until the
//    supervisor reports every enabled service PROCESS_STATE_RUNNING (this
//    process joins the hub as a bus client and asks GetSupervisorStatus
//    every 25 ms, and listens to SupervisorStatus), and until the gateway
//    answers GET /api/health (its URL from <run>/gateway.json). Median of
//    RUNS runs at speed 60. Baseline: spawning `node -e 0` and waiting for it
//    to exit, once per process of the stack (nine: launcher, supervisor,
//    HIL, six services) one after another, and once alone; same runs, median.
// 2. Idle CPU: once ready, the bench's bus client leaves, the stack settles
//    SETTLE_S s, then utime+stime of every process descended from the
//    launcher (/proc/<pid>/stat) over IDLE_S s, as % of one core: the
//    payload (the supervisor and its services), the HIL environment (the
//    bench, not the payload) and the launcher (the ground's status line)
//    apart; at the default speed 60 and at speed 1 (the payload's idle cost
//    follows mission-time timers; speed 1 is what a board sees). Baseline:
//    an idle bare Node process (`setInterval` an hour away) over the same
//    window.
// 3. Resident memory: VmRSS of each process at the end of the speed-60 idle
//    window, and the totals; also the Pss totals (smaps_rollup: shared pages
//    counted once). Baseline: the idle bare Node process's VmRSS.
//
// Everything it starts is killed on the way out, failure included: the
// launcher is asked to stop (SIGTERM), and whatever of the stack is left
// after STOP_TIMEOUT_MS is killed by process group and by pid (any process
// whose command line names the run's temporary directory). The launcher
// also gets --duration as a last resort should this process die.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Bus, BusClient, RealClock, parseEndpoint, silentLogger } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { median, result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";
import { CLK_TCK, readCmdline, readPssKb, readRssKb, stackProcesses, ticksOf } from "./stack-procs.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = join(ROOT, "packages/cli/dist/main.js");
const CONFIG = join(ROOT, "config/umbra.yaml");
// The launcher runs in a temporary directory: a scenario given relative is taken from where the bench runs.
const SCENARIO = resolve(process.env["UMBRA_BENCH_STACK_SCENARIO"] ?? join(ROOT, "hil/scenarios/nominal-day.yaml"));
const RUNS = Number(process.env["UMBRA_BENCH_STACK_RUNS"] ?? 3);
const IDLE_S = Number(process.env["UMBRA_BENCH_STACK_IDLE_S"] ?? 20);
const SETTLE_S = 5;
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
/** The services config/umbra.yaml enables (the example counter is off). */
const SERVICES = ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"] as const;
/** The processes of the stack, in report order. */
const ROLES = ["launcher", "supervisor", ...SERVICES, "hil"] as const;
const POLL_MS = 25;
const TARGET = "reported (issue #10 sets no number)";

const { ProcessState } = umbra.supervisor.v1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running `umbra start` and what it left where. */
interface Stack {
  dir: string;
  socket: string;
  launcher: ChildProcess;
  exited: Promise<void>;
  /** Process groups seen (launcher, supervisor, HIL), for the last-resort kill. */
  pgids: Set<number>;
}

const live = new Set<Stack>();

function startStack(speed: number, durationS: number): Stack {
  const dir = mkdtempSync(join(os.tmpdir(), "umbra-stk-"));
  const socket = join(dir, "bus.sock");
  const out = openSync(join(dir, "launcher.log"), "a");
  const launcher = spawn(
    process.execPath,
    [
      CLI,
      "start",
      ...["--config", CONFIG, "--scenario", SCENARIO, "--speed", String(speed)],
      ...["--data", join(dir, "data"), "--socket", socket, "--report", join(dir, "reports"), "--keys", join(dir, "keys.json")],
      ...["--gateway-port", "0", "--no-workload", "--duration", String(durationS)],
    ],
    // Its own process group, as a terminal would give it.
    { cwd: dir, detached: true, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  const exited = new Promise<void>((resolve) => {
    if (launcher.exitCode !== null || launcher.signalCode !== null) resolve();
    else launcher.once("exit", () => resolve());
  });
  const stack: Stack = { dir, socket, launcher, exited, pgids: new Set() };
  if (launcher.pid) stack.pgids.add(launcher.pid);
  live.add(stack);
  return stack;
}

/** Notes every process of the stack now, so it can be killed even after its parent is gone. */
function track(stack: Stack): Map<string, number> {
  if (!stack.launcher.pid) return new Map();
  const roles = stackProcesses(stack.launcher.pid);
  for (const [role, pid] of roles) {
    // The supervisor and the HIL each lead their own process group; the services are in the supervisor's.
    if (role === "supervisor" || role === "hil") stack.pgids.add(pid);
  }
  return roles;
}

function launcherLog(stack: Stack): string {
  try {
    return readFileSync(join(stack.dir, "launcher.log"), "utf8").trim().split("\n").slice(-15).join("\n");
  } catch {
    return "(no launcher log)";
  }
}

/** Whether `pid` is still one of this stack's processes (every one names the temporary directory on its command line), not a reused pid. */
const ours = (stack: Stack, pid: number) => readCmdline(pid).some((a) => a.includes(stack.dir));

function killHard(stack: Stack): void {
  // Find the supervisor and the HIL (own process groups) while the launcher still holds them.
  track(stack);
  for (const pgid of stack.pgids) {
    if (!ours(stack, pgid)) continue;
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone
    }
  }
  // Anything of this stack left, orphans included.
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || !ours(stack, pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Asks the launcher to stop the stack; kills whatever is left after STOP_TIMEOUT_MS. */
async function stopStack(stack: Stack): Promise<void> {
  track(stack);
  // Asked to stop, the launcher stops the supervisor (which stops its services) and the HIL in order.
  if (stack.launcher.exitCode === null && stack.launcher.signalCode === null) stack.launcher.kill("SIGTERM");
  await Promise.race([stack.exited, sleep(STOP_TIMEOUT_MS)]);
  // The launcher waits for the supervisor and the HIL; whatever is still here is a leftover.
  killHard(stack);
  live.delete(stack);
  rmSync(stack.dir, { recursive: true, force: true });
}

function killAllNow(): void {
  for (const stack of live) {
    killHard(stack);
    rmSync(stack.dir, { recursive: true, force: true });
  }
  live.clear();
}

interface Ready {
  /** ms from spawn until every enabled service was RUNNING. */
  servicesMs: number;
  /** ms from spawn until GET /api/health answered 200. */
  healthMs: number;
  /** The service pids the supervisor reported. */
  servicePids: Map<string, number>;
  /** ms from spawn until each service was first seen RUNNING. */
  runningMs: Map<string, number>;
}

/** Watches the stack from the hub and the gateway until it is ready. */
async function waitReady(stack: Stack, t0: number): Promise<Ready> {
  const bus = new Bus({ node: `bench-stack-${process.pid}`, clock: new RealClock({ unref: true }), logger: silentLogger() });
  // Retry quickly: the socket appears only once the supervisor is up.
  const client = BusClient.start(bus, parseEndpoint(`unix:${stack.socket}`), { reconnect: { initialDelayMs: 10, maxDelayMs: POLL_MS, factor: 1, jitter: 0 } });
  let servicesMs: number | undefined;
  let healthMs: number | undefined;
  const servicePids = new Map<string, number>();
  const runningMs = new Map<string, number>();
  let failure: string | undefined;
  const check = (s: MessageOf<typeof umbra.supervisor.v1.SupervisorStatus>, at: number) => {
    if (servicesMs !== undefined) return;
    const byName = new Map(s.services.map((x) => [x.name, x]));
    for (const x of s.services) if (x.state === ProcessState.PROCESS_STATE_RUNNING && !runningMs.has(x.name)) runningMs.set(x.name, at - t0);
    const failed = s.services.filter((x) => x.state === ProcessState.PROCESS_STATE_FAILED);
    if (failed.length) failure = `service(s) failed: ${failed.map((x) => `${x.name} (${x.lastFailure})`).join(", ")}`;
    if (SERVICES.every((n) => byName.get(n)?.state === ProcessState.PROCESS_STATE_RUNNING)) {
      servicesMs = at - t0;
      for (const n of SERVICES) servicePids.set(n, byName.get(n)!.pid);
    }
  };
  bus.subscribe(umbra.supervisor.v1.SupervisorStatus, (s) => check(s, performance.now()));
  const gatewayFile = join(stack.dir, ".umbra/run/gateway.json");
  let healthUrl: string | undefined;
  try {
    const deadline = t0 + READY_TIMEOUT_MS;
    while (servicesMs === undefined || healthMs === undefined) {
      if (failure) throw new Error(failure);
      if (stack.launcher.exitCode !== null || stack.launcher.signalCode !== null) throw new Error(`umbra start exited (${stack.launcher.exitCode ?? stack.launcher.signalCode}) before ready:\n${launcherLog(stack)}`);
      if (performance.now() > deadline) throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s (services ${servicesMs === undefined ? "not all running" : "running"}, health ${healthMs === undefined ? "not answering" : "ok"}):\n${launcherLog(stack)}`);
      const polls: Promise<unknown>[] = [sleep(POLL_MS)];
      if (servicesMs === undefined && client.connected) {
        polls.push(
          bus
            .request(umbra.supervisor.v1.GetSupervisorStatus, {}, umbra.supervisor.v1.SupervisorStatus, { target: "supervisor", timeoutMs: 1000 })
            .then((s) => check(s, performance.now()))
            .catch(() => undefined),
        );
      }
      if (healthMs === undefined) {
        if (!healthUrl && existsSync(gatewayFile)) {
          try {
            healthUrl = `${(JSON.parse(readFileSync(gatewayFile, "utf8")) as { url: string }).url}/api/health`;
          } catch {
            // being written
          }
        }
        if (healthUrl) {
          const url = healthUrl;
          polls.push(
            fetch(url, { signal: AbortSignal.timeout(1000) })
              .then(async (r) => {
                await r.arrayBuffer();
                if (r.ok && healthMs === undefined) healthMs = performance.now() - t0;
              })
              .catch(() => undefined),
          );
        }
      }
      await Promise.all(polls);
    }
    return { servicesMs, healthMs, servicePids, runningMs };
  } finally {
    // Leave the hub: the idle measurement should not pay for this process's subscriptions.
    await client.close().catch(() => undefined);
    bus.close();
  }
}

/** Spawns `node -e 0` `count` times one after another; ms in all. */
async function bareStarts(count: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
      p.once("error", reject);
      p.once("exit", () => resolve());
    });
  }
  return performance.now() - t0;
}

function spawnIdleNode(): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 3_600_000)"], { stdio: "ignore" });
}

interface Idle {
  /** % of one core by role over the window. */
  cpuPct: Map<string, number>;
  baselineCpuPct: number;
  /** VmRSS in MiB by role at the end of the window. */
  rssMiB: Map<string, number>;
  /** Pss in MiB by role at the end of the window (shared pages split). */
  pssMiB: Map<string, number>;
  baselineRssMiB: number;
  restarted: string[];
}

/** utime+stime of every process of the stack (and of an idle bare node) over IDLE_S s. */
async function measureIdle(stack: Stack, ctx: BenchContext, label: string): Promise<Idle> {
  const bare = spawnIdleNode();
  try {
    ctx.log(`${label}: settling ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000);
    const roles = track(stack);
    for (const r of ROLES) if (!roles.has(r)) throw new Error(`${label}: no ${r} process found under the launcher (found ${[...roles.keys()].join(", ")})`);
    const pids = [...roles.values(), bare.pid!];
    ctx.log(`${label}: CPU of ${roles.size} processes over ${IDLE_S} s`);
    const before = ticksOf(pids);
    const t0 = performance.now();
    await sleep(IDLE_S * 1000);
    const after = ticksOf(pids);
    const wallS = (performance.now() - t0) / 1000;
    const pct = (pid: number) => ((after.get(pid)! - before.get(pid)!) / CLK_TCK / wallS) * 100;
    const now = track(stack);
    const restarted = [...roles].filter(([role, pid]) => now.get(role) !== pid || !after.has(pid)).map(([role]) => role);
    const cpuPct = new Map<string, number>();
    const rssMiB = new Map<string, number>();
    const pssMiB = new Map<string, number>();
    for (const [role, pid] of roles) {
      if (!after.has(pid) || !before.has(pid)) continue;
      cpuPct.set(role, pct(pid));
      const rss = readRssKb(pid);
      if (rss !== undefined) rssMiB.set(role, rss / 1024);
      const pss = readPssKb(pid);
      if (pss !== undefined) pssMiB.set(role, pss / 1024);
    }
    return { cpuPct, baselineCpuPct: pct(bare.pid!), rssMiB, pssMiB, baselineRssMiB: (readRssKb(bare.pid!) ?? Number.NaN) / 1024, restarted };
  } finally {
    bare.kill("SIGKILL");
  }
}

const runningText = (r: Ready) => SERVICES.map((n) => `${n} ${r.runningMs.get(n)?.toFixed(0) ?? "?"}`).join(", ");
const sum = (m: Map<string, number>, roles: readonly string[]) => roles.reduce((a, r) => a + (m.get(r) ?? 0), 0);
const PAYLOAD: readonly string[] = ["supervisor", ...SERVICES];

export const stackBenchmark: Benchmark = {
  name: "stack",
  description: "Whole stack (umbra start): cold start to ready, idle CPU at speed 60 and 1, resident memory per process, vs bare node",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    if (process.platform !== "linux") throw new Error("the stack benchmark reads /proc: Linux only");
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run pnpm build`);
    const onSignal = () => {
      killAllNow();
      process.exit(130);
    };
    process.once("exit", killAllNow);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const cold = { services: [] as number[], health: [] as number[], bareAll: [] as number[], bareOne: [] as number[] };
      let idle60: Idle | undefined;
      for (let run = 1; run <= RUNS; run++) {
        cold.bareOne.push(await bareStarts(1));
        cold.bareAll.push(await bareStarts(ROLES.length));
        const measure = run === RUNS;
        ctx.log(`run ${run}/${RUNS} at speed 60: cold start${measure ? `, then idle CPU and memory` : ""}`);
        const t0 = performance.now();
        const stack = startStack(60, measure ? 120 : 90);
        try {
          const ready = await waitReady(stack, t0);
          track(stack);
          cold.services.push(ready.servicesMs);
          cold.health.push(ready.healthMs);
          ctx.log(`run ${run}: first RUNNING (ms from spawn): ${runningText(ready)}`);
          ctx.log(`run ${run}: services RUNNING after ${ready.servicesMs.toFixed(0)} ms, /api/health after ${ready.healthMs.toFixed(0)} ms (${ROLES.length} x node -e 0: ${cold.bareAll.at(-1)!.toFixed(0)} ms)`);
          if (measure) idle60 = await measureIdle(stack, ctx, "speed 60");
        } finally {
          await stopStack(stack);
        }
      }
      ctx.log("speed 1: start, then idle CPU");
      const t1 = performance.now();
      const slow = startStack(1, 120);
      let idle1: Idle;
      let slowReady: Ready;
      try {
        slowReady = await waitReady(slow, t1);
        track(slow);
        ctx.log(`speed 1: every service RUNNING after ${slowReady.servicesMs.toFixed(0)} ms, /api/health after ${slowReady.healthMs.toFixed(0)} ms; first RUNNING: ${runningText(slowReady)}`);
        idle1 = await measureIdle(slow, ctx, "speed 1");
      } finally {
        await stopStack(slow);
      }
      const i60 = idle60!;
      for (const [label, i] of [["speed 60", i60], ["speed 1", idle1]] as const) if (i.restarted.length) ctx.log(`warning: ${label}: ${i.restarted.join(", ")} restarted during the idle window`);

      const ms = median(cold.services);
      const mh = median(cold.health);
      const bareAll = median(cold.bareAll);
      const bareOne = median(cold.bareOne);
      const results: BenchResult[] = [
        result(`cold start to every service RUNNING, median of ${RUNS} (baseline: ${ROLES.length} x node -e 0 in a row)`, ms, "ms", { baseline: bareAll, target: TARGET }),
        result(`cold start to gateway /api/health answering, median of ${RUNS} (baseline: ${ROLES.length} x node -e 0 in a row)`, mh, "ms", { baseline: bareAll, target: TARGET }),
        result(`cold start to ready (both), median of ${RUNS} (baseline: one node -e 0)`, Math.max(ms, mh), "ms", { baseline: bareOne }),
        result(`cold start at speed 1, one run (baseline: ${ROLES.length} x node -e 0 in a row)`, Math.max(slowReady.servicesMs, slowReady.healthMs), "ms", { baseline: bareAll }),
      ];
      for (const [speed, i] of [[60, i60], [1, idle1]] as const) {
        results.push(
          result(`idle CPU at speed ${speed}, payload (supervisor + 6 services) over ${IDLE_S} s (baseline: idle bare node)`, sum(i.cpuPct, PAYLOAD), "% of a core", { baseline: i.baselineCpuPct, target: TARGET }),
          result(`idle CPU at speed ${speed}, HIL environment`, i.cpuPct.get("hil") ?? Number.NaN, "% of a core", { baseline: i.baselineCpuPct, target: TARGET }),
          result(`idle CPU at speed ${speed}, launcher`, i.cpuPct.get("launcher") ?? Number.NaN, "% of a core", { baseline: i.baselineCpuPct }),
          result(`idle CPU at speed ${speed}, whole stack (${ROLES.length} processes)`, sum(i.cpuPct, ROLES), "% of a core", { baseline: i.baselineCpuPct, target: TARGET }),
        );
        for (const role of PAYLOAD) results.push(result(`idle CPU at speed ${speed}, ${role}`, i.cpuPct.get(role) ?? Number.NaN, "% of a core", { baseline: i.baselineCpuPct }));
      }
      for (const role of ROLES) results.push(result(`resident memory, ${role} (baseline: idle bare node)`, i60.rssMiB.get(role) ?? Number.NaN, "MiB", { baseline: i60.baselineRssMiB, target: TARGET }));
      results.push(
        result(`resident memory, payload total (supervisor + 6 services) (baseline: 7 x idle bare node)`, sum(i60.rssMiB, PAYLOAD), "MiB", { baseline: 7 * i60.baselineRssMiB, target: TARGET }),
        result(`resident memory, whole stack (${ROLES.length} processes) (baseline: ${ROLES.length} x idle bare node)`, sum(i60.rssMiB, ROLES), "MiB", { baseline: ROLES.length * i60.baselineRssMiB, target: TARGET }),
        result(`proportional memory (Pss), payload total: shared pages counted once`, sum(i60.pssMiB, PAYLOAD), "MiB"),
        result(`proportional memory (Pss), whole stack`, sum(i60.pssMiB, ROLES), "MiB"),
      );
      return results;
    } finally {
      killAllNow();
      process.removeListener("exit", killAllNow);
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
  },
};
