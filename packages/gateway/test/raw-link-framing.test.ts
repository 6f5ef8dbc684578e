// The raw link's pure framing: PacketDeframer (TCP streams) and
// checkTcDatagram (UDP), by example and by property.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MAX_PACKET_OCTETS, PacketType, SequenceFlags, decodePrimaryHeader, encodeSpacePacket, packetOctets } from "@umbra/ccsds";
import { MIN_PACKET_OCTETS, PacketDeframer, checkMaxPacketBytes, checkTcDatagram, isIdlePacket, type DeframeResult } from "../src/raw-framing.js";

/** A TC space packet with `data` as its data field. */
function tcPacket(apid: number, data: Uint8Array, sequenceCount = 0, secondaryHeader = true): Uint8Array {
  return encodeSpacePacket({ type: PacketType.TC, secondaryHeader, apid, sequenceFlags: SequenceFlags.UNSEGMENTED, sequenceCount, data });
}

const arbTcPacket = fc
  .record({
    apid: fc.integer({ min: 0, max: 2046 }),
    count: fc.integer({ min: 0, max: 16383 }),
    data: fc.oneof({ weight: 8, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 4000, maxLength: 70_000 }).map((d) => d.subarray(0, 65536)) }),
  })
  .map(({ apid, count, data }) => tcPacket(apid, data.length ? data : new Uint8Array(1), count));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `bytes` at the given (unsorted, possibly repeated) points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

function pushAll(d: PacketDeframer, chunks: Uint8Array[]): { packets: Uint8Array[]; errors: DeframeResult["error"][] } {
  const packets: Uint8Array[] = [];
  const errors: DeframeResult["error"][] = [];
  for (const c of chunks) {
    const r = d.push(c);
    packets.push(...r.packets);
    if (r.error) errors.push(r.error);
  }
  return { packets, errors };
}

