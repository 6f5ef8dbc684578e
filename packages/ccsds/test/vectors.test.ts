/**
 * Hand-checked vectors. The header octets below were written out by hand from
 * the bit layouts of CCSDS 133.0-B-2 (primary header) and ECSS-E-ST-70-41C
 * (PUS-C secondary headers), not produced by the encoder. The CRC is computed
 * here by `crcBitwise`, a bit-at-a-time loop straight from the definition
 * (poly 0x1021, preset 0xFFFF), independent of the table-driven crc16 in src;
 * the literal CRC values were also checked with Python's binascii.crc_hqx.
 * The same derivations are in the README.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AntiReplay, KeyStore, authenticateTc, decodeTc, decodeTm, encodeTc, encodeTm, secureTc, type Tc, type Tm } from "../src/index.js";
import { fromHex, hexOf } from "./support/arbitraries.js";

function crcBitwise(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      const inBit = (byte >> bit) & 1;
      const top = (crc >> 15) & 1;
      crc = (crc << 1) & 0xffff;
      if (top ^ inBit) crc ^= 0x1021;
    }
  }
  return crc;
}

interface Vector<T> {
  name: string;
  value: T;
  /** Hand-derived packet without its CRC. */
  body: string;
  /** Expected CRC (bitwise loop here; binascii.crc_hqx agrees). */
  crc: number;
}

const tcVectors: Vector<Tc>[] = [
  {
    // TC(17,1) are-you-alive, APID 0x064, count 1, ack 1001, source 0x0001, no app data
    //   000 1 1 00001100100      -> 0001 1000 0110 0100 = 18 64
    //   11 00000000000001        -> 1100 0000 0000 0001 = C0 01
    //   data field 5+0+2 = 7     -> length 6            = 00 06
    //   0010 1001                -> 29 (PUS 2, ack acceptance+completion)
    //   service 17, subtype 1    -> 11 01
    //   source 1                 -> 00 01
    name: "TC(17,1) are-you-alive",
    value: { apid: 0x064, sequenceCount: 1, ack: 0b1001, service: 17, subtype: 1, sourceId: 0x0001, appData: new Uint8Array() },
    body: "1864 C001 0006 29 11 01 0001",
    crc: 0x050d,
  },
  {
    // TC(8,1) perform function, APID 0x2A5, count 16383, ack 1111, source 0xBEEF, app data 01 02 03 04
    //   000 1 1 01010100101      -> 0001 1010 1010 0101 = 1A A5
    //   11 11111111111111        -> FF FF
    //   data field 5+4+2 = 11    -> length 10 = 00 0A
    //   0010 1111                -> 2F
    name: "TC(8,1) perform function",
    value: { apid: 0x2a5, sequenceCount: 16383, ack: 0b1111, service: 8, subtype: 1, sourceId: 0xbeef, appData: new Uint8Array([1, 2, 3, 4]) },
    body: "1AA5 FFFF 000A 2F 08 01 BEEF 01020304",
    crc: 0x2b87,
  },
  {
    // TC(3,5) enable periodic housekeeping, APID 0x7FE (highest non-idle), count 0x1234, ack 0000, source 0,
    // app data 01 0007 (N = 1, SID 7)
    //   000 1 1 11111111110      -> 0001 1111 1111 1110 = 1F FE
    //   11 01001000110100        -> 1101 0010 0011 0100 = D2 34
    //   data field 5+3+2 = 10    -> length 9 = 00 09
    //   0010 0000                -> 20
    name: "TC(3,5) enable housekeeping",
    value: { apid: 0x7fe, sequenceCount: 0x1234, ack: 0, service: 3, subtype: 5, sourceId: 0, appData: new Uint8Array([0x01, 0x00, 0x07]) },
    body: "1FFE D234 0009 20 03 05 0000 010007",
    crc: 0x29d6,
  },
];

