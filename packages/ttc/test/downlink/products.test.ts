import { join } from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeTm, taiNsToCuc } from "@umbra/ccsds";
import {
  DownlinkFullError,
  DownlinkQueue,
  MAX_PRODUCT_OCTETS,
  PRODUCT_SEGMENT_OCTETS,
  checkProductRequest,
  decodeProductSegment,
  encodeProductSegments,
  productSegmentCount,
  reassembleProducts,
  ProductReassembler,
  type ProductRequest,
  type ProductSegmentData,
} from "../../src/downlink/index.js";
import { InvalidFieldError } from "../../src/store/errors.js";
import { openTtcDatabase } from "../../src/store/database.js";
import { T0, meta, pkt, tempDir } from "./support.js";

const APID = 0x010;

/** Deterministic bytes from a seed (xorshift32), so fast-check can shrink sizes and seeds. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function product(data: Uint8Array, over: Partial<ProductRequest> = {}): ProductRequest {
  return { source: "jobs", productId: "job-42/summary", kind: "umbra.jobs.v1.JobSummaryProduct", data, ...over };
}

/** Wraps segments in TM packets as the TTC does (service 13 at the TTC's APID). */
function tmPackets(segments: readonly ProductSegmentData[], firstCount = 0, apid = APID): Uint8Array[] {
  return segments.map((s, i) =>
    encodeTm({ apid, sequenceCount: (firstCount + i) % 16384, timeRefStatus: 0, service: 13, subtype: s.subtype, messageTypeCounter: i, destinationId: 0, time: taiNsToCuc(T0), appData: s.appData }),
  );
}

describe("ST[13] product segments", () => {
  it("cuts a product into 1 KiB segments: (13,1) first, (13,2) intermediate, (13,3) last", () => {
    expect(encodeProductSegments(1, product(bytes(1, 1))).map((s) => s.subtype)).toEqual([1]);
    expect(encodeProductSegments(1, product(bytes(1024, 1))).map((s) => s.subtype)).toEqual([1]);
    expect(encodeProductSegments(1, product(bytes(1025, 1))).map((s) => s.subtype)).toEqual([1, 3]);
    expect(encodeProductSegments(1, product(bytes(3000, 1))).map((s) => s.subtype)).toEqual([1, 2, 3]);
    expect(productSegmentCount(MAX_PRODUCT_OCTETS)).toBe(1024);
  });

  it("writes the layout of the ICD byte by byte", () => {
    const data = Buffer.from("hello, ground");
    const [first] = encodeProductSegments(0x01020304, product(data, { source: "jobs", productId: "p1", kind: "k" }));
    const crc = crc32(data) >>> 0;
    const expected = Buffer.concat([
      Buffer.from([0x01, 0x02, 0x03, 0x04, 0x00, 0x01, 0x00, 0x01]), // product number, segment 1 of 1
      Buffer.from([0, 0, 0, data.length]), // product length
      Buffer.from([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]),
      Buffer.from([4]), Buffer.from("jobs"), Buffer.from([2]), Buffer.from("p1"), Buffer.from([1]), Buffer.from("k"),
      data,
    ]);
    expect(Buffer.from(first!.appData).toString("hex")).toBe(expected.toString("hex"));
    const segs = encodeProductSegments(7, product(bytes(2100, 3)));
    expect(Buffer.from(segs[1]!.appData.subarray(0, 8)).toString("hex")).toBe("0000000700020003");
    expect(segs[1]!.appData.length).toBe(8 + 1024);
    expect(segs[2]!.appData.length).toBe(8 + 2100 - 2048);
  });

  it("decodes what it encodes, and refuses what it would not write", () => {
    const segs = encodeProductSegments(9, product(bytes(2500, 5)));
    const d = segs.map((s) => decodeProductSegment(s.subtype, s.appData));
    expect(d.every((x) => x.ok)).toBe(true);
    const first = d[0]!.ok ? d[0]!.value : undefined;
    expect(first?.first).toEqual({ length: 2500, crc32: crc32(bytes(2500, 5)) >>> 0, source: "jobs", productId: "job-42/summary", kind: "umbra.jobs.v1.JobSummaryProduct" });
    const refused = (subtype: number, data: Uint8Array) => {
      const r = decodeProductSegment(subtype, data);
      return r.ok ? "ok" : `${r.field}: ${r.reason}`;
    };
    expect(refused(2, segs[0]!.appData)).toMatch(/^subtype: segment 1 of 3 is subtype 1/);
    expect(refused(3, segs[1]!.appData)).toMatch(/^subtype: segment 2 of 3 is subtype 2/);
    expect(refused(4, segs[1]!.appData)).toMatch(/^subtype: 4 is not 1, 2 or 3/);
    expect(refused(1, segs[0]!.appData.subarray(0, 5))).toMatch(/^segment: missing/);
    expect(refused(2, segs[1]!.appData.subarray(0, 8))).toMatch(/^data: empty segment/);
    expect(refused(2, segs[1]!.appData.subarray(0, 100))).toMatch(/^data: segment 2 of 3 has 92 octets, not 1024/);
    expect(refused(3, Buffer.concat([segs[2]!.appData, Buffer.alloc(1100 - 452)]))).toMatch(/^data: 1100 octets, more than 1024/);
    const zero = Buffer.from(segs[1]!.appData);
    zero.writeUInt32BE(0, 0);
    expect(refused(2, zero)).toMatch(/^productNumber: 0 is not a product number/);
    const miscount = Buffer.from(segs[0]!.appData);
    miscount.writeUInt16BE(4, 6);
    expect(refused(1, miscount)).toMatch(/^segments: a product of 2500 octets has 3 segments, not 4/);
    const badKind = Buffer.from(segs[0]!.appData);
    badKind[16 + 1 + 4 + 1 + 14 + 1] = 0x0a; // the kind's first character
    expect(refused(1, badKind)).toMatch(/^kind: not valid here/);
  });

  it("decoding random bytes never throws", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 1400 }), (subtype, data) => {
        decodeProductSegment(subtype, data);
      }),
      { numRuns: 500 },
    );
  });
});

