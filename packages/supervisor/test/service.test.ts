import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Bus, SimClock, fromValueMessage, sendCommand, silentLogger, toValueMessage } from "@umbra/core";
import type { PowerPort, PowerReadings, WatchdogBootStatus, WatchdogPort, WatchdogStatus } from "@umbra/platform";
import { umbra, type GeneratedMessageClass, type InitOf, type MessageOf } from "@umbra/proto";
import { BootRecord, type BootInfo } from "../src/boot-record.js";
import { ProcessTable, type SupervisedService } from "../src/process-table.js";
import { FakeLauncher } from "./support/fake-processes.js";
import { SupervisorService, type SupervisorSettings } from "../src/service.js";

const { CommandStatus } = umbra.core.v1;
const { PayloadMode, ProcessState, ResetReason } = umbra.supervisor.v1;

// ---- a simulated world of service processes -----------------------------------

class FakeWatchdog implements WatchdogPort {
  armedWith: number[] = [];
  kicks: number[] = [];
  disarms = 0;
  private armed = false;
  failArm = false;
  constructor(private readonly clock: SimClock) {}
  async bootStatus(): Promise<WatchdogBootStatus> {
    return {};
  }
  async arm(timeoutS: number): Promise<void> {
    if (this.failArm) throw new Error("/dev/watchdog: permission denied");
    this.armed = true;
    this.armedWith.push(timeoutS);
  }
  async kick(): Promise<void> {
    this.kicks.push(this.clock.monotonicMs());
  }
  async disarm(): Promise<void> {
    this.armed = false;
    this.disarms++;
  }
  status(): WatchdogStatus {
    return { armed: this.armed, timeoutS: this.armedWith.at(-1) ?? 0 };
  }
}

class FakePower implements PowerPort {
  soc = 80;
  async read(): Promise<PowerReadings> {
    return { busVoltageV: 28, busCurrentA: 1.2, inputPowerW: 60, batterySocPct: this.soc };
  }
}

const NAMES = ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway", "counter"];
const SPECS: SupervisedService[] = NAMES.map((name) => ({
  name,
  heartbeatTimeoutS: 5,
  startTimeoutS: 30,
  stopTimeoutS: 10,
  restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 30, maxFailures: 3, windowS: 300 },
}));
const SETTINGS: SupervisorSettings = {
  services: NAMES.map((name) => ({ name, enabled: name !== "counter" })),
  safeKeep: ["ttc", "thermal", "gateway"],
  minBatterySocPct: 15,
  onThermalEmergency: true,
  watchdog: { enabled: true, timeoutS: 120, kickIntervalS: 10 },
  stableAfterS: 300,
  ttcStartWaitMs: 30_000,
};
const NON_KEEP = ["scrubber", "inference", "jobs"];
const KEEP = ["ttc", "thermal", "gateway"];

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "umbra-supervisor-"));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

interface World {
  clock: SimClock;
  bus: Bus;
  launcher: FakeLauncher;
  table: ProcessTable;
  record: BootRecord;
  boot: BootInfo;
  service: SupervisorService;
  watchdog: FakeWatchdog;
  power: FakePower;
  resets: number[];
  events: MessageOf<typeof umbra.core.v1.Event>[];
  statuses: MessageOf<typeof umbra.supervisor.v1.SupervisorStatus>[];
  advance(ms: number): Promise<void>;
  settle(): Promise<void>;
  command<C extends GeneratedMessageClass>(type: C, args: InitOf<C>): Promise<MessageOf<typeof umbra.core.v1.CommandResult>>;
  publish<C extends GeneratedMessageClass>(type: C, value: InitOf<C>): Promise<void>;
  eventNames(): string[];
  state(name: string): string;
  /** Starts the service and runs simulated time until its start() has returned. */
  started: Promise<void>;
}

interface WorldOptions {
  settings?: Partial<SupervisorSettings>;
  /** Processes send heartbeats every second (default true). */
  heartbeats?: boolean;
  boot?: BootInfo;
  withWatchdog?: boolean;
  withPower?: boolean;
  watchdogFailsToArm?: boolean;
  /** Do not wait for start() to finish. */
  noWait?: boolean;
}

