// The board around the payload: its watchdog, a scheduled power cycle and a
// requested one reset the payload computer by killing the process group of
// the payload's supervisor; runtime InjectFault requests go through the
// same path as scheduled faults.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { Bus, SimClock } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { parseScenario } from "../../src/scenario/load.js";
import { HilRun } from "../../src/engine/run.js";
import { parseInjectFault } from "../../src/engine/inject-fault.js";
import { processState } from "../../src/engine/processes.js";
import { parseReplayLog } from "../../src/engine/replay.js";
import type { ScenarioInput } from "../../src/scenario/schema.js";

const children: ChildProcess[] = [];
const strays: number[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

function scenario(extra: Partial<ScenarioInput> = {}) {
  return parseScenario({ name: "t", seed: 5, epoch: "2026-03-20T00:00:00Z", duration: "20m", step: "10s", ...extra });
}

function idle(options: { detached?: boolean } = {}): ChildProcess {
  const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore", detached: options.detached ?? false });
  children.push(c);
  return c;
}

/** A supervisor stand-in leading its own process group, with one child of its own (a service) in the group. */
async function payloadComputer(): Promise<{ supervisor: ChildProcess; servicePid: number }> {
  const supervisor = spawn(
    process.execPath,
    ["-e", `const c = require("node:child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }); console.log(c.pid); setInterval(() => {}, 1000);`],
    { stdio: ["ignore", "pipe", "ignore"], detached: true },
  );
  children.push(supervisor);
  const servicePid = await new Promise<number>((resolve) => supervisor.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))));
  strays.push(servicePid);
  return { supervisor, servicePid };
}

const exitOf = (c: ChildProcess) => new Promise<string | null>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(c.signalCode) : c.once("exit", (_code, sig) => resolve(sig))));

