import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { utcMsToTaiNs } from "@umbra/core";
import {
  type CdsFormat,
  type CdsTime,
  type CucFormat,
  DEFAULT_CUC_FORMAT,
  cdsOctets,
  cdsPField,
  cdsToTaiNs,
  cucOctets,
  cucPField,
  cucResolutionNs,
  cucToTaiNs,
  decodeCds,
  decodeCdsSelfDescribing,
  decodeCuc,
  decodeCucSelfDescribing,
  encodeCds,
  encodeCuc,
  taiNsToCds,
  taiNsToCuc,
} from "../src/index.js";
import { bytes, cdsFormat, cucFormat, fromHex, hexOf, mutated } from "./support/arbitraries.js";

const NS = 1_000_000_000n;
/** 2026-01-01T00:00:00Z: 24,837 days after 1958-01-01, and TAI − UTC = 37 s. */
const T2026 = utcMsToTaiNs(Date.UTC(2026, 0, 1));

const cucTimeIn = (f: CucFormat) =>
  fc.record({ coarse: fc.integer({ min: 0, max: 2 ** (8 * f.coarseOctets) - 1 }), fine: fc.integer({ min: 0, max: 2 ** (8 * f.fineOctets) - 1 }) });
const cdsTimeIn = (f: CdsFormat): fc.Arbitrary<CdsTime> =>
  fc
    .record({ day: fc.integer({ min: 0, max: 65535 }), msOfDay: fc.integer({ min: 0, max: 86_399_999 }), us: fc.integer({ min: 0, max: 999 }) })
    .map(({ day, msOfDay, us }) => (f.submillisecond ? { day, msOfDay, microsOfMs: us } : { day, msOfDay }));
/** Mission times a format can express: 0 up to the last ns of its coarse range. */
const taiNsFor = (f: CucFormat) => fc.bigInt({ min: 0n, max: 2n ** BigInt(8 * f.coarseOctets) * NS - 1n });

