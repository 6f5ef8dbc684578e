// A payload on an in-process bus for the gateway tests: the real TTC (its
// command history, security state and archive on temporary SQLite files),
// a real "probe" service with an ordinary, a critical, a slow and a
// ruled command, and the gateway on an ephemeral loopback port with an
// admin, an operator and a viewer. Every TcUplink on the bus is counted, so
// a test can say "nothing reached the bus".
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus, CommandRejected, RealClock, Service, silentLogger, command, defineService, type CommandHandlers, type ServiceContext, type Clock, type Subscription } from "@umbra/core";
import { KeyStore } from "@umbra/ccsds";
import { umbra, type MessageOf } from "@umbra/proto";
import { CommandHistory, ScheduleStore, SecurityState, TtcService, openArchive, openTtcDatabase, type Archive } from "@umbra/ttc";
import { startGateway, type Gateway, type GatewayOptions } from "../../src/index.js";

export const KEY1 = new Uint8Array(32).map((_, i) => (i * 7 + 1) & 0xff);
export const KEY2 = new Uint8Array(32).map((_, i) => (255 - i * 3) & 0xff);
export const PROBE_APID = 0x300;

/** The payload's key store: SPI 2 waits in standby for a rotation. */
export const payloadKeys = () =>
  new KeyStore([
    { spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY1 },
    { spi: 2, algorithm: "hmac-sha256", state: "standby", key: KEY2 },
  ]);
/** The ground's copy: both usable. */
export const groundKeys = () =>
  new KeyStore([
    { spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY1 },
    { spi: 2, algorithm: "hmac-sha256", state: "active", key: KEY2 },
  ]);

export const probeSpec = defineService({
  name: "probe",
  apid: PROBE_APID,
  description: "A test service: a counter, a critical reset, a ruled tenant command, a ping and a command that never ends",
  commands: {
    add: command(umbra.examples.v1.CounterAdd, { description: "Add to the counter", arguments: { amount: { min: 1, max: 100 } } }),
    reset: command(umbra.examples.v1.CounterReset, { description: "Zero the counter", critical: true }),
    tenant: command(umbra.jobs.v1.SetTenant, {
      description: "A command with string, double, enum and bool fields",
      arguments: { tenant: { allowed: ["alpha", "beta"] }, quotaJoules: { min: 0, max: 1000 } },
    }),
    ping: command(umbra.bench.v1.Ping, { description: "Echo", arguments: { id: { nonZero: true } } }),
    stall: command(umbra.jobs.v1.CancelJob, { description: "Never completes" }),
  },
  telemetry: {
    level: { type: "float", unit: "W", description: "A level", warning: { high: 5 }, critical: { high: 8 } },
    note: { type: "string", description: "A text sample" },
    count: { type: "int", description: "The counter" },
  },
  events: {
    noted: { id: 1, severity: "info", description: "Something was noted" },
    alarm: { id: 2, severity: "high", description: "Something went wrong" },
  },
  parameters: { gain: { type: "float", default: 1.5, min: 0, max: 10, unit: "", description: "A gain" } },
});

export class Probe extends Service<typeof probeSpec> {
  value = 0;
  resets = 0;
  constructor(ctx: ServiceContext) {
    super(probeSpec, ctx);
  }
  protected commands(): CommandHandlers<typeof probeSpec> {
    return {
      add: ({ amount }) => {
        this.value += Number(amount);
        return `count is ${this.value}`;
      },
      reset: () => {
        this.value = 0;
        this.resets++;
        return "counter zeroed";
      },
      tenant: ({ tenant }) => `tenant ${tenant} set`,
      ping: ({ id, data }) => {
        if (id === 13n) throw new CommandRejected("precondition", "13 is unlucky");
        return `pong ${id} (${data.length} octets)`;
      },
      stall: () => new Promise<string>(() => undefined),
    };
  }
  emit(values: { level?: number; note?: string; count?: number }): void {
    this.telemetry(values);
  }
  raise(name: "noted" | "alarm", message: string, args: Record<string, string> = {}): void {
    this.event(name, message, args);
  }
}

export interface Tokens {
  admin: string;
  operator: string;
  viewer: string;
}

