// One bus node: the local router of a process, joined to other nodes by links.
//
// Topics are message type full names. Each local subscriber has its own
// bounded priority queue; each link has one for outbound frames. Nodes form a
// tree (a hub with spokes, a board linked to a bench): a frame that arrives on
// one link is delivered locally and forwarded to every other link whose peer
// subscribed to its topic, which is loop-free on a tree. Replies travel on the
// requester's inbox topic ("@node"), which every node subscribes to itself, so
// they follow the same routing.
import { codecFor, umbra, type GeneratedMessageClass, type Init, type InitOf, type MessageCodec, type MessageOf, type Plain } from "@umbra/proto";
import type { Logger } from "pino";
import type { Clock, TimerHandle } from "../time/clock.js";
import { silentLogger } from "../log/logger.js";
import { BoundedPriorityQueue } from "./bounded-queue.js";
import {
  Kind,
  PROTOCOL_VERSION,
  MAX_TOPIC_LENGTH,
  decodeEnvelope,
  encodeEnvelope,
  inboxTopic,
  isValidNodeName,
  type Envelope,
} from "./envelope.js";
import { BusClosedError, BusRemoteError, BusTimeoutError } from "./errors.js";
import type { Link, LinkCounters, LinkEvents } from "./link.js";
import { Priority, addDropCounts, emptyDropCounts, isPriority, type DropCounts } from "./priority.js";
import { DEFAULT_MAX_FRAME_BYTES, checkMaxFrameBytes } from "./framing.js";
import { PublishRun, RUN_LIMIT_BYTES } from "./publish-run.js";

/** Who sent a message, when, and how. Given to every handler. */
export interface MessageMeta {
  topic: string;
  source: string;
  sequence: bigint;
  missionTimeNs: bigint;
  priority: Priority;
  target: string;
}

export type Handler<M> = (message: M, meta: MessageMeta) => void | Promise<void>;
/** Answers a request; returning undefined means "not mine": no reply is sent. */
export type RequestHandler<Q, R> = (request: Q, meta: MessageMeta) => R | undefined | Promise<R | undefined>;

export interface Subscription {
  readonly topic: string;
  unsubscribe(): void;
}

export interface BusOptions {
  /** This node's name: letters, digits and _ . : - (at most 64). */
  node: string;
  clock: Clock;
  /**
   * Clock for request/reply timeouts only; default `clock`. A slow reply is a
   * wall-time matter: a process following simulated time (a ToneClock at 60x)
   * gives this a RealClock so a 2 s timeout is not 33 ms of wall time.
   */
  timeoutClock?: Clock;
  logger?: Logger;
  /** Per-subscriber queue capacity (messages). */
  queueCapacity?: number;
  /** Default request timeout (ms of timeoutClock). */
  requestTimeoutMs?: number;
  /** Largest envelope this node sends or accepts. */
  maxFrameBytes?: number;
  /** Publish BusStats at this period (mission-time ms); 0 = only on request. */
  statsIntervalMs?: number;
}

export interface PublishOptions {
  priority?: Priority;
  target?: string;
}

export interface SubscribeOptions {
  /** Queue capacity for this subscriber. */
  capacity?: number;
}

export interface ServeOptions extends SubscribeOptions {
  /** Answer only requests addressed to this name (and untargeted ones if ""). */
  target?: string;
}

export interface RequestOptions {
  timeoutMs?: number;
  priority?: Priority;
  /** The service or node the request is for; "" = whoever serves it. */
  target?: string;
  /** Called with the request envelope's sequence number once it is sent (to match progress reports). */
  onSent?: (sequence: bigint) => void;
}

/** Counters of this node (64-bit counts as bigint). */
export type BusStatsSnapshot = Plain<umbra.bus.v1.BusStats>;

interface Delivery {
  message: unknown;
  meta: MessageMeta;
  /** For requests: where and how to reply. */
  replyTo?: string;
  correlationId?: bigint;
}

class LocalSubscriber {
  readonly queue: BoundedPriorityQueue<Delivery>;
  private running = false;
  closed = false;

