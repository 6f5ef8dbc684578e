import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { openArchive } from "../../src/archive/index.js";
import { ensureDistCurrent, runAndKill } from "../support/crash.js";
import { tempDir } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/archive-writer.mjs", import.meta.url));
const newDir = tempDir();
const T0 = 2_200_000_000_000_000_000n;
const PARAMS = 40;
const INT64_MAX = (1n << 63n) - 1n;

const timeOf = (batchNo: number) => T0 + BigInt(batchNo) * 1000n;

describe("crash safety", () => {
  // The fixture runs the compiled archive (which uses the store's modules): dist must not be older than src.
  beforeAll(() => ensureDistCurrent(["archive", "store"]), 120_000);

  it("every acknowledged batch survives SIGKILL at random moments, whole, and the file stays sound", async () => {
    const dbPath = join(newDir(), "archive.db");
    const acked: number[] = [];
    const runs = 10;
    for (let run = 1; run <= runs; run++) {
      const killAfterMs = 30 + Math.floor(Math.random() * 400);
      const lines = await runAndKill(fixture, [dbPath, String(run)], killAfterMs, "ready\n");
      acked.push(...lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4))));

      const archive = openArchive(dbPath);
      try {
        expect(archive.checkIntegrity()).toEqual([]);
        // Every parameter holds every acknowledged batch, and no batch is there for some parameters only.
        const present = new Map<bigint, number>();
        for (let k = 0; k < PARAMS; k++) {
          const series = archive.samples("crash", `p${k}`, T0, INT64_MAX);
          for (let i = 0; i < series.length; i++) {
            const t = series.tNs[i]!;
            present.set(t, (present.get(t) ?? 0) + 1);
            const batchNo = Number((t - T0) / 1000n);
            const expected = k % 4 === 0 ? `b${batchNo}` : batchNo + k / 8;
            if (series.values[i] !== expected) throw new Error(`p${k} at batch ${batchNo}: ${String(series.values[i])}, expected ${expected}`);
          }
        }
        const missing = acked.filter((b) => present.get(timeOf(b)) !== PARAMS);
        expect(missing).toEqual([]);
        const partial = [...present].filter(([, n]) => n !== PARAMS);
        expect(partial).toEqual([]);
        // At most one batch per run can have committed without its acknowledgement being printed.
        expect(present.size - acked.length).toBeGreaterThanOrEqual(0);
        expect(present.size - acked.length).toBeLessThanOrEqual(run);

        const ackedSet = new Set(acked);
        const events = new Set(archive.events({ fromNs: T0, toNs: INT64_MAX }).map((e) => e.args["batchNo"] as number));
        expect(acked.filter((b) => b % 5 === 0 && !events.has(b))).toEqual([]);
        const reports = new Set(archive.verifications({ fromNs: T0, toNs: INT64_MAX }).map((r) => r.commandId));
        expect(acked.filter((b) => b % 7 === 0 && !reports.has(b))).toEqual([]);
        expect([...reports].every((b) => ackedSet.has(b) || present.has(timeOf(b)))).toBe(true);
      } finally {
        archive.close();
      }
    }
    expect(acked.length).toBeGreaterThan(runs * 5);
    const archive = openArchive(dbPath);
    try {
      const st = archive.stats();
      // Retention ran in the writers: the ancient samples it dropped are counted.
      expect(st.dropped.housekeeping.byAge).toBeGreaterThan(0);
      expect(st.dropped.low.byAge + st.dropped.high.byAge).toBe(0);
    } finally {
      archive.close();
    }
  }, 60_000);
});
