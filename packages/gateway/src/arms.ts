// The arms the gateway has obtained from the TTC, so a critical command that
// was not armed (or whose arm has run out) is refused before a TC is built.
// The TTC remains the authority: it checks the arm again at acceptance. One
// arm, one execution, as in the TTC. Pure, on a monotonic ms scale given by
// the caller.
export interface Arm {
  service: string;
  command: string;
  untilMs: number;
  armedUntil: string;
  armedBy: string;
  armCommandId: number;
}

export type ArmCheck = { ok: true; arm: Arm } | { ok: false; reason: "not armed" | "arm expired" };

export class GatewayArms {
  private readonly arms = new Map<string, Arm>();

  private static key(service: string, command: string): string {
    return `${service}/${command}`;
  }

  set(arm: Arm): void {
    this.arms.set(GatewayArms.key(arm.service, arm.command), arm);
  }

  /** Uses up the arm if it is still valid. */
  consume(service: string, command: string, nowMs: number): ArmCheck {
    const key = GatewayArms.key(service, command);
    const arm = this.arms.get(key);
    if (!arm) return { ok: false, reason: "not armed" };
    this.arms.delete(key);
    return nowMs <= arm.untilMs ? { ok: true, arm } : { ok: false, reason: "arm expired" };
  }
}
