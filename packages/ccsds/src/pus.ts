/**
 * PUS-C (ECSS-E-ST-70-41C) telecommand and telemetry packets: a Space Packet
 * whose data field starts with the PUS secondary header and ends with the
 * packet error control field (CRC-16, see crc16.ts) computed over the whole
 * packet before it.
 *
 * TC secondary header (5 octets, §7.4.3.1, no spare):
 *
 *   bits  0-3   TC packet PUS version number (2 = PUS-C)
 *   bits  4-7   acknowledgement flags: acceptance, start, progress, completion (MSB first)
 *   bits  8-15  service type ID
 *   bits 16-23  message subtype ID
 *   bits 24-39  source ID
 *
 * TM secondary header (7 octets + time, §7.4.3.2, no spare):
 *
 *   bits  0-3   TM packet PUS version number (2)
 *   bits  4-7   spacecraft time reference status
 *   bits  8-15  service type ID
 *   bits 16-23  message subtype ID
 *   bits 24-39  message type counter
 *   bits 40-55  destination ID
 *   bits 56-    time: CUC, by default 4 coarse + 2 fine octets, no P-field
 *
 * PUS packets are stand-alone, so the sequence flags are always 11.
 */
import { crc16 } from './crc16.js';
import {
  type DecodeResult,
  checkBytes,
  checkInt,
  checkObject,
  checkUint,
  copyOf,
  fail,
  hex,
  ok,
  readU16,
  writeU16,
} from './result.js';
import {
  MAX_DATA_FIELD_OCTETS,
  PRIMARY_HEADER_OCTETS,
  PacketType,
  type PrimaryHeader,
  SequenceFlags,
  decodePrimaryHeader,
  packetOctets,
  truncatedPacket,
  writePrimaryHeader,
} from './space-packet.js';
import { type CucFormat, type CucTime, DEFAULT_CUC_FORMAT, checkCucFormat, cucOctets, decodeCuc, encodeCuc } from './time-codes.js';

export const PUS_VERSION = 2;
export const TC_SECONDARY_HEADER_OCTETS = 5;
/** TM secondary header octets before the time field. */
export const TM_SECONDARY_HEADER_FIXED_OCTETS = 7;
export const PEC_OCTETS = 2;
/** Highest APID a PUS packet may use (2047 is the idle APID). */
export const MAX_PUS_APID = 2046;

/** Acknowledgement flag bits of a TC secondary header (combine with `|`). */
export const Ack = {
  NONE: 0b0000,
  ACCEPTANCE: 0b1000,
  START: 0b0100,
  PROGRESS: 0b0010,
  COMPLETION: 0b0001,
  ALL: 0b1111,
} as const;

export interface TcSecondaryHeader {
  /** Acknowledgement flags, 4 bits (see `Ack`). */
  ack: number;
  /** Service type ID, 0..255. */
  service: number;
  /** Message subtype ID, 0..255. */
  subtype: number;
  /** Source ID, 0..65535. */
  sourceId: number;
}

export interface Tc extends TcSecondaryHeader {
  /** 0..2046. */
  apid: number;
  /** Packet sequence count, 0..16383. */
  sequenceCount: number;
  /** Application data; may be empty. */
  appData: Uint8Array;
}

export interface TmSecondaryHeader {
  /** Spacecraft time reference status, 4 bits. */
  timeRefStatus: number;
  service: number;
  subtype: number;
  /** Message type counter, 0..65535. */
  messageTypeCounter: number;
  /** Destination ID, 0..65535. */
  destinationId: number;
  /** Packet time (CUC in the TM time format). Use taiNsToCuc/cucToTaiNs to convert from/to mission time. */
  time: CucTime;
}

export interface Tm extends TmSecondaryHeader {
  apid: number;
  sequenceCount: number;
  appData: Uint8Array;
}

export interface TmOptions {
  /** CUC format of the TM time field. Default DEFAULT_CUC_FORMAT (4 coarse + 2 fine octets, no P-field). */
  timeFormat?: CucFormat;
}

