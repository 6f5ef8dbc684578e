// @umbra/gateway: REST and WebSocket access to the payload over the bus.
export { startGateway, DEFAULT_PORT, DEFAULT_SOURCE_ID, type Gateway, type GatewayOptions } from "./server.js";
export { ROLES, roleAtLeast, isRole, type Role } from "./auth/roles.js";
export { generateToken, hashToken, looksLikeToken, TOKEN_PREFIX } from "./auth/tokens.js";
export { openGatewayDatabase, GatewayDatabaseError, GATEWAY_SCHEMA_VERSION } from "./db.js";
export { CLOSE_TOO_SLOW, parseSubscribe } from "./stream.js";
export type { CommandRecord, CommandState, StageRecord } from "./history.js";
export { checkArguments, argumentSchema, loadProtoTypes, ProtoTypes } from "./dictionary/index.js";
export { parseTime } from "./time-params.js";
export { startRawLink, type RawLink, type RawLinkOptions } from "./raw-link.js";