async function makeWorld(options: WorldOptions = {}): Promise<World> {
  const clock = new SimClock();
  const bus = new Bus({ node: "supervisor", clock, logger: silentLogger(), queueCapacity: 100_000 });
  const record = new BootRecord(join(dir, "supervisor.db"));
  const boot = options.boot ?? record.begin(clock.nowTaiNs(), {}, 3);
  const launcher = new FakeLauncher();
  const watchdog = new FakeWatchdog(clock);
  watchdog.failArm = options.watchdogFailsToArm ?? false;
  const power = new FakePower();
  const resets: number[] = [];
  const events: MessageOf<typeof umbra.core.v1.Event>[] = [];
  const statuses: MessageOf<typeof umbra.supervisor.v1.SupervisorStatus>[] = [];
  bus.subscribe(umbra.core.v1.Event, (e) => void events.push(e));
  bus.subscribe(umbra.supervisor.v1.SupervisorStatus, (s) => void statuses.push(s));
  let service: SupervisorService | undefined;
  const table = new ProcessTable(SPECS, launcher, clock, {
    running: (name) => service?.onServiceRunning(name, table.snapshot().find((s) => s.name === name)!.restarts > 0),
    failed: (name, reason, delayMs, recent) => service?.onServiceFailed(name, reason, delayMs, recent),
    gaveUp: (name, reason, recent) => service?.onServiceGaveUp(name, reason, recent),
  });
  // Every live, not hung process says it is alive once a second, as Service does.
  const beater =
    options.heartbeats === false
      ? undefined
      : clock.setInterval(() => {
          for (const p of launcher.launched) {
            if (!p.dead && !p.hung) bus.publish(umbra.core.v1.Heartbeat, { service: p.service, pid: p.pid, host: hostname(), counter: 1n });
          }
        }, 1000);
  service = new SupervisorService(
    { bus, clock, logger: silentLogger() },
    {
      table,
      record,
      boot,
      settings: { ...SETTINGS, ...options.settings },
      ...(options.withWatchdog === false ? {} : { watchdog }),
      ...(options.withPower === false ? {} : { power }),
      onResetRequested: () => resets.push(clock.monotonicMs()),
    },
  );
  const svc = service;
  cleanups.push(async () => {
    beater?.cancel();
    table.close();
    await svc.stop().catch(() => undefined);
    bus.close();
    record.close();
  });
  const settle = async () => {
    await bus.idle();
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
    await bus.idle();
  };
  const advance = async (ms: number) => {
    // In steps, so heartbeats, exits and checks interleave as they would.
    let left = ms;
    while (left > 0) {
      const step = Math.min(left, 250);
      await clock.advance(step);
      await settle();
      left -= step;
    }
  };
  const started = svc.start();
  started.catch(() => undefined);
  if (!options.noWait) {
    let done = false;
    void started.then(() => (done = true), () => (done = true));
    for (let i = 0; i < 1000 && !done; i++) await advance(100);
    await started;
    await settle();
  }
  return {
    clock,
    bus,
    launcher,
    table,
    record,
    boot,
    service: svc,
    watchdog,
    power,
    resets,
    events,
    statuses,
    advance,
    settle,
    started,
    async command(type, args) {
      const reply = sendCommand(bus, "supervisor", type, args, { timeoutMs: 60_000 });
      let done = false;
      void reply.then(() => (done = true), () => (done = true));
      // Commands that stop processes wait on them: let time run until it answers.
      for (let i = 0; i < 400 && !done; i++) await advance(50);
      return reply;
    },
    async publish(type, value) {
      bus.publish(type, value);
      await settle();
    },
    eventNames: () => events.map((e) => e.name),
    state: (name) => table.state(name),
  };
}

// ---- the tests ------------------------------------------------------------------

