import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeTm, taiNsToCuc } from "@umbra/ccsds";
import { DownlinkFullError, DownlinkQueue, ProductStore, reassembleProducts, type ProductRequest, type ProductSegmentData } from "../../src/downlink/index.js";
import { InvalidFieldError } from "../../src/store/errors.js";
import { openTtcDatabase } from "../../src/store/database.js";
import { T0, meta, pkt, tempDir } from "./support.js";

const dir = tempDir();
const APID = 0x010;

function open(path: string, budgetBytes?: number) {
  const db = openTtcDatabase(path);
  const queue = new DownlinkQueue(db, budgetBytes === undefined ? {} : { budgetBytes });
  return { db, queue, products: new ProductStore(queue) };
}

const build = (_n: number, segments: readonly ProductSegmentData[]) =>
  segments.map((s, i) => encodeTm({ apid: APID, sequenceCount: i, timeRefStatus: 0, service: 13, subtype: s.subtype, messageTypeCounter: i, destinationId: 0, time: taiNsToCuc(T0), appData: s.appData }));

const req = (productId: string, size: number, over: Partial<ProductRequest> = {}): ProductRequest => ({
  source: "jobs",
  productId,
  kind: "umbra.jobs.v1.JobSummaryProduct",
  data: new Uint8Array(size).map((_, i) => (i * 31 + productId.length) & 0xff),
  ...over,
});

describe("ProductStore", () => {
  it("numbers products, queues their segments as bulk, and answers a repeat with the first result, across reopening", () => {
    const path = join(dir(), "ttc.db");
    let s = open(path);
    const a = s.products.queue(req("a", 2500), { nowNs: T0, apid: APID, build });
    expect(a).toMatchObject({ productNumber: 1, packets: 3, dataBytes: 2500, duplicate: false });
    expect(a.packetBytes).toBe(s.queue.list().reduce((n, p) => n + p.bytes, 0));
    const b = s.products.queue(req("b", 10), { nowNs: T0, apid: APID, build });
    expect(b.productNumber).toBe(2);
    const again = s.products.queue(req("a", 99, { kind: "something else" }), { nowNs: T0 + 5n, apid: APID, build });
    expect(again).toMatchObject({ productNumber: 1, packets: 3, packetBytes: a.packetBytes, dataBytes: 2500, duplicate: true, ids: [], dropped: [] });
    expect(s.queue.list()).toHaveLength(4);
    s.db.close();

    s = open(path);
    expect(s.products.queue(req("a", 1), { nowNs: T0, apid: APID, build })).toMatchObject({ productNumber: 1, duplicate: true });
    expect(s.products.get("jobs", "b")).toMatchObject({ productNumber: 2, packets: 1, dataBytes: 10, queuedNs: T0 });
    // The same id from another source is another product.
    expect(s.products.queue(req("a", 5, { source: "inference" }), { nowNs: T0, apid: APID, build })).toMatchObject({ productNumber: 3, duplicate: false });
    expect(reassembleProducts(s.queue.list().map((p) => p.packet)).products.map((p) => [p.productNumber, p.source, p.productId, p.data.length])).toEqual([
      [1, "jobs", "a", 2500],
      [2, "jobs", "b", 10],
      [3, "inference", "a", 5],
    ]);
    s.db.close();
  });

  it("writes nothing, and uses no product number, when it cannot queue all of a product", () => {
    const s = open(join(dir(), "ttc.db"), 4_000);
    for (let i = 0; i < 3; i++) s.queue.enqueue(pkt(i, 1_000), meta("housekeeping"));
    const before = s.queue.stats();
    expect(() => s.products.queue(req("big", 2_000), { nowNs: T0, apid: APID, build })).toThrow(DownlinkFullError);
    expect(() =>
      s.products.queue(req("boom", 10), {
        nowNs: T0,
        apid: APID,
        build: () => {
          throw new Error("encoder failed");
        },
      }),
    ).toThrow("encoder failed");
    expect(() => s.products.queue(req("", 10), { nowNs: T0, apid: APID, build })).toThrow(InvalidFieldError);
    expect(s.queue.stats()).toEqual(before);
    expect(s.products.get("jobs", "big")).toBeUndefined();
    expect(s.products.get("jobs", "boom")).toBeUndefined();
    expect(s.products.queue(req("small", 10), { nowNs: T0, apid: APID, build }).productNumber).toBe(1);
    s.db.close();
  });
});
