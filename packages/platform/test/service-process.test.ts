// runServiceProcess: the --clock choice and the supervisor's environment
// (pure parsing), then real service processes on a hub this test runs: their
// mission time follows the TimeTones published here, their heartbeats keep
// wall time, and UMBRA_PARAMETERS / UMBRA_APID take effect.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, BusServer, RealClock, fromValueMessage, parseEndpoint, utcMsToTaiNs, type MessageMeta } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { UsageError, parseServiceProcessSettings } from "../src/service-process.js";

const here = dirname(fileURLToPath(import.meta.url));
const toneService = join(here, "fixtures/tone-service.mjs");
const counterMain = join(here, "../../../examples/counter-service/dist/main.js");

describe("parseServiceProcessSettings", () => {
  const parse = (values: { platform?: unknown; clock?: unknown }, env: Record<string, string | undefined> = {}) => parseServiceProcessSettings(values, env);

  it("defaults the clock to tone with the HIL and real on linux; either may be asked for", () => {
    expect(parse({})).toEqual({ platform: "hil", clock: "tone", parameters: {}, apid: undefined });
    expect(parse({ platform: "hil" }).clock).toBe("tone");
    expect(parse({ platform: "linux" }).clock).toBe("real");
    expect(parse({ platform: "hil", clock: "real" }).clock).toBe("real");
    expect(parse({ platform: "linux", clock: "tone" }).clock).toBe("tone");
  });

  it("refuses an unknown platform or clock", () => {
    expect(() => parse({ platform: "board" })).toThrow(new UsageError("--platform must be hil or linux, got board"));
    expect(() => parse({ clock: "sim" })).toThrow(new UsageError("--clock must be tone or real, got sim"));
  });

  it("reads UMBRA_PARAMETERS as a JSON object of values", () => {
    expect(parse({}, { UMBRA_PARAMETERS: '{"limit": 5, "mode": "busy", "frozen": true, "gain": 1.5}' }).parameters).toEqual({ limit: 5, mode: "busy", frozen: true, gain: 1.5 });
    expect(parse({}, { UMBRA_PARAMETERS: "{}" }).parameters).toEqual({});
    expect(parse({}, { UMBRA_PARAMETERS: "" }).parameters).toEqual({});
    expect(parse({}, { UMBRA_PARAMETERS: "  " }).parameters).toEqual({});
  });

  it("refuses UMBRA_PARAMETERS that is not JSON, not an object, or holds a value no parameter can have, naming the variable", () => {
    const bad: [string, RegExp][] = [
      ["{limit: 5}", /^UMBRA_PARAMETERS is not valid JSON: /],
      ["[1, 2]", /^UMBRA_PARAMETERS must be a JSON object of parameter values, got an array$/],
      ["null", /^UMBRA_PARAMETERS must be a JSON object of parameter values, got null$/],
      ["5", /^UMBRA_PARAMETERS must be a JSON object of parameter values, got number$/],
      ['"x"', /^UMBRA_PARAMETERS must be a JSON object of parameter values, got string$/],
      ['{"limit": {"value": 5}}', /^UMBRA_PARAMETERS: limit must be a number, a string or a boolean, got object$/],
      ['{"limit": null}', /^UMBRA_PARAMETERS: limit must be a number, a string or a boolean, got null$/],
      ['{"limit": [5]}', /^UMBRA_PARAMETERS: limit must be a number, a string or a boolean, got an array$/],
    ];
    for (const [text, message] of bad) {
      let thrown: unknown;
      try {
        parse({}, { UMBRA_PARAMETERS: text });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, text).toBeInstanceOf(UsageError);
      expect((thrown as Error).message, text).toMatch(message);
    }
  });

  it("reads UMBRA_APID as a whole number in 0..2046", () => {
    expect(parse({}, { UMBRA_APID: "0" }).apid).toBe(0);
    expect(parse({}, { UMBRA_APID: "2046" }).apid).toBe(2046);
    expect(parse({}, { UMBRA_APID: " 48 " }).apid).toBe(48);
    expect(parse({}, { UMBRA_APID: "" }).apid).toBeUndefined();
    for (const text of ["2047", "-1", "1.5", "0x30", "abc", "1e3", "12abc"]) {
      expect(() => parse({}, { UMBRA_APID: text }), text).toThrow(new UsageError(`UMBRA_APID must be a whole number in 0..2046, got ${JSON.stringify(text)}`));
    }
  });
});

// ---- real processes -----------------------------------------------------------

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Child {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UMBRA_LOG_LEVEL: "info", ...env } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return { child, output: () => out, exited };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const T0 = utcMsToTaiNs(Date.UTC(2026, 0, 1));
const S = 1_000_000_000n;

interface Seen<M> {
  message: M;
  meta: MessageMeta;
}

