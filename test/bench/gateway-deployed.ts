// The payload of `pnpm bench gateway` laid out as the supervisor runs it on a
// board: this process is the bus hub (a Unix socket, as the supervisor's),
// and the TTC (`umbra-ttc`, with its downlink queue and archive), the example
// counter (`umbra-counter-service`) and the gateway (`umbra-gateway`) each
// run in their own process, joined to the hub. Their commits and their work
// then run side by side instead of on one event loop.
//
// Everything started is killed on the way out (SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bus, BusServer, RealClock, parseEndpoint, silentLogger } from "@umbra/core";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MAINS = {
  ttc: join(ROOT, "packages/ttc/dist/main.js"),
  counter: join(ROOT, "examples/counter-service/dist/main.js"),
  gateway: join(ROOT, "packages/gateway/dist/main.js"),
};
const READY_TIMEOUT_MS = 30_000;

export interface DeployedPayload {
  url: string;
  token: string;
  /** CPU time (user + system, µs) each service process has used so far, from /proc; empty where there is no /proc. */
  cpuMicros(): Record<string, number>;
  close(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on every Linux this runs on). */
const USER_HZ = 100;

function processCpuMicros(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / USER_HZ;
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, children: ChildProcess[]): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead) throw new Error(`${what}: ${dead.spawnargs.slice(1, 2).join(" ")} exited (${dead.exitCode ?? dead.signalCode})`);
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the hub here and the three services as processes; resolves once the gateway knows the counter. */
export async function startDeployedPayload(dir: string, key: Uint8Array): Promise<DeployedPayload> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "bus.sock");
  const keyFile = join(dir, "keys.json");
  writeFileSync(keyFile, JSON.stringify({ keys: [{ spi: 1, algorithm: "hmac-sha256", key: Buffer.from(key).toString("hex"), state: "active" }] }), { mode: 0o600 });
  const clock = new RealClock({ unref: true });
  const hub = new Bus({ node: "hub", clock, logger: silentLogger(), queueCapacity: 100_000 });
  const server = await BusServer.listen(hub, parseEndpoint(`unix:${socket}`));
  /** The service processes by name (the rows of cpuMicros). */
  const children = new Map<string, ChildProcess>();
  const running = () => [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
  const env = { ...process.env, UMBRA_LOG_LEVEL: "warn" };
  // The services get this process's Node flags (so `node --cpu-prof run.js gateway` profiles them too), but not a debugger port.
  const nodeFlags = process.execArgv.filter((a) => !a.startsWith("--inspect"));
  const start = (name: string, main: string, args: string[]) => {
    const child = spawn(process.execPath, [...nodeFlags, main, `unix:${socket}`, ...args], { env, stdio: ["ignore", "ignore", "pipe"], detached: true });
    child.stderr?.on("data", () => undefined); // drained; a service's warnings are not the bench's output
    children.set(name, child);
    return child;
  };
  const statusFile = join(dir, "gateway.json");
  const tokenFile = join(dir, "admin-token");
  const close = async () => {
    for (const c of running()) if (c.pid) process.kill(-c.pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (running().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of running()) if (c.pid) process.kill(-c.pid, "SIGKILL");
    await server.close();
    hub.close();
  };
  try {
    start("ttc", MAINS.ttc, ["--data", join(dir, "ttc"), "--keys", keyFile, "--platform", "hil", "--clock", "real"]);
    start("counter", MAINS.counter, ["--clock", "real"]);
    start("gateway", MAINS.gateway, [
      "--data", join(dir, "gateway"), "--keys", keyFile, "--spi", "1", "--port", "0",
      "--admin-token-file", tokenFile, "--status-file", statusFile, "--command-rate", "1000000",
    ]);
    const url = await waitFor("the gateway's status file", () => (existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, "utf8")) as { url: string }).url : undefined), READY_TIMEOUT_MS, [...children.values()]);
    const token = readFileSync(tokenFile, "utf8").trim();
    const headers = { authorization: `Bearer ${token}` };
    await waitFor(
      "the TTC and the counter in the gateway's dictionary",
      async () => {
        const d = (await (await fetch(`${url}/api/dictionary`, { headers })).json()) as { services: { name: string }[] };
        // The counter alone is not enough: a command sent before the TTC is on the bus is refused (503 no_ttc).
        return d.services.some((s) => s.name === "counter") && d.services.some((s) => s.name === "ttc") ? true : undefined;
      },
      READY_TIMEOUT_MS,
      [...children.values()],
    );
    const cpuMicros = () => {
      const out: Record<string, number> = {};
      for (const [name, child] of children) {
        const us = child.pid === undefined ? undefined : processCpuMicros(child.pid);
        if (us !== undefined) out[name] = us;
      }
      return out;
    };
    return { url, token, cpuMicros, close };
  } catch (err) {
    await close();
    throw err;
  }
}
