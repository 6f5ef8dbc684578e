// Framing of the raw CCSDS link, with no sockets: the pure half of raw-link.ts.
//
// On TCP the ground sends space packets back to back, as the Yamcs and
// OpenC3 COSMOS TCP links do, and the only delimiter is each primary header's
// packet data length field (CCSDS 133.0-B-2; docs/icd.md 10.1). So one bad
// header desynchronises everything after it: there is no marker to hunt for
// and resynchronising would mean guessing. A framing violation therefore
// ends the stream (the caller closes that connection) rather than skipping
// bytes. On UDP each datagram is one packet and must agree with its header.
//
// What is checked here is only what framing needs, plus "is this a TC at
// all": version 0, type TC, a length this link accepts. Everything else about
// the packet (secondary header flag, sequence flags, security header, MAC,
// CRC, PUS header) is the TTC's to check, and it answers a bad packet with a
// PUS (1,2) report that the ground can see.
import { IDLE_APID, MAX_PACKET_OCTETS, PRIMARY_HEADER_OCTETS, PacketType, decodePrimaryHeader, packetOctets, type PrimaryHeader } from "@umbra/ccsds";

/** The smallest packet there is: a 6-octet header and a 1-octet data field. */
export const MIN_PACKET_OCTETS = PRIMARY_HEADER_OCTETS + 1;

export type FramingErrorKind =
  /** The primary header does not decode (version not 0, or an idle APID with a secondary header). */
  | "bad-header"
  /** The packet type bit says telemetry on a link that only takes telecommands. */
  | "not-tc"
  /** The length field announces more than the link's maximum. */
  | "too-long"
  /** The input ended (or the datagram is shorter) than the length field announces. */
  | "truncated"
  /** A datagram carries more octets than its header announces. */
  | "trailing-octets";

export interface FramingError {
  kind: FramingErrorKind;
  /** Human-readable, for logs: names the field and the value. */
  reason: string;
  /** Offset in the stream (TCP: octets since the connection opened) where the bad packet starts. */
  offset: number;
}

export interface FramingOptions {
  /** Largest packet accepted, 7..65542 (default 65542, the CCSDS maximum). */
  maxPacketBytes?: number;
}

/** What a push produced: the packets completed by these octets, and the violation that ended the stream, if any. */
export interface DeframeResult {
  packets: Uint8Array[];
  error?: FramingError;
}

/** Checks a `maxPacketBytes` option (RangeError naming it), returning the value to use. */
export function checkMaxPacketBytes(value: number | undefined): number {
  const v = value ?? MAX_PACKET_OCTETS;
  if (!Number.isInteger(v) || v < MIN_PACKET_OCTETS || v > MAX_PACKET_OCTETS) {
    throw new RangeError(`maxPacketBytes: must be an integer ${MIN_PACKET_OCTETS}..${MAX_PACKET_OCTETS}, got ${String(value)}`);
  }
  return v;
}

/**
 * Checks the 6 octets of a primary header at `bytes[0..6)` as the start of an
 * uplinked telecommand. Returns the decoded header, or the framing error.
 */
export function checkTcHeader(bytes: Uint8Array, maxPacketBytes: number, offset: number): { ok: true; header: PrimaryHeader } | { ok: false; error: FramingError } {
  const h = decodePrimaryHeader(bytes);
  if (!h.ok) {
    const kind: FramingErrorKind = h.error.reason.startsWith("truncated") ? "truncated" : "bad-header";
    return { ok: false, error: { kind, reason: `${h.error.field}: ${h.error.reason}`, offset } };
  }
  const header = h.value;
  if (header.type !== PacketType.TC) {
    return { ok: false, error: { kind: "not-tc", reason: `type: a TM packet (APID ${header.apid}) on the telecommand uplink`, offset } };
  }
  const total = packetOctets(header);
  if (total > maxPacketBytes) {
    return { ok: false, error: { kind: "too-long", reason: `dataLength: announces a ${total}-octet packet, above this link's maximum of ${maxPacketBytes}`, offset } };
  }
  return { ok: true, header };
}

/** True for an idle packet (APID 2047): fill that a receiver discards (CCSDS 133.0-B-2 4.1.3.3.4.4). */
export function isIdlePacket(packet: Uint8Array): boolean {
  return packet.length >= 2 && ((((packet[0] ?? 0) << 8) | (packet[1] ?? 0)) & 0x7ff) === IDLE_APID;
}

/**
 * Turns a TCP byte stream into whole space packets, whatever the read
 * boundaries. `push` never throws on any input. After the first violation the
 * deframer is spent: every later push answers the same error and no packets,
 * because nothing after a bad header can be trusted to be aligned.
 *
 * Memory is bounded: at most one partial packet (≤ maxPacketBytes) is held.
 */
