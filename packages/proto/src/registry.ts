// Every message type generated from packages/proto/proto, by full name. The
// bus uses it to tell a known topic from garbage, and tools use it to decode
// any frame they see.
import { umbra } from "../generated/messages.js";
import { createCodec, typeNameOf, type GeneratedMessageClass, type MessageCodec } from "./codec.js";

function isMessageClass(value: unknown): value is GeneratedMessageClass {
  return (
    typeof value === "function" &&
    typeof (value as Partial<GeneratedMessageClass>).getTypeUrl === "function" &&
    typeof (value as Partial<GeneratedMessageClass>).decode === "function"
  );
}

function collect(ns: object, into: Map<string, GeneratedMessageClass>, depth: number): void {
  if (depth > 16) return;
  for (const value of Object.values(ns)) {
    if (isMessageClass(value)) {
      into.set(typeNameOf(value), value);
      collect(value, into, depth + 1); // nested message types hang off their parent class
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      collect(value, into, depth + 1);
    }
  }
}

const classes = new Map<string, GeneratedMessageClass>();
collect(umbra, classes, 0);

/** Full names of every known message type. */
export const messageTypeNames: ReadonlySet<string> = new Set(classes.keys());

export function isKnownMessageType(typeName: string): boolean {
  return classes.has(typeName);
}

const codecs = new WeakMap<GeneratedMessageClass, MessageCodec<unknown>>();

/** The (cached) codec of a generated class. */
export function codecFor<C extends GeneratedMessageClass>(cls: C): MessageCodec<C extends GeneratedMessageClass<infer M> ? M : never> {
  let codec = codecs.get(cls);
  if (!codec) {
    codec = createCodec(cls) as MessageCodec<unknown>;
    codecs.set(cls, codec);
  }
  return codec as MessageCodec<C extends GeneratedMessageClass<infer M> ? M : never>;
}

/** The generated class of a message type by its full name, or undefined if unknown. */
export function messageClassByName(typeName: string): GeneratedMessageClass | undefined {
  return classes.get(typeName);
}

/** The codec for a message type by its full name, or undefined if unknown. */
export function codecByName(typeName: string): MessageCodec<unknown> | undefined {
  const cls = classes.get(typeName);
  return cls ? codecFor(cls) : undefined;
}
