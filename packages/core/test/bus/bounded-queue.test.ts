import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BoundedPriorityQueue } from "../../src/bus/bounded-queue.js";
import type { Priority } from "../../src/bus/priority.js";

describe("BoundedPriorityQueue", () => {
  it("delivers highest class first and FIFO within a class", () => {
    const q = new BoundedPriorityQueue<string>(10);
    q.offer("t1", 1 as Priority);
    q.offer("b1", 0 as Priority);
    q.offer("s1", 3 as Priority);
    q.offer("t2", 1 as Priority);
    q.offer("c1", 2 as Priority);
    const out: string[] = [];
    for (let n = q.poll(); n; n = q.poll()) out.push(n.item);
    expect(out).toEqual(["s1", "c1", "t1", "t2", "b1"]);
  });

  it("on overflow evicts the oldest of the lowest class below the newcomer and counts it", () => {
    const q = new BoundedPriorityQueue<string>(3);
    q.offer("t1", 1 as Priority);
    q.offer("t2", 1 as Priority);
    q.offer("b1", 0 as Priority);
    const r = q.offer("c1", 2 as Priority);
    expect(r).toEqual({ accepted: true, evicted: { item: "b1", priority: 0 } });
    const r2 = q.offer("c2", 2 as Priority);
    expect(r2).toEqual({ accepted: true, evicted: { item: "t1", priority: 1 } });
    expect(q.dropped).toEqual({ bulk: 1, telemetry: 1, command: 0, safety: 0 });
  });

  it("drops the newcomer when nothing lower is queued, and counts it in its own class", () => {
    const q = new BoundedPriorityQueue<string>(2);
    q.offer("c1", 2 as Priority);
    q.offer("c2", 2 as Priority);
    expect(q.offer("t1", 1 as Priority)).toEqual({ accepted: false });
    expect(q.offer("c3", 2 as Priority)).toEqual({ accepted: false });
    expect(q.dropped).toEqual({ bulk: 0, telemetry: 1, command: 1, safety: 0 });
    expect([q.poll()?.item, q.poll()?.item, q.poll()]).toEqual(["c1", "c2", undefined]);
  });

  it("rejects a capacity that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new BoundedPriorityQueue(bad)).toThrow(/positive integer/);
    }
  });

  it("clear counts what it throws away", () => {
    const q = new BoundedPriorityQueue<number>(8);
    q.offer(1, 3 as Priority);
    q.offer(2, 0 as Priority);
    expect(q.clear()).toBe(2);
    expect(q.length).toBe(0);
    expect(q.dropped).toEqual({ bulk: 1, telemetry: 0, command: 0, safety: 1 });
  });

  it("property: never over capacity, nothing lost uncounted, a higher class never dropped while a lower one is queued", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.oneof(fc.record({ op: fc.constant("offer" as const), p: fc.integer({ min: 0, max: 3 }) }), fc.record({ op: fc.constant("poll" as const), p: fc.constant(0) })), {
          maxLength: 300,
        }),
        (capacity, ops) => {
          const q = new BoundedPriorityQueue<number>(capacity);
          let offered = 0;
          let polled = 0;
          const perClass = [0, 0, 0, 0];
          for (const { op, p } of ops) {
            if (op === "offer") {
              const lowerQueued = [0, 1, 2].some((c) => c < p && perClass[c]! > 0);
              const before = q.totalDropped;
              const r = q.offer(offered++, p as Priority);
              if (r.accepted) {
                perClass[p]!++;
                if (r.evicted) {
                  expect(r.evicted.priority).toBeLessThan(p);
                  perClass[r.evicted.priority]!--;
                }
              } else {
                // Refused only when full and nothing lower was queued.
                expect(lowerQueued).toBe(false);
                expect(q.totalDropped).toBe(before + 1);
              }
            } else {
              const n = q.poll();
              if (n) {
                polled++;
                perClass[n.priority]!--;
                // What came out is the highest class present.
                for (let c = n.priority + 1; c < 4; c++) expect(perClass[c]).toBe(0);
              }
            }
            expect(q.length).toBeLessThanOrEqual(capacity);
          }
          expect(offered).toBe(polled + q.length + q.totalDropped);
        },
      ),
    );
  });

  it("counts a dropped item as the messages it stands for (a batch frame), on overflow and on clear", () => {
    const q = new BoundedPriorityQueue<{ name: string; messages: number }>(2, (i) => i.messages);
    q.offer({ name: "t", messages: 4 }, 1 as Priority);
    q.offer({ name: "b", messages: 7 }, 0 as Priority);
    expect(q.offer({ name: "c", messages: 1 }, 2 as Priority)).toEqual({ accepted: true, evicted: { item: { name: "b", messages: 7 }, priority: 0 } });
    expect(q.offer({ name: "t2", messages: 3 }, 1 as Priority)).toEqual({ accepted: false });
    expect(q.dropped).toEqual({ bulk: 7, telemetry: 3, command: 0, safety: 0 });
    expect(q.clear()).toBe(2);
    expect(q.dropped).toEqual({ bulk: 7, telemetry: 7, command: 1, safety: 0 });
  });

  it("take() gives the items in poll() order without their class", () => {
    const q = new BoundedPriorityQueue<string>(4);
    q.offer("t1", 1 as Priority);
    q.offer("s1", 3 as Priority);
    q.offer("t2", 1 as Priority);
    expect([q.take(), q.take(), q.take(), q.take()]).toEqual(["s1", "t1", "t2", undefined]);
    expect(q.length).toBe(0);
  });
});
