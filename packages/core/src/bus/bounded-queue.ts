// A bounded queue with priority classes. Pure logic, no I/O.
//
// Overflow policy (DESIGN.md "The bus"): when full, the oldest item of the
// lowest class present is dropped to make room, but only if that class is
// below the newcomer's; otherwise the newcomer is dropped. Every drop is
// counted by class. Items leave highest class first, FIFO within a class.
// Capacity counts items; an item may stand for several messages (a link's
// batch frame), and then its drop counts every one of them (`weightOf`).
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

const ACCEPTED = Object.freeze({ accepted: true as const });

export class BoundedPriorityQueue<T> {
  private readonly classes: Ring<T>[] = Array.from({ length: PRIORITY_COUNT }, () => new Ring<T>());
  private count = 0;
  readonly dropped: DropCounts = emptyDropCounts();

  constructor(
    readonly capacity: number,
    /** Messages an item stands for, in the drop counts (default 1). */
    private readonly weightOf: (item: T) => number = () => 1,
  ) {
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
      return ACCEPTED; // shared: nothing allocated per message on the common path
    }
    for (let p = 0; p < priority; p++) {
      const ring = this.classes[p]!;
      if (ring.length > 0) {
        const evicted = ring.shift() as T;
        this.dropped[PRIORITY_NAMES[p]!] += this.weightOf(evicted);
        this.classes[priority]!.push(item);
        return { accepted: true, evicted: { item: evicted, priority: p as Priority } };
      }
    }
    this.dropped[PRIORITY_NAMES[priority]!] += this.weightOf(item);
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

  /** As poll, but only the item: nothing allocated per message (a subscriber's drain loop). */
  take(): T | undefined {
    for (let p = PRIORITY_COUNT - 1; p >= 0; p--) {
      const ring = this.classes[p]!;
      if (ring.length > 0) {
        this.count--;
        return ring.shift();
      }
    }
    return undefined;
  }

  /** Empties the queue, counting what was thrown away as dropped; returns the number of items. */
  clear(): number {
    let n = 0;
    for (let p = 0; p < PRIORITY_COUNT; p++) {
      const ring = this.classes[p]!;
      for (let item = ring.shift(); item !== undefined; item = ring.shift()) {
        this.dropped[PRIORITY_NAMES[p]!] += this.weightOf(item);
        n++;
      }
    }
    this.count = 0;
    return n;
  }

  get totalDropped(): number {
    return this.dropped.bulk + this.dropped.telemetry + this.dropped.command + this.dropped.safety;
  }
}
