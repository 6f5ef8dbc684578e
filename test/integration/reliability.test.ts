// The payload keeps running through crashes, hangs and resets: one
// `umbra start` (the compiled CLI playing the board: the supervisor and every
// service in their own processes, the HIL in its own) started once, and the
// ground's view of it over the supervisor's bus hub. Each case does real harm
// to real processes (kill -9, SIGSTOP through the HIL's InjectFault) and
// checks that the supervisor, the board and the TTC's stores bring the
// payload back as they say they do. The cases run in order on the same
// payload; each leaves it running nominally for the next.
//
// The configuration is the default one with a quicker restart policy (so a
// service that keeps dying is given up on within seconds), a shorter
// heartbeat timeout, and jobs given up after 3 failures; the scenario is
// nominal-day (no scheduled faults to muddle the counts) at 20×, with no
// workload (this test is the only sender on SPI 1).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { CommandHistory, openTtcDatabase } from "@umbra/ttc";
import { DEFAULT_CONFIG, Ground, JOBS_APID, SUPERVISOR_APID, alive, bootRecord, failure, modeName, resetReasonName, scenario, sleep, startUmbra, stateName, until, type SupervisorStatus, type UmbraRun } from "./helpers/stack.js";

const SERVICES = ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"] as const;
const SAFE_KEEP = ["ttc", "thermal", "gateway"];
const SPEED = 20;
const HEARTBEAT_TIMEOUT_S = 3;

// The default configuration with a quicker restart policy: what changes is appended as overrides of those sections.
const CONFIG = `${readFileSync(DEFAULT_CONFIG, "utf8")
  .replace(/\ndefaults:\n[\s\S]*?\n(?=# Each service)/, "\n")
  .replace(/\n {2}jobs:\n {4}enabled: true\n/, "\n  jobs:\n    enabled: true\n    restart: { maxFailures: 3 }\n")}
defaults:
  heartbeatTimeoutS: ${HEARTBEAT_TIMEOUT_S}
  startTimeoutS: 60
  stopTimeoutS: 10
  restart: { initialBackoffS: 0.2, factor: 2, maxBackoffS: 2, maxFailures: 5, windowS: 120 }
`;

let run: UmbraRun;
let ground: Ground;

beforeAll(async () => {
  run = startUmbra({ config: CONFIG, scenario: scenario("nominal-day.yaml"), args: ["--speed", String(SPEED), "--no-workload", "--duration", "600"] });
  try {
    ground = await Ground.join(run.socket, run.keys, 1, 60_000);
    await ground.allRunning(SERVICES, 90_000);
    // The TTC routes a telecommand only to a service it has learned.
    await until(async () => (await ground.status()).mode === umbra.supervisor.v1.PayloadMode.PAYLOAD_MODE_NOMINAL, "nominal mode", 10_000);
  } catch (err) {
    throw new Error(`${String(err)}${run.context()}`);
  }
}, 150_000);

afterAll(async () => {
  await ground?.close();
  if (run) {
    const { code } = await run.stop(60_000);
    await run.cleanup();
    // A clean stop after everything this test did to the payload.
    expect(code).toBe(0);
  }
}, 120_000);

const P = umbra.supervisor.v1.ProcessState;
const byName = (st: SupervisorStatus, name: string) => st.services.find((s) => s.name === name)!;
const describeStatus = (st: SupervisorStatus) =>
  `${modeName(st.mode)} (${st.safeModeReason}) boot ${st.bootCount} ${resetReasonName(st.resetReason)}: ` +
  st.services.map((s) => `${s.name} ${stateName(s.state)} pid ${s.pid} restarts ${s.restarts} recent ${s.recentFailures} "${s.lastFailure}"`).join("; ");

