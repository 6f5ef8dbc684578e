import { afterEach, describe, expect, it } from "vitest";
import { SimClock } from "@umbra/core";
import { ProcessTable, type LaunchedProcess, type ProcessExit, type ProcessLauncher, type SupervisedService } from "../src/process-table.js";

/** A fake process: the test decides when it exits; kill signals are recorded. */
class FakeProcess implements LaunchedProcess {
  readonly signals: string[] = [];
  readonly exited: Promise<ProcessExit>;
  exitedAlready = false;
  private resolveExit!: (e: ProcessExit) => void;

  constructor(
    readonly service: string,
    readonly pid: number,
    /** How the process reacts to signals: exit on them, or ignore them (hung, or stuck in the kernel). */
    public onSignal: { SIGTERM: boolean; SIGKILL: boolean } = { SIGTERM: true, SIGKILL: true },
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  kill(signal: "SIGTERM" | "SIGKILL"): void {
    this.signals.push(signal);
    if (this.onSignal[signal]) this.exit({ code: null, signal });
  }

  exit(e: ProcessExit = { code: 1, signal: null }): void {
    if (this.exitedAlready) return;
    this.exitedAlready = true;
    this.resolveExit(e);
  }
}

class FakeLauncher implements ProcessLauncher {
  readonly launched: FakeProcess[] = [];
  /** Services whose launch throws. */
  readonly broken = new Set<string>();
  /** How new processes react to signals. */
  onSignal = { SIGTERM: true, SIGKILL: true };
  private nextPid = 1000;

  launch(service: string): LaunchedProcess {
    if (this.broken.has(service)) throw new Error(`${service}: main.js is missing`);
    const p = new FakeProcess(service, this.nextPid++, { ...this.onSignal });
    this.launched.push(p);
    return p;
  }

  of(service: string): FakeProcess[] {
    return this.launched.filter((p) => p.service === service);
  }

  last(service: string): FakeProcess {
    const all = this.of(service);
    if (!all.length) throw new Error(`${service} never launched`);
    return all[all.length - 1]!;
  }
}

const SPEC = (name: string, over: Partial<SupervisedService> = {}): SupervisedService => ({
  name,
  heartbeatTimeoutS: 5,
  startTimeoutS: 10,
  stopTimeoutS: 3,
  restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 4, windowS: 300 },
  ...over,
});

type Ev = [string, ...unknown[]];

function setup(services: SupervisedService[] = [SPEC("ttc"), SPEC("thermal"), SPEC("jobs")]) {
  const clock = new SimClock();
  const launcher = new FakeLauncher();
  const events: Ev[] = [];
  const table = new ProcessTable(services, launcher, clock, {
    started: (s, pid, restart) => events.push(["started", s, pid, restart]),
    running: (s, pid) => events.push(["running", s, pid]),
    failed: (s, reason, delayMs, recent) => events.push(["failed", s, reason, delayMs, recent]),
    gaveUp: (s, reason, recent) => events.push(["gaveUp", s, reason, recent]),
    warn: (s, message) => events.push(["warn", s, message]),
  });
  tables.push(table);
  /** Lets promise callbacks (exits) run. */
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const only = (kind: string) => events.filter((e) => e[0] === kind);
  const snap = (name: string) => table.snapshot().find((s) => s.name === name)!;
  /** Starts a service and gives it its first heartbeat. */
  const run = (name: string) => {
    table.start(name);
    table.heartbeat(name, launcher.last(name).pid);
  };
  /** Heartbeats every second for `seconds`. */
  const beat = async (name: string, seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      await clock.advance(1000);
      table.heartbeat(name, launcher.last(name).pid);
    }
  };
  return { clock, launcher, events, table, flush, only, snap, run, beat };
}

const tables: ProcessTable[] = [];
afterEach(() => {
  for (const t of tables.splice(0)) t.close();
});

