// The bus envelope on the wire, and the checks every received envelope passes
// before anything acts on it.
import { umbra, isKnownMessageType } from "@umbra/proto";
import { isPriority, type Priority } from "./priority.js";
import { MAX_BATCH_TIME_DELTA_NS, WireBatch, decodeWireEnvelope, encodeWireEnvelope, type DecodedWireEnvelope } from "./envelope-wire.js";

export const Kind = umbra.bus.v1.Kind;
export type Kind = umbra.bus.v1.Kind;

/** 2: envelopes may carry a batch (field 12), which a version 1 node would silently skip. */
export const PROTOCOL_VERSION = 2;
export const MAX_TOPIC_LENGTH = 200;
export const MAX_NODE_LENGTH = 64;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Replies travel on the requester's inbox topic: "@" + node name. */
export const INBOX_PREFIX = "@";

// Checked on every frame (source, reply_to); the same few names recur.
const validNames = new Set<string>();

export function isValidNodeName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!NODE_NAME.test(name)) return false;
  if (validNames.size < 4096) validNames.add(name);
  return true;
}

export function inboxTopic(node: string): string {
  return INBOX_PREFIX + node;
}

const U64_MAX = (1n << 64n) - 1n;

/** An envelope as Umbra code sees it: 64-bit fields as bigint. */
export interface Envelope {
  topic: string;
  source: string;
  sequence: bigint;
  missionTimeNs: bigint;
  priority: Priority;
  kind: Kind;
  payload: Uint8Array;
  correlationId: bigint;
  replyTo: string;
  target: string;
  error: string;
  /**
   * A batch (received only): further publishes of the same topic from the
   * same source, with the same priority and target, in order after this
   * one. Their sequences follow on from `sequence` one by one. A node's own
   * batches are built by PublishRun, never from an Envelope.
   */
  batch: WireBatch | undefined;
}

/** Encodes a single-message envelope; throws RangeError for a value the wire cannot carry. */
export function encodeEnvelope(env: Envelope): Uint8Array {
  if (env.batch) throw new RangeError("envelope: a received batch is forwarded as its frame, never encoded again");
  return encodeWireEnvelope(env);
}

export type EnvelopeProblem =
  | { kind: "malformed"; reason: string }
  | { kind: "unknown-type"; reason: string };

export type DecodedEnvelope = { ok: true; envelope: Envelope } | { ok: false; problem: EnvelopeProblem };

function malformed(reason: string): DecodedEnvelope {
  return { ok: false, problem: { kind: "malformed", reason } };
}

/** Kinds the wire may carry (an enum value must name one). */
const KINDS: ReadonlySet<number> = new Set(Object.values(Kind).filter((v): v is number => typeof v === "number"));

/**
 * Decodes and validates one frame's bytes. Never throws: bad input comes back
 * as a problem naming the field.
 */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  let m: DecodedWireEnvelope;
  try {
    m = decodeWireEnvelope(bytes);
  } catch (err) {
    return { ok: false, problem: { kind: "malformed", reason: `not an envelope: ${(err as Error).message}` } };
  }
  if (!m.topic) return malformed("topic: empty");
  if (m.topic.length > MAX_TOPIC_LENGTH) return malformed(`topic: longer than ${MAX_TOPIC_LENGTH} characters`);
  if (!isValidNodeName(m.source)) return malformed("source: not a valid node name");
  if (!isPriority(m.priority)) return malformed(`priority: ${m.priority} is not a priority class`);
  if (!KINDS.has(m.kind)) return malformed(`kind: ${m.kind} is not a kind`);
  if (m.replyTo && !isValidNodeName(m.replyTo)) return malformed("reply_to: not a valid node name");
  if (m.target.length > MAX_NODE_LENGTH) return malformed(`target: longer than ${MAX_NODE_LENGTH} characters`);
  if (m.kind === Kind.KIND_REPLY) {
    if (!m.topic.startsWith(INBOX_PREFIX) || !isValidNodeName(m.topic.slice(INBOX_PREFIX.length))) {
      return malformed("topic: a reply must travel on an inbox topic (@node)");
    }
  } else {
    if (m.kind === Kind.KIND_REQUEST && !m.replyTo) return malformed("reply_to: a request needs a node to reply to");
    if (!isKnownMessageType(m.topic)) {
      const shown = JSON.stringify(m.topic.slice(0, 80));
      return { ok: false, problem: { kind: "unknown-type", reason: `topic: ${shown} is not a known message type` } };
    }
  }
  if (m.batch === undefined) {
    // Checked above: priority and kind are in range, so the wire fields are the envelope.
    return { ok: true, envelope: m as Envelope };
  }
  const batch = m.batch;
  if (m.kind !== Kind.KIND_PUBLISH) return malformed("more: only a publish can carry a batch");
  if (m.sequence + BigInt(batch.count) > U64_MAX) return malformed("more: the batch's sequence numbers run past 2^64-1");
  // Every message's time must be a uint64: check the lowest and highest running sums.
  let sum = 0;
  let low = 0;
  let high = 0;
  for (let i = 0; i < batch.count; i++) {
    sum += batch.timeDeltasNs[i]!;
    if (sum < -MAX_BATCH_TIME_DELTA_NS || sum > MAX_BATCH_TIME_DELTA_NS) return malformed(`more[${i}]: time deltas add up beyond ±2^52 ns`);
    if (sum < low) low = sum;
    else if (sum > high) high = sum;
  }
  if (m.missionTimeNs + BigInt(low) < 0n || m.missionTimeNs + BigInt(high) > U64_MAX) {
    return malformed("more: a message's mission time falls outside 0..2^64-1");
  }
  return { ok: true, envelope: m as Envelope };
}
