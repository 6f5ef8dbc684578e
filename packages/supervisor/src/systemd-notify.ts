// systemd's service notification protocol (sd_notify(3)) for the supervisor
// when systemd runs it (umbra.service, Type=notify): READY=1 once every
// service that should run is running, WATCHDOG=1 each time the supervisor
// kicks the hardware watchdog (so only while the payload is healthy), and
// STOPPING=1 when it stops. Without NOTIFY_SOCKET (a bench, a test) it does
// nothing.
//
// Limitation: Node has no Unix datagram sockets, so each message is sent by a
// short-lived `systemd-notify` child process. systemd attributes a message
// from a process that is not the main one only with NotifyAccess=all, and
// only if the sender still exists when systemd reads it; systemd-notify
// (systemd >= 246) waits until systemd has processed the message, so it is
// attributed. Each message costs a process spawn (a few ms): fine for a
// readiness message and a watchdog ping every few seconds, not for more.
import { spawn } from "node:child_process";
import type { WatchdogPort } from "@umbra/platform";

/** Sends one notification datagram: the given VARIABLE=VALUE assignments. */
export type NotifySend = (assignments: readonly string[]) => Promise<void>;

export interface SystemdNotifierOptions {
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default: spawn systemd-notify with the assignments, NOTIFY_SOCKET in its environment. */
  send?: NotifySend;
  /** Where a failed send is reported (once per kind of failure). */
  warn?: (message: string) => void;
}

/** Spawns `systemd-notify VAR=VALUE...`; rejects when it cannot run or exits non-zero. */
export function spawnSystemdNotify(socket: string, command = "systemd-notify", timeoutMs = 10_000): NotifySend {
  return (assignments) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, [...assignments], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NOTIFY_SOCKET: socket } });
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => void (stderr = (stderr + b.toString("utf8")).slice(-500)));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`${command}: ${err.message}`));
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${command} ${assignments.join(" ")} failed (${signal ?? `status ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ""}`));
      });
    });
}

export class SystemdNotifier {
  /** systemd's watchdog interval for this process (µs), when it asked for pings (WatchdogSec=). */
  readonly watchdogUsec: number | undefined;
  private readonly send: NotifySend;
  private readonly warn: (message: string) => void;
  private readonly warned = new Set<string>();
  private tail: Promise<void> = Promise.resolve();
  private readySent = false;
  private stoppingSent = false;
  private watchdogQueued = false;

  private constructor(send: NotifySend, watchdogUsec: number | undefined, warn: (message: string) => void) {
    this.send = send;
    this.watchdogUsec = watchdogUsec;
    this.warn = warn;
  }

  /** A notifier when systemd asked for notifications (NOTIFY_SOCKET set), else undefined. */
  static fromEnv(options: SystemdNotifierOptions = {}): SystemdNotifier | undefined {
    const env = options.env ?? process.env;
    const socket = env["NOTIFY_SOCKET"];
    if (!socket) return undefined;
    const usec = Number(env["WATCHDOG_USEC"]);
    const forPid = env["WATCHDOG_PID"];
    const watchdogUsec = Number.isSafeInteger(usec) && usec > 0 && (!forPid || Number(forPid) === process.pid) ? usec : undefined;
    return new SystemdNotifier(options.send ?? spawnSystemdNotify(socket), watchdogUsec, options.warn ?? (() => undefined));
  }

  get ready(): boolean {
    return this.readySent;
  }

  /** READY=1 (once), with a status line. */
  notifyReady(status?: string): void {
    if (this.readySent) return;
    this.readySent = true;
    this.enqueue(["READY=1", ...(status ? [`STATUS=${oneLine(status)}`] : [])]);
  }

  /** WATCHDOG=1; a ping still waiting to go out absorbs this one. */
  notifyWatchdog(): void {
    if (this.watchdogQueued || this.stoppingSent) return;
    this.watchdogQueued = true;
    this.enqueue(["WATCHDOG=1"], () => void (this.watchdogQueued = false));
  }

  /** STOPPING=1 (once). */
  notifyStopping(status?: string): void {
    if (this.stoppingSent) return;
    this.stoppingSent = true;
    this.enqueue(["STOPPING=1", ...(status ? [`STATUS=${oneLine(status)}`] : [])]);
  }

  notifyStatus(status: string): void {
    this.enqueue([`STATUS=${oneLine(status)}`]);
  }

  /** Resolves when every message so far has been handed to systemd (or failed). */
  flush(): Promise<void> {
    return this.tail;
  }

  // One at a time, in order: READY before the first WATCHDOG, STOPPING last.
  private enqueue(assignments: string[], sent?: () => void): void {
    this.tail = this.tail.then(async () => {
      sent?.();
      try {
        await this.send(assignments);
      } catch (err) {
        const key = assignments[0]!.split("=")[0]!;
        if (!this.warned.has(key)) {
          this.warned.add(key);
          this.warn(`systemd notification ${assignments.join(" ")} not sent: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    });
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ").slice(0, 200);
}

/**
 * The watchdog port the supervisor service gets under systemd: every kick of
 * the hardware watchdog is also a WATCHDOG=1 to systemd. The service kicks
 * only while the payload is healthy, so systemd's watchdog follows the same
 * rule as the hardware's.
 */
export function notifyingWatchdog(port: WatchdogPort, notifier: SystemdNotifier): WatchdogPort {
  return {
    bootStatus: () => port.bootStatus(),
    arm: (timeoutS) => port.arm(timeoutS),
    kick: () => {
      notifier.notifyWatchdog();
      return port.kick();
    },
    disarm: () => port.disarm(),
    status: () => port.status(),
  };
}

/** A service as the readiness and health checks need it. */
export interface ServiceState {
  name: string;
  state: string;
}

/** Every service that should run in the current mode is running: the payload is up (READY=1). */
export function allUp(services: readonly ServiceState[], shouldRun: (name: string) => boolean): boolean {
  return services.every((s) => !shouldRun(s.name) || s.state === "running");
}

// The health rule lives with the modes; re-exported for the notifier's users.
export { keptServicesHealthy } from "./mode.js";
