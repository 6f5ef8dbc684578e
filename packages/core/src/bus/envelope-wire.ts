// The Envelope in protobuf wire format, coded by hand. Every frame on the bus
// passes through here twice, and the generated code spends most of its time on
// Long objects and a class instance per message; this writes and reads the
// same bytes (proto3, fields 1..12 of umbra.bus.v1.Envelope, defaults omitted,
// unknown fields skipped) directly. envelope.test.ts checks it against the
// generated codec in both directions.

/** The envelope's single-message fields as they travel. */
export interface WireFields {
  topic: string;
  source: string;
  sequence: bigint;
  missionTimeNs: bigint;
  priority: number;
  kind: number;
  payload: Uint8Array;
  correlationId: bigint;
  replyTo: string;
  target: string;
  error: string;
}

/** An envelope to encode: field 12 as a list (absent or empty for a single message). */
export interface WireEnvelope extends WireFields {
  more?: readonly WireBatched[];
}

/** A decoded envelope: field 12 as places in the frame. */
export interface DecodedWireEnvelope extends WireFields {
  batch: WireBatch | undefined;
}

/** umbra.bus.v1.BatchedMessage: one further message of a batch envelope. */
export interface WireBatched {
  payload: Uint8Array;
  /** This message's mission time minus the previous message's (sint64; the decoder takes up to ±2^52). */
  timeDeltaNs: bigint;
}

/** Most further messages one batch envelope may carry (the sender's limit and the receiver's). */
export const MAX_BATCH_MESSAGES = 512;
/**
 * Largest time step between two messages of a batch, either way, and largest
 * span from the envelope's own time: 2^52 ns (52 days). Within it the sums
 * the receiver checks stay exact as doubles.
 */
export const MAX_BATCH_TIME_DELTA_NS = 2 ** 52;

/**
 * The further messages of a decoded batch, as places in the frame they
 * arrived in: no copy and no object per message until one is delivered.
 */
export class WireBatch {
  constructor(
    readonly bytes: Buffer,
    readonly count: number,
    /** Where message i's payload starts in `bytes`, and its length. */
    readonly offsets: Int32Array,
    readonly lengths: Int32Array,
    /** Message i's time minus message i-1's (message -1 being the envelope's own). Whole numbers. */
    readonly timeDeltasNs: Float64Array,
  ) {}

  /** Message i's payload, a view into the frame. */
  payload(i: number): Buffer {
    return this.bytes.subarray(this.offsets[i]!, this.offsets[i]! + this.lengths[i]!);
  }
}

const NONE: readonly WireBatched[] = [];
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function varintSize(lo: number, hi: number): number {
  if (hi === 0) {
    if (lo < 0x80) return 1;
    if (lo < 0x4000) return 2;
    if (lo < 0x200000) return 3;
    if (lo < 0x10000000) return 4;
    return 5;
  }
  // 32 bits in the low word, then 7 bits a byte for the rest.
  if (hi < 0x8) return 5;
  if (hi < 0x400) return 6;
  if (hi < 0x20000) return 7;
  if (hi < 0x1000000) return 8;
  if (hi < 0x80000000) return 9;
  return 10;
}

// split() leaves a uint64's two 32-bit halves here (no tuple per field per envelope).
let splitLo = 0;
let splitHi = 0;

function split(value: bigint, field: string): void {
  if (value < 0n || value > U64_MAX) throw new RangeError(`envelope ${field}: ${value} is not a uint64`);
  if (value <= 0xffffffffn) {
    splitLo = Number(value);
    splitHi = 0;
  } else {
    splitLo = Number(value & 0xffffffffn);
    splitHi = Number(value >> 32n);
  }
}

/** Leaves the zigzag encoding of an sint64 in splitLo/splitHi. */
function splitZigzag(value: bigint, field: string): void {
  if (value < I64_MIN || value > I64_MAX) throw new RangeError(`envelope ${field}: ${value} is not an sint64`);
  if (value >= -0x40000000n && value < 0x40000000n) {
    const n = Number(value);
    splitLo = ((n << 1) ^ (n >> 31)) >>> 0;
    splitHi = 0;
    return;
  }
  split(value < 0n ? ((-value - 1n) << 1n) | 1n : value << 1n, field);
}

/** Bytes of one BatchedMessage's fields (without its own tag and length). */
function batchedInnerSize(payloadLen: number, zzLo: number, zzHi: number): number {
  let size = 0;
  if (payloadLen) size += 1 + varintSize(payloadLen, 0) + payloadLen;
  if (zzLo || zzHi) size += 1 + varintSize(zzLo, zzHi);
  return size;
}

