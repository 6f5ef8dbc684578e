// systemd notification (umbra.service is Type=notify with WatchdogSec=):
// nothing without NOTIFY_SOCKET; READY/WATCHDOG/STOPPING in order; a ping
// on every hardware kick of the real supervisor service, so none while the
// payload is unhealthy; and the real systemd-notify delivering to a real
// Unix datagram socket.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, SimClock, silentLogger } from "@umbra/core";
import type { WatchdogPort, WatchdogStatus } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { BootRecord } from "../src/boot-record.js";
import { ProcessTable } from "../src/process-table.js";
import { FakeLauncher } from "./support/fake-processes.js";
import { SupervisorService } from "../src/service.js";
import { SystemdNotifier, allUp, keptServicesHealthy, notifyingWatchdog, spawnSystemdNotify } from "../src/systemd-notify.js";

const tmp = mkdtempSync(join(tmpdir(), "umbra-notify-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function recorder() {
  const sent: string[] = [];
  const send = async (a: readonly string[]) => void sent.push(a.join(" "));
  return { sent, send };
}

describe("SystemdNotifier", () => {
  it("is nothing without NOTIFY_SOCKET", () => {
    expect(SystemdNotifier.fromEnv({ env: {} })).toBeUndefined();
    expect(SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "" } })).toBeUndefined();
  });

  it("reads WatchdogSec= from WATCHDOG_USEC, only when meant for this process", () => {
    expect(SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/x", WATCHDOG_USEC: "30000000" } })!.watchdogUsec).toBe(30_000_000);
    expect(SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/x", WATCHDOG_USEC: "30000000", WATCHDOG_PID: String(process.pid) } })!.watchdogUsec).toBe(30_000_000);
    expect(SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/x", WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" } })!.watchdogUsec).toBeUndefined();
    expect(SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/x", WATCHDOG_USEC: "soon" } })!.watchdogUsec).toBeUndefined();
  });

  it("sends READY once, pings in order, STOPPING once and nothing after it; a failing sender is reported once", async () => {
    const r = recorder();
    const n = SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/x" }, send: r.send })!;
    n.notifyReady("nominal: 6 services running");
    n.notifyReady("again");
    n.notifyWatchdog();
    n.notifyWatchdog(); // absorbed: one is still queued
    await n.flush();
    n.notifyWatchdog();
    n.notifyStopping("stopping");
    n.notifyWatchdog();
    n.notifyStopping();
    await n.flush();
    expect(r.sent).toEqual(["READY=1 STATUS=nominal: 6 services running", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1 STATUS=stopping"]);

    const warnings: string[] = [];
    const bad = SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/x" }, send: async () => Promise.reject(new Error("no systemd-notify")), warn: (m) => void warnings.push(m) })!;
    for (let i = 0; i < 3; i++) {
      bad.notifyWatchdog();
      await bad.flush();
    }
    expect(warnings).toEqual(["systemd notification WATCHDOG=1 not sent: no systemd-notify"]);
  });

  it("readiness and health rules", () => {
    const svc = (name: string, state: string) => ({ name, state });
    const should = (n: string) => n !== "counter";
    expect(allUp([svc("ttc", "running"), svc("counter", "stopped")], should)).toBe(true);
    expect(allUp([svc("ttc", "running"), svc("jobs", "starting")], should)).toBe(false);
    const enabled = () => true;
    expect(keptServicesHealthy([svc("ttc", "running"), svc("jobs", "failed")], ["ttc"], enabled)).toBe(true);
    expect(keptServicesHealthy([svc("ttc", "failed")], ["ttc"], enabled)).toBe(false);
    expect(keptServicesHealthy([svc("ttc", "backoff")], ["ttc"], enabled)).toBe(true);
  });
});

// ---- the supervisor service kicking a wrapped watchdog --------------------------

class HardwareWatchdog implements WatchdogPort {
  kicks = 0;
  private armed = false;
  async bootStatus() {
    return {};
  }
  async arm(): Promise<void> {
    this.armed = true;
  }
  async kick(): Promise<void> {
    this.kicks++;
  }
  async disarm(): Promise<void> {
    this.armed = false;
  }
  status(): WatchdogStatus {
    return { armed: this.armed, timeoutS: 60 };
  }
}

