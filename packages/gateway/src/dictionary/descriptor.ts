// The reflection the gateway builds argument schemas and the XTCE export
// from: @umbra/proto's JSON descriptor of every message, walked once.
import { messageDescriptor } from "@umbra/proto";
import { ProtoTypes, type DescriptorNode } from "./proto-types.js";

let types: ProtoTypes | undefined;

export function umbraProtoTypes(): ProtoTypes {
  types ??= new ProtoTypes(messageDescriptor as DescriptorNode);
  return types;
}

export function loadProtoTypes(): Promise<ProtoTypes> {
  return Promise.resolve(umbraProtoTypes());
}
