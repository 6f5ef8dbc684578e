import { spawn, execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { CommandHistory } from "../../src/store/command-history.js";
import { checkIntegrity, openTtcDatabase } from "../../src/store/database.js";
import { tempDir } from "./support.js";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/crash-writer.mjs", import.meta.url));
const newDir = tempDir();

/** The fixture runs the compiled store: make sure dist/store is not older than src/store. */
function distIsCurrent(): boolean {
  const srcDir = join(packageDir, "src", "store");
  const distDir = join(packageDir, "dist", "store");
  return readdirSync(srcDir)
    .filter((f) => f.endsWith(".ts"))
    .every((f) => {
      const js = join(distDir, f.replace(/\.ts$/, ".js"));
      return existsSync(js) && statSync(js).mtimeMs >= statSync(join(srcDir, f)).mtimeMs;
    });
}

interface KilledRun {
  acked: number[];
}

function runAndKill(dbPath: string, run: number, killAfterMs: number): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, dbPath, String(run)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.startsWith("ready\n")) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== "SIGKILL") {
        reject(new Error(`crash writer exited on its own (code ${code}, signal ${signal}): ${err}`));
        return;
      }
      // Only complete lines count: a line cut by the kill was never acknowledged.
      const lines = out.split("\n").slice(0, -1);
      resolve({ acked: lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4))) });
    });
  });
}

describe("crash safety", () => {
  beforeAll(() => {
    if (distIsCurrent()) return;
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    try {
      execFileSync(process.execPath, [tsc, "-b", packageDir], { stdio: "pipe", timeout: 120_000 });
    } catch (error) {
      // Errors elsewhere in the package may fail the build while still emitting the store.
      if (!distIsCurrent()) throw new Error(`packages/ttc/dist/store is out of date and tsc -b failed: ${String((error as { stdout?: unknown }).stdout ?? error)}`);
    }
    if (!distIsCurrent()) throw new Error("packages/ttc/dist/store is out of date: run `npx tsc -b packages/ttc`");
  }, 120_000);

  it("every acknowledged command survives SIGKILL at random moments, and the database stays sound", async () => {
    const dbPath = join(newDir(), "crash.db");
    const acked: number[] = [];
    const runs = 10;
    for (let run = 1; run <= runs; run++) {
      const killAfterMs = 20 + Math.floor(Math.random() * 280);
      const result = await runAndKill(dbPath, run, killAfterMs);
      acked.push(...result.acked);
    }
    expect(acked.length).toBeGreaterThan(runs);

    const db = openTtcDatabase(dbPath);
    try {
      expect(checkIntegrity(db)).toEqual([]);
      const history = new CommandHistory(db);
      const missing = acked.filter((id) => {
        const c = history.get(id);
        return c === undefined || c.stages.length !== 1 || c.stages[0]!.stage !== "acceptance";
      });
      expect(missing).toEqual([]);
      // At most one command per run can have committed without its acknowledgement being printed.
      const stored = db.prepare(`SELECT count(*) FROM command`).pluck().get() as number;
      expect(stored - acked.length).toBeGreaterThanOrEqual(0);
      expect(stored - acked.length).toBeLessThanOrEqual(runs);
      // Ids are never reused after a crash.
      expect(new Set(acked).size).toBe(acked.length);
    } finally {
      db.close();
    }
  }, 30_000);
});
