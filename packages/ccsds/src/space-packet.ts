/**
 * CCSDS Space Packet Protocol (CCSDS 133.0-B-2): the 6-octet primary header
 * and the packet data field.
 *
 *   bits  0-2   packet version number (000)
 *   bit   3     packet type (0 telemetry, 1 telecommand)
 *   bit   4     secondary header flag
 *   bits  5-15  APID (2047 = idle packet)
 *   bits 16-17  sequence flags (00 continuation, 01 first, 10 last, 11 unsegmented)
 *   bits 18-31  packet sequence count (or, for TC, packet name)
 *   bits 32-47  packet data length = octets in the data field − 1
 *
 * The data field is 1..65536 octets, so a packet is 7..65542 octets.
 */
import {
  type DecodeResult,
  checkBool,
  checkBytes,
  checkInt,
  checkObject,
  checkUint,
  copyOf,
  fail,
  isBytes,
  ok,
  readU16,
  writeU16,
} from './result.js';

export const PRIMARY_HEADER_OCTETS = 6;
export const MIN_DATA_FIELD_OCTETS = 1;
export const MAX_DATA_FIELD_OCTETS = 65536;
export const MAX_PACKET_OCTETS = PRIMARY_HEADER_OCTETS + MAX_DATA_FIELD_OCTETS;
export const PACKET_VERSION = 0;
export const MAX_APID = 2047;
/** The APID reserved for idle packets (all ones). */
export const IDLE_APID = 2047;
/** The 14-bit sequence count wraps here. */
export const SEQUENCE_COUNT_MODULUS = 16384;

export const PacketType = { TM: 0, TC: 1 } as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const SequenceFlags = { CONTINUATION: 0, FIRST: 1, LAST: 2, UNSEGMENTED: 3 } as const;
export type SequenceFlags = (typeof SequenceFlags)[keyof typeof SequenceFlags];

/** The fields of a primary header that a sender chooses (the version is always 0, the length follows from the data). */
export interface PacketHeaderFields {
  type: PacketType;
  secondaryHeader: boolean;
  apid: number;
  sequenceFlags: SequenceFlags;
  sequenceCount: number;
}

export interface SpacePacket extends PacketHeaderFields {
  /** The packet data field (secondary header, if any, and user data), 1..65536 octets. */
  data: Uint8Array;
}

/** A decoded primary header. */
export interface PrimaryHeader extends PacketHeaderFields {
  /** Octets in the packet data field (the length field + 1). */
  dataFieldOctets: number;
}

function checkHeaderFields(h: unknown, what: string): asserts h is PacketHeaderFields {
  checkObject(what, h);
  checkInt('type', h.type, 0, 1);
  checkBool('secondaryHeader', h.secondaryHeader);
  checkUint('apid', h.apid, 11);
  checkUint('sequenceFlags', h.sequenceFlags, 2);
  checkUint('sequenceCount', h.sequenceCount, 14);
  if (h.apid === IDLE_APID && h.secondaryHeader) {
    throw new RangeError('secondaryHeader: an idle packet (APID 2047) carries no secondary header');
  }
}

/**
 * Writes a primary header for a data field of `dataFieldOctets` into `out` at
 * `at`. Checks every field (RangeError naming it).
 */
export function writePrimaryHeader(out: Uint8Array, at: number, header: PacketHeaderFields, dataFieldOctets: number): void {
  checkHeaderFields(header, 'header');
  checkInt('data', dataFieldOctets, MIN_DATA_FIELD_OCTETS, MAX_DATA_FIELD_OCTETS);
  writeU16(out, at, (PACKET_VERSION << 13) | (header.type << 12) | ((header.secondaryHeader ? 1 : 0) << 11) | header.apid);
  writeU16(out, at + 2, (header.sequenceFlags << 14) | header.sequenceCount);
  writeU16(out, at + 4, dataFieldOctets - 1);
}

/** The 6 octets of a primary header for a data field of `dataFieldOctets` octets. */
export function encodePrimaryHeader(header: PacketHeaderFields, dataFieldOctets: number): Uint8Array {
  const out = new Uint8Array(PRIMARY_HEADER_OCTETS);
  writePrimaryHeader(out, 0, header, dataFieldOctets);
  return out;
}

/**
 * Reads the primary header only: at least 6 octets, version 0, no secondary
 * header on an idle packet. Does not check that the data field is present;
 * `rest` is everything after the 6 header octets.
 */
