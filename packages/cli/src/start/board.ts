// The board around the payload computer, as a bench or systemd provides it:
// it powers the supervisor on, and when the supervisor exits without being
// asked to (a crash, a watchdog reset by the HIL, a commanded reset) it cuts
// the rest of the payload's processes (the supervisor's process group) and
// powers it on again, as a reset would. On a board systemd does the same
// (Restart=always, KillMode=control-group).
import { spawn, type ChildProcess } from "node:child_process";

export interface BoardEvents {
  /** The supervisor stopped without being asked; `restartInMs` until it is powered on again. */
  reset(how: string, restartInMs: number): void;
  poweredOn(pid: number, boot: number): void;
  /** Gave up: it kept exiting at once. */
  gaveUp(how: string): void;
}

export interface BoardOptions {
  argv: string[];
  /** Where the payload's output goes: "inherit", or a file descriptor. */
  stdio: "inherit" | number;
  env?: NodeJS.ProcessEnv;
  /** Wall ms between a reset and the next power-on. */
  resetDelayMs?: number;
  /** Resets in a row, each within `quickExitMs` of its power-on, before the board gives up. */
  maxQuickResets?: number;
  quickExitMs?: number;
}

export class Board {
  private child: ChildProcess | undefined;
  private stopping = false;
  private powerOns = 0;
  private quickResets = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;
  resets = 0;

  constructor(
    private readonly options: BoardOptions,
    private readonly events: BoardEvents,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  powerOn(): void {
    if (this.stopping) return;
    const child = spawn(process.execPath, this.options.argv, {
      // Its own process group: a terminal's Ctrl-C reaches the launcher only, which stops the payload in order.
      detached: true,
      stdio: ["ignore", this.options.stdio, this.options.stdio],
      env: this.options.env ?? process.env,
    });
    this.child = child;
    this.powerOns++;
    const bornAt = Date.now();
    this.events.poweredOn(child.pid ?? -1, this.powerOns);
    child.once("exit", (code, signal) => {
      const pgid = child.pid;
      // Whatever the supervisor left behind is cut with it, as a reset would.
      if (pgid) killGroup(pgid, "SIGKILL");
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      const how = signal ? `supervisor killed by ${signal}` : code === 75 ? "reset by command" : `supervisor exited with code ${code}`;
      this.resets++;
      this.quickResets = Date.now() - bornAt < (this.options.quickExitMs ?? 5000) ? this.quickResets + 1 : 0;
      if (this.quickResets >= (this.options.maxQuickResets ?? 5)) {
        this.events.gaveUp(how);
        return;
      }
      const delay = this.options.resetDelayMs ?? 1000;
      this.events.reset(how, delay);
      this.timer = setTimeout(() => this.powerOn(), delay);
    });
  }

  /** Asks the supervisor to stop the payload (SIGTERM), waits up to `timeoutMs`, then cuts it. */
  stop(timeoutMs = 60_000): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      clearTimeout(this.timer);
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const cut = setTimeout(() => child.pid && killGroup(child.pid, "SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(cut);
    })();
    return this.stopped;
  }

  /** Last resort if the launcher dies: take the payload with it. */
  kill(): void {
    this.stopping = true;
    clearTimeout(this.timer);
    if (this.child?.pid) killGroup(this.child.pid, "SIGKILL");
  }
}

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    try {
      process.kill(pgid, signal);
    } catch {
      // already gone
    }
  }
}
