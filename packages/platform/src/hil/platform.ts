// The HIL platform: the same ports, fed by the HIL environment over the bus.
// The bench publishes HardwareState every simulation step; reads come from
// the newest one (never older than staleAfterMs of the bus clock), and
// changes go to the bench as requests to `hilTarget`, answered with the new
// state. The service code cannot tell this from a board.
import { BusClosedError, BusRemoteError, BusTimeoutError, Priority, type Bus, type Clock, type Subscription } from "@umbra/core";
import { umbra } from "@umbra/proto";
import {
  PlatformError,
  type ActivityPort,
  type CpuFreqPolicyInfo,
  type CpuFreqPort,
  type EdacCounts,
  type EdacPort,
  type IlluminationPort,
  type IlluminationReading,
  type Platform,
  type PlatformPortName,
  type PowerPort,
  type PowerReadings,
  type ThermalZone,
  type ThermalZonesPort,
  type WatchdogBootStatus,
  type WatchdogPort,
  type WatchdogStatus,
} from "../ports.js";
import { checkKHz, checkTimeoutS } from "../parse.js";
import { checkActivityReport } from "../activity.js";
import {
  checkEdac,
  checkIllumination,
  checkPolicy,
  checkPolicies,
  checkPower,
  checkWatchdogState,
  checkZoneCelsius,
  checkZones,
  findPolicy,
  type Checked,
  type HardwareState,
} from "./validate.js";

const STATE_TOPIC = "umbra.platform.v1.HardwareState";

export interface HilPlatformOptions {
  bus: Bus;
  /** Clock for staleness; default bus.clock. Receipt time is its monotonicMs(). */
  clock?: Clock;
  /** A state older than this (ms of monotonic clock time since receipt) is stale. */
  staleAfterMs: number;
  /** Target of SetCpuMaxFrequency and WatchdogAction requests. Default "hil". */
  hilTarget?: string;
  /** Timeout of those requests; default the bus's request timeout. */
  requestTimeoutMs?: number;
}

/** The newest HardwareState and when it arrived. */
export class HardwareStateCache {
  private latest: { state: HardwareState; receivedAtMs: number; source: string } | undefined;
  private received = 0;
  private readonly subscription: Subscription;

  constructor(
    bus: Bus,
    private readonly clock: Clock,
    readonly staleAfterMs: number,
  ) {
    this.subscription = bus.subscribe(umbra.platform.v1.HardwareState, (state, meta) => {
      this.latest = { state, receivedAtMs: this.clock.monotonicMs(), source: meta.source };
      this.received++;
    });
  }

  /** How many states have arrived. */
  get count(): number {
    return this.received;
  }

  /** The newest state as it arrived (unchecked), or undefined before the first. */
  peek(): { state: HardwareState; receivedAtMs: number; source: string } | undefined {
    return this.latest;
  }

  /** The newest state if it is fresh; otherwise a PlatformError for `port`. */
  fresh(port: PlatformPortName): HardwareState {
    const latest = this.latest;
    if (!latest) throw new PlatformError(port, STATE_TOPIC, "no hardware state from the HIL yet");
    const ageMs = this.clock.monotonicMs() - latest.receivedAtMs;
    if (ageMs > this.staleAfterMs) {
      throw new PlatformError(port, STATE_TOPIC, `hardware state is stale: last ${(ageMs / 1000).toFixed(1)}s ago (limit ${(this.staleAfterMs / 1000).toFixed(1)}s)`);
    }
    return latest.state;
  }

