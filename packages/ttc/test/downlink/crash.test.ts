import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DOWNLINK_PRIORITIES, DownlinkQueue } from "../../src/downlink/index.js";
import { checkIntegrity } from "../../src/store/database.js";
import { ensureDistCurrent, runAndKill } from "../support/crash.js";
import { tempDir } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/downlink-writer.mjs", import.meta.url));
const newDir = tempDir();

interface Acked {
  enqueued: number[];
  /** lease id -> packet ids, for leases whose takeNext returned. */
  leases: Map<number, number[]>;
  confirmed: Set<number>;
}

/** Records the complete lines of one killed run in `acked`. */
function record(lines: string[], acked: Acked): void {
  for (const line of lines) {
    const [kind, a, b] = line.split(" ");
    if (kind === "enq") acked.enqueued.push(Number(a));
    else if (kind === "lease") acked.leases.set(Number(a), b!.split(",").map(Number));
    else if (kind === "conf") for (const id of acked.leases.get(Number(a))!) acked.confirmed.add(id);
  }
}

describe("downlink crash safety", () => {
  // The fixture runs the compiled queue: dist/downlink must not be older than src/downlink.
  beforeAll(() => ensureDistCurrent(["downlink"]), 120_000);

  it("after SIGKILL at random moments: every acknowledged packet is queued or confirmed, nothing stays in flight, order and counters hold", async () => {
    const dbPath = join(newDir(), "downlink.db");
    const acked: Acked = { enqueued: [], leases: new Map(), confirmed: new Set() };
    const runs = 8;
    for (let run = 1; run <= runs; run++) {
      record(await runAndKill(fixture, [dbPath, String(run)], 20 + Math.floor(Math.random() * 250), "ready "), acked);
    }
    expect(acked.enqueued.length).toBeGreaterThan(runs);
    expect(acked.confirmed.size).toBeGreaterThan(0);

    const queue = DownlinkQueue.open(dbPath, { budgetBytes: 1024 * 1024 });
    try {
      expect(checkIntegrity(queue.database)).toEqual([]);
      const resident = queue.list();
      expect(resident.every((p) => p.leaseId === null)).toBe(true);
      const residentIds = new Set(resident.map((p) => p.id));
      const archived = new Set(
        queue.archived({ fromNs: 0n, toNs: (1n << 63n) - 1n }).map((a) => a.packetId),
      );
      // Every acknowledged enqueue survived: still queued, or sent (confirmed) and archived.
      const lost = acked.enqueued.filter((id) => !residentIds.has(id) && !archived.has(id));
      expect(lost).toEqual([]);
      // Every acknowledged confirmation survived, and a confirmed packet is not queued again.
      for (const id of acked.confirmed) {
        expect(archived.has(id)).toBe(true);
        expect(residentIds.has(id)).toBe(false);
      }
      // Nothing is both queued and archived.
      expect([...residentIds].filter((id) => archived.has(id))).toEqual([]);
      // Order of service is intact.
      const rank = (p: (typeof resident)[number]): number => DOWNLINK_PRIORITIES.indexOf(p.priority);
      const sorted = [...resident].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
      expect(resident.map((p) => p.id)).toEqual(sorted.map((p) => p.id));
      // Persisted counters agree with what is there.
      const stats = queue.stats();
      let queuedPackets = 0;
      for (const p of DOWNLINK_PRIORITIES) {
        const c = stats.classes[p];
        expect(c.enqueuedPackets).toBe(c.queuedPackets + c.inFlightPackets + c.sentPackets + c.droppedPackets);
        queuedPackets += c.queuedPackets;
      }
      expect(queuedPackets).toBe(resident.length);
      expect(stats.archivePackets).toBe(archived.size);
    } finally {
      queue.close();
    }
  }, 60_000);
});
