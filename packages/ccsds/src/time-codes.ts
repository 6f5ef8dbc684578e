/**
 * CCSDS time codes (CCSDS 301.0-B-4) on the mission time scale.
 *
 * Mission time (`@umbra/core`) is TAI nanoseconds since 1958-01-01T00:00:00
 * TAI, which is exactly the CCSDS recommended epoch, so both codes here are
 * "level 1" (epoch 1958, TAI): no epoch shift, no leap seconds (every TAI day
 * has 86,400 s).
 *
 * CUC (unsegmented code, §3.2): T-field = coarse time (whole seconds, 1..4
 * octets) then fine time (0..3 octets, the fraction of a second in units of
 * 2^-(8·fineOctets) s). Optional 1-octet P-field:
 *
 *   bit 0    extension flag (0: no second P-field octet)
 *   bits 1-3 time code identification (001: CUC, level 1, epoch 1958 TAI)
 *   bits 4-5 coarse octets − 1
 *   bits 6-7 fine octets
 *
 * CDS (day segmented code, §3.3), the short form: T-field = day (16 bits,
 * days since 1958-01-01), ms of day (32 bits), optional submillisecond segment
 * (16 bits: microseconds of the millisecond, 0..999). Optional 1-octet P-field:
 *
 *   bit 0    extension flag (0)
 *   bits 1-3 time code identification (100: CDS)
 *   bit 4    epoch (0: 1958 January 1)
 *   bit 5    day segment length (0: 16 bits)
 *   bits 6-7 submillisecond resolution (00: none, 01: 16-bit microseconds)
 *
 * Conversions from mission time truncate (the code names the instant at or
 * before the given one, like a clock reading); conversions to mission time
 * are exact for CDS and round up to the next ns for CUC, so that
 * code → ns → code is the identity and ns → code → ns lands in
 * (t − resolution, t].
 */
import { NS_PER_SECOND } from '@umbra/core';
import {
  type DecodeResult,
  checkBool,
  checkInt,
  checkObject,
  checkUint,
  fail,
  hex,
  isBytes,
  ok,
  readU16,
  readU32,
  readUint,
  writeU16,
  writeU32,
  writeUint,
} from './result.js';

const NS_PER_MS = 1_000_000n;
const NS_PER_US = 1_000n;
const MS_PER_DAY = 86_400_000;
const NS_PER_DAY = 86_400n * NS_PER_SECOND;

// ---------------------------------------------------------------------------
// CUC

/** CUC time code identification for level 1 (epoch 1958-01-01 TAI). */
export const CUC_LEVEL1_ID = 0b001;

export interface CucFormat {
  /** Octets of coarse time (whole seconds), 1..4. */
  coarseOctets: number;
  /** Octets of fine time (fraction of a second), 0..3. */
  fineOctets: number;
  /** Whether a 1-octet P-field precedes the T-field. Default false. */
  pField?: boolean;
}

/** 4 coarse + 2 fine octets, no P-field: the PUS TM default here (~15 µs resolution, good until 2094). */
export const DEFAULT_CUC_FORMAT: Readonly<CucFormat> = Object.freeze({ coarseOctets: 4, fineOctets: 2, pField: false });

export interface CucTime {
  /** Whole seconds since 1958-01-01T00:00:00 TAI. */
  coarse: number;
  /** Fraction of the second, in units of 2^-(8·fineOctets) s (0 when there are no fine octets). */
  fine: number;
}

/** Throws a RangeError naming the field if `format` is not a supported CUC format (a caller's bug, not bad input). */
export function checkCucFormat(format: CucFormat): void {
  checkObject('format', format);
  checkInt('format.coarseOctets', format.coarseOctets, 1, 4);
  checkInt('format.fineOctets', format.fineOctets, 0, 3);
  if (format.pField !== undefined) checkBool('format.pField', format.pField);
}

/** Octets a CUC in this format occupies, P-field included. */
export function cucOctets(format: CucFormat = DEFAULT_CUC_FORMAT): number {
  checkCucFormat(format);
  return (format.pField ? 1 : 0) + format.coarseOctets + format.fineOctets;
}

/** The P-field octet for this format (level 1, no extension). */
export function cucPField(format: CucFormat = DEFAULT_CUC_FORMAT): number {
  checkCucFormat(format);
  return (CUC_LEVEL1_ID << 4) | ((format.coarseOctets - 1) << 2) | format.fineOctets;
}

