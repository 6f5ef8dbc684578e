/**
 * The one door to time for service logic. Services never call Date.now() or
 * the global timers, so the same code runs on the board (RealClock) and in HIL
 * fast time (SimClock).
 */

export interface TimerHandle {
  /** Stops the timer; safe to call more than once, and from inside its own callback. */
  cancel(): void;
  /** False once a timeout has fired or any timer has been cancelled. */
  readonly active: boolean;
}

export interface Clock {
  /** Mission time: TAI nanoseconds since 1958-01-01 TAI. */
  nowTaiNs(): bigint;
  /** Milliseconds on a monotonic scale, for durations and timeouts (never jumps back). */
  monotonicMs(): number;
  /** UTC milliseconds since the Unix epoch, for display and logs. */
  utcMs(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  setInterval(fn: () => void, periodMs: number): TimerHandle;
  sleep(ms: number): Promise<void>;
}

/**
 * Throws unless `delayMs` is a finite number >= 0. Shared by both clocks so a
 * bad delay fails the same way on the bench as on the board, instead of Node's
 * habit of quietly turning NaN or negative delays into 1 ms.
 */
export function assertDelayMs(delayMs: number, what = 'delayMs'): void {
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new RangeError(`${what} must be a finite number >= 0, got ${String(delayMs)}`);
  }
}

/** Throws unless `periodMs` is a finite number > 0 (a zero period would spin forever). */
export function assertPeriodMs(periodMs: number, what = 'periodMs'): void {
  if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs <= 0) {
    throw new RangeError(`${what} must be a finite number > 0, got ${String(periodMs)}`);
  }
}

export function assertCallback(fn: unknown, what = 'callback'): asserts fn is () => void {
  if (typeof fn !== 'function') {
    throw new TypeError(`${what} must be a function, got ${typeof fn}`);
  }
}
