/**
 * Clock for the board: wall time from the system clock (disciplined by NTP/GPS
 * or ground time correlation), durations and timers from the monotonic clock.
 */
import { assertCallback, assertDelayMs, assertPeriodMs } from './clock.js';
import type { Clock, TimerHandle } from './clock.js';
import { utcMsToTaiNs } from './mission-time.js';

export interface RealClockOptions {
  /** Unref the underlying Node timers so pending timers do not keep the process alive. */
  unref?: boolean;
}

export interface IntervalHandle extends TimerHandle {
  /**
   * Ticks skipped because the process stalled past them (GC pause, SEFI
   * recovery, suspended VM). Skipping rather than bursting keeps a 1 Hz task
   * from running ten times back to back after a 10 s stall.
   */
  readonly missedTicks: number;
}

// Node clamps larger delays to 1 ms (with a warning), so long timers hop.
const MAX_NODE_DELAY_MS = 2 ** 31 - 1;

abstract class RealTimer implements TimerHandle {
  #timer: NodeJS.Timeout | undefined;
  #active = true;

  constructor(private readonly unref: boolean) {}

  get active(): boolean {
    return this.#active;
  }

  cancel(): void {
    this.#active = false;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Arms the Node timer for monotonic instant `dueMs`. */
  protected arm(dueMs: number): void {
    const delay = dueMs - performance.now();
    const timer =
      delay > MAX_NODE_DELAY_MS
        ? setTimeout(() => this.arm(dueMs), MAX_NODE_DELAY_MS)
        : setTimeout(() => {
            // Node measures delays from its cached loop time, so a timer can
            // fire a little before performance.now() reaches dueMs; callbacks
            // must see monotonicMs() >= their due time.
            if (performance.now() < dueMs) {
              this.arm(dueMs);
              return;
            }
            this.#timer = undefined;
            this.onDue();
          }, Math.max(0, delay));
    if (this.unref) timer.unref();
    this.#timer = timer;
  }

  /** Called once the timer is due; the subclass decides whether to re-arm. */
  protected abstract onDue(): void;

  protected deactivate(): void {
    this.#active = false;
  }
}

class RealTimeout extends RealTimer {
  constructor(private readonly fn: () => void, dueMs: number, unref: boolean) {
    super(unref);
    this.arm(dueMs);
  }

  protected onDue(): void {
    this.deactivate();
    this.fn();
  }
}

class RealInterval extends RealTimer implements IntervalHandle {
  #tick = 1;
  #missed = 0;

  constructor(
    private readonly fn: () => void,
    private readonly startMs: number,
    private readonly periodMs: number,
    unref: boolean,
  ) {
    super(unref);
    this.arm(startMs + periodMs);
  }

  get missedTicks(): number {
    return this.#missed;
  }

  protected onDue(): void {
    // Schedule against the ideal grid start + n·period so lateness never
    // accumulates, and re-arm before calling fn so a throwing callback does
    // not silently end the interval. fn may cancel(), which clears this arm.
    const now = performance.now();
    this.#tick++;
    let due = this.startMs + this.#tick * this.periodMs;
    if (due <= now) {
      const skipped = Math.floor((now - due) / this.periodMs) + 1;
      this.#missed += skipped;
      this.#tick += skipped;
      due = this.startMs + this.#tick * this.periodMs;
    }
    this.arm(due);
    this.fn();
  }
}

export class RealClock implements Clock {
  readonly #unref: boolean;
  // Every bus envelope is stamped, many within one ms: the conversion of the
  // last ms is kept (it involves a leap-second lookup and bigint arithmetic).
  #lastUtcMs = Number.NaN;
  #lastTaiNs = 0n;

  constructor(options: RealClockOptions = {}) {
    this.#unref = options.unref ?? false;
  }

  /** Ms resolution: derived from Date.now() so it follows the disciplined system clock. */
  nowTaiNs(): bigint {
    const utcMs = Date.now();
    if (utcMs !== this.#lastUtcMs) {
      this.#lastTaiNs = utcMsToTaiNs(utcMs);
      this.#lastUtcMs = utcMs;
    }
    return this.#lastTaiNs;
  }

  monotonicMs(): number {
    return performance.now();
  }

  utcMs(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    assertCallback(fn, 'setTimeout callback');
    assertDelayMs(delayMs, 'setTimeout delayMs');
    return new RealTimeout(fn, performance.now() + delayMs, this.#unref);
  }

  setInterval(fn: () => void, periodMs: number): IntervalHandle {
    assertCallback(fn, 'setInterval callback');
    assertPeriodMs(periodMs, 'setInterval periodMs');
    return new RealInterval(fn, performance.now(), periodMs, this.#unref);
  }

  sleep(ms: number): Promise<void> {
    assertDelayMs(ms, 'sleep ms');
    return new Promise((resolve) => {
      this.setTimeout(resolve, ms);
    });
  }
}
