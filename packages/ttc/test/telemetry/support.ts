// Shared fixtures for the telemetry tests: a dictionary lookup and
// fast-check arbitraries for everything the codecs carry.
import fc from "fast-check";
import type { ParamValue, TelemetryLookup } from "../../src/telemetry/index.js";

/** A dictionary that knows what is listed (parameters as "service/name", events as "service/id"). */
export function lookupOf(parameters: string[], events: string[] = []): TelemetryLookup {
  const p = new Set(parameters);
  const e = new Set(events);
  return { hasParameter: (s, n) => p.has(`${s}/${n}`), hasEvent: (s, id) => e.has(`${s}/${id}`) };
}

export const anything: TelemetryLookup = { hasParameter: () => true, hasEvent: () => true };

export const serviceName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/);
export const paramName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/);
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
/** Well-formed strings of at most 63 code points, so at most 252 UTF-8 bytes. */
export const shortString = fc.string({ unit: "binary", maxLength: 63 });
export const value: fc.Arbitrary<ParamValue> = fc.oneof(fc.boolean(), int64, fc.double(), shortString);
export const maybeValue: fc.Arbitrary<ParamValue | undefined> = fc.option(value, { nil: undefined });
export const bytes = fc.uint8Array({ minLength: 0, maxLength: 300 });

/** Every strict prefix of `b` (used on counted layouts, where a prefix can never be complete). */
export function prefixes(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < b.length; n++) out.push(b.subarray(0, n));
  return out;
}
