// When to try the WebSocket stream again after it closed: exponential
// backoff with jitter, as the bus clients do (core's backoffDelay), so a
// gateway that restarts is not hammered by every open console at once.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± this fraction of the delay, at random. */
  jitter: number;
}

export const STREAM_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

/** Delay before attempt `attempt` (0 = the first retry); `random` in [0, 1). */
export function backoffDelay(attempt: number, random: number, policy: BackoffPolicy = STREAM_BACKOFF): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.min(Math.floor(attempt), 64) : 0;
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, n));
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5;
  const delay = base * (1 + policy.jitter * (2 * r - 1));
  return Math.max(0, Math.round(Math.min(delay, policy.maxMs * (1 + policy.jitter))));
}
