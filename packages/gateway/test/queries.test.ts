// Reading over real loopback HTTP: the dictionary (from the declarations on
// the bus), latest telemetry, the TTC's archive (telemetry ranges and
// events, asked over the bus), jobs, status, and the OpenAPI document.
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@umbra/core";
import { startGateway } from "../src/index.js";
import { groundKeys, sleep, startStack, until, type Stack } from "./support/stack.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

describe("dictionary", () => {
  it("lists every declared service with commands, argument schemas, telemetry, events and parameters", async () => {
    const d = await s.api("GET", "/api/dictionary", { token: s.tokens.viewer });
    expect(d.status).toBe(200);
    const ttc = d.body.services.find((x: { name: string }) => x.name === "ttc");
    expect(ttc.apid).toBe(0x010);
    expect(ttc.commands.map((c: { name: string; critical: boolean }) => [c.name, c.critical])).toEqual([
      ["arm", false],
      ["setContacts", false],
      ["retrieve", false],
      ["rotateKey", true],
    ]);
    const rotate = ttc.commands.find((c: { name: string }) => c.name === "rotateKey");
    expect(rotate.argumentType).toBe("umbra.ttc.v1.RotateKey");
    expect(rotate.arguments.properties.newSpi).toMatchObject({ type: "integer", minimum: 1, maximum: 65534 });
    expect(ttc.parameters.find((p: { name: string }) => p.name === "armWindowMs")).toMatchObject({ type: "int", unit: "ms", default: 30000, min: 1000, max: 600000 });

    const probe = d.body.services.find((x: { name: string }) => x.name === "probe");
    expect(probe).toMatchObject({ name: "probe", apid: 0x300, description: expect.stringMatching(/^A test service/) });
    const add = probe.commands.find((c: { name: string }) => c.name === "add");
    expect(add).toMatchObject({ name: "add", critical: false, argumentType: "umbra.examples.v1.CounterAdd", description: "Add to the counter" });
    expect(add.arguments.properties.amount.anyOf[0]).toMatchObject({ type: "integer", minimum: 1, maximum: 100 });
    expect(probe.telemetry.find((t: { name: string }) => t.name === "level")).toEqual({
      name: "level",
      type: "float",
      unit: "W",
      description: "A level",
      limits: { high: 5 },
      criticalLimits: { high: 8 },
    });
    expect(probe.events).toEqual([
      { id: 1, name: "noted", severity: "info", description: "Something was noted" },
      { id: 2, name: "alarm", severity: "high", description: "Something went wrong" },
    ]);
    expect(probe.parameters).toEqual([{ name: "gain", type: "float", unit: "", description: "A gain", default: 1.5, min: 0, max: 10 }]);
  });

  it("serves the XTCE export of the same declarations as application/xml", async () => {
    const r = await s.api("GET", "/api/dictionary/xtce", { token: s.tokens.viewer });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/xml/);
    expect(r.text).toMatch(/^<\?xml/);
    expect(r.text).toContain('name="probe"');
    expect(r.text).toContain('name="ttc"');
    expect((await s.api("GET", "/api/dictionary/xtce")).status).toBe(401);
  });
});

describe("telemetry and events", () => {
  it("the latest value of each parameter seen on the bus", async () => {
    s.probe.emit({ level: 4.5, note: "latest", count: 12 });
    const latest = await until(async () => {
      const r = await s.api("GET", "/api/telemetry/latest", { token: s.tokens.viewer });
      return r.body.probe?.note?.value === "latest" && r.body;
    }, "the latest sample");
    expect(latest.probe.level).toEqual({ value: 4.5, missionTimeNs: expect.stringMatching(/^\d+$/), receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(latest.probe.count.value).toBe(12);
  });

  it("a time range of one parameter from the TTC's archive, with limits and truncation", async () => {
    const t0 = s.clock.nowTaiNs();
    for (let i = 0; i < 5; i++) {
      s.probe.emit({ count: 100 + i });
      await sleep(5);
    }
    const t1 = s.clock.nowTaiNs();
    const r = await until(async () => {
      const q = await s.api("GET", `/api/telemetry/probe/count?from=${t0}&to=${t1 + 1_000_000n}`, { token: s.tokens.viewer });
      return q.body.points?.length === 5 && q;
    }, "five archived samples");
    expect(r.body).toMatchObject({ service: "probe", name: "count", truncated: false });
    expect(r.body.points.map((p: { value: number }) => p.value)).toEqual([100, 101, 102, 103, 104]);
    expect(r.body.points[0]).toEqual({ missionTimeNs: expect.stringMatching(/^\d+$/), time: expect.stringMatching(/Z$/), value: 100 });
    const limited = await s.api("GET", `/api/telemetry/probe/count?from=${t0}&to=${t1 + 1_000_000n}&limit=2`, { token: s.tokens.viewer });
    expect(limited.body.points.map((p: { value: number }) => p.value)).toEqual([100, 101]);
    expect(limited.body.truncated).toBe(true);
    // ISO bounds and the default range (the last hour) find them too.
    const iso = await s.api("GET", `/api/telemetry/probe/count?from=${new Date(Date.now() - 60_000).toISOString()}`, { token: s.tokens.viewer });
    expect(iso.body.points.map((p: { value: number }) => p.value)).toEqual(expect.arrayContaining([100, 104]));
    const dflt = await s.api("GET", "/api/telemetry/probe/count", { token: s.tokens.viewer });
    expect(dflt.body.points.length).toBeGreaterThanOrEqual(5);
  });

  it("refuses bad query parameters with the field named", async () => {
    const v = s.tokens.viewer;
    expect(await s.api("GET", "/api/telemetry/probe/count?from=yesterday", { token: v })).toMatchObject({ status: 400, body: { error: "bad_request", message: expect.stringMatching(/^from: expected an ISO 8601 time/) } });
    expect(await s.api("GET", "/api/telemetry/probe/count?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z", { token: v })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^from: .* is after to/) } });
    expect(await s.api("GET", "/api/telemetry/probe/count?limit=100001", { token: v })).toMatchObject({ status: 400, body: { message: "limit: must be an integer 1..100000, got \"100001\"" } });
    expect(await s.api("GET", "/api/telemetry/probe/count?colour=red", { token: v })).toMatchObject({ status: 400, body: { message: "querystring.colour: unknown field" } });
    expect(await s.api("GET", "/api/events?minSeverity=extreme", { token: v })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^querystring\.minSeverity:/) } });
  });

  it("events from the archive by service and severity, and the recent ones seen live", async () => {
    const t0 = s.clock.nowTaiNs();
    s.probe.raise("noted", "first", { n: "1" });
    await sleep(5); // mission time has ms resolution here, and a high event outranks an info one on the bus
    s.probe.raise("alarm", "second", { n: "2" });
    const all = await until(async () => {
      const r = await s.api("GET", `/api/events?service=probe&from=${t0}`, { token: s.tokens.viewer });
      return r.body.events?.length === 2 && r.body;
    }, "two archived events");
    expect(all.events[0]).toEqual({ service: "probe", id: 1, name: "noted", severity: "info", message: "first", missionTimeNs: expect.any(String), time: expect.any(String), args: { n: "1" } });
    const high = await s.api("GET", `/api/events?service=probe&from=${t0}&minSeverity=high`, { token: s.tokens.viewer });
    expect(high.body.events.map((e: { name: string }) => e.name)).toEqual(["alarm"]);
    const recent = await s.api("GET", "/api/events/recent", { token: s.tokens.viewer });
    expect(recent.body.slice(-2).map((e: { message: string }) => e.message)).toEqual(["first", "second"]);
  });
});

