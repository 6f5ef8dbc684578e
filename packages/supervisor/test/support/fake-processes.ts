// Service processes for the supervisor's tests: launched by a fake launcher,
// killed or crashed by the test, never a real process.
import type { LaunchedProcess, ProcessExit, ProcessLauncher } from "../../src/process-table.js";

export class FakeProcess implements LaunchedProcess {
  readonly signals: string[] = [];
  readonly exited: Promise<ProcessExit>;
  dead = false;
  /** Stops sending heartbeats (hung) while still alive. */
  hung = false;
  private resolveExit!: (e: ProcessExit) => void;

  constructor(
    readonly service: string,
    readonly pid: number,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  kill(signal: "SIGTERM" | "SIGKILL"): void {
    this.signals.push(signal);
    this.exit({ code: null, signal });
  }

  exit(e: ProcessExit = { code: 1, signal: null }): void {
    if (this.dead) return;
    this.dead = true;
    this.resolveExit(e);
  }
}

export class FakeLauncher implements ProcessLauncher {
  readonly launched: FakeProcess[] = [];
  private nextPid = 5000;
  /** Services whose processes die at once (before their first heartbeat). */
  readonly crashing = new Set<string>();

  launch(service: string): LaunchedProcess {
    const p = new FakeProcess(service, this.nextPid++);
    this.launched.push(p);
    if (this.crashing.has(service)) queueMicrotask(() => p.exit({ code: 1, signal: null }));
    return p;
  }

  of(service: string): FakeProcess[] {
    return this.launched.filter((p) => p.service === service);
  }

  live(service: string): FakeProcess | undefined {
    return this.of(service).find((p) => !p.dead);
  }
}