describe("SupervisorService: boot", () => {
  it("publishes the boot event with the boot number and reset reason", async () => {
    const w = await makeWorld();
    const boot = w.events.find((e) => e.name === "boot")!;
    expect(boot.message).toBe("boot 1: reset reason power-on, mode nominal");
    expect(boot.args).toMatchObject({ boot: "1", reason: "power-on", mode: "nominal" });
    expect(w.eventNames()).not.toContain("bootLoop");
  });

  it("a boot loop boot raises bootLoop and starts in safe mode: only what safe mode keeps", async () => {
    const boot: BootInfo = { boot: 9, reason: "crash", unstableBefore: 3, bootLoop: true, mode: "safe", safeReason: "boot loop: 3 boots in a row reset before they became stable" };
    const w = await makeWorld({ boot });
    expect(w.events.find((e) => e.name === "bootLoop")!.message).toMatch(/boot loop: 3 boots/);
    expect(w.service.mode).toEqual({ mode: "safe", reason: boot.safeReason });
    expect([...new Set(w.launcher.launched.map((p) => p.service))]).toEqual(KEEP);
  });

  it("starts the TTC first and the others only once it runs, in order; a disabled service not at all", async () => {
    const w = await makeWorld({ noWait: true });
    await w.settle();
    expect(w.launcher.launched.map((p) => p.service)).toEqual(["ttc"]);
    await w.advance(900);
    expect(w.launcher.launched.map((p) => p.service)).toEqual(["ttc"]);
    await w.advance(200); // first heartbeat at 1 s, then the 50 ms poll
    await w.started;
    expect(w.launcher.launched.map((p) => p.service)).toEqual(["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"]);
    await w.advance(1000);
    for (const n of ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"]) expect(w.state(n)).toBe("running");
    expect(w.state("counter")).toBe("stopped");
  });

  it("a TTC that never reports holds the others back only for ttcStartWaitMs", async () => {
    const w = await makeWorld({ noWait: true, heartbeats: false, settings: { ttcStartWaitMs: 2000 } });
    await w.advance(1900);
    expect(w.launcher.launched.map((p) => p.service)).toEqual(["ttc"]);
    await w.advance(200);
    await w.started;
    expect(w.launcher.launched.map((p) => p.service)).toEqual(["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"]);
  });

  it("heartbeats from another host are ignored", async () => {
    const w = await makeWorld({ noWait: true, heartbeats: false, settings: { ttcStartWaitMs: 60_000 } });
    await w.settle();
    const ttc = w.launcher.of("ttc")[0]!;
    await w.publish(umbra.core.v1.Heartbeat, { service: "ttc", pid: ttc.pid, host: "some-other-board" });
    await w.advance(100);
    expect(w.state("ttc")).toBe("starting");
    await w.publish(umbra.core.v1.Heartbeat, { service: "ttc", pid: ttc.pid, host: hostname() });
    expect(w.state("ttc")).toBe("running");
  });

  it("marks the boot stable after stableAfterS", async () => {
    const w = await makeWorld({ settings: { stableAfterS: 60 } });
    expect(w.record.history()[0]!.stable).toBe(false);
    await w.advance(60_000);
    expect(w.record.history()[0]!.stable).toBe(true);
    expect(w.eventNames()).toContain("bootStable");
  });
});

describe("SupervisorService: safe mode by command", () => {
  it("enterSafeMode stops the non-keep services (jobs first) and keeps ttc, thermal and gateway", async () => {
    const w = await makeWorld();
    await w.advance(2000);
    const r = await w.command(umbra.supervisor.v1.EnterSafeMode, { reason: "operator test" });
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r.message).toBe("safe mode");
    expect(w.service.mode).toEqual({ mode: "safe", reason: "by command: operator test" });
    for (const n of NON_KEEP) expect(w.state(n)).toBe("stopped");
    for (const n of NON_KEEP) expect(w.launcher.of(n)[0]!.signals).toEqual(["SIGTERM"]);
    for (const n of KEEP) expect(w.state(n)).toBe("running");
    for (const n of KEEP) expect(w.launcher.of(n)[0]!.signals).toEqual([]);
    const entered = w.events.filter((e) => e.name === "safeModeEntered");
    expect(entered.map((e) => e.args["reason"])).toEqual(["by command: operator test"]);
    // Persisted: the next boot comes up in safe mode.
    const next = new BootRecord(join(dir, "supervisor.db"));
    cleanups.push(() => next.close());
    expect(next.begin(0n, {}, 3)).toMatchObject({ mode: "safe", safeReason: "by command: operator test" });
    // Stopped on purpose: no restarts come after.
    await w.advance(60_000);
    for (const n of NON_KEEP) expect(w.launcher.of(n)).toHaveLength(1);
    // Telemetry and status say so.
    expect(w.statuses.at(-1)!.mode).toBe(PayloadMode.PAYLOAD_MODE_SAFE);
    expect(w.statuses.at(-1)!.safeModeReason).toBe("by command: operator test");
  });

  it("enterSafeMode when already safe keeps the first reason", async () => {
    const w = await makeWorld();
    await w.command(umbra.supervisor.v1.EnterSafeMode, { reason: "first" });
    const r = await w.command(umbra.supervisor.v1.EnterSafeMode, { reason: "second" });
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r.message).toBe("already in safe mode (by command: first)");
    expect(w.service.mode.reason).toBe("by command: first");
  });

  it("leaveSafeMode is refused when not in safe mode", async () => {
    const w = await makeWorld();
    const r = await w.command(umbra.supervisor.v1.LeaveSafeMode, {});
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION);
    expect(r.message).toBe("not in safe mode");
  });

  it("leaveSafeMode (sent over the bus as the TTC does once the critical command is armed) starts the stopped services again", async () => {
    const w = await makeWorld();
    await w.command(umbra.supervisor.v1.EnterSafeMode, { reason: "x" });
    const r = await w.command(umbra.supervisor.v1.LeaveSafeMode, {});
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r.message).toBe("nominal mode; services starting");
    expect(w.service.mode).toEqual({ mode: "nominal", reason: "" });
    for (const n of NON_KEEP) expect(w.launcher.of(n)).toHaveLength(2);
    for (const n of KEEP) expect(w.launcher.of(n)).toHaveLength(1);
    expect(w.launcher.of("counter")).toHaveLength(0);
    await w.advance(2000);
    for (const n of [...KEEP, ...NON_KEEP]) expect(w.state(n)).toBe("running");
    expect(w.eventNames()).toContain("safeModeLeft");
    const next = new BootRecord(join(dir, "supervisor.db"));
    cleanups.push(() => next.close());
    expect(next.begin(0n, {}, 3)).toMatchObject({ mode: "nominal", safeReason: "" });
  });

  it("leaveSafeMode gives a service that failed a fresh start", async () => {
    const w = await makeWorld();
    w.launcher.crashing.add("jobs");
    w.launcher.live("jobs")!.exit();
    await w.advance(10_000);
    expect(w.state("jobs")).toBe("failed");
    expect(w.service.mode.mode).toBe("safe");
    w.launcher.crashing.clear();
    const r = await w.command(umbra.supervisor.v1.LeaveSafeMode, {});
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    await w.advance(2000);
    expect(w.state("jobs")).toBe("running");
    expect(w.table.snapshot().find((s) => s.name === "jobs")!.recentFailures).toBe(0);
  });
});