/** Fine-time resolution of this format in nanoseconds (1e9 / 2^(8·fineOctets)). */
export function cucResolutionNs(format: CucFormat = DEFAULT_CUC_FORMAT): number {
  checkCucFormat(format);
  return 1e9 / 2 ** (8 * format.fineOctets);
}

function checkCucTime(time: CucTime, format: CucFormat): void {
  checkObject('time', time);
  checkUint('coarse', time.coarse, 8 * format.coarseOctets);
  checkUint('fine', time.fine, 8 * format.fineOctets);
}

/** Encodes a CUC. Throws a RangeError naming `coarse` or `fine` if a value does not fit its octets. */
export function encodeCuc(time: CucTime, format: CucFormat = DEFAULT_CUC_FORMAT): Uint8Array {
  checkCucFormat(format);
  checkCucTime(time, format);
  const out = new Uint8Array(cucOctets(format));
  let at = 0;
  if (format.pField) out[at++] = cucPField(format);
  writeUint(out, at, format.coarseOctets, time.coarse);
  writeUint(out, at + format.coarseOctets, format.fineOctets, time.fine);
  return out;
}

/** Reads a CUC P-field octet at `at`; only level-1 CUC without extension is accepted. */
function readCucPField(bytes: Uint8Array, at: number): DecodeResult<CucFormat> {
  if (bytes.length < at + 1) return fail('pField', 'truncated: no P-field octet', at);
  const p = bytes[at]!;
  if (p & 0x80) return fail('pField.extension', 'extended CUC P-fields (more than 4 coarse or 3 fine octets) are not supported', at);
  const id = (p >>> 4) & 0b111;
  if (id !== CUC_LEVEL1_ID) {
    return fail('pField.timeCodeId', `must be 001 (CUC, level 1, epoch 1958 TAI), got ${id.toString(2).padStart(3, '0')}`, at);
  }
  return { ok: true, value: { coarseOctets: ((p >>> 2) & 0b11) + 1, fineOctets: p & 0b11, pField: true } };
}

function readCucTField(bytes: Uint8Array, at: number, format: CucFormat): DecodeResult<CucTime> {
  const n = format.coarseOctets + format.fineOctets;
  if (bytes.length < at + n) {
    return fail('time', `truncated: a ${format.coarseOctets}+${format.fineOctets} CUC T-field is ${n} octets, got ${Math.max(0, bytes.length - at)}`, at);
  }
  const time = {
    coarse: readUint(bytes, at, format.coarseOctets),
    fine: readUint(bytes, at + format.coarseOctets, format.fineOctets),
  };
  return ok(time, bytes, at + n);
}

/**
 * Decodes a CUC in a known format. With `format.pField`, the P-field must be
 * present and announce exactly this format. Never throws on any bytes (a bad
 * `format` argument, a caller's bug, throws a RangeError).
 */
export function decodeCuc(bytes: Uint8Array, format: CucFormat = DEFAULT_CUC_FORMAT): DecodeResult<CucTime> {
  checkCucFormat(format);
  if (!isBytes(bytes)) return fail('bytes', 'must be a Uint8Array');
  let at = 0;
  if (format.pField) {
    const p = readCucPField(bytes, 0);
    if (!p.ok) return p;
    if (p.value.coarseOctets !== format.coarseOctets || p.value.fineOctets !== format.fineOctets) {
      return fail(
        'pField',
        `announces ${p.value.coarseOctets}+${p.value.fineOctets} octets (${hex(bytes[0]!, 2)}), expected ${format.coarseOctets}+${format.fineOctets} (${hex(cucPField(format), 2)})`,
        0,
      );
    }
    at = 1;
  }
  return readCucTField(bytes, at, format);
}

/** Decodes a CUC whose P-field says its format. */
export function decodeCucSelfDescribing(bytes: Uint8Array): DecodeResult<{ format: CucFormat; time: CucTime }> {
  if (!isBytes(bytes)) return fail('bytes', 'must be a Uint8Array');
  const p = readCucPField(bytes, 0);
  if (!p.ok) return p;
  const t = readCucTField(bytes, 1, p.value);
  if (!t.ok) return t;
  return t.rest === undefined ? { ok: true, value: { format: p.value, time: t.value } } : { ok: true, value: { format: p.value, time: t.value }, rest: t.rest };
}

function checkTaiNs(taiNs: bigint): void {
  if (typeof taiNs !== 'bigint') throw new RangeError(`taiNs: must be a bigint (TAI ns since 1958), got ${typeof taiNs}`);
  if (taiNs < 0n) throw new RangeError(`taiNs: ${taiNs} is before the 1958-01-01 TAI epoch, which CCSDS time codes cannot express`);
}

