// Two bus nodes in one process (tests, fast-time HIL). Frames still cross as
// encoded bytes, so the receiving node validates them exactly as it would a
// socket's, and delivery is asynchronous as on a real transport.
import { Link, type LinkEvents } from "./link.js";
import type { Priority } from "./priority.js";

export class InProcessLink extends Link {
  private peerLink: InProcessLink | undefined;
  private open = true;
  private flushScheduled = false;

  private constructor(name: string, queueCapacity?: number) {
    super(`in-process:${name}`, queueCapacity);
  }

  /** A connected pair of link ends: attach one to each bus. */
  static pair(name = "pair", queueCapacity?: number): [InProcessLink, InProcessLink] {
    const a = new InProcessLink(`${name}/a`, queueCapacity);
    const b = new InProcessLink(`${name}/b`, queueCapacity);
    a.peerLink = b;
    b.peerLink = a;
    return [a, b];
  }

  get connected(): boolean {
    const peer = this.peerLink;
    return this.open && this.events !== undefined && peer !== undefined && peer.open && peer.events !== undefined;
  }

  override bind(events: LinkEvents): void {
    super.bind(events);
    // The pair is up only once both ends have a bus: tell the other end now.
    const peer = this.peerLink;
    if (peer && this.connected) peer.events?.linkUp(peer);
  }

  send(frame: Uint8Array, priority: Priority, messages = 1): void {
    this.outbound.offer({ bytes: frame, messages }, priority);
    this.scheduleFlush();
  }

  private control: Uint8Array[] = [];

  override get pendingFrames(): number {
    return this.outbound.length + this.control.length;
  }

  sendControl(frame: Uint8Array): void {
    if (!this.connected) return;
    this.control.push(frame);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.connected) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const peer = this.peerLink;
    if (!this.connected || !peer) return;
    for (const frame of this.control.splice(0)) this.deliver(peer, frame);
    for (let next = this.outbound.poll(); next; next = this.outbound.poll()) this.deliver(peer, next.item.bytes);
  }

  private deliver(peer: InProcessLink, frame: Uint8Array): void {
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
    peer.counters.framesIn++;
    peer.counters.bytesIn += frame.length;
    peer.events?.linkFrame(peer, frame);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.outbound.clear();
    this.control = [];
    this.resetPeer();
    this.events?.linkDown(this, "closed");
    const peer = this.peerLink;
    if (peer && peer.open) {
      peer.resetPeer();
      peer.events?.linkDown(peer, "peer closed");
    }
  }
}
