// Checks on the HardwareState the HIL publishes. The HIL is outside input
// like sysfs is: a NaN temperature, a policy list out of order or a missing
// power reading is a PlatformError when a service reads it, never a number.
import type { MessageOf, umbra } from "@umbra/proto";
import type { CpuFreqPolicyInfo, EdacCounts, IlluminationReading, PowerReadings, ThermalZone } from "../ports.js";
import { checkIlluminationReading, type IlluminationField } from "../illumination.js";
import {
  CELSIUS_RANGE,
  CURRENT_RANGE,
  MAX_CPU,
  POWER_RANGE,
  SOC_RANGE,
  VOLTAGE_RANGE,
  checkAscendingKHz,
  checkIndexedName,
  checkKHz,
  checkRange,
  checkTimeoutS,
  fail,
  ok,
  parseName,
  quote,
  type Parsed,
} from "../parse.js";

export type HardwareState = MessageOf<typeof umbra.platform.v1.HardwareState>;
export type ThermalZoneReading = MessageOf<typeof umbra.platform.v1.ThermalZoneReading>;
export type CpuFreqPolicyMessage = MessageOf<typeof umbra.platform.v1.CpuFreqPolicy>;
export type WatchdogStateMessage = MessageOf<typeof umbra.platform.v1.WatchdogState>;

/** A failure with the field it was found in, e.g. `zones[thermal_zone0].celsius`. */
export interface FieldProblem {
  field: string;
  reason: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: FieldProblem };

const bad = <T>(field: string, reason: string): Checked<T> => ({ ok: false, problem: { field, reason } });
const good = <T>(value: T): Checked<T> => ({ ok: true, value });

function within<T>(field: string, parsed: Parsed<T>): Checked<T> {
  return parsed.ok ? good(parsed.value) : bad(field, parsed.reason);
}

function zoneField(z: ThermalZoneReading, i: number): string {
  return typeof z.zone === "string" && z.zone.length <= 64 ? `zones[${z.zone}]` : `zones[#${i}]`;
}

export function checkZones(state: HardwareState): Checked<ThermalZone[]> {
  const seen = new Set<string>();
  const out: ThermalZone[] = [];
  for (const [i, z] of state.zones.entries()) {
    const field = zoneField(z, i);
    const name = checkIndexedName(z.zone, "thermal_zone");
    if (!name.ok) return bad(`zones[#${i}].zone`, name.reason);
    if (seen.has(name.value)) return bad(field, "duplicate zone");
    seen.add(name.value);
    const type = parseName(z.type);
    if (!type.ok) return bad(`${field}.type`, type.reason);
    out.push({ zone: name.value, type: type.value });
  }
  return good(out);
}

export function checkZoneCelsius(state: HardwareState, zone: string): Checked<number> {
  const name = checkIndexedName(zone, "thermal_zone");
  if (!name.ok) return bad("zones", `unknown zone: ${name.reason}`);
  const matches = state.zones.filter((z) => z.zone === zone);
  if (matches.length === 0) return bad("zones", `unknown zone ${quote(zone)} (have ${state.zones.map((z) => z.zone).join(", ") || "none"})`);
  if (matches.length > 1) return bad(`zones[${zone}]`, "duplicate zone");
  return within(`zones[${zone}].celsius`, checkRange(matches[0]!.celsius, CELSIUS_RANGE));
}

function checkCpus(cpus: readonly number[]): Parsed<number[]> {
  const seen = new Set<number>();
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu > MAX_CPU) return fail(`CPU ${String(cpu)} is not in 0..${MAX_CPU}`);
    if (seen.has(cpu)) return fail(`CPU ${cpu} is listed twice`);
    seen.add(cpu);
  }
  return ok([...seen].sort((a, b) => a - b));
}

/** One policy, fully checked. */
export function checkPolicy(p: CpuFreqPolicyMessage, field: string): Checked<CpuFreqPolicyInfo & { currentKHz: number; maxKHz: number }> {
  const name = checkIndexedName(p.policy, "policy");
  if (!name.ok) return bad(`${field}.policy`, name.reason);
  const cpus = checkCpus(p.cpus);
  if (!cpus.ok) return bad(`${field}.cpus`, cpus.reason);
  const steps = checkAscendingKHz(p.availableKhz);
  if (!steps.ok) return bad(`${field}.available_khz`, steps.reason);
  const current = checkKHz(p.currentKhz);
  if (!current.ok) return bad(`${field}.current_khz`, current.reason);
  const max = checkKHz(p.maxKhz);
  if (!max.ok) return bad(`${field}.max_khz`, max.reason);
  return good({ policy: name.value, cpus: cpus.value, availableKHz: steps.value, currentKHz: current.value, maxKHz: max.value });
}