/** Waits until `name` runs with a pid other than `oldPid`; returns its status. */
async function backWithNewPid(name: string, oldPid: number, ms = 20_000) {
  return until(
    async () => {
      const s = byName(await ground.status(), name);
      return s.state === P.PROCESS_STATE_RUNNING && s.pid > 0 && s.pid !== oldPid ? s : undefined;
    },
    `${name} running again with a new pid (old ${oldPid})`,
    ms,
    100,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${describeStatus(await ground.status().catch(() => ({ services: [] }) as unknown as SupervisorStatus))}${run.context()}`);
  });
}

describe("the payload under umbra start", () => {
  it("(a) a service killed with SIGKILL is back, with a new pid, within seconds, and its restart is counted", { timeout: 120_000 }, async () => {
    for (const name of SERVICES) {
      const before = byName(await ground.status(), name);
      expect(before.state, name).toBe(P.PROCESS_STATE_RUNNING);
      process.kill(before.pid, "SIGKILL");
      const t0 = Date.now();
      const after = await backWithNewPid(name, before.pid);
      const took = Date.now() - t0;
      expect(took, `${name} back after ${took} ms`).toBeLessThan(15_000);
      expect(after.restarts, name).toBe(before.restarts + 1);
      expect(alive(before.pid), name).toBe(false);
      // Every other service kept running.
      await ground.allRunning(SERVICES, 20_000);
    }
    // The supervisor said so on the bus.
    for (const name of SERVICES) {
      expect(ground.events.some((e) => e.service === "supervisor" && e.name === "serviceCrashed" && e.args["service"] === name), `serviceCrashed ${name}`).toBe(true);
    }
  });

  it("(b) no acknowledged telecommand is lost when the TTC is killed, and archived telemetry survives", { timeout: 120_000 }, async () => {
    // Telemetry the TTC had archived before the kill, asked from the TTC itself.
    const query = (toNs: bigint) =>
      ground.bus.request(umbra.ttc.v1.QueryTelemetry, { service: "supervisor", name: "bootCount", fromNs: 0n, toNs, limit: 100_000 }, umbra.ttc.v1.TelemetrySeries, { target: "ttc", timeoutMs: 5000 });
    const before = await until(async () => {
      const s = await query(BigInt("9000000000000000000"));
      return s.points.length > 0 ? s : undefined;
    }, "archived supervisor.bootCount samples");
    expect(before.error).toBe("");
    const lastBeforeNs = BigInt(before.points[before.points.length - 1]!.tNs);

    // Commands the TTC completed (the ground saw their completion reports).
    const tenants = [1, 2, 3].map((i) => `rel-${i}-${Date.now().toString(36)}`);
    const acknowledged: number[] = [];
    for (const tenant of tenants) {
      const v = await ground.telecommand(JOBS_APID, "jobs", "setTenant", umbra.jobs.v1.SetTenant, {
        tenant,
        quotaJoules: 1000,
        quotaCoreSeconds: 0,
        period: umbra.jobs.v1.QuotaPeriod.QUOTA_PERIOD_ORBIT,
        rejectOverQuota: false,
      });
      expect(v.success, failure(v)).toBe(true);
      expect(v.stage).toBe(umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION);
      acknowledged.push(Number(v.commandId));
    }

    // At once after the last completion: the TTC dies.
    const ttc = byName(await ground.status(), "ttc");
    process.kill(ttc.pid, "SIGKILL");
    await backWithNewPid("ttc", ttc.pid);

    // The command history on disk has every acknowledged command, completed.
    const db = openTtcDatabase(join(run.data, "ttc.db"));
    try {
      const history = new CommandHistory(db);
      for (const [i, id] of acknowledged.entries()) {
        const c = history.get(id);
        expect(c, `command ${id}`).toBeDefined();
        expect(c!.outcome, `command ${id}`).toBe("success");
        expect(c!.resolution).toMatchObject({ targetService: "jobs", command: "setTenant" });
        expect(JSON.parse(c!.resolution!.argumentsJson)).toMatchObject({ tenant: tenants[i] });
        expect(c!.stages.some((s) => s.stage === "completion" && s.success)).toBe(true);
      }
    } finally {
      db.close();
    }
    // The restarted TTC answers from the same archive: nothing up to the kill is missing.
    const after = await until(() => query(lastBeforeNs).catch(() => undefined), "the restarted TTC to answer QueryTelemetry", 20_000);
    expect(after.error).toBe("");
    expect(after.points.length).toBeGreaterThanOrEqual(before.points.length);
    expect(after.points.slice(0, before.points.length).map((p) => p.tNs)).toEqual(before.points.map((p) => p.tNs));
    // ... and the runner still has the tenants (its own store), and the restarted TTC takes commands again.
    const v = await ground.telecommand(JOBS_APID, "jobs", "setTenant", umbra.jobs.v1.SetTenant, {
      tenant: tenants[0]!,
      quotaJoules: 2000,
      quotaCoreSeconds: 0,
      period: umbra.jobs.v1.QuotaPeriod.QUOTA_PERIOD_ORBIT,
      rejectOverQuota: false,
    });
    expect(v.success, failure(v)).toBe(true);
    expect(Number(v.commandId)).toBeGreaterThan(Math.max(...acknowledged));
  });

  it("(c) a hung service (SIGSTOP by the HIL) is found by its missing heartbeats, killed and restarted", { timeout: 60_000 }, async () => {
    const before = byName(await ground.status(), "scrubber");
    expect(before.state).toBe(P.PROCESS_STATE_RUNNING);
    const seen = ground.events.length;
    // 120 simulated seconds is 6 wall seconds at 20×: longer than the heartbeat timeout (3 wall seconds).
    const ack = await ground.inject("hang", "scrubber", 120);
    expect(ack.applied, ack.error).toBe(true);
    const after = await backWithNewPid("scrubber", before.pid, 30_000);
    expect(after.restarts).toBe(before.restarts + 1);
    expect(after.lastFailure).toMatch(/^hung: no heartbeat for [\d.]+ s$/);
    expect(ground.events.slice(seen).some((e) => e.service === "supervisor" && e.name === "serviceHung" && e.args["service"] === "scrubber")).toBe(true);
    expect(alive(before.pid)).toBe(false);
  });

  it("(d) when the supervisor is killed, the board powers it on again: boot +1, reset reason CRASH, every service running", { timeout: 120_000 }, async () => {
    const before = await ground.status();
    // The supervisor: the services' parent.
    const supervisorPid = Number(readFileSync(`/proc/${byName(before, "ttc").pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    expect(readFileSync(`/proc/${supervisorPid}/cmdline`, "utf8")).toContain("packages/supervisor/dist/main.js");
    const oldPids = new Map(before.services.map((s) => [s.name, s.pid]));
    process.kill(supervisorPid, "SIGKILL");
    await run.waitForLine(/^umbra: payload reset \(supervisor killed by SIGKILL\)/, 10_000);
    const after = await until(
      async () => {
        const st = await ground.status();
        return st.bootCount > before.bootCount && SERVICES.every((n) => byName(st, n).state === P.PROCESS_STATE_RUNNING) ? st : undefined;
      },
      "the supervisor back with every service running",
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}${run.context()}`);
    });
    expect(after.bootCount, describeStatus(after)).toBe(before.bootCount + 1);
    expect(resetReasonName(after.resetReason)).toBe("CRASH");
    expect(modeName(after.mode)).toBe("NOMINAL");
    // A reset takes every service with it: new processes, the old ones gone.
    for (const name of SERVICES) {
      expect(byName(after, name).pid).not.toBe(oldPids.get(name));
      expect(alive(oldPids.get(name)!), name).toBe(false);
    }
    const boots = bootRecord(run.data);
    expect(boots.slice(-2).map((b) => [b.boot, b.reset_reason, b.ended])).toEqual([
      [before.bootCount, before.bootCount === 1 ? "power-on" : expect.any(String), null],
      [after.bootCount, "crash", null],
    ]);
  });

  it("(e) a service that keeps crashing is given up on: safe mode; leaveSafeMode (armed, by telecommand) brings every service back", { timeout: 120_000 }, async () => {
    // The supervisor learned anew after the reset: wait until the TTC routes to it again.
    let st = await ground.allRunning(SERVICES, 60_000);
    expect(modeName(st.mode)).toBe("NOMINAL");
    for (let i = 0; i < 10; i++) {
      st = await ground.status();
      if (modeName(st.mode) === "SAFE") break;
      const jobs = byName(st, "jobs");
      if (jobs.state === P.PROCESS_STATE_RUNNING && jobs.pid > 0) process.kill(jobs.pid, "SIGKILL");
      await until(
        async () => {
          const s = await ground.status();
          const j = byName(s, "jobs");
          return modeName(s.mode) === "SAFE" || (j.state === P.PROCESS_STATE_RUNNING && j.pid !== jobs.pid) ? s : undefined;
        },
        "jobs back or safe mode",
        20_000,
        100,
      );
    }
    st = await until(
      async () => {
        const s = await ground.status();
        return modeName(s.mode) === "SAFE" && ["jobs", "inference", "scrubber"].every((n) => [P.PROCESS_STATE_STOPPED, P.PROCESS_STATE_FAILED].includes(byName(s, n).state)) ? s : undefined;
      },
      "safe mode with jobs, inference and scrubber down",
      30_000,
    );
    expect(st.safeModeReason, describeStatus(st)).toMatch(/^jobs failed 3 times/);
    expect(stateName(byName(st, "jobs").state)).toBe("FAILED");
    for (const n of ["inference", "scrubber"]) expect(stateName(byName(st, n).state), n).toBe("STOPPED");
    for (const n of SAFE_KEEP) expect(stateName(byName(st, n).state), n).toBe("RUNNING");
    expect(ground.events.some((e) => e.service === "supervisor" && e.name === "safeModeEntered")).toBe(true);

    // leaveSafeMode is critical: refused without an arm ...
    const unarmed = await ground.telecommand(SUPERVISOR_APID, "supervisor", "leaveSafeMode", umbra.supervisor.v1.LeaveSafeMode, {});
    expect(unarmed.success).toBe(false);
    expect(umbra.ttc.v1.FailureCode[unarmed.code]).toBe("FAILURE_PRECONDITION");
    expect(modeName((await ground.status()).mode)).toBe("SAFE");
    // ... and done when armed first.
    const { arm, fire } = await ground.critical(SUPERVISOR_APID, "supervisor", "leaveSafeMode", umbra.supervisor.v1.LeaveSafeMode, {});
    expect(arm.success, failure(arm)).toBe(true);
    expect(fire.success, failure(fire)).toBe(true);
    st = await ground.allRunning(SERVICES, 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${describeStatus(await ground.status())}${run.context()}`);
    });
    expect(modeName(st.mode)).toBe("NOMINAL");
    expect(st.safeModeReason).toBe("");
    expect(byName(st, "jobs").recentFailures).toBe(0);
    await sleep(500);
  });
});
