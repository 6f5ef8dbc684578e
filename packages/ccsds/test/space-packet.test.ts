import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  IDLE_APID,
  MAX_PACKET_OCTETS,
  PacketType,
  SequenceCounters,
  SequenceFlags,
  decodePrimaryHeader,
  decodeSpacePacket,
  encodeSpacePacket,
  type SpacePacket,
} from "../src/index.js";
import { bytes, fromHex, hexOf, mutated, spacePacket } from "./support/arbitraries.js";

const base: SpacePacket = {
  type: PacketType.TM,
  secondaryHeader: true,
  apid: 0x123,
  sequenceFlags: SequenceFlags.UNSEGMENTED,
  sequenceCount: 42,
  data: new Uint8Array([0xaa, 0xbb, 0xcc]),
};

function expectError(r: ReturnType<typeof decodeSpacePacket>, field: string, reason?: RegExp) {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.field).toBe(field);
  if (reason) expect(r.error.reason).toMatch(reason);
}

describe("space packet: encoding", () => {
  it("lays out the primary header bit by bit", () => {
    // 000 0 1 00100100011 | 11 00000000101010 | 0000000000000010
    expect(hexOf(encodeSpacePacket(base))).toBe("0923C02A0002AABBCC");
    // TC, no secondary header, idle APID, first segment, count 16383, one octet
    // 000 1 0 11111111111 | 01 11111111111111 | 0000000000000000
    expect(
      hexOf(encodeSpacePacket({ type: PacketType.TC, secondaryHeader: false, apid: IDLE_APID, sequenceFlags: SequenceFlags.FIRST, sequenceCount: 16383, data: new Uint8Array([0xff]) })),
    ).toBe("17FF7FFF0000FF");
  });

  it("refuses each bad field with a RangeError naming it", () => {
    const bad: Array<[Partial<Record<keyof SpacePacket, unknown>>, string]> = [
      [{ type: 2 }, "type"],
      [{ secondaryHeader: 1 }, "secondaryHeader"],
      [{ apid: 2048 }, "apid"],
      [{ apid: -1 }, "apid"],
      [{ apid: 1.5 }, "apid"],
      [{ sequenceFlags: 4 }, "sequenceFlags"],
      [{ sequenceCount: 16384 }, "sequenceCount"],
      [{ data: new Uint8Array() }, "data"],
      [{ data: [1, 2] }, "data"],
      [{ data: new Uint8Array(65537) }, "data"],
      [{ apid: IDLE_APID, secondaryHeader: true }, "secondaryHeader"],
    ];
    for (const [patch, field] of bad) {
      expect(() => encodeSpacePacket({ ...base, ...patch } as SpacePacket), field).toThrow(RangeError);
      expect(() => encodeSpacePacket({ ...base, ...patch } as SpacePacket)).toThrow(new RegExp(`^${field}: `));
    }
    expect(() => encodeSpacePacket(null as unknown as SpacePacket)).toThrow(/^packet: /);
  });

  it("takes the largest packet (65542 octets) and no larger", () => {
    const big = encodeSpacePacket({ ...base, data: new Uint8Array(65536) });
    expect(big.length).toBe(MAX_PACKET_OCTETS);
    expect(hexOf(big.subarray(4, 6))).toBe("FFFF");
    const r = decodeSpacePacket(big);
    expect(r.ok && r.value.data.length).toBe(65536);
  });
});

describe("space packet: decoding", () => {
  it("decode(encode(x)) == x for every valid packet", () => {
    fc.assert(
      fc.property(spacePacket, (p) => {
        const r = decodeSpacePacket(encodeSpacePacket(p));
        expect(r).toEqual({ ok: true, value: p });
      }),
    );
  });

  it("returns the octets after the packet as rest, so packets can be read back to back", () => {
    fc.assert(
      fc.property(spacePacket, spacePacket, (a, b) => {
        const stream = new Uint8Array([...encodeSpacePacket(a), ...encodeSpacePacket(b)]);
        const first = decodeSpacePacket(stream);
        expect(first.ok).toBe(true);
        if (!first.ok) return;
        expect(first.value).toEqual(a);
        expect(first.rest).toBeDefined();
        const second = decodeSpacePacket(first.rest!);
        expect(second).toEqual({ ok: true, value: b });
      }),
    );
  });

  it("reports fewer octets than the length field announces as truncated, at the length field", () => {
    const enc = encodeSpacePacket(base);
    for (let n = 6; n < enc.length; n++) {
      const r = decodeSpacePacket(enc.subarray(0, n));
      expectError(r, "dataLength", /truncated/);
      if (!r.ok) expect(r.error.offset).toBe(4);
    }
    for (let n = 0; n < 6; n++) expectError(decodeSpacePacket(enc.subarray(0, n)), "primaryHeader", /truncated/);
  });

  it("refuses a version other than 0 and a secondary header on an idle packet", () => {
    expectError(decodeSpacePacket(fromHex("2923C02A0002AABBCC")), "version", /got 1/);
    expectError(decodeSpacePacket(fromHex("0FFFC02A0000AA")), "secondaryHeader", /idle/);
    expectError(decodeSpacePacket([1, 2, 3] as unknown as Uint8Array), "bytes");
  });

  it("copies the data field, so the caller's buffer can be reused", () => {
    const enc = encodeSpacePacket(base);
    const r = decodeSpacePacket(enc);
    enc.fill(0);
    expect(r.ok && hexOf(r.value.data)).toBe("AABBCC");
  });

  it("never throws on random or damaged bytes; what it accepts re-encodes to exactly the octets it consumed", () => {
    const check = (b: Uint8Array) => {
      const r = decodeSpacePacket(b);
      if (r.ok) {
        const enc = encodeSpacePacket(r.value);
        expect(hexOf(enc)).toBe(hexOf(b.subarray(0, enc.length)));
        expect(r.rest?.length ?? 0).toBe(b.length - enc.length);
      } else {
        expect(typeof r.error.field).toBe("string");
      }
      decodePrimaryHeader(b);
    };
    fc.assert(fc.property(bytes(80), check), { numRuns: 300 });
    fc.assert(fc.property(mutated(spacePacket.map(encodeSpacePacket)), check), { numRuns: 300 });
  });
});

describe("SequenceCounters", () => {
  it("counts per APID from 0 and wraps after 16383", () => {
    const c = new SequenceCounters();
    expect(c.next(5)).toBe(0);
    expect(c.next(5)).toBe(1);
    expect(c.next(6)).toBe(0);
    c.set(5, 16383);
    expect(c.next(5)).toBe(16383);
    expect(c.next(5)).toBe(0);
    expect(c.peek(5)).toBe(1);
    expect(c.peek(6)).toBe(1);
    expect(() => c.next(2048)).toThrow(/^apid: /);
    expect(() => c.set(1, 16384)).toThrow(/^sequenceCount: /);
  });
});
