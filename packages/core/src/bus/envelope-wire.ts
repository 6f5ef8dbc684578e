// The Envelope in protobuf wire format, coded by hand. Every frame on the bus
// passes through here twice, and the generated code spends most of its time on
// Long objects and a class instance per message; this writes and reads the
// same bytes (proto3, fields 1..11 of umbra.bus.v1.Envelope, defaults omitted,
// unknown fields skipped) directly. envelope.test.ts checks it against the
// generated codec in both directions.

/** The envelope's fields as they travel. */
export interface WireEnvelope {
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

const U64_MAX = (1n << 64n) - 1n;

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

/** Decodes an envelope. Throws WireError on malformed bytes; never reads past the end. */
export function decodeWireEnvelope(bytes: Uint8Array): WireEnvelope {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  rBuf = buf;
  rPos = 0;
  rEnd = buf.length;
  const e: WireEnvelope = {
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
  };
  try {
    while (rPos < rEnd) {
      readVarint();
      if (rHi !== 0) throw new WireError(`tag too large at byte ${rPos}`);
      const field = rLo >>> 3;
      const wire = rLo & 7;
      if (field === 0) throw new WireError(`field number 0 at byte ${rPos}`);
      const expect = field === 3 || field === 4 || field === 5 || field === 6 || field === 8 ? 0 : field <= 11 ? 2 : -1;
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
        default:
          skipField(wire);
      }
    }
  } finally {
    rBuf = EMPTY; // hold no frame after returning
  }
  return e;
}

const EMPTY = Buffer.alloc(0);
