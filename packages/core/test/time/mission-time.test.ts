import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LEAP_SECONDS,
  TAI_EPOCH_UNIX_MS,
  formatTai,
  msToNs,
  nsToMs,
  taiNsToUtcMs,
  utcMsToTaiNs,
} from '../../src/time/index.js';

const utc = (iso: string): number => Date.parse(iso);
const S = 1_000_000_000n;
const MS = 1_000_000n;

const FROM_1972 = utc('1972-01-01T00:00:00Z');
const TO_2100 = utc('2100-01-01T00:00:00Z');
const utcMs1972to2100 = fc.integer({ min: FROM_1972, max: TO_2100 });

/** TAI ns ranges of inserted leap seconds, where UTC -> TAI has no preimage. */
const leapSecondWindows = LEAP_SECONDS.slice(1).map((s) => {
  const end = utcMsToTaiNs(s.utcMs);
  return { start: end - S, end };
});
const inLeapSecond = (taiNs: bigint): boolean =>
  leapSecondWindows.some((w) => taiNs >= w.start && taiNs < w.end);

describe('TAI_EPOCH_UNIX_MS', () => {
  it('is 1958-01-01T00:00:00 on the Unix count', () => {
    expect(TAI_EPOCH_UNIX_MS).toBe(Date.UTC(1958, 0, 1));
  });
});

describe('utcMsToTaiNs', () => {
  it('maps 1972-01-01T00:00:00Z to 1972-01-01T00:00:10 TAI', () => {
    const days1958to1972 = 14n * 365n + 3n; // leap years 1960, 64, 68
    expect(utcMsToTaiNs(FROM_1972)).toBe((days1958to1972 * 86_400n + 10n) * S);
  });

  it('counts the 2016-12-31 leap second: one UTC second spans two TAI seconds', () => {
    const before = utcMsToTaiNs(utc('2016-12-31T23:59:59Z'));
    const after = utcMsToTaiNs(utc('2017-01-01T00:00:00Z'));
    expect(after - before).toBe(2n * S);
  });

  it('keeps sub-millisecond fractions', () => {
    const base = utc('2026-01-01T00:00:00Z');
    expect(utcMsToTaiNs(base + 0.5) - utcMsToTaiNs(base)).toBe(500_000n);
  });

  it('rejects non-finite input with a RangeError naming the value', () => {
    expect(() => utcMsToTaiNs(Number.NaN)).toThrow(RangeError);
    expect(() => utcMsToTaiNs(Number.NaN)).toThrow(/NaN/);
    expect(() => utcMsToTaiNs(Number.NEGATIVE_INFINITY)).toThrow(/-Infinity/);
  });

  it('is strictly increasing (property)', () => {
    fc.assert(
      fc.property(utcMs1972to2100, utcMs1972to2100, (a, b) => {
        fc.pre(a !== b);
        const [lo, hi] = a < b ? [a, b] : [b, a];
        expect(utcMsToTaiNs(lo) < utcMsToTaiNs(hi)).toBe(true);
      }),
    );
  });
});