async function gone(pid: number, withinMs = 2000): Promise<boolean> {
  const end = Date.now() + withinMs;
  while (Date.now() < end) {
    const st = processState(pid);
    if (st === undefined || st === "Z") return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

async function settledState(pid: number, want: (state: string | undefined) => boolean, withinMs = 2000): Promise<string | undefined> {
  const end = Date.now() + withinMs;
  let st = processState(pid);
  while (!want(st) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
    st = processState(pid);
  }
  return st;
}

const inject = (run: HilRun, req: { kind: string; service?: string; durationS?: number; injectionId?: string }) =>
  run.bus.request(umbra.hil.v1.InjectFault, { service: "", durationS: 0, injectionId: "t", ...req }, umbra.hil.v1.FaultAck, { target: "hil" });

describe("payload reset by the emulated board", () => {
  it("a watchdog expiry kills the supervisor's whole process group, disarms the watchdog and counts the expiry", async () => {
    const { supervisor, servicePid } = await payloadComputer();
    const s = scenario({ faults: [{ at: "15m", kind: "kill", service: "jobs" }] });
    const run = new HilRun({ scenario: s });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "supervisor", pid: supervisor.pid!, host: hostname() });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "jobs", pid: servicePid, host: hostname() });
    const states: MessageOf<typeof umbra.platform.v1.HardwareState>[] = [];
    run.bus.subscribe(umbra.platform.v1.HardwareState, (h) => {
      states.push(h);
    });
    await run.bus.request(umbra.platform.v1.WatchdogAction, { action: umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_ARM, timeoutS: 60 }, umbra.platform.v1.WatchdogState, { target: "hil" });
    const r = await run.run();
    expect(await exitOf(supervisor)).toBe("SIGKILL");
    expect(await gone(servicePid)).toBe(true);
    const reset = r.faults.find((f) => f.kind === "watchdog-reset")!;
    expect(reset).toMatchObject({ elapsedS: 70, cause: "hardware", target: "payload computer", outcome: `applied: SIGKILL to process group ${supervisor.pid} (supervisor)` });
    expect(r.summary["watchdogResets"]).toBe(1);
    expect(r.summary["payloadResets"]).toBe(1);
    // What the restarted supervisor reads to learn the last reset was the watchdog's.
    expect(run.hardware.watchdog).toMatchObject({ armed: false, expirations: 1 });
    expect(states.at(-1)!.watchdog).toMatchObject({ armed: false, expirations: 1 });
    // The dead processes' pids are forgotten until they heartbeat again.
    expect(r.faults.find((f) => f.kind === "kill")!.outcome).toBe("not delivered: no heartbeat with a pid from this service");
  });

  it("a scheduled reset-payload kills the supervisor alone when it leads no process group, and clears the watchdog without counting an expiry", async () => {
    const supervisor = idle(); // in the test's own process group: the group kill must not touch it
    const s = scenario({ faults: [{ at: "5m", kind: "reset-payload" }] });
    const run = new HilRun({ scenario: s });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "supervisor", pid: supervisor.pid!, host: hostname() });
    await run.bus.request(umbra.platform.v1.WatchdogAction, { action: umbra.platform.v1.WatchdogActionKind.WATCHDOG_ACTION_ARM, timeoutS: 3600 }, umbra.platform.v1.WatchdogState, { target: "hil" });
    const r = await run.run();
    expect(await exitOf(supervisor)).toBe("SIGKILL");
    expect(r.faults).toHaveLength(1);
    expect(r.faults[0]).toMatchObject({
      kind: "reset-payload",
      cause: "schedule",
      elapsedS: 300,
      action: { kind: "reset-payload" },
      outcome: `applied: SIGKILL to supervisor pid ${supervisor.pid} (no process group ${supervisor.pid}: ESRCH)`,
    });
    expect(r.summary["payloadResets"]).toBe(1);
    expect(r.summary["watchdogResets"]).toBe(0);
    expect(run.hardware.watchdog).toMatchObject({ armed: false, expirations: 0 });
  });

  it("resets nothing without a local supervisor heartbeat, and never signals the HIL itself or a pid on another host", async () => {
    const victim = idle();
    for (const hb of [undefined, { pid: process.pid, host: hostname() }, { pid: victim.pid!, host: "flight-board-1" }]) {
      const run = new HilRun({ scenario: scenario({ duration: "10m", faults: [{ at: "1m", kind: "reset-payload" }] }) });
      if (hb) run.bus.publish(umbra.core.v1.Heartbeat, { service: "supervisor", ...hb });
      const r = await run.run();
      expect(r.summary["payloadResets"]).toBe(0);
      expect(r.faults[0]!.outcome).toMatch(/^not delivered: /);
    }
    expect(victim.exitCode).toBeNull();
    expect(victim.signalCode).toBeNull();
  });

  it("does not signal a pid whose process has exited since its heartbeat", async () => {
    const victim = idle();
    const run = new HilRun({ scenario: scenario({ duration: "10m", faults: [{ at: "5m", kind: "kill", service: "victim" }] }) });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "victim", pid: victim.pid!, host: hostname() });
    await run.bus.idle();
    victim.kill("SIGTERM");
    await exitOf(victim);
    const r = await run.run();
    expect(r.faults[0]!.outcome).toBe(`not delivered: pid ${victim.pid} has exited since its last heartbeat`);
  });

  it("replays a logged reset-payload", () => {
    const log = parseReplayLog({ format: "umbra-hil-report/1", scenario: { name: "t" }, faults: [{ elapsedS: 60, action: { kind: "reset-payload" } }] });
    expect(log.steps).toEqual([{ elapsedS: 60, action: { kind: "reset-payload" } }]);
    expect(() => parseReplayLog({ format: "umbra-hil-report/1", scenario: { name: "t" }, faults: [{ elapsedS: 60, action: { kind: "reset-payload", pid: 1 } }] })).toThrow();
  });
});

