import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIM_START_UTC_MS,
  SimClock,
  formatTai,
  utcMsToTaiNs,
  type Clock,
} from '../../src/time/index.js';

describe('SimClock time', () => {
  it('starts at 2026-01-01T00:00:00Z by default, monotonic at 0', () => {
    const clock = new SimClock();
    expect(clock.utcMs()).toBe(Date.UTC(2026, 0, 1));
    expect(DEFAULT_SIM_START_UTC_MS).toBe(Date.UTC(2026, 0, 1));
    expect(clock.monotonicMs()).toBe(0);
    expect(formatTai(clock.nowTaiNs())).toBe('2026-01-01T00:00:37.000000000 TAI');
  });

  it('moves only when advanced', () => {
    const clock = new SimClock({ startUtcMs: Date.UTC(2030, 5, 1) });
    const t0 = clock.nowTaiNs();
    expect(clock.nowTaiNs()).toBe(t0);
    clock.advanceSync(1500);
    expect(clock.monotonicMs()).toBe(1500);
    expect(clock.nowTaiNs() - t0).toBe(1_500_000_000n);
    expect(clock.utcMs()).toBe(Date.UTC(2030, 5, 1) + 1500);
  });

  it('runs on TAI: crossing a leap second, UTC gains one second less', () => {
    const start = Date.parse('2016-12-31T23:59:50Z');
    const clock = new SimClock({ startUtcMs: start });
    clock.advanceSync(20_000);
    expect(clock.utcMs()).toBe(start + 19_000);
    expect(clock.nowTaiNs() - utcMsToTaiNs(start)).toBe(20_000_000_000n);
  });

  it('rejects a non-finite start', () => {
    expect(() => new SimClock({ startUtcMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('SimClock timers', () => {
  it('fire in order of due time, ties in creation order, with now at each due time', () => {
    const clock = new SimClock();
    const log: string[] = [];
    const at = (name: string) => () => log.push(`${name}@${clock.monotonicMs()}`);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a1'), 10);
    clock.setTimeout(at('b'), 20);
    clock.setTimeout(at('a2'), 10);
    clock.setTimeout(at('z'), 0);
    clock.advanceSync(25);
    expect(log).toEqual(['z@0', 'a1@10', 'a2@10', 'b@20']);
    expect(clock.monotonicMs()).toBe(25);
    expect(clock.pendingTimers).toBe(1);
    clock.advanceSync(5);
    expect(log.at(-1)).toBe('c@30');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a zero delay waits for an advance', () => {
    const clock = new SimClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 0);
    expect(fired).toBe(false);
    clock.advanceSync(0);
    expect(fired).toBe(true);
  });

  it('fires timers scheduled by callbacks when they fall inside the window', () => {
    const clock = new SimClock();
    const log: string[] = [];
    clock.setTimeout(() => {
      log.push(`outer@${clock.monotonicMs()}`);
      clock.setTimeout(() => log.push(`inner@${clock.monotonicMs()}`), 5);
      clock.setTimeout(() => log.push(`same@${clock.monotonicMs()}`), 0);
      clock.setTimeout(() => log.push(`late@${clock.monotonicMs()}`), 50);
    }, 10);
    clock.setTimeout(() => log.push(`other@${clock.monotonicMs()}`), 12);
    clock.advanceSync(20);
    expect(log).toEqual(['outer@10', 'same@10', 'other@12', 'inner@15']);
    expect(clock.pendingTimers).toBe(1);
    clock.advanceSync(40);
    expect(log.at(-1)).toBe('late@60');
  });

  it('intervals tick at start + n*period without drift, even with fractional periods', () => {
    const clock = new SimClock();
    const ticks: number[] = [];
    clock.advanceSync(7);
    clock.setInterval(() => ticks.push(clock.monotonicMs()), 100);
    clock.advanceSync(1000);
    expect(ticks).toEqual([107, 207, 307, 407, 507, 607, 707, 807, 907, 1007]);

    const third: number[] = [];
    const c2 = new SimClock();
    c2.setInterval(() => third.push(c2.monotonicMs()), 1000 / 3);
    for (let i = 0; i < 3000; i++) c2.advanceSync(1);
    expect(third).toHaveLength(9);
    expect(third.at(-1)).toBe(3000);
  });

  it('interval ties keep creation order on every tick', () => {
    const clock = new SimClock();
    const log: string[] = [];
    clock.setInterval(() => log.push('A'), 10);
    clock.setInterval(() => log.push('B'), 5);
    clock.setTimeout(() => log.push('T'), 20);
    clock.advanceSync(20);
    // At 10 and 20 both intervals are due: A (created first) before B, then T.
    expect(log).toEqual(['B', 'A', 'B', 'B', 'A', 'B', 'T']);
  });

  it('cancel prevents firing and is idempotent', () => {
    const clock = new SimClock();
    let fired = 0;
    const h = clock.setTimeout(() => fired++, 10);
    expect(h.active).toBe(true);
    h.cancel();
    h.cancel();
    expect(h.active).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    clock.advanceSync(100);
    expect(fired).toBe(0);
  });

  it('a timeout is inactive once fired, including inside its own callback', () => {
    const clock = new SimClock();
    let activeInside: boolean | undefined;
    const h = clock.setTimeout(() => (activeInside = h.active), 1);
    clock.advanceSync(1);
    expect(activeInside).toBe(false);
    expect(h.active).toBe(false);
  });

  it('an interval can cancel itself, and a callback can cancel a timer due at the same instant', () => {
    const clock = new SimClock();
    let ticks = 0;
    const h = clock.setInterval(() => {
      ticks++;
      if (ticks === 3) h.cancel();
    }, 10);
    let victimFired = false;
    clock.setTimeout(() => victim.cancel(), 50);
    const victim = clock.setTimeout(() => (victimFired = true), 50);
    clock.advanceSync(1000);
    expect(ticks).toBe(3);
    expect(h.active).toBe(false);
    expect(victimFired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing callback stops the advance at its due time and leaves later timers pending', () => {
    const clock = new SimClock();
    const log: string[] = [];
    clock.setTimeout(() => log.push('first'), 10);
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 20);
    clock.setTimeout(() => log.push('same-instant'), 20);
    clock.setTimeout(() => log.push('later'), 30);
    const iv = clock.setInterval(() => log.push('tick'), 20);
    expect(() => clock.advanceSync(100)).toThrow('boom');
    expect(log).toEqual(['first']);
    expect(clock.monotonicMs()).toBe(20);
    expect(clock.pendingTimers).toBe(3);
    expect(iv.active).toBe(true);
    // The clock is usable afterwards and resumes where it stopped.
    clock.advanceSync(20);
    expect(log).toEqual(['first', 'same-instant', 'tick', 'later', 'tick']);
    expect(clock.monotonicMs()).toBe(40);
  });

  it('a throwing interval stays armed', async () => {
    const clock = new SimClock();
    let n = 0;
    clock.setInterval(() => {
      n++;
      throw new Error(`tick ${n}`);
    }, 10);
    await expect(clock.advance(100)).rejects.toThrow('tick 1');
    expect(clock.monotonicMs()).toBe(10);
    expect(clock.pendingTimers).toBe(1);
    expect(() => clock.advanceSync(10)).toThrow('tick 2');
  });

  it('runNext fires just the next timer', () => {
    const clock = new SimClock();
    const log: number[] = [];
    clock.setTimeout(() => log.push(1), 40);
    clock.setTimeout(() => log.push(2), 70);
    expect(clock.nextDueMs).toBe(40);
    expect(clock.runNext()).toBe(true);
    expect(log).toEqual([1]);
    expect(clock.monotonicMs()).toBe(40);
    expect(clock.runNext()).toBe(true);
    expect(clock.monotonicMs()).toBe(70);
    expect(clock.runNext()).toBe(false);
    expect(clock.monotonicMs()).toBe(70);
    expect(clock.nextDueMs).toBeUndefined();
  });

  it('refuses to advance from inside a timer callback', () => {
    const clock = new SimClock();
    let error: unknown;
    clock.setTimeout(() => {
      try {
        clock.advanceSync(1);
      } catch (e) {
        error = e;
      }
    }, 1);
    clock.advanceSync(5);
    expect(String(error)).toMatch(/already advancing/);
  });

  it('catches zero-delay timers that reschedule each other forever', () => {
    const clock = new SimClock();
    const loop = (): void => {
      clock.setTimeout(loop, 0);
    };
    clock.setTimeout(loop, 0);
    expect(() => clock.advanceSync(1)).toThrow(/rescheduling each other/);
  });
});

describe('SimClock.advance (async)', () => {
  it('lets async work started by a timer finish before the next timer fires', async () => {
    const clock = new SimClock();
    const log: string[] = [];
    const work = async (): Promise<void> => {
      log.push(`start@${clock.monotonicMs()}`);
      await Promise.resolve();
      await new Promise<void>((r) => queueMicrotask(r));
      log.push(`done@${clock.monotonicMs()}`);
      clock.setTimeout(() => log.push(`follow-up@${clock.monotonicMs()}`), 5);
    };
    clock.setTimeout(() => void work(), 10);
    clock.setTimeout(() => log.push(`next@${clock.monotonicMs()}`), 12);
    await clock.advance(20);
    expect(log).toEqual(['start@10', 'done@10', 'next@12', 'follow-up@15']);
  });

  it('fires timers that async work schedules inside the window after the last timer', async () => {
    const clock = new SimClock();
    const log: number[] = [];
    clock.setTimeout(async () => {
      await Promise.resolve();
      clock.setTimeout(() => log.push(clock.monotonicMs()), 0);
    }, 20);
    await clock.advance(20);
    expect(log).toEqual([20]);
  });

  it('sleep resolves when advanced past, and a sleeping loop runs step by step', async () => {
    const clock = new SimClock();
    let woke = false;
    const p = clock.sleep(100).then(() => (woke = true));
    await clock.advance(99);
    expect(woke).toBe(false);
    await clock.advance(1);
    expect(woke).toBe(true);
    await p;

    const seen: number[] = [];
    const loop = async (c: Clock): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await c.sleep(10);
        seen.push(c.monotonicMs());
      }
    };
    const done = loop(clock);
    await clock.advance(50);
    await done;
    expect(seen).toEqual([110, 120, 130, 140, 150]);
  });

  it('rejects overlapping advances', async () => {
    const clock = new SimClock();
    clock.setTimeout(() => undefined, 1);
    const first = clock.advance(10);
    await expect(clock.advance(10)).rejects.toThrow(/already advancing/);
    await first;
    expect(clock.monotonicMs()).toBe(10);
  });

  it('advanceTo accepts monotonic ms or TAI ns and rejects the past', async () => {
    const clock = new SimClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 500);
    await clock.advanceTo(1000);
    expect(fired).toBe(true);
    expect(clock.monotonicMs()).toBe(1000);
    const target = clock.nowTaiNs() + 2_000_000_000n;
    await clock.advanceTo(target);
    expect(clock.nowTaiNs()).toBe(target);
    expect(clock.monotonicMs()).toBe(3000);
    await expect(clock.advanceTo(10)).rejects.toThrow(RangeError);
    await expect(clock.advanceTo(target - 1n)).rejects.toThrow(RangeError);
  });

  it('runs a simulated hour of three 1 Hz intervals', async () => {
    const clock = new SimClock();
    const counts = [0, 0, 0];
    for (let i = 0; i < 3; i++) clock.setInterval(() => counts[i]!++, 1000);
    await clock.advance(3600 * 1000);
    expect(counts).toEqual([3600, 3600, 3600]);
    expect(counts.reduce((a, b) => a + b)).toBe(3 * 3600);
    expect(clock.monotonicMs()).toBe(3_600_000);
  });
});

describe('SimClock input validation', () => {
  const clock = new SimClock();
  const noop = (): void => undefined;

  it.each([Number.NaN, Number.POSITIVE_INFINITY, -1, -0.001])('rejects delay %s', (bad) => {
    expect(() => clock.setTimeout(noop, bad)).toThrow(RangeError);
    expect(() => clock.sleep(bad)).toThrow(RangeError);
    expect(() => clock.advanceSync(bad)).toThrow(RangeError);
    return expect(clock.advance(bad)).rejects.toThrow(RangeError);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('rejects interval period %s', (bad) => {
    expect(() => clock.setInterval(noop, bad)).toThrow(/periodMs must be a finite number > 0/);
  });

  it('names the bad value in the message', () => {
    expect(() => clock.setTimeout(noop, -3)).toThrow('setTimeout delayMs must be a finite number >= 0, got -3');
  });

  it('rejects a callback that is not a function', () => {
    expect(() => clock.setTimeout(undefined as unknown as () => void, 1)).toThrow(TypeError);
  });
});
