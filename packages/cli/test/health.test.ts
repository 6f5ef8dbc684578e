// umbra health against a real bus hub on a Unix socket (as the supervisor
// hosts it), with a stand-in answering GetSupervisorStatus: healthy, not
// (with the reason, after the timeout), safe mode, unreachable, --hold, the
// configuration's socket, usage errors.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bus, BusServer, RealClock, parseEndpoint, silentLogger } from "@umbra/core";
import { umbra, type InitOf } from "@umbra/proto";
import { runCli } from "../src/cli.js";
import { judgeHealth } from "../src/commands/health.js";
import { recordingIo } from "./support/io.js";

const S = umbra.supervisor.v1;
const P = S.ProcessState;
type Status = InitOf<typeof S.SupervisorStatus>;

const dir = mkdtempSync(join(tmpdir(), "umbra-health-"));
const socket = join(dir, "bus.sock");
let hub: Bus;
let server: BusServer;
let status: Status;
let answering = true;

function svc(name: string, state: number, extra: Partial<{ restarts: number; lastFailure: string }> = {}) {
  return { name, state, pid: state === P.PROCESS_STATE_RUNNING ? 100 : 0, restarts: extra.restarts ?? 0, recentFailures: 0, lastFailure: extra.lastFailure ?? "", nextStartNs: 0n, lastHeartbeatNs: 0n };
}

function nominal(): Status {
  return {
    mode: S.PayloadMode.PAYLOAD_MODE_NOMINAL,
    safeModeReason: "",
    bootCount: 4,
    resetReason: S.ResetReason.RESET_REASON_POWER_ON,
    services: [svc("ttc", P.PROCESS_STATE_RUNNING), svc("thermal", P.PROCESS_STATE_RUNNING), svc("jobs", P.PROCESS_STATE_RUNNING), svc("counter", P.PROCESS_STATE_STOPPED)],
    watchdogArmed: true,
    bootTimeNs: 0n,
    unstableBoots: 0,
  };
}

beforeAll(async () => {
  hub = new Bus({ node: "supervisor", clock: new RealClock(), logger: silentLogger() });
  server = await BusServer.listen(hub, parseEndpoint(`unix:${socket}`));
  status = nominal();
  hub.serve(S.GetSupervisorStatus, S.SupervisorStatus, () => (answering ? status : undefined), { target: "supervisor" });
});

afterAll(async () => {
  await server.close();
  hub.close();
  rmSync(dir, { recursive: true, force: true });
});

const io = () => recordingIo({ cwd: dir, now: () => Date.now() });

async function health(args: string[]) {
  const a = io();
  const code = await runCli(["health", ...args], a);
  return { code, out: a.stdout.join("\n"), err: a.stderr.join("\n") };
}

describe("umbra health", () => {
  it("exit 0 when every service that should run is running; prints mode, services and boot", async () => {
    status = nominal();
    const r = await health(["--socket", socket, "--timeout", "5"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe("healthy: nominal: 3/3 services running (ttc, thermal, jobs); boot 4, reset reason power-on");
  });

  it("exit 1 after the timeout, naming each service that is down and why", async () => {
    status = nominal();
    status.services![2] = svc("jobs", P.PROCESS_STATE_BACKOFF, { lastFailure: "exited with code 1" });
    const t0 = Date.now();
    const r = await health(["--socket", socket, "--timeout", "1"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^not healthy after 1 s: jobs in backoff \(last failure: exited with code 1\)\n {2}last status: nominal: 2\/3 services running/);
  });

  it("waits for a payload that becomes healthy within the timeout", async () => {
    status = nominal();
    status.services![0] = svc("ttc", P.PROCESS_STATE_STARTING);
    setTimeout(() => (status = nominal()), 700);
    const r = await health(["--socket", socket, "--timeout", "5"]);
    expect(r.code).toBe(0);
  });

  it("safe mode with the services it keeps running is healthy, and says SAFE MODE", async () => {
    status = { ...nominal(), mode: S.PayloadMode.PAYLOAD_MODE_SAFE, safeModeReason: "by command" };
    status.services![2] = svc("jobs", P.PROCESS_STATE_STOPPED);
    const r = await health(["--socket", socket, "--timeout", "2", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { healthy: boolean; mode: string; summary: string };
    expect(j).toMatchObject({ healthy: true, mode: "safe" });
    expect(j.summary).toMatch(/^SAFE MODE \(by command\): 2\/2 services running/);
    // A kept service that failed is not.
    status.services![1] = svc("thermal", P.PROCESS_STATE_FAILED, { lastFailure: "exited with code 3" });
    expect((await health(["--socket", socket, "--timeout", "0.5"])).out).toMatch(/thermal FAILED \(last failure: exited with code 3\)/);
  });

  it("--hold: healthy must last, with no service restarting meanwhile", async () => {
    status = nominal();
    let restarts = 0;
    const flap = setInterval(() => {
      restarts++;
      status = nominal();
      status.services![2] = svc("jobs", P.PROCESS_STATE_RUNNING, { restarts });
    }, 300);
    try {
      const r = await health(["--socket", socket, "--timeout", "0.5", "--hold", "1"]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/healthy for \d s of the 1 s asked/);
    } finally {
      clearInterval(flap);
    }
    status = nominal();
    const t0 = Date.now();
    expect((await health(["--socket", socket, "--timeout", "2", "--hold", "1"])).code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it("an unreachable payload or a silent supervisor is not healthy, with the reason", async () => {
    const none = await health(["--socket", join(dir, "nothing.sock"), "--timeout", "0.5"]);
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/no bus socket at .*nothing\.sock: is the payload running\?/);
    answering = false;
    try {
      const silent = await health(["--socket", socket, "--timeout", "0.5"]);
      expect(silent.code).toBe(1);
      expect(silent.out).toMatch(/the supervisor did not answer/);
    } finally {
      answering = true;
    }
  });

  it("reads the socket from --config, and hints at a missing key file", async () => {
    const config = join(dir, "umbra.yaml");
    writeFileSync(config, `platform: linux\npaths:\n  run: ${dir}\n  keys: ${dir}/keys.json\n`);
    status = nominal();
    expect((await health(["--config", config, "--timeout", "2"])).code).toBe(0);
    status.services![0] = svc("ttc", P.PROCESS_STATE_BACKOFF, { lastFailure: "exited with code 2" });
    const r = await health(["--config", config, "--timeout", "0.3"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/hint: the telecommand key file .*keys\.json \(paths\.keys\) does not exist/);
  });

  it("usage and configuration errors exit 2", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "platform: windows\n");
    for (const [args, message] of [
      [["--timeout", "soon", "--socket", socket], /--timeout must be a number of seconds/],
      [["--hold", "-1", "--socket", socket], /--hold must be a number of seconds/],
      [["--config", bad], /bad\.yaml: platform: expected one of hil, linux, got "windows"/],
      [["--config", join(dir, "missing.yaml")], /missing\.yaml/],
    ] as [string[], RegExp][]) {
      const r = await health(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(message);
    }
  });

  it("judgeHealth: nothing running is not healthy", () => {
    expect(judgeHealth({ ...nominal(), services: [] } as never).problems).toEqual(["no service is running"]);
  });
});