  /** Replaces one policy in the cached state with a reply's newer view of it (receipt time unchanged). */
  updatePolicy(policy: HardwareState["cpufreq"][number]): void {
    const latest = this.latest;
    if (!latest) return;
    const cpufreq = latest.state.cpufreq.map((p) => (p.policy === policy.policy ? policy : p));
    this.latest = { ...latest, state: { ...latest.state, cpufreq } };
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

function unwrap<T>(port: PlatformPortName, checked: Checked<T>): T {
  if (checked.ok) return checked.value;
  throw new PlatformError(port, `${STATE_TOPIC}.${checked.problem.field}`, checked.problem.reason);
}

/** Sends one request to the HIL; bus failures become PlatformErrors naming the request. */
async function ask<T>(port: PlatformPortName, source: string, target: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof BusTimeoutError) throw new PlatformError(port, source, `no reply from ${JSON.stringify(target)} within ${err.timeoutMs} ms`);
    if (err instanceof BusRemoteError) throw new PlatformError(port, source, `${err.responder} failed: ${err.remoteMessage}`);
    if (err instanceof BusClosedError) throw new PlatformError(port, source, "the bus is closed");
    throw new PlatformError(port, source, `request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

class HilThermal implements ThermalZonesPort {
  constructor(private readonly cache: HardwareStateCache) {}

  async zones(): Promise<ThermalZone[]> {
    return unwrap("thermal", checkZones(this.cache.fresh("thermal")));
  }

  async readCelsius(zone: string): Promise<number> {
    return unwrap("thermal", checkZoneCelsius(this.cache.fresh("thermal"), zone));
  }
}

class HilCpuFreq implements CpuFreqPort {
  constructor(
    private readonly cache: HardwareStateCache,
    private readonly bus: Bus,
    private readonly target: string,
    private readonly timeoutMs: number | undefined,
  ) {}

  async policies(): Promise<CpuFreqPolicyInfo[]> {
    return unwrap("cpufreq", checkPolicies(this.cache.fresh("cpufreq")));
  }

  async currentKHz(policy: string): Promise<number> {
    return unwrap("cpufreq", findPolicy(this.cache.fresh("cpufreq"), policy)).currentKHz;
  }

  async maxKHz(policy: string): Promise<number> {
    return unwrap("cpufreq", findPolicy(this.cache.fresh("cpufreq"), policy)).maxKHz;
  }

  /** Checked against the cached steps first; the HIL's reply must show the new limit. */
  async setMaxKHz(policy: string, khz: number): Promise<void> {
    const info = unwrap("cpufreq", findPolicy(this.cache.fresh("cpufreq"), policy));
    const source = `SetCpuMaxFrequency(${policy}) to ${this.target}`;
    const value = checkKHz(khz);
    if (!value.ok) throw new PlatformError("cpufreq", source, value.reason);
    if (info.availableKHz.length > 0 && !info.availableKHz.includes(khz)) {
      throw new PlatformError("cpufreq", source, `${khz} kHz is not one of the available frequencies of ${policy} (${info.availableKHz.join(", ")} kHz)`);
    }
    const reply = await ask("cpufreq", source, this.target, () =>
      this.bus.request(umbra.platform.v1.SetCpuMaxFrequency, { policy, maxKhz: khz }, umbra.platform.v1.CpuFreqPolicy, this.options()),
    );
    const checked = checkPolicy(reply, "reply");
    if (!checked.ok) throw new PlatformError("cpufreq", source, `bad reply: ${checked.problem.field}: ${checked.problem.reason}`);
    if (checked.value.policy !== policy) throw new PlatformError("cpufreq", source, `the reply is for ${checked.value.policy}, not ${policy}`);
    if (checked.value.maxKHz !== khz) throw new PlatformError("cpufreq", source, `the HIL did not apply it: max is ${checked.value.maxKHz} kHz, asked for ${khz} kHz`);
    this.cache.updatePolicy(reply);
  }

  private options(): { target: string; timeoutMs?: number } {
    return this.timeoutMs === undefined ? { target: this.target } : { target: this.target, timeoutMs: this.timeoutMs };
  }
}

class HilPower implements PowerPort {
  constructor(private readonly cache: HardwareStateCache) {}

  async read(): Promise<PowerReadings> {
    return unwrap("power", checkPower(this.cache.fresh("power")));
  }
}

class HilEdac implements EdacPort {
  constructor(private readonly cache: HardwareStateCache) {}

  async read(): Promise<EdacCounts[]> {
    return unwrap("edac", checkEdac(this.cache.fresh("edac")));
  }
}

class HilIllumination implements IlluminationPort {
  constructor(private readonly cache: HardwareStateCache) {}

  async read(): Promise<IlluminationReading> {
    return unwrap("illumination", checkIllumination(this.cache.fresh("illumination")));
  }
}

/** Publishes ComputeActivity for the HIL, which turns the sum over sources into the payload's electrical load. */
class HilActivity implements ActivityPort {
  constructor(private readonly bus: Bus) {}

  report(source: string, busyCores: number): void {
    checkActivityReport(source, busyCores);
    try {
      this.bus.publish(umbra.platform.v1.ComputeActivity, { source, busyCores }, { priority: Priority.PRIORITY_TELEMETRY });
    } catch (err) {
      // At shutdown the bus may close before the service's last report: that report has nobody to reach.
      if (!(err instanceof BusClosedError)) throw err;
    }
  }
}

const Action = umbra.platform.v1.WatchdogActionKind;

/**
 * The watchdog the HIL emulates. status() is what this platform last did and
 * the HIL confirmed (as on Linux, where it is this process's open device);
 * the HIL's own view is in HardwareState.watchdog.
 */
class HilWatchdog implements WatchdogPort {
  private armed = false;
  private timeoutS = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: Bus,
    private readonly target: string,
    private readonly timeoutMs: number | undefined,
    private readonly cache: HardwareStateCache,
  ) {}

  /** The emulated hardware's expiration count (it survives the payload's resets, as the HIL keeps running). */
  async bootStatus(): Promise<WatchdogBootStatus> {
    const n = this.cache.peek()?.state.watchdog?.expirations;
    return typeof n === "number" && Number.isInteger(n) && n >= 0 ? { expirations: n } : {};
  }

  arm(timeoutS: number): Promise<void> {
    return this.serial(async () => {
      const source = `WatchdogAction(ARM) to ${this.target}`;
      const t = checkTimeoutS(timeoutS);
      if (!t.ok) throw new PlatformError("watchdog", source, t.reason);
      if (this.armed && timeoutS !== this.timeoutS) throw new PlatformError("watchdog", source, `already armed with a ${this.timeoutS} s timeout; disarm first`);
      const state = await this.send(Action.WATCHDOG_ACTION_ARM, timeoutS, source);
      if (!state.armed) throw new PlatformError("watchdog", source, "the HIL did not arm the watchdog");
      if (state.timeoutS !== timeoutS) throw new PlatformError("watchdog", source, `the HIL armed it with ${state.timeoutS} s, asked for ${timeoutS} s`);
      this.armed = true;
      this.timeoutS = timeoutS;
    });
  }

  kick(): Promise<void> {
    return this.serial(async () => {
      const source = `WatchdogAction(KICK) to ${this.target}`;
      if (!this.armed) throw new PlatformError("watchdog", source, "not armed: arm() before kick()");
      const state = await this.send(Action.WATCHDOG_ACTION_KICK, 0, source);
      if (!state.armed) {
        this.armed = false;
        throw new PlatformError("watchdog", source, "the HIL says the watchdog is not armed (did it expire?)");
      }
    });
  }

  disarm(): Promise<void> {
    return this.serial(async () => {
      if (!this.armed) return;
      const source = `WatchdogAction(DISARM) to ${this.target}`;
      const state = await this.send(Action.WATCHDOG_ACTION_DISARM, 0, source);
      if (state.armed) throw new PlatformError("watchdog", source, "the HIL did not stop the watchdog; it stays armed, keep kicking it");
      this.armed = false;
    });
  }

  status(): WatchdogStatus {
    return { armed: this.armed, timeoutS: this.timeoutS };
  }

  private async send(action: number, timeoutS: number, source: string): Promise<{ armed: boolean; timeoutS: number }> {
    const options = this.timeoutMs === undefined ? { target: this.target } : { target: this.target, timeoutMs: this.timeoutMs };
    const reply = await ask("watchdog", source, this.target, () =>
      this.bus.request(umbra.platform.v1.WatchdogAction, { action, timeoutS }, umbra.platform.v1.WatchdogState, options),
    );
    const checked = checkWatchdogState(reply);
    if (!checked.ok) throw new PlatformError("watchdog", source, `bad reply: ${checked.problem.field}: ${checked.problem.reason}`);
    return checked.value;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export interface HilPlatform extends Platform {
  readonly kind: "hil";
  /** The cache behind the reads: the newest HardwareState, unchecked, for diagnostics and the HIL's own view of the watchdog. */
  readonly state: HardwareStateCache;
}

/**
 * Waits (in wall time: it is for process start-up) until the HIL has sent a
 * first HardwareState, so a service that reads its ports at start does not
 * report a spurious failure. Resolves true when one arrived, false after
 * timeoutMs without one.
 */
export async function waitForHardwareState(platform: HilPlatform, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (platform.state.count === 0) {
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Subscribes to HardwareState on `bus` and serves the ports from it. Bad
 * options throw a RangeError; everything else is a PlatformError from the
 * port call that met it.
 */
export function createHilPlatform(options: HilPlatformOptions): HilPlatform {
  const { bus, staleAfterMs } = options;
  const hilTarget = options.hilTarget ?? "hil";
  if (typeof staleAfterMs !== "number" || !Number.isFinite(staleAfterMs) || staleAfterMs <= 0) {
    throw new RangeError(`hil platform: staleAfterMs must be a positive number of ms, got ${String(staleAfterMs)}`);
  }
  if (typeof hilTarget !== "string" || hilTarget === "" || hilTarget.length > 64) {
    throw new RangeError(`hil platform: hilTarget must be a name of 1..64 characters, got ${JSON.stringify(hilTarget)}`);
  }
  const timeoutMs = options.requestTimeoutMs;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new RangeError(`hil platform: requestTimeoutMs must be a positive number of ms, got ${String(timeoutMs)}`);
  }
  const cache = new HardwareStateCache(bus, options.clock ?? bus.clock, staleAfterMs);
  return {
    kind: "hil",
    state: cache,
    thermal: new HilThermal(cache),
    cpufreq: new HilCpuFreq(cache, bus, hilTarget, timeoutMs),
    power: new HilPower(cache),
    edac: new HilEdac(cache),
    watchdog: new HilWatchdog(bus, hilTarget, timeoutMs, cache),
    illumination: new HilIllumination(cache),
    activity: new HilActivity(bus),
    close: async () => cache.close(),
  };
}
