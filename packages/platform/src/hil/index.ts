export { createHilPlatform, HardwareStateCache, waitForHardwareState, type HilPlatform, type HilPlatformOptions } from "./platform.js";
export {
  checkZones,
  checkZoneCelsius,
  checkPolicies,
  checkPolicy,
  findPolicy,
  checkPower,
  checkIllumination,
  checkEdac,
  checkWatchdogState,
  type Checked,
  type FieldProblem,
  type HardwareState,
} from "./validate.js";
