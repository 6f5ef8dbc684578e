// A bounded time series for one plotted parameter: a ring buffer of
// (time, value) kept in time order. Live samples arrive in order and are
// appended in O(1), overwriting the oldest once the buffer is full; the
// archive's history for the visible window arrives later but is older, so
// it is merged (sorted, one sample per time) and the newest `capacity`
// samples are kept. Memory never grows past the capacity, however long the
// console stays open.

export interface Sample {
  /** Time, UTC Unix ms. */
  t: number;
  /** The value, or null where there is none to plot (a gap). */
  v: number | null;
}

export const MAX_CAPACITY = 1_000_000;

export class SeriesBuffer {
  readonly capacity: number;
  private readonly ts: Float64Array;
  private readonly vs: Float64Array;
  /** Index of the oldest sample. */
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new RangeError(`capacity: must be an integer 1..${MAX_CAPACITY}, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.vs = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** The i-th sample, oldest first. */
  at(i: number): Sample | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) return undefined;
    const k = (this.head + i) % this.capacity;
    const v = this.vs[k]!;
    return { t: this.ts[k]!, v: Number.isNaN(v) ? null : v };
  }

  newest(): Sample | undefined {
    return this.at(this.size - 1);
  }

  oldest(): Sample | undefined {
    return this.at(0);
  }

  /**
   * Adds one sample. In time order (the live stream) it is appended; a sample
   * at the newest time replaces it; an older one is merged in its place.
   * A sample whose time is not a finite number is refused (returns false).
   */
  push(t: number, v: number | null): boolean {
    if (typeof t !== "number" || !Number.isFinite(t)) return false;
    const value = typeof v === "number" && Number.isFinite(v) ? v : NaN;
    if (this.size > 0) {
      const lastK = (this.head + this.size - 1) % this.capacity;
      const last = this.ts[lastK]!;
      if (t === last) {
        this.vs[lastK] = value;
        return true;
      }
      if (t < last) {
        this.merge([{ t, v }]);
        return true;
      }
    }
    const k = (this.head + this.size) % this.capacity;
    this.ts[k] = t;
    this.vs[k] = value;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
    return true;
  }

  /**
   * Merges samples in any order (the archive's history). Where a time is
   * already held, the sample already held stays; of new samples with the
   * same time, the first given wins. Keeps the newest `capacity` samples.
   * Samples with a time that is not a finite number are skipped. Returns how
   * many samples were accepted (before the capacity cut).
   */
  merge(samples: Iterable<Sample>): number {
    const all: { t: number; v: number; order: number }[] = [];
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.capacity;
      all.push({ t: this.ts[k]!, v: this.vs[k]!, order: i });
    }
    let accepted = 0;
    let order = this.size;
    for (const s of samples) {
      if (!s || typeof s.t !== "number" || !Number.isFinite(s.t)) continue;
      all.push({ t: s.t, v: typeof s.v === "number" && Number.isFinite(s.v) ? s.v : NaN, order: order++ });
      accepted++;
    }
    all.sort((a, b) => a.t - b.t || a.order - b.order);
    const unique: { t: number; v: number }[] = [];
    for (const s of all) {
      if (unique.length && unique[unique.length - 1]!.t === s.t) continue;
      unique.push(s);
    }
    const kept = unique.length > this.capacity ? unique.slice(unique.length - this.capacity) : unique;
    this.head = 0;
    this.size = kept.length;
    for (let i = 0; i < kept.length; i++) {
      this.ts[i] = kept[i]!.t;
      this.vs[i] = kept[i]!.v;
    }
    return accepted;
  }

  /** Drops every sample older than `t` (the left edge of the visible window). Returns how many. */
  dropBefore(t: number): number {
    if (!Number.isFinite(t)) return 0;
    let n = 0;
    while (this.size > 0 && this.ts[this.head]! < t) {
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      n++;
    }
    if (this.size === 0) this.head = 0;
    return n;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }

  /** Times (seconds, as uPlot takes them) and values (null for gaps), oldest first. */
  toPlotData(): [number[], (number | null)[]] {
    const xs: number[] = new Array(this.size);
    const ys: (number | null)[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.capacity;
      xs[i] = this.ts[k]! / 1000;
      const v = this.vs[k]!;
      ys[i] = Number.isNaN(v) ? null : v;
    }
    return [xs, ys];
  }

  /** Every sample, oldest first. */
  toArray(): Sample[] {
    const out: Sample[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.at(i)!);
    return out;
  }
}

/** The plottable number of a telemetry value: numbers as they are, booleans as 0/1, integer strings as numbers; null otherwise. */
export function plotValue(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string" && /^-?[0-9]{1,20}$/.test(value)) return Number(value);
  return null;
}