export function decodePrimaryHeader(bytes: Uint8Array): DecodeResult<PrimaryHeader> {
  if (!isBytes(bytes)) return fail('bytes', 'must be a Uint8Array');
  if (bytes.length < PRIMARY_HEADER_OCTETS) {
    return fail('primaryHeader', `truncated: a primary header is ${PRIMARY_HEADER_OCTETS} octets, got ${bytes.length}`, 0);
  }
  const w0 = readU16(bytes, 0);
  const w1 = readU16(bytes, 2);
  const version = w0 >>> 13;
  if (version !== PACKET_VERSION) return fail('version', `must be 0 (CCSDS 133.0-B-2), got ${version}`, 0);
  const apid = w0 & 0x7ff;
  const secondaryHeader = (w0 & 0x0800) !== 0;
  if (apid === IDLE_APID && secondaryHeader) {
    return fail('secondaryHeader', 'an idle packet (APID 2047) carries no secondary header', 0);
  }
  const header: PrimaryHeader = {
    type: ((w0 >>> 12) & 1) as PacketType,
    secondaryHeader,
    apid,
    sequenceFlags: (w1 >>> 14) as SequenceFlags,
    sequenceCount: w1 & 0x3fff,
    dataFieldOctets: readU16(bytes, 4) + 1,
  };
  return ok(header, bytes, PRIMARY_HEADER_OCTETS);
}

/** Total packet octets a decoded header announces. */
export function packetOctets(header: PrimaryHeader): number {
  return PRIMARY_HEADER_OCTETS + header.dataFieldOctets;
}

/** The truncation error every packet decoder reports when the input is shorter than the length field says. */
export function truncatedPacket(header: PrimaryHeader, available: number): { ok: false; error: { field: string; reason: string; offset: number } } {
  return {
    ok: false,
    error: {
      field: 'dataLength',
      reason: `truncated: the length field announces a ${header.dataFieldOctets}-octet data field, only ${Math.max(0, available - PRIMARY_HEADER_OCTETS)} present`,
      offset: 4,
    },
  };
}

/** Encodes a whole Space Packet. Throws a RangeError naming the first bad field. */
export function encodeSpacePacket(packet: SpacePacket): Uint8Array {
  checkObject('packet', packet);
  checkHeaderFields(packet, 'packet');
  checkBytes('data', packet.data, MAX_DATA_FIELD_OCTETS, MIN_DATA_FIELD_OCTETS);
  const out = new Uint8Array(PRIMARY_HEADER_OCTETS + packet.data.length);
  writePrimaryHeader(out, 0, packet, packet.data.length);
  out.set(packet.data, PRIMARY_HEADER_OCTETS);
  return out;
}

/**
 * Decodes one Space Packet from the start of `bytes`. Fewer octets than the
 * length field announces is a `dataLength` "truncated" error; octets beyond
 * the packet come back as `rest` (the next packet, typically). `data` is a
 * copy. Never throws.
 */
export function decodeSpacePacket(bytes: Uint8Array): DecodeResult<SpacePacket> {
  const h = decodePrimaryHeader(bytes);
  if (!h.ok) return h;
  const header = h.value;
  const end = packetOctets(header);
  if (bytes.length < end) return truncatedPacket(header, bytes.length);
  const { dataFieldOctets: _, ...fields } = header;
  return ok({ ...fields, data: copyOf(bytes, PRIMARY_HEADER_OCTETS, end) }, bytes, end);
}

/**
 * Per-APID packet sequence counters (14 bits, wrapping at 16384), as a
 * source keeps them: `next(apid)` returns the count for the packet being
 * built and advances.
 */
export class SequenceCounters {
  readonly #counts = new Map<number, number>();

  /** The count to use for the next packet on `apid`, then advance (16383 is followed by 0). */
  next(apid: number): number {
    checkUint('apid', apid, 11);
    const n = this.#counts.get(apid) ?? 0;
    this.#counts.set(apid, (n + 1) % SEQUENCE_COUNT_MODULUS);
    return n;
  }

  /** The count `next(apid)` would return, without advancing. */
  peek(apid: number): number {
    checkUint('apid', apid, 11);
    return this.#counts.get(apid) ?? 0;
  }

  /** Sets the next count for `apid` (restoring persisted state after a reset). */
  set(apid: number, nextCount: number): void {
    checkUint('apid', apid, 11);
    checkUint('sequenceCount', nextCount, 14);
    this.#counts.set(apid, nextCount);
  }
}