/** A hub on a Unix socket in a fresh folder, recording what the services send. */
async function startHub() {
  const dir = mkdtempSync(join(tmpdir(), "umbra-svcproc-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const hub = new Bus({ node: "hub", clock: new RealClock() });
  cleanups.push(() => hub.close());
  const server = await BusServer.listen(hub, parseEndpoint(`unix:${join(dir, "bus.sock")}`));
  cleanups.push(() => server.close());
  const beats: Seen<MessageOf<typeof umbra.core.v1.Heartbeat>>[] = [];
  const reports: Seen<MessageOf<typeof umbra.core.v1.TelemetryReport>>[] = [];
  const declarations: MessageOf<typeof umbra.core.v1.ServiceDeclaration>[] = [];
  const parameterReports: MessageOf<typeof umbra.core.v1.ParameterReport>[] = [];
  hub.subscribe(umbra.core.v1.Heartbeat, (message, meta) => void beats.push({ message, meta }));
  hub.subscribe(umbra.core.v1.TelemetryReport, (message, meta) => void reports.push({ message, meta }));
  hub.subscribe(umbra.core.v1.ServiceDeclaration, (message) => void declarations.push(message));
  hub.subscribe(umbra.core.v1.ParameterReport, (message) => void parameterReports.push(message));
  let sequence = 0n;
  /** Publishes the tone `seconds` after T0 and lets it go out. */
  const tone = async (seconds: number) => {
    hub.publish(umbra.core.v1.TimeTone, { missionTimeNs: T0 + BigInt(seconds) * S, rate: 1, sequence: sequence++ });
    await hub.idle();
  };
  return { endpoint: `unix:${join(dir, "bus.sock")}`, hub, beats, reports, declarations, parameterReports, tone };
}

/** Keeps publishing `publish` every 50 ms until `cond` holds (the service joins at its own pace). */
async function publishUntil(publish: () => Promise<void> | void, cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await publish();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const RUNNING = umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING;

describe("runServiceProcess in a real process", () => {
  it("follows the hub's time tones (--platform hil's default), keeps heartbeats in wall time, and takes UMBRA_PARAMETERS and UMBRA_APID", { timeout: 30_000 }, async () => {
    const h = await startHub();
    const svc = run(toneService, [h.endpoint], { UMBRA_PARAMETERS: JSON.stringify({ periodMs: 2000, label: "from-env" }), UMBRA_APID: "2017" });
    const running = () => h.beats.some((b) => b.message.service === "tonedemo" && b.message.state === RUNNING);
    // The process waits for a hardware state and a first tone before starting: give it both until it runs.
    await publishUntil(
      async () => {
        h.hub.publish(umbra.platform.v1.HardwareState, {});
        await h.tone(0);
      },
      running,
      `tonedemo running\n${svc.output()}`,
    );
    expect(svc.output()).toContain("following time tones");
    expect(svc.output()).not.toContain("no time tone within");
    expect(h.beats[0]!.message.pid).toBe(svc.child.pid);
    // Mission time is the tones': every envelope so far carries T0.
    expect(h.beats.every((b) => b.meta.missionTimeNs === T0)).toBe(true);
    await until(() => h.declarations.length > 0, "declaration");
    expect(h.declarations[0]).toMatchObject({ name: "tonedemo", apid: 2017 });

    const params = await h.hub.request(umbra.core.v1.GetParameters, { service: "tonedemo" }, umbra.core.v1.ParameterReport, { target: "tonedemo", timeoutMs: 5000 });
    expect(Object.fromEntries(params.values.map((v) => [v.name, fromValueMessage(v.value)]))).toEqual({ periodMs: 2000, label: "from-env" });

    // Time stands between tones: no telemetry however long we wait in wall time, while heartbeats keep coming.
    const beatsBefore = h.beats.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(h.reports).toHaveLength(0);
    expect(h.beats.length - beatsBefore).toBeGreaterThanOrEqual(2);
    expect(h.beats.at(-1)!.meta.missionTimeNs).toBe(T0);

    // periodMs 2000 of mission time: one report at T0+2 s, one at T0+4 s, each stamped with its instant.
    await h.tone(1);
    await h.tone(2);
    await until(() => h.reports.length >= 1, "first report");
    await h.tone(5);
    await until(() => h.reports.length >= 2, "second report");
    await new Promise((r) => setTimeout(r, 100));
    expect(h.reports.map((r) => r.message.missionTimeNs)).toEqual([T0 + 2n * S, T0 + 4n * S]);
    expect(h.reports.map((r) => r.meta.missionTimeNs)).toEqual([T0 + 2n * S, T0 + 4n * S]);
    expect(h.reports.map((r) => fromValueMessage(r.message.samples[0]!.value))).toEqual([1, 2]);
    // A heartbeat now carries the newest tone's time.
    const n = h.beats.length;
    await until(() => h.beats.length > n, "a heartbeat after the tones");
    expect(h.beats.at(-1)!.meta.missionTimeNs).toBe(T0 + 5n * S);

    // A stale tone (a restarted HIL) does not move time back.
    await h.tone(3);
    const m = h.beats.length;
    await until(() => h.beats.length > m, "a heartbeat after the stale tone");
    expect(h.beats.at(-1)!.meta.missionTimeNs).toBe(T0 + 5n * S);

    // A change over the bus is broadcast for the supervisor, and the request still gets its reply.
    const set = await h.hub.request(
      umbra.core.v1.SetParameters,
      { service: "tonedemo", values: [{ name: "label", value: { stringValue: "changed" } }] },
      umbra.core.v1.ParameterReport,
      { target: "tonedemo", timeoutMs: 5000 },
    );
    expect(set.ok).toBe(true);
    await until(() => h.parameterReports.length > 0, "ParameterReport broadcast");
    expect(h.parameterReports[0]).toMatchObject({ service: "tonedemo", ok: true });
    expect(h.parameterReports[0]!.values.map((v) => [v.name, fromValueMessage(v.value)])).toEqual([["label", "changed"]]);

    svc.child.kill("SIGTERM");
    expect(await svc.exited).toBe(0);
  });

  it("with --clock real runs on the system clock, tones or not", { timeout: 20_000 }, async () => {
    const h = await startHub();
    const svc = run(toneService, [h.endpoint, "--clock", "real", "--platform", "linux"]);
    await until(() => h.beats.some((b) => b.message.state === RUNNING), `tonedemo running\n${svc.output()}`);
    const now = utcMsToTaiNs(Date.now());
    const stamp = h.beats.at(-1)!.meta.missionTimeNs;
    expect(stamp > now - 10n * S && stamp <= now + S).toBe(true);
    await until(() => h.reports.length >= 1, "a report within a wall second");
    svc.child.kill("SIGTERM");
    expect(await svc.exited).toBe(0);
  });

  it("starts without tones after its wait, says so, and stands still until the first one", { timeout: 20_000 }, async () => {
    const h = await startHub();
    const svc = run(toneService, [h.endpoint, "--platform", "linux", "--clock", "tone"]);
    await until(() => h.beats.some((b) => b.message.state === RUNNING), `tonedemo running\n${svc.output()}`);
    expect(svc.output()).toContain("no time tone within 3000 ms");
    await new Promise((r) => setTimeout(r, 1200));
    expect(h.reports).toHaveLength(0);
    // Timers set before the first tone are measured from it.
    await h.tone(0);
    await h.tone(1);
    await until(() => h.reports.length >= 1, "a report after the tones");
    expect(h.reports[0]!.message.missionTimeNs).toBe(T0 + S);
    svc.child.kill("SIGTERM");
    expect(await svc.exited).toBe(0);
  });

  it("exits 2 with a usage error naming a bad variable or option, before joining any bus", async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [["unix:/nonexistent/bus.sock"], { UMBRA_PARAMETERS: "[1]" }, "UMBRA_PARAMETERS must be a JSON object of parameter values, got an array"],
      [["unix:/nonexistent/bus.sock"], { UMBRA_PARAMETERS: "{nope" }, "UMBRA_PARAMETERS is not valid JSON"],
      [["unix:/nonexistent/bus.sock"], { UMBRA_APID: "4096" }, 'UMBRA_APID must be a whole number in 0..2046, got "4096"'],
      [["unix:/nonexistent/bus.sock", "--clock", "sim"], {}, "--clock must be tone or real, got sim"],
    ];
    for (const [args, env, message] of cases) {
      const p = run(toneService, args, env);
      expect(await p.exited, p.output()).toBe(2);
      expect(p.output()).toContain(message);
      expect(p.output()).toContain("usage: tonedemo");
    }
  });
});

describe("the counter example in a real process", () => {
  it("follows tones with --clock tone and takes UMBRA_PARAMETERS and UMBRA_APID", { timeout: 20_000 }, async () => {
    const h = await startHub();
    const svc = run(counterMain, [h.endpoint, "--clock", "tone"], { UMBRA_PARAMETERS: JSON.stringify({ reportPeriodMs: 500, limit: 7 }), UMBRA_APID: "2000" });
    await publishUntil(() => h.tone(10), () => h.beats.some((b) => b.message.service === "counter" && b.message.state === RUNNING), `counter running\n${svc.output()}`);
    await until(() => h.declarations.length > 0, "declaration");
    expect(h.declarations[0]).toMatchObject({ name: "counter", apid: 2000 });
    const params = await h.hub.request(umbra.core.v1.GetParameters, { service: "counter", names: ["reportPeriodMs", "limit"] }, umbra.core.v1.ParameterReport, {
      target: "counter",
      timeoutMs: 5000,
    });
    expect(Object.fromEntries(params.values.map((v) => [v.name, fromValueMessage(v.value)]))).toEqual({ reportPeriodMs: 500, limit: 7 });
    await h.tone(11);
    await until(() => h.reports.length >= 2, "two counter reports");
    expect(h.reports.slice(0, 2).map((r) => r.message.missionTimeNs)).toEqual([T0 + 10n * S + 500_000_000n, T0 + 11n * S]);
    svc.child.kill("SIGTERM");
    expect(await svc.exited).toBe(0);
  });
});