describe("CUC", () => {
  it("encodes 2026-01-01 (TAI 2,145,916,837 s since 1958) in the default 4+2 format", () => {
    expect(T2026).toBe(2_145_916_837n * NS);
    const t = taiNsToCuc(T2026 + 500_000_000n);
    expect(t).toEqual({ coarse: 2_145_916_837, fine: 0x8000 });
    expect(hexOf(encodeCuc(t))).toBe("7FE817A58000");
    expect(cucToTaiNs(t)).toBe(T2026 + 500_000_000n);
  });

  it("writes the P-field: extension 0, id 001, coarse−1, fine", () => {
    // 0 001 11 10 = 0x1E, 0 001 00 00 = 0x10, 0 001 11 11 = 0x1F
    expect(cucPField({ coarseOctets: 4, fineOctets: 2 })).toBe(0x1e);
    expect(cucPField({ coarseOctets: 1, fineOctets: 0 })).toBe(0x10);
    expect(cucPField({ coarseOctets: 4, fineOctets: 3 })).toBe(0x1f);
    expect(hexOf(encodeCuc({ coarse: 0x0102, fine: 0x03 }, { coarseOctets: 2, fineOctets: 1, pField: true }))).toBe("15010203");
    expect(cucOctets({ coarseOctets: 3, fineOctets: 3, pField: true })).toBe(7);
  });

  it("decode(encode(x)) == x for every format and value", () => {
    fc.assert(
      fc.property(cucFormat.chain((f) => fc.tuple(fc.constant(f), cucTimeIn(f))), ([f, t]) => {
        const enc = encodeCuc(t, f);
        expect(enc.length).toBe(cucOctets(f));
        expect(decodeCuc(enc, f)).toEqual({ ok: true, value: t });
        if (f.pField) expect(decodeCucSelfDescribing(enc)).toEqual({ ok: true, value: { format: { ...f, pField: true }, time: t } });
      }),
    );
  });

  it("mission time → CUC → mission time lands in (t − resolution, t]; CUC → ns → CUC is exact", () => {
    fc.assert(
      fc.property(cucFormat.chain((f) => fc.tuple(fc.constant(f), taiNsFor(f), cucTimeIn(f))), ([f, t, c]) => {
        // resolution = 1e9 / 2^(8·fine) ns: 1 s, 3.90625 ms, ~15.26 µs, ~59.6 ns
        const back = cucToTaiNs(taiNsToCuc(t, f), f);
        expect(back <= t).toBe(true);
        expect(Number(t - back)).toBeLessThan(cucResolutionNs(f));
        expect(taiNsToCuc(cucToTaiNs(c, f), f)).toEqual(c);
      }),
    );
  });

  it("refuses coarse seconds that do not fit the octets, naming coarse", () => {
    expect(() => taiNsToCuc(256n * NS, { coarseOctets: 1, fineOctets: 0 })).toThrow(/^coarse: /);
    expect(taiNsToCuc(256n * NS - 1n, { coarseOctets: 1, fineOctets: 0 })).toEqual({ coarse: 255, fine: 0 });
    expect(() => taiNsToCuc(2n ** 32n * NS)).toThrow(RangeError);
    expect(() => encodeCuc({ coarse: 2 ** 32, fine: 0 })).toThrow(/^coarse: /);
    expect(() => encodeCuc({ coarse: 65536, fine: 0 }, { coarseOctets: 2, fineOctets: 0 })).toThrow(/^coarse: /);
    expect(() => encodeCuc({ coarse: 0, fine: 1 }, { coarseOctets: 2, fineOctets: 0 })).toThrow(/^fine: /);
    expect(() => encodeCuc({ coarse: 0, fine: 65536 })).toThrow(/^fine: /);
    expect(() => taiNsToCuc(-1n)).toThrow(/^taiNs: /);
    expect(() => taiNsToCuc(5 as unknown as bigint)).toThrow(/^taiNs: /);
    expect(() => encodeCuc({ coarse: 0, fine: 0 }, { coarseOctets: 5, fineOctets: 0 })).toThrow(/^format.coarseOctets: /);
    expect(() => encodeCuc({ coarse: 0, fine: 0 }, { coarseOctets: 4, fineOctets: 4 })).toThrow(/^format.fineOctets: /);
  });

  it("names what is wrong with a P-field", () => {
    const f: CucFormat = { coarseOctets: 4, fineOctets: 2, pField: true };
    const field = (b: string, fmt?: CucFormat) => {
      const r = fmt ? decodeCuc(fromHex(b), fmt) : decodeCucSelfDescribing(fromHex(b));
      return r.ok ? "ok" : r.error.field;
    };
    expect(field("9E0000000000", f)).toBe("pField.extension");
    expect(field("2E0000000000", f)).toBe("pField.timeCodeId");
    expect(field("1D00000000", f)).toBe("pField"); // announces 4+1, expected 4+2
    expect(field("1E0000", f)).toBe("time");
    expect(field("", f)).toBe("pField");
    expect(field("1D0000000000")).toBe("ok");
    expect(field("7FE817A580", DEFAULT_CUC_FORMAT)).toBe("time");
  });

  it("never throws on random or damaged bytes", () => {
    fc.assert(
      fc.property(cucFormat, bytes(12), (f, b) => {
        const r = decodeCuc(b, f);
        if (r.ok) expect(hexOf(encodeCuc(r.value, f))).toBe(hexOf(b.subarray(0, cucOctets(f))));
        const s = decodeCucSelfDescribing(b);
        if (s.ok) expect(hexOf(encodeCuc(s.value.time, s.value.format))).toBe(hexOf(b.subarray(0, cucOctets(s.value.format))));
      }),
      { numRuns: 300 },
    );
  });
});