describe("product request checks", () => {
  const reason = (over: Partial<ProductRequest> | Record<string, unknown>) => {
    const r = checkProductRequest({ ...product(bytes(10, 1)), ...over });
    return r ? `${r.field}: ${r.reason}` : "ok";
  };

  it("accepts the limits", () => {
    expect(reason({})).toBe("ok");
    expect(reason({ productId: "x".repeat(64), kind: "k".repeat(128), source: "a".repeat(64) })).toBe("ok");
    expect(reason({ productId: " ~!", data: new Uint8Array(MAX_PRODUCT_OCTETS) })).toBe("ok");
  });

  it("names the field and the problem", () => {
    expect(reason({ source: "" })).toMatch(/^source: "" is not a service name/);
    expect(reason({ source: "jobs runner" })).toMatch(/^source: "jobs runner" is not a service name/);
    expect(reason({ source: "a".repeat(65) })).toMatch(/^source: .* is not a service name/);
    expect(reason({ productId: "" })).toBe("productId: must not be empty (1..64 printable ASCII characters)");
    expect(reason({ productId: "x".repeat(65) })).toBe("productId: must be at most 64 characters, got 65");
    expect(reason({ productId: "job\n1" })).toBe("productId: character 3 (U+000A) is not printable ASCII (0x20..0x7E)");
    expect(reason({ productId: "jöb" })).toBe("productId: character 1 (U+00F6) is not printable ASCII (0x20..0x7E)");
    expect(reason({ kind: "" })).toBe("kind: must not be empty (1..128 printable ASCII characters)");
    expect(reason({ kind: "k".repeat(129) })).toBe("kind: must be at most 128 characters, got 129");
    expect(reason({ kind: "a\u0000b" })).toBe("kind: character 1 (U+0000) is not printable ASCII (0x20..0x7E)");
    expect(reason({ data: new Uint8Array(0) })).toBe("data: is empty; a product has 1..1048576 octets");
    expect(reason({ data: new Uint8Array(MAX_PRODUCT_OCTETS + 1) })).toBe("data: 1048577 octets, more than 1048576 (1 MiB)");
    expect(() => encodeProductSegments(0, product(bytes(1, 1)))).toThrow(/productNumber: 0 is not an integer/);
  });
});

