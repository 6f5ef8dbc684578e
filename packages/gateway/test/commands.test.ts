// Commanding over real loopback HTTP into a real TTC: the TC path and its
// verification stages, history, every kind of bad input (a 4xx with a
// reason, and no TcUplink on the bus), the rate limit, arm then execute, and
// the anti-replay high-water mark across a gateway restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { TTC_APID } from "@umbra/ttc";
import { PROBE_APID, sleep, startStack, until, type Stack } from "./support/stack.js";
import { wallMsUntil } from "../src/routes/commands.js";

const add = (amount: unknown) => ({ service: "probe", command: "add", args: { amount } });

describe("commanding", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ gateway: { commandTimeoutMs: 1500 }, ttcParameters: { commandTimeoutMs: 2500 } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("wait=none: 202 as soon as the TC is on the bus, then followed to completion in the history", async () => {
    const before = s.uplinks.length;
    const r = await s.api("POST", "/api/commands", { token: s.tokens.operator, body: add(7) });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ id: expect.any(Number), user: "olga", service: "probe", command: "add", args: { amount: 7 }, apid: PROBE_APID, state: "sent", stages: [] });
    expect(s.uplinks.length).toBe(before + 1);
    expect(s.uplinks.at(-1)!.link).toBe("gateway:olga");
    const done = await until(async () => {
      const c = await s.api("GET", `/api/commands/${r.body.id}`, { token: s.tokens.viewer });
      return c.body.state === "completed" && c.body;
    }, "completion");
    expect(done.stages.map((x: { stage: string }) => x.stage)).toEqual(["acceptance", "start", "completion"]);
    expect(s.probe.value).toBeGreaterThanOrEqual(7);
  });

  it("wait=completion: 200 with every stage, matched to the TTC's reports by APID, sequence count and source", async () => {
    const r = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.operator, body: { service: "probe", command: "ping", args: { id: "18446744073709551615", data: "AQID" } } });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe("completed");
    expect(r.body.stages).toEqual([
      { stage: "acceptance", success: true, code: "FAILURE_NONE", detail: "", missionTimeNs: expect.stringMatching(/^\d+$/), at: expect.any(String) },
      { stage: "start", success: true, code: "FAILURE_NONE", detail: "", missionTimeNs: expect.any(String), at: expect.any(String) },
      { stage: "completion", success: true, code: "FAILURE_NONE", detail: "pong 18446744073709551615 (3 octets)", missionTimeNs: expect.any(String), at: expect.any(String) },
    ]);
    const v = s.verifications.filter((x) => x.apid === PROBE_APID && x.sequenceCount === r.body.sequenceCount);
    expect(v.map((x) => x.sourceId)).toEqual([0x21, 0x21, 0x21]);
  });

  it("a command the service refuses ends failed with the TTC's code and reason", async () => {
    const r = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.operator, body: { service: "probe", command: "ping", args: { id: 13 } } });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe("failed");
    expect(r.body.stages.at(-1)).toMatchObject({ stage: "completion", success: false, code: "FAILURE_PRECONDITION", detail: "13 is unlucky" });
  });

  it("a command that does not finish in time: 504 with the stages so far, and the history follows it to the end", async () => {
    const r = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.operator, body: { service: "probe", command: "stall", args: { jobId: "j1" } } });
    expect(r.status).toBe(504);
    expect(r.body.state).toBe("timeout");
    expect(r.body.stages.map((x: { stage: string }) => x.stage)).toEqual(["acceptance", "start"]);
    const later = await until(async () => {
      const c = await s.api("GET", `/api/commands/${r.body.id}`, { token: s.tokens.viewer });
      return c.body.state === "failed" && c.body;
    }, "the TTC's timeout", 5000);
    expect(later.stages.at(-1)).toMatchObject({ stage: "completion", success: false, code: "FAILURE_TIMEOUT" });
  });

  it("history: newest first, limit and before page back; one by id; 404 for none", async () => {
    const all = await s.api("GET", "/api/commands", { token: s.tokens.viewer });
    expect(all.status).toBe(200);
    const ids = all.body.map((c: { id: number }) => c.id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => b - a));
    const page = await s.api("GET", "/api/commands?limit=2", { token: s.tokens.viewer });
    expect(page.body.map((c: { id: number }) => c.id)).toEqual(ids.slice(0, 2));
    const older = await s.api("GET", `/api/commands?limit=2&before=${ids[1]}`, { token: s.tokens.viewer });
    expect(older.body.map((c: { id: number }) => c.id)).toEqual(ids.slice(2, 4));
    expect(await s.api("GET", "/api/commands/99999", { token: s.tokens.viewer })).toMatchObject({ status: 404, body: { error: "not_found", message: "id: no command 99999" } });
    expect((await s.api("GET", "/api/commands/abc", { token: s.tokens.viewer })).status).toBe(400);
    expect((await s.api("GET", "/api/commands?limit=0", { token: s.tokens.viewer })).status).toBe(400);
    expect((await s.api("GET", "/api/commands?limit=ten", { token: s.tokens.viewer })).status).toBe(400);
  });

  it("every bad input is a 4xx with a reason naming the field, and nothing reaches the bus", async () => {
    const o = s.tokens.operator;
    const cases: [string, Parameters<Stack["api"]>[2] & { path?: string }, number, string, RegExp][] = [
      ["malformed JSON", { token: o, raw: '{"service": "probe", "command": ' }, 400, "malformed_json", /^body: not valid JSON: Unexpected end of JSON input$/],
      ["JSON with a stray token", { token: o, raw: '{"service": "probe",, "command": "add"}' }, 400, "malformed_json", /^body: not valid JSON: .+/],
      ["empty JSON body", { token: o, raw: "" }, 400, "malformed_json", /^body: empty/],
      ["unknown service", { token: o, body: { service: "nosuch", command: "add", args: {} } }, 404, "unknown_command", /^service: no service "nosuch" in the dictionary \(known: .*probe/],
      ["unknown command", { token: o, body: { service: "probe", command: "launch", args: {} } }, 404, "unknown_command", /^command: probe has no command "launch" \(it has add, reset, tenant, ping, stall\)/],
      ["argument above its maximum", { token: o, body: add(101) }, 400, "bad_argument", /^args\.amount: 101 is above the maximum 100$/],
      ["argument below its minimum (missing: its default 0)", { token: o, body: { service: "probe", command: "add" } }, 400, "bad_argument", /^args\.amount: 0 is below the minimum 1$/],
      ["argument not allowed", { token: o, body: { service: "probe", command: "tenant", args: { tenant: "gamma" } } }, 400, "bad_argument", /^args\.tenant: "gamma" is not one of alpha, beta$/],
      ["argument zero where it must not be", { token: o, body: { service: "probe", command: "ping", args: { id: 0 } } }, 400, "bad_argument", /^args\.id: must not be 0$/],
      ["unknown argument field", { token: o, body: { service: "probe", command: "add", args: { amount: 1, turbo: true } } }, 400, "bad_argument", /^args\.turbo: unknown field/],
      ["argument of the wrong type", { token: o, body: add("five") }, 400, "bad_argument", /^args\.amount: expected an integer/],
      ["argument of the wrong type (bool)", { token: o, body: add(true) }, 400, "bad_argument", /^args\.amount: expected an integer \(sint64\), got boolean true/],
      ["64-bit beyond the safe range as a number", { token: o, body: add(2 ** 60) }, 400, "bad_argument", /^args\.amount: \d+ is not a safe integer/],
      ["args not an object", { token: o, body: { service: "probe", command: "add", args: [1] } }, 400, "bad_request", /^body\.args: must be object/],
      ["service of the wrong type", { token: o, body: { service: 5, command: "add", args: {} } }, 400, "bad_request", /^body\.service: must be string/],
      ["missing command", { token: o, body: { service: "probe" } }, 400, "bad_request", /^body\.command: is required/],
      ["unknown body field", { token: o, body: { ...add(1), priority: "high" } }, 400, "bad_request", /^body\.priority: unknown field/],
      ["prototype poisoning", { token: o, raw: '{"service":"probe","command":"add","args":{"amount":1},"__proto__":{"x":1}}' }, 400, "bad_request", /^body: a __proto__ property is not accepted$/],
      ["oversized body", { token: o, body: { ...add(1), args: { amount: 1, pad: "x".repeat(70_000) } } }, 413, "body_too_large", /^body: larger than the limit of 65536 bytes/],
      ["not JSON at all", { token: o, raw: "<xml/>", headers: { "content-type": "application/xml" } }, 415, "unsupported_media_type", /application\/json/],
      ["bad wait", { token: o, body: add(1), path: "/api/commands?wait=forever" }, 400, "bad_request", /^querystring\.wait: must be equal to one of the allowed values/],
      ["wrong token", { token: "umb_" + "Z".repeat(43), body: add(1) }, 401, "unauthorized", /unknown token/],
      ["no token", { body: add(1) }, 401, "unauthorized", /token is needed/],
    ];
    for (const [what, options, status, code, message] of cases) {
      const before = s.uplinks.length;
      const r = await s.api("POST", options.path ?? "/api/commands", options);
      expect(r.status, what).toBe(status);
      expect(r.body?.error, what).toBe(code);
      expect(r.body?.message, what).toMatch(message);
      await sleep(20);
      expect(s.uplinks.length, `${what}: nothing on the bus`).toBe(before);
    }
  });
});

