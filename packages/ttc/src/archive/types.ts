// What goes into the telemetry archive and what comes out of it.
import type { SeverityName } from "@umbra/core";
import type { VerificationStage } from "../store/command-history.js";

/** A telemetry value as services produce it (`int` and `float` parameters are both `number`). */
export type SampleValue = number | bigint | boolean | string;

/** One telemetry sample: parameter `name` of `service` at mission time `tNs` (TAI ns). */
export interface SampleInput {
  readonly service: string;
  readonly name: string;
  readonly tNs: bigint;
  readonly value: SampleValue;
}

/** One event report (PUS ST[05]) as a service raised it. */
export interface EventInput {
  readonly tNs: bigint;
  readonly service: string;
  /** The event's id, unique within the service (uint32). */
  readonly id: number;
  readonly name: string;
  readonly severity: SeverityName;
  readonly message: string;
  /** JSON-able arguments (finite numbers only); `{}` when left out. */
  readonly args?: Readonly<Record<string, unknown>>;
}

/** An archived event: as given, with `args` always present. */
export interface ArchivedEvent extends EventInput {
  readonly args: Readonly<Record<string, unknown>>;
}

/** One PUS ST[01] verification report of a telecommand. */
export interface VerificationInput {
  readonly tNs: bigint;
  /** The command's id in the command history. */
  readonly commandId: number;
  readonly apid: number;
  readonly sequenceCount: number;
  readonly stage: VerificationStage;
  readonly success: boolean;
  /** Failure code (uint32), or null. */
  readonly code: number | null;
  readonly detail: string;
}

export type ArchivedVerification = VerificationInput;

/** A parameter the archive has seen, with the id its samples are stored under. */
export interface ArchivedParameter {
  readonly id: number;
  readonly service: string;
  readonly name: string;
}

/**
 * Retention classes, in the order size-based retention drops them: all samples
 * are housekeeping; events of severity info and low are `low`; events of
 * severity medium and high, and all verification reports, are `high`.
 */
export const PRIORITY_CLASSES = ["housekeeping", "low", "high"] as const;
export type PriorityClass = (typeof PRIORITY_CLASSES)[number];

/** Severities in rising order; the stored value is the index + 1 (= `umbra.core.v1.Severity`). */
export const SEVERITIES = ["info", "low", "medium", "high"] as const satisfies readonly SeverityName[];

export interface SamplesQueryOptions {
  /** At most this many samples, the earliest first (default: all). */
  readonly limit?: number;
}

export interface EventsQuery {
  readonly fromNs: bigint;
  readonly toNs: bigint;
  /** Only events of this severity or above. */
  readonly minSeverity?: SeverityName;
  readonly service?: string;
  readonly limit?: number;
}

export interface VerificationsQuery {
  readonly fromNs: bigint;
  readonly toNs: bigint;
  readonly commandId?: number;
  readonly limit?: number;
}

export interface RetentionOptions {
  /** Mission time now (TAI ns): rows older than nowNs - maxAgeNs are deleted. */
  readonly nowNs: bigint;
  readonly maxAgeNs?: bigint;
  /** Database size budget in bytes (pages in use × page size; the WAL is not counted). */
  readonly maxBytes?: number;
}

/** Rows dropped by one applyRetention call, or in total (stats). */
export type DroppedCounts = Record<PriorityClass, { readonly byAge: number; readonly bySize: number }>;

export interface RetentionResult {
  readonly dropped: DroppedCounts;
  /** page_count × page_size before and after (after incremental vacuum). */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Pages in use × page size after the call. */
  readonly usedBytes: number;
  /** True when everything droppable is gone and the database is still over maxBytes. */
  readonly overBudget: boolean;
}

export interface ArchiveStats {
  readonly rows: Record<PriorityClass, number> & {
    readonly samples: number;
    readonly events: number;
    readonly verifications: number;
    readonly parameters: number;
  };
  /** Dropped by retention since the archive was created (persisted). */
  readonly dropped: DroppedCounts;
  readonly bytes: {
    /** page_count × page_size. */
    readonly file: number;
    /** Pages in use × page size. */
    readonly used: number;
    /** Free pages × page size (given back by the next applyRetention). */
    readonly free: number;
    /** Size of the -wal file now. */
    readonly wal: number;
  };
  /** Samples waiting for compaction into per-parameter blocks. */
  readonly staged: { readonly batches: number; readonly samples: number };
  readonly storage: { readonly blocks: number; readonly generations: number };
}
