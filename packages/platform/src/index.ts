export * from "./ports.js";
export {
  CELSIUS_RANGE,
  KHZ_RANGE,
  VOLTAGE_RANGE,
  CURRENT_RANGE,
  POWER_RANGE,
  SOC_RANGE,
  WATCHDOG_TIMEOUT_RANGE,
  MAX_CPU,
  MAX_LIST_ENTRIES,
  UINT64_MAX,
  checkRange,
  checkKHz,
  checkTimeoutS,
  checkAscendingKHz,
  checkIndexedName,
  parseIntegerToken,
  parseScaledInteger,
  parseMilliCelsius,
  parseKHz,
  parseKHzList,
  parseCpuList,
  parseMillivolts,
  parseMilliamps,
  parseMicrowatts,
  parsePercent,
  parseWatchdogTimeout,
  parseCounter,
  parseFlag,
  parseName,
  type Parsed,
  type Range,
} from "./parse.js";
export {
  checkIlluminationReading,
  ORBIT_PERIOD_RANGE,
  TRANSITION_RANGE,
  ECLIPSE_DURATION_RANGE,
  ILLUMINATION_SLACK_S,
  type IlluminationField,
  type IlluminationInput,
  type CheckedIllumination,
} from "./illumination.js";
export { checkActivityReport, MAX_BUSY_CORES } from "./activity.js";
export * from "./linux/index.js";
export * from "./hil/index.js";
export * from "./memory-regions.js";
export { runServiceProcess, UsageError, HIL_STATE_WAIT_MS, type ServiceProcessOptions, type ServiceProcessEnvironment } from "./service-process.js";
