// The bus envelope on the wire, and the checks every received envelope passes
// before anything acts on it.
import { umbra, isKnownMessageType } from "@umbra/proto";
import { isPriority, type Priority } from "./priority.js";
import { decodeWireEnvelope, encodeWireEnvelope, type WireEnvelope } from "./envelope-wire.js";

export const Kind = umbra.bus.v1.Kind;
export type Kind = umbra.bus.v1.Kind;

export const PROTOCOL_VERSION = 1;
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
}

export function encodeEnvelope(env: Envelope): Uint8Array {
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
  let m: WireEnvelope;
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
  // Checked above: priority and kind are in range, so the wire fields are the envelope.
  return { ok: true, envelope: m as Envelope };
}
