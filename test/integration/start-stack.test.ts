// `umbra start` end to end, headless: the compiled CLI plays the board (the
// supervisor and every service in their own processes, the HIL environment
// in its own, joined to the supervisor's bus hub) on the default scenario,
// stack-demo.yaml, at 240× so its three simulated hours take about 45 wall
// seconds. It must exit 0, print where the gateway listens, status lines and
// the summary as one JSON line; and the summary's figures must agree with
// what the TTC archived (its archive.db, read with the TTC's own reader) and
// with the supervisor's boot record.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openArchive } from "@umbra/ttc";
import { gatewayUrl } from "./helpers/gateway.js";
import { bootRecord, startUmbra, type UmbraRun } from "./helpers/stack.js";

const runs: UmbraRun[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.cleanup();
});

const ALL_TIME: [bigint, bigint] = [0n, 2n ** 62n];
const num = (v: unknown) => (typeof v === "bigint" ? Number(v) : (v as number));

interface Summary {
  simulatedS: number;
  jobs: { done: number; waiting: number; running: number; failed: number; expired: number; cancelled: number; jobsEnergyJ: number; error?: string };
  energy: { jobsJ: number; loadWh?: number; batteryChargedWh?: number; batteryDischargedWh?: number };
  minSocPct?: number;
  faults: { injected: number; byKind: Record<string, number>; corrected: { scrubbedBits: number; votesCorrected: number; replicaRebuilds: number; serviceRestarts: number; payloadResets: number } };
  downlink: { packets?: number; bytes?: number };
  boots: { boot: number; resetReason: string; mode: string; safeReason: string };
  hilReport?: string;
}

