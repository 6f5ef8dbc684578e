import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  Ack,
  DEFAULT_CUC_FORMAT,
  MAX_TC_APP_DATA_OCTETS,
  type Tc,
  type Tm,
  crc16,
  decodeSpacePacket,
  decodeTc,
  decodeTcSecondaryHeader,
  decodeTm,
  decodeTmSecondaryHeader,
  encodeSpacePacket,
  encodeTc,
  encodeTcSecondaryHeader,
  encodeTm,
  encodeTmSecondaryHeader,
} from "../src/index.js";
import { bytes, hexOf, mutated, tc as tcArb, tmWithOptions } from "./support/arbitraries.js";

const tc: Tc = { apid: 0x064, sequenceCount: 1, ack: Ack.ACCEPTANCE | Ack.COMPLETION, service: 17, subtype: 1, sourceId: 1, appData: new Uint8Array() };
const tm: Tm = {
  apid: 0x064,
  sequenceCount: 1,
  timeRefStatus: 0,
  service: 17,
  subtype: 2,
  messageTypeCounter: 1,
  destinationId: 1,
  time: { coarse: 2_145_916_837, fine: 0x8000 },
  appData: new Uint8Array([1, 2]),
};

/** Rewrites the CRC so a test can reach the checks behind it. */
function withCrc(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b);
  const c = crc16(out.subarray(0, out.length - 2));
  out[out.length - 2] = c >> 8;
  out[out.length - 1] = c & 0xff;
  return out;
}

function errorOf(r: { ok: boolean; error?: { field: string; reason: string } }): string {
  return r.ok ? "ok" : r.error!.field;
}

describe("PUS-C TC", () => {
  it("decode(encode(x)) == x for every valid TC", () => {
    fc.assert(
      fc.property(tcArb, (x) => {
        expect(decodeTc(encodeTc(x))).toEqual({ ok: true, value: x });
      }),
    );
  });

  it("carries a CRC over the whole packet, so the packet checks to zero", () => {
    fc.assert(fc.property(tcArb, (x) => crc16(encodeTc(x)) === 0));
  });

  it("returns the octets after the packet as rest", () => {
    const two = new Uint8Array([...encodeTc(tc), ...encodeTc({ ...tc, sequenceCount: 2 })]);
    const a = decodeTc(two);
    expect(a.ok && a.value.sequenceCount).toBe(1);
    const b = a.ok && a.rest ? decodeTc(a.rest) : undefined;
    expect(b).toEqual({ ok: true, value: { ...tc, sequenceCount: 2 } });
  });

  it("names the field of each refusal", () => {
    const good = encodeTc(tc);
    const flip = (at: number, mask: number) => {
      const b = new Uint8Array(good);
      b[at]! ^= mask;
      return b;
    };
    expect(errorOf(decodeTc(flip(0, 0x20)))).toBe("version");
    expect(errorOf(decodeTc(flip(0, 0x10)))).toBe("type");
    expect(errorOf(decodeTc(encodeTm(tm)))).toBe("type");
    expect(errorOf(decodeTc(flip(0, 0x08)))).toBe("secondaryHeader");
    expect(errorOf(decodeTc(flip(2, 0x40)))).toBe("sequenceFlags");
    expect(errorOf(decodeTc(flip(5, 0x01)))).toBe("dataLength"); // 8 octets announced, 7 present
    expect(errorOf(decodeTc(good.subarray(0, 12)))).toBe("dataLength");
    expect(errorOf(decodeTc(good.subarray(0, 3)))).toBe("primaryHeader");
    expect(errorOf(decodeTc(flip(12, 0x01)))).toBe("crc");
    expect(errorOf(decodeTc(flip(9, 0x80)))).toBe("crc");
    expect(errorOf(decodeTc(withCrc(flip(6, 0x10))))).toBe("pusVersion"); // version 3
    // a data field too short for a secondary header and CRC, CRC correct
    const short = withCrc(encodeSpacePacket({ type: 1, secondaryHeader: true, apid: 1, sequenceFlags: 3, sequenceCount: 0, data: new Uint8Array(6) }));
    expect(errorOf(decodeTc(short))).toBe("dataLength");
    const crcErr = decodeTc(flip(12, 0x01));
    expect(!crcErr.ok && crcErr.error.offset).toBe(11);
  });

  it("refuses bad fields when encoding, naming them", () => {
    const bad: Array<[Partial<Record<keyof Tc, unknown>>, string]> = [
      [{ apid: 2047 }, "apid"],
      [{ sequenceCount: -1 }, "sequenceCount"],
      [{ ack: 16 }, "ack"],
      [{ service: 256 }, "service"],
      [{ subtype: "1" }, "subtype"],
      [{ sourceId: 65536 }, "sourceId"],
      [{ appData: new Uint8Array(MAX_TC_APP_DATA_OCTETS + 1) }, "appData"],
      [{ appData: undefined }, "appData"],
    ];
    for (const [patch, field] of bad) expect(() => encodeTc({ ...tc, ...patch } as Tc)).toThrow(new RegExp(`^${field}: `));
    expect(encodeTc({ ...tc, appData: new Uint8Array(MAX_TC_APP_DATA_OCTETS) }).length).toBe(65542);
  });

  it("never throws on random or damaged bytes; what it accepts re-encodes to the octets it consumed", () => {
    const check = (b: Uint8Array) => {
      const r = decodeTc(b);
      if (r.ok) {
        const enc = encodeTc(r.value);
        expect(hexOf(enc)).toBe(hexOf(b.subarray(0, enc.length)));
      }
      decodeTcSecondaryHeader(b, 3);
    };
    fc.assert(fc.property(bytes(64), check), { numRuns: 300 });
    fc.assert(fc.property(mutated(tcArb.map(encodeTc)), check), { numRuns: 300 });
    // damage that keeps the CRC right reaches the checks behind it
    fc.assert(fc.property(mutated(tcArb.map(encodeTc)).filter((b) => b.length > 8).map(withCrc), check), { numRuns: 300 });
  });

  it("has a 5-octet secondary header codec of its own", () => {
    expect(hexOf(encodeTcSecondaryHeader({ ack: 0b1001, service: 17, subtype: 1, sourceId: 1 }))).toBe("2911010001");
    expect(decodeTcSecondaryHeader(new Uint8Array([0x29, 0x11, 0x01, 0x00, 0x01]))).toEqual({ ok: true, value: { ack: 9, service: 17, subtype: 1, sourceId: 1 } });
    expect(errorOf(decodeTcSecondaryHeader(new Uint8Array([0x19, 0x11, 0x01, 0x00, 0x01])))).toBe("pusVersion");
    expect(errorOf(decodeTcSecondaryHeader(new Uint8Array([0x29])))).toBe("secondaryHeader");
  });
});

