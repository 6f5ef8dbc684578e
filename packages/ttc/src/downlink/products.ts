// Data products (a job's summary, a science file) downlinked as TM segments,
// PUS ST[13] large packet transfer in spirit. Pure: the checks of a product
// request, the segment codec and the ground-side reassembler. No SQLite, no
// bus: ProductStore (product-store.ts) queues the segments, the TTC wires it.
//
// A product of L octets (1..1,048,576) becomes N = ceil(L / 1024) segments,
// numbered 1..N; segment k carries octets (k-1)*1024 .. min(k*1024, L)-1.
// Each segment is one PUS-C TM packet at the TTC's APID, service 13:
//
//   subtype 1  first segment (segment 1; also the only one when N = 1)
//   subtype 2  intermediate segment (1 < k < N)
//   subtype 3  last segment (k = N, N >= 2)
//
// Application data (integers big-endian; "name" = u8 length + ASCII):
//
//   every segment:  product number u32 (1..2^32-1), segment number u16 (1..N),
//                   segment count N u16 (1..65535)
//   first segment:  then product length L u32 (1..1,048,576),
//                   CRC-32 of the whole product u32 (ISO-HDLC, as zlib.crc32),
//                   source (name, 1..64, a bus node name),
//                   product id (name, 1..64, printable ASCII 0x20..0x7E),
//                   kind (name, 1..128, printable ASCII)
//   every segment:  then the segment's data, 1..1024 octets, to the end
//
// Decoders are canonical and never throw: they accept exactly what the
// encoder writes (right subtype for the position, N = ceil(L / 1024) in the
// first segment, no empty segment).
import { crc32 } from "node:zlib";
import { decodeTm, type CucFormat } from "@umbra/ccsds";
import { Reader, SERVICE_NAME, Writer, fail } from "../telemetry/wire.js";
import type { Parsed, Refusal } from "../telemetry/wire.js";

export const PRODUCT_SERVICE = 13;
export const PRODUCT_SUBTYPE_FIRST = 1;
export const PRODUCT_SUBTYPE_INTERMEDIATE = 2;
export const PRODUCT_SUBTYPE_LAST = 3;
/** Data octets per segment (the last one carries the rest). The mission sets no TM size limit below CCSDS's; 1 KiB keeps each packet a small part of a pass. */
export const PRODUCT_SEGMENT_OCTETS = 1024;
/** Largest product: 1 MiB. */
export const MAX_PRODUCT_OCTETS = 1024 * 1024;
export const MAX_PRODUCT_ID_CHARS = 64;
export const MAX_PRODUCT_KIND_CHARS = 128;
const MAX_PRODUCT_NUMBER = 0xffffffff;

/** What a service asks to downlink (umbra.ttc.v1.QueueProduct). */
export interface ProductRequest {
  /** The producing service: a bus node name. */
  readonly source: string;
  /** Unique per source: 1..64 printable ASCII characters. */
  readonly productId: string;
  /** What the data is, e.g. "umbra.jobs.v1.JobSummaryProduct": 1..128 printable ASCII characters. */
  readonly kind: string;
  /** 1 octet .. 1 MiB. */
  readonly data: Uint8Array;
}

/** One segment's subtype and application data, ready to go into a TM packet. */
export interface ProductSegmentData {
  readonly subtype: 1 | 2 | 3;
  readonly appData: Uint8Array;
}

