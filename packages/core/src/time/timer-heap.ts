/**
 * Binary min-heap of timers ordered by due time, then by sequence number
 * (creation order). Sorting an array per insert made fast-time HIL runs
 * quadratic; a heap keeps a simulated day of timers cheap.
 */

export interface HeapTimer {
  /** When the timer is due, on the clock's monotonic ms scale. */
  dueMs: number;
  /** Tie-breaker: lower fires first at equal due times. */
  readonly seq: number;
  /**
   * Position in the heap, -1 when not queued. Kept so cancel() removes in
   * O(log n): tombstones would pile up under request/reply timeouts that are
   * almost always cancelled.
   */
  heapIndex: number;
}

export class TimerHeap<T extends HeapTimer> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(timer: T): void {
    if (timer.heapIndex !== -1) throw new Error('timer is already queued');
    this.#items.push(timer);
    timer.heapIndex = this.#items.length - 1;
    this.#siftUp(timer.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.#removeAt(0);
    return top;
  }

  /** Removes `timer` if queued here; returns whether it was. */
  remove(timer: T): boolean {
    const i = timer.heapIndex;
    if (i < 0 || this.#items[i] !== timer) return false;
    this.#removeAt(i);
    return true;
  }

  #removeAt(i: number): void {
    const items = this.#items;
    const removed = items[i]!;
    const last = items.pop()!;
    removed.heapIndex = -1;
    if (last === removed) return;
    this.#place(last, i);
    // The moved element may belong above or below its new slot.
    this.#siftUp(i);
    this.#siftDown(last.heapIndex);
  }

  #less(a: T, b: T): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
  }

  #place(timer: T, i: number): void {
    this.#items[i] = timer;
    timer.heapIndex = i;
  }

  #siftUp(i: number): void {
    const items = this.#items;
    const timer = items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.#less(timer, parent)) break;
      this.#place(parent, i);
      i = parentIndex;
    }
    this.#place(timer, i);
  }

  #siftDown(i: number): void {
    const items = this.#items;
    const n = items.length;
    const timer = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.#less(items[right]!, items[left]!)) child = right;
      const c = items[child]!;
      if (!this.#less(c, timer)) break;
      this.#place(c, i);
      i = child;
    }
    this.#place(timer, i);
  }
}