const tmVectors: Array<Vector<Tm> & { options?: Parameters<typeof encodeTm>[1] }> = [
  {
    // TM(17,2) are-you-alive report, APID 0x064, count 1, time ref 0, counter 1, destination 1,
    // time 2026-01-01T00:00:00.5 UTC = TAI 2,145,916,837.5 s since 1958 -> CUC 4+2: 7FE817A5 8000
    //   000 0 1 00001100100      -> 0000 1000 0110 0100 = 08 64
    //   11 00000000000001        -> C0 01
    //   data field 13+0+2 = 15   -> length 14 = 00 0E
    //   0010 0000                -> 20 (PUS 2, time ref status 0)
    name: "TM(17,2) are-you-alive report",
    value: {
      apid: 0x064,
      sequenceCount: 1,
      timeRefStatus: 0,
      service: 17,
      subtype: 2,
      messageTypeCounter: 1,
      destinationId: 1,
      time: { coarse: 2_145_916_837, fine: 0x8000 },
      appData: new Uint8Array(),
    },
    body: "0864 C001 000E 20 11 02 0001 0001 7FE817A5 8000",
    crc: 0x49e0,
  },
  {
    // TM(3,25) housekeeping report, APID 0x2A5, count 16383, time ref 0001, counter 0xFFFF, destination 0x42,
    // time coarse 1 fine 1, app data SID 0007 + DEADBEEF
    //   000 0 1 01010100101      -> 0000 1010 1010 0101 = 0A A5
    //   data field 13+6+2 = 21   -> length 20 = 00 14
    //   0010 0001                -> 21
    name: "TM(3,25) housekeeping report",
    value: {
      apid: 0x2a5,
      sequenceCount: 16383,
      timeRefStatus: 1,
      service: 3,
      subtype: 25,
      messageTypeCounter: 0xffff,
      destinationId: 0x42,
      time: { coarse: 1, fine: 1 },
      appData: fromHex("0007DEADBEEF"),
    },
    body: "0AA5 FFFF 0014 21 03 19 FFFF 0042 00000001 0001 0007DEADBEEF",
    crc: 0x4f08,
  },
  {
    // TM(1,1) acceptance report for the first TC above (request ID = its first 4 octets 1864 C001),
    // APID 0x064, count 2, time in CUC 4+3 with P-field: 0 001 11 11 = 1F, fine 0x400000 (0.25 s)
    //   data field 7+1+4+3 + 4 + 2 = 21 -> length 20 = 00 14
    name: "TM(1,1) acceptance report, CUC 4+3 with P-field",
    value: {
      apid: 0x064,
      sequenceCount: 2,
      timeRefStatus: 0,
      service: 1,
      subtype: 1,
      messageTypeCounter: 1,
      destinationId: 1,
      time: { coarse: 2_145_916_837, fine: 0x400000 },
      appData: fromHex("1864C001"),
    },
    options: { timeFormat: { coarseOctets: 4, fineOctets: 3, pField: true } },
    body: "0864 C002 0014 20 01 01 0001 0001 1F 7FE817A5 400000 1864C001",
    crc: 0x465a,
  },
];

describe("hand-derived PUS-C vectors", () => {
  it("the bitwise CRC used here gives the catalogue check value", () => {
    expect(crcBitwise(new TextEncoder().encode("123456789"))).toBe(0x29b1);
  });

  for (const v of tcVectors) {
    it(`${v.name}: ${v.body} + CRC ${v.crc.toString(16).toUpperCase().padStart(4, "0")}`, () => {
      const body = fromHex(v.body);
      expect(crcBitwise(body)).toBe(v.crc);
      const packet = new Uint8Array([...body, v.crc >> 8, v.crc & 0xff]);
      expect(hexOf(encodeTc(v.value))).toBe(hexOf(packet));
      expect(decodeTc(packet)).toEqual({ ok: true, value: v.value });
    });
  }

  for (const v of tmVectors) {
    it(`${v.name}: ${v.body} + CRC ${v.crc.toString(16).toUpperCase().padStart(4, "0")}`, () => {
      const body = fromHex(v.body);
      expect(crcBitwise(body)).toBe(v.crc);
      const packet = new Uint8Array([...body, v.crc >> 8, v.crc & 0xff]);
      expect(hexOf(encodeTm(v.value, v.options))).toBe(hexOf(packet));
      expect(decodeTm(packet, v.options)).toEqual({ ok: true, value: v.value });
    });
  }

  it("secured TC(17,1): SPI 1, security sequence 1, key 00 01 .. 1F", () => {
    // data field 6 (security header) + 5 + 0 + 16 (MAC) + 2 = 29 -> length 28 = 00 1C
    const macInput = fromHex("1864 C001 001C 0001 00000001 29 11 01 0001");
    const mac = createHmac("sha256", Buffer.from(Array.from({ length: 32 }, (_, i) => i))).update(macInput).digest().subarray(0, 16);
    expect(hexOf(mac)).toBe("5F6DC3F8F8D7D578E32BCDD225745D80"); // also from Python's hmac module
    const body = new Uint8Array([...macInput, ...mac]);
    expect(crcBitwise(body)).toBe(0xdff9);
    const expected = "1864C001001C00010000000129110100015F6DC3F8F8D7D578E32BCDD225745D80DFF9";

    const keys = new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: new Uint8Array(Array.from({ length: 32 }, (_, i) => i)) }]);
    const tc = { ...tcVectors[0]!.value, spi: 1, securitySequence: 1 };
    expect(hexOf(secureTc(tc, keys))).toBe(expected);
    expect(authenticateTc(fromHex(expected), keys, new AntiReplay())).toEqual({ ok: true, tc });
  });
});