  constructor(
    readonly topic: string,
    readonly kind: Kind,
    readonly target: string,
    readonly codec: MessageCodec<unknown>,
    readonly handle: (delivery: Delivery) => void | Promise<void>,
    capacity: number,
    private readonly onError: (err: unknown, topic: string) => void,
    private readonly onDelivered: () => void,
  ) {
    this.queue = new BoundedPriorityQueue(capacity);
  }

  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  enqueue(delivery: Delivery, priority: Priority): void {
    this.queue.offer(delivery, priority);
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.drain());
    }
  }

  // One message at a time per subscriber, so a handler sees its topic in order
  // and an async handler is never re-entered.
  private async drain(): Promise<void> {
    let sinceYield = 0;
    for (let next = this.queue.take(); next && !this.closed; next = this.queue.take()) {
      try {
        const result = this.handle(next);
        if (result !== undefined && typeof (result as Promise<void>).then === "function") await result;
      } catch (err) {
        this.onError(err, this.topic);
      }
      this.onDelivered();
      // Let I/O and timers in between long bursts.
      if (++sinceYield >= 256) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.running = false;
  }
}

interface PendingRequest {
  topic: string;
  target: string;
  codec: MessageCodec<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

function bigDrops(d: DropCounts) {
  return { bulk: BigInt(d.bulk), telemetry: BigInt(d.telemetry), command: BigInt(d.command), safety: BigInt(d.safety) };
}

function linkStats(peer: string, transport: string, connected: boolean, c: LinkCounters, dropped: DropCounts) {
  return {
    peer,
    transport,
    connected,
    framesIn: BigInt(c.framesIn),
    framesOut: BigInt(c.framesOut),
    bytesIn: BigInt(c.bytesIn),
    bytesOut: BigInt(c.bytesOut),
    malformedFrames: BigInt(c.malformedFrames),
    unknownTypes: BigInt(c.unknownTypes),
    framingViolations: BigInt(c.framingViolations),
    dropped: bigDrops(dropped),
    reconnects: BigInt(c.reconnects),
  };
}

const HELLO = "umbra.bus.v1.Hello";
const SUBSCRIPTIONS = "umbra.bus.v1.Subscriptions";
const MAX_ADVERTISED_TOPICS = 10_000;
/** Room left in a frame for the envelope's own fields (topic, names, counters). */
const ENVELOPE_HEADROOM_BYTES = 1024;
/** Smallest frame limit a bus node may have or accept from a peer. */
export const MIN_BUS_FRAME_BYTES = 2 * ENVELOPE_HEADROOM_BYTES;
const helloCodec = codecFor(umbra.bus.v1.Hello);
const subscriptionsCodec = codecFor(umbra.bus.v1.Subscriptions);

export class Bus implements LinkEvents {
  readonly node: string;
  readonly clock: Clock;
  /** Where request timeouts run (BusOptions.timeoutClock). */
  readonly timeoutClock: Clock;
  readonly maxFrameBytes: number;
  private readonly logger: Logger;
  private readonly queueCapacity: number;
  private readonly requestTimeoutMs: number;
  private readonly subscribers = new Map<string, LocalSubscriber[]>();
  private readonly links = new Set<Link>();
  private readonly pending = new Map<bigint, PendingRequest>();
  private readonly inbox: string;
  private sequence = 0n;
  private nextCorrelation = 1n;
  private closed = false;
  private statsTimer: TimerHandle | undefined;
  /** This turn's publishes for the links, gathered into one batch envelope (publish-run.ts). */
  private run: PublishRun | undefined;
  private runScratch: Buffer | undefined;
  private runFlushScheduled = false;
  private readonly flushRunAtTurnEnd = () => {
    this.runFlushScheduled = false;
    this.flushRun();
  };
  /** Drops of subscribers that have since gone, so totals never shrink. */
  private readonly retiredDrops: DropCounts = emptyDropCounts();
  /** Counters of links that have closed (served connections end with their socket). */
  private readonly retiredLinks = {
    count: 0,
    counters: { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, malformedFrames: 0, unknownTypes: 0, framingViolations: 0, reconnects: 0 } as LinkCounters,
    dropped: emptyDropCounts(),
  };
  private readonly counters = {
    published: 0,
    delivered: 0,
    handlerErrors: 0,
    decodeErrors: 0,
    unknownTypes: 0,
    requestsTimedOut: 0,
    lateReplies: 0,
  };

