// The telemetry half of the TTC as pure logic: ST[03] housekeeping, ST[05]
// event reporting, ST[12] on-board monitoring and ST[19] event-action, with
// the application-data codecs of their requests and reports.
export { valueFromProto, type Checked, type ParamValue, type Parsed, type ProtoValueLike, type Refusal, type TelemetryLookup } from "./wire.js";
export * from "./housekeeping.js";
export * from "./events.js";
export * from "./monitoring.js";
export * from "./event-action.js";