describe("the supervisor under systemd", () => {
  it("pings systemd at every hardware kick, only while healthy: a kept service given up stops both", async () => {
    const names = ["ttc", "thermal", "jobs"];
    const clock = new SimClock();
    const bus = new Bus({ node: "supervisor", clock, logger: silentLogger(), queueCapacity: 100_000 });
    const record = new BootRecord(join(tmp, "supervisor.db"));
    const boot = record.begin(clock.nowTaiNs(), {}, 3);
    const launcher = new FakeLauncher();
    const hardware = new HardwareWatchdog();
    const r = recorder();
    const notifier = SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "30000000" }, send: r.send })!;
    let service: SupervisorService | undefined;
    const table = new ProcessTable(
      names.map((name) => ({ name, heartbeatTimeoutS: 5, startTimeoutS: 30, stopTimeoutS: 10, restart: { initialBackoffS: 1, factor: 1, maxBackoffS: 1, maxFailures: 2, windowS: 300 } })),
      launcher,
      clock,
      {
        running: (name) => service?.onServiceRunning(name, false),
        failed: (name, reason, delayMs, recent) => service?.onServiceFailed(name, reason, delayMs, recent),
        gaveUp: (name, reason, recent) => service?.onServiceGaveUp(name, reason, recent),
      },
    );
    const beat = clock.setInterval(() => {
      for (const p of launcher.launched) if (!p.dead) bus.publish(umbra.core.v1.Heartbeat, { service: p.service, pid: p.pid, host: hostname(), counter: 1n });
    }, 1000);
    service = new SupervisorService(
      { bus, clock, logger: silentLogger() },
      {
        table,
        record,
        boot,
        settings: {
          services: names.map((name) => ({ name, enabled: true })),
          safeKeep: ["ttc", "thermal"],
          minBatterySocPct: 15,
          onThermalEmergency: false,
          watchdog: { enabled: true, timeoutS: 60, kickIntervalS: 10 },
          stableAfterS: 300,
          ttcStartWaitMs: 30_000,
        },
        watchdog: notifyingWatchdog(hardware, notifier),
        onResetRequested: () => undefined,
      },
    );
    const advance = async (ms: number) => {
      for (let left = ms; left > 0; left -= 250) {
        await clock.advance(Math.min(250, left));
        await bus.idle();
        await new Promise<void>((res) => setImmediate(res));
      }
    };
    try {
      const started = service.start();
      let done = false;
      void started.then(() => (done = true));
      for (let i = 0; i < 100 && !done; i++) await advance(100);
      await started;
      const sv = service;
      expect(allUp(table.snapshot(), (n) => sv.shouldRun(n))).toBe(false); // just spawned: no heartbeat yet
      await advance(2000);
      expect(allUp(table.snapshot(), (n) => sv.shouldRun(n))).toBe(true);

      await advance(30_000);
      await notifier.flush();
      const pings = r.sent.filter((s) => s === "WATCHDOG=1").length;
      expect(hardware.kicks).toBe(3);
      expect(pings).toBe(3);

      // thermal (kept in safe mode) crashes for good: unhealthy, kicks and pings stop.
      launcher.crashing.add("thermal");
      launcher.launched.find((p) => p.service === "thermal" && !p.dead)!.exit();
      await advance(10_000);
      expect(table.snapshot().find((s) => s.name === "thermal")!.state).toBe("failed");
      const kicksThen = hardware.kicks;
      const pingsThen = r.sent.filter((s) => s === "WATCHDOG=1").length;
      await advance(60_000);
      await notifier.flush();
      expect(hardware.kicks).toBe(kicksThen);
      expect(r.sent.filter((s) => s === "WATCHDOG=1").length).toBe(pingsThen);
      expect(keptServicesHealthy(table.snapshot(), ["ttc", "thermal"], () => true)).toBe(false);
    } finally {
      beat.cancel();
      table.close();
      await service.stop().catch(() => undefined);
      bus.close();
      record.close();
    }
  });
});

// ---- the real thing: systemd-notify to a Unix datagram socket ----------------------

const haveNotify = spawnSync("systemd-notify", ["--version"]).status === 0;
const havePython = spawnSync("python3", ["--version"]).status === 0;

describe("spawnSystemdNotify", () => {
  it.runIf(haveNotify && havePython)("delivers READY, WATCHDOG and STOPPING datagrams to NOTIFY_SOCKET, in order", async () => {
    const socket = join(tmp, "notify.sock");
    // A stand-in for systemd's notify socket: prints each datagram, and closes the fd a
    // barrier message carries (systemd-notify waits for that: its message was processed).
    const receiver: ChildProcess = spawn(
      "python3",
      [
        "-u",
        "-c",
        `import socket, os, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    msg, fds, _, _ = socket.recv_fds(s, 4096, 8)
    for fd in fds: os.close(fd)
    print(repr(msg.decode()), flush=True)`,
        socket,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    receiver.stdout!.on("data", (b: Buffer) => void (out += b.toString()));
    try {
      for (let i = 0; i < 100 && !out.includes("ready"); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(socket)).toBe(true);
      const n = SystemdNotifier.fromEnv({ env: { NOTIFY_SOCKET: socket }, send: spawnSystemdNotify(socket) })!;
      n.notifyReady("nominal: 3 services running");
      n.notifyWatchdog();
      n.notifyStopping("stopping");
      await n.flush();
      for (let i = 0; i < 40 && !out.includes("STOPPING=1"); i++) await new Promise((r) => setTimeout(r, 50));
      const messages = out
        .split("\n")
        .filter((l) => l.startsWith("'") && !l.includes("BARRIER"))
        .map((l) => l.slice(1, -1));
      expect(messages).toEqual(["READY=1\\nSTATUS=nominal: 3 services running", "WATCHDOG=1", "STOPPING=1\\nSTATUS=stopping"]);
    } finally {
      receiver.kill();
    }
  });

  it("rejects with the reason when systemd-notify cannot run", async () => {
    await expect(spawnSystemdNotify("/nonexistent.sock", "/nonexistent/systemd-notify")(["READY=1"])).rejects.toThrow(/\/nonexistent\/systemd-notify: spawn .* ENOENT/);
  });
});
