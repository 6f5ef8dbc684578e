// Bus voltage, bus current and input power from hwmon
// (/sys/class/hwmon/hwmon*/{name,inN_input,currN_input,powerN_input}) and the
// battery's state of charge from /sys/class/power_supply/<name>/capacity.
//
// Which hwmon channel is which depends on the board, so it is configuration
// (PowerChannels); the defaults fit one INA219/INA226-style monitor.
import { basename, join } from "node:path";
import { PlatformError, type PowerPort, type PowerReadings } from "../ports.js";
import { parseMicrowatts, parseMilliamps, parseMillivolts, parseName, parsePercent, quote } from "../parse.js";
import { describeFsError, exists, listMatching, readAttribute, readParsed } from "./fs.js";
import { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";

/**
 * Where the power readings come from. A channel is "in1" (on the default
 * hwmon device) or "<hwmon>/in1". A hwmon device is named by the content of
 * its `name` file ("ina219"), by its directory ("hwmon2"; not stable across
 * boots) or by its parent device ("1-0040", the I2C bus and address; stable).
 */
export interface PowerChannels {
  /** Default hwmon device: the first hwmon whose name is in KNOWN_POWER_MONITORS. */
  hwmon?: string;
  /** Bus voltage, an inN channel (mV). Default "in1" (INA2xx bus voltage; in0 is the shunt). */
  voltage?: string;
  /** Bus current, a currN channel (mA). Default "curr1". */
  current?: string;
  /** Input (solar array) power, a powerN channel (µW). Default "power1". */
  inputPower?: string;
  /** power_supply name of the battery. Default: the first power_supply whose `type` is "Battery". */
  battery?: string;
  /** Negate the current, for a shunt wired so that payload draw reads negative. Default false. */
  invertCurrent?: boolean;
}

/** hwmon driver names taken as the default power monitor, in this order of preference. */
export const KNOWN_POWER_MONITORS: readonly string[] = ["ina219", "ina226", "ina230", "ina231", "ina238", "ina260", "ina209", "ina3221"];

export const DEFAULT_POWER_CHANNELS = { voltage: "in1", current: "curr1", inputPower: "power1" } as const;

const DEVICE_SELECTOR = /^[A-Za-z0-9_.:-]{1,64}$/;
const CHANNEL = /^(?:([^/]*)\/)?([a-z]+)([0-9]{1,3})$/;

interface ChannelSpec {
  device: string | undefined;
  channel: string;
}

function channelSpec(option: string, value: unknown, kind: "in" | "curr" | "power"): ChannelSpec {
  const m = typeof value === "string" ? CHANNEL.exec(value) : null;
  if (!m || m[2] !== kind || (m[1] !== undefined && !DEVICE_SELECTOR.test(m[1]))) {
    throw new RangeError(`linux platform: options.power.${option} must be "${kind}N" or "<hwmon>/${kind}N", got ${JSON.stringify(value)}`);
  }
  return { device: m[1], channel: `${kind}${m[3]}` };
}

/** The four files LinuxPower.read() reads. */
export interface ResolvedPaths {
  voltage: string;
  current: string;
  inputPower: string;
  capacity: string;
}

interface HwmonDevice {
  dir: string;
  entry: string;
  name: string | undefined;
  device: string | undefined;
}

export class LinuxPower implements PowerPort {
  private readonly ctx: LinuxContext;
  readonly hwmonRoot: string;
  readonly supplyRoot: string;
  private readonly voltage: ChannelSpec;
  private readonly current: ChannelSpec;
  private readonly inputPower: ChannelSpec;
  private readonly defaultDevice: string | undefined;
  private readonly battery: string | undefined;
  private readonly invertCurrent: boolean;
  private resolved: ResolvedPaths | undefined;

  constructor(roots: LinuxRoots | LinuxContext = {}, channels: PowerChannels = {}) {
    this.ctx = linuxContext(roots);
    this.hwmonRoot = join(this.ctx.sysRoot, "class", "hwmon");
    this.supplyRoot = join(this.ctx.sysRoot, "class", "power_supply");
    if (channels.hwmon !== undefined && (typeof channels.hwmon !== "string" || !DEVICE_SELECTOR.test(channels.hwmon))) {
      throw new RangeError(`linux platform: options.power.hwmon must be a hwmon name, hwmonN or a device name, got ${JSON.stringify(channels.hwmon)}`);
    }
    if (channels.battery !== undefined && (typeof channels.battery !== "string" || !DEVICE_SELECTOR.test(channels.battery))) {
      throw new RangeError(`linux platform: options.power.battery must be a power_supply name, got ${JSON.stringify(channels.battery)}`);
    }
    this.defaultDevice = channels.hwmon;
    this.voltage = channelSpec("voltage", channels.voltage ?? DEFAULT_POWER_CHANNELS.voltage, "in");
    this.current = channelSpec("current", channels.current ?? DEFAULT_POWER_CHANNELS.current, "curr");
    this.inputPower = channelSpec("inputPower", channels.inputPower ?? DEFAULT_POWER_CHANNELS.inputPower, "power");
    this.battery = channels.battery;
    this.invertCurrent = channels.invertCurrent ?? false;
  }

  async read(): Promise<PowerReadings> {
    const paths = this.resolved ?? (await this.resolve());
    try {
      const busVoltageV = await readParsed(this.ctx.fs, "power", paths.voltage, parseMillivolts);
      const current = await readParsed(this.ctx.fs, "power", paths.current, parseMilliamps);
      const inputPowerW = await readParsed(this.ctx.fs, "power", paths.inputPower, parseMicrowatts);
      const batterySocPct = await readParsed(this.ctx.fs, "power", paths.capacity, parsePercent);
      const busCurrentA = this.invertCurrent && current !== 0 ? -current : current;
      this.resolved = paths;
      return { busVoltageV, busCurrentA, inputPowerW, batterySocPct };
    } catch (err) {
      // hwmon numbering can change when a driver reloads: find the devices again next time.
      this.resolved = undefined;
      throw err;
    }
  }

  /** The files read() uses, found from the configuration (exported for diagnostics and the README). */
  async resolve(): Promise<ResolvedPaths> {
    const devices = await this.hwmonDevices();
    const dirFor = (spec: ChannelSpec): string => {
      const selector = spec.device ?? this.defaultDevice;
      const dev = selector === undefined ? this.defaultMonitor(devices) : this.select(devices, selector);
      return join(dev.dir, `${spec.channel}_input`);
    };
    return {
      voltage: dirFor(this.voltage),
      current: dirFor(this.current),
      inputPower: dirFor(this.inputPower),
      capacity: join(this.supplyRoot, this.battery ?? (await this.findBattery()), "capacity"),
    };
  }

  private async hwmonDevices(): Promise<HwmonDevice[]> {
    const out: HwmonDevice[] = [];
    for (const entry of await listMatching(this.ctx.fs, "power", this.hwmonRoot, /^hwmon[0-9]+$/)) {
      const dir = join(this.hwmonRoot, entry);
      let name: string | undefined;
      try {
        name = await readParsed(this.ctx.fs, "power", join(dir, "name"), parseName);
      } catch {
        name = undefined; // an unrelated device with a broken name must not stop discovery
      }
      let device: string | undefined;
      try {
        const link = join(dir, "device");
        if (await exists(this.ctx.fs, "power", link)) device = basename(await this.ctx.fs.realpath(link));
      } catch {
        device = undefined;
      }
      out.push({ dir, entry, name, device });
    }
    return out;
  }

  private seen(devices: HwmonDevice[]): string {
    if (devices.length === 0) return "there are no hwmon devices";
    return `found ${devices.map((d) => `${d.entry} (${d.name === undefined ? "unreadable name" : quote(d.name)}${d.device ? `, device ${d.device}` : ""})`).join(", ")}`;
  }

  private defaultMonitor(devices: HwmonDevice[]): HwmonDevice {
    for (const known of KNOWN_POWER_MONITORS) {
      const found = devices.filter((d) => d.name === known);
      if (found.length === 1) return found[0]!;
      if (found.length > 1) {
        // Two monitors of one kind (payload bus and solar array, say): guessing would swap readings.
        throw new PlatformError(
          "power",
          this.hwmonRoot,
          `several ${known} monitors (${found.map((d) => `${d.entry}${d.device ? ` (device ${d.device})` : ""}`).join(", ")}); set options.power.hwmon`,
        );
      }
    }
    throw new PlatformError("power", this.hwmonRoot, `no power monitor found (looked for ${KNOWN_POWER_MONITORS.join(", ")}; ${this.seen(devices)}); set options.power.hwmon`);
  }

  private select(devices: HwmonDevice[], selector: string): HwmonDevice {
    const byEntry = devices.find((d) => d.entry === selector);
    if (byEntry) return byEntry;
    const matches = devices.filter((d) => d.name === selector || d.device === selector);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new PlatformError("power", this.hwmonRoot, `hwmon ${quote(selector)} is ambiguous: ${matches.map((d) => `${d.entry}${d.device ? ` (device ${d.device})` : ""}`).join(", ")}; name the device instead`);
    }
    throw new PlatformError("power", this.hwmonRoot, `no hwmon device ${quote(selector)} (${this.seen(devices)})`);
  }

  private async findBattery(): Promise<string> {
    const supplies = await listMatching(this.ctx.fs, "power", this.supplyRoot, DEVICE_SELECTOR);
    const seen: string[] = [];
    for (const supply of supplies) {
      const typePath = join(this.supplyRoot, supply, "type");
      let type: string;
      try {
        type = (await readAttribute(this.ctx.fs, "power", typePath)).trim();
      } catch (err) {
        seen.push(`${supply} (type unreadable: ${err instanceof PlatformError ? err.reason : describeFsError(err)})`);
        continue;
      }
      if (type === "Battery") return supply;
      seen.push(`${supply} (${quote(type)})`);
    }
    throw new PlatformError("power", this.supplyRoot, `no power_supply of type "Battery" (${seen.length ? `found ${seen.join(", ")}` : "there are none"}); set options.power.battery`);
  }
}
