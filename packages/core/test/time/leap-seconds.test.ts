import { describe, expect, it } from 'vitest';
import { LEAP_SECONDS, taiMinusUtcAtTai, taiMinusUtcSeconds } from '../../src/time/index.js';

const utc = (iso: string): number => Date.parse(iso);

describe('taiMinusUtcSeconds', () => {
  it.each([
    ['1972-01-01T00:00:00Z', 10],
    ['1972-06-30T23:59:59.999Z', 10],
    ['1972-07-01T00:00:00Z', 11],
    ['1980-01-01T00:00:00Z', 19],
    ['1999-01-01T00:00:00Z', 32],
    ['2005-12-31T23:59:59.999Z', 32],
    ['2006-01-01T00:00:00Z', 33],
    ['2012-07-01T00:00:00Z', 35],
    ['2016-12-31T23:59:59.999Z', 36],
    ['2017-01-01T00:00:00Z', 37],
    ['2026-11-21T05:30:00Z', 37],
  ])('%s -> %i s', (iso, expected) => {
    expect(taiMinusUtcSeconds(utc(iso))).toBe(expected);
  });

  it('returns 10 before 1972 (documented approximation)', () => {
    expect(taiMinusUtcSeconds(utc('1958-01-01T00:00:00Z'))).toBe(10);
    expect(taiMinusUtcSeconds(utc('1971-12-31T23:59:59.999Z'))).toBe(10);
  });

  it('rejects non-finite input, naming the value', () => {
    expect(() => taiMinusUtcSeconds(Number.NaN)).toThrow(RangeError);
    expect(() => taiMinusUtcSeconds(Number.NaN)).toThrow(/NaN/);
    expect(() => taiMinusUtcSeconds(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
  });

  it('table starts at 10 s in 1972, ends at 37 s in 2017, and only ever steps by one second', () => {
    expect(LEAP_SECONDS).toHaveLength(28);
    expect(LEAP_SECONDS[0]).toEqual({ utcMs: utc('1972-01-01T00:00:00Z'), taiMinusUtc: 10 });
    expect(LEAP_SECONDS.at(-1)).toEqual({ utcMs: utc('2017-01-01T00:00:00Z'), taiMinusUtc: 37 });
    for (let i = 1; i < LEAP_SECONDS.length; i++) {
      expect(LEAP_SECONDS[i]!.taiMinusUtc - LEAP_SECONDS[i - 1]!.taiMinusUtc).toBe(1);
      expect(LEAP_SECONDS[i]!.utcMs).toBeGreaterThan(LEAP_SECONDS[i - 1]!.utcMs);
    }
  });
});

describe('taiMinusUtcAtTai', () => {
  const step2017 = utc('2017-01-01T00:00:00Z');

  it('uses the old offset up to the leap second and the new one after it', () => {
    // The TAI-side count is UTC ms + offset: this is 2016-12-31T23:59:59.999 UTC.
    expect(taiMinusUtcAtTai(step2017 - 1 + 36_000)).toEqual({
      taiMinusUtc: 36,
      leapSecondEndUtcMs: undefined,
    });
    expect(taiMinusUtcAtTai(step2017 + 37_000)).toEqual({
      taiMinusUtc: 37,
      leapSecondEndUtcMs: undefined,
    });
  });

  it('flags the inserted second 2016-12-31T23:59:60', () => {
    for (const intoLeapMs of [0, 500, 999]) {
      expect(taiMinusUtcAtTai(step2017 + 36_000 + intoLeapMs)).toEqual({
        taiMinusUtc: 36,
        leapSecondEndUtcMs: step2017,
      });
    }
  });
});
