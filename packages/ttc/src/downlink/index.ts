export { DOWNLINK_PRIORITIES, priorityRank } from "./priority.js";
export type { DownlinkPriority } from "./priority.js";
export { openDownlinkDatabase } from "./database.js";
export type { DownlinkDatabase, OpenDownlinkDatabaseOptions } from "./database.js";
export { DOWNLINK_SCHEMA_VERSION } from "./schema.js";
export {
  DownlinkQueue,
  DownlinkFullError,
  DEFAULT_DOWNLINK_BUDGET_BYTES,
  DEFAULT_ARCHIVE_MAX_AGE_NS,
  DEFAULT_ARCHIVE_MAX_BYTES,
} from "./queue.js";
export type {
  ArchiveFilter,
  ArchiveRetention,
  ArchivedPacket,
  DownlinkClassStats,
  DownlinkPacket,
  DownlinkQueueOptions,
  DownlinkStats,
  DroppedPacket,
  EnqueueAllResult,
  EnqueueItem,
  EnqueueOptions,
  EnqueueResult,
  Lease,
  RetrieveOptions,
  RetrieveResult,
} from "./queue.js";
export { ContactPlan, DEFAULT_OBSERVATION_TTL_NS, MAX_CONTACT_WINDOWS } from "./contact-plan.js";
export type { ContactObservation, ContactPlanOptions, ContactWindow } from "./contact-plan.js";
export { DownlinkPacer, refillTokens } from "./pacer.js";
export type { DownlinkPacerOptions, PacerPlan, PacerQueue, SendPackets, TickOutcome, TickResult } from "./pacer.js";
export { InvalidFieldError, TtcDatabaseError } from "../store/errors.js";
export {
  MAX_PRODUCT_OCTETS,
  MAX_PRODUCT_ID_CHARS,
  MAX_PRODUCT_KIND_CHARS,
  PRODUCT_SEGMENT_OCTETS,
  PRODUCT_SERVICE,
  PRODUCT_SUBTYPE_FIRST,
  PRODUCT_SUBTYPE_INTERMEDIATE,
  PRODUCT_SUBTYPE_LAST,
  ProductReassembler,
  checkProductRequest,
  decodeProductSegment,
  encodeProductSegments,
  productCrc32,
  productSegmentCount,
  reassembleProducts,
} from "./products.js";
export type {
  CorruptProduct,
  IncompleteProduct,
  ProductRequest,
  ProductSegment,
  ProductSegmentData,
  ReassembledProduct,
  ReassemblerOptions,
  ReassemblyReport,
  SegmentOutcome,
} from "./products.js";
export { ProductStore } from "./product-store.js";
export type { ProductRecord, ProductQueueOptions, ProductQueueResult } from "./product-store.js";