describe("no TTC on the bus", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("a command is refused with 503 no_ttc, and nothing is recorded or sent, until a TTC takes telecommands again", async () => {
    const ok = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.operator, body: add(1) });
    expect(ok.body.state).toBe("completed");
    // The TTC stops (as when it has not started yet, or has crashed) and the test's own spy goes too.
    await s.ttc.stop();
    s.uplinkSpy.unsubscribe();
    const historyBefore = (await s.api("GET", "/api/commands", { token: s.tokens.viewer })).body;
    const uplinksBefore = s.uplinks.length;
    const r = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.operator, body: add(2) });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: "no_ttc", message: expect.stringMatching(/no TTC on the bus takes telecommands.*nothing was sent/) });
    expect((await s.api("GET", "/api/commands", { token: s.tokens.viewer })).body).toEqual(historyBefore);
    expect(s.uplinks.length).toBe(uplinksBefore);
    // Something takes TcUplink again: commands go out again.
    const seen: unknown[] = [];
    s.bus.subscribe(umbra.ttc.v1.TcUplink, (u) => void seen.push(u));
    const again = await s.api("POST", "/api/commands", { token: s.tokens.operator, body: add(3) });
    expect(again.status).toBe(202);
    await s.bus.idle();
    expect(seen).toHaveLength(1);
  });
});

