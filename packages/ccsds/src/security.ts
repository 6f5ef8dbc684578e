/**
 * Telecommand link security in the spirit of CCSDS SDLS (355.0-B): every TC
 * carries a security header naming its key (SPI) and an anti-replay sequence
 * number, and a truncated HMAC over everything that matters. SDLS proper sits
 * in the TC transfer frame; we put the same elements inside the Space Packet,
 * so the protection survives whatever link layer carries the packet and the
 * primary header (APID, sequence count, length) is authenticated too.
 *
 *   octet  0-5     primary header (type 1, secondary header flag 1, flags 11)
 *   octet  6-7     SPI (security parameter index), u16, 1..65534
 *   octet  8-11    anti-replay sequence number, u32
 *   octet 12-16    PUS-C TC secondary header
 *   octet 17-      application data
 *   last 18..3     MAC: HMAC-SHA-256 over octets 0 .. (end−18), first 16 octets
 *   last 2         CRC-16 packet error control over everything before it
 *
 * Checking order in authenticateTc: length, primary header, CRC, SPI (known,
 * active), MAC (constant time), anti-replay window, PUS secondary header; only
 * a packet that passes all of them moves the anti-replay window, so nothing
 * unauthenticated or malformed changes any state.
 */
import { type KeyObject, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Tc, PEC_OCTETS, TC_SECONDARY_HEADER_OCTETS, checkPec, decodeTcSecondaryHeader, readPusPrimaryHeader, writePec, writeTcSecondaryHeader } from './pus.js';
import { checkBytes, checkInt, checkObject, checkUint, copyOf, isBytes, readU16, readU32, restOf, writeU16, writeU32 } from './result.js';
import { MAX_DATA_FIELD_OCTETS, PRIMARY_HEADER_OCTETS, PacketType, SequenceFlags, writePrimaryHeader } from './space-packet.js';

export const SECURITY_HEADER_OCTETS = 6;
export const MAC_OCTETS = 16;
export const KEY_OCTETS = 32;
/** SPI 0 and 65535 are reserved, as in SDLS. */
export const MIN_SPI = 1;
export const MAX_SPI = 65534;
export const DEFAULT_REPLAY_WINDOW = 64;
export const MAX_REPLAY_WINDOW = 1024;
/** Key files larger than this are refused unread. */
export const MAX_KEY_FILE_OCTETS = 64 * 1024;

const SPI_AT = PRIMARY_HEADER_OCTETS;
const SEQ_AT = SPI_AT + 2;
const PUS_AT = PRIMARY_HEADER_OCTETS + SECURITY_HEADER_OCTETS;
const MIN_DATA_FIELD = SECURITY_HEADER_OCTETS + TC_SECONDARY_HEADER_OCTETS + MAC_OCTETS + PEC_OCTETS;
export const MAX_SECURE_TC_APP_DATA_OCTETS = MAX_DATA_FIELD_OCTETS - MIN_DATA_FIELD;

// ---------------------------------------------------------------------------
// Keys

export type KeyAlgorithm = 'hmac-sha256';
/** `standby`: loaded but not yet usable; `rotate` makes it active. `revoked`: never usable again. */
export type KeyState = 'active' | 'standby' | 'revoked';
const KEY_STATES: readonly KeyState[] = ['active', 'standby', 'revoked'];

/** What a KeyStore tells about a key; never the key itself. */
export interface KeyInfo {
  spi: number;
  algorithm: KeyAlgorithm;
  state: KeyState;
}

export interface KeyEntry extends KeyInfo {
  /** 32 octets. */
  key: Uint8Array;
}

export type KeyLookupFailure = 'unknown-spi' | 'revoked-spi' | 'inactive-spi';

