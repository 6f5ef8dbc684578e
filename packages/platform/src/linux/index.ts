export { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";
export {
  nodePlatformFs,
  readAttribute,
  readBoundedText,
  readParsed,
  writeAttribute,
  describeFsError,
  MAX_ATTRIBUTE_BYTES,
  type PlatformFs,
  type PlatformFileHandle,
} from "./fs.js";
export { LinuxThermalZones } from "./thermal.js";
export { LinuxCpuFreq } from "./cpufreq.js";
export { LinuxPower, KNOWN_POWER_MONITORS, DEFAULT_POWER_CHANNELS, type PowerChannels, type ResolvedPaths } from "./power.js";
export { LinuxEdac } from "./edac.js";
export { LinuxWatchdog, KICK_BYTE, MAGIC_CLOSE_BYTE, type WatchdogOptions } from "./watchdog.js";
export {
  LinuxIllumination,
  parseIsoUtc,
  DEFAULT_ILLUMINATION_PATH,
  MAX_ILLUMINATION_FILE_BYTES,
  ILLUMINATION_STALE_ORBITS,
  ILLUMINATION_FUTURE_SLACK_S,
  ILLUMINATION_TRANSITION_GRACE_S,
  type IlluminationFileOptions,
} from "./illumination.js";
export { LinuxActivity } from "./activity.js";
export { createLinuxPlatform, type LinuxPlatform, type LinuxPlatformOptions } from "./platform.js";
