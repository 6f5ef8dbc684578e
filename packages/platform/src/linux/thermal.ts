// Thermal zones from /sys/class/thermal/thermal_zone*/{type,temp}.
import { join } from "node:path";
import { PlatformError, type ThermalZone, type ThermalZonesPort } from "../ports.js";
import { checkIndexedName, parseMilliCelsius, parseName } from "../parse.js";
import { listMatching, readParsed } from "./fs.js";
import { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";

const ZONE = /^thermal_zone[0-9]+$/;

export class LinuxThermalZones implements ThermalZonesPort {
  private readonly ctx: LinuxContext;
  readonly root: string;

  constructor(roots: LinuxRoots | LinuxContext = {}) {
    this.ctx = linuxContext(roots);
    this.root = join(this.ctx.sysRoot, "class", "thermal");
  }

  async zones(): Promise<ThermalZone[]> {
    const names = await listMatching(this.ctx.fs, "thermal", this.root, ZONE);
    const zones: ThermalZone[] = [];
    for (const zone of names) zones.push({ zone, type: await readParsed(this.ctx.fs, "thermal", join(this.root, zone, "type"), parseName) });
    return zones;
  }

  async readCelsius(zone: string): Promise<number> {
    const name = checkIndexedName(zone, "thermal_zone");
    if (!name.ok) throw new PlatformError("thermal", this.root, `unknown zone: ${name.reason}`);
    return readParsed(this.ctx.fs, "thermal", join(this.root, name.value, "temp"), parseMilliCelsius);
  }
}