describe("reassembly on the ground", () => {
  const sizes = fc.oneof(
    fc.integer({ min: 1, max: 200 * 1024 }),
    fc.integer({ min: 1, max: 200 }).map((k) => k * PRODUCT_SEGMENT_OCTETS), // exact multiples of the segment size
    fc.integer({ min: 1, max: 200 }).map((k) => k * PRODUCT_SEGMENT_OCTETS + 1),
    fc.integer({ min: 1, max: 200 }).map((k) => k * PRODUCT_SEGMENT_OCTETS - 1),
  );

  it("gives back the exact bytes, whatever the size, order and repeats (property)", () => {
    fc.assert(
      fc.property(sizes, sizes, fc.integer(), fc.integer(), fc.integer({ min: 0, max: 0xffffffff }), (sizeA, sizeB, seedA, seedB, shuffleSeed) => {
        const a = bytes(sizeA, seedA);
        const b = bytes(sizeB, seedB);
        const packets = [...tmPackets(encodeProductSegments(1, product(a))), ...tmPackets(encodeProductSegments(2, product(b, { productId: "other" })), 5000)];
        // At-least-once delivery in any order: shuffle, and send some packets twice.
        const rnd = bytes(packets.length * 2, shuffleSeed);
        const received = [...packets, ...packets.filter((_, i) => rnd[i]! < 40)];
        for (let i = received.length - 1; i > 0; i--) {
          const j = (rnd[i % rnd.length]! * 257 + i) % (i + 1);
          [received[i], received[j]] = [received[j]!, received[i]!];
        }
        const r = reassembleProducts(received);
        expect(r.incomplete).toEqual([]);
        expect(r.corrupt).toEqual([]);
        expect(r.invalid).toEqual([]);
        expect(r.products.map((p) => p.productNumber)).toEqual([1, 2]);
        expect(Buffer.compare(r.products[0]!.data, a)).toBe(0);
        expect(Buffer.compare(r.products[1]!.data, b)).toBe(0);
        expect(r.products[0]!.segments).toBe(Math.ceil(sizeA / 1024));
        expect(r.products[1]!.productId).toBe("other");
        expect(r.duplicates).toBe(received.length - packets.length);
      }),
      { numRuns: 60 },
    );
  });

  it("reports a missing segment, a corrupted one and a conflicting repeat; ignores other TM", () => {
    const data = bytes(5000, 9);
    const packets = tmPackets(encodeProductSegments(3, product(data)));
    const hk = encodeTm({ apid: APID, sequenceCount: 0, timeRefStatus: 0, service: 3, subtype: 25, messageTypeCounter: 0, destinationId: 0, time: taiNsToCuc(T0), appData: new Uint8Array(4) });

    const missing = reassembleProducts([packets[0]!, packets[1]!, packets[3]!, hk, new Uint8Array([1, 2, 3])]);
    expect(missing.products).toEqual([]);
    expect(missing.incomplete).toEqual([{ apid: APID, productNumber: 3, segments: 5, received: 3, missing: [3, 5], source: "jobs", productId: "job-42/summary", kind: "umbra.jobs.v1.JobSummaryProduct" }]);
    expect(missing.ignored).toBe(1);
    expect(missing.invalid).toHaveLength(1);

    // The same bytes with a flipped bit inside a segment (and a valid TM CRC): the product CRC catches it.
    const tampered = encodeProductSegments(3, product(data)).map((s, i) => {
      if (i !== 2) return s;
      const app = Buffer.from(s.appData);
      app[100] = app[100]! ^ 0x01;
      return { ...s, appData: app };
    });
    const bad = reassembleProducts(tmPackets(tampered));
    expect(bad.products).toEqual([]);
    expect(bad.corrupt[0]?.reason).toMatch(/^CRC-32 of the data is 0x[0-9A-F]{8}, the first segment says 0x/);

    const conflicting = new ProductReassembler();
    for (const p of packets) conflicting.add(p);
    expect(conflicting.report().products).toHaveLength(1);
    expect(conflicting.add(packets[2]!)).toBe("duplicate");
    expect(conflicting.add(tmPackets(tampered)[2]!)).toBe("corrupt");
    expect(conflicting.report().corrupt[0]?.reason).toMatch(/segment 3 arrived again, different/);

    // Only one APID when asked.
    const other = reassembleProducts(tmPackets(encodeProductSegments(3, product(data)), 0, 0x020), { apid: APID });
    expect(other.products).toEqual([]);
    expect(other.ignored).toBe(5);
  });
});

