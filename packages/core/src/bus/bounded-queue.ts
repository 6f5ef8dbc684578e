// A bounded queue with priority classes. Pure logic, no I/O.
//
// Overflow policy (DESIGN.md "The bus"): when full, the oldest item of the
// lowest class present is dropped to make room, but only if that class is
// below the newcomer's; otherwise the newcomer is dropped. Every drop is
// counted by class. Items leave highest class first, FIFO within a class.
import { PRIORITY_COUNT, PRIORITY_NAMES, emptyDropCounts, type DropCounts, type Priority } from "./priority.js";

/** A FIFO ring that grows by doubling; amortised O(1) push and shift. */
class Ring<T> {
  private items: (T | undefined)[] = new Array(8);
  private head = 0;
  length = 0;

  push(item: T): void {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & (this.items.length - 1)] = item;
    this.length++;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.length--;
    return item;
  }

  private grow(): void {
    const next: (T | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}

export type OfferResult<T> =
  | { accepted: true; evicted?: { item: T; priority: Priority } }
  | { accepted: false };

export class BoundedPriorityQueue<T> {
  private readonly classes: Ring<T>[] = Array.from({ length: PRIORITY_COUNT }, () => new Ring<T>());
  private count = 0;
  readonly dropped: DropCounts = emptyDropCounts();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    }
  }

  get length(): number {
    return this.count;
  }

  lengthOf(priority: Priority): number {
    return this.classes[priority]!.length;
  }

  /** Adds an item; on overflow drops per the policy above and counts it. */
  offer(item: T, priority: Priority): OfferResult<T> {
    if (this.count < this.capacity) {
      this.classes[priority]!.push(item);
      this.count++;
      return { accepted: true };
    }
    for (let p = 0; p < priority; p++) {
      const ring = this.classes[p]!;
      if (ring.length > 0) {
        const evicted = ring.shift() as T;
        this.dropped[PRIORITY_NAMES[p]!]++;
        this.classes[priority]!.push(item);
        return { accepted: true, evicted: { item: evicted, priority: p as Priority } };
      }
    }
    this.dropped[PRIORITY_NAMES[priority]!]++;
    return { accepted: false };
  }

  /** Removes and returns the oldest item of the highest class present. */
  poll(): { item: T; priority: Priority } | undefined {
    for (let p = PRIORITY_COUNT - 1; p >= 0; p--) {
      const ring = this.classes[p]!;
      if (ring.length > 0) {
        this.count--;
        return { item: ring.shift() as T, priority: p as Priority };
      }
    }
    return undefined;
  }

  /** Empties the queue, counting what was thrown away as dropped. */
  clear(): number {
    let n = 0;
    for (let p = 0; p < PRIORITY_COUNT; p++) {
      const ring = this.classes[p]!;
      this.dropped[PRIORITY_NAMES[p]!] += ring.length;
      n += ring.length;
      while (ring.shift() !== undefined);
    }
    this.count = 0;
    return n;
  }

  get totalDropped(): number {
    return this.dropped.bulk + this.dropped.telemetry + this.dropped.command + this.dropped.safety;
  }
}
