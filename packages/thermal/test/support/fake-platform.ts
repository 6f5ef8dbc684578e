// A platform double: zones whose readings a test sets (or breaks), and a
// cpufreq port that records every ceiling it was asked for.
import { PlatformError, type CpuFreqPolicyInfo, type CpuFreqPort, type ThermalZone, type ThermalZonesPort } from "@umbra/platform";

export class FakeThermal implements ThermalZonesPort {
  readonly readings = new Map<string, unknown>();
  readonly list: ThermalZone[] = [
    { zone: "thermal_zone0", type: "cpu-thermal" },
    { zone: "thermal_zone1", type: "board-thermal" },
  ];
  listFails = false;
  private tick = 0;

  constructor(die = 50, board = 40) {
    this.readings.set("thermal_zone0", die);
    this.readings.set("thermal_zone1", board);
  }

  set(zone: string, value: unknown): void {
    this.readings.set(zone, value);
  }

  async zones(): Promise<ThermalZone[]> {
    if (this.listFails) throw new PlatformError("thermal", "/sys/class/thermal", "EIO");
    return this.list.map((z) => ({ ...z }));
  }

  async readCelsius(zone: string): Promise<number> {
    const v = this.readings.get(zone);
    if (v instanceof Error) throw v;
    if (v === undefined) throw new PlatformError("thermal", `${zone}/temp`, "no such zone");
    // A live sensor: a little noise, so that a steady value is not "stuck".
    this.tick++;
    return typeof v === "number" && Number.isFinite(v) ? v + (this.tick % 2) * 0.01 : (v as number);
  }
}

export class FakeCpuFreq implements CpuFreqPort {
  readonly sets: { policy: string; khz: number }[] = [];
  readonly max = new Map<string, number>();
  failSets = false;

  constructor(readonly infos: CpuFreqPolicyInfo[] = [{ policy: "policy0", cpus: [0, 1, 2, 3], availableKHz: [600_000, 1_000_000, 1_400_000, 1_800_000] }]) {
    for (const p of infos) this.max.set(p.policy, p.availableKHz.at(-1)!);
  }

  async policies(): Promise<CpuFreqPolicyInfo[]> {
    return this.infos.map((p) => ({ ...p, cpus: [...p.cpus], availableKHz: [...p.availableKHz] }));
  }

  async currentKHz(policy: string): Promise<number> {
    return this.maxKHz(policy);
  }

  async maxKHz(policy: string): Promise<number> {
    const m = this.max.get(policy);
    if (m === undefined) throw new PlatformError("cpufreq", policy, "no such policy");
    return m;
  }

  async setMaxKHz(policy: string, khz: number): Promise<void> {
    if (this.failSets) throw new PlatformError("cpufreq", `${policy}/scaling_max_freq`, "EACCES");
    this.sets.push({ policy, khz });
    this.max.set(policy, khz);
  }
}
