import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DOWNLINK_PRIORITIES,
  DownlinkQueue,
  InvalidFieldError,
  TtcDatabaseError,
  openDownlinkDatabase,
} from "../../src/downlink/index.js";
import type { DownlinkPriority } from "../../src/downlink/index.js";
import { openTtcDatabase } from "../../src/store/database.js";
import { CommandHistory } from "../../src/store/command-history.js";
import { SECOND, T0, meta, pkt, tagOf, tempDir } from "./support.js";

const newDir = tempDir();

function openQueue(options: ConstructorParameters<typeof DownlinkQueue>[1] = {}): { queue: DownlinkQueue; path: string } {
  const path = join(newDir(), "downlink.db");
  return { queue: DownlinkQueue.open(path, options), path };
}

describe("DownlinkQueue: order of service", () => {
  it("serves by class, FIFO within a class by enqueue order", () => {
    const { queue } = openQueue();
    const order: [DownlinkPriority, number][] = [
      ["bulk", 1],
      ["housekeeping", 2],
      ["event-low", 3],
      ["verification", 4],
      ["bulk", 5],
      ["event-high", 6],
      ["housekeeping", 7],
      ["verification", 8],
      ["event-high", 9],
    ];
    for (const [p, tag] of order) queue.enqueue(pkt(tag), meta(p));
    expect(queue.list().map((p) => tagOf(p.packet))).toEqual([4, 8, 6, 9, 2, 7, 3, 1, 5]);
    const lease = queue.takeNext(1_000_000);
    expect(lease?.packets.map((p) => tagOf(p.packet))).toEqual([4, 8, 6, 9, 2, 7, 3, 1, 5]);
    queue.close();
  });

  it("takeNext takes the longest prefix that fits, never a smaller packet from behind", () => {
    const { queue } = openQueue();
    queue.enqueue(pkt(1, 400), meta("verification"));
    queue.enqueue(pkt(2, 500), meta("housekeeping"));
    queue.enqueue(pkt(3, 50), meta("bulk"));
    expect(queue.takeNext(399)).toBeNull();
    const lease = queue.takeNext(800)!;
    expect(lease.packets.map((p) => tagOf(p.packet))).toEqual([1]);
    expect(lease.bytes).toBe(400);
    // The 50-byte bulk packet would fit in what is left, but the housekeeping packet goes first.
    expect(queue.takeNext(499)).toBeNull();
    expect(queue.takeNext(550)!.packets.map((p) => tagOf(p.packet))).toEqual([2, 3]);
    expect(queue.takeNext(1_000_000)).toBeNull();
    queue.close();
  });

  it("keeps the header fields and a copy of the bytes", () => {
    const { queue } = openQueue();
    const bytes = pkt(7, 20);
    const { id } = queue.enqueue(bytes, meta("event-high", { generatedNs: T0 + 5n, apid: 2047, service: 5, subtype: 4 }));
    bytes.fill(0);
    expect(queue.get(id)).toMatchObject({
      id,
      priority: "event-high",
      generatedNs: T0 + 5n,
      apid: 2047,
      service: 5,
      subtype: 4,
      bytes: 20,
      leaseId: null,
      retrievedFrom: null,
    });
    expect(tagOf(queue.get(id)!.packet)).toBe(7);
    queue.close();
  });
});

