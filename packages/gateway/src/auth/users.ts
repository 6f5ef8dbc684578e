// Users and their tokens in gateway.db. A user has one role and any number
// of tokens; each token is stored as its SHA-256 only.
import type { GatewayDatabase } from "../db.js";
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
    return { user: { name, role }, token };
  }

  /** Issues another token for a user. */
  issueToken(name: string): string {
    if (!this.userRow.get(name)) throw new UserStoreError("not_found", `no user ${JSON.stringify(name.slice(0, 64))}`);
    const token = generateToken();
    this.insertToken.run(name, hashToken(token), this.now().toISOString());
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
  }

  /** The user a token belongs to, or undefined. */
  authenticate(token: string): User | undefined {
    if (!looksLikeToken(token)) return undefined;
    const hash = hashToken(token);
    const row = this.byHash.get(hash);
    // The lookup is by hash (an index cannot be constant-time); the final
    // comparison is, so a match is decided the same way every time.
    if (!row || !hashesEqual(row.hash, hash)) return undefined;
    return { name: row.name, role: row.role as Role };
  }
}