  constructor(options: BusOptions) {
    if (!isValidNodeName(options.node)) {
      throw new RangeError(`bus node name ${JSON.stringify(options.node)} must match [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}`);
    }
    this.node = options.node;
    this.clock = options.clock;
    this.timeoutClock = options.timeoutClock ?? options.clock;
    this.logger = (options.logger ?? silentLogger()).child({ bus: options.node });
    this.queueCapacity = options.queueCapacity ?? 1024;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    if (this.maxFrameBytes < MIN_BUS_FRAME_BYTES) throw new RangeError(`maxFrameBytes must be at least ${MIN_BUS_FRAME_BYTES}`);
    this.inbox = inboxTopic(this.node);
    this.serve(
      umbra.bus.v1.BusStatsRequest,
      umbra.bus.v1.BusStats,
      (req) => (req.node === "" || req.node === this.node ? this.stats() : undefined),
      { target: this.node },
    );
    const interval = options.statsIntervalMs ?? 0;
    if (interval > 0) {
      this.statsTimer = this.clock.setInterval(() => this.publish(umbra.bus.v1.BusStats, this.stats(), { priority: Priority.PRIORITY_TELEMETRY }), interval);
    }
  }

  // ---- publish / subscribe ----------------------------------------------

  /** Publishes a message to every subscriber of its type, here and on linked nodes. */
  publish<C extends GeneratedMessageClass>(type: C, value: InitOf<C>, options: PublishOptions = {}): void {
    this.assertOpen();
    const codec = codecFor(type);
    const payload = codec.encodeTransient(value as Init<unknown>); // used up by route() below
    const env = this.envelope(codec.typeName, Kind.KIND_PUBLISH, payload, options.priority ?? Priority.PRIORITY_TELEMETRY, options.target ?? "");
    this.counters.published++;
    this.route(env, undefined, undefined, true);
  }

  /** Calls handler for every message of this type, in order, one at a time. */
  subscribe<C extends GeneratedMessageClass>(type: C, handler: Handler<MessageOf<C>>, options: SubscribeOptions = {}): Subscription {
    const codec = codecFor(type) as MessageCodec<unknown>;
    return this.addSubscriber(codec, Kind.KIND_PUBLISH, "", (d) => handler(d.message as MessageOf<C>, d.meta), options.capacity);
  }

  /**
   * Whether a message of this type published now would reach a subscriber:
   * one on this node, or a peer that asked for the topic (a client link that
   * is reconnecting keeps its peer's topics and queues meanwhile). A
   * publisher that must not speak into the void (the gateway's telecommands)
   * asks first.
   */
  hasSubscribers<C extends GeneratedMessageClass>(type: C): boolean {
    const topic = codecFor(type).typeName;
    if (this.subscribers.get(topic)?.some((s) => s.kind === Kind.KIND_PUBLISH && !s.closed)) return true;
    for (const link of this.links) if (link.remoteTopics.has(topic)) return true;
    return false;
  }

  // ---- request / reply --------------------------------------------------

  /** Sends a request and waits for the first reply, or rejects with BusTimeoutError. */
  request<Q extends GeneratedMessageClass, R extends GeneratedMessageClass>(
    type: Q,
    value: InitOf<Q>,
    replyType: R,
    options: RequestOptions = {},
  ): Promise<MessageOf<R>> {
    if (this.closed) return Promise.reject(new BusClosedError(this.node));
    const codec = codecFor(type);
    let payload: Uint8Array;
    try {
      payload = codec.encode(value as Init<unknown>); // bytes of its own: requests are not the hot path, and the checks below come between
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new RangeError(`request timeout must be a positive number of ms, got ${timeoutMs}`));
    }
    const target = options.target ?? "";
    const correlationId = this.nextCorrelation++;
    let env: Envelope;
    try {
      env = this.envelope(codec.typeName, Kind.KIND_REQUEST, payload, options.priority ?? Priority.PRIORITY_COMMAND, target);
    } catch (err) {
      return Promise.reject(err);
    }
    env.correlationId = correlationId;
    env.replyTo = this.node;
    return new Promise<MessageOf<R>>((resolve, reject) => {
      const timer = this.timeoutClock.setTimeout(() => {
        if (this.pending.delete(correlationId)) {
          this.counters.requestsTimedOut++;
          reject(new BusTimeoutError(codec.typeName, target, timeoutMs));
        }
      }, timeoutMs);
      this.pending.set(correlationId, {
        topic: codec.typeName,
        target,
        codec: codecFor(replyType) as MessageCodec<unknown>,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
      });
      this.counters.published++;
      this.route(env, undefined, undefined);
      options.onSent?.(env.sequence);
    });
  }

