/**
 * Clock for HIL benches and tests: time moves only when told, so a simulated
 * day runs in seconds and every run is deterministic. The underlying scale is
 * TAI (uniform); UTC is derived from it, so a scenario that crosses a leap
 * second sees UTC step the way it would in orbit.
 */
import { assertCallback, assertDelayMs, assertPeriodMs } from './clock.js';
import type { Clock, TimerHandle } from './clock.js';
import { msToNs, nsToMs, taiNsToUtcMs, utcMsToTaiNs } from './mission-time.js';
import { TimerHeap } from './timer-heap.js';
import type { HeapTimer } from './timer-heap.js';

export interface SimClockOptions {
  /** UTC (Unix ms) at which the simulation starts; default 2026-01-01T00:00:00Z. */
  startUtcMs?: number;
}

export const DEFAULT_SIM_START_UTC_MS = Date.UTC(2026, 0, 1);

/**
 * Zero-delay timers that keep scheduling each other would hang an advance
 * forever without time moving; past this many firings at one instant we stop
 * and say so instead.
 */
const MAX_FIRINGS_AT_ONE_INSTANT = 1_000_000;

// Captured at load so fake-timer libraries that patch globals later cannot
// stall advance().
const realSetImmediate = globalThis.setImmediate;
const macrotask = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

class SimTimer implements HeapTimer, TimerHandle {
  heapIndex = -1;
  /** Number of times an interval has fired; its due time is start + (fired+1)·period. */
  fired = 0;

  constructor(
    private readonly heap: TimerHeap<SimTimer>,
    readonly fn: () => void,
    readonly seq: number,
    public dueMs: number,
    readonly startMs: number,
    readonly periodMs: number | undefined,
  ) {}

  get active(): boolean {
    // A timeout leaves the heap just before its callback; an interval is
    // re-queued before its callback; cancel() removes either. So "queued" is
    // exactly "active".
    return this.heapIndex !== -1;
  }

  cancel(): void {
    this.heap.remove(this);
  }
}

export class SimClock implements Clock {
  readonly #heap = new TimerHeap<SimTimer>();
  readonly #startTaiNs: bigint;
  #nowMs = 0;
  #seq = 0;
  #advancing = false;
  #instantMs = Number.NaN;
  #firingsAtInstant = 0;

  constructor(options: SimClockOptions = {}) {
    const startUtcMs = options.startUtcMs ?? DEFAULT_SIM_START_UTC_MS;
    if (typeof startUtcMs !== 'number' || !Number.isFinite(startUtcMs)) {
      throw new RangeError(`SimClock startUtcMs must be a finite number, got ${String(startUtcMs)}`);
    }
    this.#startTaiNs = utcMsToTaiNs(startUtcMs);
  }

  nowTaiNs(): bigint {
    return this.#startTaiNs + msToNs(this.#nowMs);
  }

  /** Simulated ms since the clock was created (starts at 0). */
  monotonicMs(): number {
    return this.#nowMs;
  }

  utcMs(): number {
    return taiNsToUtcMs(this.nowTaiNs());
  }

