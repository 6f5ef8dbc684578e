// The emulated payload computer: what its sysfs would show (thermal zones,
// cpufreq, power monitor, EDAC counters, watchdog), built from the
// environment's truth plus any sensor faults in force. Pure state; the run
// publishes it as umbra.platform.v1.HardwareState.
import type { Init } from "@umbra/proto";
import type { umbra } from "@umbra/proto";
import type { Scenario } from "../scenario/schema.js";

export type ThermalNodeName = "die" | "board" | "radiator";

export interface SensorFault {
  sensor: string;
  kind: "stuck" | "spike" | "nan";
  value: number | undefined;
  untilS: number;
}

export interface HardwareInputs {
  temperaturesC: Record<ThermalNodeName, number>;
  busVoltageV: number;
  busCurrentA: number;
  inputPowerW: number;
  batterySocPct: number;
  illumination: { sunlit: boolean; secondsToTransition: number; eclipseDurationS: number; orbitPeriodS: number };
}

export class EmulatedHardware {
  private readonly policies: { policy: string; cpus: number[]; availableKHz: number[]; maxKHz: number }[];
  private readonly sensorFaults: SensorFault[] = [];
  private readonly stuckValues = new Map<string, number>();
  readonly edac: { controller: string; correctable: bigint; uncorrectable: bigint }[];
  watchdog = { armed: false, timeoutS: 0, lastKickS: 0, lastKickNs: 0n, expirations: 0 };

  constructor(private readonly config: Scenario["hardware"]) {
    this.policies = config.cpufreq.map((p) => ({ policy: p.policy, cpus: [...p.cpus], availableKHz: [...p.availableKHz], maxKHz: p.availableKHz.at(-1)! }));
    this.edac = config.edacControllers.map((controller) => ({ controller, correctable: 0n, uncorrectable: 0n }));
  }

  /** Ratio of the lowest policy ceiling to its top step: scales the payload's dynamic power. */
  frequencyRatio(): number {
    let ratio = 1;
    for (const p of this.policies) ratio = Math.min(ratio, p.maxKHz / p.availableKHz.at(-1)!);
    return ratio;
  }

  setMaxKHz(policy: string, khz: number): { ok: true; state: Init<umbra.platform.v1.CpuFreqPolicy.$Shape> } | { ok: false; error: string } {
    const p = this.policies.find((x) => x.policy === policy);
    if (!p) return { ok: false, error: `no cpufreq policy ${JSON.stringify(policy)}` };
    if (!p.availableKHz.includes(khz)) return { ok: false, error: `${khz} kHz is not one of ${p.availableKHz.join(", ")}` };
    p.maxKHz = khz;
    return { ok: true, state: this.policyState(p) };
  }

  private policyState(p: (typeof this.policies)[number]) {
    // The governor runs at the ceiling when busy; this emulation has no idle states.
    return { policy: p.policy, cpus: p.cpus, availableKhz: p.availableKHz, currentKhz: p.maxKHz, maxKhz: p.maxKHz };
  }

  addSensorFault(fault: SensorFault): void {
    this.sensorFaults.push(fault);
  }

  /** Drops sensor faults that have ended. */
  expireFaults(nowS: number): void {
    for (let i = this.sensorFaults.length - 1; i >= 0; i--) {
      if (this.sensorFaults[i]!.untilS <= nowS) {
        this.stuckValues.delete(this.sensorFaults[i]!.sensor);
        this.sensorFaults.splice(i, 1);
      }
    }
  }

  /** A sensor's reading after faults: stuck holds its first value (or the given one), spike replaces, nan is NaN. */
  private read(sensor: string, truth: number): number {
    const fault = this.sensorFaults.find((f) => f.sensor === sensor);
    if (!fault) return truth;
    if (fault.kind === "nan") return Number.NaN;
    if (fault.kind === "spike") return fault.value ?? truth;
    let held = this.stuckValues.get(sensor);
    if (held === undefined) {
      held = fault.value ?? truth;
      this.stuckValues.set(sensor, held);
    }
    return held;
  }

  recordUpset(bits: number): void {
    const mc = this.edac[0];
    if (!mc) return;
    if (bits <= 1) mc.correctable++;
    else mc.uncorrectable++;
  }

  kickWatchdog(nowS: number, nowNs: bigint): void {
    this.watchdog.lastKickS = nowS;
    this.watchdog.lastKickNs = nowNs;
  }

  /** True when an armed watchdog has gone unkicked past its timeout (it then fires: the board resets). */
  checkWatchdog(nowS: number): boolean {
    const w = this.watchdog;
    if (!w.armed || nowS - w.lastKickS <= w.timeoutS) return false;
    w.expirations++;
    w.armed = false;
    return true;
  }

  state(missionTimeNs: bigint, inputs: HardwareInputs): Init<umbra.platform.v1.HardwareState.$Shape> {
    return {
      missionTimeNs,
      zones: this.config.thermalZones.map((z) => ({ zone: z.zone, type: z.type, celsius: this.read(z.zone, inputs.temperaturesC[z.node]) })),
      cpufreq: this.policies.map((p) => this.policyState(p)),
      power: {
        busVoltageV: this.read("busVoltage", inputs.busVoltageV),
        busCurrentA: this.read("busCurrent", inputs.busCurrentA),
        inputPowerW: this.read("inputPower", inputs.inputPowerW),
        batterySocPct: this.read("batterySoc", inputs.batterySocPct),
      },
      edac: this.edac.map((e) => ({ ...e })),
      watchdog: { armed: this.watchdog.armed, timeoutS: this.watchdog.timeoutS, lastKickNs: this.watchdog.lastKickNs, expirations: this.watchdog.expirations },
      // What the spacecraft bus tells the payload: its eclipse prediction, not a sensor, so no sensor faults apply.
      illumination: { ...inputs.illumination },
    };
  }
}
