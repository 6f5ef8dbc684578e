import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerHeap, type HeapTimer } from '../../src/time/index.js';

const timer = (dueMs: number, seq: number): HeapTimer => ({ dueMs, seq, heapIndex: -1 });
const order = (a: HeapTimer, b: HeapTimer): number => a.dueMs - b.dueMs || a.seq - b.seq;

describe('TimerHeap', () => {
  it('pops in (due, seq) order after arbitrary pushes and removals (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 200 }),
        (specs) => {
          const heap = new TimerHeap<HeapTimer>();
          const all = specs.map(([due], seq) => timer(due, seq));
          for (const t of all) heap.push(t);
          const removed = all.filter((_, i) => specs[i]![1]);
          for (const t of removed) expect(heap.remove(t)).toBe(true);
          const expected = all.filter((t) => !removed.includes(t)).sort(order);
          expect(heap.size).toBe(expected.length);
          const popped: HeapTimer[] = [];
          for (let t = heap.pop(); t !== undefined; t = heap.pop()) popped.push(t);
          expect(popped).toEqual(expected);
          expect(all.every((t) => t.heapIndex === -1)).toBe(true);
        },
      ),
    );
  });

  it('remove is a no-op for a timer that is not queued', () => {
    const heap = new TimerHeap<HeapTimer>();
    const t = timer(1, 0);
    expect(heap.remove(t)).toBe(false);
    heap.push(t);
    expect(heap.pop()).toBe(t);
    expect(heap.remove(t)).toBe(false);
    expect(heap.peek()).toBeUndefined();
  });

  it('refuses to queue the same timer twice', () => {
    const heap = new TimerHeap<HeapTimer>();
    const t = timer(1, 0);
    heap.push(t);
    expect(() => heap.push(t)).toThrow(/already queued/);
  });
});