/**
 * Mission time to CUC, truncated to the fine resolution. Throws a RangeError
 * naming `coarse` if the seconds do not fit the coarse octets, `taiNs` if it
 * is before the epoch.
 */
export function taiNsToCuc(taiNs: bigint, format: CucFormat = DEFAULT_CUC_FORMAT): CucTime {
  checkCucFormat(format);
  checkTaiNs(taiNs);
  const coarse = taiNs / NS_PER_SECOND;
  const maxCoarse = 2n ** BigInt(8 * format.coarseOctets) - 1n;
  if (coarse > maxCoarse) {
    throw new RangeError(`coarse: ${coarse} s since 1958 does not fit in ${format.coarseOctets} coarse octets (max ${maxCoarse})`);
  }
  const fineBits = BigInt(8 * format.fineOctets);
  const fine = ((taiNs % NS_PER_SECOND) << fineBits) / NS_PER_SECOND;
  return { coarse: Number(coarse), fine: Number(fine) };
}

/** CUC to mission time; the fraction is rounded up to the next ns so that `taiNsToCuc(cucToTaiNs(c)) == c`. */
export function cucToTaiNs(time: CucTime, format: CucFormat = DEFAULT_CUC_FORMAT): bigint {
  checkCucFormat(format);
  checkCucTime(time, format);
  const units = 1n << BigInt(8 * format.fineOctets);
  const fracNs = (BigInt(time.fine) * NS_PER_SECOND + units - 1n) / units;
  return BigInt(time.coarse) * NS_PER_SECOND + fracNs;
}

// ---------------------------------------------------------------------------
// CDS

/** CDS time code identification. */
export const CDS_ID = 0b100;

export interface CdsFormat {
  /** Whether the 16-bit submillisecond segment (microseconds) is present. Default false. */
  submillisecond?: boolean;
  /** Whether a 1-octet P-field precedes the T-field. Default false. */
  pField?: boolean;
}

export const DEFAULT_CDS_FORMAT: Readonly<CdsFormat> = Object.freeze({ submillisecond: false, pField: false });

export interface CdsTime {
  /** Days since 1958-01-01 (TAI), 0..65535. */
  day: number;
  /** Milliseconds of the day, 0..86,399,999 (TAI days have no leap second). */
  msOfDay: number;
  /** Microseconds of the millisecond, 0..999: present exactly when the format has the submillisecond segment. */
  microsOfMs?: number;
}

export function checkCdsFormat(format: CdsFormat): void {
  checkObject('format', format);
  if (format.submillisecond !== undefined) checkBool('format.submillisecond', format.submillisecond);
  if (format.pField !== undefined) checkBool('format.pField', format.pField);
}

export function cdsOctets(format: CdsFormat = DEFAULT_CDS_FORMAT): number {
  checkCdsFormat(format);
  return (format.pField ? 1 : 0) + 6 + (format.submillisecond ? 2 : 0);
}

export function cdsPField(format: CdsFormat = DEFAULT_CDS_FORMAT): number {
  checkCdsFormat(format);
  return (CDS_ID << 4) | (format.submillisecond ? 0b01 : 0b00);
}

function checkCdsTime(time: CdsTime, format: CdsFormat): void {
  checkObject('time', time);
  checkUint('day', time.day, 16);
  checkInt('msOfDay', time.msOfDay, 0, MS_PER_DAY - 1);
  if (format.submillisecond) {
    checkInt('microsOfMs', time.microsOfMs, 0, 999);
  } else if (time.microsOfMs !== undefined) {
    throw new RangeError('microsOfMs: this CDS format has no submillisecond segment; leave it out');
  }
}

/** Encodes a CDS (short form). Throws a RangeError naming the field. */
export function encodeCds(time: CdsTime, format: CdsFormat = DEFAULT_CDS_FORMAT): Uint8Array {
  checkCdsFormat(format);
  checkCdsTime(time, format);
  const out = new Uint8Array(cdsOctets(format));
  let at = 0;
  if (format.pField) out[at++] = cdsPField(format);
  writeU16(out, at, time.day);
  writeU32(out, at + 2, time.msOfDay);
  if (format.submillisecond) writeU16(out, at + 6, time.microsOfMs!);
  return out;
}