  /** Answers requests of one type. */
  serve<Q extends GeneratedMessageClass, R extends GeneratedMessageClass>(
    type: Q,
    replyType: R,
    handler: RequestHandler<MessageOf<Q>, InitOf<R>>,
    options: ServeOptions = {},
  ): Subscription {
    const codec = codecFor(type) as MessageCodec<unknown>;
    const replyCodec = codecFor(replyType) as MessageCodec<unknown>;
    const target = options.target ?? "";
    return this.addSubscriber(
      codec,
      Kind.KIND_REQUEST,
      target,
      async (d) => {
        let reply: InitOf<R> | undefined;
        let error = "";
        try {
          reply = await handler(d.message as MessageOf<Q>, d.meta);
          if (reply === undefined) return;
        } catch (err) {
          this.counters.handlerErrors++;
          error = err instanceof Error ? err.message : String(err);
          if (!error) error = "handler failed";
        }
        let payload: Uint8Array = new Uint8Array(0);
        if (!error) {
          try {
            payload = replyCodec.encodeTransient(reply as Init<unknown>); // used up by route() below
          } catch (err) {
            error = `reply could not be encoded: ${(err as Error).message}`;
          }
        }
        if (this.closed) return;
        const env = this.envelope(inboxTopic(d.replyTo!), Kind.KIND_REPLY, payload, d.meta.priority, d.replyTo!);
        env.correlationId = d.correlationId!;
        env.error = error;
        this.counters.published++;
        this.route(env, undefined, undefined, true);
      },
      options.capacity,
    );
  }

  // ---- links -------------------------------------------------------------

  /** Joins a link (socket or in-process) to this node. */
  attach(link: Link): void {
    this.assertOpen();
    this.links.add(link);
    link.bind(this);
  }

  /** Removes a link; its peer's subscriptions are forgotten, its counters kept in the totals. */
  detach(link: Link): void {
    if (!this.links.has(link)) return;
    this.flushRun(); // what this node published before, the link still carries
    this.links.delete(link);
    link.close();
    this.retiredLinks.count++;
    for (const key of Object.keys(this.retiredLinks.counters) as (keyof LinkCounters)[]) this.retiredLinks.counters[key] += link.counters[key];
    addDropCounts(this.retiredLinks.dropped, link.outbound.dropped);
    this.readvertise();
  }

  linkUp(link: Link): void {
    link.advertisedKey = undefined;
    this.sendControl(link, HELLO, helloCodec.encode({ node: this.node, protocolVersion: PROTOCOL_VERSION, maxFrameBytes: this.maxFrameBytes }));
    this.advertise(link);
    this.logger.debug({ transport: link.transport }, "link up");
  }

  linkDown(link: Link, reason: string): void {
    this.logger.info({ transport: link.transport, reason }, "link down");
    this.readvertise();
  }

  linkFrame(link: Link, frame: Uint8Array): void {
    if (this.closed) return;
    if (frame.length > this.maxFrameBytes) {
      link.counters.malformedFrames++;
      return;
    }
    const decoded = decodeEnvelope(frame);
    if (!decoded.ok) {
      if (decoded.problem.kind === "unknown-type") {
        link.counters.unknownTypes++;
        this.counters.unknownTypes++;
      } else {
        link.counters.malformedFrames++;
      }
      this.logger.debug({ transport: link.transport, reason: decoded.problem.reason }, "frame dropped");
      return;
    }
    const env = decoded.envelope;
    if (env.kind === Kind.KIND_CONTROL) {
      this.handleControl(link, env);
      return;
    }
    if (!link.peer) {
      // Data before the peer said who it is: not a bus node speaking the protocol.
      link.counters.malformedFrames++;
      return;
    }
    this.route(env, frame, link);
  }