  /** Fires when the clock is advanced to now + delayMs (a 0 delay still waits for an advance). */
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    assertCallback(fn, 'setTimeout callback');
    assertDelayMs(delayMs, 'setTimeout delayMs');
    return this.#schedule(fn, this.#nowMs + delayMs, undefined);
  }

  /**
   * Ticks at start + n·period exactly. Every tick keeps the interval's creation
   * rank, so ties with other timers resolve the same way on every tick.
   */
  setInterval(fn: () => void, periodMs: number): TimerHandle {
    assertCallback(fn, 'setInterval callback');
    assertPeriodMs(periodMs, 'setInterval periodMs');
    return this.#schedule(fn, this.#nowMs + periodMs, periodMs);
  }

  sleep(ms: number): Promise<void> {
    assertDelayMs(ms, 'sleep ms');
    return new Promise((resolve) => {
      this.setTimeout(resolve, ms);
    });
  }

  /** Timers still to fire (an interval counts once). */
  get pendingTimers(): number {
    return this.#heap.size;
  }

  /** Monotonic ms of the next due timer, or undefined when none is pending. */
  get nextDueMs(): number | undefined {
    return this.#heap.peek()?.dueMs;
  }

  /**
   * Moves time forward by `ms`, firing every timer due in the window in order
   * of due time (ties in creation order), with now set to each timer's due time
   * as it fires, including timers that callbacks schedule inside the window.
   * If a callback throws, stops there and rethrows: now stays at that timer's
   * due time and later timers stay pending.
   */
  advanceSync(ms: number): void {
    assertDelayMs(ms, 'advanceSync ms');
    this.#enter('advanceSync');
    try {
      const target = this.#nowMs + ms;
      for (let t = this.#heap.peek(); t !== undefined && t.dueMs <= target; t = this.#heap.peek()) {
        this.#fire(t);
      }
      this.#nowMs = target;
    } finally {
      this.#advancing = false;
    }
  }

  /**
   * Like advanceSync, but yields a macrotask first, after each firing and at the end,
   * so promise chains and async handlers started by one timer run (and may
   * schedule more timers) before the next one fires. Work scheduled during the
   * final yield that falls due inside the window is fired too.
   */
  async advance(ms: number): Promise<void> {
    assertDelayMs(ms, 'advance ms');
    this.#enter('advance');
    try {
      const target = this.#nowMs + ms;
      // Work already queued at the current instant (a request just sent, a
      // handler just scheduled) runs before time moves on.
      await macrotask();
      for (;;) {
        const t = this.#heap.peek();
        if (t !== undefined && t.dueMs <= target) {
          this.#fire(t);
          await macrotask();
          continue;
        }
        this.#nowMs = target;
        await macrotask();
        const next = this.#heap.peek();
        if (next === undefined || next.dueMs > target) break;
      }
    } finally {
      this.#advancing = false;
    }
  }

  /**
   * Advances (as `advance`) to an absolute time: a bigint is mission time
   * (TAI ns), a number is the monotonic ms scale. Rejects targets in the past.
   */
  async advanceTo(target: bigint | number): Promise<void> {
    const deltaMs =
      typeof target === 'bigint' ? nsToMs(target - this.nowTaiNs()) : target - this.#nowMs;
    if (!Number.isFinite(deltaMs) || deltaMs < 0) {
      throw new RangeError(`advanceTo target ${String(target)} is before now or not finite`);
    }
    await this.advance(deltaMs);
  }

  /**
   * Fires just the next timer, moving now to its due time. Returns false (and
   * leaves time alone) when nothing is pending.
   */
  runNext(): boolean {
    this.#enter('runNext');
    try {
      const t = this.#heap.peek();
      if (t === undefined) return false;
      this.#fire(t);
      return true;
    } finally {
      this.#advancing = false;
    }
  }

  #schedule(fn: () => void, dueMs: number, periodMs: number | undefined): SimTimer {
    const timer = new SimTimer(this.#heap, fn, this.#seq++, dueMs, this.#nowMs, periodMs);
    this.#heap.push(timer);
    return timer;
  }

  #fire(t: SimTimer): void {
    if (t.dueMs === this.#instantMs) {
      if (++this.#firingsAtInstant > MAX_FIRINGS_AT_ONE_INSTANT) {
        throw new Error(
          `SimClock: more than ${MAX_FIRINGS_AT_ONE_INSTANT} timers fired at t=${t.dueMs} ms; ` +
            'zero-delay timers are probably rescheduling each other',
        );
      }
    } else {
      this.#instantMs = t.dueMs;
      this.#firingsAtInstant = 1;
    }
    this.#heap.pop();
    this.#nowMs = t.dueMs;
    if (t.periodMs !== undefined) {
      // Re-queue before the callback so the interval survives a throw and
      // cancel() from inside the callback finds it queued.
      t.fired++;
      t.dueMs = t.startMs + (t.fired + 1) * t.periodMs;
      this.#heap.push(t);
    }
    t.fn();
  }

  #enter(what: string): void {
    // Re-entry (advancing from inside a timer callback, or two overlapping
    // async advances) would fire timers out of order.
    if (this.#advancing) {
      throw new Error(`SimClock.${what}: the clock is already advancing`);
    }
    this.#advancing = true;
  }
}