/** Largest application data a TC can carry (65536 − 5 − 2). */
export const MAX_TC_APP_DATA_OCTETS = MAX_DATA_FIELD_OCTETS - TC_SECONDARY_HEADER_OCTETS - PEC_OCTETS;

export function tmSecondaryHeaderOctets(options: TmOptions = {}): number {
  return TM_SECONDARY_HEADER_FIXED_OCTETS + cucOctets(options.timeFormat ?? DEFAULT_CUC_FORMAT);
}

function checkTcSecondaryHeader(h: TcSecondaryHeader): void {
  checkUint('ack', h.ack, 4);
  checkUint('service', h.service, 8);
  checkUint('subtype', h.subtype, 8);
  checkUint('sourceId', h.sourceId, 16);
}

/** Writes the 5-octet TC secondary header at `at` (fields checked, RangeError naming the field). */
export function writeTcSecondaryHeader(out: Uint8Array, at: number, h: TcSecondaryHeader): void {
  checkObject('secondaryHeader', h);
  checkTcSecondaryHeader(h);
  out[at] = (PUS_VERSION << 4) | h.ack;
  out[at + 1] = h.service;
  out[at + 2] = h.subtype;
  writeU16(out, at + 3, h.sourceId);
}

export function encodeTcSecondaryHeader(h: TcSecondaryHeader): Uint8Array {
  const out = new Uint8Array(TC_SECONDARY_HEADER_OCTETS);
  writeTcSecondaryHeader(out, 0, h);
  return out;
}

/** Reads a TC secondary header at `at` of `bytes`; error offsets are positions in `bytes`. */
export function decodeTcSecondaryHeader(bytes: Uint8Array, at = 0): DecodeResult<TcSecondaryHeader> {
  if (!(bytes instanceof Uint8Array)) return fail('bytes', 'must be a Uint8Array');
  if (bytes.length < at + TC_SECONDARY_HEADER_OCTETS) {
    return fail('secondaryHeader', `truncated: a PUS-C TC secondary header is ${TC_SECONDARY_HEADER_OCTETS} octets, got ${Math.max(0, bytes.length - at)}`, at);
  }
  const b0 = bytes[at]!;
  const version = b0 >>> 4;
  if (version !== PUS_VERSION) return fail('pusVersion', `must be ${PUS_VERSION} (PUS-C), got ${version}`, at);
  const h: TcSecondaryHeader = {
    ack: b0 & 0x0f,
    service: bytes[at + 1]!,
    subtype: bytes[at + 2]!,
    sourceId: readU16(bytes, at + 3),
  };
  return ok(h, bytes, at + TC_SECONDARY_HEADER_OCTETS);
}

function checkTmSecondaryHeader(h: TmSecondaryHeader): void {
  checkUint('timeRefStatus', h.timeRefStatus, 4);
  checkUint('service', h.service, 8);
  checkUint('subtype', h.subtype, 8);
  checkUint('messageTypeCounter', h.messageTypeCounter, 16);
  checkUint('destinationId', h.destinationId, 16);
}

export function writeTmSecondaryHeader(out: Uint8Array, at: number, h: TmSecondaryHeader, options: TmOptions = {}): void {
  checkObject('secondaryHeader', h);
  checkTmSecondaryHeader(h);
  const time = encodeCuc(h.time, options.timeFormat ?? DEFAULT_CUC_FORMAT);
  out[at] = (PUS_VERSION << 4) | h.timeRefStatus;
  out[at + 1] = h.service;
  out[at + 2] = h.subtype;
  writeU16(out, at + 3, h.messageTypeCounter);
  writeU16(out, at + 5, h.destinationId);
  out.set(time, at + TM_SECONDARY_HEADER_FIXED_OCTETS);
}

export function encodeTmSecondaryHeader(h: TmSecondaryHeader, options: TmOptions = {}): Uint8Array {
  const out = new Uint8Array(tmSecondaryHeaderOctets(options));
  writeTmSecondaryHeader(out, 0, h, options);
  return out;
}

