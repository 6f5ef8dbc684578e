/**
 * Shared result type and input checks for every codec in this package.
 *
 * Decoders read bytes from outside (a ground link, a file), so they never
 * throw: they return a typed result that names the field that was wrong.
 * Encoders take values from our own code, so a bad value there is a bug and
 * they throw a RangeError naming the field.
 */

/** Why a decoder refused its input. `offset` is the octet offset in the input where the field starts. */
export interface DecodeError {
  field: string;
  reason: string;
  offset?: number;
}

/**
 * A decoder's answer. `rest` holds the octets after the decoded item when the
 * input was longer than the item (a view into the input, not a copy); it is
 * absent when the input ended exactly there.
 */
export type DecodeResult<T> = { ok: true; value: T; rest?: Uint8Array } | { ok: false; error: DecodeError };

export function fail(field: string, reason: string, offset?: number): { ok: false; error: DecodeError } {
  return offset === undefined ? { ok: false, error: { field, reason } } : { ok: false, error: { field, reason, offset } };
}

/** `bytes[from..]` as a plain Uint8Array view (a Buffer's subarray would stay a Buffer). */
export function restOf(bytes: Uint8Array, from: number): Uint8Array | undefined {
  if (from >= bytes.length) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset + from, bytes.length - from);
}

/** A copy of `bytes[from..to)` as a plain Uint8Array, so decoded values never alias the caller's buffer. */
export function copyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(bytes.subarray(from, to));
}

export function ok<T>(value: T, bytes: Uint8Array, end: number): DecodeResult<T> {
  const rest = restOf(bytes, end);
  return rest === undefined ? { ok: true, value } : { ok: true, value, rest };
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `${value.length} octets`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Throws a RangeError unless `value` is an integer in [min, max]. */
export function checkInt(field: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${field}: must be an integer ${min}..${max}, got ${show(value)}`);
  }
}

/** Throws a RangeError unless `value` is an unsigned integer of `bits` bits. */
export function checkUint(field: string, value: unknown, bits: number): asserts value is number {
  checkInt(field, value, 0, 2 ** bits - 1);
}

export function checkBool(field: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw new RangeError(`${field}: must be a boolean, got ${show(value)}`);
}

export function checkBytes(field: string, value: unknown, maxLength: number, minLength = 0): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new RangeError(`${field}: must be a Uint8Array, got ${show(value)}`);
  if (value.length < minLength || value.length > maxLength) {
    throw new RangeError(`${field}: must be ${minLength}..${maxLength} octets, got ${value.length}`);
  }
}

export function checkObject(field: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RangeError(`${field}: must be an object, got ${show(value)}`);
  }
}

export function readU16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

export function readU32(bytes: Uint8Array, at: number): number {
  return readU16(bytes, at) * 0x10000 + readU16(bytes, at + 2);
}

/** Big-endian unsigned integer of `octets` (1..6) octets. */
export function readUint(bytes: Uint8Array, at: number, octets: number): number {
  let v = 0;
  for (let i = 0; i < octets; i++) v = v * 256 + (bytes[at + i] ?? 0);
  return v;
}

export function writeU16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = (value >>> 8) & 0xff;
  bytes[at + 1] = value & 0xff;
}

export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  writeU16(bytes, at, Math.floor(value / 0x10000));
  writeU16(bytes, at + 2, value % 0x10000);
}

/** Big-endian unsigned integer of `octets` (1..6) octets; the caller has checked the range. */
export function writeUint(bytes: Uint8Array, at: number, octets: number, value: number): void {
  let v = value;
  for (let i = octets - 1; i >= 0; i--) {
    bytes[at + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

export function hex(value: number, digits: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(digits, '0')}`;
}
