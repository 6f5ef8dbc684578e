import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { CommandHistory } from "../../src/store/command-history.js";
import { checkIntegrity, openTtcDatabase } from "../../src/store/database.js";
import { ensureDistCurrent, runAndKill } from "../support/crash.js";
import { tempDir } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/crash-writer.mjs", import.meta.url));
const newDir = tempDir();

describe("crash safety", () => {
  // The fixture runs the compiled store: dist/store must not be older than src/store.
  beforeAll(() => ensureDistCurrent(["store"]), 120_000);

  it("every acknowledged command survives SIGKILL at random moments, and the database stays sound", async () => {
    const dbPath = join(newDir(), "crash.db");
    const acked: number[] = [];
    const runs = 10;
    for (let run = 1; run <= runs; run++) {
      const killAfterMs = 20 + Math.floor(Math.random() * 280);
      const lines = await runAndKill(fixture, [dbPath, String(run)], killAfterMs, "ready\n");
      acked.push(...lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4))));
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
