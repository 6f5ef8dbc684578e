// Length-prefixed framing for stream transports (Unix socket, TCP). Pure logic.
//
// A frame is a 4-byte big-endian unsigned length followed by that many bytes.
// A zero length or one above the agreed maximum is a framing violation: the
// stream can no longer be trusted to be in step, so the caller closes that
// connection. Bytes left over when the stream ends are a truncated frame.

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Frames shorter than this are copied out of the stream's buffer; longer ones are views into it. */
const COPY_BELOW_BYTES = 1024;
/** Hard ceiling on any configured maximum: 64 MiB. */
export const MAX_FRAME_LIMIT = 64 * 1024 * 1024;

export type FramingViolation =
  | { kind: "zero-length" }
  | { kind: "oversized"; length: number; max: number };

export function describeViolation(v: FramingViolation): string {
  return v.kind === "zero-length" ? "zero-length frame" : `frame of ${v.length} bytes exceeds maximum ${v.max}`;
}

export function checkMaxFrameBytes(max: number): number {
  if (!Number.isInteger(max) || max < 16 || max > MAX_FRAME_LIMIT) {
    throw new RangeError(`maxFrameBytes must be an integer in [16, ${MAX_FRAME_LIMIT}], got ${max}`);
  }
  return max;
}

/** Prefixes a payload with its length. Throws if it could not be framed. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (payload.length === 0) throw new RangeError("cannot frame an empty payload");
  if (payload.length > maxFrameBytes) {
    throw new RangeError(`payload of ${payload.length} bytes exceeds maximum frame ${maxFrameBytes}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodeResult {
  frames: Uint8Array[];
  /** Set when the stream broke the framing rules; no more frames will come. */
  violation?: FramingViolation;
}

/** Incremental decoder: feed it chunks as they arrive, get whole frames out. */
export class FrameDecoder {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private poisoned = false;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    checkMaxFrameBytes(maxFrameBytes);
  }

  /** Bytes held that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  push(chunk: Uint8Array): DecodeResult {
    const frames: Uint8Array[] = [];
    if (this.poisoned) return { frames };
    if (chunk.length > 0) {
      this.buffered.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.bufferedBytes += chunk.length;
    }
    let data = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(offset);
      if (length === 0 || length > this.maxFrameBytes) {
        this.poisoned = true;
        this.buffered = [];
        this.bufferedBytes = 0;
        return {
          frames,
          violation: length === 0 ? { kind: "zero-length" } : { kind: "oversized", length, max: this.maxFrameBytes },
        };
      }
      if (data.length - offset - FRAME_HEADER_BYTES < length) break;
      const start = offset + FRAME_HEADER_BYTES;
      if (length < COPY_BELOW_BYTES) {
        // Copy small frames out so a queued message does not pin a whole socket chunk.
        const frame = Buffer.allocUnsafe(length);
        data.copy(frame, 0, start, start + length);
        frames.push(frame);
      } else {
        // A large frame is most of its chunk anyway: a view saves the copy.
        frames.push(data.subarray(start, start + length));
      }
      offset = start + length;
    }
    if (offset === data.length) {
      this.buffered = [];
      this.bufferedBytes = 0;
    } else {
      data = data.subarray(offset);
      this.buffered = [data];
      this.bufferedBytes = data.length;
    }
    return { frames };
  }

  /** Call when the stream ends: the number of bytes of an unfinished frame. */
  finish(): number {
    const truncated = this.bufferedBytes;
    this.buffered = [];
    this.bufferedBytes = 0;
    return truncated;
  }
}