describe("jobs and status", () => {
  it("jobs: 503 with a reason when the jobs service does not answer; bad states refused", async () => {
    expect(await s.api("GET", "/api/jobs", { token: s.tokens.viewer })).toMatchObject({ status: 503, body: { error: "jobs_unavailable", message: "the jobs service did not answer within 1000 ms" } });
    expect(await s.api("GET", "/api/jobs/j1", { token: s.tokens.viewer })).toMatchObject({ status: 503, body: { error: "jobs_unavailable" } });
    expect(await s.api("GET", "/api/jobs?state=flying", { token: s.tokens.viewer })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^state: "flying" is not one of queued, admitted, running/) } });
  });

  it("status: each service from its heartbeats, alive when heard within three periods; telemetry grouped by service", async () => {
    const st = await until(async () => {
      const r = await s.api("GET", "/api/status", { token: s.tokens.viewer });
      const names = r.body.services.map((x: { name: string }) => x.name);
      return names.includes("ttc") && names.includes("probe") && r.body;
    }, "both services' heartbeats");
    const probe = st.services.find((x: { name: string }) => x.name === "probe");
    expect(probe).toMatchObject({ name: "probe", node: "payload", pid: process.pid, alive: true, state: "running", lastHeartbeat: expect.stringMatching(/Z$/) });
    for (const key of ["power", "thermal", "scrubber", "inference", "jobs", "contact"]) expect(st[key]).toEqual(expect.any(Object));
    await s.probe.stop();
    const dead = await until(async () => {
      const r = await s.api("GET", "/api/status", { token: s.tokens.viewer });
      const p = r.body.services.find((x: { name: string }) => x.name === "probe");
      return p.alive === false && p;
    }, "the stopped probe to be seen as not alive");
    expect(dead.state).toBe("stopped");
  });
});

describe("the API itself", () => {
  it("publishes an OpenAPI document generated from the route schemas", async () => {
    const r = await s.api("GET", "/api/openapi.json");
    expect(r.body.openapi).toMatch(/^3\./);
    for (const path of ["/api/health", "/api/commands", "/api/commands/arm", "/api/commands/{id}", "/api/dictionary", "/api/telemetry/{service}/{name}", "/api/events", "/api/jobs", "/api/status", "/api/users"]) {
      expect(r.body.paths[path], path).toBeDefined();
    }
    expect(r.body.paths["/api/commands"].post.requestBody.content["application/json"].schema.required).toEqual(["service", "command"]);
    expect(r.body.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("an unknown route is a JSON 404", async () => {
    expect(await s.api("GET", "/api/nothing-here")).toMatchObject({ status: 404, body: { error: "not_found", message: "no route GET /api/nothing-here" } });
  });

  it("starts the raw CCSDS link when asked, and a start that fails (port in use) leaves the data folder usable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-gw-raw-"));
    try {
      const base = { bus: s.bus, clock: s.clock, logger: silentLogger(), keys: groundKeys(), spi: 1, dataDir: dir };
      await expect(startGateway({ ...base, port: s.gateway.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
      const g = await startGateway({ ...base, port: 0, rawLink: { tcpPort: 0, udpPort: 0 } });
      try {
        expect(g.rawLink).toEqual({ tcpPort: expect.any(Number), udpPort: expect.any(Number) });
        await new Promise<void>((resolve, reject) => {
          const sock = connect(g.rawLink!.tcpPort!, "127.0.0.1", () => {
            sock.end();
            resolve();
          });
          sock.once("error", reject);
        });
        expect((await fetch(`${g.url}/api/health`)).status).toBe(200);
      } finally {
        await g.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