describe('taiNsToUtcMs', () => {
  it('round-trips every integer ms in 1972..2100 (property)', () => {
    fc.assert(
      fc.property(utcMs1972to2100, (ms) => {
        expect(taiNsToUtcMs(utcMsToTaiNs(ms))).toBe(ms);
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips right around every leap second', () => {
    for (const step of LEAP_SECONDS) {
      for (const d of [-1001, -1000, -1, 0, 1, 999, 1000]) {
        expect(taiNsToUtcMs(utcMsToTaiNs(step.utcMs + d))).toBe(step.utcMs + d);
      }
    }
  });

  it('round-trips TAI -> UTC -> TAI for whole ms outside leap seconds (property)', () => {
    const lo = utcMsToTaiNs(FROM_1972) / MS;
    const hi = utcMsToTaiNs(TO_2100) / MS;
    fc.assert(
      fc.property(fc.bigInt({ min: lo, max: hi }), (taiMs) => {
        const taiNs = taiMs * MS;
        fc.pre(!inLeapSecond(taiNs));
        expect(utcMsToTaiNs(taiNsToUtcMs(taiNs))).toBe(taiNs);
      }),
      { numRuns: 5000 },
    );
  });

  it('holds at 23:59:59.999 UTC through an inserted leap second', () => {
    const step = utc('2017-01-01T00:00:00Z');
    const leapStart = utcMsToTaiNs(step) - S;
    expect(taiNsToUtcMs(leapStart - MS)).toBe(step - 1);
    expect(taiNsToUtcMs(leapStart)).toBe(step - 1);
    expect(taiNsToUtcMs(leapStart + 999n * MS)).toBe(step - 1);
    expect(taiNsToUtcMs(leapStart + S)).toBe(step);
  });

  it('is non-decreasing as TAI runs, leap seconds included (property)', () => {
    const step = utcMsToTaiNs(utc('2017-01-01T00:00:00Z'));
    // Bias towards the ns around both edges of the leap second, where a
    // uniform draw rarely lands.
    const nearEdge = fc
      .tuple(fc.constantFrom(step - S, step), fc.bigInt({ min: -2n * MS, max: 2n * MS }))
      .map(([edge, d]) => edge + d);
    fc.assert(
      fc.property(
        fc.oneof(nearEdge, fc.bigInt({ min: step - 3n * S, max: step + 3n * S })),
        fc.oneof(fc.bigInt({ min: 0n, max: 2n * MS }), fc.bigInt({ min: 0n, max: 2n * S })),
        (t, dt) => {
          expect(taiNsToUtcMs(t + dt)).toBeGreaterThanOrEqual(taiNsToUtcMs(t));
        },
      ),
    );
  });

  it('floors sub-ms TAI to whole UTC ms, before the epoch too', () => {
    const base = utc('2026-01-01T00:00:00Z');
    const t = utcMsToTaiNs(base);
    expect(taiNsToUtcMs(t + 999_999n)).toBe(base);
    expect(taiNsToUtcMs(t - 1n)).toBe(base - 1);
    expect(taiNsToUtcMs(-1n)).toBe(TAI_EPOCH_UNIX_MS - 10_000 - 1);
  });

  it('rejects a number where a bigint is due', () => {
    expect(() => taiNsToUtcMs(5 as unknown as bigint)).toThrow(TypeError);
  });
});

describe('msToNs / nsToMs', () => {
  it('are exact for whole ms far beyond 2^53 ns', () => {
    const ms = utc('2100-01-01T00:00:00.001Z');
    expect(msToNs(ms)).toBe(BigInt(ms) * MS);
    expect(nsToMs(BigInt(ms) * MS)).toBe(ms);
    expect(nsToMs(-1n)).toBe(-0.000001);
  });
});

describe('formatTai', () => {
  it('formats the epoch and instants around it', () => {
    expect(formatTai(0n)).toBe('1958-01-01T00:00:00.000000000 TAI');
    expect(formatTai(-1n)).toBe('1957-12-31T23:59:59.999999999 TAI');
    expect(formatTai(1n)).toBe('1958-01-01T00:00:00.000000001 TAI');
  });

  it('shows TAI, 37 s ahead of UTC since 2017, with nanoseconds', () => {
    const taiNs = utcMsToTaiNs(utc('2026-11-21T05:29:23.123Z')) + 456_789n;
    expect(formatTai(taiNs)).toBe('2026-11-21T05:30:00.123456789 TAI');
  });

  it('handles leap days and the inserted leap second (which TAI simply counts)', () => {
    const leapDay = utcMsToTaiNs(utc('2024-02-29T12:00:00Z'));
    expect(formatTai(leapDay)).toBe('2024-02-29T12:00:37.000000000 TAI');
    const step = utcMsToTaiNs(utc('2017-01-01T00:00:00Z'));
    expect(formatTai(step - S)).toBe('2017-01-01T00:00:36.000000000 TAI');
  });

  it('agrees with Date#toISOString on the TAI count (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n }), (taiMs) => {
        const iso = new Date(TAI_EPOCH_UNIX_MS + Number(taiMs)).toISOString();
        const expected = `${iso.slice(0, -1)}000000 TAI`;
        expect(formatTai(taiMs * MS)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
