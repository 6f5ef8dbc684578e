/**
 * CRC-16-CCITT as PUS uses it for the packet error control field
 * (ECSS-E-ST-70-41C §7.4.3.3 / CCSDS 132.0-B annex B): polynomial
 * x^16 + x^12 + x^5 + 1 (0x1021), register preset to all ones (0xFFFF), bits
 * processed most significant first, no reflection, no final XOR. This is the
 * variant catalogued as CRC-16/IBM-3740 ("CCITT-FALSE"); check value over the
 * ASCII string "123456789" is 0x29B1.
 *
 * Table-driven, one lookup per octet: the table is the register after eight
 * shifts for each possible top octet.
 */

export const CRC16_POLY = 0x1021;
export const CRC16_INIT = 0xffff;

const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ CRC16_POLY) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/**
 * CRC of `bytes`, continuing from `crc` (default: the 0xFFFF preset), so
 * `crc16(b, crc16(a)) === crc16(a ‖ b)`.
 */
export function crc16(bytes: Uint8Array, crc: number = CRC16_INIT): number {
  let r = crc & 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    r = ((r << 8) & 0xff00) ^ TABLE[((r >>> 8) ^ bytes[i]!) & 0xff]!;
  }
  return r;
}
