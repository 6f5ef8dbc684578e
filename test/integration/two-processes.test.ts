// Two real OS processes talk over sockets through a hub: the counter service
// (joined over a Unix socket) and a command sender (joined over TCP).
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bus, BusServer, RealClock, parseEndpoint } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";

const here = dirname(fileURLToPath(import.meta.url));
const counterMain = join(here, "../../examples/counter-service/dist/main.js");
const sender = join(here, "fixtures/send-add.mjs");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(script: string, args: string[]): { child: ChildProcess; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UMBRA_LOG_LEVEL: "warn" } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { child, stdout: () => out + err, exited };
}

async function until(cond: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("services in separate processes", () => {
  it("a command from one process reaches a service in another and its result comes back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-it-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hub = new Bus({ node: "hub", clock: new RealClock() });
    cleanups.push(() => hub.close());
    const unix = await BusServer.listen(hub, parseEndpoint(`unix:${join(dir, "bus.sock")}`));
    const tcp = await BusServer.listen(hub, parseEndpoint("tcp:127.0.0.1:0"));
    cleanups.push(() => unix.close(), () => tcp.close());

    const beats: MessageOf<typeof umbra.core.v1.Heartbeat>[] = [];
    const counts: bigint[] = [];
    hub.subscribe(umbra.core.v1.Heartbeat, (hb) => {
      beats.push(hb);
    });
    hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
      for (const s of r.samples) if (s.name === "count" && s.value?.kind === "intValue") counts.push(s.value.intValue);
    });

    const service = run(counterMain, [`unix:${join(dir, "bus.sock")}`]);
    await until(() => beats.some((b) => b.service === "counter" && b.state === umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING), "counter heartbeat");
    expect(beats[0]!.pid).toBe(service.child.pid);

    const send = run(sender, [`tcp:127.0.0.1:${(tcp.endpoint as { port: number }).port}`, "counter", "5"]);
    expect(await send.exited).toBe(0);
    const result = JSON.parse(send.stdout().trim().split("\n").at(-1)!);
    expect(result).toEqual({ status: umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED, message: "count is 5", service: "counter" });
    await until(() => counts.includes(5n), "telemetry from the service process");

    // An out-of-range argument is refused by the service in the other process.
    const bad = run(sender, [`tcp:127.0.0.1:${(tcp.endpoint as { port: number }).port}`, "counter", "5000"]);
    expect(await bad.exited).toBe(0);
    expect(JSON.parse(bad.stdout().trim().split("\n").at(-1)!).status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT);

    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    await until(() => beats.at(-1)?.state === umbra.core.v1.ServiceState.SERVICE_STATE_STOPPED, "final heartbeat");
  });
});