/** Bytes that appendBatched() writes for one further message of a batch. */
export function batchedMessageSize(payload: Uint8Array, timeDeltaNs: bigint): number {
  splitZigzag(timeDeltaNs, "more.time_delta_ns");
  const inner = batchedInnerSize(payload.length, splitLo, splitHi);
  return 1 + varintSize(inner, 0) + inner;
}

/**
 * Writes one further message of a batch (envelope field 12) at `pos` and
 * returns the position after it, or -1 (writing nothing) if it would pass
 * `end`. Field 12 may follow the envelope's other fields, so a batch is a
 * single message's envelope with these appended.
 */
export function appendBatched(buf: Buffer, pos: number, end: number, payload: Uint8Array, timeDeltaNs: bigint): number {
  splitZigzag(timeDeltaNs, "more.time_delta_ns");
  const zzLo = splitLo;
  const zzHi = splitHi;
  const payloadLen = payload.length;
  const inner = batchedInnerSize(payloadLen, zzLo, zzHi);
  if (pos + 1 + varintSize(inner, 0) + inner > end) return -1;
  buf[pos++] = 0x62;
  pos = writeSmallVarint(buf, pos, inner);
  if (payloadLen) {
    buf[pos++] = 0x0a;
    pos = writeSmallVarint(buf, pos, payloadLen);
    buf.set(payload, pos);
    pos += payloadLen;
  }
  if (zzLo || zzHi) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, zzLo, zzHi);
  }
  return pos;
}

function writeBytesField(buf: Buffer, pos: number, tag: number, b: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeSmallVarint(buf, pos, b.length);
  buf.set(b, pos);
  return pos + b.length;
}

