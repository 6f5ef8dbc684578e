// What a model variant costs on this payload, learned while jobs run.
//
// Energy is measured, not assumed: every scheduling tick the runner samples
// the bus power through the platform's power port. While no job computes,
// the sample teaches the base load (platform + idle payload). While jobs
// compute, the power above the base load is the jobs' power; over the tick
// it is energy, shared among the running jobs by the compute time each used,
// and divided by the inferences each completed it becomes a sample of that
// variant's energy per inference. Moving averages smooth both. Before the
// first sample a variant costs its prior: the inference service's own
// learned figure (whole-bus power × compute time, so an over-estimate) or,
// without one, the runner's conservative default.
import type { LearnedCost } from "./store.js";
import { replicaRuns, type ProtectionName } from "./job.js";
import type { VariantCost } from "./scheduler.js";

export interface CostPrior {
  /** Per unprotected inference (ModelInfo.energy_j); 0 = none. */
  energyJ: number;
  /** Per unprotected inference, ms (ModelInfo.latency_ms); 0 = none. */
  latencyMs: number;
}

export interface CostModelOptions {
  /** Weight of a new sample, (0, 1]. */
  weight: number;
  defaultEnergyJ: number;
  defaultSeconds: number;
}

export interface JobActivity {
  jobId: string;
  key: string;
  /** Protected inferences completed in the interval. */
  inferences: number;
  /** Compute time reported by the inference service for them, s. */
  computeS: number;
  /** Wall time the job's worker spent on them, s. */
  wallS: number;
}

export function costKey(model: string, protection: ProtectionName): string {
  return `${model}|${protection}`;
}

export class CostModel {
  private readonly learned = new Map<string, LearnedCost>();
  private readonly priors = new Map<string, CostPrior>();
  /** Learned base load, W (NaN until the first idle sample). */
  baseLoadW = Number.NaN;
  baseSamples = 0;

  constructor(private readonly options: CostModelOptions, saved: readonly LearnedCost[] = [], savedBaseW?: number) {
    for (const c of saved) if (c.energyJ >= 0 && c.seconds > 0) this.learned.set(c.key, { ...c });
    if (savedBaseW !== undefined && Number.isFinite(savedBaseW) && savedBaseW >= 0) {
      this.baseLoadW = savedBaseW;
      this.baseSamples = 1;
    }
  }

  setPrior(model: string, prior: CostPrior): void {
    this.priors.set(model, prior);
  }

  cost(model: string, protection: ProtectionName): VariantCost {
    const key = costKey(model, protection);
    const l = this.learned.get(key);
    const runs = replicaRuns(protection);
    const prior = this.priors.get(model);
    const priorEnergy = prior && prior.energyJ > 0 ? prior.energyJ * runs : this.options.defaultEnergyJ * runs;
    const priorSeconds = prior && prior.latencyMs > 0 ? (prior.latencyMs / 1000) * runs : this.options.defaultSeconds * runs;
    if (!l) return { energyJ: priorEnergy, seconds: priorSeconds };
    // A measured zero (the load did not move) still costs something: keep a tenth of the prior as a floor.
    return { energyJ: Math.max(l.energyJ, priorEnergy * 0.1), seconds: l.seconds };
  }

  samples(model: string, protection: ProtectionName): number {
    return this.learned.get(costKey(model, protection))?.samples ?? 0;
  }

  /**
   * One interval of `dtS` seconds at bus power `busW` with this activity.
   * Returns the energy attributed to each job (J), for metering.
   */
  observe(dtS: number, busW: number, activity: readonly JobActivity[]): Map<string, number> {
    const out = new Map<string, number>();
    if (!(dtS > 0) || !Number.isFinite(busW) || busW < 0) return out;
    const w = this.options.weight;
    const busy = activity.filter((a) => a.inferences > 0 || a.computeS > 0);
    if (busy.length === 0) {
      this.baseLoadW = this.baseSamples === 0 ? busW : this.baseLoadW + w * (busW - this.baseLoadW);
      this.baseSamples++;
      return out;
    }
    if (this.baseSamples === 0) return out; // nothing to subtract yet: meter nothing rather than guess
    const jobsJ = Math.max(0, busW - this.baseLoadW) * dtS;
    const totalCompute = busy.reduce((s, a) => s + Math.max(a.computeS, 1e-9), 0);
    for (const a of busy) {
      const share = (jobsJ * Math.max(a.computeS, 1e-9)) / totalCompute;
      out.set(a.jobId, (out.get(a.jobId) ?? 0) + share);
      if (a.inferences > 0) {
        const perInference = share / a.inferences;
        const seconds = a.wallS / a.inferences;
        const l = this.learned.get(a.key);
        if (!l) this.learned.set(a.key, { key: a.key, energyJ: perInference, seconds: seconds > 0 ? seconds : this.options.defaultSeconds, samples: 1 });
        else {
          l.energyJ += w * (perInference - l.energyJ);
          if (seconds > 0) l.seconds += w * (seconds - l.seconds);
          l.samples++;
        }
      }
    }
    return out;
  }

  snapshot(): LearnedCost[] {
    return [...this.learned.values()].map((c) => ({ ...c }));
  }
}
