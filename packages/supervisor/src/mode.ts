// The payload's mode and which services run in it (pure). Safe mode keeps
// only what is needed to stay alive and commandable: the TTC, the thermal
// governor and the ground link (configurable, ttc and thermal always). It is
// entered on repeated failures, a power or thermal emergency, a boot loop or
// by command, and left only by command: an emergency that clears on its own
// must not let the payload drift back into nominal work unseen.

export type PayloadModeName = "nominal" | "safe";

export interface ModeState {
  mode: PayloadModeName;
  /** Why safe mode was entered ("" in nominal). */
  reason: string;
}

export const NOMINAL: ModeState = { mode: "nominal", reason: "" };

/** Entering safe mode when already in it keeps the first reason: that is what the operator needs to read. */
export function enterSafe(current: ModeState, reason: string): { next: ModeState; changed: boolean } {
  if (current.mode === "safe") return { next: current, changed: false };
  return { next: { mode: "safe", reason: reason || "unspecified" }, changed: true };
}

export function leaveSafe(current: ModeState): { next: ModeState; changed: boolean } {
  if (current.mode === "nominal") return { next: current, changed: false };
  return { next: NOMINAL, changed: true };
}

/** Whether a service runs in a mode. */
export function runsIn(mode: PayloadModeName, service: string, enabled: boolean, safeKeep: readonly string[]): boolean {
  if (!enabled) return false;
  return mode === "nominal" || safeKeep.includes(service);
}

/**
 * The payload's health rule: no enabled service that safe mode keeps has been
 * given up. SupervisorService kicks the hardware watchdog only while it holds,
 * and systemd's watchdog follows it too.
 */
export function keptServicesHealthy(services: readonly { name: string; state: string }[], keep: readonly string[], enabled: (name: string) => boolean): boolean {
  return keep.every((name) => {
    const s = services.find((x) => x.name === name);
    return !s || !enabled(name) || s.state !== "failed";
  });
}