  // ---- statistics ---------------------------------------------------------

  /** This node's counters: published, delivered, dropped, errors, per-link. */
  stats(): BusStatsSnapshot {
    const dropped = addDropCounts(emptyDropCounts(), this.retiredDrops);
    for (const subs of this.subscribers.values()) for (const s of subs) addDropCounts(dropped, s.queue.dropped);
    return {
      node: this.node,
      published: BigInt(this.counters.published),
      delivered: BigInt(this.counters.delivered),
      dropped: bigDrops(dropped),
      handlerErrors: BigInt(this.counters.handlerErrors),
      decodeErrors: BigInt(this.counters.decodeErrors),
      unknownTypes: BigInt(this.counters.unknownTypes),
      requestsTimedOut: BigInt(this.counters.requestsTimedOut),
      lateReplies: BigInt(this.counters.lateReplies),
      missionTimeNs: this.clock.nowTaiNs(),
      links: [...this.links].map((l) => linkStats(l.peer, l.transport, l.connected, l.counters, l.outbound.dropped)),
      closedLinks: linkStats("", `${this.retiredLinks.count} closed`, false, this.retiredLinks.counters, this.retiredLinks.dropped),
    };
  }

  /** Resolves once every local subscriber has handled everything queued for it. */
  async idle(maxTurns = 10_000): Promise<void> {
    for (let turn = 0; turn < maxTurns; turn++) {
      this.flushRun();
      let busy = false;
      for (const subs of this.subscribers.values()) for (const s of subs) if (s.busy) busy = true;
      for (const link of this.links) if (link.connected && link.pendingFrames > 0) busy = true;
      if (!busy) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    throw new Error(`bus ${this.node} still busy after ${maxTurns} turns`);
  }

  /** Closes every link, fails pending requests, stops deliveries. */
  close(): void {
    if (this.closed) return;
    this.flushRun(); // last words go out
    this.closed = true;
    this.statsTimer?.cancel();
    for (const link of this.links) link.close();
    this.links.clear();
    for (const [id, p] of this.pending) {
      p.timer.cancel();
      p.reject(new BusClosedError(this.node));
      this.pending.delete(id);
    }
    for (const subs of this.subscribers.values()) for (const s of subs) s.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- internals ----------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError(this.node);
  }

  private envelope(topic: string, kind: Kind, payload: Uint8Array, priority: Priority, target: string): Envelope {
    if (!isPriority(priority)) throw new RangeError(`priority ${priority} is not a priority class`);
    if (target.length > 64) throw new RangeError(`target ${JSON.stringify(target.slice(0, 80))} is longer than 64 characters`);
    if (payload.length > this.maxFrameBytes - ENVELOPE_HEADROOM_BYTES) {
      throw new RangeError(`${topic}: message of ${payload.length} bytes exceeds the bus maximum of ${this.maxFrameBytes - ENVELOPE_HEADROOM_BYTES}`);
    }
    this.sequence++;
    return {
      topic,
      source: this.node,
      sequence: this.sequence,
      missionTimeNs: this.clock.nowTaiNs(),
      priority,
      kind,
      payload,
      correlationId: 0n,
      replyTo: "",
      target,
      error: "",
      batch: undefined,
    };
  }

  private addSubscriber(
    codec: MessageCodec<unknown>,
    kind: Kind,
    target: string,
    handle: (d: Delivery) => void | Promise<void>,
    capacity: number | undefined,
  ): Subscription {
    this.assertOpen();
    const sub = new LocalSubscriber(
      codec.typeName,
      kind,
      target,
      codec,
      handle,
      capacity ?? this.queueCapacity,
      (err, topic) => {
        this.counters.handlerErrors++;
        this.logger.warn({ err, topic }, "handler failed");
      },
      () => this.counters.delivered++,
    );
    const list = this.subscribers.get(codec.typeName);
    const isNewTopic = !list;
    if (list) list.push(sub);
    else this.subscribers.set(codec.typeName, [sub]);
    if (isNewTopic) this.readvertise();
    return {
      topic: codec.typeName,
      unsubscribe: () => {
        if (sub.closed) return;
        sub.closed = true;
        addDropCounts(this.retiredDrops, sub.queue.dropped);
        const current = this.subscribers.get(codec.typeName) ?? [];
        const rest = current.filter((s) => s !== sub);
        if (rest.length) this.subscribers.set(codec.typeName, rest);
        else {
          this.subscribers.delete(codec.typeName);
          this.readvertise();
        }
      },
    };
  }

  /**
   * Delivers locally and forwards to interested links (never back where it came
   * from). A link gets the envelope's own encoded bytes; this node's own
   * publishes go through the turn's PublishRun and may leave batched.
   * `transientPayload` says env.payload is a codec's transient view
   * (MessageCodec.encodeTransient), which the next encode overwrites: a
   * message decoded here keeps views of its bytes fields into the payload, so
   * the payload is copied before a local decode.
   */
  private route(env: Envelope, frame: Uint8Array | undefined, from: Link | undefined, transientPayload = false): void {
    if (env.kind === Kind.KIND_REPLY && env.topic === this.inbox) {
      if (transientPayload) env.payload = Buffer.from(env.payload); // a copy (Buffer#slice would be a view)
      this.handleReply(env);
      return;
    }
    const subs = this.subscribers.get(env.topic);
    if (subs) {
      if (transientPayload) env.payload = Buffer.from(env.payload); // a copy (Buffer#slice would be a view)
      this.deliverLocal(env, subs);
    }
    if (from === undefined && env.kind === Kind.KIND_PUBLISH) {
      this.gather(env);
      return;
    }
    this.flushRun(); // what was gathered was published first, so it goes first
    const messages = 1 + (env.batch?.count ?? 0);
    for (const link of this.links) {
      if (link === from || !link.remoteTopics.has(env.topic)) continue;
      frame ??= encodeEnvelope(env);
      link.send(frame, env.priority, messages);
    }
  }

  /** Adds one of this node's publishes to the turn's run, or starts a new run with it. */
  private gather(env: Envelope): void {
    if (this.run?.tryAdd(env)) return;
    this.flushRun();
    let limit = Math.min(RUN_LIMIT_BYTES, this.maxFrameBytes);
    let wanted = false;
    for (const link of this.links) {
      if (!link.remoteTopics.has(env.topic)) continue;
      wanted = true;
      limit = Math.min(limit, link.peerMaxFrameBytes);
    }
    if (!wanted) return;
    this.runScratch ??= Buffer.allocUnsafe(RUN_LIMIT_BYTES);
    this.run = new PublishRun(env, limit, this.runScratch);
    if (!this.runFlushScheduled) {
      this.runFlushScheduled = true;
      // After this turn's callbacks and promise jobs: a burst published from
      // one handler, or from a subscriber draining its queue, is one run.
      process.nextTick(this.flushRunAtTurnEnd);
    }
  }

  /** Sends the gathered run to every link that wants its topic. */
  private flushRun(): void {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    const frame = run.encode();
    for (const link of this.links) if (link.remoteTopics.has(run.topic)) link.send(frame, run.priority, run.messages);
  }

  private deliverLocal(env: Envelope, subs: LocalSubscriber[]): void {
    this.deliverOne(env, env.payload, 0, env.payload.length, env.sequence, env.missionTimeNs, subs);
    const batch = env.batch;
    if (!batch) return;
    // Each further message is delivered (and queued, and maybe dropped) on its own.
    let sequence = env.sequence;
    let time = env.missionTimeNs;
    for (let i = 0; i < batch.count; i++) {
      sequence += 1n;
      const delta = batch.timeDeltasNs[i]!;
      if (delta !== 0) time += BigInt(delta);
      this.deliverOne(env, batch.bytes, batch.offsets[i]!, batch.lengths[i]!, sequence, time, subs);
    }
  }

  /** Delivers the message whose payload is `length` bytes at `offset` of `bytes`. */
  private deliverOne(env: Envelope, bytes: Uint8Array, offset: number, length: number, sequence: bigint, missionTimeNs: bigint, subs: LocalSubscriber[]): void {
    let message: unknown;
    let decoded = false;
    const meta: MessageMeta = {
      topic: env.topic,
      source: env.source,
      sequence,
      missionTimeNs,
      priority: env.priority,
      target: env.target,
    };
    for (const sub of subs) {
      if (sub.kind !== env.kind || sub.closed) continue;
      if (env.kind === Kind.KIND_REQUEST && env.target !== "" && env.target !== sub.target) continue;
      if (!decoded) {
        decoded = true;
        try {
          message = sub.codec.decodeAt(bytes, offset, length);
        } catch (err) {
          this.counters.decodeErrors++;
          this.logger.debug({ topic: env.topic, source: env.source, err: (err as Error).message }, "payload dropped");
          return;
        }
      }
      sub.enqueue({ message, meta, replyTo: env.replyTo, correlationId: env.correlationId }, env.priority);
    }
  }

  private handleReply(env: Envelope): void {
    const pending = this.pending.get(env.correlationId);
    if (!pending) {
      this.counters.lateReplies++;
      return;
    }
    this.pending.delete(env.correlationId);
    pending.timer.cancel();
    if (env.error) {
      pending.reject(new BusRemoteError(pending.topic, env.source, env.error));
      return;
    }
    try {
      pending.resolve(pending.codec.decode(env.payload));
    } catch (err) {
      this.counters.decodeErrors++;
      pending.reject(err as Error);
    }
  }

  private handleControl(link: Link, env: Envelope): void {
    try {
      if (env.topic === HELLO) {
        const hello = helloCodec.decode(env.payload);
        if (
          hello.protocolVersion !== PROTOCOL_VERSION ||
          !isValidNodeName(hello.node) ||
          hello.node === this.node || // a loop back to ourselves, or two nodes with one name
          hello.maxFrameBytes < MIN_BUS_FRAME_BYTES
        ) {
          link.counters.malformedFrames++;
          this.logger.warn({ transport: link.transport, hello: { ...hello } }, "incompatible hello; dropping connection");
          (link as Link & { dropConnection?(reason: string): void }).dropConnection?.("incompatible hello");
          return;
        }
        link.peer = hello.node;
        link.peerMaxFrameBytes = hello.maxFrameBytes;
        this.logger.info({ transport: link.transport, peer: hello.node }, "peer joined");
      } else if (env.topic === SUBSCRIPTIONS) {
        if (!link.peer) {
          link.counters.malformedFrames++; // subscriptions from a peer that has not said who it is
          return;
        }
        const subs = subscriptionsCodec.decode(env.payload);
        if (subs.topics.length > MAX_ADVERTISED_TOPICS || subs.topics.some((t) => !t || t.length > MAX_TOPIC_LENGTH)) {
          link.counters.malformedFrames++;
          return;
        }
        link.remoteTopics = new Set(subs.topics);
        this.readvertise(link);
        link.markSynced();
      } else {
        link.counters.malformedFrames++;
      }
    } catch {
      link.counters.malformedFrames++;
    }
  }

  private sendControl(link: Link, topic: string, payload: Uint8Array): void {
    const env = this.envelope(topic, Kind.KIND_CONTROL, payload, Priority.PRIORITY_SAFETY, "");
    link.sendControl(encodeEnvelope(env));
  }

  /** Topics a link's peer should send us: ours plus every other link's. */
  private interestFor(link: Link): string[] {
    const topics = new Set<string>(this.subscribers.keys());
    topics.add(this.inbox);
    for (const other of this.links) if (other !== link) for (const t of other.remoteTopics) topics.add(t);
    return [...topics].sort();
  }

  private advertise(link: Link): void {
    if (!link.connected) return;
    const topics = this.interestFor(link);
    const key = topics.join("\n");
    if (key === link.advertisedKey) return;
    link.advertisedKey = key;
    this.sendControl(link, SUBSCRIPTIONS, subscriptionsCodec.encode({ topics }));
  }

  private readvertise(except?: Link): void {
    if (this.closed) return;
    for (const link of this.links) if (link !== except) this.advertise(link);
  }
}
