// The ranges of protobuf's integer types, as bigint bounds. Shared by every
// place that checks a value before it is encoded: the codecs (validate.ts),
// the gateway's argument checks and the console's forms. No imports, so the
// browser bundle can take it without protobufjs (`@umbra/proto/scalars`).

export type IntegerType = "int32" | "sint32" | "sfixed32" | "uint32" | "fixed32" | "int64" | "sint64" | "sfixed64" | "uint64" | "fixed64";

const INT32: readonly [bigint, bigint] = [-(2n ** 31n), 2n ** 31n - 1n];
const UINT32: readonly [bigint, bigint] = [0n, 2n ** 32n - 1n];
const INT64: readonly [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64: readonly [bigint, bigint] = [0n, 2n ** 64n - 1n];

/** Smallest and largest value of each integer type. */
export const INTEGER_RANGES: Readonly<Record<IntegerType, readonly [bigint, bigint]>> = {
  int32: INT32,
  sint32: INT32,
  sfixed32: INT32,
  uint32: UINT32,
  fixed32: UINT32,
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: UINT64,
  fixed64: UINT64,
};

/** The range of a protobuf type name, or undefined if it is not an integer type. */
export function integerRange(type: string): readonly [bigint, bigint] | undefined {
  return Object.prototype.hasOwnProperty.call(INTEGER_RANGES, type) ? INTEGER_RANGES[type as IntegerType] : undefined;
}

/** Whether an integer type is 64 bits wide (reaches TypeScript as bigint). */
export function isSixtyFourBit(type: string): boolean {
  return type.endsWith("64");
}