describe("SupervisorService: automatic safe mode", () => {
  it("a service that gives up puts the payload in safe mode with its reason", async () => {
    const w = await makeWorld();
    w.launcher.crashing.add("inference");
    w.launcher.live("inference")!.exit({ code: 134, signal: null });
    await w.advance(10_000);
    expect(w.state("inference")).toBe("failed");
    expect(w.service.mode.mode).toBe("safe");
    expect(w.service.mode.reason).toBe("inference failed 3 times (last: exited with code 1)");
    expect(w.eventNames().filter((n) => n === "serviceCrashed")).toHaveLength(2);
    expect(w.events.find((e) => e.name === "serviceFailed")!.args).toMatchObject({ service: "inference" });
    expect(w.state("jobs")).toBe("stopped");
    expect(w.state("ttc")).toBe("running");
  });

  it("a hung service raises serviceHung and is restarted", async () => {
    const w = await makeWorld();
    await w.advance(2000);
    expect(w.state("jobs")).toBe("running");
    const hung = w.launcher.live("jobs")!;
    hung.hung = true;
    await w.advance(7000);
    expect(hung.signals).toEqual(["SIGKILL"]);
    expect(w.eventNames()).toContain("serviceHung");
    await w.advance(3000);
    expect(w.state("jobs")).toBe("running");
    expect(w.eventNames()).toContain("serviceRestarted");
    expect(w.service.mode.mode).toBe("nominal");
  });

  it("ThermalEmergency active: safe mode; inactive: nothing", async () => {
    const w = await makeWorld();
    await w.publish(umbra.thermal.v1.ThermalEmergency, { active: false, zone: "soc", celsius: 70 });
    await w.advance(100);
    expect(w.service.mode.mode).toBe("nominal");
    await w.publish(umbra.thermal.v1.ThermalEmergency, { active: true, zone: "soc", celsius: 96.04, reason: "above critical" });
    await w.advance(100);
    expect(w.service.mode).toEqual({ mode: "safe", reason: "thermal emergency: soc at 96.0 °C (above critical)" });
    for (const n of NON_KEEP) expect(w.state(n)).toBe("stopped");
    // It clearing does not leave safe mode.
    await w.publish(umbra.thermal.v1.ThermalEmergency, { active: false, zone: "soc", celsius: 60 });
    await w.advance(100);
    expect(w.service.mode.mode).toBe("safe");
  });

  it("ThermalEmergency is ignored when onThermalEmergency is off", async () => {
    const w = await makeWorld({ settings: { onThermalEmergency: false } });
    await w.publish(umbra.thermal.v1.ThermalEmergency, { active: true, zone: "soc", celsius: 99 });
    await w.advance(100);
    expect(w.service.mode.mode).toBe("nominal");
  });

  it("battery below minBatterySocPct: safe mode; above: nothing", async () => {
    const w = await makeWorld();
    w.power.soc = 15;
    await w.advance(10_000);
    expect(w.service.mode.mode).toBe("nominal");
    w.power.soc = 14.96;
    await w.advance(5_000);
    expect(w.service.mode).toEqual({ mode: "safe", reason: "power emergency: battery at 15.0 % (< 15 %)" });
    for (const n of NON_KEEP) expect(w.state(n)).toBe("stopped");
  });
});

