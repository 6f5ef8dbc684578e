// Critical commands: armed first, then executed once within the arm window.
// Pure state on a monotonic time scale (ms) given by the caller.

export type FireCheck = { ok: true } | { ok: false; reason: "not armed" | "arm expired" };

export class ArmTable {
  private readonly armed = new Map<string, number>(); // key -> expiry (ms)

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`arm window must be a positive number of ms, got ${windowMs}`);
  }

  private static key(apid: number, fn: string): string {
    return `${apid}/${fn}`;
  }

  /** Arms (or re-arms) one command; returns when the arm expires. */
  arm(apid: number, fn: string, nowMs: number): number {
    const expiry = nowMs + this.windowMs;
    this.armed.set(ArmTable.key(apid, fn), expiry);
    return expiry;
  }

  /** Consumes the arm if it is still valid: one arm, one execution. */
  fire(apid: number, fn: string, nowMs: number): FireCheck {
    const key = ArmTable.key(apid, fn);
    const expiry = this.armed.get(key);
    if (expiry === undefined) return { ok: false, reason: "not armed" };
    this.armed.delete(key);
    return nowMs <= expiry ? { ok: true } : { ok: false, reason: "arm expired" };
  }

  isArmed(apid: number, fn: string, nowMs: number): boolean {
    const expiry = this.armed.get(ArmTable.key(apid, fn));
    return expiry !== undefined && nowMs <= expiry;
  }
}
