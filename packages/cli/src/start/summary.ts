// The line `umbra start` logs when it stops: the runner's jobs by state,
// the energy it metered since it started, the battery's lowest charge.
import type { Bus, Logger } from "@umbra/core";
import { umbra } from "@umbra/proto";
import type { Observed } from "./context.js";
import { stateName } from "./workload.js";

export interface JobsTally {
  done?: number;
  waiting?: number;
  running?: number;
  failed?: number;
  expired?: number;
  cancelled?: number;
  meteredJ: number | undefined;
  meteredCoreS: number | undefined;
  jobsEnergyJ?: number;
  inferences?: number | undefined;
  error?: string;
}

const num = (v: unknown) => (typeof v === "number" ? v : undefined);

/** The job runner's queue by state (all jobs in its database) and the energy it metered since it started. */
export async function jobsTally(hub: Bus, observed: Observed): Promise<JobsTally> {
  const t = observed.jobsTelemetry;
  const meteredJ = num(t?.["meteredJoules"]);
  const meteredCoreS = num(t?.["meteredCoreSeconds"]);
  const J = umbra.jobs.v1;
  try {
    const list = await hub.request(J.QueryJobs, { states: [], tenant: "", limit: 1000 }, J.JobList, { target: "jobs", timeoutMs: 2000 });
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
      meteredJ,
      meteredCoreS,
      jobsEnergyJ: list.jobs.reduce((a, j) => a + j.energyJ, 0),
      inferences: num(t?.["inferences"]),
    };
  } catch (err) {
    return { error: `the jobs service did not answer QueryJobs: ${err instanceof Error ? err.message : String(err)}`, meteredJ, meteredCoreS };
  }
}

/** The summary message (pure): "summary: jobs N done, ...; energy; lowest SoC". */
export function summaryMessage(jobs: JobsTally, minSocPct: number | undefined): string {
  const energy =
    jobs.meteredJ === undefined
      ? "energy metered unknown (no runner telemetry)"
      : `${jobs.meteredJ.toFixed(2)} J and ${(jobs.meteredCoreS ?? 0).toFixed(3)} core-s metered to jobs since the runner started`;
  const soc = minSocPct === undefined ? "lowest battery state of charge unknown" : `lowest battery state of charge ${minSocPct}%`;
  const queue = jobs.error
    ? jobs.error
    : `jobs ${jobs.done} done, ${jobs.waiting} waiting, ${jobs.running} running, ${jobs.failed} failed` +
      `${jobs.expired ? `, ${jobs.expired} expired` : ""}${jobs.cancelled ? `, ${jobs.cancelled} cancelled` : ""}`;
  return `summary: ${queue}; ${energy}; ${soc}`;
}

export function logSummary(logger: Logger, jobs: JobsTally, observed: Observed, hilMinSocPct: number | undefined): void {
  const minSocPct = hilMinSocPct ?? (Number.isFinite(observed.minSocSeen) ? +observed.minSocSeen.toFixed(2) : undefined);
  logger.info({ summary: true, jobs, minSocPct }, summaryMessage(jobs, minSocPct));
}
