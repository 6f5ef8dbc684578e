/** Small spec-validation helpers: every error names the offending field. */

export function requireFinite(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(`${field} must be a finite number, got ${String(v)}`);
  }
  return v;
}

/** v > 0 */
export function requirePositive(field: string, v: unknown): number {
  const n = requireFinite(field, v);
  if (!(n > 0)) throw new RangeError(`${field} must be > 0, got ${n}`);
  return n;
}

/** v ≥ 0 */
export function requireNonNegative(field: string, v: unknown): number {
  const n = requireFinite(field, v);
  if (!(n >= 0)) throw new RangeError(`${field} must be >= 0, got ${n}`);
  return n;
}

/** v in [lo, hi] (or (lo, hi] when loOpen, [lo, hi) when hiOpen). */
export function requireInRange(field: string, v: unknown, lo: number, hi: number, loOpen = false, hiOpen = false): number {
  const n = requireFinite(field, v);
  const okLo = loOpen ? n > lo : n >= lo;
  const okHi = hiOpen ? n < hi : n <= hi;
  if (!okLo || !okHi) {
    throw new RangeError(`${field} must be in ${loOpen ? "(" : "["}${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${n}`);
  }
  return n;
}

/** A number of the form `x` per unit, or a fraction/probability in [0, 1]. */
export function requireFraction(field: string, v: unknown): number {
  return requireInRange(field, v, 0, 1);
}

/** Efficiency-like quantity in (0, 1]. */
export function requireEfficiency(field: string, v: unknown): number {
  return requireInRange(field, v, 0, 1, true, false);
}