export function decodeTmSecondaryHeader(bytes: Uint8Array, at = 0, options: TmOptions = {}): DecodeResult<TmSecondaryHeader> {
  const format = options.timeFormat ?? DEFAULT_CUC_FORMAT;
  checkCucFormat(format);
  if (!(bytes instanceof Uint8Array)) return fail('bytes', 'must be a Uint8Array');
  const n = tmSecondaryHeaderOctets(options);
  if (bytes.length < at + n) {
    return fail('secondaryHeader', `truncated: this PUS-C TM secondary header is ${n} octets, got ${Math.max(0, bytes.length - at)}`, at);
  }
  const b0 = bytes[at]!;
  const version = b0 >>> 4;
  if (version !== PUS_VERSION) return fail('pusVersion', `must be ${PUS_VERSION} (PUS-C), got ${version}`, at);
  const timeAt = at + TM_SECONDARY_HEADER_FIXED_OCTETS;
  const time = decodeCuc(bytes.subarray(timeAt, at + n), format);
  if (!time.ok) {
    const { offset, ...rest } = time.error;
    return { ok: false, error: { ...rest, field: `time.${rest.field}`, offset: timeAt + (offset ?? 0) } };
  }
  const h: TmSecondaryHeader = {
    timeRefStatus: b0 & 0x0f,
    service: bytes[at + 1]!,
    subtype: bytes[at + 2]!,
    messageTypeCounter: readU16(bytes, at + 3),
    destinationId: readU16(bytes, at + 5),
    time: time.value,
  };
  return ok(h, bytes, at + n);
}

/**
 * Appends the packet error control: CRC-16 over `packet[0..length-2)` into
 * the last two octets.
 */
export function writePec(packet: Uint8Array): void {
  const end = packet.length - PEC_OCTETS;
  writeU16(packet, end, crc16(packet.subarray(0, end)));
}

/** Checks the CRC in the last two octets of `packet` (exactly one packet). */
export function checkPec(packet: Uint8Array): DecodeResult<null> {
  const end = packet.length - PEC_OCTETS;
  const computed = crc16(packet.subarray(0, end));
  const carried = readU16(packet, end);
  if (computed !== carried) return fail('crc', `packet error control is ${hex(carried, 4)}, CRC-16 of the packet is ${hex(computed, 4)}`, end);
  return { ok: true, value: null };
}

/**
 * The checks every PUS packet decoder makes on the primary header: type,
 * secondary header flag, stand-alone sequence flags, length. On success the
 * value is the header and the packet's total length.
 */
export function readPusPrimaryHeader(
  bytes: Uint8Array,
  expectedType: PacketType,
  minDataField: number,
): DecodeResult<{ header: PrimaryHeader; end: number }> {
  const h = decodePrimaryHeader(bytes);
  if (!h.ok) return h;
  const header = h.value;
  if (header.type !== expectedType) {
    return fail('type', `must be ${expectedType} (${expectedType === PacketType.TC ? 'telecommand' : 'telemetry'}), got ${header.type}`, 0);
  }
  if (!header.secondaryHeader) return fail('secondaryHeader', 'flag must be 1: a PUS packet has a secondary header', 0);
  if (header.sequenceFlags !== SequenceFlags.UNSEGMENTED) {
    return fail('sequenceFlags', `must be 11 (stand-alone packet), got ${header.sequenceFlags.toString(2).padStart(2, '0')}`, 2);
  }
  const end = packetOctets(header);
  if (bytes.length < end) return truncatedPacket(header, bytes.length);
  if (header.dataFieldOctets < minDataField) {
    return fail('dataLength', `data field of ${header.dataFieldOctets} octets is shorter than the ${minDataField} this packet needs at least`, 4);
  }
  return { ok: true, value: { header, end } };
}

function checkPusPacketFields(p: { apid: unknown; sequenceCount: unknown; appData: unknown }, maxAppData: number): void {
  checkInt('apid', p.apid, 0, MAX_PUS_APID);
  checkUint('sequenceCount', p.sequenceCount, 14);
  checkBytes('appData', p.appData, maxAppData);
}