describe("SupervisorService: watchdog", () => {
  it("is armed with its timeout and kicked every kickIntervalS while healthy", async () => {
    const w = await makeWorld();
    expect(w.watchdog.armedWith).toEqual([120]);
    const t0 = w.clock.monotonicMs();
    await w.advance(60_000);
    const kicks = w.watchdog.kicks.filter((t) => t > t0);
    expect(kicks.length).toBeGreaterThanOrEqual(5);
    expect(kicks.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < kicks.length; i++) expect(kicks[i]! - kicks[i - 1]!).toBe(10_000);
    expect(w.statuses.at(-1)!.watchdogArmed).toBe(true);
  });

  it("is not kicked once the TTC has failed; unhealthy is raised", async () => {
    const w = await makeWorld();
    await w.advance(20_000);
    w.launcher.crashing.add("ttc");
    w.launcher.live("ttc")!.exit();
    await w.advance(10_000);
    expect(w.state("ttc")).toBe("failed");
    const before = w.watchdog.kicks.length;
    await w.advance(60_000);
    expect(w.watchdog.kicks.length).toBe(before);
    expect(w.eventNames()).toContain("unhealthy");
    expect(w.service.mode.mode).toBe("safe");
  });

  it("a service safe mode does not keep failing does not stop the kicks", async () => {
    const w = await makeWorld();
    w.launcher.crashing.add("jobs");
    w.launcher.live("jobs")!.exit();
    await w.advance(10_000);
    expect(w.state("jobs")).toBe("failed");
    const before = w.watchdog.kicks.length;
    await w.advance(30_000);
    expect(w.watchdog.kicks.length).toBe(before + 3);
  });

  it("is neither armed nor kicked when disabled", async () => {
    const off = await makeWorld({ settings: { watchdog: { enabled: false, timeoutS: 120, kickIntervalS: 10 } } });
    await off.advance(30_000);
    expect(off.watchdog.armedWith).toEqual([]);
    expect(off.watchdog.kicks).toEqual([]);
  });

  it("a watchdog that cannot be armed raises watchdogFault and is never kicked", async () => {
    const w = await makeWorld({ watchdogFailsToArm: true });
    await w.advance(30_000);
    expect(w.events.find((e) => e.name === "watchdogFault")!.message).toMatch(/permission denied/);
    expect(w.watchdog.kicks).toEqual([]);
  });

  it("stop() stops every service in reverse order and disarms the watchdog", async () => {
    const w = await makeWorld();
    const order: string[] = [];
    for (const p of w.launcher.launched) {
      const kill = p.kill.bind(p);
      p.kill = (sig) => {
        order.push(p.service);
        kill(sig);
      };
    }
    const stopping = w.service.stop();
    for (let i = 0; i < 20; i++) await w.advance(50);
    await stopping;
    expect(order).toEqual(["gateway", "jobs", "inference", "scrubber", "thermal", "ttc"]);
    expect(w.watchdog.disarms).toBe(1);
  });
});