describe("CDS (short: 16-bit day, ms of day, optional µs)", () => {
  it("encodes 2026-01-01T00:00:00Z as day 24837 (0x6105), 37,000 ms of the TAI day", () => {
    const t = taiNsToCds(T2026);
    expect(t).toEqual({ day: 24_837, msOfDay: 37_000 });
    expect(hexOf(encodeCds(t))).toBe("610500009088");
    const withUs = taiNsToCds(T2026 + 1_234_567n, { submillisecond: true, pField: true });
    expect(withUs).toEqual({ day: 24_837, msOfDay: 37_001, microsOfMs: 234 });
    // P-field 0 100 0 0 01 = 0x41
    expect(hexOf(encodeCds(withUs, { submillisecond: true, pField: true }))).toBe("41610500009089" + "00EA");
    expect(cdsPField({})).toBe(0x40);
  });

  it("decode(encode(x)) == x for every format and value", () => {
    fc.assert(
      fc.property(cdsFormat.chain((f) => fc.tuple(fc.constant(f), cdsTimeIn(f))), ([f, t]) => {
        const enc = encodeCds(t, f);
        expect(enc.length).toBe(cdsOctets(f));
        expect(decodeCds(enc, f)).toEqual({ ok: true, value: t });
        expect(taiNsToCds(cdsToTaiNs(t, f), f)).toEqual(t);
        if (f.pField) expect(decodeCdsSelfDescribing(enc)).toEqual({ ok: true, value: { format: { submillisecond: f.submillisecond, pField: true }, time: t } });
      }),
    );
  });

  it("mission time → CDS → mission time lands in (t − 1 ms, t] (or (t − 1 µs, t] with the µs segment)", () => {
    fc.assert(
      fc.property(cdsFormat, fc.bigInt({ min: 0n, max: 65536n * 86_400n * NS - 1n }), (f, t) => {
        const back = cdsToTaiNs(taiNsToCds(t, f), f);
        expect(back <= t).toBe(true);
        expect(t - back < (f.submillisecond ? 1_000n : 1_000_000n)).toBe(true);
      }),
    );
  });

  it("refuses out-of-range values, naming the field", () => {
    expect(() => taiNsToCds(65536n * 86_400n * NS)).toThrow(/^day: /);
    expect(() => encodeCds({ day: 65536, msOfDay: 0 })).toThrow(/^day: /);
    expect(() => encodeCds({ day: 0, msOfDay: 86_400_000 })).toThrow(/^msOfDay: /);
    expect(() => encodeCds({ day: 0, msOfDay: 0, microsOfMs: 1000 }, { submillisecond: true })).toThrow(/^microsOfMs: /);
    expect(() => encodeCds({ day: 0, msOfDay: 0 }, { submillisecond: true })).toThrow(/^microsOfMs: /);
    expect(() => encodeCds({ day: 0, msOfDay: 0, microsOfMs: 5 })).toThrow(/^microsOfMs: /);
  });

  it("refuses decoded values no TAI day has, and P-fields it does not support", () => {
    const field = (h: string, f: CdsFormat = {}) => {
      const r = decodeCds(fromHex(h), f);
      return r.ok ? "ok" : r.error.field;
    };
    expect(field("000005265C00")).toBe("msOfDay"); // 86,400,000
    expect(field("000005265BFF")).toBe("ok");
    expect(field("00000000000003E8", { submillisecond: true })).toBe("microsOfMs");
    expect(field("0000000000", {})).toBe("time");
    expect(field("42000000000000000000", { submillisecond: true, pField: true })).toBe("pField.submillisecond");
    expect(field("48000000000000", { pField: true })).toBe("pField.epoch");
    expect(field("44000000000000", { pField: true })).toBe("pField.daySegment");
    expect(field("10000000000000", { pField: true })).toBe("pField.timeCodeId");
    expect(field("C0000000000000", { pField: true })).toBe("pField.extension");
    expect(field("41000000000000", { pField: true })).toBe("pField");
  });

  it("never throws on random or damaged bytes", () => {
    const valid = cdsFormat.chain((f) => cdsTimeIn({ ...f, pField: true }).map((t) => encodeCds(t, { ...f, pField: true })));
    fc.assert(
      fc.property(cdsFormat, fc.oneof(bytes(12), mutated(valid)), (f, b) => {
        const r = decodeCds(b, f);
        if (r.ok) expect(hexOf(encodeCds(r.value, f))).toBe(hexOf(b.subarray(0, cdsOctets(f))));
        const s = decodeCdsSelfDescribing(b);
        if (s.ok) expect(hexOf(encodeCds(s.value.time, s.value.format))).toBe(hexOf(b.subarray(0, cdsOctets(s.value.format))));
      }),
      { numRuns: 300 },
    );
  });
});