/** Encodes a PUS-C telecommand with its CRC. Throws a RangeError naming the first bad field. */
export function encodeTc(tc: Tc): Uint8Array {
  checkObject('tc', tc);
  checkPusPacketFields(tc, MAX_TC_APP_DATA_OCTETS);
  checkTcSecondaryHeader(tc);
  const dataField = TC_SECONDARY_HEADER_OCTETS + tc.appData.length + PEC_OCTETS;
  const out = new Uint8Array(PRIMARY_HEADER_OCTETS + dataField);
  writePrimaryHeader(
    out,
    0,
    { type: PacketType.TC, secondaryHeader: true, apid: tc.apid, sequenceFlags: SequenceFlags.UNSEGMENTED, sequenceCount: tc.sequenceCount },
    dataField,
  );
  writeTcSecondaryHeader(out, PRIMARY_HEADER_OCTETS, tc);
  out.set(tc.appData, PRIMARY_HEADER_OCTETS + TC_SECONDARY_HEADER_OCTETS);
  writePec(out);
  return out;
}

/**
 * Decodes one PUS-C telecommand from the start of `bytes`: version 0, type 1,
 * secondary header flag 1, sequence flags 11, length, CRC (field "crc"), PUS
 * version 2. Octets after the packet come back as `rest`. Never throws.
 */
export function decodeTc(bytes: Uint8Array): DecodeResult<Tc> {
  const p = readPusPrimaryHeader(bytes, PacketType.TC, TC_SECONDARY_HEADER_OCTETS + PEC_OCTETS);
  if (!p.ok) return p;
  const { header, end } = p.value;
  const crc = checkPec(bytes.subarray(0, end));
  if (!crc.ok) return crc;
  const sh = decodeTcSecondaryHeader(bytes, PRIMARY_HEADER_OCTETS);
  if (!sh.ok) return sh;
  const tc: Tc = {
    apid: header.apid,
    sequenceCount: header.sequenceCount,
    ...sh.value,
    appData: copyOf(bytes, PRIMARY_HEADER_OCTETS + TC_SECONDARY_HEADER_OCTETS, end - PEC_OCTETS),
  };
  return ok(tc, bytes, end);
}

/** Encodes a PUS-C telemetry packet with its CRC. Throws a RangeError naming the first bad field. */
export function encodeTm(tm: Tm, options: TmOptions = {}): Uint8Array {
  checkObject('tm', tm);
  checkObject('options', options);
  const shOctets = tmSecondaryHeaderOctets(options);
  checkPusPacketFields(tm, MAX_DATA_FIELD_OCTETS - shOctets - PEC_OCTETS);
  const dataField = shOctets + tm.appData.length + PEC_OCTETS;
  const out = new Uint8Array(PRIMARY_HEADER_OCTETS + dataField);
  writeTmSecondaryHeader(out, PRIMARY_HEADER_OCTETS, tm, options);
  writePrimaryHeader(
    out,
    0,
    { type: PacketType.TM, secondaryHeader: true, apid: tm.apid, sequenceFlags: SequenceFlags.UNSEGMENTED, sequenceCount: tm.sequenceCount },
    dataField,
  );
  out.set(tm.appData, PRIMARY_HEADER_OCTETS + shOctets);
  writePec(out);
  return out;
}

/** Decodes one PUS-C telemetry packet (same checks as decodeTc, type 0). Never throws on any bytes. */
export function decodeTm(bytes: Uint8Array, options: TmOptions = {}): DecodeResult<Tm> {
  const shOctets = tmSecondaryHeaderOctets(options);
  const p = readPusPrimaryHeader(bytes, PacketType.TM, shOctets + PEC_OCTETS);
  if (!p.ok) return p;
  const { header, end } = p.value;
  const crc = checkPec(bytes.subarray(0, end));
  if (!crc.ok) return crc;
  const sh = decodeTmSecondaryHeader(bytes, PRIMARY_HEADER_OCTETS, options);
  if (!sh.ok) return sh;
  const tm: Tm = {
    apid: header.apid,
    sequenceCount: header.sequenceCount,
    ...sh.value,
    appData: copyOf(bytes, PRIMARY_HEADER_OCTETS + shOctets, end - PEC_OCTETS),
  };
  return ok(tm, bytes, end);
}
