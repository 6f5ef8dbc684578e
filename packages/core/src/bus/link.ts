// A link joins this bus node to one peer node. Transports differ only in how
// bytes move; everything above (hello, subscriptions, routing) is the bus's.
import { BoundedPriorityQueue } from "./bounded-queue.js";
import type { Priority } from "./priority.js";

export interface LinkCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  malformedFrames: number;
  unknownTypes: number;
  framingViolations: number;
  reconnects: number;
}

/** What a link tells the bus it is attached to. */
export interface LinkEvents {
  /** The transport is connected and can carry frames. */
  linkUp(link: Link): void;
  /** One frame's bytes arrived (framing already removed). */
  linkFrame(link: Link, frame: Uint8Array): void;
  /** The transport went down; it may come back (client links reconnect). */
  linkDown(link: Link, reason: string): void;
}

export const DEFAULT_LINK_QUEUE_CAPACITY = 4096;

/** A frame waiting in a link's queue, and how many messages it carries (a batch carries several). */
export interface QueuedFrame {
  bytes: Uint8Array;
  messages: number;
}

export abstract class Link {
  readonly counters: LinkCounters = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    malformedFrames: 0,
    unknownTypes: 0,
    framingViolations: 0,
    reconnects: 0,
  };
  /** Frames waiting for the transport; bounded, lowest class dropped first; drops counted per message. */
  readonly outbound: BoundedPriorityQueue<QueuedFrame>;
  /** Node name the peer gave in its Hello ("" until then). */
  peer = "";
  /** Largest frame the peer accepts, from its Hello. */
  peerMaxFrameBytes = Number.MAX_SAFE_INTEGER;
  /** Topics the peer asked for. */
  remoteTopics: ReadonlySet<string> = new Set();
  /** Key of the topic set last advertised to the peer, to skip repeats. */
  advertisedKey: string | undefined;
  protected events: LinkEvents | undefined;
  /** True once the peer's subscriptions have arrived on this connection. */
  synced = false;
  private syncWaiters: Array<() => void> = [];

  constructor(
    readonly transport: string,
    queueCapacity = DEFAULT_LINK_QUEUE_CAPACITY,
  ) {
    this.outbound = new BoundedPriorityQueue<QueuedFrame>(queueCapacity, (f) => f.messages);
  }

  /** Called once by the bus the link is attached to. */
  bind(events: LinkEvents): void {
    if (this.events) throw new Error(`link ${this.transport} is already attached to a bus`);
    this.events = events;
    if (this.connected) events.linkUp(this);
  }

  abstract get connected(): boolean;

  /** Frames accepted but not yet handed to the transport. */
  get pendingFrames(): number {
    return this.outbound.length;
  }
  /**
   * Queues one envelope's bytes for the peer. Never throws, never blocks.
   * `messages` is how many messages the envelope carries (a batch), so a
   * drop is counted per message.
   */
  abstract send(frame: Uint8Array, priority: Priority, messages?: number): void;
  /**
   * Sends a link-control frame (Hello, Subscriptions) ahead of queued data and
   * outside the bounded queue, so a backlog can never evict the handshake.
   * Dropped if not connected: control belongs to one connection.
   */
  abstract sendControl(frame: Uint8Array): void;
  /** Closes the link for good. */
  abstract close(): void;

  /** Called by the bus when the peer's subscriptions arrive. */
  markSynced(): void {
    this.synced = true;
    for (const wake of this.syncWaiters.splice(0)) wake();
  }

  /**
   * Resolves once the peer has said what it wants. Until then nothing is
   * forwarded to it, so a node should wait for this before publishing
   * start-up messages it wants seen.
   */
  whenSynced(timeoutMs: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== wake);
        reject(new Error(`link ${this.transport}: peer sent no subscriptions within ${timeoutMs} ms`));
      }, timeoutMs);
      this.syncWaiters.push(wake);
    });
  }

  /**
   * Forget per-connection peer state; called when the transport drops. A link
   * that will reconnect keeps the peer's last known topics, so what is
   * published meanwhile waits in its bounded queue instead of being skipped;
   * the peer's next Subscriptions replace them.
   */
  protected resetPeer(keepInterest = false): void {
    this.synced = false;
    this.peer = "";
    this.peerMaxFrameBytes = Number.MAX_SAFE_INTEGER;
    if (!keepInterest) this.remoteTopics = new Set();
    this.advertisedKey = undefined;
  }
}