describe("arm, then execute", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ ttcParameters: { armWindowMs: 1500 } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("a critical command is refused unless armed; arm and execute are both logged with the user; one arm, one execution", async () => {
    const o = s.tokens.operator;
    const reset = { service: "probe", command: "reset", args: {} };
    let before = s.uplinks.length;
    expect(await s.api("POST", "/api/commands", { token: o, body: reset })).toMatchObject({
      status: 409,
      body: { error: "not_armed", message: "probe.reset is critical and not armed: arm it first with POST /api/commands/arm" },
    });
    expect(s.uplinks.length).toBe(before);

    const arm = await s.api("POST", "/api/commands/arm", { token: o, body: { service: "probe", command: "reset" } });
    expect(arm.status).toBe(200);
    expect(arm.body).toMatchObject({ kind: "arm", user: "olga", service: "ttc", command: "arm", apid: TTC_APID, args: { apid: 0x300, function: "reset", service: "probe" }, state: "completed", target: { service: "probe", command: "reset" } });
    expect(arm.body.stages.at(-1).detail).toMatch(/^probe\.reset armed for \d s$/);
    // The window is the TTC's (armWindowMs = 1500 here), asked over the bus.
    const window = Date.parse(arm.body.armedUntil) - Date.parse(arm.body.createdAt);
    expect(window).toBeGreaterThan(1300);
    expect(window).toBeLessThan(1700);
    expect(s.uplinks.length).toBe(before + 1);

    s.probe.value = 9;
    const exec = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.admin, body: reset });
    expect(exec).toMatchObject({ status: 200, body: { kind: "execute", user: "admin", service: "probe", command: "reset", state: "completed" } });
    expect(s.probe.value).toBe(0);
    expect(s.probe.resets).toBe(1);
    // The TTC's own record of both: criticalArmed, then criticalFired.
    await until(async () => {
      const ev = (await s.api("GET", "/api/events/recent", { token: s.tokens.viewer })).body as { name: string }[];
      return ev.some((e) => e.name === "criticalArmed") && ev.some((e) => e.name === "criticalFired");
    }, "the TTC's arm and fire events");

    before = s.uplinks.length;
    expect((await s.api("POST", "/api/commands", { token: o, body: reset })).status).toBe(409);
    expect(s.uplinks.length).toBe(before);

    const history = (await s.api("GET", "/api/commands?limit=2", { token: s.tokens.viewer })).body;
    expect(history.map((c: { kind: string; user: string; command: string }) => [c.kind, c.user, c.command])).toEqual([
      ["execute", "admin", "reset"],
      ["arm", "olga", "arm"],
    ]);
  });

  it("the log at info keeps the audit trail (arm and critical execution with their users and TCs) but not every ordinary TC", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ name: "gateway", level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    try {
      await s.restartGateway({ logger });
      const o = s.tokens.operator;
      expect((await s.api("POST", "/api/commands?wait=completion", { token: o, body: add(1) })).body).toMatchObject({ state: "completed" });
      const arm = await s.api("POST", "/api/commands/arm", { token: o, body: { service: "probe", command: "reset" } });
      expect(arm.status).toBe(200);
      const exec = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.admin, body: { service: "probe", command: "reset" } });
      expect(exec.body).toMatchObject({ state: "completed" });
      const said = lines.map((l) => [l["msg"], l["user"], l["id"] ?? null]);
      expect(said).toEqual(
        expect.arrayContaining([
          ["telecommand sent", "olga", arm.body.id],
          ["critical command armed", "olga", arm.body.id],
          ["critical command executed", "admin", null],
          ["telecommand sent", "admin", exec.body.id],
        ]),
      );
      expect(lines.find((l) => l["msg"] === "critical command executed")).toMatchObject({ armedBy: "olga", armCommandId: arm.body.id, service: "probe", command: "reset" });
      // The ordinary command is in the history, not in the log at info.
      expect(lines.filter((l) => l["msg"] === "telecommand sent").map((l) => l["command"])).toEqual(["arm", "reset"]);
    } finally {
      await s.restartGateway();
    }
  });

  it("an arm runs out: after the TTC's window the command is refused", async () => {
    const o = s.tokens.operator;
    expect((await s.api("POST", "/api/commands/arm", { token: o, body: { service: "probe", command: "reset" } })).status).toBe(200);
    await sleep(1700);
    const before = s.uplinks.length;
    expect(await s.api("POST", "/api/commands", { token: o, body: { service: "probe", command: "reset" } })).toMatchObject({ status: 409, body: { message: expect.stringMatching(/arm expired/) } });
    expect(s.uplinks.length).toBe(before);
  });

  it("the arm window is counted in mission time, as the TTC counts it: on a bench at 5x, armedUntil is a fifth of the window away on the wall clock", async () => {
    try {
      await s.restartGateway({ missionRate: () => 5 });
      const arm = await s.api("POST", "/api/commands/arm", { token: s.tokens.operator, body: { service: "probe", command: "reset" } });
      expect(arm.status).toBe(200);
      const wallWindow = Date.parse(arm.body.armedUntil) - Date.parse(arm.body.createdAt);
      expect(wallWindow).toBeGreaterThan(100); // 1,500 mission ms at 5x: about 300 wall ms, less the arm's round trip
      expect(wallWindow).toBeLessThan(400);
    } finally {
      await s.restartGateway();
    }
  });

  it("wallMsUntil: mission time to wall time at the present rate; a paused or bad rate counts as 1", () => {
    expect(wallMsUntil(60_000, 60)).toBe(1000);
    expect(wallMsUntil(1500, 1)).toBe(1500);
    expect(wallMsUntil(-5, 60)).toBe(0);
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(wallMsUntil(1000, rate)).toBe(1000);
  });

  it("only critical commands are armed; unknown ones are 404; a viewer may not arm", async () => {
    const before = s.uplinks.length;
    expect(await s.api("POST", "/api/commands/arm", { token: s.tokens.operator, body: { service: "probe", command: "add" } })).toMatchObject({
      status: 400,
      body: { error: "not_critical", message: "command: probe.add is not critical; it needs no arm" },
    });
    expect((await s.api("POST", "/api/commands/arm", { token: s.tokens.operator, body: { service: "probe", command: "nope" } })).status).toBe(404);
    expect((await s.api("POST", "/api/commands/arm", { token: s.tokens.operator, body: { service: "probe" } })).status).toBe(400);
    expect((await s.api("POST", "/api/commands/arm", { token: s.tokens.viewer, body: { service: "probe", command: "reset" } })).status).toBe(403);
    expect(s.uplinks.length).toBe(before);
  });

  it("the TTC's own critical command: rotateKey armed and executed end to end; afterwards the old key is refused", async () => {
    const o = s.tokens.operator;
    expect((await s.api("POST", "/api/commands/arm", { token: o, body: { service: "ttc", command: "rotateKey" } })).status).toBe(200);
    const rotate = await s.api("POST", "/api/commands?wait=completion", { token: o, body: { service: "ttc", command: "rotateKey", args: { oldSpi: 1, newSpi: 2 } } });
    expect(rotate.body).toMatchObject({ state: "completed", apid: TTC_APID });
    // The gateway still signs with SPI 1, now revoked: the TTC refuses at acceptance, and the gateway says so.
    const refused = await s.api("POST", "/api/commands?wait=completion", { token: o, body: add(1) });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ state: "failed", stages: [{ stage: "acceptance", success: false, code: "FAILURE_AUTHENTICATION" }] });
    // Restarted with the new SPI, it commands again.
    await s.restartGateway({ spi: 2 });
    expect((await s.api("POST", "/api/commands?wait=completion", { token: o, body: add(1) })).body.state).toBe("completed");
  });
});

