import { afterEach, describe, expect, it } from 'vitest';
import { RealClock, utcMsToTaiNs, type TimerHandle } from '../../src/time/index.js';

// Real-time tests: short delays, generous bounds, nothing that fails on a slow CI box.
const handles: TimerHandle[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.cancel();
});

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('RealClock', () => {
  const clock = new RealClock();

  it('reads UTC from the system clock and TAI via the leap table', () => {
    const before = Date.now();
    const utc = clock.utcMs();
    const tai = clock.nowTaiNs();
    const after = Date.now();
    expect(utc).toBeGreaterThanOrEqual(before);
    expect(utc).toBeLessThanOrEqual(after);
    expect(tai).toBeGreaterThanOrEqual(utcMsToTaiNs(before));
    expect(tai).toBeLessThanOrEqual(utcMsToTaiNs(after));
  });

  it('monotonic time never goes back', () => {
    let last = clock.monotonicMs();
    for (let i = 0; i < 1000; i++) {
      const now = clock.monotonicMs();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
  });

  it('a 20 ms timeout fires, not early', async () => {
    const start = clock.monotonicMs();
    let firedAt = -1;
    let h!: TimerHandle;
    await new Promise<void>((resolve) => {
      h = clock.setTimeout(() => {
        firedAt = clock.monotonicMs();
        resolve();
      }, 20);
      expect(h.active).toBe(true);
    });
    expect(firedAt - start).toBeGreaterThanOrEqual(20);
    expect(h.active).toBe(false);
  });

  it('cancel prevents firing', async () => {
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 10);
    h.cancel();
    expect(h.active).toBe(false);
    await realSleep(40);
    expect(fired).toBe(false);
  });

  it('an interval fires repeatedly until cancelled', async () => {
    let ticks = 0;
    const h = clock.setInterval(() => ticks++, 5);
    handles.push(h);
    while (ticks < 3) await realSleep(5);
    h.cancel();
    const atCancel = ticks;
    await realSleep(30);
    expect(ticks).toBe(atCancel);
    expect(h.active).toBe(false);
  });

  it('an interval can cancel itself from its callback', async () => {
    let ticks = 0;
    const h = clock.setInterval(() => {
      if (++ticks === 2) h.cancel();
    }, 5);
    handles.push(h);
    while (h.active) await realSleep(5);
    await realSleep(20);
    expect(ticks).toBe(2);
  });

  it('skips and counts ticks missed while the process stalled', async () => {
    let ticks = 0;
    const h = clock.setInterval(() => {
      ticks++;
      if (ticks === 1) {
        const until = performance.now() + 60;
        while (performance.now() < until) {
          // stall the event loop past several periods
        }
      }
    }, 10);
    handles.push(h);
    while (ticks < 3) await realSleep(5);
    h.cancel();
    expect(h.missedTicks).toBeGreaterThanOrEqual(1);
  });

  it('sleep resolves after the delay', async () => {
    const start = clock.monotonicMs();
    await clock.sleep(15);
    expect(clock.monotonicMs() - start).toBeGreaterThanOrEqual(15);
  });

  it('rejects invalid delays and periods', () => {
    const noop = (): void => undefined;
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(() => clock.setTimeout(noop, bad)).toThrow(RangeError);
      expect(() => clock.sleep(bad)).toThrow(RangeError);
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => clock.setInterval(noop, bad)).toThrow(RangeError);
    }
  });

  it('with unref, pending timers do not hold the process open', () => {
    const unrefClock = new RealClock({ unref: true });
    const countTimeouts = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const base = countTimeouts();
    const h = unrefClock.setTimeout(() => undefined, 60_000);
    handles.push(h);
    expect(countTimeouts()).toBe(base);
    const ref = clock.setTimeout(() => undefined, 60_000);
    handles.push(ref);
    expect(countTimeouts()).toBe(base + 1);
  });
});
