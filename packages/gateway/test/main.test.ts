// umbra-gateway as its own process (the compiled dist/main.js), joined to a
// bus hub over TCP like a service process on a board: it learns the
// dictionary over the link and its commands reach the TTC and come back
// verified.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Bus, BusServer, RealClock, formatEndpoint } from "@umbra/core";
import { CommandHistory, ScheduleStore, SecurityState, TtcService, openTtcDatabase } from "@umbra/ttc";
import { KEY1, Probe, payloadKeys, request, until } from "./support/stack.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "umbra-gw-main-"));
const clock = new RealClock({ unref: true });
const hub = new Bus({ node: "hub", clock, queueCapacity: 100_000 });
let server: BusServer;
let ttc: TtcService;
let probe: Probe;
let child: ChildProcess | undefined;
let output = "";

beforeAll(async () => {
  const db = openTtcDatabase(join(root, "ttc.db"));
  ttc = new TtcService({ bus: hub, clock }, { keys: payloadKeys(), history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db) });
  probe = new Probe({ bus: hub, clock });
  await ttc.start();
  await probe.start();
  server = await BusServer.listen(hub, { kind: "tcp", host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await until(() => child!.exitCode !== null, "the gateway process to exit", 5000).catch(() => child!.kill("SIGKILL"));
  }
  await probe.stop();
  await ttc.stop();
  await server.close();
  hub.close();
  rmSync(root, { recursive: true, force: true });
});

it.skipIf(!existsSync(MAIN))("joins the hub over TCP, serves the dictionary and sends verified commands; stops on SIGTERM", async () => {
  const keyFile = join(root, "keys.json");
  writeFileSync(keyFile, JSON.stringify({ keys: [{ spi: 1, algorithm: "hmac-sha256", state: "active", key: Buffer.from(KEY1).toString("hex") }] }), { mode: 0o600 });
  const tokenFile = join(root, "admin.token");
  child = spawn(process.execPath, [MAIN, formatEndpoint(server.endpoint), "--data", join(root, "gw"), "--keys", keyFile, "--spi", "1", "--port", "0", "--admin-token-file", tokenFile], {
    env: { ...process.env, UMBRA_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = await until(() => /gateway listening on (http:\/\/\S+)/.exec(output)?.[1], "the gateway to listen", 15_000);
  const token = readFileSync(tokenFile, "utf8").trim();
  await until(async () => {
    const d = await request(url, "GET", "/api/dictionary", { token });
    return d.body?.services?.some((s: { name: string }) => s.name === "probe");
  }, "the dictionary over the link");
  const r = await request(url, "POST", "/api/commands?wait=completion", { token, body: { service: "probe", command: "add", args: { amount: 3 } } });
  expect(r.body).toMatchObject({ state: "completed", user: "admin" });
  expect(probe.value).toBe(3);
  child.kill("SIGTERM");
  await until(() => child!.exitCode !== null, "the gateway process to exit", 10_000);
  expect(child.exitCode).toBe(0);
});