describe("DownlinkQueue: sending with confirmation", () => {
  it("removes nothing until confirmed; confirm archives and counts", () => {
    const { queue } = openQueue();
    const ids = [1, 2, 3].map((t) => queue.enqueue(pkt(t), meta("housekeeping")).id);
    const lease = queue.takeNext(250)!;
    expect(lease.packets.map((p) => p.id)).toEqual(ids.slice(0, 2));
    expect(lease.packets.every((p) => p.leaseId === lease.leaseId)).toBe(true);
    // Still there, in flight.
    expect(queue.list().map((p) => [p.id, p.leaseId])).toEqual([
      [ids[0], lease.leaseId],
      [ids[1], lease.leaseId],
      [ids[2], null],
    ]);
    expect(queue.stats().classes.housekeeping).toMatchObject({ queuedPackets: 1, inFlightPackets: 2, sentPackets: 0 });
    // The next lease skips what is in flight.
    const next = queue.takeNext(1000)!;
    expect(next.packets.map((p) => p.id)).toEqual([ids[2]]);
    expect(next.leaseId).not.toBe(lease.leaseId);

    expect(queue.confirm(lease.leaseId, T0)).toBe(2);
    expect(queue.list().map((p) => p.id)).toEqual([ids[2]]);
    expect(queue.stats().classes.housekeeping).toMatchObject({ queuedPackets: 0, inFlightPackets: 1, sentPackets: 2, sentBytes: 200 });
    expect(queue.archived({ fromNs: 0n, toNs: T0 }).map((a) => a.packetId)).toEqual(ids.slice(0, 2));
    // Confirming twice is refused and changes nothing.
    expect(() => queue.confirm(lease.leaseId, T0)).toThrow(InvalidFieldError);
    expect(queue.stats().classes.housekeeping.sentPackets).toBe(2);
    queue.close();
  });

  it("confirms by packet ids, all or nothing, naming the bad id", () => {
    const { queue } = openQueue();
    const ids = [1, 2, 3].map((t) => queue.enqueue(pkt(t), meta("bulk")).id);
    const lease = queue.takeNext(200)!;
    const err = (() => {
      try {
        queue.confirm([ids[0]!, ids[2]!], T0);
      } catch (e) {
        return e;
      }
    })() as InvalidFieldError;
    expect(err).toBeInstanceOf(InvalidFieldError);
    expect(err.field).toBe("ids[1]");
    expect(err.message).toMatch(/queued, not in flight/);
    expect(queue.list({ state: "in-flight" }).map((p) => p.id)).toEqual(ids.slice(0, 2));
    expect(() => queue.confirm([ids[0]!, ids[0]!], T0)).toThrow(/ids\[1\].*repeats/);
    expect(queue.confirm([ids[1]!], T0)).toBe(1);
    expect(() => queue.confirm([ids[1]!], T0)).toThrow(/ids\[0\]: packet \d+ is not in the queue/);
    // The rest of the lease can still be confirmed by lease id.
    expect(queue.confirm(lease.leaseId, T0)).toBe(1);
    expect(queue.list().map((p) => p.id)).toEqual([ids[2]]);
    queue.close();
  });

  it("release puts a lease back in its original place (link lost)", () => {
    const { queue } = openQueue();
    const a = queue.enqueue(pkt(1), meta("housekeeping")).id;
    const b = queue.enqueue(pkt(2), meta("housekeeping")).id;
    const lease = queue.takeNext(200)!;
    // More arrives while the lease is out, in the same class and a higher one.
    const c = queue.enqueue(pkt(3), meta("housekeeping")).id;
    const d = queue.enqueue(pkt(4), meta("verification")).id;
    expect(queue.release(lease.leaseId)).toBe(2);
    expect(queue.list().map((p) => [p.id, p.leaseId])).toEqual([
      [d, null],
      [a, null],
      [b, null],
      [c, null],
    ]);
    expect(() => queue.release(lease.leaseId)).toThrow(/leaseId: no packets are in flight under lease/);
    expect(() => queue.confirm(lease.leaseId, T0)).toThrow(InvalidFieldError);
    expect(queue.stats().classes.housekeeping).toMatchObject({ queuedPackets: 3, sentPackets: 0, droppedPackets: 0 });
    queue.close();
  });

  it("after a crash, everything in flight goes back to queued, in its original order", () => {
    const { queue, path } = openQueue();
    const tags = [10, 11, 12, 13, 14, 15];
    const prios: DownlinkPriority[] = ["bulk", "verification", "housekeeping", "verification", "bulk", "event-low"];
    tags.forEach((t, i) => queue.enqueue(pkt(t), meta(prios[i]!)));
    const before = queue.list().map((p) => p.id);
    const l1 = queue.takeNext(200)!;
    const l2 = queue.takeNext(200)!;
    expect(queue.confirm([l1.packets[0]!.id], T0)).toBe(1);
    expect(queue.list({ state: "in-flight" })).toHaveLength(3);
    // "Crash": the first connection is abandoned without closing or releasing anything.
    const reopened = DownlinkQueue.open(path);
    expect(reopened.recoveredOnOpen).toBe(3);
    expect(reopened.list().every((p) => p.leaseId === null)).toBe(true);
    expect(reopened.list().map((p) => p.id)).toEqual(before.slice(1));
    expect(reopened.leases()).toEqual([]);
    // Lease ids are never reused after a restart.
    const l3 = reopened.takeNext(100)!;
    expect(l3.leaseId).toBeGreaterThan(l2.leaseId);
    reopened.close();
    queue.close();
  });
});