describe("DownlinkQueue.enqueueAll (a product's segments, all or none)", () => {
  const dir = tempDir();
  const queueOf = (budgetBytes: number) => new DownlinkQueue(openTtcDatabase(join(dir(), "ttc.db")), { budgetBytes });
  const batch = (tags: number[], size = 100) => tags.map((t) => ({ packet: pkt(t, size), options: meta("bulk", { service: 13, subtype: 2 }) }));

  it("queues the whole batch in order, in one transaction", () => {
    const q = queueOf(10_000);
    q.enqueue(pkt(1), meta("housekeeping"));
    const r = q.enqueueAll(batch([10, 11, 12]));
    expect(r.ids).toHaveLength(3);
    expect(r.bytes).toBe(300);
    expect(r.dropped).toEqual([]);
    expect(q.list().map((p) => [p.priority, p.service])).toEqual([["housekeeping", 3], ["bulk", 13], ["bulk", 13], ["bulk", 13]]);
    expect(q.stats().classes.bulk.enqueuedPackets).toBe(3);
  });

  it("drops the oldest older bulk packets to make room, never higher classes", () => {
    const q = queueOf(1_000);
    q.enqueue(pkt(1), meta("housekeeping"));
    for (const t of [2, 3, 4]) q.enqueue(pkt(t), meta("bulk"));
    const r = q.enqueueAll(batch([10, 11, 12, 13, 14, 15, 16, 17]));
    expect(r.dropped.map((d) => d.priority)).toEqual(["bulk", "bulk"]);
    expect(q.stats().residentBytes).toBeLessThanOrEqual(1_000);
    expect(q.list().length).toBe(1 + 1 + 8);
    expect(q.list()[0]?.priority).toBe("housekeeping");
  });

  it("refuses a batch the rule could only admit in part, and changes nothing", () => {
    const q = queueOf(1_000);
    for (const t of [1, 2, 3, 4, 5, 6]) q.enqueue(pkt(t), meta("housekeeping"));
    q.enqueue(pkt(7), meta("bulk"));
    const before = { list: q.list().map((p) => p.id), stats: q.stats() };
    const err = (() => {
      try {
        q.enqueueAll(batch([10, 11, 12, 13, 14]));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DownlinkFullError);
    expect((err as DownlinkFullError).message).toBe("downlink queue full: 500 bytes do not fit; at most 400 of its 1000-byte budget can be made free (the rest is held by higher classes or in flight)");
    expect(q.list().map((p) => p.id)).toEqual(before.list);
    expect(q.stats()).toEqual(before.stats);
    // Bigger than the whole budget: refused the same way.
    expect(() => q.enqueueAll(batch([20], 1_001))).toThrow(DownlinkFullError);
    // In-flight packets count against the budget and are never dropped.
    const q2 = queueOf(1_000);
    q2.enqueueAll(batch([1, 2, 3, 4, 5, 6]));
    expect(q2.takeNext(10_000)?.packets).toHaveLength(6);
    expect(() => q2.enqueueAll(batch([7, 8, 9, 10, 11]))).toThrow(/at most 400 of its 1000-byte budget/);
    expect(q2.enqueueAll(batch([7, 8, 9, 10])).ids).toHaveLength(4);
  });

  it("validates every item first, naming it", () => {
    const q = queueOf(10_000);
    expect(() => q.enqueueAll([])).toThrow(new InvalidFieldError("items", "must not be empty"));
    expect(() => q.enqueueAll([...batch([1]), { packet: new Uint8Array(0), options: meta("bulk") }])).toThrow(/^items\[1\]\.packet: must not be empty/);
    expect(() => q.enqueueAll([{ packet: pkt(1), options: { ...meta("bulk"), priority: "urgent" as never } }])).toThrow(/^items\[0\]\.priority/);
    expect(q.list()).toEqual([]);
  });
});
