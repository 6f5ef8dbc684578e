// The user store's token check and its cache: a known token is answered from
// memory, and any change to users or tokens (through the store, or committed
// to gateway.db by another connection) takes effect from the next check on.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { TokenCache } from "../src/auth/token-cache.js";
import { generateToken } from "../src/auth/tokens.js";
import { UserStore } from "../src/auth/users.js";
import { openGatewayDatabase, type GatewayDatabase } from "../src/db.js";

const open: Database.Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function store() {
  const path = join(mkdtempSync(join(tmpdir(), "umbra-gw-users-")), "gateway.db");
  const db: GatewayDatabase = openGatewayDatabase(path);
  open.push(db);
  /** Another connection to the same file, as an operator's sqlite3 session would be. */
  const other = () => {
    const o = new Database(path, { timeout: 5000 });
    o.pragma("foreign_keys = ON");
    open.push(o);
    return o;
  };
  return { db, users: new UserStore(db), other };
}

describe("TokenCache", () => {
  it("keeps at most its capacity, dropping the least recently used first", () => {
    const c = new TokenCache<number>(3);
    c.set("a", 1);
    c.set("b", 2);
    c.set("c", 3);
    expect(c.get("a")).toBe(1); // a is now the most recent
    c.set("d", 4);
    expect(c.size).toBe(3);
    expect(c.get("b")).toBeUndefined();
    expect([c.get("a"), c.get("c"), c.get("d")]).toEqual([1, 3, 4]);
    c.set("a", 10); // replacing an entry does not grow the cache
    expect(c.size).toBe(3);
    expect(c.get("a")).toBe(10);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get("a")).toBeUndefined();
  });

  it("refuses a capacity that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new TokenCache(bad)).toThrow(/capacity/);
  });
});

describe("UserStore.authenticate", () => {
  it("answers a known token, from the cache the second time", () => {
    const { users } = store();
    const { token } = users.create("olga", "operator");
    expect(users.cachedTokens).toBe(0);
    expect(users.authenticate(token)).toEqual({ name: "olga", role: "operator" });
    expect(users.cachedTokens).toBe(1);
    expect(users.authenticate(token)).toEqual({ name: "olga", role: "operator" });
    expect(users.cachedTokens).toBe(1);
  });

  it("never caches an unknown, malformed or near-miss token, and refuses each every time", () => {
    const { users } = store();
    const { token } = users.create("olga", "operator");
    expect(users.authenticate(token)).toBeDefined();
    for (const bad of [generateToken(), "umb_" + "A".repeat(43), "not-a-token", "", token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"), token + "x", ` ${token}`]) {
      expect(users.authenticate(bad), bad).toBeUndefined();
      expect(users.authenticate(bad), bad).toBeUndefined();
    }
    expect(users.cachedTokens).toBe(1);
  });

  it("a deleted user's tokens are refused at the next check, though they were cached", () => {
    const { users } = store();
    users.create("admin", "admin");
    const { token } = users.create("ada", "operator");
    const second = users.issueToken("ada");
    expect(users.authenticate(token)).toEqual({ name: "ada", role: "operator" });
    expect(users.authenticate(second)).toEqual({ name: "ada", role: "operator" });
    users.delete("ada");
    expect(users.authenticate(token)).toBeUndefined();
    expect(users.authenticate(second)).toBeUndefined();
    // A new user of the same name does not bring the old tokens back.
    const { token: fresh } = users.create("ada", "viewer");
    expect(users.authenticate(token)).toBeUndefined();
    expect(users.authenticate(fresh)).toEqual({ name: "ada", role: "viewer" });
  });

  it("a refused delete (the last admin) changes nothing: the token still works", () => {
    const { users } = store();
    const { token } = users.create("admin", "admin");
    expect(users.authenticate(token)).toEqual({ name: "admin", role: "admin" });
    expect(() => users.delete("admin")).toThrow(/last admin/);
    expect(users.authenticate(token)).toEqual({ name: "admin", role: "admin" });
  });

  it("a token issued after others were cached works at once", () => {
    const { users } = store();
    const { token } = users.create("olga", "operator");
    expect(users.authenticate(token)).toBeDefined();
    const next = users.issueToken("olga");
    expect(users.authenticate(next)).toEqual({ name: "olga", role: "operator" });
  });

  it("a change committed by another connection takes effect at the next check", () => {
    const { users, other } = store();
    users.create("admin", "admin");
    const { token } = users.create("olga", "operator");
    const { token: victor } = users.create("victor", "viewer");
    expect(users.authenticate(token)).toEqual({ name: "olga", role: "operator" });
    expect(users.authenticate(victor)).toEqual({ name: "victor", role: "viewer" });
    const o = other();
    // A token revoked by deleting its row.
    o.prepare("DELETE FROM token WHERE user = 'olga'").run();
    expect(users.authenticate(token)).toBeUndefined();
    // A role lowered in place.
    o.prepare("UPDATE user SET role = 'viewer' WHERE name = 'admin'").run();
    o.prepare("UPDATE user SET role = 'operator' WHERE name = 'victor'").run();
    expect(users.authenticate(victor)).toEqual({ name: "victor", role: "operator" });
  });

  it("the store's own history writes do not empty the cache", () => {
    const { db, users } = store();
    const { token } = users.create("olga", "operator");
    expect(users.authenticate(token)).toBeDefined();
    db.prepare("INSERT INTO reservation (name, next_free) VALUES ('x', 1)").run();
    expect(users.authenticate(token)).toBeDefined();
    expect(users.cachedTokens).toBe(1);
  });
});
