export * from "./time/index.js";
export { createLogger, parseLogLevel, silentLogger, LOG_LEVELS, type Logger, type LoggerConfig } from "./log/logger.js";
export {
  Bus,
  type BusOptions,
  type BusStatsSnapshot,
  type Handler,
  type MessageMeta,
  type PublishOptions,
  type RequestHandler,
  type RequestOptions,
  type ServeOptions,
  type SubscribeOptions,
  type Subscription,
} from "./bus/bus.js";
export { MIN_BUS_FRAME_BYTES } from "./bus/bus.js";
export { BusClosedError, BusRemoteError, BusTimeoutError } from "./bus/errors.js";
export { BoundedPriorityQueue, type OfferResult } from "./bus/bounded-queue.js";
export { Priority, PRIORITY_NAMES, type DropCounts } from "./bus/priority.js";
export {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  encodeFrame,
  describeViolation,
  type FramingViolation,
} from "./bus/framing.js";
export { Kind, PROTOCOL_VERSION, decodeEnvelope, encodeEnvelope, isValidNodeName, type Envelope } from "./bus/envelope.js";
export { MAX_BATCH_MESSAGES, WireBatch } from "./bus/envelope-wire.js";
export { PublishRun, RUN_LIMIT_BYTES } from "./bus/publish-run.js";
export { Link, type LinkCounters, type LinkEvents } from "./bus/link.js";
export { InProcessLink } from "./bus/in-process-link.js";
export { StreamLink, type StreamLinkOptions } from "./bus/stream-link.js";
export { CorkedWriter, FLUSH_CORKED_AT_BYTES, type CorkableStream } from "./bus/corked-writer.js";
export { BusServer, type BusServerOptions } from "./transport/server.js";
export { BusClient, backoffDelay, DEFAULT_RECONNECT, type BusClientOptions, type ReconnectPolicy } from "./transport/client.js";
export { parseEndpoint, formatEndpoint, type Endpoint } from "./transport/endpoint.js";
export {
  defineService,
  command,
  checkArgumentRules,
  checkParameterValue,
  declarationMessage,
  fromValueMessage,
  toValueMessage,
  DeclarationError,
  type ArgumentRuleSpec,
  type CommandSpec,
  type EventSpec,
  type LimitSpec,
  type ParameterSpec,
  type ParameterValue,
  type ServiceSpec,
  type SeverityName,
  type TelemetrySpec,
  type ValueOf,
  type ValueTypeName,
} from "./service/declaration.js";
export { sendCommand, type SendCommandOptions } from "./service/commanding.js";
export { ParameterStore, type ParameterValues, type SetResult } from "./service/parameters.js";
export {
  Service,
  CommandRejected,
  type CommandContext,
  type CommandHandlers,
  type CommandResult,
  type ServiceContext,
  type ServiceState,
  type TelemetryValues,
} from "./service/service.js";
