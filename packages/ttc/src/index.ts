export { TtcService, ttcSpec, TTC_APID, type TtcOptions } from "./service.js";
export { MissionDictionary, type CommandEntry, type ServiceEntry } from "./dictionary.js";
export { ArmTable, type FireCheck } from "./critical.js";
export * from "./app-data.js";
export { TcBuilder, type GroundOptions } from "./ground.js";
export { SecurityState } from "./security-state.js";
export * from "./store/database.js";
export * from "./store/command-history.js";
export * from "./store/schedule-store.js";
