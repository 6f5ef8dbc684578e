// Hand-built frames for tests that play a peer byte by byte.
import { umbra } from "@umbra/proto";
import { encodeEnvelope, Kind, PROTOCOL_VERSION } from "../../src/bus/envelope.js";
import { Priority } from "../../src/bus/priority.js";

export function helloFrame(node: string, maxFrameBytes = 1 << 20, protocolVersion = PROTOCOL_VERSION): Uint8Array {
  return encodeEnvelope({
    topic: "umbra.bus.v1.Hello",
    source: node,
    sequence: 1n,
    missionTimeNs: 0n,
    priority: Priority.PRIORITY_SAFETY,
    kind: Kind.KIND_CONTROL,
    payload: umbra.bus.v1.Hello.encode({ node, protocolVersion, maxFrameBytes }).finish(),
    correlationId: 0n,
    replyTo: "",
    target: "",
    error: "",
    batch: undefined,
  });
}