describe("SupervisorService: parameters", () => {
  const report = (service: string, ok = true) => ({
    service,
    ok,
    error: ok ? "" : "nope",
    values: [
      { name: "maxConcurrent", value: toValueMessage("int", 4) },
      { name: "tenant", value: toValueMessage("string", "acme") },
      { name: "throttle", value: toValueMessage("bool", true) },
    ],
  });

  it("a ParameterReport (ok) from a known service is saved in the boot record", async () => {
    const w = await makeWorld();
    await w.publish(umbra.core.v1.ParameterReport, report("jobs"));
    expect(w.record.parameters("jobs")).toEqual({ maxConcurrent: 4, tenant: "acme", throttle: true });
    expect(w.events.filter((e) => e.name === "parameterPersisted").map((e) => e.message)).toEqual([
      'jobs.maxConcurrent = 4 saved',
      'jobs.tenant = "acme" saved',
      "jobs.throttle = true saved",
    ]);
  });

  it("an unknown service's report, a failed report and the supervisor's own are not saved", async () => {
    const w = await makeWorld();
    await w.publish(umbra.core.v1.ParameterReport, report("nosuch"));
    await w.publish(umbra.core.v1.ParameterReport, report("thermal", false));
    await w.publish(umbra.core.v1.ParameterReport, report("supervisor"));
    expect(w.record.parameters("nosuch")).toEqual({});
    expect(w.record.parameters("thermal")).toEqual({});
    expect(w.record.parameters("supervisor")).toEqual({});
    expect(w.eventNames()).not.toContain("parameterPersisted");
  });

  it("a value that is missing or not finite is skipped, the rest saved", async () => {
    const w = await makeWorld();
    await w.publish(umbra.core.v1.ParameterReport, {
      service: "thermal",
      ok: true,
      values: [{ name: "a" }, { name: "b", value: toValueMessage("float", Number.NaN) }, { name: "c", value: toValueMessage("float", 2.5) }],
    });
    expect(w.record.parameters("thermal")).toEqual({ c: 2.5 });
  });
});

