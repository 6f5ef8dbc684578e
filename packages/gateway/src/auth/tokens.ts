// API tokens: 32 random bytes, base64url, prefixed "umb_". Only their SHA-256
// is stored; a presented token is hashed and the hashes are compared in
// constant time, so neither the database nor response timing gives a token away.
import { hash, randomBytes, timingSafeEqual } from "node:crypto";

export const TOKEN_PREFIX = "umb_";
const TOKEN_BYTES = 32;
/** "umb_" + 43 base64url characters. */
const TOKEN_PATTERN = /^umb_[A-Za-z0-9_-]{43}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString("base64url");
}

/** Whether a string has the shape of a token (checked before hashing anything). */
export function looksLikeToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export function hashToken(token: string): Buffer {
  // One-shot hash(): no Hash object per call (this runs on every request).
  return hash("sha256", token, "buffer");
}

/** Constant-time comparison of two token hashes. */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
