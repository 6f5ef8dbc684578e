// The thermal service's static configuration: how much power each actor
// draws in each of its states (an energy model, as the kernel's EM gives the
// power allocator), and which trip profile each zone uses. Parameters that an
// operator may change in flight (trips, gains, budgets) are service
// parameters instead; their site defaults are passed as ServiceContext
// parameters. Everything here is checked when the service starts, and a bad
// value is refused with the field that is wrong.
import type { CpuFreqPolicyInfo } from "@umbra/platform";
import { checkActorModel, type ActorModel } from "./allocator.js";
import { PROFILES, type ZoneProfile } from "./governor.js";

export interface CpuPowerModel {
  /** Power at the lowest step, fully loaded (leakage and uncore included), W. */
  minW: number;
  /** Power at the top step, fully loaded, W. */
  maxW: number;
  /** Dynamic power ∝ f^exponent between them (2..3 for DVFS: f·V², V rising with f). */
  exponent: number;
}

export interface ThermalConfig {
  cpu?: {
    /** Per cpufreq policy: power at each frequency step (every available step must be listed). */
    tables?: Record<string, { khz: number; watts: number }[]>;
    /** For policies without a table: power from the steps the platform reports. */
    model?: CpuPowerModel;
  };
  /** The inference accelerator's power states; omit if there is none. */
  accelerator?: { levels: { level: number; watts: number }[] };
  /** Job slots the runner may be granted: minSlots..maxSlots, each costing slotW beyond the CPU. */
  jobs: { minSlots: number; maxSlots: number; slotW: number };
  /** Trip profile per zone name; zones not listed take one from their kernel type. */
  zoneProfiles?: Record<string, ZoneProfile>;
}

export class ThermalConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`thermal config: ${field}: ${problem}`);
    this.name = "ThermalConfigError";
  }
}

export const DEFAULT_CPU_MODEL: CpuPowerModel = { minW: 3, maxW: 30, exponent: 2.5 };

const isNum = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi;

/** Checks the parts of the config that do not depend on the hardware. */
export function checkConfig(config: ThermalConfig): void {
  if (config === null || typeof config !== "object") throw new ThermalConfigError("(root)", "must be an object");
  const j = config.jobs;
  if (j === null || typeof j !== "object") throw new ThermalConfigError("jobs", "is required (the job runner obeys its grant)");
  if (!Number.isSafeInteger(j.minSlots) || j.minSlots < 1 || j.minSlots > 1024) throw new ThermalConfigError("jobs.minSlots", `must be an integer 1..1024, got ${String(j.minSlots)}`);
  if (!Number.isSafeInteger(j.maxSlots) || j.maxSlots < j.minSlots || j.maxSlots > 1024) throw new ThermalConfigError("jobs.maxSlots", `must be an integer minSlots..1024, got ${String(j.maxSlots)}`);
  if (!isNum(j.slotW, 0, 10_000)) throw new ThermalConfigError("jobs.slotW", `must be a number 0..10000, got ${String(j.slotW)}`);
  const m = config.cpu?.model;
  if (m !== undefined) {
    if (!isNum(m.minW, 0, 10_000)) throw new ThermalConfigError("cpu.model.minW", `must be a number 0..10000, got ${String(m.minW)}`);
    if (!isNum(m.maxW, m.minW, 10_000)) throw new ThermalConfigError("cpu.model.maxW", `must be a number minW..10000, got ${String(m.maxW)}`);
    if (!isNum(m.exponent, 0.5, 5)) throw new ThermalConfigError("cpu.model.exponent", `must be a number 0.5..5, got ${String(m.exponent)}`);
  }
  for (const [zone, p] of Object.entries(config.zoneProfiles ?? {})) {
    if (!(PROFILES as readonly string[]).includes(p)) throw new ThermalConfigError(`zoneProfiles.${zone}`, `must be one of ${PROFILES.join(", ")}, got ${JSON.stringify(p)}`);
  }
  if (config.accelerator !== undefined) {
    const levels = config.accelerator.levels;
    if (!Array.isArray(levels) || levels.length === 0) throw new ThermalConfigError("accelerator.levels", "must list at least one level");
    const problem = checkActorModel({ name: "accelerator", kind: "accelerator", weight: 1, levels: levels.map((l) => ({ value: l.level, watts: l.watts })) });
    if (problem) throw new ThermalConfigError("accelerator.levels", problem);
  }
}

/** The power at each step of a policy, from its table or the model. */
export function cpuLevels(policy: CpuFreqPolicyInfo, config: ThermalConfig): { value: number; watts: number }[] {
  const steps = policy.availableKHz;
  if (steps.length === 0) throw new ThermalConfigError(`cpu (${policy.policy})`, "the platform lists no frequency steps for this policy");
  const table = config.cpu?.tables && Object.prototype.hasOwnProperty.call(config.cpu.tables, policy.policy) ? config.cpu.tables[policy.policy] : undefined;
  if (table) {
    if (!Array.isArray(table)) throw new ThermalConfigError(`cpu.tables.${policy.policy}`, "must be a list of { khz, watts }");
    return steps.map((khz) => {
      const row = table.find((r) => r.khz === khz);
      if (!row) throw new ThermalConfigError(`cpu.tables.${policy.policy}`, `has no power for ${khz} kHz (the platform lists ${steps.join(", ")} kHz)`);
      if (!isNum(row.watts, 0, 10_000)) throw new ThermalConfigError(`cpu.tables.${policy.policy}[${khz}]`, `watts must be a number 0..10000, got ${String(row.watts)}`);
      return { value: khz, watts: row.watts };
    });
  }
  const model = config.cpu?.model ?? DEFAULT_CPU_MODEL;
  const top = steps.at(-1)!;
  const bottom = steps[0]!;
  const scale = (f: number) => (f / top) ** model.exponent;
  return steps.map((khz) => ({
    value: khz,
    watts: top === bottom ? model.maxW : model.minW + ((model.maxW - model.minW) * (scale(khz) - scale(bottom))) / (1 - scale(bottom)),
  }));
}

/** Every actor: one per cpufreq policy, the accelerator if configured, and the job slots. */
export function buildActors(config: ThermalConfig, policies: readonly CpuFreqPolicyInfo[]): ActorModel[] {
  checkConfig(config);
  const actors: ActorModel[] = policies.map((p) => ({ name: `cpu:${p.policy}`, kind: "cpu", weight: 1, levels: cpuLevels(p, config) }));
  if (config.accelerator) actors.push({ name: "accelerator", kind: "accelerator", weight: 1, levels: config.accelerator.levels.map((l) => ({ value: l.level, watts: l.watts })) });
  const j = config.jobs;
  actors.push({ name: "jobs", kind: "jobs", weight: 1, levels: Array.from({ length: j.maxSlots - j.minSlots + 1 }, (_, i) => ({ value: j.minSlots + i, watts: (j.minSlots + i) * j.slotW })) });
  for (const a of actors) {
    const problem = checkActorModel(a);
    if (problem) throw new ThermalConfigError(`actor ${a.name}`, problem);
  }
  return actors;
}