/** A decoded segment. `first` is present exactly in segment 1. */
export interface ProductSegment {
  readonly subtype: 1 | 2 | 3;
  readonly productNumber: number;
  /** 1..segments. */
  readonly segment: number;
  readonly segments: number;
  readonly first?: {
    readonly length: number;
    readonly crc32: number;
    readonly source: string;
    readonly productId: string;
    readonly kind: string;
  };
  readonly data: Uint8Array;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

function printableRefusal(field: string, value: unknown, max: number): Refusal | undefined {
  if (typeof value !== "string") return fail(field, `must be a string, got ${typeof value}`);
  if (value.length === 0) return fail(field, `must not be empty (1..${max} printable ASCII characters)`);
  if (value.length > max) return fail(field, `must be at most ${max} characters, got ${value.length}`);
  if (!PRINTABLE.test(value)) {
    const i = [...value].findIndex((c) => !PRINTABLE.test(c));
    const code = value.codePointAt(i) ?? 0;
    return fail(field, `character ${i} (U+${code.toString(16).toUpperCase().padStart(4, "0")}) is not printable ASCII (0x20..0x7E)`);
  }
  return undefined;
}

/**
 * Checks a product request; the first refusal names the field (`source`,
 * `productId`, `kind`, `data`). Undefined when it is good.
 */
export function checkProductRequest(request: unknown): Refusal | undefined {
  if (typeof request !== "object" || request === null) return fail("request", "must be an object");
  const r = request as Record<string, unknown>;
  const source = r["source"];
  if (typeof source !== "string" || !SERVICE_NAME.test(source)) {
    const shown = typeof source === "string" ? JSON.stringify(source.slice(0, 80)) : typeof source;
    return fail("source", `${shown} is not a service name (1..64 of A-Z a-z 0-9 _ . : -, starting with a letter or digit)`);
  }
  const id = printableRefusal("productId", r["productId"], MAX_PRODUCT_ID_CHARS);
  if (id) return id;
  const kind = printableRefusal("kind", r["kind"], MAX_PRODUCT_KIND_CHARS);
  if (kind) return kind;
  const data = r["data"];
  if (!(data instanceof Uint8Array)) return fail("data", "must be bytes");
  if (data.length === 0) return fail("data", `is empty; a product has 1..${MAX_PRODUCT_OCTETS} octets`);
  if (data.length > MAX_PRODUCT_OCTETS) return fail("data", `${data.length} octets, more than ${MAX_PRODUCT_OCTETS} (1 MiB)`);
  return undefined;
}

/** Segments a product of `length` octets becomes. */
export function productSegmentCount(length: number): number {
  return Math.ceil(length / PRODUCT_SEGMENT_OCTETS);
}

/** CRC-32 (ISO-HDLC: reflected 0x04C11DB7, preset and final XOR 0xFFFFFFFF; Python's zlib.crc32) of a product. */
export function productCrc32(data: Uint8Array): number {
  return crc32(data) >>> 0;
}

function subtypeOf(segment: number, segments: number): 1 | 2 | 3 {
  if (segment === 1) return PRODUCT_SUBTYPE_FIRST;
  return segment === segments ? PRODUCT_SUBTYPE_LAST : PRODUCT_SUBTYPE_INTERMEDIATE;
}

/**
 * The application data of every segment of a product, in order. Throws a
 * RangeError naming the field when the request does not pass
 * {@link checkProductRequest} or the product number is not 1..2^32-1.
 */
export function encodeProductSegments(productNumber: number, product: ProductRequest): ProductSegmentData[] {
  const refusal = checkProductRequest(product);
  if (refusal) throw new RangeError(`${refusal.field}: ${refusal.reason}`);
  if (!Number.isInteger(productNumber) || productNumber < 1 || productNumber > MAX_PRODUCT_NUMBER) {
    throw new RangeError(`productNumber: ${String(productNumber)} is not an integer in 1..${MAX_PRODUCT_NUMBER}`);
  }
  const { data } = product;
  const segments = productSegmentCount(data.length);
  const out: ProductSegmentData[] = [];
  for (let k = 1; k <= segments; k++) {
    const w = new Writer().u32("productNumber", productNumber).u16("segment", k).u16("segments", segments);
    if (k === 1) {
      w.u32("length", data.length)
        .u32("crc32", productCrc32(data))
        .u8("source", product.source.length)
        .raw(Buffer.from(product.source, "latin1"))
        .u8("productId", product.productId.length)
        .raw(Buffer.from(product.productId, "latin1"))
        .u8("kind", product.kind.length)
        .raw(Buffer.from(product.kind, "latin1"));
    }
    w.raw(data.subarray((k - 1) * PRODUCT_SEGMENT_OCTETS, Math.min(k * PRODUCT_SEGMENT_OCTETS, data.length)));
    out.push({ subtype: subtypeOf(k, segments), appData: w.bytes() });
  }
  return out;
}

function readPrintable(r: Reader, field: string, max: number, pattern: RegExp): Parsed<string> {
  const n = r.u8();
  if (n === undefined) return fail(field, "missing");
  if (n === 0 || n > max) return fail(field, `length ${n} is not 1..${max}`);
  const b = r.bytes(n);
  if (b === undefined) return fail(field, `${n} octets run past the end`);
  const s = Buffer.from(b).toString("latin1");
  if (!pattern.test(s)) return fail(field, "not valid here (characters outside the allowed set)");
  return { ok: true, value: s };
}

/** Decodes the application data of an ST[13] segment of the given subtype. Never throws. */
export function decodeProductSegment(subtype: number, appData: Uint8Array): Parsed<ProductSegment> {
  if (subtype !== 1 && subtype !== 2 && subtype !== 3) return fail("subtype", `${subtype} is not 1, 2 or 3`);
  const r = new Reader(appData);
  const productNumber = r.u32();
  const segment = r.u16();
  const segments = r.u16();
  if (productNumber === undefined) return fail("productNumber", "missing");
  if (segment === undefined) return fail("segment", "missing");
  if (segments === undefined) return fail("segments", "missing");
  if (productNumber === 0) return fail("productNumber", "0 is not a product number");
  if (segments === 0) return fail("segments", "0 segments");
  if (segment === 0 || segment > segments) return fail("segment", `${segment} is not 1..${segments}`);
  if (subtypeOf(segment, segments) !== subtype) return fail("subtype", `segment ${segment} of ${segments} is subtype ${subtypeOf(segment, segments)}, not ${subtype}`);
  let first: ProductSegment["first"];
  if (segment === 1) {
    const length = r.u32();
    const crc = r.u32();
    if (length === undefined) return fail("length", "missing");
    if (crc === undefined) return fail("crc32", "missing");
    if (length === 0 || length > MAX_PRODUCT_OCTETS) return fail("length", `${length} is not 1..${MAX_PRODUCT_OCTETS}`);
    if (productSegmentCount(length) !== segments) return fail("segments", `a product of ${length} octets has ${productSegmentCount(length)} segments, not ${segments}`);
    const source = readPrintable(r, "source", 64, SERVICE_NAME);
    if (!source.ok) return source;
    const productId = readPrintable(r, "productId", MAX_PRODUCT_ID_CHARS, PRINTABLE);
    if (!productId.ok) return productId;
    const kind = readPrintable(r, "kind", MAX_PRODUCT_KIND_CHARS, PRINTABLE);
    if (!kind.ok) return kind;
    first = { length, crc32: crc, source: source.value, productId: productId.value, kind: kind.value };
  }
  if (r.left === 0) return fail("data", "empty segment");
  if (r.left > PRODUCT_SEGMENT_OCTETS) return fail("data", `${r.left} octets, more than ${PRODUCT_SEGMENT_OCTETS}`);
  if (segment < segments && r.left !== PRODUCT_SEGMENT_OCTETS) return fail("data", `segment ${segment} of ${segments} has ${r.left} octets, not ${PRODUCT_SEGMENT_OCTETS}`);
  const data = Uint8Array.from(r.bytes(r.left)!);
  return { ok: true, value: first ? { subtype, productNumber, segment, segments, first, data } : { subtype, productNumber, segment, segments, data } };
}

// ---- ground side: reassembly ----------------------------------------------------

/** A product whose every segment arrived, with its length and CRC-32 checked. */
export interface ReassembledProduct {
  readonly apid: number;
  readonly productNumber: number;
  readonly source: string;
  readonly productId: string;
  readonly kind: string;
  readonly crc32: number;
  readonly segments: number;
  readonly data: Uint8Array;
}

/** A product still missing segments. */
export interface IncompleteProduct {
  readonly apid: number;
  readonly productNumber: number;
  readonly segments: number;
  readonly received: number;
  /** Segment numbers not received yet, ascending. */
  readonly missing: readonly number[];
  /** From the first segment, once it arrived. */
  readonly source?: string;
  readonly productId?: string;
  readonly kind?: string;
}

/** A product that cannot be rebuilt: its segments disagree, or the data fails the length or CRC check. */
export interface CorruptProduct {
  readonly apid: number;
  readonly productNumber: number;
  readonly reason: string;
}

export interface ReassemblyReport {
  /** In (APID, product number) order. */
  readonly products: readonly ReassembledProduct[];
  readonly incomplete: readonly IncompleteProduct[];
  readonly corrupt: readonly CorruptProduct[];
  /** Byte-identical repeats of a segment already held (delivery is at least once). */
  readonly duplicates: number;
  /** Packets that are not ST[13] TM (or not of the APID asked for). */
  readonly ignored: number;
  /** Packets that do not decode as TM, or ST[13] packets whose application data does not decode. */
  readonly invalid: readonly { readonly index: number; readonly reason: string }[];
}

export interface ReassemblerOptions {
  /** The TM time format (TtcOptions.timeFormat); default CUC 4 + 2 octets. */
  readonly timeFormat?: CucFormat;
  /** Only segments from this APID (default: every APID; products are keyed by APID and number). */
  readonly apid?: number;
}

export type SegmentOutcome = "segment" | "complete" | "duplicate" | "corrupt" | "ignored" | "invalid";

interface Pending {
  apid: number;
  productNumber: number;
  segments: number;
  parts: Map<number, Uint8Array>;
  first?: NonNullable<ProductSegment["first"]>;
  /** Set once a conflict is seen: the product is given up. */
  corrupt?: string;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

/**
 * Rebuilds products from TM packets, in any order and with repeats, as the
 * ground receives them. Feed packets with {@link add}; {@link report} says
 * what is complete (length and CRC-32 checked), what is missing, and what
 * is corrupt. Products are keyed by (APID, product number).
 */
export class ProductReassembler {
  readonly #options: ReassemblerOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #done = new Map<string, ReassembledProduct>();
  readonly #corrupt = new Map<string, CorruptProduct>();
  #duplicates = 0;
  #ignored = 0;
  #count = 0;
  readonly #invalid: { index: number; reason: string }[] = [];

