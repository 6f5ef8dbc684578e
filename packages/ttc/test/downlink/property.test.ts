import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOWNLINK_PRIORITIES, DownlinkFullError, DownlinkQueue, InvalidFieldError } from "../../src/downlink/index.js";
import type { DownlinkPriority } from "../../src/downlink/index.js";
import { SECOND, T0, meta, pkt, tempDir } from "./support.js";

const newDir = tempDir();
const BUDGET = 2000;
const coverage = { drops: 0, crashesWithLeases: 0, retrievedCopies: 0, batchesQueued: 0, batchesRefused: 0 };

type Op =
  | { kind: "enqueue"; rank: number; size: number }
  | { kind: "enqueueAll"; rank: number; sizes: number[] }
  | { kind: "take"; maxBytes: number }
  | { kind: "confirmLease"; pick: number }
  | { kind: "confirmIds"; pick: number; count: number }
  | { kind: "release"; pick: number }
  | { kind: "releaseAll" }
  | { kind: "retrieve"; rank: number }
  | { kind: "bogusConfirm"; id: number }
  | { kind: "crash" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("enqueue" as const), rank: fc.integer({ min: 0, max: 4 }), size: fc.integer({ min: 1, max: 400 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("enqueueAll" as const), rank: fc.integer({ min: 0, max: 4 }), sizes: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("take" as const), maxBytes: fc.integer({ min: 0, max: 1200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("confirmLease" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("confirmIds" as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "releaseAll" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retrieve" as const), rank: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("bogusConfirm" as const), id: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "crash" as const }) },
);

/**
 * Runs a random sequence against a real queue (on a file, reopened on
 * "crash") and a bookkeeping model, and after every step checks that each
 * packet ever enqueued is in exactly one place: queued, in flight, confirmed
 * (once), or dropped (and counted in its class).
 */
function run(ops: readonly Op[]): void {
  const path = join(newDir(), "prop.db");
  let queue = DownlinkQueue.open(path, { budgetBytes: BUDGET });
  const rankOf = new Map<number, number>();
  const sizeOf = new Map<number, number>();
  const confirmed = new Map<number, number>(); // id -> times
  const dropped = new Set<number>();
  const leases = new Map<number, Set<number>>(); // what the model believes is in flight
  let clock = T0;

  const recordDrops = (ds: readonly { id: number }[]): void => {
    for (const d of ds) {
      expect(dropped.has(d.id), `packet ${d.id} dropped twice`).toBe(false);
      expect(confirmed.has(d.id), `confirmed packet ${d.id} dropped`).toBe(false);
      for (const set of leases.values()) expect(set.has(d.id), `in-flight packet ${d.id} dropped`).toBe(false);
      dropped.add(d.id);
    }
  };
  const inFlightIds = (): number[] => [...leases.values()].flatMap((s) => [...s]);
  const confirmIds = (ids: number[]): void => {
    for (const id of ids) confirmed.set(id, (confirmed.get(id) ?? 0) + 1);
    for (const [lid, set] of leases) {
      for (const id of ids) set.delete(id);
      if (set.size === 0) leases.delete(lid);
    }
  };

  for (const op of ops) {
    clock += SECOND;
    switch (op.kind) {
      case "enqueue": {
        const before = queue.list();
        const residentBefore = before.reduce((a, p) => a + p.bytes, 0);
        const r = queue.enqueue(pkt(rankOf.size, op.size), meta(DOWNLINK_PRIORITIES[op.rank]!, { generatedNs: clock }));
        expect(rankOf.has(r.id)).toBe(false);
        rankOf.set(r.id, op.rank);
        sizeOf.set(r.id, op.size);
        // Which packets overflow must drop: the oldest of the lowest class queued, repeatedly; never in flight.
        const expectedDrops: number[] = [];
        if (op.size > BUDGET) {
          expectedDrops.push(r.id);
        } else {
          const candidates = [...before.filter((p) => p.leaseId === null).map((p) => ({ id: p.id, rank: rankOf.get(p.id)!, bytes: p.bytes })), { id: r.id, rank: op.rank, bytes: op.size }];
          let resident = residentBefore + op.size;
          while (resident > BUDGET && candidates.length > 0) {
            candidates.sort((a, b) => b.rank - a.rank || a.id - b.id);
            const victim = candidates.shift()!;
            expectedDrops.push(victim.id);
            resident -= victim.bytes;
          }
        }
        expect(r.dropped.map((d) => d.id)).toEqual(expectedDrops);
        coverage.drops += r.dropped.length;
        recordDrops(r.dropped);
        expect(r.queued).toBe(!dropped.has(r.id));
        break;
      }
      case "enqueueAll": {
        // A product's segments: the overflow rule with the whole batch entering at once; refused whole if it would drop one of its own.
        const before = queue.list();
        const statsBefore = queue.stats();
        const total = op.sizes.reduce((a, n) => a + n, 0);
        const batchIds = op.sizes.map((_, i) => Number.MAX_SAFE_INTEGER - op.sizes.length + i); // newest of all, in order
        const candidates = [
          ...before.filter((p) => p.leaseId === null).map((p) => ({ id: p.id, rank: rankOf.get(p.id)!, bytes: p.bytes })),
          ...op.sizes.map((n, i) => ({ id: batchIds[i]!, rank: op.rank, bytes: n })),
        ];
        let resident = before.reduce((a, p) => a + p.bytes, 0) + total;
        const expectedDrops: number[] = [];
        let refused = total > BUDGET;
        while (!refused && resident > BUDGET && candidates.length > 0) {
          candidates.sort((a, b) => b.rank - a.rank || a.id - b.id);
          const victim = candidates.shift()!;
          if (batchIds.includes(victim.id)) refused = true;
          else {
            expectedDrops.push(victim.id);
            resident -= victim.bytes;
          }
        }
        const items = op.sizes.map((n) => ({ packet: pkt(rankOf.size, n), options: meta(DOWNLINK_PRIORITIES[op.rank]!, { generatedNs: clock }) }));
        if (refused) {
          expect(() => queue.enqueueAll(items)).toThrow(DownlinkFullError);
          expect(queue.list()).toEqual(before);
          expect(queue.stats()).toEqual(statsBefore);
          coverage.batchesRefused += 1;
          break;
        }
        const r = queue.enqueueAll(items);
        expect(r.ids).toHaveLength(op.sizes.length);
        r.ids.forEach((id, i) => {
          expect(rankOf.has(id)).toBe(false);
          rankOf.set(id, op.rank);
          sizeOf.set(id, op.sizes[i]!);
        });
        expect(r.dropped.map((d) => d.id)).toEqual(expectedDrops);
        coverage.drops += r.dropped.length;
        coverage.batchesQueued += 1;
        recordDrops(r.dropped);
        break;
      }
      case "take": {
        const queued = queue.list({ state: "queued" });
        // What the model expects: the longest prefix of the queued packets that fits.
        const expected: number[] = [];
        let total = 0;
        for (const p of queued) {
          if (total + p.bytes > op.maxBytes) break;
          total += p.bytes;
          expected.push(p.id);
        }
        const lease = queue.takeNext(op.maxBytes);
        if (expected.length === 0) {
          expect(lease).toBeNull();
        } else {
          expect(lease!.packets.map((p) => p.id)).toEqual(expected);
          expect(lease!.bytes).toBe(total);
          expect(leases.has(lease!.leaseId)).toBe(false);
          leases.set(lease!.leaseId, new Set(expected));
        }
        break;
      }
      case "confirmLease": {
        const ids = [...leases.keys()];
        if (ids.length === 0) break;
        const lid = ids[op.pick % ids.length]!;
        const members = [...leases.get(lid)!];
        expect(queue.confirm(lid, clock)).toBe(members.length);
        confirmIds(members);
        expect(() => queue.confirm(lid, clock)).toThrow(InvalidFieldError);
        break;
      }
      case "confirmIds": {
        const all = inFlightIds();
        if (all.length === 0) break;
        const start = op.pick % all.length;
        const ids = all.slice(start, start + op.count);
        expect(queue.confirm(ids, clock)).toBe(ids.length);
        confirmIds(ids);
        break;
      }
      case "release": {
        const ids = [...leases.keys()];
        if (ids.length === 0) break;
        const lid = ids[op.pick % ids.length]!;
        expect(queue.release(lid)).toBe(leases.get(lid)!.size);
        leases.delete(lid);
        break;
      }
      case "releaseAll":
        expect(queue.releaseAll()).toBe(inFlightIds().length);
        leases.clear();
        break;
      case "retrieve": {
        const r = queue.retrieve(0n, clock, { priority: DOWNLINK_PRIORITIES[op.rank]! });
        const copies = [...r.ids, ...r.dropped.map((d) => d.id).filter((id) => !rankOf.has(id))];
        for (const id of copies) {
          const p = queue.get(id);
          rankOf.set(id, op.rank);
          sizeOf.set(id, p?.bytes ?? r.dropped.find((d) => d.id === id)!.bytes);
        }
        recordDrops(r.dropped);
        coverage.retrievedCopies += copies.length;
        break;
      }
      case "bogusConfirm": {
        // Confirming a packet that is not in flight must fail and change nothing.
        if (inFlightIds().includes(op.id)) break;
        expect(() => queue.confirm([op.id], clock)).toThrow(InvalidFieldError);
        break;
      }
      case "crash": {
        // Abandon the connection without closing or releasing: in flight goes back to queued.
        const before = queue.list().map((p) => p.id);
        queue = DownlinkQueue.open(path, { budgetBytes: BUDGET });
        expect(queue.recoveredOnOpen).toBe(inFlightIds().length);
        if (leases.size > 0) coverage.crashesWithLeases += 1;
        expect(queue.list().map((p) => p.id)).toEqual(before);
        leases.clear();
        break;
      }
    }

    // ---- invariants ----
    const resident = queue.list();
    const residentIds = resident.map((p) => p.id);
    // Order of service: by class, then enqueue order.
    const sorted = [...resident].sort((a, b) => rankOf.get(a.id)! - rankOf.get(b.id)! || a.id - b.id);
    expect(residentIds).toEqual(sorted.map((p) => p.id));
    // In flight exactly as the model says.
    const dbInFlight = resident.filter((p) => p.leaseId !== null).map((p) => [p.id, p.leaseId]);
    const modelInFlight = [...leases].flatMap(([lid, set]) => [...set].map((id) => [id, lid]));
    expect(new Map(dbInFlight as [number, number][])).toEqual(new Map(modelInFlight as [number, number][]));
    // Every packet in exactly one place; nothing confirmed twice.
    const places = new Map<number, string>();
    const place = (id: number, where: string): void => {
      expect(places.has(id), `packet ${id} is both ${places.get(id)} and ${where}`).toBe(false);
      places.set(id, where);
    };
    residentIds.forEach((id) => place(id, "resident"));
    [...confirmed].forEach(([id, n]) => {
      expect(n, `packet ${id} confirmed ${n} times`).toBe(1);
      place(id, "confirmed");
    });
    dropped.forEach((id) => place(id, "dropped"));
    expect([...places.keys()].sort((a, b) => a - b)).toEqual([...rankOf.keys()].sort((a, b) => a - b));
    // Persisted counters agree, class by class.
    const stats = queue.stats();
    DOWNLINK_PRIORITIES.forEach((p: DownlinkPriority, rank) => {
      const ids = (set: Iterable<number>): number[] => [...set].filter((id) => rankOf.get(id) === rank);
      const c = stats.classes[p];
      const sum = (xs: number[]): number => xs.reduce((a, id) => a + sizeOf.get(id)!, 0);
      expect(c.droppedPackets).toBe(ids(dropped).length);
      expect(c.droppedBytes).toBe(sum(ids(dropped)));
      expect(c.sentPackets).toBe(ids(confirmed.keys()).length);
      expect(c.enqueuedPackets).toBe(ids(rankOf.keys()).length);
      expect(c.queuedPackets + c.inFlightPackets).toBe(ids(residentIds).length);
    });
    // Within budget, unless only in-flight packets are left to blame.
    if (stats.residentBytes > BUDGET) expect(resident.every((p) => p.leaseId !== null)).toBe(true);
  }
  queue.close();
}

describe("DownlinkQueue property", () => {
  it("no packet is lost or duplicated under random enqueue/take/confirm/release/crash sequences", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), (ops) => run(ops)),
      { numRuns: 120 },
    );
    // The generator does reach the interesting cases.
    expect(coverage.drops).toBeGreaterThan(100);
    expect(coverage.crashesWithLeases).toBeGreaterThan(10);
    expect(coverage.retrievedCopies).toBeGreaterThan(10);
    expect(coverage.batchesQueued).toBeGreaterThan(10);
    expect(coverage.batchesRefused).toBeGreaterThan(10);
  }, 60_000);
});
