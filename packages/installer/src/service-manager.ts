// What starts, stops and judges the payload: behind one small interface, so
// the installer's A/B logic is the same whether systemd runs the payload (a
// board) or the installer runs it as a plain process (a container, a bench
// without systemd, and the installer's own integration tests).
//
// Health is the release's own verdict: `<release>/bin/umbra health` joins the
// payload's bus and asks the supervisor whether every service that should run
// is running. The installer only reads the exit status and the last lines.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InstallError, paths, type Layout } from "./layout.js";
import { MAIN_UNIT, execStartArgv, parseUnit, relocate, unitEnvironment } from "./units.js";

export interface HealthResult {
  ok: boolean;
  /** What the health check said (its last lines), or why it could not run. */
  reason: string;
}

export interface ServiceManager {
  readonly kind: "systemd" | "process";
  /** The units were (re)written: have the service manager read them, and enable the payload at boot. */
  reload(): Promise<void>;
  /** (Re)starts the payload from <prefix>/current; does not wait for it to become healthy. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Waits up to timeoutS for the release to report healthy (and stay so holdS). */
  health(releaseDir: string, timeoutS: number, holdS?: number): Promise<HealthResult>;
}

export interface CommandResult {
  code: number | null;
  output: string;
  error?: string;
}

const OUTPUT_CAP = 64 * 1024;

/** Runs a command, collects its output (capped), kills it after timeoutMs. */
export function runCommand(file: string, args: readonly string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CommandResult> {
  return new Promise((resolve) => {
    let output = "";
    let settled = false;
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env, cwd: options.cwd, detached: true });
    const add = (b: Buffer) => {
      output += b.toString("utf8");
      if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP);
    };
    child.stdout.on("data", add);
    child.stderr.on("data", add);
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
      done({ code: null, output, error: `did not finish within ${Math.round(options.timeoutMs / 1000)} s` });
    }, options.timeoutMs);
    const done = (r: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.once("error", (err) => done({ code: null, output, error: err.message }));
    child.once("close", (code) => done({ code, output }));
  });
}

function tail(text: string, lines = 12): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** `<release>/bin/umbra health --config <etc>/umbra.yaml --timeout S [--hold H]`, exit 0 = healthy. */
export async function releaseHealth(l: Layout, releaseDir: string, timeoutS: number, holdS = 0): Promise<HealthResult> {
  const umbra = join(releaseDir, "bin", "umbra");
  if (!existsSync(umbra)) return { ok: false, reason: `${umbra} is missing: cannot ask the release whether it is healthy` };
  const args = ["health", "--config", paths(l).config, "--timeout", String(timeoutS)];
  if (holdS > 0) args.push("--hold", String(holdS));
  const r = await runCommand(umbra, args, { timeoutMs: (timeoutS + holdS + 30) * 1000 });
  if (r.code === 0) return { ok: true, reason: tail(r.output, 3) };
  const said = tail(r.output);
  return { ok: false, reason: r.error ? `umbra health ${r.error}${said ? `:\n${said}` : ""}` : said || `umbra health exited with status ${r.code}` };
}

// ---------------------------------------------------------------------------
// systemd

export interface SystemdOptions {
  systemctl?: string;
  journalctl?: string;
}

/** Whether this machine was booted with systemd (sd_booted(3)). */
export function systemdBooted(): boolean {
  return existsSync("/run/systemd/system");
}

export class SystemdManager implements ServiceManager {
  readonly kind = "systemd";
  private readonly systemctl: string;
  private readonly journalctl: string;

  constructor(
    private readonly layout: Layout,
    options: SystemdOptions = {},
  ) {
    this.systemctl = options.systemctl ?? "systemctl";
    this.journalctl = options.journalctl ?? "journalctl";
  }

  private async ctl(args: string[], timeoutMs = 120_000): Promise<void> {
    const r = await runCommand(this.systemctl, args, { timeoutMs });
    if (r.code !== 0) throw new InstallError(`systemctl ${args.join(" ")} failed${r.error ? ` (${r.error})` : ` (status ${r.code})`}${r.output.trim() ? `: ${tail(r.output, 5)}` : ""}`);
  }

  async reload(): Promise<void> {
    // Outside a running systemd (an image being prepared in a chroot) there is nothing to reload; enable still works.
    if (systemdBooted()) await this.ctl(["daemon-reload"]);
    await this.ctl(["enable", MAIN_UNIT]);
  }

  async restart(): Promise<void> {
    // A unit that hit its start limit stays failed until reset.
    await this.ctl(["reset-failed", MAIN_UNIT]).catch(() => undefined);
    // Stop (waits until the old payload is gone), then start without waiting (Type=notify would block until
    // READY=1): not `restart --no-block`, after which the health check could still reach the old supervisor
    // and take its answer for the new release's.
    await this.ctl(["stop", MAIN_UNIT], 180_000);
    await this.ctl(["start", "--no-block", MAIN_UNIT]);
  }

  async stop(): Promise<void> {
    await this.ctl(["stop", MAIN_UNIT], 180_000);
  }

