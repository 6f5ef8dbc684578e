// The users of recently presented tokens, so that the auth check of every
// request (a SHA-256 and a lookup in gateway.db) is a map lookup when the
// same token comes again. Keyed by the token's SHA-256, never the token: a
// timing difference of the map can tell at most something about a hash, as
// the database index could. Bounded, least recently used out first; only
// known tokens enter, so unknown ones cannot push the real ones out. The
// owner (UserStore) empties it whenever users or tokens may have changed.

export const TOKEN_CACHE_SIZE = 256;

export class TokenCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(readonly capacity = TOKEN_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity: must be a positive integer, got ${String(capacity)}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Most recently used goes last (a Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  clear(): void {
    this.entries.clear();
  }
}