describe("ProcessTable: starting", () => {
  it("start -> starting -> running on the first heartbeat with the process's pid", async () => {
    const { table, launcher, events, snap } = setup();
    expect(table.state("ttc")).toBe("stopped");
    table.start("ttc");
    const p = launcher.last("ttc");
    expect(table.state("ttc")).toBe("starting");
    expect(snap("ttc")).toMatchObject({ state: "starting", pid: p.pid, restarts: 0, lastHeartbeatMs: 0 });
    table.heartbeat("ttc", p.pid);
    expect(table.state("ttc")).toBe("running");
    expect(events).toEqual([
      ["started", "ttc", p.pid, false],
      ["running", "ttc", p.pid],
    ]);
  });

  it("a heartbeat with another pid (or an unknown service) changes nothing", async () => {
    const { table, launcher, events } = setup();
    table.start("ttc");
    table.heartbeat("ttc", launcher.last("ttc").pid + 1);
    table.heartbeat("nosuch", 1);
    expect(table.state("ttc")).toBe("starting");
    expect(events.filter((e) => e[0] === "running")).toEqual([]);
  });

  it("start is a no-op while starting or running", () => {
    const { table, launcher, run } = setup();
    run("ttc");
    table.start("ttc");
    table.start("thermal");
    table.start("thermal");
    expect(launcher.launched.map((p) => p.service)).toEqual(["ttc", "thermal"]);
  });

  it("an unknown service name throws", () => {
    const { table } = setup();
    expect(() => table.start("nosuch")).toThrow(/no such service: nosuch/);
    expect(table.names()).toEqual(["ttc", "thermal", "jobs"]);
  });

  it("waitRunning resolves on the first heartbeat and rejects on timeout or failure", async () => {
    const { table, launcher, clock } = setup([SPEC("ttc"), SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 1, windowS: 300 } })]);
    table.start("ttc");
    const waiting = table.waitRunning("ttc", 2000);
    await clock.advance(100);
    table.heartbeat("ttc", launcher.last("ttc").pid);
    await clock.advance(100);
    await expect(waiting).resolves.toBeUndefined();

    table.start("jobs");
    const late = table.waitRunning("jobs", 500);
    late.catch(() => undefined);
    await clock.advance(600);
    await expect(late).rejects.toThrow(/jobs did not report within 500 ms \(state starting\)/);

    const failing = table.waitRunning("jobs", 60_000);
    failing.catch(() => undefined);
    launcher.last("jobs").exit({ code: 3, signal: null });
    await clock.advance(100);
    await expect(failing).rejects.toThrow(/jobs is failed: exited with code 3/);
  });
});

