// Is a temperature reading fit to act on? Detects the four ways a sensor
// lies or goes quiet:
//
//   missing       the read failed or the zone is gone (PlatformError, timeout)
//   nan           not a number
//   out-of-range  not finite, or outside the plausible range for the zone
//   stuck         exactly the same value for longer than stuckAfterMs: a live
//                 sensor on a working computer always moves a little (noise,
//                 load), a frozen ADC or a dead I2C mux does not
//
// A faulty sensor is trusted again only after recoverSamples good readings in
// a row, so one lucky reading in a burst of garbage does not bring it back.
// Pure: the caller passes the time.

export const SENSOR_FAULT_KINDS = ["missing", "nan", "out-of-range", "stuck"] as const;
export type SensorFaultKind = (typeof SENSOR_FAULT_KINDS)[number];

export interface SensorLimits {
  validMinC: number;
  validMaxC: number;
  /** Unchanged this long (ms) is stuck; 0 turns the check off. */
  stuckAfterMs: number;
  /** Good readings in a row before a faulty sensor is trusted again (>= 1). */
  recoverSamples: number;
}

/** What the port gave: a value (checked here) or the reason there is none. */
export type RawReading = { value: unknown } | { error: string; kind?: "missing" | "nan" | "out-of-range" };

export interface SensorFault {
  kind: SensorFaultKind;
  detail: string;
}

export interface Assessment {
  /** The reading may be acted on. */
  trusted: boolean;
  /** The value when it is a finite number (trusted or not), for telemetry. */
  celsius: number | undefined;
  /** The fault in force (present while not trusted). */
  fault: SensorFault | undefined;
  /** Set on the poll the sensor became faulty or was trusted again. */
  change: "faulted" | "recovered" | undefined;
}

export class SensorHealth {
  private lastValue: number | undefined;
  private lastChangeMs = 0;
  private fault: SensorFault | undefined;
  private goodRun = 0;

  get currentFault(): SensorFault | undefined {
    return this.fault;
  }

  assess(raw: RawReading, nowMs: number, limits: SensorLimits): Assessment {
    const instant = this.instantFault(raw, limits);
    const value = "value" in raw && typeof raw.value === "number" && Number.isFinite(raw.value) ? raw.value : undefined;
    let now: SensorFault | undefined = instant;
    if (!instant && value !== undefined) {
      if (this.lastValue === undefined || value !== this.lastValue) {
        this.lastValue = value;
        this.lastChangeMs = nowMs;
      } else if (limits.stuckAfterMs > 0 && nowMs - this.lastChangeMs >= limits.stuckAfterMs) {
        now = { kind: "stuck", detail: `${value} °C unchanged for ${Math.round((nowMs - this.lastChangeMs) / 1000)} s` };
      }
    }

    const wasFaulty = this.fault !== undefined;
    let change: Assessment["change"];
    if (now) {
      this.goodRun = 0;
      // Keep the first fault's kind unless it changes, so a report names what happened.
      if (!this.fault || this.fault.kind !== now.kind) this.fault = now;
      else this.fault = { kind: now.kind, detail: now.detail };
      if (!wasFaulty) change = "faulted";
    } else if (wasFaulty) {
      this.goodRun++;
      if (this.goodRun >= Math.max(1, limits.recoverSamples)) {
        this.fault = undefined;
        this.goodRun = 0;
        change = "recovered";
      }
    }
    return { trusted: this.fault === undefined, celsius: value, fault: this.fault, change };
  }

  /** Forgets everything learned (operator reset). */
  reset(): void {
    this.lastValue = undefined;
    this.lastChangeMs = 0;
    this.fault = undefined;
    this.goodRun = 0;
  }

  private instantFault(raw: RawReading, limits: SensorLimits): SensorFault | undefined {
    if ("error" in raw) return { kind: raw.kind ?? "missing", detail: raw.error };
    const v = raw.value;
    if (typeof v !== "number") return { kind: "nan", detail: `not a number: ${typeof v}` };
    if (Number.isNaN(v)) return { kind: "nan", detail: "NaN" };
    if (!Number.isFinite(v)) return { kind: "out-of-range", detail: `${v}` };
    if (v < limits.validMinC || v > limits.validMaxC) return { kind: "out-of-range", detail: `${v} °C is outside ${limits.validMinC}..${limits.validMaxC} °C` };
    return undefined;
  }
}
