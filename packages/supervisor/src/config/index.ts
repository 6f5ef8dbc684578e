// The payload configuration: one YAML file (config/umbra.yaml) for the
// services, APIDs, paths, platform and limits, validated at start.
export * from "./types.js";
export { CONFIG_DEFAULTS, DEFAULT_CONFIG_FILE, DISABLED_BY_DEFAULT } from "./defaults.js";
export { MAX_APID, MAX_SPI, MODEL_NAME, PARAMETER_NAME } from "./schema.js";
export {
  ConfigError,
  MAX_ALIAS_COUNT,
  MAX_CONFIG_BYTES,
  applyOverrides,
  defaultPayloadConfig,
  effectiveApids,
  loadPayloadConfig,
  parsePayloadConfig,
  validatePayloadConfig,
  type ConfigProblem,
  type ParseOptions,
} from "./load.js";
export { mergeConfigOverrides, toConfigFile } from "./overrides.js";