describe("rate limit", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ gateway: { commandRatePerMinute: 3 } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("more than the limit in a minute from one user is a 429 with retry-after; nothing is sent; other users are not held back", async () => {
    for (let i = 0; i < 3; i++) expect((await s.api("POST", "/api/commands", { token: s.tokens.operator, body: add(1) })).status).toBe(202);
    const before = s.uplinks.length;
    const r = await s.api("POST", "/api/commands", { token: s.tokens.operator, body: add(1) });
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ error: "rate_limited", message: expect.stringMatching(/^more than 3 command requests a minute from this user; retry in/) });
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    await sleep(20);
    expect(s.uplinks.length).toBe(before);
    // Bad requests count too: a flood of garbage is held back the same way.
    expect((await s.api("POST", "/api/commands", { token: s.tokens.operator, raw: "{" })).status).toBe(429);
    expect((await s.api("POST", "/api/commands", { token: s.tokens.admin, body: add(1) })).status).toBe(202);
    // Reading is not limited.
    expect((await s.api("GET", "/api/commands", { token: s.tokens.operator })).status).toBe(200);
  });
});

describe("anti-replay across restarts", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("a restarted gateway resumes above its reserved high-water mark, and the same TTC accepts its commands", async () => {
    const o = s.tokens.operator;
    const first = await s.api("POST", "/api/commands?wait=completion", { token: o, body: add(1) });
    expect(first.body).toMatchObject({ state: "completed", securitySequence: 1, sequenceCount: 0 });
    await s.restartGateway();
    const second = await s.api("POST", "/api/commands?wait=completion", { token: o, body: add(1) });
    expect(second.body.state).toBe("completed");
    expect(second.body.securitySequence).toBe(1025); // the next block: one write per 1,024 commands
    expect(second.body.sequenceCount).toBe(64); // counts reserved 64 at a time per APID
    // History, users and tokens survived the restart too.
    expect((await s.api("GET", `/api/commands/${first.body.id}`, { token: o })).body.state).toBe("completed");
  });

  it("without that state (a fresh data folder) the TTC would refuse the gateway's numbers as replays", async () => {
    await s.restartGateway({ dataDir: s.dataDir + "-fresh", adminTokenFile: s.dataDir + "-fresh.token" });
    const { readFileSync } = await import("node:fs");
    const admin = readFileSync(s.dataDir + "-fresh.token", "utf8").trim();
    const r = await s.api("POST", "/api/commands?wait=completion", { token: admin, body: add(1) });
    expect(r.body).toMatchObject({ state: "failed", securitySequence: 1, stages: [{ stage: "acceptance", code: "FAILURE_AUTHENTICATION" }] });
    expect(s.verifications.some((v) => v.code === umbra.ttc.v1.FailureCode.FAILURE_AUTHENTICATION)).toBe(true);
  });
});