function writeVarint(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi !== 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

function writeSmallVarint(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

// Topics and node names come from a small set and repeat in every envelope:
// their UTF-8 bytes are kept rather than measured and written each time.
const encodedNames = new Map<string, Buffer>();
const MAX_CACHED_NAMES = 4096;

function nameBytes(s: string): Buffer {
  let b = encodedNames.get(s);
  if (b === undefined) {
    b = Buffer.from(s, "utf8");
    if (encodedNames.size < MAX_CACHED_NAMES && s.length <= 256) encodedNames.set(s, b);
  }
  return b;
}

/** Encodes an envelope; throws RangeError for a value the wire cannot carry. */
export function encodeWireEnvelope(e: WireEnvelope): Buffer {
  const topic = nameBytes(e.topic);
  const source = nameBytes(e.source);
  const replyTo = e.replyTo ? nameBytes(e.replyTo) : EMPTY;
  const target = e.target ? nameBytes(e.target) : EMPTY;
  const topicLen = topic.length;
  const sourceLen = source.length;
  const replyLen = replyTo.length;
  const targetLen = target.length;
  const errorLen = e.error ? Buffer.byteLength(e.error) : 0;
  split(e.sequence, "sequence");
  const seqLo = splitLo;
  const seqHi = splitHi;
  split(e.missionTimeNs, "mission_time_ns");
  const timeLo = splitLo;
  const timeHi = splitHi;
  split(e.correlationId, "correlation_id");
  const corrLo = splitLo;
  const corrHi = splitHi;
  if (!Number.isInteger(e.priority) || e.priority < 0 || e.priority > 0x7fffffff) throw new RangeError(`envelope priority: ${e.priority}`);
  if (!Number.isInteger(e.kind) || e.kind < 0 || e.kind > 0x7fffffff) throw new RangeError(`envelope kind: ${e.kind}`);
  const payloadLen = e.payload.length;
  // Each present field: one tag byte (fields 1..15), a length or value.
  let size = 0;
  if (topicLen) size += 1 + varintSize(topicLen, 0) + topicLen;
  if (sourceLen) size += 1 + varintSize(sourceLen, 0) + sourceLen;
  if (seqLo || seqHi) size += 1 + varintSize(seqLo, seqHi);
  if (timeLo || timeHi) size += 1 + varintSize(timeLo, timeHi);
  if (e.priority) size += 1 + varintSize(e.priority, 0);
  if (e.kind) size += 1 + varintSize(e.kind, 0);
  if (payloadLen) size += 1 + varintSize(payloadLen, 0) + payloadLen;
  if (corrLo || corrHi) size += 1 + varintSize(corrLo, corrHi);
  if (replyLen) size += 1 + varintSize(replyLen, 0) + replyLen;
  if (targetLen) size += 1 + varintSize(targetLen, 0) + targetLen;
  if (errorLen) size += 1 + varintSize(errorLen, 0) + errorLen;
  const more = e.more ?? NONE;
  for (let i = 0; i < more.length; i++) size += batchedMessageSize(more[i]!.payload, more[i]!.timeDeltaNs);
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  if (topicLen) p = writeBytesField(buf, p, 0x0a, topic);
  if (sourceLen) p = writeBytesField(buf, p, 0x12, source);
  if (seqLo || seqHi) {
    buf[p++] = 0x18;
    p = writeVarint(buf, p, seqLo, seqHi);
  }
  if (timeLo || timeHi) {
    buf[p++] = 0x20;
    p = writeVarint(buf, p, timeLo, timeHi);
  }
  if (e.priority) {
    buf[p++] = 0x28;
    p = writeSmallVarint(buf, p, e.priority);
  }
  if (e.kind) {
    buf[p++] = 0x30;
    p = writeSmallVarint(buf, p, e.kind);
  }
  if (payloadLen) {
    buf[p++] = 0x3a;
    p = writeSmallVarint(buf, p, payloadLen);
    buf.set(e.payload, p);
    p += payloadLen;
  }
  if (corrLo || corrHi) {
    buf[p++] = 0x40;
    p = writeVarint(buf, p, corrLo, corrHi);
  }
  if (replyLen) p = writeBytesField(buf, p, 0x4a, replyTo);
  if (targetLen) p = writeBytesField(buf, p, 0x52, target);
  if (errorLen) {
    buf[p++] = 0x5a;
    p = writeSmallVarint(buf, p, errorLen);
    p += buf.write(e.error, p, errorLen, "utf8");
  }
  for (let i = 0; i < more.length; i++) p = appendBatched(buf, p, size, more[i]!.payload, more[i]!.timeDeltaNs);
  return buf;
}

/** Thrown by decodeWireEnvelope with the field or offset that was wrong. */
export class WireError extends Error {}

// The decoder's position and last varint, kept at module level rather than in
// closures made for every frame. decodeWireEnvelope runs to completion without
// calling out, so one set is enough.
let rBuf: Buffer = Buffer.alloc(0);
let rPos = 0;
let rEnd = 0;
let rLo = 0;
let rHi = 0;

/** Reads a varint into rLo/rHi (two uint32 halves). */
function readVarint(): void {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (rPos >= rEnd) throw new WireError(`truncated varint at byte ${rPos}`);
    const b = rBuf[rPos++]!;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x70) >> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    if ((b & 0x80) === 0) {
      rLo = lo >>> 0;
      rHi = hi >>> 0;
      return;
    }
    shift += 7;
  }
  throw new WireError(`varint longer than 10 bytes at byte ${rPos}`);
}

// readTag() leaves the field number and wire type here.
let tagField = 0;
let tagWire = 0;

/** Reads a field's tag (a varint of field number and wire type) into tagField/tagWire. */
function readTag(): void {
  readVarint();
  if (rHi !== 0) throw new WireError(`tag too large at byte ${rPos}`);
  tagField = rLo >>> 3;
  tagWire = rLo & 7;
  if (tagField === 0) throw new WireError(`field number 0 at byte ${rPos}`);
}

function readBig(): bigint {
  readVarint();
  return rHi === 0 ? BigInt(rLo) : (BigInt(rHi) << 32n) | BigInt(rLo);
}

function readLength(): number {
  readVarint();
  if (rHi !== 0 || rLo > rEnd - rPos) throw new WireError(`length ${rHi ? "(huge)" : rLo} at byte ${rPos} runs past the end (${rEnd} bytes)`);
  return rLo;
}

function skipField(wire: number): void {
  switch (wire) {
    case 0:
      readVarint();
      return;
    case 1:
      if (rEnd - rPos < 8) throw new WireError(`truncated fixed64 at byte ${rPos}`);
      rPos += 8;
      return;
    case 2: {
      const n = readLength(); // not `rPos += readLength()`: that would read rPos before readLength() moves it
      rPos += n;
      return;
    }
    case 5:
      if (rEnd - rPos < 4) throw new WireError(`truncated fixed32 at byte ${rPos}`);
      rPos += 4;
      return;
    default:
      throw new WireError(`unsupported wire type ${wire} at byte ${rPos}`);
  }
}

