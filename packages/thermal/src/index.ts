export { PidController, checkGains, defaultGains, type PidGains, type PidOutput } from "./pid.js";
export { checkActorModel, chooseLevels, divideBudget, maxPower, minPower, type ActorKindName, type ActorLevel, type ActorModel, type Division, type ShareInput } from "./allocator.js";
export { TripTracker, checkTripPoints, levelRank, TRIP_LEVELS, type TripLevel, type TripName, type TripPoints, type TripTransition } from "./trips.js";
export { SensorHealth, SENSOR_FAULT_KINDS, type Assessment, type RawReading, type SensorFault, type SensorFaultKind, type SensorLimits } from "./sensor-health.js";
export { StepWise, trendOf, type Trend } from "./step-wise.js";
export {
  ThermalGovernor,
  GOVERNORS,
  PROFILES,
  profileFor,
  type Decision,
  type GovernorName,
  type GovernorSettings,
  type GrantDecision,
  type ThrottleStateName,
  type ZoneInput,
  type ZoneProfile,
  type ZoneStatus,
} from "./governor.js";
export { buildActors, checkConfig, cpuLevels, DEFAULT_CPU_MODEL, ThermalConfigError, type CpuPowerModel, type ThermalConfig } from "./config.js";
export { ThermalService, thermalSpec, THERMAL_APID, checkParameterSet, readFailure, type ThermalServiceOptions } from "./service.js";
export { HIL_CONFIG, HIL_PARAMETERS } from "./hil-payload.js";
