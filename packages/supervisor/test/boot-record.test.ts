import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BootRecord, type WatchdogEvidence } from "../src/boot-record.js";

const require = createRequire(import.meta.url);
const T0 = 1_000_000_000_000n;
const LOOP = 3;

let dir: string;
let dbPath: string;
const open: BootRecord[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "umbra-boot-"));
  dbPath = join(dir, "supervisor.db");
});
afterEach(async () => {
  for (const r of open.splice(0)) {
    try {
      r.close();
    } catch {
      // already closed
    }
  }
  await rm(dir, { recursive: true, force: true });
});

function openRecord(): BootRecord {
  const r = new BootRecord(dbPath);
  open.push(r);
  return r;
}

/** One boot: open the record (as after a reset), begin, optionally become stable and end, close (the process goes away). */
function boot(opts: { watchdog?: WatchdogEvidence; stable?: boolean; end?: "clean" | "reset-command"; loop?: number } = {}) {
  const r = openRecord();
  const info = r.begin(T0, opts.watchdog ?? {}, opts.loop ?? LOOP);
  if (opts.stable) r.markStable(info.boot);
  if (opts.end) r.end(info.boot, opts.end, T0 + 1n);
  r.close();
  return info;
}

describe("BootRecord: reset reason", () => {
  it("the first boot ever is a power-on, boot 1, nominal", () => {
    expect(boot()).toEqual({ boot: 1, reason: "power-on", unstableBefore: 0, bootLoop: false, mode: "nominal", safeReason: "" });
  });

  it("after a clean end the next boot is a power-on", () => {
    boot({ stable: true, end: "clean" });
    const b = boot();
    expect(b.boot).toBe(2);
    expect(b.reason).toBe("power-on");
  });

  it("after a commanded reset the next boot says command", () => {
    boot({ stable: true, end: "reset-command" });
    expect(boot().reason).toBe("command");
  });

  it("a boot that never wrote its end died: the next boot says crash", () => {
    boot({ stable: true });
    expect(boot().reason).toBe("crash");
  });

  it("a rising watchdog expiration count says watchdog, and the same count on the next boot does not", () => {
    boot({ stable: true, watchdog: { expirations: 0 } });
    expect(boot({ stable: true, watchdog: { expirations: 1 } }).reason).toBe("watchdog");
    // Count unchanged: this reset was not the watchdog's (the previous boot died).
    expect(boot({ stable: true, watchdog: { expirations: 1 } }).reason).toBe("crash");
    expect(boot({ stable: true, end: "clean", watchdog: { expirations: 1 } }).reason).toBe("crash");
    expect(boot({ watchdog: { expirations: 1 } }).reason).toBe("power-on");
  });

  it("the first count seen counts against zero", () => {
    boot({ stable: true });
    expect(boot({ watchdog: { expirations: 2 } }).reason).toBe("watchdog");
  });

  it("the hardware's card-reset flag says watchdog, even after a clean end", () => {
    boot({ stable: true, end: "clean" });
    expect(boot({ watchdog: { cardReset: true } }).reason).toBe("watchdog");
    expect(boot({ watchdog: { cardReset: false } }).reason).toBe("crash");
  });

  it("a commanded reset outranks the watchdog's evidence", () => {
    boot({ stable: true, end: "reset-command" });
    expect(boot({ watchdog: { cardReset: true, expirations: 4 } }).reason).toBe("command");
  });

  it("history lists boots newest first with reason, stability and end", () => {
    boot({ stable: true, end: "clean" });
    boot({ end: "reset-command" });
    boot();
    const r = openRecord();
    const h = r.history();
    expect(h.map((b) => [b.boot, b.reason, b.stable, b.ended])).toEqual([
      [3, "command", false, null],
      [2, "power-on", false, "reset-command"],
      [1, "power-on", true, "clean"],
    ]);
    expect(h[0]!.startedTaiNs).toBe(T0);
    expect(r.history(1)).toHaveLength(1);
  });
});

describe("BootRecord: boot loop", () => {
  it("loopThreshold unstable boots in a row: safe mode with a reason", () => {
    const infos = [boot(), boot(), boot(), boot()];
    expect(infos.map((b) => b.unstableBefore)).toEqual([0, 1, 2, 3]);
    expect(infos.map((b) => b.bootLoop)).toEqual([false, false, false, true]);
    expect(infos[3]!.mode).toBe("safe");
    expect(infos[3]!.safeReason).toMatch(/boot loop: 3 boots in a row/);
  });

  it("a stable boot breaks the run", () => {
    boot();
    boot();
    boot({ stable: true }); // stable, then crashed: not a loop
    expect(boot().unstableBefore).toBe(0);
    const b = boot();
    expect(b.unstableBefore).toBe(1);
    expect(b.bootLoop).toBe(false);
    expect(b.mode).toBe("nominal");
  });

  it("a boot that ended on purpose before it became stable breaks the run", () => {
    boot();
    boot();
    boot({ end: "reset-command" });
    const b = boot();
    expect(b.unstableBefore).toBe(0);
    expect(b.bootLoop).toBe(false);
  });

  it("the loop's safe mode is persisted: the next boot stays safe even once stable", () => {
    for (let i = 0; i < LOOP; i++) boot();
    const looped = boot({ stable: true, end: "clean" });
    expect(looped.mode).toBe("safe");
    const next = boot();
    expect(next.bootLoop).toBe(false);
    expect(next.mode).toBe("safe");
    expect(next.safeReason).toBe(looped.safeReason);
  });

  it("loopThreshold 0 turns detection off", () => {
    for (let i = 0; i < 6; i++) boot({ loop: 0 });
    const b = boot({ loop: 0 });
    expect(b.bootLoop).toBe(false);
    expect(b.mode).toBe("nominal");
  });

  it("an earlier safe reason is kept when a boot loop happens in safe mode", () => {
    const r = openRecord();
    r.begin(T0, {}, LOOP);
    r.saveMode("safe", "battery low");
    r.close();
    for (let i = 0; i < LOOP; i++) boot();
    const b = boot();
    expect(b.bootLoop).toBe(true);
    expect(b.mode).toBe("safe");
    expect(b.safeReason).toBe("battery low");
  });
});