describe("PUS-C TM", () => {
  it("decode(encode(x)) == x for every valid TM and time format", () => {
    fc.assert(
      fc.property(tmWithOptions, ({ tm: x, options }) => {
        expect(decodeTm(encodeTm(x, options), options)).toEqual({ ok: true, value: x });
      }),
    );
  });

  it("uses 4+2 CUC without P-field by default (13-octet secondary header)", () => {
    const enc = encodeTm(tm);
    expect(enc.length).toBe(6 + 13 + 2 + 2);
    expect(hexOf(encodeTmSecondaryHeader(tm))).toBe("20110200010001" + "7FE817A58000");
    expect(decodeTm(enc, { timeFormat: DEFAULT_CUC_FORMAT })).toEqual({ ok: true, value: tm });
    expect(decodeTmSecondaryHeader(encodeTmSecondaryHeader(tm))).toEqual({ ok: true, value: { ...tm, apid: undefined, sequenceCount: undefined, appData: undefined } });
  });

  it("names the field of each refusal", () => {
    const good = encodeTm(tm);
    const flip = (at: number, mask: number) => {
      const b = new Uint8Array(good);
      b[at]! ^= mask;
      return b;
    };
    expect(errorOf(decodeTm(encodeTc(tc)))).toBe("type");
    expect(errorOf(decodeTm(flip(0, 0x08)))).toBe("secondaryHeader");
    expect(errorOf(decodeTm(flip(20, 0x04)))).toBe("crc");
    expect(errorOf(decodeTm(withCrc(flip(6, 0x30))))).toBe("pusVersion");
    expect(errorOf(decodeTm(good.subarray(0, 10)))).toBe("dataLength");
    // a TM with a P-field in its time must announce the format the reader expects
    const fmt = { coarseOctets: 4, fineOctets: 2, pField: true };
    const withP = encodeTm(tm, { timeFormat: fmt });
    expect(decodeTm(withP, { timeFormat: fmt }).ok).toBe(true);
    const wrongP = new Uint8Array(withP);
    wrongP[13] = 0x1d;
    expect(errorOf(decodeTm(withCrc(wrongP), { timeFormat: fmt }))).toBe("time.pField");
    expect(() => encodeTm({ ...tm, time: { coarse: 2 ** 32, fine: 0 } })).toThrow(/^coarse: /);
    expect(() => encodeTm({ ...tm, timeRefStatus: 16 })).toThrow(/^timeRefStatus: /);
    expect(() => encodeTm({ ...tm, messageTypeCounter: 65536 })).toThrow(/^messageTypeCounter: /);
    expect(() => encodeTm({ ...tm, destinationId: -1 })).toThrow(/^destinationId: /);
  });

  it("never throws on random or damaged bytes", () => {
    const valid = tmWithOptions.map(({ tm: x, options }) => encodeTm(x, options));
    const check = (b: Uint8Array) => {
      const r = decodeTm(b);
      if (r.ok) {
        const enc = encodeTm(r.value);
        expect(hexOf(enc)).toBe(hexOf(b.subarray(0, enc.length)));
      }
      decodeSpacePacket(b);
    };
    fc.assert(fc.property(bytes(64), check), { numRuns: 300 });
    fc.assert(fc.property(mutated(valid).filter((b) => b.length > 8).map(withCrc), check), { numRuns: 300 });
  });
});
