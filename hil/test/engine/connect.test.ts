// `umbra-hil run --connect`: the HIL as its own process, joined to a bus hub
// (as the payload's supervisor hosts it) as a client. It keeps running while
// the hub goes away and comes back, answers InjectFault over the socket, and
// stops on SIGTERM with its report written and exit code 0. Runs the
// compiled CLI (hil/dist/cli.js): `pnpm build` first.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bus, BusServer, RealClock } from "@umbra/core";
import { umbra } from "@umbra/proto";

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

let dir = "";
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

async function until(what: string, cond: () => boolean, withinMs = 10_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("umbra-hil run --connect", () => {
  it("joins a hub, keeps running through a hub restart, answers InjectFault, and on SIGTERM writes its report and exits 0", async () => {
    dir = mkdtempSync(join(tmpdir(), "hil-connect-"));
    const scenarioFile = join(dir, "s.yaml");
    writeFileSync(scenarioFile, "name: connect-test\nseed: 1\nepoch: 2026-03-20T00:00:00Z\nduration: 1h\nstep: 10s\n");
    const endpoint = { kind: "unix" as const, path: join(dir, "bus.sock") };
    const hub = new Bus({ node: "hub", clock: new RealClock() });
    let server = await BusServer.listen(hub, endpoint);
    const tones: { sequence: number; ns: bigint; rate: number }[] = [];
    hub.subscribe(umbra.core.v1.TimeTone, (t) => {
      tones.push({ sequence: Number(t.sequence), ns: BigInt(t.missionTimeNs.toString()), rate: t.rate });
    });
    const faults: string[] = [];
    hub.subscribe(umbra.hil.v1.FaultRecord, (f) => {
      faults.push(`${f.kind} ${f.cause}`);
    });
    try {
      child = spawn(process.execPath, [CLI, "run", scenarioFile, "--connect", `unix:${endpoint.path}`, "--speed", "50", "--out", join(dir, "reports"), "--json", "--no-progress"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d: Buffer) => (stdout += String(d)));
      child.stderr!.on("data", (d: Buffer) => (stderr += String(d)));
      const exited = new Promise<[number | null, string | null]>((resolve) => child!.once("exit", (code, sig) => resolve([code, sig])));

      await until("the first tones", () => tones.length >= 10);
      expect(tones.slice(0, 10).map((t) => t.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(tones[0]!.rate).toBe(50);

      // Runtime fault injection over the socket: bad input refused, a good request goes through the fault path.
      const bad = await hub.request(umbra.hil.v1.InjectFault, { kind: "explode", service: "jobs", injectionId: "b" }, umbra.hil.v1.FaultAck, { target: "hil", timeoutMs: 5000 });
      expect(bad).toMatchObject({ injectionId: "b", applied: false });
      expect(bad.error).toMatch(/unknown fault kind/);
      const ghost = await hub.request(umbra.hil.v1.InjectFault, { kind: "kill", service: "ghost", injectionId: "g" }, umbra.hil.v1.FaultAck, { target: "hil", timeoutMs: 5000 });
      expect(ghost).toMatchObject({ injectionId: "g", applied: false, error: "not delivered: no heartbeat with a pid from this service" });
      await until("the fault record", () => faults.includes("kill request"));

      // The hub goes away (its supervisor was reset) and comes back on the same socket.
      await server.close();
      const before = tones.at(-1)!.sequence;
      await new Promise((r) => setTimeout(r, 600));
      expect(child.exitCode).toBeNull();
      server = await BusServer.listen(hub, endpoint);
      await until("tones after the restart", () => tones.at(-1)!.sequence > before + 30 && tones.length > 20);
      const seqs = tones.map((t) => t.sequence);
      // Strictly increasing; the outage shows as a gap, not as a late burst of stale tones.
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
      const gap = seqs.findIndex((s, i) => i > 0 && s !== seqs[i - 1]! + 1);
      expect(gap).toBeGreaterThan(0);
      // The run did not stall while it was alone: 600 ms at 50x is about 30 simulated seconds.
      expect(seqs[gap]! - seqs[gap - 1]!).toBeGreaterThan(15);
      // Mission time is one second a tone throughout.
      for (let i = 1; i < tones.length; i++) expect(tones[i]!.ns - tones[i - 1]!.ns).toBe(BigInt(tones[i]!.sequence - tones[i - 1]!.sequence) * 1_000_000_000n);

      child.kill("SIGTERM");
      const [code, sig] = await exited;
      expect(stderr).toMatch(/HIL joined the bus hub/);
      expect(stderr).toMatch(/SIGTERM: stopping the HIL run/);
      expect([code, sig]).toEqual([0, null]);
      const out = JSON.parse(stdout) as { summary: Record<string, number>; report: { json: string } };
      expect(existsSync(out.report.json)).toBe(true);
      const report = JSON.parse(readFileSync(out.report.json, "utf8")) as { timeS: number[]; faults: { kind: string; cause: string }[] };
      // Stopped part-way, after the hub came back.
      expect(report.timeS.at(-1)!).toBeGreaterThanOrEqual(40);
      expect(report.timeS.at(-1)!).toBeLessThan(3600);
      expect(out.summary["timeTones"]).toBeGreaterThan(20);
      expect(report.faults).toEqual([expect.objectContaining({ kind: "kill", cause: "request" })]);
    } finally {
      await server.close();
      hub.close();
    }
  });

  it("fails with exit code 1 when no hub answers, and refuses --listen with --connect", async () => {
    dir = mkdtempSync(join(tmpdir(), "hil-connect-"));
    const scenarioFile = join(dir, "s.yaml");
    writeFileSync(scenarioFile, "name: connect-test\nseed: 1\nepoch: 2026-03-20T00:00:00Z\nduration: 1h\n");
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, "run", scenarioFile, "--out", join(dir, "r"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        c.stderr.on("data", (d: Buffer) => (stderr += String(d)));
        c.once("exit", (code) => resolve({ code, stderr }));
      });
    const none = await run(["--connect", `unix:${join(dir, "nobody.sock")}`, "--connect-timeout", "0.5"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/could not connect to unix:.*nobody\.sock within 500 ms/);
    const both = await run(["--connect", `unix:${join(dir, "a.sock")}`, "--listen", `unix:${join(dir, "b.sock")}`]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--listen or --connect, not both/);
    const badEndpoint = await run(["--connect", "udp:1.2.3.4:5"]);
    expect(badEndpoint.code).toBe(1);
    expect(badEndpoint.stderr).toMatch(/expected unix:<path> or tcp:<host>:<port>/);
    expect(existsSync(join(dir, "r"))).toBe(false);
  });

  it("publishes tones by default only with --connect or --listen; --tones and --no-tones decide otherwise", async () => {
    dir = mkdtempSync(join(tmpdir(), "hil-connect-"));
    const scenarioFile = join(dir, "s.yaml");
    writeFileSync(scenarioFile, "name: tones-test\nseed: 1\nepoch: 2026-03-20T00:00:00Z\nduration: 10m\n");
    const tones = (args: string[]) =>
      new Promise<number>((resolve, reject) => {
        const c = spawn(process.execPath, [CLI, "run", scenarioFile, "--out", join(dir, "r"), "--json", ...args], { stdio: ["ignore", "pipe", "ignore"] });
        let out = "";
        c.stdout.on("data", (d: Buffer) => (out += String(d)));
        c.once("exit", (code) => (code === 0 ? resolve((JSON.parse(out) as { summary: { timeTones: number } }).summary.timeTones) : reject(new Error(`exit ${code}`))));
      });
    expect(await tones([])).toBe(0);
    expect(await tones(["--tones"])).toBe(600);
    expect(await tones(["--listen", `unix:${join(dir, "l.sock")}`])).toBe(600);
    expect(await tones(["--listen", `unix:${join(dir, "l.sock")}`, "--no-tones"])).toBe(0);
  });
});
