// Users, tokens and roles over real loopback HTTP (and one WebSocket):
// what each role may do, how a bad or missing token is refused, and that
// tokens are kept only as hashes.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./support/stack.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const add = (amount: number) => ({ service: "probe", command: "add", args: { amount } });

describe("tokens", () => {
  it("health and the OpenAPI document need no token; everything else does", async () => {
    expect(await s.api("GET", "/api/health")).toMatchObject({ status: 200, body: { status: "ok", bus: "connected" } });
    expect((await s.api("GET", "/api/openapi.json")).status).toBe(200);
    for (const path of ["/api/whoami", "/api/dictionary", "/api/commands", "/api/telemetry/latest", "/api/status", "/api/events/recent", "/api/users"]) {
      const r = await s.api("GET", path);
      expect(r.status, path).toBe(401);
      expect(r.body).toMatchObject({ error: "unauthorized", message: expect.stringMatching(/token is needed/) });
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("a wrong, unknown or malformed token is refused with a reason, and nothing reaches the bus", async () => {
    const before = s.uplinks.length;
    const unknown = "umb_" + "A".repeat(43);
    for (const [headers, reason] of [
      [{ authorization: `Bearer ${unknown}` }, /unknown token/],
      [{ authorization: "Bearer not-a-token" }, /unknown token/],
      [{ authorization: `Basic ${Buffer.from("olga:pw").toString("base64")}` }, /expected "Bearer <token>"/],
      [{ authorization: `Bearer ${s.tokens.operator.slice(0, -1)}x` }, /unknown token/],
    ] as const) {
      const r = await s.api("POST", "/api/commands", { headers, body: add(1) });
      expect(r.status).toBe(401);
      expect(r.body.message).toMatch(reason);
    }
    expect(s.uplinks.length).toBe(before);
  });

  it("whoami names the user and role of each token", async () => {
    expect((await s.api("GET", "/api/whoami", { token: s.tokens.admin })).body).toEqual({ user: "admin", role: "admin" });
    expect((await s.api("GET", "/api/whoami", { token: s.tokens.operator })).body).toEqual({ user: "olga", role: "operator" });
    expect((await s.api("GET", "/api/whoami", { token: s.tokens.viewer })).body).toEqual({ user: "victor", role: "viewer" });
  });

  it("the first admin's token is written to the admin token file with mode 600", () => {
    const file = join(s.dataDir, "..", "admin.token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toBe(s.tokens.admin);
  });

  it("tokens are stored only as SHA-256 hashes: no token appears anywhere in gateway.db or its WAL", async () => {
    const extra = (await s.api("POST", "/api/users/olga/tokens", { token: s.tokens.admin })).body.token as string;
    const db = new Database(join(s.dataDir, "gateway.db"), { readonly: true });
    try {
      const rows = db.prepare("SELECT user, hash FROM token").all() as { user: string; hash: Buffer }[];
      expect(rows.length).toBeGreaterThanOrEqual(4);
      for (const r of rows) expect(r.hash).toHaveLength(32);
      expect(db.prepare("SELECT count(*) AS n FROM token WHERE user = 'olga'").get()).toEqual({ n: 2 });
    } finally {
      db.close();
    }
    for (const file of ["gateway.db", "gateway.db-wal"]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(s.dataDir, file));
      } catch {
        continue;
      }
      for (const token of [s.tokens.admin, s.tokens.operator, s.tokens.viewer, extra]) {
        expect(bytes.includes(Buffer.from(token)), `${token} in ${file}`).toBe(false);
        expect(bytes.includes(Buffer.from(token.slice(4))), `${token} body in ${file}`).toBe(false);
      }
    }
    // The extra token works, like the first.
    expect((await s.api("GET", "/api/whoami", { token: extra })).body).toEqual({ user: "olga", role: "operator" });
  });
});

describe("roles", () => {
  it("a viewer reads but cannot command, arm or manage users; nothing reaches the bus", async () => {
    const before = s.uplinks.length;
    const v = s.tokens.viewer;
    for (const path of ["/api/dictionary", "/api/commands", "/api/telemetry/latest", "/api/status", "/api/events/recent"]) {
      expect((await s.api("GET", path, { token: v })).status, path).toBe(200);
    }
    const cmd = await s.api("POST", "/api/commands", { token: v, body: add(1) });
    expect(cmd).toMatchObject({ status: 403, body: { error: "forbidden", message: "victor is a viewer; this needs operator or above" } });
    expect((await s.api("POST", "/api/commands/arm", { token: v, body: { service: "probe", command: "reset" } })).status).toBe(403);
    expect((await s.api("GET", "/api/users", { token: v })).status).toBe(403);
    expect((await s.api("POST", "/api/users", { token: v, body: { name: "mallory", role: "admin" } })).status).toBe(403);
    expect(s.uplinks.length).toBe(before);
  });

  it("an operator commands and arms but cannot manage users", async () => {
    const o = s.tokens.operator;
    const r = await s.api("POST", "/api/commands?wait=completion", { token: o, body: add(2) });
    expect(r).toMatchObject({ status: 200, body: { user: "olga", state: "completed" } });
    // Past the role check: the arm is refused for what it is, not for who asks.
    expect((await s.api("POST", "/api/commands/arm", { token: o, body: { service: "probe", command: "add" } })).status).toBe(400);
    for (const [method, path, body] of [
      ["GET", "/api/users", undefined],
      ["POST", "/api/users", { name: "mallory", role: "admin" }],
      ["POST", "/api/users/victor/tokens", undefined],
      ["DELETE", "/api/users/victor", undefined],
    ] as const) {
      const res = await s.api(method, path, { token: o, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.message).toBe("olga is a operator; this needs admin or above");
    }
    expect((await s.api("GET", "/api/whoami", { token: s.tokens.viewer })).status).toBe(200); // victor still exists
  });

  it("an admin manages users (create, list, issue a token, delete) and may command", async () => {
    const a = s.tokens.admin;
    const created = await s.api("POST", "/api/users", { token: a, body: { name: "ada", role: "operator" } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: "ada", role: "operator", token: expect.stringMatching(/^umb_/) });
    const list = await s.api("GET", "/api/users", { token: a });
    expect(list.body).toEqual(
      expect.arrayContaining([
        { name: "ada", role: "operator", createdAt: expect.any(String), tokens: 1 },
        { name: "admin", role: "admin", createdAt: expect.any(String), tokens: 1 },
        expect.objectContaining({ name: "victor", role: "viewer" }),
      ]),
    );
    const second = await s.api("POST", "/api/users/ada/tokens", { token: a });
    expect(second.status).toBe(201);
    expect((await s.api("GET", "/api/whoami", { token: second.body.token })).body).toEqual({ user: "ada", role: "operator" });
    // Both tokens have just been checked (so the gateway has them cached) when the user is deleted.
    expect((await s.api("GET", "/api/whoami", { token: created.body.token })).status).toBe(200);
    expect((await s.api("DELETE", "/api/users/ada", { token: a })).status).toBe(204);
    // Every token of a deleted user stops working, from the next request on.
    expect((await s.api("GET", "/api/whoami", { token: created.body.token })).status).toBe(401);
    expect((await s.api("GET", "/api/whoami", { token: second.body.token })).status).toBe(401);
    expect((await s.api("POST", "/api/commands?wait=completion", { token: a, body: add(1) })).body).toMatchObject({ user: "admin", state: "completed" });
  });

  it("user management refuses bad input with the field named", async () => {
    const a = s.tokens.admin;
    expect(await s.api("POST", "/api/users", { token: a, body: { name: "bad name!", role: "viewer" } })).toMatchObject({ status: 400, body: { error: "bad_request", message: expect.stringMatching(/^name:/) } });
    expect(await s.api("POST", "/api/users", { token: a, body: { name: "zed", role: "superuser" } })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^body\.role: /) } });
    expect(await s.api("POST", "/api/users", { token: a, body: { name: "zed" } })).toMatchObject({ status: 400, body: { message: "body.role: is required" } });
    expect(await s.api("POST", "/api/users", { token: a, body: { name: "olga", role: "viewer" } })).toMatchObject({ status: 409, body: { error: "conflict", message: "name: user olga already exists" } });
    expect(await s.api("DELETE", "/api/users/nobody", { token: a })).toMatchObject({ status: 404, body: { error: "not_found" } });
    expect(await s.api("POST", "/api/users/nobody/tokens", { token: a })).toMatchObject({ status: 404 });
    expect(await s.api("DELETE", "/api/users/admin", { token: a })).toMatchObject({ status: 409, body: { message: expect.stringMatching(/last admin/) } });
  });
});

describe("WebSocket authentication", () => {
  const open = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ ok: true; ws: WebSocket } | { ok: false; status: number }>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.once("open", () => resolve({ ok: true, ws }));
      ws.once("unexpected-response", (_req, res) => resolve({ ok: false, status: res.statusCode ?? 0 }));
      ws.once("error", () => resolve({ ok: false, status: 0 }));
    });
  const ws = () => s.gateway.url.replace(/^http/, "ws") + "/api/stream";

  it("needs a token, in the query or the header", async () => {
    expect(await open(ws())).toEqual({ ok: false, status: 401 });
    expect(await open(ws() + "?token=umb_" + "B".repeat(43))).toEqual({ ok: false, status: 401 });
    const byQuery = await open(ws() + "?token=" + s.tokens.viewer);
    expect(byQuery.ok).toBe(true);
    if (byQuery.ok) byQuery.ws.close();
    const byHeader = await open(ws(), { authorization: `Bearer ${s.tokens.viewer}` });
    expect(byHeader.ok).toBe(true);
    if (byHeader.ok) byHeader.ws.close();
  });

  it("an HTTP request does not take its token from the query", async () => {
    expect((await s.api("GET", `/api/whoami?token=${s.tokens.viewer}`)).status).toBe(401);
  });
});
