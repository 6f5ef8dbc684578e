// The scheduling policy, as a pure function of one instant: which jobs run,
// on which model, and why every other job waits. The service calls it every
// tick with what it knows (jobs, learned costs, quotas, the power situation,
// the thermal budget) and applies the plan.
//
// Power-aware policy, in order:
//  1. A power or thermal emergency holds every job.
//  2. A job whose deadline has passed expires.
//  3. Jobs are taken by priority (highest first), then earliest deadline,
//     then submission order; so when something must give, the lowest
//     priority gives first.
//  4. Slots (what the thermal budget grants) go, after the energy, to the
//     jobs energy allows by earliest deadline.
//  5. Among its model and its acceptable variants (loaded, declared accuracy
//     meeting the job's floor) it runs on the one that completes the most
//     tiles before its deadline within the energy the forecast allows until
//     the end of the next eclipse, preferring the job's order on ties; if none
//     fits whole, on the variant with the most inferences per joule as long as
//     one batch fits; otherwise it waits, and the reason says for what.
//  6. A tenant's remaining quota caps what its jobs may be given.
// FIFO (the baseline the benchmark measures against): submission order, the
// preferred model only, no energy forecast; emergencies, slots, quotas and
// deadlines still apply.
import { HeadroomLedger, endSocWithJobs, forecast, phaseEnergy, type BatteryModel, type Forecast, type PowerSituation } from "./forecast.js";
import type { ActiveState, ProtectionName } from "./job.js";

export type Policy = "power-aware" | "fifo";

export interface SchedulerJob {
  id: string;
  tenant: string;
  state: ActiveState;
  priority: number;
  submittedMs: number;
  deadlineMs: number | null;
  model: string;
  variants: readonly string[];
  accuracyFloor: number;
  protection: ProtectionName;
  tilesTotal: number;
  tilesDone: number;
  batchSize: number;
  /** The model it runs on now (running/admitted), else null. */
  variant: string | null;
}

export interface VariantCost {
  /** Energy per protected inference, J (bus side, above the base load). */
  energyJ: number;
  /** Wall time per protected inference, s. */
  seconds: number;
}

export interface ModelFacts {
  loaded: boolean;
  /** Declared accuracy, 0..1; 0 = not declared. */
  accuracy: number;
}

export interface TenantAllowance {
  /** Remaining this period (Infinity = no quota). */
  joules: number;
  coreSeconds: number;
  /** Words for a waiting reason, e.g. "orbit period ends in 12 min". */
  resetIn: string;
}

export interface PowerInput {
  battery: BatteryModel;
  situation: PowerSituation;
  /** DoD floor + margin, %. */
  floorPct: number;
}

export interface PlanInput {
  nowMs: number;
  policy: Policy;
  jobs: readonly SchedulerJob[];
  models: ReadonlyMap<string, ModelFacts>;
  cost(model: string, protection: ProtectionName): VariantCost;
  tenants: ReadonlyMap<string, TenantAllowance>;
  /** Job slots the thermal budget grants now (and the runner's own maximum). */
  slots: number;
  slotsReason: string;
  /** Non-null: every job holds, for this reason. */
  emergency: string | null;
  /** null: the power readings are not trustworthy now. */
  power: PowerInput | null;
}

export type JobAction =
  | { id: string; action: "run"; variant: string; reason: string; forecastEnergyJ: number }
  | { id: string; action: "wait"; reason: string; forecastEnergyJ: number }
  | { id: string; action: "expire"; reason: string; forecastEnergyJ: number };

export interface Plan {
  actions: JobAction[];
  forecast: Forecast | null;
  /** Bus-side job energy still unpromised after the plan, J (Infinity under FIFO or without a forecast). */
  headroomJ: number;
  /** Average job power of the plan, W. */
  loadW: number;
  /** Lowest SoC predicted through the horizon with the plan's load, % (NaN without a forecast). */
  forecastMinSocPct: number;
}

function minutes(s: number): string {
  if (!Number.isFinite(s)) return "∞";
  return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}

function joules(j: number): string {
  return j >= 1000 ? `${(j / 1000).toFixed(1)} kJ` : `${j.toFixed(0)} J`;
}

/** Order of service: priority, then deadline, then submission; FIFO: submission only. */
export function serviceOrder(policy: Policy, jobs: readonly SchedulerJob[]): SchedulerJob[] {
  const byId = (a: SchedulerJob, b: SchedulerJob) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (policy === "fifo") return [...jobs].sort((a, b) => a.submittedMs - b.submittedMs || byId(a, b));
  return [...jobs].sort(
    (a, b) =>
      b.priority - a.priority ||
      (a.deadlineMs ?? Number.POSITIVE_INFINITY) - (b.deadlineMs ?? Number.POSITIVE_INFINITY) ||
      a.submittedMs - b.submittedMs ||
      byId(a, b),
  );
}

