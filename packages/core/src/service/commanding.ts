// The command pattern on the bus: a request addressed to one service by name,
// at command priority, answered with a CommandResult that always says how the
// command ended (completed, rejected and why, or failed).
import { umbra, type GeneratedMessageClass, type InitOf } from "@umbra/proto";
import type { Bus } from "../bus/bus.js";
import { Priority } from "../bus/priority.js";
import type { CommandResult } from "./service.js";

export interface SendCommandOptions {
  timeoutMs?: number;
  /** Called with the request's envelope sequence number: progress reports name it. */
  onSent?: (sequence: bigint) => void;
}

/** Sends a declared command to a service and waits for its CommandResult. */
export function sendCommand<C extends GeneratedMessageClass>(
  bus: Bus,
  service: string,
  type: C,
  args: InitOf<C>,
  options: SendCommandOptions = {},
): Promise<CommandResult> {
  if (!service) return Promise.reject(new RangeError("a command needs the name of the service it is for"));
  return bus.request(type, args, umbra.core.v1.CommandResult, {
    target: service,
    priority: Priority.PRIORITY_COMMAND,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.onSent === undefined ? {} : { onSent: options.onSent }),
  });
}
