// umbra.hil.v1.InjectFault is outside input (any node on the bus may send
// it): checked here, field by field, before anything is signalled. Pure.
import type { FaultAction } from "../report/report.js";

export const INJECT_FAULT_KINDS = ["hang", "kill", "reset-payload"] as const;
/** Same bounds as a scheduled hang's duration. */
export const MAX_HANG_S = 86400;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export interface InjectFaultRequest {
  kind: string;
  service: string;
  durationS: number;
}

const quote = (s: string) => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

/** The action to apply, or why the request is refused (nothing is done then). */
export function parseInjectFault(req: InjectFaultRequest): { action: FaultAction } | { error: string } {
  const { kind, service, durationS } = req;
  if (!(INJECT_FAULT_KINDS as readonly string[]).includes(kind)) return { error: `unknown fault kind ${quote(kind)}; expected ${INJECT_FAULT_KINDS.join(", ")}` };
  if (typeof durationS !== "number" || Number.isNaN(durationS)) return { error: "duration_s is not a number" };
  if (kind === "hang") {
    if (!(durationS >= 1 && durationS <= MAX_HANG_S)) return { error: `duration_s must be between 1 and ${MAX_HANG_S} s for a hang, got ${durationS}` };
  } else if (durationS !== 0) {
    return { error: `duration_s applies only to a hang; give 0 for ${kind}, not ${durationS}` };
  }
  if (kind === "reset-payload") {
    if (service !== "" && service !== "supervisor") return { error: `reset-payload resets the whole payload computer; service must be empty or "supervisor", not ${quote(service)}` };
    return { action: { kind: "reset-payload" } };
  }
  if (service === "") return { error: `service is empty; name the service to ${kind}` };
  if (!SERVICE_NAME.test(service)) return { error: `service ${quote(service)} is not a service name (letters, digits and _ . : -, at most 64)` };
  return { action: { kind: "signal", service, signal: kind as "hang" | "kill", durationS: kind === "hang" ? durationS : 0 } };
}