describe("InjectFault over the bus", () => {
  it("refuses bad input with a clear error and does nothing", async () => {
    const victim = idle();
    const run = new HilRun({ scenario: scenario({ duration: "1m" }) });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "victim", pid: victim.pid!, host: hostname() });
    const cases: [Parameters<typeof inject>[1], RegExp][] = [
      [{ kind: "explode", service: "victim" }, /unknown fault kind "explode"; expected hang, kill, reset-payload/],
      [{ kind: "kill", service: "" }, /service is empty/],
      [{ kind: "hang", service: "victim", durationS: 0 }, /between 1 and 86400 s/],
      [{ kind: "hang", service: "victim", durationS: 86401 }, /between 1 and 86400 s/],
      [{ kind: "hang", service: "victim", durationS: Number.NaN }, /not a number/],
      [{ kind: "hang", service: "victim", durationS: Number.POSITIVE_INFINITY }, /between 1 and 86400 s/],
      [{ kind: "kill", service: "victim", durationS: 5 }, /applies only to a hang/],
      [{ kind: "kill", service: "../etc" }, /not a service name/],
      [{ kind: "reset-payload", service: "jobs" }, /must be empty or "supervisor"/],
    ];
    for (const [req, error] of cases) {
      const ack = await inject(run, { ...req, injectionId: "bad-1" });
      expect(ack.applied).toBe(false);
      expect(ack.injectionId).toBe("bad-1");
      expect(ack.error).toMatch(error);
    }
    const r = await run.run();
    expect(r.faults).toEqual([]);
    expect(victim.exitCode).toBeNull();
    expect(processState(victim.pid!)).not.toBe("T");
  });

  it("pure checks", () => {
    expect(parseInjectFault({ kind: "hang", service: "jobs", durationS: 60 })).toEqual({ action: { kind: "signal", service: "jobs", signal: "hang", durationS: 60 } });
    expect(parseInjectFault({ kind: "kill", service: "scrubber", durationS: 0 })).toEqual({ action: { kind: "signal", service: "scrubber", signal: "kill", durationS: 0 } });
    expect(parseInjectFault({ kind: "reset-payload", service: "supervisor", durationS: 0 })).toEqual({ action: { kind: "reset-payload" } });
    expect(parseInjectFault({ kind: "x".repeat(500), service: "", durationS: 0 })).toMatchObject({ error: expect.stringContaining("…") });
  });

  it("hangs, kills and resets through the same path as scheduled faults, logged with cause request", async () => {
    const hangee = idle();
    const killee = idle();
    const supervisor = idle({ detached: true });
    const s = scenario({ duration: "10m" });
    // A bus of our own, which stays open after the run.
    const clock = new SimClock({ startUtcMs: s.epoch });
    const bus = new Bus({ node: "hil", clock });
    const run = new HilRun({ scenario: s, bus, clock });
    for (const [service, c] of [["jobs", hangee], ["scrubber", killee], ["supervisor", supervisor]] as const) {
      run.bus.publish(umbra.core.v1.Heartbeat, { service, pid: c.pid!, host: hostname() });
    }
    const acks: MessageOf<typeof umbra.hil.v1.FaultAck>[] = [];
    const stopped: (string | undefined)[] = [];
    run.bus.subscribe(umbra.hil.v1.EnvironmentSample, async (e) => {
      if (e.elapsedS === 60) acks.push(await inject(run, { kind: "hang", service: "jobs", durationS: 60, injectionId: "h" }));
      // Signals land asynchronously and simulated seconds pass in microseconds here: wait (in wall time) for the state to show.
      if (e.elapsedS === 90) stopped.push(await settledState(hangee.pid!, (st) => st === "T"));
      if (e.elapsedS === 150) stopped.push(await settledState(hangee.pid!, (st) => st !== "T"));
      if (e.elapsedS === 200) acks.push(await inject(run, { kind: "kill", service: "scrubber", injectionId: "k" }));
      if (e.elapsedS === 300) acks.push(await inject(run, { kind: "reset-payload", service: "supervisor", injectionId: "r" }));
      if (e.elapsedS === 400) acks.push(await inject(run, { kind: "kill", service: "ghost", injectionId: "g" }));
    });
    const r = await run.run();
    expect(acks.map((a) => [a.injectionId, a.applied, a.error])).toEqual([
      ["h", true, ""],
      ["k", true, ""],
      ["r", true, ""],
      ["g", false, "not delivered: no heartbeat with a pid from this service"],
    ]);
    expect(stopped).toEqual(["T", expect.not.stringMatching(/^T$/)]);
    expect(await exitOf(killee)).toBe("SIGKILL");
    expect(await exitOf(supervisor)).toBe("SIGKILL");
    expect(r.faults.map((f) => [f.kind, f.cause, f.elapsedS])).toEqual([
      ["hang", "request", 60],
      ["kill", "request", 200],
      ["reset-payload", "request", 300],
      ["kill", "request", 400],
    ]);
    expect(r.faults[0]!.action).toEqual({ kind: "signal", service: "jobs", signal: "hang", durationS: 60 });
    expect(r.summary["payloadResets"]).toBe(1);
    // After the run, a request changes nothing.
    const late = await inject(run, { kind: "kill", service: "jobs", injectionId: "late" });
    expect(late).toMatchObject({ applied: false, error: "the run has ended" });
    expect(hangee.exitCode).toBeNull();
    bus.close();
  });

  it("does not resume a hung pid once its service has been restarted under another pid", async () => {
    const first = idle();
    const second = idle();
    const run = new HilRun({ scenario: scenario({ duration: "10m", faults: [{ at: "1m", kind: "hang", service: "jobs", duration: "5m" }] }) });
    run.bus.publish(umbra.core.v1.Heartbeat, { service: "jobs", pid: first.pid!, host: hostname() });
    run.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
      // The supervisor notices the hang, kills the stopped process and starts a new one, which heartbeats.
      if (e.elapsedS === 120) {
        first.kill("SIGKILL");
        run.bus.publish(umbra.core.v1.Heartbeat, { service: "jobs", pid: second.pid!, host: hostname() });
      }
    });
    const r = await run.run();
    expect(r.faults[0]!.outcome).toBe(`applied; not resumed: jobs now runs as pid ${second.pid}`);
    expect(processState(second.pid!)).not.toBe("T");
  });
});