/** The models a job may run on now, in its order of preference, with why the others may not. */
export function candidates(job: SchedulerJob, models: ReadonlyMap<string, ModelFacts>, policy: Policy): { usable: string[]; refused: string[] } {
  const usable: string[] = [];
  const refused: string[] = [];
  const preferred = models.get(job.model);
  if (preferred?.loaded) usable.push(job.model);
  else refused.push(`${job.model} is not loaded`);
  if (policy === "fifo") return { usable, refused };
  for (const v of job.variants) {
    const facts = models.get(v);
    if (!facts?.loaded) refused.push(`${v} is not loaded`);
    else if (facts.accuracy === 0) refused.push(`${v} has no declared accuracy`);
    else if (facts.accuracy < job.accuracyFloor) refused.push(`${v} accuracy ${facts.accuracy} < floor ${job.accuracyFloor}`);
    else usable.push(v);
  }
  return { usable, refused };
}

export function plan(input: PlanInput): Plan {
  const actions: JobAction[] = [];
  const order = serviceOrder(input.policy, input.jobs);
  let f: Forecast | null = null;
  let ledger: HeadroomLedger | null = null;
  if (input.policy === "power-aware" && input.power) {
    f = forecast(input.power.battery, input.power.situation, input.power.floorPct);
    ledger = new HeadroomLedger(input.power.battery, f, input.power.situation);
  }
  const tenantLeft = new Map([...input.tenants].map(([k, v]) => [k, { ...v }]));
  let fifoSlotsLeft = Math.max(0, input.slots);
  const powerOf = new Map<string, { powerW: number; energy: number }>();
  for (const job of order) {
    const remaining = job.tilesTotal - job.tilesDone;
    const timeLeftS = job.deadlineMs === null ? Number.POSITIVE_INFINITY : (job.deadlineMs - input.nowMs) / 1000;
    if (timeLeftS <= 0) {
      actions.push({ id: job.id, action: "expire", reason: `deadline passed with ${job.tilesDone} of ${job.tilesTotal} tiles done`, forecastEnergyJ: 0 });
      continue;
    }
    const preferredCost = input.cost(job.model, job.protection);
    const forecastEnergyJ = remaining * preferredCost.energyJ;
    const wait = (reason: string, energy = forecastEnergyJ) => actions.push({ id: job.id, action: "wait", reason, forecastEnergyJ: energy });
    if (input.emergency !== null) {
      wait(`emergency: ${input.emergency}`);
      continue;
    }
    if (input.policy === "power-aware" && !input.power) {
      wait("power readings unavailable: no job runs without a trustworthy battery state");
      continue;
    }
    if (input.slots === 0) {
      wait(`no job slot: ${input.slotsReason}`);
      continue;
    }
    // FIFO hands out slots in its order; the power-aware policy after this loop, by deadline.
    if (input.policy === "fifo" && fifoSlotsLeft === 0) {
      wait(`all ${input.slots} job slot(s) taken by jobs ahead of it (${input.slotsReason})`);
      continue;
    }
    const { usable, refused } = candidates(job, input.models, input.policy);
    if (usable.length === 0) {
      wait(`no model to run on: ${refused.join("; ")}`);
      continue;
    }
    const allowance = tenantLeft.get(job.tenant);
    if (!allowance) {
      wait(`tenant ${job.tenant} does not exist`);
      continue;
    }
    // Score each usable model: tiles it can complete before the deadline,
    // within the tenant's quota, and what that costs over the horizon.
    const options = usable.map((model, rank) => {
      const c = input.cost(model, job.protection);
      const byDeadline = Number.isFinite(timeLeftS) ? Math.floor(timeLeftS / c.seconds) : remaining;
      const byQuota = Math.min(
        c.energyJ > 0 ? Math.floor(allowance.joules / c.energyJ) : remaining,
        c.seconds > 0 ? Math.floor(allowance.coreSeconds / c.seconds) : remaining,
      );
      const tiles = Math.max(0, Math.min(remaining, byDeadline, byQuota));
      const powerW = c.energyJ / c.seconds;
      const energy = tiles * c.energyJ;
      const phase = f ? phaseEnergy(f, powerW, energy) : { sunlitJ: energy, eclipseJ: 0 };
      const batch = Math.min(job.batchSize, Math.max(1, tiles)) * c.energyJ;
      const batchPhase = f ? phaseEnergy(f, powerW, batch) : { sunlitJ: batch, eclipseJ: 0 };
      return { model, rank, c, tiles, byDeadline, byQuota, powerW, energy, phase, batchPhase };
    });
    if (options.every((o) => o.byDeadline === 0)) {
      wait(`cannot finish a tile before the deadline in ${minutes(timeLeftS)} on ${usable.join(" or ")}`);
      continue;
    }
    if (options.every((o) => o.byQuota === 0)) {
      wait(`quota: tenant ${job.tenant} has ${joules(allowance.joules)} and ${allowance.coreSeconds.toFixed(0)} core-s left, less than one inference (${allowance.resetIn})`);
      continue;
    }
    const productive = options.filter((o) => o.tiles > 0);
    let chosen: (typeof options)[number] | undefined;
    let reason: string;
    if (!ledger) {
      chosen = productive[0];
      reason = input.policy === "fifo" ? "first in, first out" : "runs";
    } else {
      const whole = productive.filter((o) => ledger.fits(o.phase.sunlitJ, o.phase.eclipseJ));
      whole.sort((a, b) => b.tiles - a.tiles || a.rank - b.rank);
      chosen = whole[0];
      if (chosen) {
        const preferredUsable = usable.includes(job.model);
        reason =
          chosen.model === job.model
            ? "energy and heat allow it"
            : preferredUsable
              ? `on ${chosen.model}: ${job.model} would not finish within the energy or before the deadline`
              : `on ${chosen.model}: ${refused[0]}`;
        ledger.take(chosen.phase.sunlitJ, chosen.phase.eclipseJ);
      } else {
        // Partial: the most inferences per joule, while one batch fits.
        const thrifty = [...productive].sort((a, b) => a.c.energyJ - b.c.energyJ || a.rank - b.rank)[0];
        if (thrifty && ledger.fits(thrifty.batchPhase.sunlitJ, thrifty.batchPhase.eclipseJ)) {
          chosen = thrifty;
          const left = ledger.remainingJ();
          reason = `on ${thrifty.model} for about ${joules(left)} of the ${joules(thrifty.energy)} it needs: the battery must stay above ${f!.floorPct.toFixed(0)}% through the next eclipse`;
          // It takes whatever is left (take clamps at zero).
          ledger.take(thrifty.phase.sunlitJ, thrifty.phase.eclipseJ);
        } else {
          const cheapest = thrifty ?? options[0]!;
          wait(
            `energy: the forecast keeps ${joules(ledger.remainingJ())} for jobs until the ${f!.sunlitS > 0 ? "end of the next eclipse" : "eclipse ends"} in ${minutes(f!.horizonS)}; a batch on ${cheapest.model} needs ${joules(cheapest.batchPhase.sunlitJ + cheapest.batchPhase.eclipseJ)}`,
          );
          continue;
        }
      }
    }
    if (!chosen) {
      wait("nothing it could do would count");
      continue;
    }
    fifoSlotsLeft--;
    const quotaLeft = tenantLeft.get(job.tenant)!;
    quotaLeft.joules -= chosen.energy;
    quotaLeft.coreSeconds -= chosen.tiles * chosen.c.seconds;
    actions.push({ id: job.id, action: "run", variant: chosen.model, reason, forecastEnergyJ: remaining * chosen.c.energyJ });
    powerOf.set(job.id, { powerW: chosen.powerW, energy: chosen.energy });
  }
  // Energy went by priority. Slots go by deadline among the jobs energy
  // allows (earliest deadline first meets the most deadlines), priority
  // breaking ties; those left over wait for a slot.
  const runs = actions.filter((a): a is Extract<JobAction, { action: "run" }> => a.action === "run");
  if (runs.length > input.slots) {
    const byId = new Map(input.jobs.map((j) => [j.id, j]));
    const ranked = [...runs].sort((a, b) => {
      const ja = byId.get(a.id)!;
      const jb = byId.get(b.id)!;
      return (
        (ja.deadlineMs ?? Number.POSITIVE_INFINITY) - (jb.deadlineMs ?? Number.POSITIVE_INFINITY) ||
        jb.priority - ja.priority ||
        ja.submittedMs - jb.submittedMs ||
        (ja.id < jb.id ? -1 : 1)
      );
    });
    const losers = new Set(ranked.slice(input.slots).map((a) => a.id));
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      if (a.action === "run" && losers.has(a.id)) {
        actions[i] = { id: a.id, action: "wait", reason: `all ${input.slots} job slot(s) taken by jobs with earlier deadlines (${input.slotsReason})`, forecastEnergyJ: a.forecastEnergyJ };
      }
    }
  }
  let loadW = 0;
  let plannedJ = 0;
  for (const a of actions) {
    const p = a.action === "run" ? powerOf.get(a.id) : undefined;
    if (p) {
      loadW += p.powerW;
      plannedJ += p.energy;
    }
  }
  const forecastMinSocPct = f && input.power ? endSocWithJobs(input.power.battery, input.power.situation, f, loadW, plannedJ) : Number.NaN;
  return { actions, forecast: f, headroomJ: ledger ? ledger.remainingJ() : Number.POSITIVE_INFINITY, loadW, forecastMinSocPct };
}