describe("DownlinkQueue: overflow", () => {
  it("drops the oldest of the lowest class first, counted per class and persisted", () => {
    const { queue, path } = openQueue({ budgetBytes: 1000 });
    const hk = [1, 2, 3].map((t) => queue.enqueue(pkt(t), meta("housekeeping")).id);
    const low = [4, 5].map((t) => queue.enqueue(pkt(t), meta("event-low")).id);
    const bulk = [6, 7, 8].map((t) => queue.enqueue(pkt(t), meta("bulk")).id);
    const ver = [9, 10].map((t) => queue.enqueue(pkt(t), meta("verification")).id);
    expect(queue.stats().residentBytes).toBe(1000);
    // One more housekeeping packet: the oldest bulk goes.
    let r = queue.enqueue(pkt(11), meta("housekeeping"));
    const hk11 = r.id;
    expect(r.queued).toBe(true);
    expect(r.dropped.map((d) => [d.id, d.priority])).toEqual([[bulk[0], "bulk"]]);
    // Three more verification reports: the other two bulk, then the oldest low event.
    r = queue.enqueue(pkt(12, 300), meta("verification"));
    const ver12 = r.id;
    expect(r.dropped.map((d) => d.id)).toEqual([bulk[1], bulk[2], low[0]]);
    // A bulk packet when no bulk is queued is the lowest class itself: it is dropped.
    r = queue.enqueue(pkt(13), meta("bulk"));
    expect(r.queued).toBe(false);
    expect(r.dropped.map((d) => d.id)).toEqual([r.id]);
    expect(queue.stats().residentBytes).toBeLessThanOrEqual(1000);

    const s = queue.stats().classes;
    expect(s.bulk).toMatchObject({ droppedPackets: 4, droppedBytes: 400, queuedPackets: 0, enqueuedPackets: 4 });
    expect(s["event-low"]).toMatchObject({ droppedPackets: 1, droppedBytes: 100, queuedPackets: 1 });
    expect(s.housekeeping).toMatchObject({ droppedPackets: 0, queuedPackets: 4 });
    expect(s.verification).toMatchObject({ droppedPackets: 0, queuedPackets: 3 });
    queue.close();

    const reopened = DownlinkQueue.open(path, { budgetBytes: 1000 });
    expect(reopened.stats().classes.bulk.droppedPackets).toBe(4);
    expect(reopened.stats().classes["event-low"].droppedPackets).toBe(1);
    expect(reopened.list().map((p) => p.id)).toEqual([...ver, ver12, ...hk, hk11, low[1]]);
    reopened.close();
  });

  it("drops a verification report only when nothing else is left queued", () => {
    const { queue } = openQueue({ budgetBytes: 500 });
    const ver = [1, 2, 3].map((t) => queue.enqueue(pkt(t), meta("verification")).id);
    const hk = queue.enqueue(pkt(4), meta("housekeeping")).id;
    const ev = queue.enqueue(pkt(5), meta("event-high")).id;
    // Over budget by 100, then by 200: housekeeping, then the high event go before any report.
    expect(queue.enqueue(pkt(6), meta("verification")).dropped.map((d) => d.id)).toEqual([hk]);
    expect(queue.enqueue(pkt(7), meta("verification")).dropped.map((d) => d.id)).toEqual([ev]);
    // Only reports left: the oldest report goes.
    expect(queue.enqueue(pkt(8), meta("verification")).dropped.map((d) => d.id)).toEqual([ver[0]]);
    expect(queue.stats().classes.verification.droppedPackets).toBe(1);
    queue.close();
  });

  it("never drops in-flight packets, and drops a packet bigger than the whole budget alone", () => {
    const { queue } = openQueue({ budgetBytes: 300 });
    const a = queue.enqueue(pkt(1), meta("bulk")).id;
    const b = queue.enqueue(pkt(2), meta("bulk")).id;
    const lease = queue.takeNext(200)!;
    const c = queue.enqueue(pkt(3), meta("bulk")).id;
    // Over budget: the only queued packet is the newest; the in-flight older ones stay.
    const r = queue.enqueue(pkt(4), meta("verification"));
    expect(r.dropped.map((d) => [d.id, d.priority])).toEqual([[c, "bulk"]]);
    expect(queue.list({ state: "in-flight" }).map((p) => p.id)).toEqual([a, b]);
    const huge = queue.enqueue(pkt(5, 301), meta("verification"));
    expect(huge.queued).toBe(false);
    expect(huge.dropped.map((d) => d.id)).toEqual([huge.id]);
    expect(queue.list().map((p) => tagOf(p.packet))).toEqual([4, 1, 2]);
    expect(queue.confirm(lease.leaseId, T0)).toBe(2);
    queue.close();
  });
});

