import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ContactPlan, DownlinkPacer, DownlinkQueue, refillTokens } from "../../src/downlink/index.js";
import type { DownlinkPacket, DownlinkPriority } from "../../src/downlink/index.js";
import { SECOND, T0, meta, pkt, tagOf, tempDir } from "./support.js";

const newDir = tempDir();

function setup(budgetBytes = 64 * 1024 * 1024): { queue: DownlinkQueue; plan: ContactPlan } {
  const queue = DownlinkQueue.open(join(newDir(), "downlink.db"), { budgetBytes });
  return { queue, plan: new ContactPlan(queue.database) };
}

/** Deterministic shuffle (mulberry32). */
function shuffle<T>(items: T[], seed: number): T[] {
  let a = seed;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("refillTokens", () => {
  it("holds at most one tick's worth, or the head packet when that is bigger", () => {
    expect(refillTokens(0, 1000, 100)).toBe(1000);
    expect(refillTokens(900, 1000, 100)).toBe(1000);
    expect(refillTokens(0, 1000, null)).toBe(1000);
    expect(refillTokens(0, 1000, 2500)).toBe(1000);
    expect(refillTokens(2000, 1000, 2500)).toBe(2500);
    expect(refillTokens(2000, 1000, 500)).toBe(1000);
    expect(refillTokens(700, 0, 100)).toBe(0);
  });
});

describe("DownlinkPacer", () => {
  it("in a 10 kB/s, 60 s window with more queued than fits, sends exactly the highest classes, in order; the rest waits for the next window", async () => {
    const { queue, plan } = setup();
    plan.setSchedule([
      { startNs: T0, endNs: T0 + 60n * SECOND, bytesPerSecond: 10_000, station: "svalbard" },
      { startNs: T0 + 600n * SECOND, endNs: T0 + 660n * SECOND, bytesPerSecond: 10_000, station: "troll" },
    ]);
    // 1000 packets of 1000 bytes: 1 MB queued against a 600 kB window.
    const counts: Record<DownlinkPriority, number> = {
      verification: 100,
      "event-high": 100,
      housekeeping: 400,
      "event-low": 200,
      bulk: 200,
    };
    const entries = shuffle(
      Object.entries(counts).flatMap(([p, n]) => Array.from({ length: n }, () => p as DownlinkPriority)),
      42,
    );
    const ranks: Record<DownlinkPriority, number> = { verification: 0, "event-high": 1, housekeeping: 2, "event-low": 3, bulk: 4 };
    const expectedOrder = entries
      .map((p, i) => ({ p, i }))
      .sort((a, b) => ranks[a.p] - ranks[b.p] || a.i - b.i)
      .map((e) => e.i);
    entries.forEach((p, i) => queue.enqueue(pkt(i, 1000), meta(p, { generatedNs: T0 - 1000n * SECOND + BigInt(i) })));

    const sent: DownlinkPacket[] = [];
    const pacer = new DownlinkPacer({
      queue,
      plan,
      send: async (packets) => {
        sent.push(...packets);
        return true;
      },
    });
    const sentAt: bigint[] = [];
    for (let s = -10n; s < 120n; s++) {
      const now = T0 + s * SECOND;
      const r = await pacer.tick(now, SECOND);
      expect(r.sentBytes).toBeLessThanOrEqual(10_000);
      if (r.sentBytes > 0) sentAt.push(s);
      if (s < 0n || s >= 60n) expect(r.outcome).toBe("no-contact");
    }
    expect(sentAt).toEqual(Array.from({ length: 60 }, (_, i) => BigInt(i)));
    expect(sent.length).toBe(600);
    expect(sent.map((p) => tagOf(p.packet))).toEqual(expectedOrder.slice(0, 600));
    expect(new Set(sent.map((p) => p.priority))).toEqual(new Set(["verification", "event-high", "housekeeping"]));
    // The rest waits, queued, untouched.
    expect(queue.list().map((p) => tagOf(p.packet))).toEqual(expectedOrder.slice(600));
    expect(queue.stats().classes.housekeeping).toMatchObject({ sentPackets: 400, queuedPackets: 0 });
    expect(queue.stats().classes["event-low"]).toMatchObject({ sentPackets: 0, queuedPackets: 200, droppedPackets: 0 });

    // Nothing between the windows; the rest in the next one.
    for (let s = 120n; s < 700n; s++) await pacer.tick(T0 + s * SECOND, SECOND);
    expect(sent.map((p) => tagOf(p.packet))).toEqual(expectedOrder);
    expect(queue.list()).toEqual([]);
    queue.close();
  });

  it("releases the lease when the link is lost (send false or throws), then resends in the same order", async () => {
    const { queue, plan } = setup();
    for (let i = 0; i < 6; i++) queue.enqueue(pkt(i, 100), meta(i % 2 === 0 ? "housekeeping" : "verification"));
    const order = queue.list().map((p) => tagOf(p.packet));
    let mode: "ok" | "lost" | "throw" = "lost";
    const attempts: number[][] = [];
    const pacer = new DownlinkPacer({
      queue,
      plan,
      send: async (packets) => {
        attempts.push(packets.map((p) => tagOf(p.packet)));
        // While send is pending the packets are in flight, not removed.
        expect(queue.list({ state: "in-flight" }).map((p) => p.id)).toEqual(packets.map((p) => p.id));
        if (mode === "throw") throw new Error("radio fault");
        return mode === "ok";
      },
    });
    plan.observe(T0, true, 300);
    let r = await pacer.tick(T0, SECOND);
    expect(r.outcome).toBe("link-failed");
    expect(queue.list().map((p) => [tagOf(p.packet), p.leaseId])).toEqual(order.map((t) => [t, null]));
    mode = "throw";
    r = await pacer.tick(T0 + SECOND, SECOND);
    expect(r.outcome).toBe("link-failed");
    expect(String(r.error)).toMatch(/radio fault/);
    expect(queue.list().map((p) => tagOf(p.packet))).toEqual(order);
    mode = "ok";
    r = await pacer.tick(T0 + 2n * SECOND, SECOND);
    expect(r).toMatchObject({ outcome: "sent", sentPackets: 3, sentBytes: 300 });
    r = await pacer.tick(T0 + 3n * SECOND, SECOND);
    expect(r).toMatchObject({ outcome: "sent", sentPackets: 3 });
    expect(attempts).toEqual([order.slice(0, 3), order.slice(0, 3), order.slice(0, 3), order.slice(3)]);
    expect(queue.list()).toEqual([]);
    expect(queue.stats().classes.verification.sentPackets).toBe(3);
    // Out of contact (observation says so): nothing goes.
    plan.observe(T0 + 4n * SECOND, false, 0);
    queue.enqueue(pkt(9), meta("bulk"));
    expect((await pacer.tick(T0 + 4n * SECOND, SECOND)).outcome).toBe("no-contact");
    queue.close();
  });

  it("lets a packet bigger than one tick's worth go once the bucket has filled to its size", async () => {
    const { queue, plan } = setup();
    queue.enqueue(pkt(1, 2500), meta("bulk"));
    queue.enqueue(pkt(2, 600), meta("bulk"));
    queue.enqueue(pkt(3, 600), meta("bulk"));
    const pacer = new DownlinkPacer({ queue, plan, send: async () => true });
    const outcomes: string[] = [];
    for (let s = 0n; s < 6n; s++) {
      const now = T0 + s * SECOND;
      plan.observe(now, true, 1000); // the HIL reports the station in view every tick
      const r = await pacer.tick(now, SECOND);
      expect(r.allowanceBytes).toBeLessThanOrEqual(2500);
      outcomes.push(`${r.outcome}:${r.sentBytes}`);
    }
    expect(outcomes).toEqual(["accumulating:0", "accumulating:0", "sent:2500", "sent:600", "sent:600", "idle:0"]);
    queue.close();
  });

  it("caps the plan's rate by the link rate, and does not overlap sends", async () => {
    const { queue, plan } = setup();
    plan.observe(T0, true, 1_000_000);
    for (let i = 0; i < 20; i++) queue.enqueue(pkt(i, 100), meta("housekeeping"));
    let resolveSend: (ok: boolean) => void = () => undefined;
    const pacer = new DownlinkPacer({
      queue,
      plan,
      linkBytesPerSecond: 500,
      send: () => new Promise<boolean>((resolve) => (resolveSend = resolve)),
    });
    const first = pacer.tick(T0, SECOND);
    expect((await pacer.tick(T0 + 1n, SECOND)).outcome).toBe("busy");
    resolveSend(true);
    expect(await first).toMatchObject({ outcome: "sent", tickBytes: 500, sentBytes: 500 });
    expect(queue.list()).toHaveLength(15);
    queue.close();
  });
});
