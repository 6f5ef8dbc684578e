// A service's parameters: typed, range-checked, set atomically. Pure logic.
import { checkParameterValue, type ParameterSpec, type ParameterValue, type ValueOf } from "./declaration.js";

export type ParameterValues<P extends Record<string, ParameterSpec>> = { [K in keyof P]: ValueOf<P[K]["type"]> };

export type SetResult = { ok: true; changed: string[] } | { ok: false; error: string };

export class ParameterStore<P extends Record<string, ParameterSpec>> {
  private values: Record<string, ParameterValue>;

  constructor(
    readonly specs: P,
    initial: Record<string, unknown> = {},
  ) {
    this.values = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.default]));
    const result = this.setMany(initial);
    if (!result.ok) throw new RangeError(`initial parameters: ${result.error}`);
  }

  get<K extends keyof P & string>(name: K): ValueOf<P[K]["type"]> {
    return this.values[name] as ValueOf<P[K]["type"]>;
  }

  /** A copy of every value. */
  snapshot(): ParameterValues<P> {
    return { ...this.values } as ParameterValues<P>;
  }

  /** Why this set would fail, or undefined if every value is acceptable. */
  validate(updates: Record<string, unknown>): string | undefined {
    const names = Object.keys(updates);
    if (names.length === 0) return undefined;
    for (const name of names) {
      const spec = Object.prototype.hasOwnProperty.call(this.specs, name) ? this.specs[name] : undefined;
      if (!spec) return `${name}: no such parameter`;
      const problem = checkParameterValue(spec, updates[name]);
      if (problem) return `${name}: ${problem}`;
    }
    return undefined;
  }

  /** Sets all the given values, or none of them if any is invalid. */
  setMany(updates: Record<string, unknown>): SetResult {
    const error = this.validate(updates);
    if (error) return { ok: false, error };
    const changed: string[] = [];
    const next = { ...this.values };
    for (const [name, value] of Object.entries(updates)) {
      if (next[name] !== value) changed.push(name);
      next[name] = value as ParameterValue;
    }
    this.values = next;
    return { ok: true, changed };
  }
}