export interface Stack {
  bus: Bus;
  clock: Clock;
  ttc: TtcService;
  archive: Archive;
  probe: Probe;
  gateway: Gateway;
  dataDir: string;
  tokens: Tokens;
  /** Every TcUplink published on the bus, from anyone. */
  uplinks: MessageOf<typeof umbra.ttc.v1.TcUplink>[];
  /** The subscription that fills `uplinks` (itself a TcUplink subscriber, as the TTC is). */
  uplinkSpy: Subscription;
  verifications: MessageOf<typeof umbra.ttc.v1.Verification>[];
  api(method: string, path: string, options?: ApiOptions): Promise<ApiResponse>;
  /** Stops the gateway and starts it again on the same data folder. */
  restartGateway(options?: Partial<GatewayOptions>): Promise<void>;
  stop(): Promise<void>;
}

export interface ApiOptions {
  token?: string | null;
  /** A JSON value (serialised), or a raw string sent as is. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test helper: each test reads the shape it expects
  text: string;
  headers: Headers;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

export async function request(base: string, method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers["authorization"] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export interface StackOptions {
  gateway?: Partial<GatewayOptions>;
  /** TTC parameters (e.g. a short commandTimeoutMs). */
  ttcParameters?: Record<string, unknown>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const root = mkdtempSync(join(tmpdir(), "umbra-gateway-"));
  const dataDir = join(root, "gateway");
  const clock = new RealClock({ unref: true });
  const bus = new Bus({ node: "payload", clock, queueCapacity: 100_000, requestTimeoutMs: 5000 });
  const uplinks: Stack["uplinks"] = [];
  const verifications: Stack["verifications"] = [];
  const uplinkSpy = bus.subscribe(umbra.ttc.v1.TcUplink, (u) => void uplinks.push(u));
  bus.subscribe(umbra.ttc.v1.Verification, (v) => void verifications.push(v));
  const db = openTtcDatabase(join(root, "ttc.db"));
  const archive = openArchive(join(root, "ttc-archive.db"));
  const ttc = new TtcService(
    { bus, clock, ...(options.ttcParameters ? { parameters: options.ttcParameters } : {}) },
    { keys: payloadKeys(), history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db), archive },
  );
  const probe = new Probe({ bus, clock });
  await ttc.start();
  await probe.start();
  await bus.idle();

  const gatewayOptions = (): GatewayOptions => ({
    bus,
    clock,
    dataDir,
    logger: silentLogger(),
    keys: groundKeys(),
    spi: 1,
    port: 0,
    adminTokenFile: join(root, "admin.token"),
    commandTimeoutMs: 5000,
    queryTimeoutMs: 1000,
    ...options.gateway,
  });
  let gateway = await startGateway(gatewayOptions());
  const admin = readFileSync(join(root, "admin.token"), "utf8").trim();
  const api = (method: string, path: string, o: ApiOptions = {}) => request(gateway.url, method, path, o);
  const operator = (await api("POST", "/api/users", { token: admin, body: { name: "olga", role: "operator" } })).body.token as string;
  const viewer = (await api("POST", "/api/users", { token: admin, body: { name: "victor", role: "viewer" } })).body.token as string;
  // The dictionary holds the TTC and the probe once their declarations have come back.
  await until(async () => {
    const d = await api("GET", "/api/dictionary", { token: viewer });
    const names = (d.body?.services ?? []).map((s: { name: string }) => s.name);
    return names.includes("ttc") && names.includes("probe");
  }, "the dictionary");

  const stack: Stack = {
    bus,
    clock,
    ttc,
    archive,
    probe,
    get gateway() {
      return gateway;
    },
    dataDir,
    tokens: { admin, operator, viewer },
    uplinks,
    uplinkSpy,
    verifications,
    api,
    async restartGateway(more = {}) {
      await gateway.close();
      gateway = await startGateway({ ...gatewayOptions(), ...more });
      await until(async () => (await api("GET", "/api/health")).body?.services >= 2, "the restarted gateway's dictionary");
    },
    async stop() {
      await gateway.close();
      await probe.stop();
      await ttc.stop();
      bus.close();
      db.close();
      archive.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return stack;
}
