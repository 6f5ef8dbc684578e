// The hardware as a service sees it. One interface per concern; a Linux
// adapter (sysfs, /dev/watchdog) and a HIL adapter (bus) implement each, so
// service code is identical on a board and on a bench.
//
// Every read is async and either returns a validated value or rejects with a
// PlatformError naming the port, the source and what was wrong. No port ever
// returns NaN or a guess.

export interface ThermalZone {
  /** Stable name, e.g. "thermal_zone0". */
  zone: string;
  /** Kernel type, e.g. "cpu-thermal". */
  type: string;
}

export interface ThermalZonesPort {
  zones(): Promise<ThermalZone[]>;
  /** Temperature in degrees Celsius. */
  readCelsius(zone: string): Promise<number>;
}

export interface CpuFreqPolicyInfo {
  policy: string;
  cpus: number[];
  /** Ascending. */
  availableKHz: number[];
}

export interface CpuFreqPort {
  policies(): Promise<CpuFreqPolicyInfo[]>;
  currentKHz(policy: string): Promise<number>;
  maxKHz(policy: string): Promise<number>;
  /** Sets the scaling ceiling; must be one of the available steps. */
  setMaxKHz(policy: string, khz: number): Promise<void>;
}

export interface PowerReadings {
  busVoltageV: number;
  /** Positive = drawn by the payload. */
  busCurrentA: number;
  /** Power coming in from the solar array. */
  inputPowerW: number;
  /** 0..100. */
  batterySocPct: number;
}

export interface PowerPort {
  read(): Promise<PowerReadings>;
}

export interface EdacCounts {
  controller: string;
  correctable: bigint;
  uncorrectable: bigint;
}

export interface EdacPort {
  read(): Promise<EdacCounts[]>;
}

export interface WatchdogStatus {
  armed: boolean;
  timeoutS: number;
}

/** What the watchdog hardware says about the last reset, read once at boot. */
export interface WatchdogBootStatus {
  /** The hardware flags that the last reset came from the watchdog (Linux bootstatus WDIOF_CARDRESET); undefined when it cannot say. */
  cardReset?: boolean;
  /** Expirations the emulated hardware has counted since it powered on (HIL); undefined on a board. */
  expirations?: number;
}

export interface WatchdogPort {
  /** Why the last reset happened, as far as the watchdog hardware knows. Never rejects: unknown is an empty object. */
  bootStatus(): Promise<WatchdogBootStatus>;
  /** Opens and starts the watchdog with the given timeout (seconds). */
  arm(timeoutS: number): Promise<void>;
  kick(): Promise<void>;
  /** Stops it cleanly (the magic close), where the hardware allows. */
  disarm(): Promise<void>;
  status(): WatchdogStatus;
}

/** Where the spacecraft is in its day/night cycle, as the spacecraft bus predicts it. */
export interface IlluminationReading {
  /** The solar array sees the Sun now. */
  sunlit: boolean;
  /** Seconds until the next eclipse entry (when sunlit) or exit (in eclipse); -1 = none predicted. */
  secondsToTransition: number;
  /** Length of the current eclipse, or of the next one when sunlit (s); 0 = none predicted. */
  eclipseDurationS: number;
  /** Orbital period (s), > 0. */
  orbitPeriodS: number;
}

export interface IlluminationPort {
  read(): Promise<IlluminationReading>;
}

/**
 * How busy a component keeps the processor. On a bench the HIL turns the
 * reports into the payload's electrical load; on a board the load is physical
 * and the report goes nowhere. Never blocks and never fails for I/O (a
 * report made after the HIL adapter's bus closed is dropped); a bad argument
 * (not a service name, busyCores not a finite number in 0..MAX_BUSY_CORES)
 * throws a RangeError on either platform.
 */
export interface ActivityPort {
  /** `busyCores`: cores kept busy on average since this source's last report. */
  report(source: string, busyCores: number): void;
}

/** All ports of one platform. */
export interface Platform {
  readonly kind: "linux" | "hil";
  thermal: ThermalZonesPort;
  cpufreq: CpuFreqPort;
  power: PowerPort;
  edac: EdacPort;
  watchdog: WatchdogPort;
  illumination: IlluminationPort;
  activity: ActivityPort;
  close(): Promise<void>;
}

/** The port a PlatformError comes from. */
export type PlatformPortName = "thermal" | "cpufreq" | "power" | "edac" | "watchdog" | "illumination";

/** A port could not give a trustworthy answer. */
export class PlatformError extends Error {
  constructor(
    readonly port: PlatformPortName,
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${port}: ${source}: ${reason}`);
    this.name = "PlatformError";
  }
}
