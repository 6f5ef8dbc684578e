// Users and their tokens in gateway.db. A user has one role and any number
// of tokens; each token is stored as its SHA-256 only.
//
// Every request is authenticated, so the users of known tokens are cached
// (token-cache.ts). The cache is emptied by every write through this store
// (a deleted user's tokens are refused from the next request on) and when
// another connection has committed to gateway.db (PRAGMA data_version: an
// operator's sqlite3 session, say), so it never answers for a token the
// database no longer holds.
import type { GatewayDatabase } from "../db.js";
import { TokenCache } from "./token-cache.js";
import { generateToken, hashToken, hashesEqual, looksLikeToken } from "./tokens.js";
import { isRole, ROLES, type Role } from "./roles.js";

export interface User {
  name: string;
  role: Role;
}

export interface UserSummary extends User {
  createdAt: string;
  tokens: number;
}

/** A refusal from the store, with an HTTP-friendly code and a reason that names the field. */
export class UserStoreError extends Error {
  constructor(
    readonly code: "bad_request" | "not_found" | "conflict",
    message: string,
  ) {
    super(message);
    this.name = "UserStoreError";
  }
}

export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class UserStore {
  private readonly byHash;
  private readonly insertUser;
  private readonly insertToken;
  private readonly userRow;
  private readonly dataVersion;
  private readonly cache = new TokenCache<User>();
  /** data_version when the cache was last known to match the database. */
  private cachedVersion: unknown;

  constructor(
    private readonly db: GatewayDatabase,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.byHash = db.prepare<[Buffer], { name: string; role: string; hash: Buffer }>(
      "SELECT u.name, u.role, t.hash FROM token t JOIN user u ON u.name = t.user WHERE t.hash = ?",
    );
    this.insertUser = db.prepare<[string, string, string]>("INSERT INTO user (name, role, created_at) VALUES (?, ?, ?)");
    this.insertToken = db.prepare<[string, Buffer, string]>("INSERT INTO token (user, hash, created_at) VALUES (?, ?, ?)");
    this.userRow = db.prepare<[string], { name: string; role: string }>("SELECT name, role FROM user WHERE name = ?");
    // Changes when ANOTHER connection commits; this connection's own writes empty the cache themselves.
    this.dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  }

  /** Tokens whose users are cached now (for tests and diagnostics). */
  get cachedTokens(): number {
    return this.cache.size;
  }

  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM user").get() as { n: number }).n;
  }

  list(): UserSummary[] {
    const rows = this.db
      .prepare<[], { name: string; role: string; created_at: string; tokens: number }>(
        "SELECT u.name, u.role, u.created_at, (SELECT count(*) FROM token t WHERE t.user = u.name) AS tokens FROM user u ORDER BY u.name",
      )
      .all();
    return rows.map((r) => ({ name: r.name, role: r.role as Role, createdAt: r.created_at, tokens: r.tokens }));
  }

  get(name: string): User | undefined {
    const row = this.userRow.get(name);
    return row && { name: row.name, role: row.role as Role };
  }

  /** Creates a user with a first token; returns the token (shown once, never stored). */
  create(name: unknown, role: unknown): { user: User; token: string } {
    if (typeof name !== "string" || !USER_NAME_PATTERN.test(name)) {
      throw new UserStoreError("bad_request", `name: must be 1..64 of letters, digits, _ . - starting with a letter or digit, got ${JSON.stringify(String(name).slice(0, 40))}`);
    }
    if (!isRole(role)) throw new UserStoreError("bad_request", `role: must be one of ${ROLES.join(", ")}, got ${JSON.stringify(String(role).slice(0, 40))}`);
    const token = generateToken();
    const at = this.now().toISOString();
    this.db
      .transaction(() => {
        if (this.userRow.get(name)) throw new UserStoreError("conflict", `name: user ${name} already exists`);
        this.insertUser.run(name, role, at);
        this.insertToken.run(name, hashToken(token), at);
      })
      .immediate();
    this.cache.clear();
    return { user: { name, role }, token };
  }

  /** Issues another token for a user. */
  issueToken(name: string): string {
    if (!this.userRow.get(name)) throw new UserStoreError("not_found", `no user ${JSON.stringify(name.slice(0, 64))}`);
    const token = generateToken();
    this.insertToken.run(name, hashToken(token), this.now().toISOString());
    this.cache.clear();
    return token;
  }

  /** Deletes a user and every token of theirs. The last admin cannot be deleted. */
  delete(name: string): void {
    this.db
      .transaction(() => {
        const row = this.userRow.get(name);
        if (!row) throw new UserStoreError("not_found", `no user ${JSON.stringify(name.slice(0, 64))}`);
        if (row.role === "admin") {
          const admins = (this.db.prepare("SELECT count(*) AS n FROM user WHERE role = 'admin'").get() as { n: number }).n;
          if (admins <= 1) throw new UserStoreError("conflict", `${name} is the last admin; create another admin first`);
        }
        this.db.prepare("DELETE FROM user WHERE name = ?").run(name);
      })
      .immediate();
    this.cache.clear();
  }

  /** The user a token belongs to, or undefined. */
  authenticate(token: string): User | undefined {
    if (!looksLikeToken(token)) return undefined;
    const version = this.dataVersion.get();
    if (version !== this.cachedVersion) {
      this.cache.clear();
      this.cachedVersion = version;
    }
    const hash = hashToken(token);
    const key = hash.toString("base64");
    const cached = this.cache.get(key);
    if (cached) return cached;
    const row = this.byHash.get(hash);
    // The lookup is by hash (an index cannot be constant-time); the final
    // comparison is, so a match is decided the same way every time.
    if (!row || !hashesEqual(row.hash, hash)) return undefined;
    const user: User = Object.freeze({ name: row.name, role: row.role as Role });
    this.cache.set(key, user);
    return user;
  }
}
