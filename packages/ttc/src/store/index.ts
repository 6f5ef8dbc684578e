export { openTtcDatabase, checkIntegrity, assertTtcSchema } from "./database.js";
export type { TtcDatabase, OpenTtcDatabaseOptions } from "./database.js";
export { TTC_SCHEMA_VERSION } from "./schema.js";
export { InvalidFieldError, DuplicateRequestError, TtcDatabaseError } from "./errors.js";
export type { RequestKey } from "./errors.js";
export {
  CommandHistory,
  VERIFICATION_STAGES,
  DEFAULT_DUPLICATE_WINDOW_NS,
  DEFAULT_DUPLICATE_WINDOW_COMMANDS,
} from "./command-history.js";
export type {
  CommandHistoryOptions,
  CommandOutcome,
  CommandRecord,
  CommandResolution,
  CommandSummary,
  ListCommandsOptions,
  ReceivedCommand,
  ReceivedOptions,
  StageRecord,
  StageReport,
  VerificationStage,
} from "./command-history.js";
export { ScheduleStore } from "./schedule-store.js";
export type {
  FinishedOptions,
  RecoveryResult,
  ScheduleFilter,
  ScheduleItem,
  ScheduleItemInput,
  ScheduleItemState,
  TimeShiftOptions,
} from "./schedule-store.js";
