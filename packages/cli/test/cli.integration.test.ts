// The built CLI (node packages/cli/dist/main.js) as a child process against
// a real stack piece in this process: a real Bus, the real TTC on temporary
// SQLite stores, the example counter service, and the real gateway on an
// ephemeral port. Checks what an operator sees: stages printed as they come,
// exit codes, --json that parses, the dictionary, the latest telemetry, and
// the errors for a bad token, an unreachable gateway and bad arguments
// (which must send nothing).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStore } from "@umbra/ccsds";
import { Bus, RealClock, silentLogger } from "@umbra/core";
import { CounterService } from "@umbra/example-counter-service";
import { startGateway, type Gateway } from "@umbra/gateway";
import { umbra } from "@umbra/proto";
import { CommandHistory, ContactPlan, DownlinkQueue, ScheduleStore, SecurityState, TcBuilder, TtcService, openArchive, openTtcDatabase, type Archive } from "@umbra/ttc";

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, "..", "dist", "main.js");
const COUNTER_APID = 0x7f0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let bus: Bus;
let ttc: TtcService;
let counter: CounterService;
let gateway: Gateway;
let token: string;
let ground: TcBuilder;
let closeStores: () => void;

/** Runs the CLI; async, so the gateway in this process keeps answering. */
function umbraCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: dir,
      env: { PATH: process.env["PATH"] ?? "", HOME: dir, UMBRA_GATEWAY: gateway.url, UMBRA_TOKEN: token, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(gateway.url + path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

const commandCount = async () => (await api<unknown[]>("/api/commands?limit=1000")).length;

/** Sets the counter's `frozen` parameter by an authenticated ST[20] TC, as ground software would. */
async function setFrozen(frozen: boolean): Promise<void> {
  bus.publish(umbra.ttc.v1.TcUplink, { packet: ground.setParameters(COUNTER_APID, [{ name: "frozen", value: frozen }]), link: "test" });
  await until(async () => (counter.parameters.get("frozen") === frozen ? true : undefined), 5000, `the counter's frozen parameter to be ${frozen}`);
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (pnpm build, or npx tsc -b packages/cli)`);
  dir = mkdtempSync(join(tmpdir(), "umbra-cli-"));
  const clock = new RealClock();
  bus = new Bus({ node: "payload", clock, logger: silentLogger(), queueCapacity: 100_000 });
  // SPI 1 for this test's own ground (the parameter TC), SPI 2 for the gateway: separate anti-replay counters.
  const key1 = randomBytes(32);
  const key2 = randomBytes(32);
  const entries = () => [
    { spi: 1, algorithm: "hmac-sha256" as const, state: "active" as const, key: new Uint8Array(key1) },
    { spi: 2, algorithm: "hmac-sha256" as const, state: "active" as const, key: new Uint8Array(key2) },
  ];
  const db = openTtcDatabase(join(dir, "ttc.db"));
  const archive: Archive = openArchive(join(dir, "archive.db"));
  ttc = new TtcService(
    { bus, clock, logger: silentLogger() },
    {
      keys: new KeyStore(entries()),
      history: new CommandHistory(db),
      schedule: new ScheduleStore(db),
      security: new SecurityState(db),
      downlink: { queue: new DownlinkQueue(db), plan: new ContactPlan(db) },
      archive,
    },
  );
  await ttc.start();
  counter = new CounterService({ bus, clock, logger: silentLogger() });
  await counter.start();
  closeStores = () => {
    archive.close();
    db.close();
  };
  ground = new TcBuilder({ keys: new KeyStore(entries()), spi: 1 });
  const adminTokenFile = join(dir, "gateway", "admin.token");
  gateway = await startGateway({ bus, clock, logger: silentLogger(), dataDir: join(dir, "gateway"), keys: new KeyStore(entries()), spi: 2, port: 0, adminTokenFile });
  token = readFileSync(adminTokenFile, "utf8").trim();
  await until(async () => ((await api<{ services: { name: string }[] }>("/api/dictionary")).services.some((s) => s.name === "counter") ? true : undefined), 5000, "the gateway to learn the counter");
  await until(async () => ((await api<Record<string, unknown>>("/api/telemetry/latest"))["counter"] ? true : undefined), 5000, "counter telemetry at the gateway");
});

afterAll(async () => {
  await gateway?.close();
  await counter?.stop();
  await ttc?.stop();
  bus?.close();
  closeStores?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("umbra against a real gateway", { timeout: 30_000 }, () => {
  it("send: prints each verification stage and completes with exit 0", async () => {
    const r = await umbraCli(["send", "counter.add", "amount=5"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^counter\.add: command \d+ sent to APID 0x7f0, sequence count \d+ by admin$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}acceptance\s+ok$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}start\s+ok$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}completion\s+ok\s+count is \d+$/));
    expect(lines.at(-1)).toBe("completed");
  });

  it("send --json: one JSON document with the stages, exit 0", async () => {
    const r = await umbraCli(["send", "counter.add", "--args", '{"amount": 7}', "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as { state: string; service: string; command: string; args: { amount: string }; stages: { stage: string; success: boolean }[] };
    expect(record).toMatchObject({ state: "completed", service: "counter", command: "add", args: { amount: "7" } });
    expect(record.stages.map((s) => s.stage)).toEqual(["acceptance", "start", "completion"]);
  });

  it("send: a command the service refuses prints the failed stage and exits 1", async () => {
    await setFrozen(true);
    try {
      const r = await umbraCli(["send", "counter.add", "amount=1"]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/FAILED\s+FAILURE_\w+: .*counter is frozen/);
      expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^failed at \w+: FAILURE_\w+: .*counter is frozen/);
    } finally {
      await setFrozen(false);
    }
  });

  it("send: bad arguments are refused before anything is sent (exit 2)", async () => {
    const before = await commandCount();
    const cases: [string[], RegExp][] = [
      [["counter.add", "amount=5000"], /amount: 5000 is above the maximum 1000/],
      [["counter.add", "amount=0"], /amount: must not be 0/],
      [["counter.add", "amount=five"], /amount: expected a 64-bit integer, got "five"/],
      [["counter.add", "amont=5"], /counter\.add has no argument "amont" \(its arguments: amount\)/],
      [["counter.add", "--args", '{"amount": true}'], /amount: expected a 64-bit integer, got true/],
      [["counter.nope"], /counter has no command "nope" \(its commands: counter\.add, counter\.reset\)/],
      [["nosuch.add"], /no service "nosuch" in the dictionary/],
      [["counteradd"], /name the command as <service>\.<name>/],
    ];
    for (const [args, message] of cases) {
      const r = await umbraCli(["send", ...args]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(await commandCount()).toBe(before);
  });

  it("send: a critical command needs --arm; with --arm --yes it is armed and sent", async () => {
    const refused = await umbraCli(["send", "counter.reset"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/counter\.reset is critical and .*add --arm/);
    const r = await umbraCli(["send", "counter.reset", "--arm", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/armed counter\.reset until /);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("completed");
    expect(counter.value).toBe(0);
  });

  it("dict: commands with argument types and ranges, telemetry with limits, events; --json parses", async () => {
    const r = await umbraCli(["dict", "counter"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^counter \(APID 0x7f0\)/);
    expect(r.stdout).toMatch(/counter\.add - Add an amount/);
    expect(r.stdout).toMatch(/amount\s+64-bit integer\s+-1000\.\.1000, not 0/);
    expect(r.stdout).toMatch(/counter\.reset \[critical: needs --arm\]/);
    expect(r.stdout).toMatch(/counter\.count\s+int\s+-\s+warning > 900, critical > 1000/);
    expect(r.stdout).toMatch(/limitExceeded\s+medium/);
    const all = await umbraCli(["dict", "--json"]);
    expect(all.code).toBe(0);
    const dict = JSON.parse(all.stdout) as { services: { name: string }[] };
    expect(dict.services.map((s) => s.name)).toEqual(expect.arrayContaining(["counter", "ttc"]));
  });

  it("tm latest: the counter's parameters; --json parses", async () => {
    const r = await umbraCli(["tm", "latest"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PARAMETER\s+VALUE\s+UNIT\s+RECEIVED/);
    expect(r.stdout).toMatch(/counter\.count\s+-?\d+/);
    expect(r.stdout).toMatch(/counter\.overLimit\s+(true|false)/);
    const j = await umbraCli(["tm", "latest", "counter", "--json"]);
    const latest = JSON.parse(j.stdout) as Record<string, Record<string, { value: unknown }>>;
    expect(Object.keys(latest)).toEqual(["counter"]);
    expect(typeof latest["counter"]!["count"]!.value).toBe("number");
  });

  it("tm live --count: samples from the WebSocket, one JSON document per line", async () => {
    const r = await umbraCli(["tm", "counter.count", "--count", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { service: string; name: string; value: unknown });
    expect(lines).toHaveLength(2);
    for (const s of lines) expect(s).toMatchObject({ service: "counter", name: "count" });
  });

  it("commands and events: the history and the archive, as text and --json", async () => {
    const list = await umbraCli(["commands", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const records = JSON.parse(list.stdout) as { service: string; command: string }[];
    expect(records.some((c) => c.service === "counter" && c.command === "add")).toBe(true);
    const events = await umbraCli(["events", "--service", "counter", "--json"]);
    expect(events.code, events.stderr).toBe(0);
    expect((JSON.parse(events.stdout) as { events: { name: string }[] }).events.map((e) => e.name)).toContain("reset");
  });

  it("a wrong token: says the token is wrong, exit 1", async () => {
    const r = await umbraCli(["dict"], { UMBRA_TOKEN: "umbra_not-a-real-token" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`the gateway at ${gateway.url.replace(/[.]/g, "\\.")} refused the token from UMBRA_TOKEN \\(401`));
    const live = await umbraCli(["tm", "--count", "1", "--token", "nope"]);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/refused the token from --token \(401/);
  });

  it("an unreachable gateway: names the URL and suggests umbra start, exit 1", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const r = await umbraCli(["tm", "latest", "--gateway", url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the gateway at ${url} (ECONNREFUSED)`);
    expect(r.stderr).toContain("umbra start");
    const send = await umbraCli(["send", "counter.add", "amount=1"], { UMBRA_GATEWAY: url });
    expect(send.code).toBe(1);
    expect(send.stderr).toContain(`cannot reach the gateway at ${url}`);
  });

  it("hil: hands its arguments to umbra-hil", async () => {
    const scenario = join(here, "..", "..", "..", "hil", "scenarios", "nominal-day.yaml");
    const r = await umbraCli(["hil", "validate", scenario]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nominal-day\.yaml: ok \(nominal-day/);
  });
});