  constructor(options: ReassemblerOptions = {}) {
    this.#options = options;
  }

  /** One whole TM packet. Says what became of it. */
  add(packet: Uint8Array): SegmentOutcome {
    const index = this.#count++;
    const tm = decodeTm(packet, this.#options.timeFormat === undefined ? {} : { timeFormat: this.#options.timeFormat });
    if (!tm.ok) {
      this.#invalid.push({ index, reason: `${tm.error.field}: ${tm.error.reason}` });
      return "invalid";
    }
    const { apid, service, subtype, appData } = tm.value;
    if (service !== PRODUCT_SERVICE || (this.#options.apid !== undefined && apid !== this.#options.apid)) {
      this.#ignored++;
      return "ignored";
    }
    const seg = decodeProductSegment(subtype, appData);
    if (!seg.ok) {
      this.#invalid.push({ index, reason: `(13,${subtype}) ${seg.field}: ${seg.reason}` });
      return "invalid";
    }
    return this.addSegment(apid, seg.value);
  }

  /** A segment already decoded (from {@link decodeProductSegment}), from `apid`. */
  addSegment(apid: number, seg: ProductSegment): SegmentOutcome {
    const key = `${apid}/${seg.productNumber}`;
    if (this.#corrupt.has(key)) return "corrupt";
    const done = this.#done.get(key);
    if (done) {
      const at = (seg.segment - 1) * PRODUCT_SEGMENT_OCTETS;
      const same =
        seg.segments === done.segments &&
        sameBytes(seg.data, done.data.subarray(at, at + seg.data.length)) &&
        (seg.segment < done.segments || at + seg.data.length === done.data.length) &&
        (seg.segment !== 1 || sameFirst(seg.first, { length: done.data.length, crc32: done.crc32, source: done.source, productId: done.productId, kind: done.kind }));
      if (same) {
        this.#duplicates++;
        return "duplicate";
      }
      this.#done.delete(key);
      this.#corrupt.set(key, { apid, productNumber: seg.productNumber, reason: `segment ${seg.segment} arrived again, different from the one the product was built from` });
      return "corrupt";
    }
    let p = this.#pending.get(key);
    if (!p) {
      p = { apid, productNumber: seg.productNumber, segments: seg.segments, parts: new Map() };
      this.#pending.set(key, p);
    }
    if (seg.segments !== p.segments) return this.#giveUp(key, p, `segment ${seg.segment} says ${seg.segments} segments, an earlier one said ${p.segments}`);
    const held = p.parts.get(seg.segment);
    if (held) {
      if (sameBytes(held, seg.data) && (seg.segment !== 1 || sameFirst(p.first, seg.first))) {
        this.#duplicates++;
        return "duplicate";
      }
      return this.#giveUp(key, p, `segment ${seg.segment} arrived twice with different contents`);
    }
    p.parts.set(seg.segment, seg.data);
    if (seg.first) p.first = seg.first;
    if (p.parts.size < p.segments) return "segment";
    // All there: rebuild, and check against the first segment's length and CRC.
    const first = p.first!;
    const data = Buffer.concat([...Array(p.segments).keys()].map((i) => p.parts.get(i + 1)!));
    if (data.length !== first.length) return this.#giveUp(key, p, `segments hold ${data.length} octets, the first segment says ${first.length}`);
    const crc = productCrc32(data);
    if (crc !== first.crc32) return this.#giveUp(key, p, `CRC-32 of the data is 0x${hex8(crc)}, the first segment says 0x${hex8(first.crc32)}`);
    this.#pending.delete(key);
    this.#done.set(key, {
      apid,
      productNumber: p.productNumber,
      source: first.source,
      productId: first.productId,
      kind: first.kind,
      crc32: crc,
      segments: p.segments,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    });
    return "complete";
  }

  report(): ReassemblyReport {
    const order = <T extends { apid: number; productNumber: number }>(xs: Iterable<T>): T[] =>
      [...xs].sort((a, b) => a.apid - b.apid || a.productNumber - b.productNumber);
    const incomplete = order(this.#pending.values()).map((p): IncompleteProduct => {
      const missing: number[] = [];
      for (let k = 1; k <= p.segments; k++) if (!p.parts.has(k)) missing.push(k);
      const base = { apid: p.apid, productNumber: p.productNumber, segments: p.segments, received: p.parts.size, missing };
      return p.first ? { ...base, source: p.first.source, productId: p.first.productId, kind: p.first.kind } : base;
    });
    return {
      products: order(this.#done.values()),
      incomplete,
      corrupt: order(this.#corrupt.values()),
      duplicates: this.#duplicates,
      ignored: this.#ignored,
      invalid: [...this.#invalid],
    };
  }

  #giveUp(key: string, p: Pending, reason: string): "corrupt" {
    this.#pending.delete(key);
    this.#corrupt.set(key, { apid: p.apid, productNumber: p.productNumber, reason });
    return "corrupt";
  }
}

function sameFirst(a: ProductSegment["first"], b: ProductSegment["first"]): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.crc32 === b.crc32 && a.source === b.source && a.productId === b.productId && a.kind === b.kind;
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, "0");
}

/** Rebuilds every product in a set of TM packets (any order, repeats allowed, other TM ignored). */
export function reassembleProducts(packets: Iterable<Uint8Array>, options: ReassemblerOptions = {}): ReassemblyReport {
  const r = new ProductReassembler(options);
  for (const p of packets) r.add(p);
  return r.report();
}
