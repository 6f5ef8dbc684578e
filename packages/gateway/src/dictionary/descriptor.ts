// The reflection the gateway builds argument schemas from: @umbra/proto's
// JSON descriptor of every message.
import { messageDescriptor } from "@umbra/proto";
import { ProtoTypes, type DescriptorNode } from "./proto-types.js";

let loaded: Promise<ProtoTypes> | undefined;

export function loadProtoTypes(): Promise<ProtoTypes> {
  loaded ??= Promise.resolve(new ProtoTypes(messageDescriptor as DescriptorNode));
  return loaded;
}