/** A key file that cannot be used. The message names the file, the field and what is wrong (never key material). */
export class KeyFileError extends Error {
  constructor(
    readonly path: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${path}: ${field}: ${reason}`);
    this.name = 'KeyFileError';
  }
}

interface StoredKey {
  info: KeyInfo;
  key: KeyObject;
}

/**
 * The TC authentication keys, by SPI. Several may be active at once (so the
 * ground can switch without a gap). Changes (`rotate`, `revoke`) are in memory
 * only: the caller persists them. Key bytes are held as KeyObjects and are
 * never returned.
 */
export class KeyStore {
  readonly #keys = new Map<number, StoredKey>();

  /** Throws a RangeError naming the field (`keys[i].spi`, ...) for a bad entry or a duplicate SPI. */
  constructor(entries: readonly KeyEntry[]) {
    if (!Array.isArray(entries)) throw new RangeError('keys: must be an array');
    entries.forEach((e: KeyEntry, i) => {
      const at = `keys[${i}]`;
      checkObject(at, e as unknown);
      checkInt(`${at}.spi`, e.spi, MIN_SPI, MAX_SPI);
      if (e.algorithm !== 'hmac-sha256') throw new RangeError(`${at}.algorithm: must be "hmac-sha256"`);
      if (!KEY_STATES.includes(e.state)) throw new RangeError(`${at}.state: must be one of ${KEY_STATES.join(', ')}`);
      checkBytes(`${at}.key`, e.key, KEY_OCTETS, KEY_OCTETS);
      if (this.#keys.has(e.spi)) throw new RangeError(`${at}.spi: SPI ${e.spi} is listed twice`);
      this.#keys.set(e.spi, { info: { spi: e.spi, algorithm: e.algorithm, state: e.state }, key: createSecretKey(Buffer.from(e.key)) });
    });
  }

  has(spi: number): boolean {
    return this.#keys.has(spi);
  }

  info(spi: number): KeyInfo | undefined {
    const k = this.#keys.get(spi);
    return k && { ...k.info };
  }

  list(): KeyInfo[] {
    return [...this.#keys.values()].map((k) => ({ ...k.info })).sort((a, b) => a.spi - b.spi);
  }

  activeSpis(): number[] {
    return this.list()
      .filter((k) => k.state === 'active')
      .map((k) => k.spi);
  }

  /**
   * Makes `newSpi` active and revokes `oldSpi`, both or neither. `newSpi`
   * must be known and not revoked (a revoked key never comes back); `oldSpi`
   * must be known. Throws a RangeError naming the argument.
   */
  rotate(oldSpi: number, newSpi: number): void {
    const old = this.#keys.get(oldSpi);
    const next = this.#keys.get(newSpi);
    if (!old) throw new RangeError(`oldSpi: no key with SPI ${String(oldSpi)}`);
    if (!next) throw new RangeError(`newSpi: no key with SPI ${String(newSpi)}`);
    if (oldSpi === newSpi) throw new RangeError('newSpi: must differ from oldSpi');
    if (next.info.state === 'revoked') throw new RangeError(`newSpi: SPI ${newSpi} is revoked; a revoked key is never reactivated`);
    next.info.state = 'active';
    old.info.state = 'revoked';
  }

  /** Revokes `spi` (known; idempotent). */
  revoke(spi: number): void {
    const k = this.#keys.get(spi);
    if (!k) throw new RangeError(`spi: no key with SPI ${String(spi)}`);
    k.info.state = 'revoked';
  }

  /** The truncated HMAC of `data` under the active key `spi`, or why there is none. */
  mac(spi: number, data: Uint8Array): { ok: true; mac: Uint8Array } | { ok: false; reason: KeyLookupFailure } {
    const k = this.#keys.get(spi);
    if (!k) return { ok: false, reason: 'unknown-spi' };
    if (k.info.state === 'revoked') return { ok: false, reason: 'revoked-spi' };
    if (k.info.state !== 'active') return { ok: false, reason: 'inactive-spi' };
    const full = createHmac('sha256', k.key).update(data).digest();
    return { ok: true, mac: full.subarray(0, MAC_OCTETS) };
  }
}

/**
 * Parses the text of a key file; every error is a KeyFileError naming
 * `path` and the field. Format:
 *
 *   { "keys": [{ "spi": 1, "algorithm": "hmac-sha256", "key": "<64 hex digits>", "state": "active" }] }
 */
export function parseKeyFile(text: string, path: string): KeyStore {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KeyFileError(path, 'json', `not valid JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new KeyFileError(path, '(top level)', 'must be an object { "keys": [...] }');
  for (const name of Object.keys(doc)) {
    if (name !== 'keys') throw new KeyFileError(path, name, 'unknown field (only "keys" is allowed)');
  }
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new KeyFileError(path, 'keys', 'must be an array');
  if (keys.length === 0) throw new KeyFileError(path, 'keys', 'lists no key: every telecommand would be refused');
  const seen = new Map<number, number>();
  const entries: KeyEntry[] = keys.map((raw: unknown, i: number): KeyEntry => {
    const at = `keys[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new KeyFileError(path, at, 'must be an object');
    const e = raw as Record<string, unknown>;
    for (const name of Object.keys(e)) {
      if (!['spi', 'algorithm', 'key', 'state'].includes(name)) throw new KeyFileError(path, `${at}.${name}`, 'unknown field');
    }
    const { spi, algorithm, key, state } = e;
    if (typeof spi !== 'number' || !Number.isInteger(spi) || spi < MIN_SPI || spi > MAX_SPI) {
      throw new KeyFileError(path, `${at}.spi`, `must be an integer ${MIN_SPI}..${MAX_SPI} (0 and 65535 are reserved), got ${JSON.stringify(spi) ?? 'nothing'}`);
    }
    const first = seen.get(spi);
    if (first !== undefined) throw new KeyFileError(path, `${at}.spi`, `SPI ${spi} is already used by keys[${first}]`);
    seen.set(spi, i);
    if (algorithm !== 'hmac-sha256') throw new KeyFileError(path, `${at}.algorithm`, `must be "hmac-sha256", got ${JSON.stringify(algorithm) ?? 'nothing'}`);
    if (typeof state !== 'string' || !(KEY_STATES as readonly string[]).includes(state)) {
      throw new KeyFileError(path, `${at}.state`, `must be one of ${KEY_STATES.map((s) => `"${s}"`).join(', ')}, got ${JSON.stringify(state) ?? 'nothing'}`);
    }
    // Key material never goes into a message: only its shape.
    if (typeof key !== 'string') throw new KeyFileError(path, `${at}.key`, 'must be a string of hex digits');
    if (!/^[0-9a-fA-F]*$/.test(key) || key.length % 2 !== 0) {
      throw new KeyFileError(path, `${at}.key`, 'must be hex digits only, two per octet');
    }
    if (key.length !== KEY_OCTETS * 2) {
      throw new KeyFileError(path, `${at}.key`, `must be ${KEY_OCTETS} octets (${KEY_OCTETS * 2} hex digits), got ${key.length / 2} octets`);
    }
    return { spi, algorithm, state: state as KeyState, key: Buffer.from(key, 'hex') };
  });
  try {
    return new KeyStore(entries);
  } finally {
    // The store holds its own KeyObjects; do not leave copies lying in the heap.
    for (const e of entries) e.key.fill(0);
  }
}

/**
 * Loads a key file. Refuses (KeyFileError naming the path and the field) a
 * missing file, anything but a regular file, a file that group or others may
 * read or write (`mode & 0o077`), one over 64 KiB, and any content
 * parseKeyFile refuses. The mode is read from the opened file, so a swap
 * between check and read cannot slip a different file in.
 */
export async function loadKeyFile(path: string): Promise<KeyStore> {
  let handle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'is a symbolic link; name the key file itself' : `cannot open (${code ?? (e as Error).message})`;
    throw new KeyFileError(path, 'file', reason);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new KeyFileError(path, 'file', 'is not a regular file');
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new KeyFileError(path, 'mode', `mode ${mode} lets group or others access the keys; allow the owner only (chmod 600)`);
    }
    if (st.size > MAX_KEY_FILE_OCTETS) throw new KeyFileError(path, 'file', `is ${st.size} octets, more than the ${MAX_KEY_FILE_OCTETS} a key file may have`);
    const text = await handle.readFile({ encoding: 'utf8' });
    return parseKeyFile(text, path);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------
// Anti-replay

export type ReplayVerdict = { ok: true } | { ok: false; reason: 'replay' | 'outside-window'; detail: string };

interface Window {
  /** Highest sequence number accepted. */
  top: number;
  /** Bit i set: top − i was accepted. */
  seen: bigint;
}

/**
 * Per-SPI sliding-window anti-replay (as in IPsec, RFC 4303 §3.4.3): a number
 * above the highest accepted moves the window up; one inside the window is
 * accepted once; one at or below highest − windowSize is refused. The first
 * number seen for an SPI is accepted whatever it is, so persist `highest()`
 * and `restore()` it after a reset. Numbers are u32 and never wrap: before
 * 2^32 − 1 is reached, rotate to a new SPI.
 */
export class AntiReplay {
  readonly windowSize: number;
  readonly #mask: bigint;
  readonly #windows = new Map<number, Window>();

  constructor(options: { windowSize?: number } = {}) {
    const w = options.windowSize ?? DEFAULT_REPLAY_WINDOW;
    checkInt('windowSize', w, 1, MAX_REPLAY_WINDOW);
    this.windowSize = w;
    this.#mask = (1n << BigInt(w)) - 1n;
  }

  /** Would `seq` be accepted for `spi`? Changes nothing. */
  check(spi: number, seq: number): ReplayVerdict {
    checkUint('spi', spi, 16);
    checkUint('sequence', seq, 32);
    const w = this.#windows.get(spi);
    if (!w || seq > w.top) return { ok: true };
    const behind = w.top - seq;
    if (behind >= this.windowSize) {
      return { ok: false, reason: 'outside-window', detail: `${seq} is ${behind} behind the highest accepted ${w.top}; the window is ${this.windowSize}` };
    }
    if ((w.seen >> BigInt(behind)) & 1n) return { ok: false, reason: 'replay', detail: `${seq} was already accepted` };
    return { ok: true };
  }

  /** check() and, if accepted, record `seq`. */
  accept(spi: number, seq: number): ReplayVerdict {
    const v = this.check(spi, seq);
    if (!v.ok) return v;
    const w = this.#windows.get(spi);
    if (!w) {
      this.#windows.set(spi, { top: seq, seen: 1n });
    } else if (seq > w.top) {
      const shift = seq - w.top;
      w.seen = shift >= this.windowSize ? 1n : ((w.seen << BigInt(shift)) | 1n) & this.#mask;
      w.top = seq;
    } else {
      w.seen |= 1n << BigInt(w.top - seq);
    }
    return v;
  }

  /** Highest sequence number accepted for `spi`, if any. */
  highest(spi: number): number | undefined {
    return this.#windows.get(spi)?.top;
  }

  /** After a reset: treat every number up to `highest` as seen for `spi`. */
  restore(spi: number, highest: number): void {
    checkUint('spi', spi, 16);
    checkUint('highest', highest, 32);
    this.#windows.set(spi, { top: highest, seen: this.#mask });
  }
}

// ---------------------------------------------------------------------------
// Secured telecommands

export interface SecureTc extends Tc {
  /** The key that authenticates this TC. */
  spi: number;
  /** Anti-replay sequence number, u32. */
  securitySequence: number;
}

export type AuthFailureReason =
  | 'truncated'
  | 'malformed'
  | 'bad-crc'
  | 'unknown-spi'
  | 'revoked-spi'
  | 'inactive-spi'
  | 'bad-mac'
  | 'replay'
  | 'outside-window';

export interface AuthError {
  field: string;
  reason: AuthFailureReason;
  /** Human-readable detail (never key material). */
  detail: string;
  offset?: number;
}

export type AuthResult = { ok: true; tc: SecureTc; rest?: Uint8Array } | { ok: false; error: AuthError };

function authFail(field: string, reason: AuthFailureReason, detail: string, offset?: number): { ok: false; error: AuthError } {
  return { ok: false, error: offset === undefined ? { field, reason, detail } : { field, reason, detail, offset } };
}

/**
 * Builds an authenticated TC (ground side, tests). Throws a RangeError naming
 * the field, including `spi` when the key is unknown or not active.
 */
export function secureTc(tc: SecureTc, keyStore: KeyStore): Uint8Array {
  checkObject('tc', tc);
  checkInt('apid', tc.apid, 0, 2046);
  checkUint('sequenceCount', tc.sequenceCount, 14);
  checkInt('spi', tc.spi, MIN_SPI, MAX_SPI);
  checkUint('securitySequence', tc.securitySequence, 32);
  checkBytes('appData', tc.appData, MAX_SECURE_TC_APP_DATA_OCTETS);
  const dataField = MIN_DATA_FIELD + tc.appData.length;
  const out = new Uint8Array(PRIMARY_HEADER_OCTETS + dataField);
  writePrimaryHeader(
    out,
    0,
    { type: PacketType.TC, secondaryHeader: true, apid: tc.apid, sequenceFlags: SequenceFlags.UNSEGMENTED, sequenceCount: tc.sequenceCount },
    dataField,
  );
  writeU16(out, SPI_AT, tc.spi);
  writeU32(out, SEQ_AT, tc.securitySequence);
  writeTcSecondaryHeader(out, PUS_AT, tc);
  out.set(tc.appData, PUS_AT + TC_SECONDARY_HEADER_OCTETS);
  const macAt = out.length - PEC_OCTETS - MAC_OCTETS;
  const mac = keyStore.mac(tc.spi, out.subarray(0, macAt));
  if (!mac.ok) throw new RangeError(`spi: cannot authenticate with SPI ${tc.spi} (${mac.reason})`);
  out.set(mac.mac, macAt);
  writePec(out);
  return out;
}

/**
 * Verifies and decodes one authenticated TC from the start of `bytes`.
 * Never throws on any bytes. Only a TC that passes every check moves the
 * anti-replay window.
 */
export function authenticateTc(bytes: Uint8Array, keyStore: KeyStore, antiReplay: AntiReplay): AuthResult {
  if (!isBytes(bytes)) return authFail('bytes', 'malformed', 'must be a Uint8Array');
  const p = readPusPrimaryHeader(bytes, PacketType.TC, MIN_DATA_FIELD);
  if (!p.ok) {
    const { field, reason, offset } = p.error;
    const kind: AuthFailureReason = field === 'primaryHeader' || field === 'dataLength' ? 'truncated' : 'malformed';
    return authFail(field, kind, reason, offset);
  }
  const { header, end } = p.value;
  const packet = bytes.subarray(0, end);
  const crc = checkPec(packet);
  if (!crc.ok) return authFail('crc', 'bad-crc', crc.error.reason, crc.error.offset);

  const spi = readU16(bytes, SPI_AT);
  const seq = readU32(bytes, SEQ_AT);
  const macAt = end - PEC_OCTETS - MAC_OCTETS;
  const expected = keyStore.mac(spi, packet.subarray(0, macAt));
  if (!expected.ok) {
    const what = expected.reason === 'unknown-spi' ? 'no key has' : expected.reason === 'revoked-spi' ? 'the key is revoked for' : 'the key is not active for';
    return authFail('spi', expected.reason, `${what} SPI ${spi}`, SPI_AT);
  }
  if (!timingSafeEqual(expected.mac, packet.subarray(macAt, macAt + MAC_OCTETS))) {
    return authFail('mac', 'bad-mac', `MAC does not match under SPI ${spi}`, macAt);
  }
  const replay = antiReplay.check(spi, seq);
  if (!replay.ok) return authFail('securitySequence', replay.reason, replay.detail, SEQ_AT);
  const sh = decodeTcSecondaryHeader(packet, PUS_AT);
  if (!sh.ok) return authFail(sh.error.field, 'malformed', sh.error.reason, sh.error.offset);
  antiReplay.accept(spi, seq);

  const tc: SecureTc = {
    apid: header.apid,
    sequenceCount: header.sequenceCount,
    ...sh.value,
    appData: copyOf(bytes, PUS_AT + TC_SECONDARY_HEADER_OCTETS, macAt),
    spi,
    securitySequence: seq,
  };
  const rest = restOf(bytes, end);
  return rest === undefined ? { ok: true, tc } : { ok: true, tc, rest };
}
