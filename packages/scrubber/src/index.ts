export {
  CHECK_SYMBOLS,
  DATA_BITS,
  HAMMING_BITS,
  INTERLEAVE_DEPTHS,
  checkBytesPerGroup,
  dataBitOfSyndrome,
  dataColumn,
  decodeGroup,
  encodeGroups,
  groupBytes,
  groupChecks,
  isInterleaveDepth,
  readCheckSymbol,
  type GroupDecode,
  type InterleaveDepth,
} from "./codes/secded.js";
export { GoldenCopyError, RegionError } from "./errors.js";
export { checkGoldenSpec, sha256Hex, type GoldenSpec } from "./golden.js";
export {
  DEFAULT_BLOCK_BYTES,
  MAX_BLOCK_BYTES,
  MAX_REGION_BYTES,
  MAX_REGION_NAME_LENGTH,
  MIN_BLOCK_BYTES,
  ProtectedRegion,
  SIDE_TABLE_SUFFIX,
  type CodeSpec,
  type GoldenStatus,
  type ProtectedRegionOptions,
  type RegionClock,
  type RegionCounters,
  type ScrubResult,
} from "./region.js";
export {
  CODEWORD_BITS,
  SECONDS_PER_DAY,
  SECONDS_PER_YEAR,
  UpsetRateEstimator,
  checkScheduleSettings,
  doubleUpsetProbability,
  expectedUncorrectablePerYear,
  planScrubbing,
  requiredPassPeriodS,
  type RegionPlan,
  type ScheduleSettings,
} from "./schedule.js";
export {
  DEFAULT_SCRUB_CONFIG,
  SCRUB_CONFIG_LIMITS,
  Scrubber,
  scrubConfigProblem,
  type ScrubConfigValues,
  type ScrubberOptions,
} from "./scrubber.js";
export { SCRUBBER_APID, ScrubberService, scrubberSpec, type ScrubberServiceOptions } from "./service.js";