describe("SupervisorService: status and commands", () => {
  it("GetSupervisorStatus answers with the mode, boot and every service", async () => {
    const w = await makeWorld();
    await w.advance(2000);
    const s = await w.bus.request(umbra.supervisor.v1.GetSupervisorStatus, {}, umbra.supervisor.v1.SupervisorStatus, { target: "supervisor", timeoutMs: 1000 });
    expect(s.mode).toBe(PayloadMode.PAYLOAD_MODE_NOMINAL);
    expect(s.bootCount).toBe(1);
    expect(s.resetReason).toBe(ResetReason.RESET_REASON_POWER_ON);
    expect(s.watchdogArmed).toBe(true);
    expect(s.services.map((x) => x.name)).toEqual(NAMES);
    const ttc = s.services.find((x) => x.name === "ttc")!;
    expect(ttc.state).toBe(ProcessState.PROCESS_STATE_RUNNING);
    expect(ttc.pid).toBe(w.launcher.of("ttc")[0]!.pid);
    expect(ttc.lastHeartbeatNs).toBeGreaterThan(0n);
    expect(ttc.lastHeartbeatNs).toBeLessThanOrEqual(w.clock.nowTaiNs());
    expect(s.services.find((x) => x.name === "counter")!.state).toBe(ProcessState.PROCESS_STATE_STOPPED);
  });

  it("status shows a service in backoff with its next start time", async () => {
    const w = await makeWorld();
    w.launcher.live("jobs")!.exit();
    await w.settle();
    const s = w.service.status();
    const jobs = s.services.find((x) => x.name === "jobs")!;
    expect(jobs.state).toBe(ProcessState.PROCESS_STATE_BACKOFF);
    expect(jobs.lastFailure).toBe("exited with code 1");
    expect(jobs.recentFailures).toBe(1);
    expect(jobs.nextStartNs - w.clock.nowTaiNs()).toBeGreaterThan(0n);
    expect(jobs.nextStartNs - w.clock.nowTaiNs()).toBeLessThanOrEqual(1_000_000_000n);
  });

  it("restartService restarts a running service with its failures forgotten", async () => {
    const w = await makeWorld();
    const old = w.launcher.live("jobs")!;
    const r = await w.command(umbra.supervisor.v1.RestartService, { service: "jobs" });
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r.message).toBe("jobs restarted");
    expect(old.signals).toEqual(["SIGTERM"]);
    expect(w.launcher.of("jobs")).toHaveLength(2);
  });

  it("restartService rejects an unknown name, the supervisor itself, and a service that does not run in this mode", async () => {
    const w = await makeWorld();
    const unknown = await w.command(umbra.supervisor.v1.RestartService, { service: "nosuch" });
    expect(unknown.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT);
    expect(unknown.message).toBe(`no such service: "nosuch" (known: ${NAMES.join(", ")})`);
    const self = await w.command(umbra.supervisor.v1.RestartService, { service: "supervisor" });
    expect(self.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT);
    expect(self.message).toMatch(/cannot restart itself: use resetPayload/);
    const disabled = await w.command(umbra.supervisor.v1.RestartService, { service: "counter" });
    expect(disabled.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION);
    expect(disabled.message).toBe("counter does not run in nominal mode (disabled in the configuration)");
    await w.command(umbra.supervisor.v1.EnterSafeMode, {});
    const jobs = await w.command(umbra.supervisor.v1.RestartService, { service: "jobs" });
    expect(jobs.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION);
    expect(jobs.message).toBe("jobs does not run in safe mode");
    expect(w.launcher.of("jobs")).toHaveLength(1);
    const ttc = await w.command(umbra.supervisor.v1.RestartService, { service: "ttc" });
    expect(ttc.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
  });

  it("resetPayload calls onResetRequested after about 1 s, once", async () => {
    const w = await makeWorld();
    const t0 = w.clock.monotonicMs();
    const r = await w.command(umbra.supervisor.v1.ResetPayload, {});
    expect(r.status).toBe(CommandStatus.COMMAND_STATUS_COMPLETED);
    expect(r.message).toBe("resetting the payload in 1 s");
    expect(w.resets).toEqual([]);
    const again = await w.command(umbra.supervisor.v1.ResetPayload, {});
    expect(again.status).toBe(CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION);
    expect(again.message).toBe("a reset is already under way");
    await w.advance(1500);
    expect(w.resets).toHaveLength(1);
    expect(w.resets[0]! - t0).toBeGreaterThanOrEqual(1000);
    expect(w.resets[0]! - t0).toBeLessThanOrEqual(1100);
  });

  it("publishes telemetry with the mode and counts", async () => {
    const w = await makeWorld();
    const tm: MessageOf<typeof umbra.core.v1.TelemetryReport>[] = [];
    w.bus.subscribe(umbra.core.v1.TelemetryReport, (m) => void tm.push(m));
    await w.advance(10_000);
    const last = tm.filter((m) => m.service === "supervisor").at(-1)!;
    const v = Object.fromEntries(last.samples.map((s) => [s.name, fromValueMessage(s.value)]));
    expect(v).toMatchObject({ mode: 1, bootCount: 1, resetReason: 1, servicesRunning: 6, servicesDown: 0, servicesFailed: 0, watchdogArmed: true, healthy: true });
  });

  it("a new statusPeriodMs set by command takes effect at once", async () => {
    const w = await makeWorld();
    const times: number[] = [];
    w.bus.subscribe(umbra.core.v1.TelemetryReport, (m) => {
      if (m.service === "supervisor") times.push(w.clock.monotonicMs());
    });
    const reply = w.bus.request(
      umbra.core.v1.SetParameters,
      { service: "supervisor", values: [{ name: "statusPeriodMs", value: toValueMessage("int", 2000) }] },
      umbra.core.v1.ParameterReport,
      { target: "supervisor", timeoutMs: 1000 },
    );
    await w.settle();
    expect((await reply).ok).toBe(true);
    const t0 = w.clock.monotonicMs();
    await w.advance(10_000);
    // Every 2 s now, not every 10 s.
    expect(times.filter((t) => t > t0).length).toBeGreaterThanOrEqual(5);
  });

  it("enterSafeMode without a reason says by command", async () => {
    const w = await makeWorld();
    await w.command(umbra.supervisor.v1.EnterSafeMode, {});
    expect(w.service.mode.reason).toBe("by command");
  });
});
