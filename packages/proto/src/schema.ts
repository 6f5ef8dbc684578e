// The schema as protobufjs reflection (from the descriptor pbjs writes at build
// time), for the code that needs to know a message type's fields: the value
// checks before encoding and the defaults filled in after decoding.
import protobuf from "protobufjs/light.js";
import descriptor from "../generated/descriptor.js";

export const schemaRoot = protobuf.Root.fromJSON(descriptor);
schemaRoot.resolveAll();

/** The reflected type of a full message type name, or null if there is none. */
export function reflectedType(typeName: string): protobuf.Type | null {
  try {
    return schemaRoot.lookupType(typeName);
  } catch {
    return null;
  }
}