export class PacketDeframer {
  readonly maxPacketBytes: number;
  #pending: Uint8Array[] = [];
  #pendingOctets = 0;
  /** Octets consumed as complete packets so far (stream offset of the pending data). */
  #consumed = 0;
  #error: FramingError | undefined;

  constructor(options: FramingOptions = {}) {
    this.maxPacketBytes = checkMaxPacketBytes(options.maxPacketBytes);
  }

  /** Octets held that do not yet make a whole packet. */
  get buffered(): number {
    return this.#pendingOctets;
  }

  /** The violation that ended the stream, if any. */
  get error(): FramingError | undefined {
    return this.#error;
  }

  /** Feeds the next octets of the stream. The packets returned are copies the caller owns. */
  push(bytes: Uint8Array): DeframeResult {
    if (this.#error) return { packets: [], error: this.#error };
    if (!(bytes instanceof Uint8Array)) {
      this.#error = { kind: "bad-header", reason: "input: not bytes", offset: this.#consumed + this.#pendingOctets };
      return { packets: [], error: this.#error };
    }
    if (bytes.length === 0) return { packets: [] };
    this.#pending.push(bytes);
    this.#pendingOctets += bytes.length;
    const packets: Uint8Array[] = [];
    for (;;) {
      if (this.#pendingOctets < PRIMARY_HEADER_OCTETS) break;
      const head = this.#peek(PRIMARY_HEADER_OCTETS);
      const checked = checkTcHeader(head, this.maxPacketBytes, this.#consumed);
      if (!checked.ok) {
        this.#error = checked.error;
        this.#drop();
        return { packets, error: checked.error };
      }
      const total = packetOctets(checked.header);
      if (this.#pendingOctets < total) break;
      packets.push(this.#take(total));
      this.#consumed += total;
    }
    return { packets };
  }

  /**
   * Says the stream has ended (the peer closed it). A partial packet left
   * over is a "truncated" violation; otherwise undefined.
   */
  end(): FramingError | undefined {
    if (this.#error) return this.#error;
    if (this.#pendingOctets === 0) return undefined;
    const held = this.#pendingOctets;
    const header = held >= PRIMARY_HEADER_OCTETS ? checkTcHeader(this.#peek(PRIMARY_HEADER_OCTETS), this.maxPacketBytes, this.#consumed) : undefined;
    const announced = header?.ok ? ` of the ${packetOctets(header.header)} its header announces` : "";
    this.#error = { kind: "truncated", reason: `stream ended inside a packet: ${held} octet(s)${announced}`, offset: this.#consumed };
    this.#drop();
    return this.#error;
  }

  #drop(): void {
    this.#pending = [];
    this.#pendingOctets = 0;
  }

  /** The first n pending octets, without consuming them (n ≤ pendingOctets). */
  #peek(n: number): Uint8Array {
    const first = this.#pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const chunk of this.#pending) {
      const k = Math.min(chunk.length, n - at);
      out.set(chunk.subarray(0, k), at);
      at += k;
      if (at === n) break;
    }
    return out;
  }

  /** Removes and returns (as a fresh copy) the first n pending octets. */
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#pending[0]!;
      const k = Math.min(chunk.length, n - at);
      out.set(chunk.subarray(0, k), at);
      at += k;
      if (k === chunk.length) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(k);
    }
    this.#pendingOctets -= n;
    return out;
  }
}

/**
 * Checks one UDP datagram as exactly one uplinked TC packet: a header that
 * passes `checkTcHeader` and a length equal to what it announces.
 */
export function checkTcDatagram(datagram: Uint8Array, maxPacketBytes: number): { ok: true; packet: Uint8Array } | { ok: false; error: FramingError } {
  if (!(datagram instanceof Uint8Array)) return { ok: false, error: { kind: "bad-header", reason: "input: not bytes", offset: 0 } };
  const checked = checkTcHeader(datagram, maxPacketBytes, 0);
  if (!checked.ok) return checked;
  const total = packetOctets(checked.header);
  if (datagram.length < total) {
    return { ok: false, error: { kind: "truncated", reason: `dataLength: announces a ${total}-octet packet, the datagram has ${datagram.length}`, offset: 0 } };
  }
  if (datagram.length > total) {
    return { ok: false, error: { kind: "trailing-octets", reason: `dataLength: announces a ${total}-octet packet, the datagram has ${datagram.length}`, offset: total } };
  }
  return { ok: true, packet: new Uint8Array(datagram) };
}