describe("ProcessTable: failures", () => {
  it("no heartbeat within startTimeoutS: SIGKILL, backoff, then a restart after the delay", async () => {
    const { table, launcher, clock, only, snap, flush } = setup();
    table.start("ttc");
    const p = launcher.last("ttc");
    await clock.advance(10_000);
    expect(table.state("ttc")).toBe("starting");
    await clock.advance(250);
    expect(p.signals).toEqual(["SIGKILL"]);
    expect(table.state("ttc")).toBe("backoff");
    expect(only("failed")).toEqual([["failed", "ttc", "no heartbeat within 10 s of start", 1000, 1]]);
    await flush();
    // Its exit after the write-off is not a second failure.
    expect(snap("ttc")).toMatchObject({ state: "backoff", recentFailures: 1, lastFailure: "no heartbeat within 10 s of start", nextStartMs: 10_250 + 1000, pid: 0 });
    await clock.advance(999);
    expect(launcher.of("ttc")).toHaveLength(1);
    await clock.advance(1);
    await flush();
    expect(launcher.of("ttc")).toHaveLength(2);
    expect(table.state("ttc")).toBe("starting");
    expect(snap("ttc").restarts).toBe(1);
    expect(only("started").at(-1)).toEqual(["started", "ttc", launcher.last("ttc").pid, true]);
  });

  it("a hang (no heartbeat for heartbeatTimeoutS): SIGKILL, backoff, and the successor only once the old process has exited", async () => {
    const { table, launcher, clock, only, run, beat, flush } = setup();
    run("ttc");
    await beat("ttc", 3);
    const hung = launcher.last("ttc");
    hung.onSignal = { SIGTERM: false, SIGKILL: false }; // stuck: even SIGKILL takes a while
    await clock.advance(5_000);
    expect(table.state("ttc")).toBe("running");
    await clock.advance(250);
    expect(hung.signals).toEqual(["SIGKILL"]);
    expect(table.state("ttc")).toBe("backoff");
    expect(only("failed")).toHaveLength(1);
    expect(only("failed")[0]![2]).toMatch(/^hung: no heartbeat for 5\.\d s$/);
    // The delay passes but the old process is still there: no second process yet.
    await clock.advance(5_000);
    await flush();
    expect(launcher.of("ttc")).toHaveLength(1);
    // A late heartbeat from it does not bring it back.
    table.heartbeat("ttc", hung.pid);
    expect(table.state("ttc")).toBe("backoff");
    hung.exit({ code: null, signal: "SIGKILL" });
    await flush();
    expect(launcher.of("ttc")).toHaveLength(2);
    expect(table.state("ttc")).toBe("starting");
    expect(only("failed")).toHaveLength(1);
    // The old pid's heartbeats are ignored for the new process.
    table.heartbeat("ttc", hung.pid);
    expect(table.state("ttc")).toBe("starting");
  });

  it("crashes: backoff with growing delays, then failed after maxFailures (gaveUp)", async () => {
    const { table, launcher, clock, only, snap, run, flush } = setup();
    run("jobs");
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      launcher.last("jobs").exit({ code: 1, signal: null });
      await flush();
      expect(table.state("jobs")).toBe("backoff");
      const d = only("failed").at(-1)![3] as number;
      delays.push(d);
      await clock.advance(d);
      await flush();
      expect(table.state("jobs")).toBe("starting");
      table.heartbeat("jobs", launcher.last("jobs").pid);
    }
    expect(delays).toEqual([1000, 2000, 4000]);
    launcher.last("jobs").exit({ code: null, signal: "SIGSEGV" });
    await flush();
    expect(table.state("jobs")).toBe("failed");
    expect(only("gaveUp")).toEqual([["gaveUp", "jobs", "exited on SIGSEGV", 4]]);
    expect(snap("jobs")).toMatchObject({ state: "failed", restarts: 3, recentFailures: 4, lastFailure: "exited on SIGSEGV", pid: 0 });
    await clock.advance(60_000);
    await flush();
    expect(launcher.of("jobs")).toHaveLength(4);
  });

  it("failures spread beyond the window never give up", async () => {
    const { table, launcher, clock, only, run, flush } = setup([SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 2, windowS: 10 } })]);
    run("jobs");
    for (let i = 0; i < 4; i++) {
      launcher.last("jobs").exit();
      await flush();
      await clock.advance(1000);
      await flush();
      table.heartbeat("jobs", launcher.last("jobs").pid);
      // Keep it healthy for longer than the window.
      for (let s = 0; s < 11; s++) {
        await clock.advance(1000);
        table.heartbeat("jobs", launcher.last("jobs").pid);
      }
    }
    expect(only("gaveUp")).toEqual([]);
    expect(only("failed").map((e) => e[3])).toEqual([1000, 1000, 1000, 1000]);
    expect(table.state("jobs")).toBe("running");
  });

  it("a launcher that throws counts as a failure, is retried after the backoff and given up on", async () => {
    const { table, launcher, clock, only, flush } = setup([SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 3, windowS: 300 } })]);
    launcher.broken.add("jobs");
    table.start("jobs");
    expect(table.state("jobs")).toBe("backoff");
    expect(only("warn")).toEqual([["warn", "jobs", "could not be started: jobs: main.js is missing"]]);
    expect(only("failed")).toEqual([["failed", "jobs", "could not be started: jobs: main.js is missing", 1000, 1]]);
    await clock.advance(1000);
    await flush();
    expect(only("failed")).toHaveLength(2);
    await clock.advance(2000);
    await flush();
    expect(table.state("jobs")).toBe("failed");
    expect(only("gaveUp")).toHaveLength(1);
    // Fixed and started again by hand: a fresh start.
    launcher.broken.clear();
    table.start("jobs");
    expect(table.state("jobs")).toBe("starting");
    expect(table.snapshot()[0]!.recentFailures).toBe(0);
  });

  it("a launcher that recovers: the next attempt starts the process", async () => {
    const { table, launcher, clock, flush, snap } = setup();
    launcher.broken.add("jobs");
    table.start("jobs");
    launcher.broken.clear();
    await clock.advance(1000);
    await flush();
    expect(table.state("jobs")).toBe("starting");
    table.heartbeat("jobs", launcher.last("jobs").pid);
    expect(snap("jobs")).toMatchObject({ state: "running", recentFailures: 1, restarts: 0 });
  });

  it("a rejected exited promise counts as a crash", async () => {
    const clock = new SimClock();
    const launcher: ProcessLauncher = { launch: () => ({ pid: 7, kill: () => undefined, exited: Promise.reject(new Error("lost")) }) };
    const t = new ProcessTable([SPEC("jobs")], launcher, clock);
    tables.push(t);
    t.start("jobs");
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    expect(t.state("jobs")).toBe("backoff");
    expect(t.snapshot()[0]!.lastFailure).toBe("exited with code null");
  });

  it("an exit after a write-off that gave up is not counted again", async () => {
    const { table, launcher, clock, only, snap, flush } = setup([SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 1, windowS: 300 } })]);
    launcher.onSignal = { SIGTERM: false, SIGKILL: false };
    table.start("jobs");
    await clock.advance(10_250);
    expect(table.state("jobs")).toBe("failed");
    launcher.last("jobs").exit({ code: null, signal: "SIGKILL" });
    await flush();
    expect(snap("jobs")).toMatchObject({ state: "failed", recentFailures: 1, lastFailure: "no heartbeat within 10 s of start" });
    expect(only("gaveUp")).toHaveLength(1);
    expect(only("failed")).toHaveLength(0);
  });
});

