import { InvalidFieldError } from "./errors.js";

/** Largest value an SQLite INTEGER (signed 64-bit) holds. */
export const INT64_MAX = (1n << 63n) - 1n;

/** Largest CCSDS space packet: 6-byte primary header + 65536-byte data field. */
export const MAX_PACKET_BYTES = 65_542;
export const MAX_APID = 2047;
export const SEQUENCE_COUNT_MODULUS = 16_384;
export const MAX_LABEL_CHARS = 64;
export const MAX_TEXT_CHARS = 4096;

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

export function intInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidFieldError(field, `must be an integer in ${min}..${max}, got ${describe(value)}`);
  }
  return value;
}

/** A mission time (TAI ns) or other bigint that must fit a non-negative SQLite INTEGER. */
export function timeNs(field: string, value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n || value > INT64_MAX) {
    throw new InvalidFieldError(field, `must be a bigint in 0..2^63-1 (TAI ns), got ${describe(value)}`);
  }
  return value;
}

/** A signed bigint that fits an SQLite INTEGER (time shifts, windows). */
export function int64(field: string, value: unknown): bigint {
  if (typeof value !== "bigint" || value < -INT64_MAX - 1n || value > INT64_MAX) {
    throw new InvalidFieldError(field, `must be a bigint that fits a signed 64-bit integer, got ${describe(value)}`);
  }
  return value;
}

export function text(field: string, value: unknown, maxChars: number, allowEmpty = false): string {
  if (typeof value !== "string") throw new InvalidFieldError(field, `must be a string, got ${describe(value)}`);
  if (!allowEmpty && value.length === 0) throw new InvalidFieldError(field, "must not be empty");
  if (value.length > maxChars) throw new InvalidFieldError(field, `must be at most ${maxChars} characters, got ${value.length}`);
  return value;
}

export function bool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new InvalidFieldError(field, `must be a boolean, got ${describe(value)}`);
  return value;
}

/** Copies the bytes so a caller reusing its buffer cannot change what was validated. */
export function packet(field: string, value: unknown): Buffer {
  if (!(value instanceof Uint8Array)) throw new InvalidFieldError(field, `must be a Uint8Array, got ${describe(value)}`);
  if (value.length === 0) throw new InvalidFieldError(field, "must not be empty");
  if (value.length > MAX_PACKET_BYTES) {
    throw new InvalidFieldError(field, `must be at most ${MAX_PACKET_BYTES} bytes (a CCSDS space packet), got ${value.length}`);
  }
  return Buffer.from(value);
}

export function rowId(field: string, value: unknown): number {
  return intInRange(field, value, 1, Number.MAX_SAFE_INTEGER);
}

export function apid(field: string, value: unknown): number {
  return intInRange(field, value, 0, MAX_APID);
}

export function sequenceCount(field: string, value: unknown): number {
  return intInRange(field, value, 0, SEQUENCE_COUNT_MODULUS - 1);
}

/** PUS-C source identifier: 16-bit. */
export function sourceId(field: string, value: unknown): number {
  return intInRange(field, value, 0, 0xffff);
}

export function record(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidFieldError(field, `must be an object, got ${Array.isArray(value) ? "an array" : describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Formats a duration in ns as seconds with millisecond resolution, exactly (no float rounding). */
export function formatSeconds(ns: bigint): string {
  const negative = ns < 0n;
  const ms = (negative ? -ns : ns) / 1_000_000n;
  const whole = ms / 1000n;
  const frac = (ms % 1000n).toString().padStart(3, "0");
  return `${negative ? "-" : ""}${whole}.${frac}`;
}
