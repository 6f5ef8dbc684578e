// @umbra/cli as a library: the program (for scripts/start.mjs and tests) and
// its pure parts.
export { runCli, buildProgram } from "./cli.js";
export { processIo, type Io } from "./io.js";
export { CliError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from "./errors.js";
export { coerceArguments, checkValue, describeType, describeRange, splitPair, type JsonSchema, type ArgValue } from "./coerce.js";
export { parseTime, parseRange, parsePositiveInt } from "./time.js";
export * from "./format.js";
export { resolveGatewayUrl, resolveToken, DEFAULT_GATEWAY, ADMIN_TOKEN_FILE } from "./client/config.js";
export { GatewayClient, GatewayError } from "./client/http.js";
export { followStream, type Subscription, type StreamMessage } from "./client/stream.js";
export type * from "./client/types.js";
export { checkStartOptions, START_OPTIONS, DEMO_SPI, DEFAULT_GATEWAY_SPI, type StartRequest, type RawStartOptions } from "./start/options.js";
export { missingLinuxPrerequisites, describeMissing, type FsProbe, type Prerequisite } from "./start/services.js";
export { runPayload } from "./start/launcher.js";
export { statusLine, type StackObservation } from "./start/observe.js";
export { buildSummary, summaryText, type StackSummary } from "./start/summary.js";
