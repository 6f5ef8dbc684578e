export { Archive, openArchive, GENERATION_SPAN_NS, DEFAULT_COMPACT_AFTER_SAMPLES, DEFAULT_COMPACT_AFTER_BATCHES } from "./archive.js";
export type { OpenArchiveOptions } from "./archive.js";
export { seriesSamples } from "./sample-codec.js";
export type { ArchivedSample, SampleSeries } from "./sample-codec.js";
export { ARCHIVE_SCHEMA_VERSION, ARCHIVE_APPLICATION_ID } from "./schema.js";
export { PRIORITY_CLASSES, SEVERITIES } from "./types.js";
export type {
  ArchiveStats,
  ArchivedEvent,
  ArchivedParameter,
  ArchivedVerification,
  DroppedCounts,
  EventInput,
  EventsQuery,
  PriorityClass,
  RetentionOptions,
  RetentionResult,
  SampleInput,
  SampleValue,
  SamplesQueryOptions,
  VerificationInput,
  VerificationsQuery,
} from "./types.js";
export { validateSample, validateSampleBatch, MAX_NAME_CHARS, MAX_STRING_VALUE_CHARS, MAX_MESSAGE_CHARS, MAX_ARGS_JSON_CHARS } from "./validate.js";
export { InvalidFieldError, TtcDatabaseError } from "../store/errors.js";