export function checkPolicies(state: HardwareState): Checked<CpuFreqPolicyInfo[]> {
  const seen = new Set<string>();
  const out: CpuFreqPolicyInfo[] = [];
  for (const [i, p] of state.cpufreq.entries()) {
    const checked = checkPolicy(p, `cpufreq[#${i}]`);
    if (!checked.ok) return checked;
    if (seen.has(checked.value.policy)) return bad(`cpufreq[${checked.value.policy}]`, "duplicate policy");
    seen.add(checked.value.policy);
    const { policy, cpus, availableKHz } = checked.value;
    out.push({ policy, cpus, availableKHz });
  }
  return good(out);
}

/** The named policy, checked. */
export function findPolicy(state: HardwareState, policy: string): Checked<CpuFreqPolicyInfo & { currentKHz: number; maxKHz: number }> {
  const name = checkIndexedName(policy, "policy");
  if (!name.ok) return bad("cpufreq", `unknown policy: ${name.reason}`);
  const matches = state.cpufreq.filter((p) => p.policy === policy);
  if (matches.length === 0) return bad("cpufreq", `unknown policy ${quote(policy)} (have ${state.cpufreq.map((p) => p.policy).join(", ") || "none"})`);
  if (matches.length > 1) return bad(`cpufreq[${policy}]`, "duplicate policy");
  return checkPolicy(matches[0]!, `cpufreq[${policy}]`);
}

export function checkPower(state: HardwareState): Checked<PowerReadings> {
  const p = state.power;
  if (!p) return bad("power", "no power reading in the hardware state");
  const v = checkRange(p.busVoltageV, VOLTAGE_RANGE);
  if (!v.ok) return bad("power.bus_voltage_v", v.reason);
  const a = checkRange(p.busCurrentA, CURRENT_RANGE);
  if (!a.ok) return bad("power.bus_current_a", a.reason);
  const w = checkRange(p.inputPowerW, POWER_RANGE);
  if (!w.ok) return bad("power.input_power_w", w.reason);
  const soc = checkRange(p.batterySocPct, SOC_RANGE);
  if (!soc.ok) return bad("power.battery_soc_pct", soc.reason);
  return good({ busVoltageV: v.value, busCurrentA: a.value, inputPowerW: w.value, batterySocPct: soc.value });
}

const ILLUMINATION_FIELDS: Record<IlluminationField, string> = {
  sunlit: "sunlit",
  secondsToTransition: "seconds_to_transition",
  eclipseDurationS: "eclipse_duration_s",
  orbitPeriodS: "orbit_period_s",
};

export function checkIllumination(state: HardwareState): Checked<IlluminationReading> {
  const i = state.illumination;
  if (!i) return bad("illumination", "no illumination in the hardware state");
  const checked = checkIlluminationReading(i);
  return checked.ok ? good(checked.value) : bad(`illumination.${ILLUMINATION_FIELDS[checked.field]}`, checked.reason);
}

export function checkEdac(state: HardwareState): Checked<EdacCounts[]> {
  const seen = new Set<string>();
  const out: EdacCounts[] = [];
  for (const [i, e] of state.edac.entries()) {
    const name = checkIndexedName(e.controller, "mc");
    if (!name.ok) return bad(`edac[#${i}].controller`, name.reason);
    if (seen.has(name.value)) return bad(`edac[${name.value}]`, "duplicate controller");
    seen.add(name.value);
    // uint64 on the wire: a decoded value is always a bigint in 0..2^64-1; checked anyway.
    for (const [key, value] of [["correctable", e.correctable], ["uncorrectable", e.uncorrectable]] as const) {
      if (typeof value !== "bigint" || value < 0n) return bad(`edac[${name.value}].${key}`, `not an unsigned counter: ${String(value)}`);
    }
    out.push({ controller: name.value, correctable: e.correctable, uncorrectable: e.uncorrectable });
  }
  return good(out);
}

/** A WatchdogState reply: the timeout must be valid whenever the watchdog is armed. */
export function checkWatchdogState(w: WatchdogStateMessage): Checked<{ armed: boolean; timeoutS: number }> {
  if (typeof w.armed !== "boolean") return bad("armed", `not a boolean: ${String(w.armed)}`);
  if (w.armed) {
    const t = checkTimeoutS(w.timeoutS);
    if (!t.ok) return bad("timeout_s", t.reason);
  }
  return good({ armed: w.armed, timeoutS: w.timeoutS });
}
