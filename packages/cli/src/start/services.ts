// What --platform linux needs and this machine lacks (pure: the file system
// is asked through a probe, so tests need no board). The services and their
// command lines are the supervisor's (@umbra/supervisor launch-plan).
import { join } from "node:path";

/** What a file-system probe answers: a folder's entries (undefined if it is not there), and whether a file exists. */
export interface FsProbe {
  list(dir: string): string[] | undefined;
  exists(path: string): boolean;
}

export interface Prerequisite {
  /** The services that need it. */
  services: string[];
  path: string;
  what: string;
  /** Without it the stack cannot run (a service would exit at start); otherwise a warning. */
  required: boolean;
}

/** Where the jobs service reads the spacecraft bus's eclipse prediction on a board (DEFAULT_ILLUMINATION_PATH in @umbra/platform). */
export const ILLUMINATION_FILE = "/run/umbra/illumination.json";

/**
 * What --platform linux needs and this machine lacks: the sysfs interfaces
 * the services' ports read (thermal zones and cpufreq for the thermal
 * governor, a power monitor and a battery for the job runner and the
 * inference service's power readings, EDAC for the scrubber) and the
 * eclipse file. Empty when everything is there.
 */
export function missingLinuxPrerequisites(probe: FsProbe, sysRoot = "/sys"): Prerequisite[] {
  const missing: Prerequisite[] = [];
  const has = (dir: string, pattern: RegExp) => (probe.list(dir) ?? []).some((e) => pattern.test(e));
  const thermal = join(sysRoot, "class", "thermal");
  if (!has(thermal, /^thermal_zone\d+$/)) missing.push({ services: ["thermal"], path: thermal, what: "no thermal zones (thermal_zone*)", required: true });
  const cpu = join(sysRoot, "devices", "system", "cpu");
  const policies = has(join(cpu, "cpufreq"), /^policy\d+$/) || (probe.list(cpu) ?? []).some((e) => /^cpu\d+$/.test(e) && probe.exists(join(cpu, e, "cpufreq")));
  if (!policies) missing.push({ services: ["thermal"], path: join(cpu, "cpufreq"), what: "no cpufreq policies (is a cpufreq driver loaded?)", required: true });
  const hwmon = join(sysRoot, "class", "hwmon");
  if (!has(hwmon, /^hwmon\d+$/)) missing.push({ services: ["inference", "jobs"], path: hwmon, what: "no hwmon devices (the bus power monitor)", required: true });
  const supply = join(sysRoot, "class", "power_supply");
  if (!has(supply, /./)) missing.push({ services: ["jobs"], path: supply, what: "no power_supply (the battery)", required: true });
  const edac = join(sysRoot, "devices", "system", "edac", "mc");
  if (!has(edac, /^mc\d+$/)) missing.push({ services: ["scrubber"], path: edac, what: "no EDAC memory controllers (the scrubber reports edacOk false)", required: false });
  if (!probe.exists(ILLUMINATION_FILE)) {
    missing.push({ services: ["jobs"], path: ILLUMINATION_FILE, what: "no eclipse prediction from the spacecraft bus interface yet (the job runner forecasts without it until it appears)", required: false });
  }
  return missing;
}

/** One message naming each missing interface and the service that needs it, and what to do. */
export function describeMissing(missing: readonly Prerequisite[]): string {
  const lines = missing.map((m) => `  ${m.path}: ${m.what}; needed by ${m.services.join(", ")}${m.required ? "" : " (warning only)"}`);
  const fatal = missing.some((m) => m.required);
  return (
    `--platform linux: this machine lacks what the services read:\n${lines.join("\n")}` +
    (fatal ? "\nRun on the payload board (or a board with these drivers), or use --platform hil for the embedded HIL environment." : "")
  );
}