describe("BootRecord: mode", () => {
  it("safe mode persists across boots until nominal is saved", () => {
    let r = openRecord();
    const b1 = r.begin(T0, {}, LOOP);
    r.saveMode("safe", "thermal emergency");
    r.end(b1.boot, "clean", T0);
    r.close();
    for (let i = 0; i < 2; i++) {
      const b = boot({ stable: true, end: "clean" });
      expect(b.mode).toBe("safe");
      expect(b.safeReason).toBe("thermal emergency");
    }
    r = openRecord();
    const b = r.begin(T0, {}, LOOP);
    expect(b.mode).toBe("safe");
    r.saveMode("nominal", "");
    r.end(b.boot, "clean", T0);
    r.close();
    expect(boot()).toMatchObject({ mode: "nominal", safeReason: "" });
  });
});

describe("BootRecord: parameters", () => {
  it("saved values come back after a reopen, per service, with their types", () => {
    let r = openRecord();
    r.saveParameter("jobs", "maxConcurrent", 3, T0);
    r.saveParameter("jobs", "enabled", false, T0);
    r.saveParameter("jobs", "tenant", "acme", T0);
    r.saveParameter("thermal", "setpointC", 41.5, T0);
    r.close();
    r = openRecord();
    expect(r.parameters("jobs")).toEqual({ enabled: false, maxConcurrent: 3, tenant: "acme" });
    expect(r.parameters("thermal")).toEqual({ setpointC: 41.5 });
    expect(r.parameters("gateway")).toEqual({});
  });

  it("a second save overwrites the first", () => {
    const r = openRecord();
    r.saveParameter("jobs", "maxConcurrent", 3, T0);
    r.saveParameter("jobs", "maxConcurrent", 5, T0 + 1n);
    expect(r.parameters("jobs")).toEqual({ maxConcurrent: 5 });
  });

  it("a damaged row is skipped and the others still load", () => {
    const r = openRecord();
    r.saveParameter("jobs", "a", 1, T0);
    r.saveParameter("jobs", "b", 2, T0);
    r.close();
    const db = new Database(dbPath);
    db.prepare("UPDATE parameters SET value_json = ? WHERE name = 'a'").run("{not json");
    db.prepare("INSERT INTO parameters VALUES ('jobs', 'c', '{\"x\":1}', '0')").run();
    db.prepare("INSERT INTO parameters VALUES ('jobs', 'd', 'null', '0')").run();
    db.close();
    expect(openRecord().parameters("jobs")).toEqual({ b: 2 });
  });
});

describe("BootRecord: durability and bad input", () => {
  it("a database whose writer was killed mid-transaction still opens, without the half-written boot", async () => {
    boot({ stable: true, end: "clean" });
    // A child process opens the record, begins a transaction, writes a boot and parks; we kill it with SIGKILL.
    const script = `
      const Database = require(${JSON.stringify(require.resolve("better-sqlite3"))});
      const db = new Database(${JSON.stringify(dbPath)});
      db.pragma("journal_mode = WAL");
      db.exec("BEGIN IMMEDIATE");
      db.prepare("INSERT INTO boots (boot, started_tai_ns, reset_reason) VALUES (99, '0', 'crash')").run();
      db.prepare("INSERT INTO state (key, value) VALUES ('mode', 'safe') ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
      process.stdout.write("in-transaction\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        if (d.toString().includes("in-transaction")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    const r = openRecord();
    const b = r.begin(T0, {}, LOOP);
    expect(b).toMatchObject({ boot: 2, reason: "power-on", mode: "nominal" });
    expect(r.history().map((h) => h.boot)).toEqual([2, 1]);
  });

  it("a path in a missing folder gives an error that names the path", () => {
    const bad = join(dir, "no-such-folder", "supervisor.db");
    expect(() => new BootRecord(bad)).toThrow(/no-such-folder.*supervisor\.db.*directory does not exist/);
  });

  it("a file that is not a database gives an error that names it", async () => {
    await writeFile(dbPath, "this is not an SQLite database, just text that is long enough to have a header".repeat(10));
    expect(() => new BootRecord(dbPath)).toThrow(/supervisor\.db.*not a database/);
  });
});
