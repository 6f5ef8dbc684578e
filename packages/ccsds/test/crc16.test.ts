import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CRC16_INIT, crc16 } from "../src/index.js";

/** Bit at a time, straight from the definition: an independent check on the table. */
function crcBitwise(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

describe("crc16 (CRC-16-CCITT, poly 0x1021, init 0xFFFF)", () => {
  it('gives the catalogue check value 0x29B1 for "123456789"', () => {
    expect(crc16(new TextEncoder().encode("123456789"))).toBe(0x29b1);
  });

  it("gives the preset for no data, and known single-octet values", () => {
    expect(crc16(new Uint8Array())).toBe(CRC16_INIT);
    expect(crc16(new Uint8Array([0x00]))).toBe(crcBitwise(new Uint8Array([0x00])));
    // ECSS-E-ST-70-41C annex B check sequences (same CRC): 00 00 -> 1D0F, 00 00 00 -> CC9C, AB CD EF 01 -> 04A2, 14 56 F8 9A 00 01 -> 7FD5
    expect(crc16(new Uint8Array([0x00, 0x00]))).toBe(0x1d0f);
    expect(crc16(new Uint8Array([0x00, 0x00, 0x00]))).toBe(0xcc9c);
    expect(crc16(new Uint8Array([0xab, 0xcd, 0xef, 0x01]))).toBe(0x04a2);
    expect(crc16(new Uint8Array([0x14, 0x56, 0xf8, 0x9a, 0x00, 0x01]))).toBe(0x7fd5);
  });

  it("matches the bitwise definition on any data", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (d) => crc16(d) === crcBitwise(d)));
  });

  it("continues across chunks: crc16(b, crc16(a)) == crc16(a ‖ b)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        expect(crc16(b, crc16(a))).toBe(crc16(new Uint8Array([...a, ...b])));
      }),
    );
  });

  it("a packet with its CRC appended checks to zero (what makes it detect every single-bit error)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (d) => {
        const c = crc16(d);
        expect(crc16(new Uint8Array([...d, c >> 8, c & 0xff]))).toBe(0);
      }),
    );
  });
});