describe("DownlinkQueue: retrieval by time range", () => {
  it("re-queues archived packets generated in [from, to], optionally of one APID, at the given priority", () => {
    const { queue } = openQueue();
    for (let i = 0; i < 10; i++) {
      queue.enqueue(pkt(i), meta("housekeeping", { generatedNs: T0 + BigInt(i) * SECOND, apid: i % 2 === 0 ? 100 : 200 }));
    }
    const lease = queue.takeNext(1_000_000)!;
    expect(queue.confirm(lease.leaseId, T0 + 20n * SECOND)).toBe(10);
    expect(queue.list()).toEqual([]);
    queue.enqueue(pkt(99), meta("housekeeping", { generatedNs: T0 + 30n * SECOND }));

    const r = queue.retrieve(T0 + 2n * SECOND, T0 + 7n * SECOND, { apid: 100, priority: "event-low" });
    expect(r.alreadyQueued).toBe(0);
    expect(r.dropped).toEqual([]);
    const copies = r.ids.map((id) => queue.get(id)!);
    expect(copies.map((c) => tagOf(c.packet))).toEqual([2, 4, 6]);
    expect(copies.every((c) => c.priority === "event-low" && c.apid === 100 && c.retrievedFrom !== null)).toBe(true);
    expect(copies.map((c) => c.generatedNs)).toEqual([T0 + 2n * SECOND, T0 + 4n * SECOND, T0 + 6n * SECOND]);
    // Order of service: housekeeping 99 first, then the retrieved copies.
    expect(queue.list().map((p) => tagOf(p.packet))).toEqual([99, 2, 4, 6]);

    // Retrieving again does not queue a second copy.
    const again = queue.retrieve(T0, T0 + 9n * SECOND, { apid: 100 });
    expect(again.alreadyQueued).toBe(3);
    expect(again.ids.map((id) => tagOf(queue.get(id)!.packet))).toEqual([0, 8]);
    expect(queue.get(again.ids[0]!)!.priority).toBe("bulk");

    // Sending a copy does not archive it twice.
    const all = queue.takeNext(1_000_000)!;
    queue.confirm(all.leaseId, T0 + 40n * SECOND);
    expect(queue.stats().archivePackets).toBe(11);
    expect(queue.archived({ fromNs: T0, toNs: T0 + 9n * SECOND, apid: 100 }).map((a) => tagOf(a.packet))).toEqual([0, 2, 4, 6, 8]);
    expect(() => queue.retrieve(T0 + 1n, T0)).toThrow(/toNs: must not be before fromNs/);
    expect(() => queue.retrieve(T0, T0 + 1n, { priority: "urgent" as DownlinkPriority })).toThrow(/priority: must be one of/);
    queue.close();
  });

  it("keeps sent packets for the retention age and byte limit", () => {
    const { queue } = openQueue({ retention: { maxAgeNs: 3600n * SECOND, maxBytes: 500 } });
    const send = (tag: number, at: bigint): void => {
      queue.enqueue(pkt(tag), meta("bulk", { generatedNs: at }));
      queue.confirm(queue.takeNext(1000)!.leaseId, at);
    };
    for (let i = 0; i < 7; i++) send(i, T0 + BigInt(i) * SECOND);
    // Byte limit: only the newest 5 (500 bytes) remain.
    expect(queue.archived({ fromNs: 0n, toNs: T0 * 2n }).map((a) => tagOf(a.packet))).toEqual([2, 3, 4, 5, 6]);
    expect(queue.stats()).toMatchObject({ archivePackets: 5, archiveBytes: 500 });
    // Age limit: an hour later, everything sent more than an hour ago goes.
    send(7, T0 + 3605n * SECOND);
    expect(queue.archived({ fromNs: 0n, toNs: T0 * 2n }).map((a) => tagOf(a.packet))).toEqual([5, 6, 7]);
    expect(queue.pruneArchive(T0 + 7206n * SECOND)).toBe(3);
    expect(queue.stats().archivePackets).toBe(0);
    queue.close();
  });
});

