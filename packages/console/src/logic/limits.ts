// Limit classification of a telemetry value, as the TTC's ST[12] limit check
// judges it (packages/ttc/src/telemetry/monitoring.ts): red is checked before
// yellow, and a value equal to a limit is within it. The dictionary gives the
// warning (yellow) and critical (red) limits of each parameter.

export interface Limits {
  low?: number;
  high?: number;
}

/** "ok" within limits, "warning" outside the yellow ones, "critical" outside the red ones; "none" for a value no limit applies to. */
export type LimitClass = "ok" | "warning" | "critical" | "none";

/** A telemetry value as JSON carries it: 64-bit integers beyond the safe range come as decimal strings. */
export type TelemetryValue = boolean | number | string | null;

function finite(n: unknown): n is number {
  return typeof n === "number" && Number.isFinite(n);
}

/** The number a limit check uses, or undefined (booleans, text, NaN and infinities are not checked, as on board). */
export function numericValue(value: TelemetryValue | undefined): number | undefined {
  if (finite(value)) return value;
  if (typeof value === "string" && /^-?[0-9]{1,20}$/.test(value)) return Number(value);
  return undefined;
}

function limitsOf(l: Limits | undefined): Limits {
  if (!l || typeof l !== "object") return {};
  return { ...(finite(l.low) ? { low: l.low } : {}), ...(finite(l.high) ? { high: l.high } : {}) };
}

export function hasLimits(warning: Limits | undefined, critical: Limits | undefined): boolean {
  const w = limitsOf(warning);
  const c = limitsOf(critical);
  return w.low !== undefined || w.high !== undefined || c.low !== undefined || c.high !== undefined;
}

export function classify(value: TelemetryValue | undefined, warning: Limits | undefined, critical: Limits | undefined): LimitClass {
  const x = numericValue(value);
  if (x === undefined || !hasLimits(warning, critical)) return "none";
  const w = limitsOf(warning);
  const c = limitsOf(critical);
  if ((c.low !== undefined && x < c.low) || (c.high !== undefined && x > c.high)) return "critical";
  if ((w.low !== undefined && x < w.low) || (w.high !== undefined && x > w.high)) return "warning";
  return "ok";
}

/** The words an operator reads next to the colour. */
export function limitText(cls: LimitClass): string {
  switch (cls) {
    case "ok":
      return "within limits";
    case "warning":
      return "outside warning limits";
    case "critical":
      return "outside critical limits";
    case "none":
      return "";
  }
}

/** "warning < 35 or > 90" style summary of a parameter's limits, for a tooltip or a legend. */
export function describeLimits(warning: Limits | undefined, critical: Limits | undefined): string {
  const part = (name: string, l: Limits) => {
    const bits: string[] = [];
    if (l.low !== undefined) bits.push(`< ${l.low}`);
    if (l.high !== undefined) bits.push(`> ${l.high}`);
    return bits.length ? `${name} ${bits.join(" or ")}` : "";
  };
  return [part("yellow", limitsOf(warning)), part("red", limitsOf(critical))].filter(Boolean).join("; ");
}