describe("umbra start", () => {
  it("plays the default scenario headless and exits 0; its summary agrees with the TTC's archive and the boot record", { timeout: 150_000 }, async () => {
    const run = startUmbra({ args: ["--speed", "240", "--duration", "75", "--json"] });
    runs.push(run);

    // Where the gateway listens, while the payload runs: a real HTTP server on the port it picked.
    const url = await gatewayUrl(run);
    expect(url, run.context()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    const res = await fetch(`${url}/api/openapi.json`);
    expect(res.status, run.context()).toBeLessThan(500);
    await res.body?.cancel();

    const { code, signal } = await run.exited;
    const context = run.context();
    expect({ code, signal }, context).toEqual({ code: 0, signal: null });
    const out = run.lines;

    // The board: the scenario and the configuration it played, then status lines (one every 10 s when not on a terminal).
    expect(out.some((l) => /^umbra: HIL scenario .*stack-demo\.yaml at 240× speed; configuration .*config\/umbra\.yaml$/.test(l)), context).toBe(true);
    const status = out.filter((l) => /^T\+\d\d:\d\d:\d\d \| /.test(l));
    expect(status.length, context).toBeGreaterThanOrEqual(2);
    expect(status.some((l) => /^T\+\d\d:\d\d:\d\d \| nominal \| services 6\/6 \| SoC [\d.]+% \| (sunlit|eclipse)/.test(l)), context).toBe(true);
    expect(out.some((l) => l === "umbra: the HIL scenario has ended" || l === "umbra: stopping the payload"), context).toBe(true);
    expect(out.some((l) => /giving up|exited \(code/.test(l)), context).toBe(false);

    // The summary: the last line, one JSON document, the same as reports/summary.json.
    const summary = JSON.parse(out[out.length - 1]!) as Summary;
    expect(JSON.parse(readFileSync(join(run.reports, "summary.json"), "utf8"))).toEqual(summary);
    expect(summary.jobs.error, context).toBeUndefined();
    expect(summary.boots).toEqual({ boot: 1, resetReason: "power-on", mode: "nominal", safeReason: "" });
    expect(summary.faults.corrected.payloadResets).toBe(0);
    expect(summary.simulatedS, context).toBeGreaterThan(3600);
    expect(summary.hilReport).toBe(join(run.reports, "stack-demo.html"));
    // The scheduled kill of the scrubber reached it (at 130 simulated minutes) and was restarted.
    // (The scenario's 60-simulated-second hang of jobs is a quarter of a wall second at 240×, and one
    // wall second at the default 60×: shorter than the 5 wall seconds of heartbeatTimeoutS, so it
    // is injected but never seen as a hang; no restart is expected from it.)
    expect(summary.faults.byKind["kill"], context).toBe(1);
    expect(summary.faults.corrected.serviceRestarts, context).toBeGreaterThanOrEqual(1);

    // The HIL report the summary took its environment figures from.
    const hil = JSON.parse(readFileSync(join(run.reports, "stack-demo.json"), "utf8")) as { summary: Record<string, number>; faults: { outcome: string }[] };
    expect(summary.minSocPct).toBe(hil.summary["minSocPct"]);
    expect(summary.energy.batteryChargedWh).toBe(hil.summary["energyInWh"]);
    expect(summary.energy.batteryDischargedWh).toBe(hil.summary["energyOutWh"]);
    expect(summary.energy.loadWh).toBe(hil.summary["loadSuppliedWh"]);
    expect(summary.energy.loadWh).toBeGreaterThan(0);
    expect(summary.downlink.packets).toBe(hil.summary["downlinkedPackets"]);
    expect(summary.faults.injected).toBe(hil.faults.filter((f) => f.outcome.startsWith("applied")).length);

    // ---- against the TTC's archive (the TTC has stopped: the file is closed) ----
    const archive = openArchive(join(run.data, "archive.db"));
    try {
      const series = (service: string, name: string) => {
        const s = archive.samples(service, name, ...ALL_TIME);
        return s.values.map(num);
      };
      const last = (service: string, name: string) => {
        const v = series(service, name);
        expect(v.length, `${service}.${name} archived${context}`).toBeGreaterThan(0);
        return v[v.length - 1]!;
      };

      // Jobs done: the summary asks the runner (QueryJobs) just before the payload
      // stops; the runner reports its counters every simulated second, and may
      // report once more while it stops. So the runner's last archived `done`
      // and the summary's can differ by a job that ended between the two, no more.
      const doneArchived = last("jobs", "done");
      expect(summary.jobs.done, context).toBeGreaterThanOrEqual(1);
      expect(Math.abs(summary.jobs.done - doneArchived), `summary ${summary.jobs.done} done, archive ${doneArchived}${context}`).toBeLessThanOrEqual(1);
      // Energy: the runner's metered joules are the sum over its jobs; with nothing
      // running at the end and the same jobs done, the two are the same figure.
      if (summary.jobs.running === 0 && summary.jobs.done === doneArchived) {
        expect(summary.energy.jobsJ, context).toBeCloseTo(last("jobs", "meteredJoules"), 1);
      }
      expect(summary.energy.jobsJ).toBeGreaterThan(0);

      // The battery: the HIL's lowest state of charge is over the whole scenario
      // (every 10 s step), the runner's readings are samples of the same battery:
      // none is lower (the HIL report rounds to 0.01 %).
      const soc = series("jobs", "socPct");
      expect(soc.length).toBeGreaterThan(0);
      expect(summary.minSocPct!, context).toBeLessThanOrEqual(Math.min(...soc) + 0.01);
      expect(summary.minSocPct!).toBeGreaterThan(0);

      // Corrections: the summary takes the services' newest telemetry, which the
      // TTC archived too (it stops last, after every service's final report).
      expect(summary.faults.corrected.scrubbedBits, context).toBe(last("scrubber", "correctedBits"));
      expect(summary.faults.corrected.votesCorrected, context).toBe(last("inference", "votesCorrected"));
      expect(summary.faults.corrected.replicaRebuilds, context).toBe(last("inference", "replicaRebuilds"));
      // Service restarts: one per archived serviceRestarted event (one boot, so the counters never reset);
      // the supervisor's own restartsTotal telemetry is reported periodically, so it may lag, never lead.
      const supervisorEvents = archive.events({ fromNs: ALL_TIME[0], toNs: ALL_TIME[1], service: "supervisor" });
      expect(summary.faults.corrected.serviceRestarts, context).toBe(supervisorEvents.filter((e) => e.name === "serviceRestarted").length);
      expect(last("supervisor", "restartsTotal")).toBeLessThanOrEqual(summary.faults.corrected.serviceRestarts);
      expect(supervisorEvents.some((e) => e.name === "serviceCrashed" && e.args["service"] === "scrubber"), context).toBe(true);
      expect(last("supervisor", "bootCount")).toBe(1);
      expect(last("supervisor", "mode")).toBe(1);
    } finally {
      archive.close();
    }

    // The boot record: one boot, on power-on, stable, ended cleanly by the stop.
    expect(bootRecord(run.data)).toEqual([{ boot: 1, reset_reason: "power-on", stable: 1, ended: "clean" }]);
  });
});
