// The Linux platform: every port read from and written to the real kernel
// interfaces under a configurable sysfs and /dev root.
import type { Clock } from "@umbra/core";
import type { Platform } from "../ports.js";
import { LinuxActivity } from "./activity.js";
import { linuxContext, type LinuxRoots } from "./context.js";
import { LinuxCpuFreq } from "./cpufreq.js";
import { LinuxEdac } from "./edac.js";
import { LinuxIllumination, type IlluminationFileOptions } from "./illumination.js";
import { LinuxPower, type PowerChannels } from "./power.js";
import { LinuxThermalZones } from "./thermal.js";
import { LinuxWatchdog, type WatchdogOptions } from "./watchdog.js";

export interface LinuxPlatformOptions extends LinuxRoots {
  /** Which hwmon channels and power_supply are the bus voltage, current, input power and battery. */
  power?: PowerChannels;
  watchdog?: WatchdogOptions;
  /** Where the spacecraft bus interface writes its eclipse prediction. */
  illumination?: IlluminationFileOptions;
  /** "Now" for the illumination file's age and the seconds to its transition; default the system clock. */
  clock?: Pick<Clock, "utcMs">;
}

export interface LinuxPlatform extends Platform {
  readonly kind: "linux";
  readonly thermal: LinuxThermalZones;
  readonly cpufreq: LinuxCpuFreq;
  readonly power: LinuxPower;
  readonly edac: LinuxEdac;
  readonly watchdog: LinuxWatchdog;
  readonly illumination: LinuxIllumination;
  readonly activity: LinuxActivity;
}

/**
 * Builds the Linux platform. Touches no file: bad options throw a RangeError
 * here, and every hardware problem shows up later as a PlatformError from the
 * port call that met it.
 */
export function createLinuxPlatform(options: LinuxPlatformOptions = {}): LinuxPlatform {
  const ctx = linuxContext(options);
  const watchdog = new LinuxWatchdog(ctx, options.watchdog);
  return {
    kind: "linux",
    thermal: new LinuxThermalZones(ctx),
    cpufreq: new LinuxCpuFreq(ctx),
    power: new LinuxPower(ctx, options.power),
    edac: new LinuxEdac(ctx),
    watchdog,
    illumination: new LinuxIllumination(ctx, options.illumination, options.clock),
    activity: new LinuxActivity(),
    close: () => watchdog.close(),
  };
}
