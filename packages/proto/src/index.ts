export { umbra } from "../generated/messages.js";
export {
  CodecError,
  createCodec,
  typeNameOf,
  type GeneratedMessageClass,
  type Init,
  type InitField,
  type InitOf,
  type InstanceOf,
  type MessageCodec,
  type MessageOf,
  type Plain,
  type PlainField,
  type PlainValue,
} from "./codec.js";
export { codecByName, codecFor, isKnownMessageType, messageClassByName, messageTypeNames } from "./registry.js";
export { validateMessage } from "./validate.js";
export { INTEGER_RANGES, integerRange, isSixtyFourBit, type IntegerType } from "./scalars.js";
/** The JSON descriptor of every message (protobufjs INamespace): for tools that need reflection, e.g. the gateway's argument schemas and XTCE export. */
export { default as messageDescriptor } from "../generated/descriptor.js";
