// Helpers for tests that run `umbra start` for real: the compiled CLI in its
// own process (and process group), with the supervisor, every service and
// the HIL in theirs, in a fresh temporary folder; a bus client joined to the
// payload's hub (the ground's view: SupervisorStatus, InjectFault,
// telecommands through the TTC); and a cleanup that leaves no process behind
// even when a test fails half-way.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadKeyFile } from "@umbra/ccsds";
import { Bus, BusClient, RealClock, parseEndpoint, silentLogger } from "@umbra/core";
import { umbra, type GeneratedMessageClass, type InitOf, type MessageOf } from "@umbra/proto";
import { TcBuilder } from "@umbra/ttc";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = join(ROOT, "packages/cli/dist/main.js");
export const DEFAULT_CONFIG = join(ROOT, "config/umbra.yaml");
export const scenario = (name: string) => join(ROOT, "hil/scenarios", name);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something other than undefined/false; rejects after `ms`. */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 30_000, everyMs = 200): Promise<T> {
  const end = Date.now() + ms;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ""}`);
    await sleep(everyMs);
  }
}

/** A fresh temporary folder, short enough for a Unix socket path inside it (< 108 bytes). */
export function tempDir(prefix = "umbra-"): string {
  const base = join(tmpdir(), prefix).length < 60 ? tmpdir() : "/tmp";
  return mkdtempSync(join(base, prefix));
}

// ---- processes -----------------------------------------------------------------

function ownPgid(): number {
  return Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[2]);
}

/** Processes whose command line mentions `marker` (the test's temporary folder): pid and process group. */
export function processesMentioning(marker: string): { pid: number; pgid: number; cmd: string }[] {
  const out: { pid: number; pgid: number; cmd: string }[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ");
      if (!cmd.includes(marker)) continue;
      const pgid = Number(readFileSync(`/proc/${e}/stat`, "utf8").split(") ")[1]!.split(" ")[2]);
      out.push({ pid, pgid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** SIGKILLs every process group that has a process mentioning `marker` (never this process's own group). */
export function killEverythingMentioning(marker: string): number {
  const mine = ownPgid();
  let n = 0;
  for (const p of processesMentioning(marker)) {
    try {
      if (p.pgid > 1 && p.pgid !== mine) process.kill(-p.pgid, "SIGKILL");
      else process.kill(p.pid, "SIGKILL");
      n++;
    } catch {
      // already gone
    }
  }
  return n;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface UmbraRun {
  dir: string;
  data: string;
  socket: string;
  reports: string;
  keys: string;
  child: ChildProcess;
  /** stdout lines so far. */
  lines: string[];
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout line matching `re`. */
  waitForLine(re: RegExp, ms: number): Promise<string>;
  /** What a failed assertion should show. */
  context(): string;
  /** SIGTERM (like Ctrl-C) and wait for the exit; SIGKILL everything after `ms`. */
  stop(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills whatever of the run is left (every process group), removes the folder. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  /** Flags after `start` and the paths this helper gives (--config, --scenario, --data, --socket, --report, --keys, --gateway-port 0). */
  args?: string[];
  /** The configuration (default config/umbra.yaml); a string that is not a file path is written to <dir>/umbra.yaml as YAML text. */
  config?: string;
  scenario?: string;
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * `umbra start` from the compiled CLI, with cwd = a fresh empty folder (so
 * paths.run, .umbra/run, lands there), every path flag inside that folder,
 * and its own process group.
 */
export function startUmbra(options: StartOptions = {}): UmbraRun {
  const dir = options.dir ?? tempDir();
  let config = options.config ?? DEFAULT_CONFIG;
  if (!existsSync(config)) {
    const file = join(dir, "umbra.yaml");
    writeFileSync(file, config);
    config = file;
  }
  const run = { data: join(dir, "data"), socket: join(dir, "bus.sock"), reports: join(dir, "reports"), keys: join(dir, "keys.json") };
  const argv = [
    CLI,
    "start",
    "--config",
    config,
    "--scenario",
    options.scenario ?? scenario("stack-demo.yaml"),
    "--data",
    run.data,
    "--socket",
    run.socket,
    "--report",
    run.reports,
    "--keys",
    run.keys,
    "--gateway-port",
    "0",
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, argv, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
  const lines: string[] = [];
  let out = "";
  let err = "";
  let pending = "";
  const watchers: { re: RegExp; resolve(l: string): void }[] = [];
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    pending += d.toString();
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of [...watchers]) {
        if (w.re.test(l)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(l);
        }
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const logs = join(dir, ".umbra/run/logs");
  const tail = (f: string, n: number) => {
    try {
      return readFileSync(join(logs, f), "utf8").slice(-n);
    } catch {
      return "(none)";
    }
  };
  const self: UmbraRun = {
    dir,
    ...run,
    child,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLine(re, ms) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolveLine, reject) => {
        const w = { re, resolve: resolveLine };
        watchers.push(w);
        const t = setTimeout(() => {
          watchers.splice(watchers.indexOf(w), 1);
          reject(new Error(`no line matching ${re} within ${ms / 1000} s${self.context()}`));
        }, ms);
        void exited.then(() => setTimeout(() => {
          if (watchers.includes(w)) {
            clearTimeout(t);
            watchers.splice(watchers.indexOf(w), 1);
            reject(new Error(`umbra start exited before a line matching ${re}${self.context()}`));
          }
        }, 100));
        const orig = w.resolve;
        w.resolve = (l) => {
          clearTimeout(t);
          orig(l);
        };
      });
    },
    context: () =>
      `\n--- umbra start stdout (tail) ---\n${out.slice(-4000)}\n--- stderr (tail) ---\n${err.slice(-2000)}\n--- payload.log (tail) ---\n${tail("payload.log", 4000)}\n--- hil.log (tail) ---\n${tail("hil.log", 1500)}`,
    async stop(ms = 60_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => killEverythingMentioning(dir), ms);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(30_000)]);
      }
      // Whatever is left (a launcher killed hard leaves the supervisor's and the HIL's groups): cut it.
      for (let i = 0; i < 20 && killEverythingMentioning(dir) > 0; i++) await sleep(100);
      if (child.pid) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

// ---- the payload's hub, as the ground sees it -----------------------------------

const S = umbra.supervisor.v1;
export type SupervisorStatus = MessageOf<typeof umbra.supervisor.v1.SupervisorStatus>;
export type ServiceStatus = MessageOf<typeof umbra.supervisor.v1.ServiceStatus>;
export type Verification = MessageOf<typeof umbra.ttc.v1.Verification>;
export type BusEvent = MessageOf<typeof umbra.core.v1.Event>;

export const SUPERVISOR_APID = 0x020;
export const TTC_APID = 0x010;
export const JOBS_APID = 0x060;

export const stateName = (s: number) => (S.ProcessState[s] ?? String(s)).replace("PROCESS_STATE_", "");
export const modeName = (m: number) => (S.PayloadMode[m] ?? String(m)).replace("PAYLOAD_MODE_", "");
export const resetReasonName = (r: number) => (S.ResetReason[r] ?? String(r)).replace("RESET_REASON_", "");

export class Ground {
  readonly bus: Bus;
  readonly client: BusClient;
  /** Every event seen on the bus since joining. */
  readonly events: BusEvent[] = [];
  readonly #waiting = new Set<{ service: string; command: string; resolve(v: Verification): void }>();
  #builder: TcBuilder | undefined;

  private constructor(
    socket: string,
    private readonly keysFile: string,
    private readonly spi: number,
  ) {
    this.bus = new Bus({ node: `test-ground-${process.pid}-${Math.floor(Math.random() * 1e6)}`, clock: new RealClock(), logger: silentLogger(), queueCapacity: 8192 });
    this.client = BusClient.start(this.bus, parseEndpoint(`unix:${socket}`));
    this.bus.subscribe(umbra.core.v1.Event, (e) => void this.events.push(e));
    this.bus.subscribe(umbra.ttc.v1.Verification, (v) => {
      for (const w of this.#waiting) {
        if (w.service === v.service && w.command === v.command && (!v.success || v.stage === umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION)) w.resolve(v);
      }
    });
  }

  /** Joins the hub at `socket` (it reconnects across the payload's resets). Telecommands are signed with `spi` from `keysFile`. */
  static async join(socket: string, keysFile: string, spi = 1, timeoutMs = 60_000): Promise<Ground> {
    await until(() => existsSync(socket), `the bus socket ${socket}`, timeoutMs);
    const g = new Ground(socket, keysFile, spi);
    await g.client.waitConnected(timeoutMs);
    return g;
  }

  status(timeoutMs = 3000): Promise<SupervisorStatus> {
    return this.bus.request(S.GetSupervisorStatus, {}, S.SupervisorStatus, { target: "supervisor", timeoutMs });
  }

  async service(name: string): Promise<ServiceStatus> {
    const s = (await this.status()).services.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name} in SupervisorStatus`);
    return s;
  }

  /** Until every named service is RUNNING (returns the status). */
  allRunning(names: readonly string[], ms = 60_000): Promise<SupervisorStatus> {
    return until(
      async () => {
        const st = await this.status();
        return names.every((n) => st.services.some((s) => s.name === n && s.state === S.ProcessState.PROCESS_STATE_RUNNING && s.pid > 0)) ? st : undefined;
      },
      `${names.join(", ")} all running`,
      ms,
    );
  }

  inject(kind: "hang" | "kill" | "reset-payload", service: string, durationS = 0): Promise<MessageOf<typeof umbra.hil.v1.FaultAck>> {
    const injectionId = `test-${kind}-${service}-${Date.now()}`;
    return this.bus.request(umbra.hil.v1.InjectFault, { kind, service, durationS, injectionId }, umbra.hil.v1.FaultAck, { target: "hil", timeoutMs: 10_000 });
  }

  async builder(): Promise<TcBuilder> {
    this.#builder ??= new TcBuilder({
      keys: await loadKeyFile(this.keysFile),
      spi: this.spi,
      // Above anything an earlier sender on this SPI used: the TTC refuses a replayed security sequence.
      securitySequence: Math.floor(Date.now() / 1000) % 4_000_000_000,
      firstSequenceCount: Math.floor(Date.now() / 1000) % 16384,
    });
    return this.#builder;
  }

  /** One ST[8] telecommand through the TTC; resolves with its completion or its first failure. */
  async telecommand<C extends GeneratedMessageClass>(apid: number, service: string, name: string, type: C, args: InitOf<C>, timeoutMs = 20_000): Promise<Verification> {
    const builder = await this.builder();
    let timer: NodeJS.Timeout | undefined;
    let waiter: { service: string; command: string; resolve(v: Verification): void } | undefined;
    const outcome = new Promise<Verification>((resolveV, reject) => {
      waiter = { service, command: name, resolve: resolveV };
      this.#waiting.add(waiter);
      timer = setTimeout(() => reject(new Error(`no verification of ${service}.${name} within ${timeoutMs / 1000} s`)), timeoutMs);
    }).finally(() => {
      clearTimeout(timer);
      if (waiter) this.#waiting.delete(waiter);
    });
    this.bus.publish(umbra.ttc.v1.TcUplink, { packet: builder.perform(apid, name, type, args), link: "test" });
    return outcome;
  }

  /** A critical command: arm it at the TTC, then send it. Resolves with the command's own verification. */
  async critical<C extends GeneratedMessageClass>(apid: number, service: string, name: string, type: C, args: InitOf<C>): Promise<{ arm: Verification; fire: Verification }> {
    const arm = await this.telecommand(TTC_APID, "ttc", "arm", umbra.ttc.v1.ArmCommand, { apid, function: name });
    if (!arm.success) return { arm, fire: arm };
    const fire = await this.telecommand(apid, service, name, type, args);
    return { arm, fire };
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
    this.bus.close();
  }
}

/** A failed verification as "FAILURE_CODE: detail". */
export const failure = (v: Verification) => `${umbra.ttc.v1.FailureCode[v.code]}: ${v.detail}`;

// ---- the payload's stores, read after (or beside) the run -------------------------

/** better-sqlite3, as the supervisor has it (this test package does not depend on it directly). */
export const Database = createRequire(join(ROOT, "packages/supervisor/package.json"))("better-sqlite3") as typeof import("better-sqlite3");

export interface BootRow {
  boot: number;
  reset_reason: string;
  stable: number;
  ended: string | null;
}

/** The supervisor's boot record (<data>/supervisor.db), read-only. */
export function bootRecord(data: string): BootRow[] {
  const db = new Database(join(data, "supervisor.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT boot, reset_reason, stable, ended FROM boots ORDER BY boot").all() as BootRow[];
  } finally {
    db.close();
  }
}
