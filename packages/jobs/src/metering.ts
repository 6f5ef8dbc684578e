// Quota periods and what a tenant has left. Pure.
import type { QuotaPeriodName, TenantRow, UsageRow } from "./store.js";
import type { TenantAllowance } from "./scheduler.js";

const DAY_MS = 86_400_000;

/**
 * Start of the quota period containing `nowMs`: a UTC day (utcMs), or the
 * orbit: consecutive windows of the orbit period anchored at the tenant's
 * creation (mission ms).
 */
export function periodStart(period: QuotaPeriodName, createdMs: number, nowMissionMs: number, nowUtcMs: number, orbitPeriodS: number): { startMs: number; endsInS: number } {
  if (period === "day") {
    const start = Math.floor(nowUtcMs / DAY_MS) * DAY_MS;
    return { startMs: start, endsInS: (start + DAY_MS - nowUtcMs) / 1000 };
  }
  const len = orbitPeriodS * 1000;
  const k = Math.max(0, Math.floor((nowMissionMs - createdMs) / len));
  const start = createdMs + k * len;
  return { startMs: start, endsInS: (start + len - nowMissionMs) / 1000 };
}

export function allowance(t: TenantRow, usage: UsageRow, endsInS: number): TenantAllowance {
  const mins = Math.max(1, Math.round(endsInS / 60));
  return {
    joules: t.quotaJoules > 0 ? Math.max(0, t.quotaJoules - usage.joules) : Number.POSITIVE_INFINITY,
    coreSeconds: t.quotaCoreSeconds > 0 ? Math.max(0, t.quotaCoreSeconds - usage.coreSeconds) : Number.POSITIVE_INFINITY,
    resetIn: `the ${t.period === "day" ? "day" : "orbit"} period resets in ${mins} min`,
  };
}