describe("DownlinkQueue: input and database", () => {
  it("refuses bad input naming the field, writing nothing", () => {
    const { queue } = openQueue();
    const cases: [() => unknown, string][] = [
      [() => queue.enqueue(new Uint8Array(0), meta("bulk")), "packet"],
      [() => queue.enqueue(new Uint8Array(65_543), meta("bulk")), "packet"],
      [() => queue.enqueue(pkt(1), meta("urgent" as DownlinkPriority)), "priority"],
      [() => queue.enqueue(pkt(1), meta("bulk", { generatedNs: -1n })), "generatedNs"],
      [() => queue.enqueue(pkt(1), meta("bulk", { apid: 2048 })), "apid"],
      [() => queue.enqueue(pkt(1), meta("bulk", { service: 256 })), "service"],
      [() => queue.enqueue(pkt(1), meta("bulk", { subtype: 1.5 })), "subtype"],
      [() => queue.takeNext(-1), "maxBytes"],
      [() => queue.confirm(0, T0), "leaseId"],
      [() => queue.confirm([], T0), "ids"],
      [() => queue.confirm(1, -5n), "sentNs"],
      [() => queue.release(1.5), "leaseId"],
    ];
    for (const [f, field] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(InvalidFieldError);
      expect((err as InvalidFieldError).field).toBe(field);
      expect((err as Error).message.startsWith(`${field}: `)).toBe(true);
    }
    expect(queue.list()).toEqual([]);
    expect(Object.values(queue.stats().classes).every((c) => c.enqueuedPackets === 0)).toBe(true);
    expect(() => new DownlinkQueue(queue.database, { budgetBytes: 0 })).toThrow(/budgetBytes/);
    queue.close();
  });

  it("shares the TTC database without touching its schema version", () => {
    const path = join(newDir(), "ttc.db");
    const db = openTtcDatabase(path);
    const version = db.pragma("user_version", { simple: true });
    const queue = new DownlinkQueue(db);
    queue.enqueue(pkt(1), meta("verification"));
    expect(db.pragma("user_version", { simple: true })).toBe(version);
    queue.close(); // not ours: stays open
    expect(db.open).toBe(true);
    new CommandHistory(db); // the TTC store still accepts it
    db.close();
    const db2 = openTtcDatabase(path);
    expect(new DownlinkQueue(db2).list().map((p) => tagOf(p.packet))).toEqual([1]);
    db2.close();
  });

  it("refuses a file database that is not durable, and downlink tables from newer software", () => {
    const dir = newDir();
    const raw = new Database(join(dir, "raw.db"));
    expect(() => new DownlinkQueue(raw)).toThrow(/WAL and synchronous FULL/);
    raw.close();

    const path = join(dir, "newer.db");
    openDownlinkDatabase(path).close();
    const db = new Database(path);
    db.prepare(`UPDATE downlink_schema SET version = 99`).run();
    db.close();
    let err: unknown;
    try {
      DownlinkQueue.open(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TtcDatabaseError);
    expect((err as TtcDatabaseError).path).toBe(path);
    expect((err as Error).message).toMatch(/downlink schema version 99, newer than this software knows/);

    const notDb = join(dir, "garbage.db");
    writeFileSync(notDb, "this is not a database, not at all, no".repeat(100));
    expect(() => DownlinkQueue.open(notDb)).toThrow(new RegExp(`downlink database ${notDb}`));
  });

  it("lists the priority classes in order of service", () => {
    expect(DOWNLINK_PRIORITIES).toEqual(["verification", "event-high", "housekeeping", "event-low", "bulk"]);
  });
});
