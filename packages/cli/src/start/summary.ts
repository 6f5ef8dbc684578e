// The summary `umbra start` prints when it stops: jobs, energy, the battery's
// lowest charge, faults injected and corrected, telemetry downlinked. The
// figures come from the services (over the bus, before they stop) and from
// the HIL's report; buildSummary is pure.
import type { Bus } from "@umbra/core";
import { umbra } from "@umbra/proto";
import type { StackObservation } from "./observe.js";
import { stateName } from "./workload.js";

export interface JobsTally {
  done: number;
  waiting: number;
  running: number;
  failed: number;
  expired: number;
  cancelled: number;
  /** Energy the runner metered to the jobs in its database (J). */
  jobsEnergyJ: number;
  error?: string;
}

/** The job runner's queue by state (all jobs in its database). */
export async function jobsTally(hub: Bus): Promise<JobsTally> {
  const J = umbra.jobs.v1;
  const empty = { done: 0, waiting: 0, running: 0, failed: 0, expired: 0, cancelled: 0, jobsEnergyJ: 0 };
  try {
    const list = await hub.request(J.QueryJobs, { states: [], tenant: "", limit: 1000 }, J.JobList, { target: "jobs", timeoutMs: 5000 });
    const by: Record<string, number> = {};
    for (const j of list.jobs) by[stateName(j.state)] = (by[stateName(j.state)] ?? 0) + 1;
    const n = (s: string) => by[s] ?? 0;
    return {
      done: n("done"),
      waiting: n("queued") + n("admitted") + n("paused"),
      running: n("running"),
      failed: n("failed"),
      expired: n("expired"),
      cancelled: n("cancelled"),
      jobsEnergyJ: list.jobs.reduce((a, j) => a + j.energyJ, 0),
    };
  } catch (err) {
    return { ...empty, error: `the jobs service did not answer QueryJobs: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The parts of the HIL's report the summary uses (hil/src/report: RunReport). */
export interface HilReportExtract {
  summary: Record<string, unknown>;
  faults: { kind: string; target?: string; outcome: string; cause?: string }[];
}

export interface StackSummary {
  simulatedS: number;
  jobs: JobsTally;
  energy: { jobsJ: number; loadWh?: number; batteryChargedWh?: number; batteryDischargedWh?: number };
  minSocPct?: number;
  faults: {
    injected: number;
    byKind: Record<string, number>;
    /** Bits the scrubber corrected, votes TMR corrected, replicas rebuilt, service restarts, payload resets. */
    corrected: { scrubbedBits: number; votesCorrected: number; replicaRebuilds: number; serviceRestarts: number; payloadResets: number };
  };
  downlink: { packets?: number; bytes?: number };
  boots: { boot: number; resetReason: string; mode: string; safeReason: string };
  hilReport?: string;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function buildSummary(o: StackObservation, jobs: JobsTally, report: HilReportExtract | undefined, payloadResets: number, restarts: number, hilReport?: string): StackSummary {
  const s = report?.summary ?? {};
  const applied = (report?.faults ?? []).filter((f) => f.outcome === "applied" || f.outcome.startsWith("applied"));
  const byKind: Record<string, number> = {};
  for (const f of applied) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const t = (svc: string, name: string) => num(o.telemetry[svc]?.[name]) ?? 0;
  const out: StackSummary = {
    simulatedS: Math.round(o.elapsedS),
    jobs,
    energy: { jobsJ: +jobs.jobsEnergyJ.toPrecision(4) },
    faults: {
      injected: applied.length,
      byKind,
      corrected: {
        scrubbedBits: t("scrubber", "correctedBits"),
        votesCorrected: t("inference", "votesCorrected"),
        replicaRebuilds: t("inference", "replicaRebuilds"),
        serviceRestarts: restarts,
        payloadResets,
      },
    },
    downlink: {},
    boots: { boot: o.boot, resetReason: o.resetReason, mode: o.mode ?? "unknown", safeReason: o.safeReason },
  };
  const inWh = num(s["energyInWh"]);
  const outWh = num(s["energyOutWh"]);
  const loadWh = num(s["loadSuppliedWh"]);
  if (loadWh !== undefined) out.energy.loadWh = loadWh;
  if (inWh !== undefined) out.energy.batteryChargedWh = inWh;
  if (outWh !== undefined) out.energy.batteryDischargedWh = outWh;
  const minSoc = num(s["minSocPct"]) ?? (Number.isFinite(o.minSocPct) ? +o.minSocPct.toFixed(2) : undefined);
  if (minSoc !== undefined) out.minSocPct = minSoc;
  const packets = num(s["downlinkedPackets"]);
  const bytes = num(s["downlinkedBytes"]);
  if (packets !== undefined) out.downlink.packets = packets;
  if (bytes !== undefined) out.downlink.bytes = bytes;
  if (hilReport) out.hilReport = hilReport;
  return out;
}

/** Joules with the precision small figures need (a tiny model's inference costs milli-joules). */
function joules(j: number): string {
  return j === 0 || j >= 10 ? `${j.toFixed(1)} J` : `${j.toPrecision(2)} J`;
}

/** The summary as the lines a person reads (pure). */
export function summaryText(x: StackSummary): string[] {
  const j = x.jobs;
  const h = (sec: number) => `${(sec / 3600).toFixed(2)} h`;
  const kinds = Object.entries(x.faults.byKind)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  const c = x.faults.corrected;
  return [
    `summary after ${h(x.simulatedS)} simulated:`,
    `  jobs: ${j.error ? j.error : `${j.done} done, ${j.failed} failed, ${j.waiting} waiting, ${j.running} running${j.expired ? `, ${j.expired} expired` : ""}`}`,
    `  energy: ${joules(x.energy.jobsJ)} metered to jobs` +
      (x.energy.loadWh !== undefined ? `; ${x.energy.loadWh} Wh supplied to the loads` : "") +
      (x.energy.batteryChargedWh !== undefined ? `; battery charged ${x.energy.batteryChargedWh} Wh, discharged ${x.energy.batteryDischargedWh ?? "?"} Wh` : ""),
    `  battery: lowest state of charge ${x.minSocPct === undefined ? "unknown" : `${x.minSocPct}%`}`,
    `  faults injected: ${x.faults.injected}${kinds ? ` (${kinds})` : ""}`,
    `  corrected: ${c.scrubbedBits} bits scrubbed, ${c.votesCorrected} TMR votes corrected, ${c.replicaRebuilds} replicas rebuilt, ${c.serviceRestarts} service restarts, ${c.payloadResets} payload resets`,
    `  telemetry downlinked: ${x.downlink.packets === undefined ? "unknown" : `${x.downlink.packets} packets, ${((x.downlink.bytes ?? 0) / 1024).toFixed(1)} KiB`}`,
    `  payload: boot ${x.boots.boot} (reset reason ${x.boots.resetReason}), ${x.boots.mode} mode${x.boots.safeReason ? ` (${x.boots.safeReason})` : ""}`,
    ...(x.hilReport ? [`  HIL report: ${x.hilReport}`] : []),
  ];
}
