// A link over a byte stream (net.Socket: Unix domain socket or TCP), with
// length-prefixed frames. The link object outlives its sockets: a client link
// gets a new socket on every reconnect and keeps its counters and its queue,
// so what was published during a short outage goes out once the link is back.
import type { Socket } from "node:net";
import { Link } from "./link.js";
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FrameDecoder, describeViolation, encodeFrame } from "./framing.js";

import { PRIORITY_NAMES, type Priority } from "./priority.js";
import { CorkedWriter } from "./corked-writer.js";

/** Above this size a frame's header and body go out as two writes instead of one copy. */
const SEPARATE_HEADER_ABOVE_BYTES = 1024;

export interface StreamLinkOptions {
  /** Queue for the peer's topics while disconnected (client links, which reconnect). */
  keepInterestWhileDown?: boolean;
  maxFrameBytes?: number;
  queueCapacity?: number;
  /** Bytes the socket may buffer before frames wait in the bounded queue. */
  socketHighWaterBytes?: number;
}

export class StreamLink extends Link {
  private socket: Socket | undefined;
  private writer: CorkedWriter | undefined;
  private decoder: FrameDecoder;
  private closed = false;
  readonly maxFrameBytes: number;
  private readonly highWater: number;
  private readonly keepInterestWhileDown: boolean;

  constructor(transport: string, options: StreamLinkOptions = {}) {
    super(transport, options.queueCapacity);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.decoder = new FrameDecoder(this.maxFrameBytes);
    this.highWater = options.socketHighWaterBytes ?? 1024 * 1024;
    this.keepInterestWhileDown = options.keepInterestWhileDown ?? false;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.closed;
  }

  /** Why the last socket ended, for logs. */
  lastError = "";

  /** Hands the link a freshly connected socket. */
  attachSocket(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.socket?.destroy();
    this.socket = socket;
    this.writer = new CorkedWriter(socket);
    this.decoder = new FrameDecoder(this.maxFrameBytes);
    socket.setNoDelay?.(true);
    socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
    socket.on("drain", () => this.flushQueue());
    socket.on("error", (err) => {
      this.lastError = err.message;
    });
    socket.on("close", () => this.onClose(socket));
    this.events?.linkUp(this);
    this.flushQueue();
  }

  send(frame: Uint8Array, priority: Priority, messages = 1): void {
    if (frame.length > this.maxFrameBytes || frame.length > this.peerMaxFrameBytes) {
      // The peer would have to close the connection on it; count it as dropped.
      this.outbound.dropped[PRIORITY_NAMES[priority]!] += messages;
      return;
    }
    const socket = this.socket;
    if (socket && this.connected && this.outbound.length === 0 && socket.writableLength < this.highWater) {
      this.write(frame);
      return;
    }
    this.outbound.offer({ bytes: frame, messages }, priority);
  }

  sendControl(frame: Uint8Array): void {
    if (this.socket && this.connected) this.write(frame);
  }

  /** Writes one frame to the current socket (batched by the CorkedWriter). */
  private write(frame: Uint8Array): void {
    const writer = this.writer!;
    if (frame.length < SEPARATE_HEADER_ABOVE_BYTES) {
      writer.write(encodeFrame(frame, this.maxFrameBytes));
    } else {
      // Large frames: write the length and the bytes separately (corked, so one
      // writev) rather than copying kilobytes into a new buffer.
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      header.writeUInt32BE(frame.length, 0);
      writer.write(header);
      writer.write(frame);
    }
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
  }

  private flushQueue(): void {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    while (this.outbound.length > 0 && socket.writableLength < this.highWater) {
      const next = this.outbound.poll()!;
      this.write(next.item.bytes);
    }
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    const result = this.decoder.push(chunk);
    for (const frame of result.frames) {
      this.counters.framesIn++;
      this.counters.bytesIn += frame.length;
      this.events?.linkFrame(this, frame);
      if (socket !== this.socket || socket.destroyed) return; // a handler dropped the connection
    }
    if (result.violation) {
      this.counters.framingViolations++;
      this.lastError = describeViolation(result.violation);
      socket.destroy();
    }
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    const truncated = this.decoder.finish();
    if (truncated > 0) {
      this.counters.framingViolations++;
      this.lastError = `connection ended inside a frame (${truncated} bytes of it)`;
    }
    this.socket = undefined;
    this.writer = undefined;
    this.resetPeer(this.keepInterestWhileDown);
    this.events?.linkDown(this, this.lastError || "connection closed");
    this.lastError = "";
  }

  /** Closes the current connection (a client link will reconnect). */
  dropConnection(reason: string): void {
    this.lastError = reason;
    this.socket?.destroy();
  }

  /**
   * Closes for good. What is queued or corked is still written: the socket is
   * ended, not destroyed, so a service's last words (a final heartbeat, a
   * command result) reach the peer. A peer that never reads is cut off after
   * a second.
   */
  close(): void {
    if (this.closed) return;
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      this.flushQueue();
      this.writer?.flush();
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    this.closed = true;
    this.outbound.clear();
  }

  /** Resolves once the current socket (if any) has fully closed. */
  whenClosed(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.closed) return Promise.resolve();
    return new Promise((resolve) => socket.once("close", () => resolve()));
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
