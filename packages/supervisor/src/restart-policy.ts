// When to start a failed service again, and when to stop trying (pure).
// A failure is a crash, a hang or a start that never produced a heartbeat.
// Failures inside a sliding window count; the delay before the next start
// doubles (by `factor`) with each of them up to a ceiling, and once
// `maxFailures` fall inside the window the service is left down: a process
// that keeps dying would otherwise keep the payload busy restarting it.

export interface RestartPolicy {
  initialBackoffS: number;
  factor: number;
  maxBackoffS: number;
  maxFailures: number;
  windowS: number;
}

export type RestartDecision = { action: "restart"; delayMs: number; recentFailures: number } | { action: "give-up"; recentFailures: number };

export class FailureHistory {
  private times: number[] = [];

  constructor(private readonly policy: RestartPolicy) {
    // Finite: an infinite ceiling would give an infinite delay, which no clock can schedule.
    if (!(policy.initialBackoffS >= 0) || !(policy.maxBackoffS >= policy.initialBackoffS) || !Number.isFinite(policy.maxBackoffS)) {
      throw new RangeError("restart policy: need 0 <= initialBackoffS <= maxBackoffS, all finite");
    }
    if (!(policy.factor >= 1) || !Number.isFinite(policy.factor)) throw new RangeError("restart policy: factor must be a finite number >= 1");
    if (!Number.isInteger(policy.maxFailures) || policy.maxFailures < 1) throw new RangeError("restart policy: maxFailures must be a whole number >= 1");
    if (!(policy.windowS > 0)) throw new RangeError("restart policy: windowS must be positive");
  }

  /** Failures inside the window ending at `nowMs`. */
  recent(nowMs: number): number {
    this.prune(nowMs);
    return this.times.length;
  }

  /** Records a failure at `nowMs` and says what to do about it. */
  fail(nowMs: number): RestartDecision {
    this.prune(nowMs);
    this.times.push(nowMs);
    const n = this.times.length;
    if (n >= this.policy.maxFailures) return { action: "give-up", recentFailures: n };
    return { action: "restart", delayMs: backoffMs(this.policy, n), recentFailures: n };
  }

  /** Forgets every failure (a command restarted the service, or safe mode was left). */
  clear(): void {
    this.times = [];
  }

  private prune(nowMs: number): void {
    const from = nowMs - this.policy.windowS * 1000;
    while (this.times.length && this.times[0]! <= from) this.times.shift();
  }
}

/** The delay before the start that follows the n-th recent failure (n >= 1). */
export function backoffMs(policy: RestartPolicy, n: number): number {
  // factor^(n-1) overflows to Infinity after enough failures: 0 * Infinity would be NaN, so a zero initial delay stays zero.
  if (policy.initialBackoffS === 0) return 0;
  const s = policy.initialBackoffS * Math.pow(policy.factor, Math.max(0, n - 1));
  return Math.round(Math.min(s, policy.maxBackoffS) * 1000);
}
