// CPU frequency policies from /sys/devices/system/cpu/cpufreq/policy*/, or,
// where that directory is absent, from /sys/devices/system/cpu/cpu*/cpufreq
// (on current kernels those are symlinks to the policy directories; several
// CPUs share one policy, so they are grouped by the directory they resolve to).
import { basename, join } from "node:path";
import { PlatformError, type CpuFreqPolicyInfo, type CpuFreqPort } from "../ports.js";
import { checkIndexedName, checkKHz, parseCpuList, parseKHz, parseKHzList } from "../parse.js";
import { describeFsError, exists, listMatching, readAttribute, readParsed, writeAttribute } from "./fs.js";
import { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";

const POLICY = /^policy[0-9]+$/;
const CPU = /^cpu[0-9]+$/;

interface PolicyDir {
  name: string;
  dir: string;
}

export class LinuxCpuFreq implements CpuFreqPort {
  private readonly ctx: LinuxContext;
  /** /sys/devices/system/cpu */
  readonly cpuRoot: string;
  /** /sys/devices/system/cpu/cpufreq */
  readonly policyRoot: string;

  constructor(roots: LinuxRoots | LinuxContext = {}) {
    this.ctx = linuxContext(roots);
    this.cpuRoot = join(this.ctx.sysRoot, "devices", "system", "cpu");
    this.policyRoot = join(this.cpuRoot, "cpufreq");
  }

  async policies(): Promise<CpuFreqPolicyInfo[]> {
    const out: CpuFreqPolicyInfo[] = [];
    for (const p of await this.discover()) {
      out.push({ policy: p.name, cpus: await this.cpus(p.dir), availableKHz: await this.available(p.dir) });
    }
    return out;
  }

  async currentKHz(policy: string): Promise<number> {
    const p = await this.resolve(policy);
    return readParsed(this.ctx.fs, "cpufreq", join(p.dir, "scaling_cur_freq"), parseKHz);
  }

  async maxKHz(policy: string): Promise<number> {
    const p = await this.resolve(policy);
    return readParsed(this.ctx.fs, "cpufreq", join(p.dir, "scaling_max_freq"), parseKHz);
  }

  /**
   * Validates `khz` against the driver's steps (or cpuinfo_min..max when it
   * lists none), writes scaling_max_freq and reads it back: a value the
   * kernel accepted but clamps (another limit is lower) is an error too.
   */
  async setMaxKHz(policy: string, khz: number): Promise<void> {
    const p = await this.resolve(policy);
    const target = join(p.dir, "scaling_max_freq");
    const value = checkKHz(khz);
    if (!value.ok) throw new PlatformError("cpufreq", target, value.reason);
    const steps = await this.available(p.dir);
    if (steps.length > 0) {
      if (!steps.includes(khz)) {
        throw new PlatformError("cpufreq", target, `${khz} kHz is not one of the available frequencies of ${p.name} (${steps.join(", ")} kHz)`);
      }
    } else {
      const min = await readParsed(this.ctx.fs, "cpufreq", join(p.dir, "cpuinfo_min_freq"), parseKHz);
      const max = await readParsed(this.ctx.fs, "cpufreq", join(p.dir, "cpuinfo_max_freq"), parseKHz);
      if (khz < min || khz > max) {
        throw new PlatformError("cpufreq", target, `${khz} kHz is outside the hardware range of ${p.name} (${min}..${max} kHz)`);
      }
    }
    await writeAttribute(this.ctx.fs, "cpufreq", target, String(khz));
    const now = await readParsed(this.ctx.fs, "cpufreq", target, parseKHz);
    if (now !== khz) {
      throw new PlatformError("cpufreq", target, `wrote ${khz} kHz but it reads back ${now} kHz (another limit, thermal or QoS, may be capping it)`);
    }
  }

  /** Policy directories, by name, ascending. */
  async discover(): Promise<PolicyDir[]> {
    if (await exists(this.ctx.fs, "cpufreq", this.policyRoot)) {
      const names = await listMatching(this.ctx.fs, "cpufreq", this.policyRoot, POLICY);
      if (names.length > 0) return names.map((name) => ({ name, dir: join(this.policyRoot, name) }));
    }
    const byDir = new Map<string, PolicyDir>();
    const names = new Set<string>();
    for (const cpu of await listMatching(this.ctx.fs, "cpufreq", this.cpuRoot, CPU)) {
      const link = join(this.cpuRoot, cpu, "cpufreq");
      if (!(await exists(this.ctx.fs, "cpufreq", link))) continue; // a CPU without a driver
      let dir: string;
      try {
        dir = await this.ctx.fs.realpath(link);
      } catch (err) {
        throw new PlatformError("cpufreq", link, describeFsError(err, "directory"));
      }
      if (byDir.has(dir)) continue;
      // The kernel names a policy after its first CPU; CPUs come in ascending order.
      const base = basename(dir);
      let name = POLICY.test(base) ? base : `policy${cpu.slice(3)}`;
      if (names.has(name)) name = `policy${cpu.slice(3)}`;
      names.add(name);
      byDir.set(dir, { name, dir });
    }
    if (byDir.size === 0) {
      throw new PlatformError("cpufreq", this.policyRoot, `no cpufreq policies: no policy* here and no ${join(this.cpuRoot, "cpu*", "cpufreq")} (is a cpufreq driver loaded?)`);
    }
    return [...byDir.values()].sort((a, b) => Number(a.name.slice(6)) - Number(b.name.slice(6)));
  }

  private async resolve(policy: string): Promise<PolicyDir> {
    const name = checkIndexedName(policy, "policy");
    if (!name.ok) throw new PlatformError("cpufreq", this.policyRoot, `unknown policy: ${name.reason}`);
    const all = await this.discover();
    const found = all.find((p) => p.name === name.value);
    if (!found) throw new PlatformError("cpufreq", this.policyRoot, `unknown policy ${JSON.stringify(policy)} (have ${all.map((p) => p.name).join(", ")})`);
    return found;
  }

  /** affected_cpus (online CPUs of the policy), or related_cpus when that is absent or empty (all of them offline). */
  private async cpus(dir: string): Promise<number[]> {
    const affected = join(dir, "affected_cpus");
    const related = join(dir, "related_cpus");
    if (await exists(this.ctx.fs, "cpufreq", affected)) {
      const text = await readAttribute(this.ctx.fs, "cpufreq", affected);
      if (text.trim() !== "" || !(await exists(this.ctx.fs, "cpufreq", related))) {
        const parsed = parseCpuList(text);
        if (!parsed.ok) throw new PlatformError("cpufreq", affected, parsed.reason);
        return parsed.value;
      }
    } else if (!(await exists(this.ctx.fs, "cpufreq", related))) {
      throw new PlatformError("cpufreq", affected, "file is missing (ENOENT), and so is related_cpus");
    }
    return readParsed(this.ctx.fs, "cpufreq", related, parseCpuList);
  }

  /** The driver's frequency steps, ascending; [] when it lists none (the file is absent). */
  private async available(dir: string): Promise<number[]> {
    const path = join(dir, "scaling_available_frequencies");
    if (!(await exists(this.ctx.fs, "cpufreq", path))) return [];
    return readParsed(this.ctx.fs, "cpufreq", path, parseKHzList);
  }
}
