// `pnpm start --demo` end to end: the stack script with the HIL on a fast
// clock, the TTC, and the counter, inference, scrubber, thermal and jobs
// services in their own OS processes. The demo's telecommand, protected
// inference, power budget and scrubber telemetry must come back, its jobs
// (submitted by telecommand) must run, the TTC must learn the new services and
// archive what they send, a Ctrl-C must stop every process, and the summary
// at the end must count the jobs and the battery's lowest state of charge.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const startScript = join(here, "../../scripts/start.mjs");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Line {
  name?: string;
  msg?: string;
  level?: number;
  service?: string;
  pid?: number;
  [k: string]: unknown;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("pnpm start --demo", () => {
  it("runs inference, scrubber, thermal and jobs in their own processes and exercises them through the TTC and the bus", { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-start-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const child = spawn(
      process.execPath,
      [startScript, "--demo", "--duration", "60", "--speed", "600", "--data", join(dir, "data"), "--socket", join(dir, "bus.sock"), "--report", join(dir, "reports"), "--keys", join(dir, "keys.json")],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UMBRA_LOG_LEVEL: "info" } },
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const lines: Line[] = [];
    // The services run in their own process groups: if the stack script is
    // killed (a failed run), stop them here so none is left behind.
    cleanups.push(() => {
      for (const l of lines) if (l.msg?.endsWith("service started in its own process") && l.pid && alive(l.pid)) process.kill(l.pid, "SIGKILL");
    });
    let raw = "";
    let pending = "";
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<void>((resolve) => {
      child.stdout!.on("data", (d: Buffer) => {
        raw += d.toString();
        pending += d.toString();
        const parts = pending.split("\n");
        pending = parts.pop()!;
        for (const p of parts) {
          try {
            const line = JSON.parse(p) as Line;
            lines.push(line);
            if (line.msg === "demo: done" || (typeof line.msg === "string" && line.msg.startsWith("demo: failed"))) resolve();
          } catch {
            // not a log line
          }
        }
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // The demo ends within ~15 s (its last step waits for the 10 s telemetry reports); then Ctrl-C.
    await Promise.race([done, exited, new Promise((r) => setTimeout(r, 60_000))]);
    child.kill("SIGINT");
    const code = await exited;
    const context = `\n--- stdout (tail) ---\n${raw.slice(-6000)}\n--- stderr ---\n${stderr.slice(-2000)}`;
    expect(code, context).toBe(0);

    const demo = (prefix: string) => lines.find((l) => l.name === "umbra" && typeof l.msg === "string" && l.msg.startsWith(`demo: ${prefix}`));
    expect(lines.some((l) => l.msg?.startsWith("demo: failed")), context).toBe(false);

    // Each service came up in its own process and declared itself.
    const started = new Map(lines.filter((l) => l.msg?.endsWith("service started in its own process")).map((l) => [l.service!, l.pid!]));
    expect([...started.keys()].sort()).toEqual(["counter", "inference", "jobs", "scrubber", "thermal"]);
    for (const svc of ["inference", "scrubber", "thermal", "jobs"]) {
      expect(lines.some((l) => l.msg === "service declared" && l.service === svc), `${svc} declared${context}`).toBe(true);
      expect(started.get(svc)).not.toBe(process.pid);
      expect(lines.some((l) => l.name === svc && l.pid === started.get(svc) && l.msg === "service started"), `${svc} runs in process ${started.get(svc)}${context}`).toBe(true);
    }

    // The telecommand through the TTC, and the protected inference.
    expect(demo("inference.runCanary")?.["success"], context).toBe(true);
    const tmr = demo("ocr-cls under TMR:");
    expect(tmr, context).toBeDefined();
    expect(tmr!["vote"]).toBe("VOTE_STATUS_UNANIMOUS");
    expect(tmr!["replicaRuns"]).toBe(3);
    expect(["0deg", "180deg"]).toContain(tmr!["label"]);
    const upset = demo("ocr-cls under TMR with an upset");
    expect(upset!["vote"]).toBe("VOTE_STATUS_CORRECTED");
    expect(upset!["dissenting"]).toEqual([1]);
    expect(upset!["label"]).toBe(tmr!["label"]);

    // Thermal's budget and the scrubber's telemetry over the bus.
    const budget = demo("thermal PowerBudget");
    expect(budget!["budgetW"] as number).toBeGreaterThan(0);
    expect(budget!["controlZone"]).toBe("thermal_zone0");
    const scrub = demo("scrubber telemetry");
    expect(scrub!["regions"] as number).toBeGreaterThan(0);
    expect(scrub!["uncorrectableBlocks"]).toBe(0);

    // The job runner: a tenant and a mixed workload by telecommand through the
    // TTC; at least one job ran to done on the synthetic tiles (or, on a slow
    // machine, at least ran tiles).
    expect(demo("jobs.setTenant")?.["success"], context).toBe(true);
    const submits = lines.filter((l) => l.name === "umbra" && l.msg?.startsWith("demo: jobs.submit"));
    expect(submits.length, context).toBe(4);
    expect(submits.every((l) => l["success"] === true), context).toBe(true);
    const jobLines = lines.filter((l) => l.name === "umbra" && l.msg?.startsWith("demo: job ") && typeof l["state"] === "string");
    expect(jobLines.length, context).toBe(4);
    const doneJobs = jobLines.filter((l) => l["state"] === "done");
    if (doneJobs.length > 0) {
      for (const j of doneJobs) {
        expect(j["tilesDone"]).toBe(j["tilesTotal"]);
        expect(j["inferences"] as number).toBe(j["tilesTotal"]);
        expect(j["rawInputBytes"] as number).toBeGreaterThan(0);
      }
    } else {
      expect(Math.max(...jobLines.map((l) => l["tilesDone"] as number)), `no demo job done, and none ran a tile${context}`).toBeGreaterThan(0);
    }
    // The demo's accuracy declaration (for the variant) is withdrawn when its jobs end.
    if (demo("inference.setAccuracy tiny-cls 0.9")) expect(demo("inference.setAccuracy tiny-cls 0:")?.["success"], context).toBe(true);

    // The TTC learned the new services and archived what they sent.
    const dictionary = demo("TTC mission dictionary")!["services"] as string[];
    expect(dictionary).toEqual(expect.arrayContaining(["thermal@0x030", "inference@0x040", "scrubber@0x050", "jobs@0x060", "counter@0x7f0", "ttc@0x010"]));
    const archived = demo("TTC archive")!;
    const params = archived["archivedParameters"] as Record<string, number>;
    for (const svc of ["inference", "scrubber", "thermal"]) expect(params[svc], `${svc} telemetry archived${context}`).toBeGreaterThan(0);
    expect((archived["archivedEvents"] as Record<string, number>)["inference"]).toBeGreaterThan(0);

    // Ctrl-C stopped every service process cleanly, none unexpectedly.
    expect(lines.some((l) => typeof l.msg === "string" && l.msg.includes("exited unexpectedly")), context).toBe(false);
    for (const svc of ["inference", "scrubber", "thermal", "jobs", "counter"]) {
      expect(lines.some((l) => l.name === svc && l.msg === "service stopped"), `${svc} stopped${context}`).toBe(true);
      expect(alive(started.get(svc)!)).toBe(false);
    }

    // The summary at the end: the runner's jobs by state, the energy it metered, the battery's lowest SoC.
    const summary = lines.find((l) => l.name === "umbra" && l["summary"] === true && l.msg?.startsWith("summary: "));
    expect(summary, context).toBeDefined();
    const jobs = summary!["jobs"] as Record<string, number>;
    expect(jobs["done"]!, context).toBeGreaterThanOrEqual(doneJobs.length);
    expect(jobs["done"]! + jobs["waiting"]! + jobs["running"]! + jobs["failed"]!, context).toBeGreaterThanOrEqual(4);
    expect(jobs["meteredJ"]).toBeGreaterThanOrEqual(0);
    expect(summary!["minSocPct"] as number).toBeGreaterThan(0);
    expect(summary!.msg).toMatch(/^summary: jobs \d+ done, \d+ waiting, \d+ running, \d+ failed.*; [\d.]+ J and [\d.]+ core-s metered to jobs .*; lowest battery state of charge [\d.]+%$/);
  });
});