  async health(releaseDir: string, timeoutS: number, holdS = 0): Promise<HealthResult> {
    const h = await releaseHealth(this.layout, releaseDir, timeoutS, holdS);
    if (h.ok) return h;
    // What systemd saw, for the engineer reading the failure.
    const active = spawnSync(this.systemctl, ["is-active", MAIN_UNIT], { encoding: "utf8", timeout: 10_000 });
    const journal = spawnSync(this.journalctl, ["-u", MAIN_UNIT, "-n", "15", "--no-pager", "-o", "cat"], { encoding: "utf8", timeout: 10_000 });
    const state = (active.stdout ?? "").trim();
    const log = tail(journal.stdout ?? "", 15);
    return { ok: false, reason: `${h.reason}${state ? `\n${MAIN_UNIT} is ${state}` : ""}${log ? `\nlast lines of its journal:\n${log}` : ""}` };
  }
}

// ---------------------------------------------------------------------------
// A plain process: umbra.service's ExecStart, run detached with a pid file.

export interface ProcessManagerOptions {
  /** From SIGTERM to SIGKILL of the payload's process group (ms); default 15 s. */
  stopTimeoutMs?: number;
}

interface PidFile {
  pid: number;
  /** /proc/<pid>/stat start time, so a recycled pid is not mistaken for ours. */
  start: string;
}

function procStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) are space-separated; start time is field 22.
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (after[0] === "Z") return "zombie";
    return after[19] ?? "";
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return procStart(pid) !== "zombie";
}

export class ProcessManager implements ServiceManager {
  readonly kind = "process";
  private readonly stopTimeoutMs: number;

  constructor(
    private readonly layout: Layout,
    options: ProcessManagerOptions = {},
  ) {
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  }

  private get pidPath(): string {
    return join(paths(this.layout).processDir, "umbra.pid");
  }

  get logPath(): string {
    return join(paths(this.layout).processDir, "umbra.log");
  }

  async reload(): Promise<void> {
    // Nothing: the unit is read at each start.
  }

  /** The payload's process, when it runs. */
  async running(): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.pidPath, "utf8");
    } catch {
      return undefined;
    }
    let p: PidFile;
    try {
      p = JSON.parse(text) as PidFile;
    } catch {
      return undefined;
    }
    if (!Number.isSafeInteger(p.pid) || p.pid <= 1) return undefined;
    if (!alive(p.pid)) return undefined;
    if (p.start && procStart(p.pid) !== p.start) return undefined;
    return p.pid;
  }

  async restart(): Promise<void> {
    await this.stop();
    const current = paths(this.layout).current;
    const unitPath = join(current, "systemd", MAIN_UNIT);
    let unitText: string;
    try {
      unitText = relocate(await readFile(unitPath, "utf8"), this.layout);
    } catch (err) {
      throw new InstallError(`cannot read ${unitPath}: ${(err as Error).message}`);
    }
    const unit = parseUnit(unitText);
    const [file, ...args] = execStartArgv(unit);
    await mkdir(paths(this.layout).processDir, { recursive: true });
    const log = openSync(this.logPath, "a");
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, ...unitEnvironment(unit) };
      delete env["NOTIFY_SOCKET"];
      delete env["WATCHDOG_USEC"];
      delete env["WATCHDOG_PID"];
      const child = spawn(file!, args, { detached: true, stdio: ["ignore", log, log], cwd: this.layout.state, env });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once("error", (err) => reject(new InstallError(`cannot start ${file}: ${err.message}`)));
        child.once("spawn", () => resolve(child.pid!));
      });
      child.unref();
      await writeFile(this.pidPath, JSON.stringify({ pid, start: procStart(pid) } satisfies PidFile) + "\n");
    } finally {
      closeSync(log);
    }
  }

  async stop(): Promise<void> {
    const pid = await this.running();
    if (pid !== undefined) {
      const send = (target: number, s: NodeJS.Signals) => {
        try {
          process.kill(target, s);
        } catch {
          // gone
        }
      };
      // As systemd's KillMode=mixed: SIGTERM to the supervisor, which stops its services in order;
      // then SIGKILL to whatever of its process group is left.
      send(pid, "SIGTERM");
      const deadline = Date.now() + this.stopTimeoutMs;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      send(-pid, "SIGKILL");
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    }
    await rm(this.pidPath, { force: true });
  }

  async health(releaseDir: string, timeoutS: number, holdS = 0): Promise<HealthResult> {
    const h = await releaseHealth(this.layout, releaseDir, timeoutS, holdS);
    if (h.ok) return h;
    // What the process said, for the engineer reading the failure (as the journal is for systemd).
    const pid = await this.running();
    const log = tail(await readFile(this.logPath, "utf8").catch(() => ""), 10);
    return { ok: false, reason: `${h.reason}\nthe payload is ${pid ? `running (pid ${pid})` : "not running"}${log ? `; last lines of ${this.logPath}:\n${log}` : ""}` };
  }
}