function readCdsPField(bytes: Uint8Array, at: number): DecodeResult<CdsFormat> {
  if (bytes.length < at + 1) return fail('pField', 'truncated: no P-field octet', at);
  const p = bytes[at]!;
  if (p & 0x80) return fail('pField.extension', 'extended CDS P-fields are not defined', at);
  const id = (p >>> 4) & 0b111;
  if (id !== CDS_ID) return fail('pField.timeCodeId', `must be 100 (CDS), got ${id.toString(2).padStart(3, '0')}`, at);
  if (p & 0b1000) return fail('pField.epoch', 'agency-defined epochs are not supported; must be 0 (1958-01-01)', at);
  if (p & 0b100) return fail('pField.daySegment', '24-bit day segments are not supported; must be 0 (16 bits)', at);
  const res = p & 0b11;
  if (res > 1) {
    return fail('pField.submillisecond', res === 2 ? 'picosecond resolution is not supported' : 'resolution 11 is reserved', at);
  }
  return { ok: true, value: { submillisecond: res === 1, pField: true } };
}

function readCdsTField(bytes: Uint8Array, at: number, format: CdsFormat): DecodeResult<CdsTime> {
  const n = format.submillisecond ? 8 : 6;
  if (bytes.length < at + n) return fail('time', `truncated: this CDS T-field is ${n} octets, got ${Math.max(0, bytes.length - at)}`, at);
  const msOfDay = readU32(bytes, at + 2);
  if (msOfDay >= MS_PER_DAY) return fail('msOfDay', `${msOfDay} is not a millisecond of a TAI day (0..86399999)`, at + 2);
  const time: CdsTime = { day: readU16(bytes, at), msOfDay };
  if (format.submillisecond) {
    const us = readU16(bytes, at + 6);
    if (us > 999) return fail('microsOfMs', `${us} is not a microsecond of a millisecond (0..999)`, at + 6);
    time.microsOfMs = us;
  }
  return ok(time, bytes, at + n);
}

/**
 * Decodes a CDS in a known format; with `format.pField` the P-field must be
 * present and match. Never throws on any bytes.
 */
export function decodeCds(bytes: Uint8Array, format: CdsFormat = DEFAULT_CDS_FORMAT): DecodeResult<CdsTime> {
  checkCdsFormat(format);
  if (!isBytes(bytes)) return fail('bytes', 'must be a Uint8Array');
  let at = 0;
  if (format.pField) {
    const p = readCdsPField(bytes, 0);
    if (!p.ok) return p;
    if (p.value.submillisecond !== !!format.submillisecond) {
      return fail('pField', `announces ${hex(bytes[0]!, 2)}, expected ${hex(cdsPField(format), 2)}`, 0);
    }
    at = 1;
  }
  return readCdsTField(bytes, at, format);
}

/** Decodes a CDS whose P-field says its format. */
export function decodeCdsSelfDescribing(bytes: Uint8Array): DecodeResult<{ format: CdsFormat; time: CdsTime }> {
  if (!isBytes(bytes)) return fail('bytes', 'must be a Uint8Array');
  const p = readCdsPField(bytes, 0);
  if (!p.ok) return p;
  const t = readCdsTField(bytes, 1, p.value);
  if (!t.ok) return t;
  return t.rest === undefined ? { ok: true, value: { format: p.value, time: t.value } } : { ok: true, value: { format: p.value, time: t.value }, rest: t.rest };
}

/** Mission time to CDS, truncated to the ms (or µs). Throws a RangeError naming `day` past 2137-06-06 (day 65535), `taiNs` before 1958. */
export function taiNsToCds(taiNs: bigint, format: CdsFormat = DEFAULT_CDS_FORMAT): CdsTime {
  checkCdsFormat(format);
  checkTaiNs(taiNs);
  const day = taiNs / NS_PER_DAY;
  if (day > 0xffffn) throw new RangeError(`day: day ${day} since 1958 does not fit the 16-bit day segment (max 65535)`);
  const nsOfDay = taiNs % NS_PER_DAY;
  const time: CdsTime = { day: Number(day), msOfDay: Number(nsOfDay / NS_PER_MS) };
  if (format.submillisecond) time.microsOfMs = Number((nsOfDay % NS_PER_MS) / NS_PER_US);
  return time;
}

/** CDS to mission time (exact). */
export function cdsToTaiNs(time: CdsTime, format: CdsFormat = DEFAULT_CDS_FORMAT): bigint {
  checkCdsFormat(format);
  checkCdsTime(time, format);
  return BigInt(time.day) * NS_PER_DAY + BigInt(time.msOfDay) * NS_PER_MS + BigInt(time.microsOfMs ?? 0) * NS_PER_US;
}
