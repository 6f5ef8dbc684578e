// The operator console's static files, served at "/" with no token (the
// app logs in through the API), while every /api route still needs one;
// a clear 503 when the console was not built; and the payload status the
// console's status page reads (the supervisor's telemetry, the contact
// window).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleBuilt, consoleWwwRoot } from "@umbra/console";
import { utcMsToTaiNs } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { CONSOLE_CSP } from "../src/console.js";
import { ContactWindows } from "../src/live.js";
import { startStack, until, type Stack } from "./support/stack.js";

let s: Stack;
let fixture: string;
beforeAll(async () => {
  // A console folder of our own, so the test does not depend on what the last build wrote.
  fixture = mkdtempSync(join(tmpdir(), "umbra-console-www-"));
  writeFileSync(join(fixture, "index.html"), '<!doctype html><html><head><script type="module" src="app.js?v=1"></script><link rel="stylesheet" href="app.css"></head><body><div id="app"></div></body></html>\n');
  writeFileSync(join(fixture, "app.js"), 'console.log("umbra console");\n');
  writeFileSync(join(fixture, "app.css"), "body { margin: 0 }\n");
  writeFileSync(join(fixture, "app.js.map"), '{"version":3,"sources":[],"mappings":""}');
  mkdirSync(join(fixture, "sub"));
  s = await startStack({ gateway: { consoleRoot: fixture } });
});
afterAll(async () => {
  await s?.stop();
  rmSync(fixture, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(s.gateway.url + path, { headers });

describe("the console's static files", () => {
  it("GET / is the page (text/html, no token needed, no-cache, a strict CSP), and the files it names come with their content types", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(await page.text()).toContain('<div id="app">');

    const js = await get("/app.js?v=1");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^(text|application)\/javascript/);
    expect(await js.text()).toBe('console.log("umbra console");\n');
    const css = await get("/app.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect((await get("/index.html")).status).toBe(200);
    expect((await get("/app.js.map")).headers.get("content-type")).toMatch(/json/);
    // HEAD works as for any GET route (a proxy's health check).
    expect((await fetch(s.gateway.url + "/", { method: "HEAD" })).status).toBe(200);
  });

  it("serves the files with a token as well as without (a logged-in browser's requests)", async () => {
    expect((await get("/app.js", { authorization: `Bearer ${s.tokens.viewer}` })).status).toBe(200);
    expect((await get("/", { authorization: "Bearer not-a-token" })).status).toBe(200);
  });

  it("keeps every /api route behind its token: 401 without one, 403 below the role", async () => {
    for (const path of ["/api/whoami", "/api/dictionary", "/api/status", "/api/commands", "/api/events/recent", "/api/telemetry/latest"]) {
      const r = await s.api("GET", path);
      expect(r.status, path).toBe(401);
      expect(r.body, path).toMatchObject({ error: "unauthorized" });
    }
    expect(await s.api("POST", "/api/commands", { body: { service: "probe", command: "add", args: { amount: 1 } } })).toMatchObject({ status: 401 });
    expect(await s.api("POST", "/api/commands", { token: s.tokens.viewer, body: { service: "probe", command: "add", args: { amount: 1 } } })).toMatchObject({ status: 403, body: { error: "forbidden" } });
    expect(s.uplinks).toHaveLength(0);
    expect(await s.api("GET", "/api/whoami", { token: s.tokens.viewer })).toMatchObject({ status: 200, body: { user: "victor", role: "viewer" } });
  });

  it("serves nothing but the built files: other paths, folders and escapes are the API's JSON 404", async () => {
    for (const path of ["/nothing.js", "/sub", "/sub/", "/../package.json", "/%2e%2e/%2e%2e/package.json", "/..%2fpackage.json", "/api/nothing-here"]) {
      const r = await s.api("GET", path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).toMatchObject({ error: "not_found" });
    }
  });

  it("is not in the OpenAPI document", async () => {
    const doc = await s.api("GET", "/api/openapi.json");
    const paths = Object.keys(doc.body.paths);
    expect(paths.every((p) => p.startsWith("/api/")), paths.join(", ")).toBe(true);
  });

  it("says how to build the console when it is not built, and the API works on", async () => {
    const empty = mkdtempSync(join(tmpdir(), "umbra-console-empty-"));
    try {
      expect(consoleBuilt(empty)).toBe(false);
      await s.restartGateway({ consoleRoot: empty });
      const r = await s.api("GET", "/");
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: "console_not_built", message: expect.stringMatching(/^the operator console is not built \(no .*index\.html\): run "pnpm build"/) });
      expect((await s.api("GET", "/app.js")).status).toBe(404);
      expect(await s.api("GET", "/api/health")).toMatchObject({ status: 200, body: { status: "ok" } });
      expect(await s.api("GET", "/api/whoami", { token: s.tokens.operator })).toMatchObject({ status: 200, body: { role: "operator" } });
      // Half a build (index.html without app.js) is not a console either.
      writeFileSync(join(empty, "index.html"), "<!doctype html>");
      expect(consoleBuilt(empty)).toBe(false);
    } finally {
      await s.restartGateway({ consoleRoot: fixture });
      rmSync(empty, { recursive: true, force: true });
    }
    expect((await get("/")).status).toBe(200);
  });

  it("by default serves @umbra/console's own build (pnpm build makes it)", async () => {
    expect(consoleWwwRoot()).toMatch(/packages\/console\/dist\/www$/);
    expect(consoleBuilt(), `run pnpm build first: ${consoleWwwRoot()} holds no built console`).toBe(true);
    const { startGateway } = await import("../src/index.js");
    const { groundKeys } = await import("./support/stack.js");
    const { silentLogger } = await import("@umbra/core");
    const dir = mkdtempSync(join(tmpdir(), "umbra-gw-default-console-"));
    const g = await startGateway({ bus: s.bus, clock: s.clock, logger: silentLogger(), keys: groundKeys(), spi: 1, dataDir: dir, port: 0 });
    try {
      const page = await fetch(`${g.url}/`);
      const html = await page.text();
      expect(page.status).toBe(200);
      const js = /src="(app\.js\?v=[0-9a-f]{12})"/.exec(html)?.[1];
      const css = /href="(app\.css\?v=[0-9a-f]{12})"/.exec(html)?.[1];
      expect(js, html).toBeDefined();
      expect(css, html).toBeDefined();
      const app = await fetch(`${g.url}/${js}`);
      expect(app.headers.get("content-type")).toMatch(/javascript/);
      expect((await app.text()).length).toBeGreaterThan(10_000);
      expect((await fetch(`${g.url}/${css}`)).headers.get("content-type")).toMatch(/^text\/css/);
    } finally {
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the status the console's status page reads", () => {
  const at = (iso: string) => utcMsToTaiNs(Date.parse(iso));

  it("has the supervisor's telemetry (mode, boots, reset reason) and the contact window with when it began and the last one that ended", async () => {
    s.bus.publish(umbra.core.v1.TelemetryReport, {
      service: "supervisor",
      missionTimeNs: at("2026-06-01T12:00:00Z"),
      samples: [
        { name: "mode", value: { intValue: 2n } },
        { name: "bootCount", value: { intValue: 3n } },
      ],
    });
    const sample = (iso: string, stations: string[]) =>
      s.bus.publish(umbra.hil.v1.EnvironmentSample, { missionTimeNs: at(iso), elapsedS: 0, orbit: { stationsInView: stations, sunlit: true } });
    sample("2026-06-01T12:00:00Z", []);
    sample("2026-06-01T12:05:00Z", ["svalbard"]);
    sample("2026-06-01T12:06:00Z", ["svalbard", "kiruna"]);
    sample("2026-06-01T12:12:00Z", []);
    sample("2026-06-01T12:13:00Z", []);
    const st = await until(async () => {
      const r = await s.api("GET", "/api/status", { token: s.tokens.viewer });
      return r.body?.supervisor?.mode === 2 && r.body?.contact?.time === "2026-06-01T12:13:00.000Z" && r.body;
    }, "the supervisor's telemetry and the last environment sample");
    expect(st.supervisor).toMatchObject({ mode: 2, bootCount: 3 });
    expect(st.contact).toMatchObject({
      inContact: false,
      stationsInView: [],
      since: at("2026-06-01T12:12:00Z").toString(),
      sinceTime: "2026-06-01T12:12:00.000Z",
      sinceSeen: true,
      lastWindow: { startTime: "2026-06-01T12:05:00.000Z", endTime: "2026-06-01T12:12:00.000Z", stations: ["svalbard", "kiruna"] },
    });
  });

  it("/api/health says the gateway's mission time (the HIL's simulated time on a bench), the default end of every range the console asks for", async () => {
    const { startGateway } = await import("../src/index.js");
    const { groundKeys } = await import("./support/stack.js");
    const { SimClock, silentLogger } = await import("@umbra/core");
    const dir = mkdtempSync(join(tmpdir(), "umbra-gw-mission-"));
    const missionClock = new SimClock({ startUtcMs: Date.parse("2026-03-20T00:06:35Z") });
    const g = await startGateway({ bus: s.bus, clock: s.clock, missionClock, logger: silentLogger(), keys: groundKeys(), spi: 1, dataDir: dir, port: 0 });
    try {
      const h = (await (await fetch(`${g.url}/api/health`)).json()) as Record<string, unknown>;
      expect(h).toMatchObject({ status: "ok", missionTime: "2026-03-20T00:06:35.000Z", missionTimeNs: at("2026-03-20T00:06:35Z").toString() });
    } finally {
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ContactWindows: a state already under way at the first sample is not claimed to have begun then", () => {
    const w = new ContactWindows();
    expect(w.json()).toEqual({});
    w.observe(100n, ["a"]);
    expect(w.json()).toEqual({ since: "100", sinceTime: expect.any(String), sinceSeen: false });
    w.observe(200n, ["a"]);
    w.observe(300n, []);
    // The window's start is the first sample the gateway saw, as far as it knows.
    expect(w.json()).toMatchObject({ since: "300", sinceSeen: true, lastWindow: { start: "100", end: "300", stations: ["a"] } });
    for (let i = 0; i < 100; i++) w.observe(400n + BigInt(i), [`s${i}`]);
    w.observe(1000n, []);
    expect(w.json().lastWindow?.stations).toHaveLength(64);
  });
});
