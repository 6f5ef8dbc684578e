/** Every invalid input or failed propagation in the orbit module throws this, with a message naming the field. */
export class OrbitError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OrbitError';
  }
}

/** Throws unless `value` is a finite number; `field` names it in the message. */
export function requireFinite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new OrbitError(`${field} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number in [min, max]. */
export function requireInRange(value: unknown, field: string, min: number, max: number, unit = ''): number {
  const v = requireFinite(value, field);
  if (v < min || v > max) {
    const u = unit === '' ? '' : ` ${unit}`;
    throw new OrbitError(`${field} must be in [${min}, ${max}]${u}, got ${v}`);
  }
  return v;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}
