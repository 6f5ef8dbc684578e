// The supervisor: process supervision, health, safe mode, watchdog, boot
// record and the payload configuration. The process is main.ts; the launcher
// (`umbra start`) uses the configuration and the launch plan from here.
export * from "./config/index.js";
export { BootRecord, type BootInfo, type ResetReasonName, type WatchdogEvidence, type ParameterScalar } from "./boot-record.js";
export { FailureHistory, backoffMs, type RestartPolicy, type RestartDecision } from "./restart-policy.js";
export { enterSafe, leaveSafe, runsIn, NOMINAL, type ModeState, type PayloadModeName } from "./mode.js";
export { ProcessTable, type LaunchedProcess, type ProcessLauncher, type ProcessExit, type ProcessStateName, type ServiceSnapshot, type SupervisedService, type ProcessTableEvents } from "./process-table.js";
export { launchSpec, gatewayStatusFile, adminTokenFile, ADMIN_TOKEN_FILE_NAME, type ServiceLaunchSpec } from "./launch-plan.js";
export { NodeLauncher } from "./node-launcher.js";
export { SupervisorService, supervisorSpec, SUPERVISOR_APID, type SupervisorSettings, type SupervisorDependencies } from "./service.js";
/** Exit status of a supervisor that stopped for a commanded reset: start it again. */
export const RESET_EXIT_CODE = 75;
export { payloadConfigYaml } from "./config-yaml.js";
