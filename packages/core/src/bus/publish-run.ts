// A run of consecutive publishes of one topic, gathered while one turn of the
// event loop runs and sent to the links as one batch envelope (docs/icd.md,
// section 2.1). Pure logic, no I/O.
//
// A service that publishes a burst (a telemetry sweep, a flood of samples)
// then costs the link one envelope header, one frame and one routing decision
// per batch instead of per message, and the receiving node decodes one header
// for the lot. A run only ever holds publishes that would have been sent back
// to back anyway: any other envelope for the links ends it first, so the
// order on every link is what it would have been without batching.
import { MAX_BATCH_MESSAGES, MAX_BATCH_TIME_DELTA_NS, appendBatched } from "./envelope-wire.js";
import { Kind, encodeEnvelope, type Envelope } from "./envelope.js";
import type { Priority } from "./priority.js";

/**
 * Bytes a batch may grow to. The same as the CorkedWriter's early flush, so
 * a full batch goes out at once and the peer starts on it while this process
 * gathers the next.
 */
export const RUN_LIMIT_BYTES = 16 * 1024;
/**
 * Payloads this large are never batched: the envelope's own fields are small
 * beside them, and a batch would copy them twice (into the run, then into the
 * frame) where a lone envelope is written to the socket without a copy.
 */
export const BATCH_PAYLOADS_BELOW_BYTES = 1024;

const MAX_DELTA = BigInt(MAX_BATCH_TIME_DELTA_NS);

export class PublishRun {
  readonly topic: string;
  readonly priority: Priority;
  readonly target: string;
  /** Messages gathered, the first included. */
  messages = 1;
  /** The sequence number a publish must have to join (nothing else sent in between). */
  private nextSequence: bigint;
  private lastTimeNs: bigint;
  /** Time of the last message gathered less the first's. */
  private spanNs = 0n;
  /** The first message's envelope, encoded: a run of one is sent as exactly this. */
  private readonly head: Uint8Array;
  private tailBytes = 0;
  /** Room in the scratch for further messages: the limit less the head. */
  private readonly tailEnd: number;

  /**
   * @param first the first publish (its payload is copied now, so a transient one is fine)
   * @param limitBytes the largest batch envelope any receiving peer accepts (at most RUN_LIMIT_BYTES)
   * @param scratch where the further messages are written until encode(); at least limitBytes long, owned by one run at a time
   */
  constructor(
    first: Envelope,
    limitBytes: number,
    private readonly scratch: Buffer,
  ) {
    if (first.kind !== Kind.KIND_PUBLISH) throw new RangeError("only publishes are batched");
    if (scratch.length < limitBytes) throw new RangeError(`scratch of ${scratch.length} bytes is shorter than the limit ${limitBytes}`);
    this.topic = first.topic;
    this.priority = first.priority;
    this.target = first.target;
    this.nextSequence = first.sequence + 1n;
    this.lastTimeNs = first.missionTimeNs;
    this.head = encodeEnvelope(first);
    this.tailEnd = limitBytes - this.head.length;
  }

  /** Bytes of the batch envelope so far. */
  get bytes(): number {
    return this.head.length + this.tailBytes;
  }

  /**
   * Adds the publish if it belongs to this run: same topic, priority and
   * target, the very next sequence number of this node (nothing else was
   * sent in between), small payloads on both sides, and room left. Its
   * payload is copied now.
   */
  tryAdd(env: Envelope): boolean {
    if (
      env.kind !== Kind.KIND_PUBLISH ||
      env.topic !== this.topic ||
      env.priority !== this.priority ||
      env.target !== this.target ||
      env.sequence !== this.nextSequence ||
      this.messages > MAX_BATCH_MESSAGES ||
      env.payload.length >= BATCH_PAYLOADS_BELOW_BYTES ||
      this.head.length >= BATCH_PAYLOADS_BELOW_BYTES
    ) {
      return false;
    }
    let delta = 0n;
    let span = this.spanNs;
    // Most of a run is stamped with one clock reading (ms resolution): no arithmetic then.
    if (env.missionTimeNs !== this.lastTimeNs) {
      delta = env.missionTimeNs - this.lastTimeNs;
      // A clock step this large (never within one turn, but a clock may be set)
      // starts a new run; strictly inside ±2^52, which every receiver takes.
      span += delta;
      if (delta >= MAX_DELTA || delta <= -MAX_DELTA || span >= MAX_DELTA || span <= -MAX_DELTA) return false;
    }
    const end = appendBatched(this.scratch, this.tailBytes, this.tailEnd, env.payload, delta);
    if (end < 0) return false;
    this.tailBytes = end;
    this.nextSequence = env.sequence + 1n;
    this.lastTimeNs = env.missionTimeNs;
    this.spanNs = span;
    this.messages++;
    return true;
  }

  /** The envelope to send: the first message's, with the others appended as field 12. */
  encode(): Uint8Array {
    if (this.tailBytes === 0) return this.head;
    const out = Buffer.allocUnsafe(this.bytes);
    out.set(this.head, 0);
    this.scratch.copy(out, this.head.length, 0, this.tailBytes);
    return out;
  }
}