describe("PacketDeframer", () => {
  it("delimits back-to-back packets by the length field, whatever the read boundaries", () => {
    const a = tcPacket(0x10, new Uint8Array([1, 2, 3]));
    const b = tcPacket(0x7f0, new Uint8Array(100).fill(9), 5);
    const d = new PacketDeframer();
    expect(d.push(concat([a, b]).subarray(0, 4))).toEqual({ packets: [] });
    expect(d.buffered).toBe(4);
    const r = d.push(concat([a, b]).subarray(4, a.length + 10));
    expect(r.packets).toEqual([a]);
    expect(r.error).toBeUndefined();
    expect(d.push(concat([a, b]).subarray(a.length + 10)).packets).toEqual([b]);
    expect(d.buffered).toBe(0);
    expect(d.end()).toBeUndefined();
  });

  it("returns copies: the caller's buffer may be reused", () => {
    const a = tcPacket(1, new Uint8Array([7, 7, 7]));
    const buf = new Uint8Array(a);
    const d = new PacketDeframer();
    const [p] = d.push(buf).packets;
    buf.fill(0);
    expect(p).toEqual(a);
  });

  it("refuses a TM packet, a bad version and a length over the maximum, and stays spent", () => {
    const tm = encodeSpacePacket({ type: PacketType.TM, secondaryHeader: true, apid: 5, sequenceFlags: 3, sequenceCount: 0, data: new Uint8Array(4) });
    const good = tcPacket(3, new Uint8Array(4));
    const d1 = new PacketDeframer();
    const r1 = d1.push(concat([good, tm, good]));
    expect(r1.packets).toEqual([good]);
    expect(r1.error).toMatchObject({ kind: "not-tc", offset: good.length });
    expect(d1.push(good)).toEqual({ packets: [], error: r1.error });
    expect(d1.buffered).toBe(0);

    const badVersion = new Uint8Array(good);
    badVersion[0] = badVersion[0]! | 0x20;
    expect(new PacketDeframer().push(badVersion).error).toMatchObject({ kind: "bad-header" });

    const d3 = new PacketDeframer({ maxPacketBytes: 100 });
    expect(d3.push(tcPacket(3, new Uint8Array(94))).packets).toHaveLength(1); // exactly 100
    expect(d3.push(tcPacket(3, new Uint8Array(95))).error).toMatchObject({ kind: "too-long" });
    // The refusal comes from the header alone: no need to wait for 65 KiB that will never be accepted.
    expect(new PacketDeframer({ maxPacketBytes: 100 }).push(new Uint8Array([0x10, 0x01, 0xc0, 0x00, 0xff, 0xff])).error).toMatchObject({ kind: "too-long" });
  });

  it("says a stream that ends inside a packet was truncated", () => {
    const a = tcPacket(3, new Uint8Array(40));
    const d = new PacketDeframer();
    d.push(a.subarray(0, 20));
    expect(d.end()).toMatchObject({ kind: "truncated", offset: 0 });
    const d2 = new PacketDeframer();
    d2.push(concat([a, a.subarray(0, 3)]));
    expect(d2.end()).toMatchObject({ kind: "truncated", offset: a.length });
  });

  it("checks its maximum", () => {
    expect(() => new PacketDeframer({ maxPacketBytes: 6 })).toThrow(/maxPacketBytes/);
    expect(() => new PacketDeframer({ maxPacketBytes: MAX_PACKET_OCTETS + 1 })).toThrow(/maxPacketBytes/);
    expect(checkMaxPacketBytes(undefined)).toBe(65_542);
    expect(checkMaxPacketBytes(MIN_PACKET_OCTETS)).toBe(7);
  });

  it("property: any split of a valid stream gives back exactly its packets", () => {
    fc.assert(
      fc.property(fc.array(arbTcPacket, { minLength: 0, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (packets, cuts) => {
        const stream = concat(packets);
        const d = new PacketDeframer();
        const { packets: out, errors } = pushAll(d, split(stream, cuts));
        expect(errors).toEqual([]);
        expect(out).toEqual(packets);
        expect(d.buffered).toBe(0);
        expect(d.end()).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it("property: one octet at a time gives the same packets", () => {
    fc.assert(
      fc.property(fc.array(arbTcPacket.filter((p) => p.length < 2000), { maxLength: 5 }), (packets) => {
        const stream = concat(packets);
        const d = new PacketDeframer();
        const { packets: out } = pushAll(d, [...stream].map((b) => new Uint8Array([b])));
        expect(out).toEqual(packets);
      }),
      { numRuns: 50 },
    );
  });

  it("property: random bytes never throw; they end in whole TC packets, then a framing error or a partial packet", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }),
        fc.integer({ min: MIN_PACKET_OCTETS, max: MAX_PACKET_OCTETS }),
        (chunks, maxPacketBytes) => {
          const d = new PacketDeframer({ maxPacketBytes });
          let out: ReturnType<typeof pushAll>;
          expect(() => {
            out = pushAll(d, chunks);
          }).not.toThrow();
          const total = chunks.reduce((n, c) => n + c.length, 0);
          const got = out!.packets.reduce((n, p) => n + p.length, 0);
          for (const p of out!.packets) {
            const h = decodePrimaryHeader(p);
            expect(h.ok).toBe(true);
            if (!h.ok) return;
            expect(h.value.type).toBe(PacketType.TC);
            expect(packetOctets(h.value)).toBe(p.length);
            expect(p.length).toBeLessThanOrEqual(maxPacketBytes);
          }
          // After the first error nothing more comes out, and every later push repeats it.
          const first = out!.errors[0];
          if (first) {
            expect(out!.errors.every((e) => e === first)).toBe(true);
            expect(first.offset).toBe(got);
            expect(d.end()).toBe(first);
          } else {
            // No error: every octet is in a packet or held as the next, partial, one; ending the stream there is "truncated".
            expect(got + d.buffered).toBe(total);
            const held = d.buffered;
            const end = d.end();
            if (held === 0) expect(end).toBeUndefined();
            else expect(end).toMatchObject({ kind: "truncated", offset: got });
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("property: valid packets followed by garbage give the packets, then (at most) one error at the garbage", () => {
    fc.assert(
      fc.property(fc.array(arbTcPacket.filter((p) => p.length < 1000), { maxLength: 6 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.array(fc.nat(), { maxLength: 10 }), (packets, garbage, cuts) => {
        const stream = concat([...packets, garbage]);
        const d = new PacketDeframer();
        const { packets: out, errors } = pushAll(d, split(stream, cuts));
        expect(out.slice(0, packets.length)).toEqual(packets);
        if (errors[0]) expect(errors[0].offset).toBeGreaterThanOrEqual(concat(packets).length);
      }),
      { numRuns: 300 },
    );
  });
});

describe("checkTcDatagram", () => {
  const good = tcPacket(0x10, new Uint8Array(30));

  it("takes exactly one TC packet per datagram", () => {
    const r = checkTcDatagram(good, MAX_PACKET_OCTETS);
    expect(r).toEqual({ ok: true, packet: good });
  });

  it("refuses a datagram whose length disagrees with its header, a TM, a bad version, or one over the maximum", () => {
    expect(checkTcDatagram(good.subarray(0, good.length - 1), MAX_PACKET_OCTETS)).toMatchObject({ ok: false, error: { kind: "truncated" } });
    expect(checkTcDatagram(good.subarray(0, 3), MAX_PACKET_OCTETS)).toMatchObject({ ok: false, error: { kind: "truncated" } });
    expect(checkTcDatagram(concat([good, new Uint8Array(1)]), MAX_PACKET_OCTETS)).toMatchObject({ ok: false, error: { kind: "trailing-octets" } });
    const tm = new Uint8Array(good);
    tm[0] = tm[0]! & ~0x10;
    expect(checkTcDatagram(tm, MAX_PACKET_OCTETS)).toMatchObject({ ok: false, error: { kind: "not-tc" } });
    const v = new Uint8Array(good);
    v[0] = v[0]! | 0x80;
    expect(checkTcDatagram(v, MAX_PACKET_OCTETS)).toMatchObject({ ok: false, error: { kind: "bad-header" } });
    expect(checkTcDatagram(good, good.length - 1)).toMatchObject({ ok: false, error: { kind: "too-long" } });
    expect(checkTcDatagram(new Uint8Array(0), MAX_PACKET_OCTETS)).toMatchObject({ ok: false });
  });

  it("property: never throws on random datagrams, and accepts only a whole TC packet", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = checkTcDatagram(bytes, MAX_PACKET_OCTETS);
        if (r.ok) {
          const h = decodePrimaryHeader(bytes);
          expect(h.ok && h.value.type === PacketType.TC && packetOctets(h.value) === bytes.length).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("isIdlePacket", () => {
  it("knows APID 2047", () => {
    expect(isIdlePacket(tcPacket(2047, new Uint8Array(1), 0, false))).toBe(true);
    expect(isIdlePacket(tcPacket(2046, new Uint8Array(1)))).toBe(false);
  });
});