describe("ProcessTable: stopping", () => {
  it("stop(): SIGTERM, and a process that exits on it gets no SIGKILL", async () => {
    const { table, launcher, clock, only, snap, run } = setup();
    run("jobs");
    const p = launcher.last("jobs");
    await table.stop("jobs");
    expect(p.signals).toEqual(["SIGTERM"]);
    expect(table.state("jobs")).toBe("stopped");
    await clock.advance(10_000);
    expect(p.signals).toEqual(["SIGTERM"]);
    expect(only("failed")).toEqual([]);
    expect(snap("jobs").recentFailures).toBe(0);
  });

  it("stop(): SIGKILL after stopTimeoutS when SIGTERM is ignored; not a failure", async () => {
    const { table, launcher, clock, only, run, flush } = setup();
    run("jobs");
    const p = launcher.last("jobs");
    p.onSignal = { SIGTERM: false, SIGKILL: true };
    let stopped = false;
    const stopping = table.stop("jobs").then(() => (stopped = true));
    expect(table.state("jobs")).toBe("stopping");
    expect(table.snapshot().find((s) => s.name === "jobs")!.pid).toBe(p.pid);
    await clock.advance(2_999);
    expect(p.signals).toEqual(["SIGTERM"]);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await flush();
    await stopping;
    expect(p.signals).toEqual(["SIGTERM", "SIGKILL"]);
    expect(only("warn")).toEqual([["warn", "jobs", "did not stop within 3 s of SIGTERM; killed"]]);
    expect(table.state("jobs")).toBe("stopped");
    expect(only("failed")).toEqual([]);
  });

  it("a stopping process is not written off as hung", async () => {
    const { table, launcher, clock, only, run } = setup([SPEC("jobs", { stopTimeoutS: 60 })]);
    run("jobs");
    launcher.last("jobs").onSignal = { SIGTERM: false, SIGKILL: true };
    const stopping = table.stop("jobs");
    await clock.advance(30_000);
    expect(table.state("jobs")).toBe("stopping");
    expect(only("failed")).toEqual([]);
    await clock.advance(30_000);
    await stopping;
    expect(table.state("jobs")).toBe("stopped");
  });

  it("stop during backoff cancels the restart", async () => {
    const { table, launcher, clock, run, flush } = setup();
    run("jobs");
    launcher.last("jobs").exit();
    await flush();
    expect(table.state("jobs")).toBe("backoff");
    await table.stop("jobs");
    expect(table.state("jobs")).toBe("stopped");
    await clock.advance(60_000);
    await flush();
    expect(launcher.of("jobs")).toHaveLength(1);
  });

  it("stop while the backoff timer waits for a hung process to exit: no restart", async () => {
    const { table, launcher, clock, run, flush } = setup();
    run("jobs");
    const p = launcher.last("jobs");
    p.onSignal = { SIGTERM: false, SIGKILL: false };
    await clock.advance(5_250); // hung: written off
    await clock.advance(1_000); // backoff over; waiting for the exit
    expect(table.state("jobs")).toBe("backoff");
    let stopped = false;
    const stopping = table.stop("jobs").then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false); // waits for the old process
    p.exit({ code: null, signal: "SIGKILL" });
    await stopping;
    await flush();
    expect(table.state("jobs")).toBe("stopped");
    expect(launcher.of("jobs")).toHaveLength(1);
  });

  it("stop of a stopped or failed service is a no-op (failed stays failed)", async () => {
    const { table, launcher, flush } = setup([SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 1, windowS: 300 } })]);
    await table.stop("jobs");
    expect(table.state("jobs")).toBe("stopped");
    table.start("jobs");
    launcher.last("jobs").exit();
    await flush();
    expect(table.state("jobs")).toBe("failed");
    await table.stop("jobs");
    expect(table.state("jobs")).toBe("failed");
  });

  it("stopAll stops in the reverse of the order given, each after the one before has exited", async () => {
    const { table, launcher, run } = setup();
    run("ttc");
    run("thermal");
    run("jobs");
    const order: string[] = [];
    for (const p of launcher.launched) {
      const kill = p.kill.bind(p);
      p.onSignal = { SIGTERM: false, SIGKILL: true };
      p.kill = (sig) => {
        order.push(`${p.service}:${sig}`);
        kill(sig);
        // Exits on SIGTERM only once the one stopped before it has exited.
        if (sig === "SIGTERM") setImmediate(() => p.exit({ code: 0, signal: null }));
      };
    }
    await table.stopAll(["ttc", "thermal", "jobs", "nosuch"]);
    expect(order).toEqual(["jobs:SIGTERM", "thermal:SIGTERM", "ttc:SIGTERM"]);
    expect(table.names().map((n) => table.state(n))).toEqual(["stopped", "stopped", "stopped"]);
  });
});