// Where the decoder gathers a batch's places before copying them out to the
// WireBatch (MAX_BATCH_MESSAGES of each: 8 KiB in all, made once).
const batchOffsets = new Int32Array(MAX_BATCH_MESSAGES);
const batchLengths = new Int32Array(MAX_BATCH_MESSAGES);
const batchDeltas = new Float64Array(MAX_BATCH_MESSAGES);
let batchCount = 0;

/** Reads one BatchedMessage (a length, then its fields) at rPos into the gathering arrays. */
function readBatched(): void {
  if (batchCount === MAX_BATCH_MESSAGES) throw new WireError(`a batch carries more than ${MAX_BATCH_MESSAGES} further messages`);
  const n = readLength();
  const outerEnd = rEnd;
  rEnd = rPos + n;
  let offset = rPos;
  let length = 0;
  let delta = 0;
  while (rPos < rEnd) {
    readTag();
    const field = tagField;
    const wire = tagWire;
    if (field === 1) {
      if (wire !== 2) throw new WireError(`more.payload has wire type ${wire}, expected 2`);
      length = readLength();
      offset = rPos;
      rPos += length;
    } else if (field === 2) {
      if (wire !== 0) throw new WireError(`more.time_delta_ns has wire type ${wire}, expected 0`);
      readVarint();
      // zigzag: 0, -1, 1, -2, ... from 0, 1, 2, 3, ...; below 2^53 it is exact as a double.
      if (rHi >= 0x200000) throw new WireError(`more.time_delta_ns at byte ${rPos} is beyond ±2^52`);
      const zz = rHi * 0x100000000 + rLo;
      delta = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
    } else skipField(wire);
  }
  rEnd = outerEnd;
  batchOffsets[batchCount] = offset;
  batchLengths[batchCount] = length;
  batchDeltas[batchCount] = delta;
  batchCount++;
}

/** Decodes an envelope. Throws WireError on malformed bytes; never reads past the end. */
export function decodeWireEnvelope(bytes: Uint8Array): DecodedWireEnvelope {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  rBuf = buf;
  rPos = 0;
  rEnd = buf.length;
  batchCount = 0;
  const e: DecodedWireEnvelope = {
    topic: "",
    source: "",
    sequence: 0n,
    missionTimeNs: 0n,
    priority: 0,
    kind: 0,
    payload: EMPTY,
    correlationId: 0n,
    replyTo: "",
    target: "",
    error: "",
    batch: undefined,
  };
  try {
    while (rPos < rEnd) {
      readTag();
      const field = tagField;
      const wire = tagWire;
      const expect = field === 3 || field === 4 || field === 5 || field === 6 || field === 8 ? 0 : field <= 12 ? 2 : -1;
      if (expect !== -1 && wire !== expect) throw new WireError(`field ${field} has wire type ${wire}, expected ${expect}`);
      switch (field) {
        case 1:
        case 2:
        case 9:
        case 10:
        case 11: {
          const n = readLength();
          // Topic, source and reply_to may only hold ASCII (the envelope checks
          // reject anything else), and latin1 decodes those bytes the same, faster.
          const s = buf.toString(field <= 2 || field === 9 ? "latin1" : "utf8", rPos, rPos + n);
          rPos += n;
          if (field === 1) e.topic = s;
          else if (field === 2) e.source = s;
          else if (field === 9) e.replyTo = s;
          else if (field === 10) e.target = s;
          else e.error = s;
          break;
        }
        case 3:
          e.sequence = readBig();
          break;
        case 4:
          e.missionTimeNs = readBig();
          break;
        case 5:
          readVarint();
          // An enum is an int32 on the wire: keep the low word as protobufjs does.
          e.priority = rLo | 0;
          break;
        case 6:
          readVarint();
          e.kind = rLo | 0;
          break;
        case 7: {
          const n = readLength();
          e.payload = buf.subarray(rPos, rPos + n);
          rPos += n;
          break;
        }
        case 8:
          e.correlationId = readBig();
          break;
        case 12:
          readBatched();
          break;
        default:
          skipField(wire);
      }
    }
    if (batchCount > 0) {
      e.batch = new WireBatch(buf, batchCount, batchOffsets.slice(0, batchCount), batchLengths.slice(0, batchCount), batchDeltas.slice(0, batchCount));
    }
  } finally {
    rBuf = EMPTY; // hold no frame after returning
  }
  return e;
}

const EMPTY = Buffer.alloc(0);
