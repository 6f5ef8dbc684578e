import { InvalidFieldError } from "../store/errors.js";
import * as v from "../store/validate.js";
import type { DownlinkDatabase } from "./database.js";
import { checkProductRequest, encodeProductSegments, productCrc32, PRODUCT_SERVICE, type ProductRequest, type ProductSegmentData } from "./products.js";
import type { DownlinkQueue, DroppedPacket } from "./queue.js";

/** What the first request for a (source, product id) was answered. */
export interface ProductRecord {
  /** The number the TM segments carry: 1, 2, 3, ... per database, never reused. */
  readonly productNumber: number;
  readonly source: string;
  readonly productId: string;
  readonly kind: string;
  /** Octets of the product itself. */
  readonly dataBytes: number;
  readonly crc32: number;
  /** TM packets (segments) it became. */
  readonly packets: number;
  /** Their total size, headers included. */
  readonly packetBytes: number;
  readonly queuedNs: bigint;
}

export interface ProductQueueResult extends ProductRecord {
  /** True when (source, product id) was queued before: nothing was queued now, and the rest is the first answer. */
  readonly duplicate: boolean;
  /** Older packets the queue's overflow rule dropped to make room (empty for a duplicate). */
  readonly dropped: readonly DroppedPacket[];
  /** Queue ids of the segments, in order (empty for a duplicate). */
  readonly ids: readonly number[];
}

export interface ProductQueueOptions {
  /** Mission time (TAI ns): the segments' generation time and the record's. */
  readonly nowNs: bigint;
  /** APID the segments are queued under (the TTC's). */
  readonly apid: number;
  /**
   * Wraps each segment's application data in a whole TM packet (service 13,
   * the segment's subtype), in order. Called inside the transaction, once,
   * only for a product that is not a duplicate; if it throws, nothing is written.
   */
  readonly build: (productNumber: number, segments: readonly ProductSegmentData[]) => readonly Uint8Array[];
}

interface ProductRow {
  number: bigint;
  source: string;
  product_id: string;
  kind: string;
  data_bytes: bigint;
  crc32: bigint;
  packets: bigint;
  packet_bytes: bigint;
  queued_ns: bigint;
}

function toRecord(row: ProductRow): ProductRecord {
  return {
    productNumber: Number(row.number),
    source: row.source,
    productId: row.product_id,
    kind: row.kind,
    dataBytes: Number(row.data_bytes),
    crc32: Number(row.crc32),
    packets: Number(row.packets),
    packetBytes: Number(row.packet_bytes),
    queuedNs: row.queued_ns,
  };
}

/**
 * Data products for downlink (ST[13] in spirit), on the downlink queue's own
 * database: one `downlink_product` row per (source, product id), which makes
 * queueing idempotent across restarts, and which numbers the products.
 *
 * {@link queue} does it all in ONE IMMEDIATE transaction: the record, the
 * product number, and every segment in the queue at class `bulk`
 * ({@link DownlinkQueue.enqueueAll}, all or none). When it returns, all of it
 * is on disk; when it throws, nothing was written.
 */
export class ProductStore {
  readonly #db: DownlinkDatabase;
  readonly #queue: DownlinkQueue;
  readonly #get;
  readonly #insert;
  readonly #finish;

  constructor(queue: DownlinkQueue) {
    this.#queue = queue;
    this.#db = queue.database; // its schema (version 2 and up) holds downlink_product
    this.#get = this.#db.prepare(`SELECT * FROM downlink_product WHERE source = ? AND product_id = ?`).safeIntegers(true);
    this.#insert = this.#db.prepare(
      `INSERT INTO downlink_product (source, product_id, kind, data_bytes, crc32, packets, packet_bytes, queued_ns)
       VALUES (?, ?, ?, ?, ?, 0, 0, ?)`,
    );
    this.#finish = this.#db.prepare(`UPDATE downlink_product SET packets = ?, packet_bytes = ? WHERE number = ?`);
  }

  /** The record of a product queued before, or undefined. */
  get(source: string, productId: string): ProductRecord | undefined {
    const row = this.#get.get(source, productId) as ProductRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /**
   * Queues a product's segments, or answers a repeat with the first result.
   *
   * - Bad input (see checkProductRequest): InvalidFieldError naming the field
   *   (`source`, `productId`, `kind`, `data`); nothing written.
   * - (source, productId) already recorded: its first result with
   *   `duplicate: true`; nothing queued, whatever the kind and data say now.
   * - The queue cannot take the whole product under its overflow rule:
   *   DownlinkFullError; nothing written, no number used.
   */
  queue(request: ProductRequest, options: ProductQueueOptions): ProductQueueResult {
    const refusal = checkProductRequest(request);
    if (refusal) throw new InvalidFieldError(refusal.field, refusal.reason);
    const nowNs = v.timeNs("nowNs", options.nowNs);
    const apid = v.apid("apid", options.apid);
    const { source, productId, kind, data } = request;
    const crc = productCrc32(data);
    return this.#db
      .transaction((): ProductQueueResult => {
        const existing = this.#get.get(source, productId) as ProductRow | undefined;
        if (existing !== undefined) return { ...toRecord(existing), duplicate: true, dropped: [], ids: [] };
        const productNumber = Number(this.#insert.run(source, productId, kind, data.length, crc, nowNs).lastInsertRowid);
        const segments = encodeProductSegments(productNumber, request);
        const packets = options.build(productNumber, segments);
        if (packets.length !== segments.length) throw new Error(`build returned ${packets.length} packets for ${segments.length} segments`);
        const queued = this.#queue.enqueueAll(
          packets.map((packet, i) => ({
            packet,
            options: { priority: "bulk", generatedNs: nowNs, apid, service: PRODUCT_SERVICE, subtype: segments[i]!.subtype },
          })),
        );
        this.#finish.run(packets.length, queued.bytes, productNumber);
        return {
          productNumber,
          source,
          productId,
          kind,
          dataBytes: data.length,
          crc32: crc,
          packets: packets.length,
          packetBytes: queued.bytes,
          queuedNs: nowNs,
          duplicate: false,
          dropped: queued.dropped,
          ids: queued.ids,
        };
      })
      .immediate();
  }
}