describe("ProcessTable: commanded restarts", () => {
  it("restart() stops the process, forgets its failures and starts a new one", async () => {
    const { table, launcher, clock, snap, run, flush } = setup();
    run("jobs");
    for (let i = 0; i < 2; i++) {
      launcher.last("jobs").exit();
      await flush();
      await clock.advance(10_000);
      await flush();
      table.heartbeat("jobs", launcher.last("jobs").pid);
    }
    expect(snap("jobs").recentFailures).toBe(2);
    const old = launcher.last("jobs");
    await table.restart("jobs");
    expect(old.signals).toEqual(["SIGTERM"]);
    expect(launcher.of("jobs")).toHaveLength(4);
    expect(snap("jobs")).toMatchObject({ state: "starting", recentFailures: 0, restarts: 3 });
  });

  it("restart() of a failed service starts it again", async () => {
    const { table, launcher, run, flush } = setup([SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 1, windowS: 300 } })]);
    run("jobs");
    launcher.last("jobs").exit();
    await flush();
    expect(table.state("jobs")).toBe("failed");
    await table.restart("jobs");
    expect(table.state("jobs")).toBe("starting");
  });

  it("restart() during backoff does not leave a second restart pending", async () => {
    const { table, launcher, clock, run, flush } = setup([SPEC("jobs", { startTimeoutS: 1000 })]);
    run("jobs");
    launcher.last("jobs").exit();
    await flush();
    await table.restart("jobs");
    expect(launcher.of("jobs")).toHaveLength(2);
    await clock.advance(60_000);
    await flush();
    expect(launcher.of("jobs")).toHaveLength(2);
  });

  it("start() of a service in backoff whose hung process has not exited waits for it", async () => {
    const { table, launcher, clock, run, flush } = setup([SPEC("jobs", { startTimeoutS: 1000 })]);
    run("jobs");
    const hung = launcher.last("jobs");
    hung.onSignal = { SIGTERM: false, SIGKILL: false };
    await clock.advance(5_250);
    expect(table.state("jobs")).toBe("backoff");
    table.start("jobs");
    await flush();
    expect(launcher.of("jobs")).toHaveLength(1);
    hung.exit({ code: null, signal: "SIGKILL" });
    await flush();
    expect(launcher.of("jobs")).toHaveLength(2);
    expect(table.state("jobs")).toBe("starting");
    await clock.advance(60_000);
    await flush();
    expect(launcher.of("jobs")).toHaveLength(2);
  });

  it("start() of a failed service whose hung process has not exited waits for it", async () => {
    const { table, launcher, clock, run, flush } = setup([SPEC("jobs", { restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 8, maxFailures: 1, windowS: 300 } })]);
    run("jobs");
    const hung = launcher.last("jobs");
    hung.onSignal = { SIGTERM: false, SIGKILL: false };
    await clock.advance(5_250);
    expect(table.state("jobs")).toBe("failed");
    table.start("jobs");
    await flush();
    expect(launcher.of("jobs")).toHaveLength(1);
    hung.exit({ code: null, signal: "SIGKILL" });
    await flush();
    expect(launcher.of("jobs")).toHaveLength(2);
    expect(table.snapshot()[0]).toMatchObject({ state: "starting", recentFailures: 0 });
  });

  it("close() stops the checks and pending restarts", async () => {
    const { table, launcher, clock, run, flush } = setup();
    run("jobs");
    launcher.last("jobs").exit();
    await flush();
    table.close();
    await clock.advance(60_000);
    await flush();
    expect(launcher.of("jobs")).toHaveLength(1);
    table.start("ttc");
    expect(launcher.of("ttc")).toHaveLength(0);
  });
});
