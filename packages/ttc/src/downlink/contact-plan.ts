import { InvalidFieldError } from "../store/errors.js";
import * as v from "../store/validate.js";
import type { DownlinkDatabase } from "./database.js";
import { prepareDownlinkDatabase } from "./database.js";

/** A scheduled ground-station pass. */
export interface ContactWindow {
  /** Start of the pass, TAI ns (inclusive). */
  readonly startNs: bigint;
  /** End of the pass, TAI ns (exclusive). */
  readonly endNs: bigint;
  /** Downlink rate during the pass, bytes per second (a positive integer). */
  readonly bytesPerSecond: number;
  readonly station: string;
}

/** The last live observation of the link (from the HIL or the radio). */
export interface ContactObservation {
  readonly atNs: bigint;
  readonly inContact: boolean;
  /** 0 when not in contact. */
  readonly bytesPerSecond: number;
}

export interface ContactPlanOptions {
  /**
   * How long an observation holds after it was made (default 10 s). Within
   * that time it overrides the schedule; past it, the schedule applies
   * again, so a dead HIL feed cannot leave the link "in contact" forever.
   */
  readonly observationTtlNs?: bigint;
}

export const DEFAULT_OBSERVATION_TTL_NS = 10_000_000_000n;
/** Most windows one schedule may hold. */
export const MAX_CONTACT_WINDOWS = 10_000;
const NS_PER_SECOND = 1_000_000_000n;

interface WindowRow {
  start_ns: bigint;
  end_ns: bigint;
  bytes_per_second: bigint;
  station: string;
}

/**
 * When the downlink may send, and how much: contact windows come from a
 * schedule uplinked by telecommand ({@link setSchedule}, persisted in the
 * database) and/or from live observation ({@link observe}: the HIL's
 * `stationsInView` non-empty means in contact).
 *
 * Rule: at time t, an observation made at `atNs` with `atNs <= t < atNs +
 * observationTtlNs` decides (it is the truth, whatever the schedule says);
 * otherwise the scheduled window containing t decides; otherwise there is no
 * contact. Windows are half-open [startNs, endNs). The observation is not
 * persisted: after a restart the plan follows the schedule until the next
 * observation.
 */
export class ContactPlan {
  readonly #db: DownlinkDatabase;
  readonly #ttl: bigint;
  #windows: ContactWindow[];
  #observation: ContactObservation | null = null;

  constructor(db: DownlinkDatabase, options: ContactPlanOptions = {}) {
    const o = v.record("options", options);
    this.#ttl = o["observationTtlNs"] === undefined ? DEFAULT_OBSERVATION_TTL_NS : v.timeNs("observationTtlNs", o["observationTtlNs"]);
    if (this.#ttl === 0n) throw new InvalidFieldError("observationTtlNs", "must be positive");
    prepareDownlinkDatabase(db);
    this.#db = db;
    this.#windows = this.#load();
  }

  /**
   * Records a live observation at `nowNs`: in contact or not, at what rate.
   * `bytesPerSecond` must be a positive integer while in contact (0 is
   * accepted, and ignored, when not in contact).
   */
  observe(nowNs: bigint, inContact: boolean, bytesPerSecond: number): void {
    const atNs = v.timeNs("nowNs", nowNs);
    const contact = v.bool("inContact", inContact);
    const rate = contact
      ? v.intInRange("bytesPerSecond", bytesPerSecond, 1, Number.MAX_SAFE_INTEGER)
      : v.intInRange("bytesPerSecond", bytesPerSecond, 0, Number.MAX_SAFE_INTEGER);
    this.#observation = { atNs, inContact: contact, bytesPerSecond: contact ? rate : 0 };
  }

  /** Forgets the live observation: the schedule alone decides from now on. */
  clearObservation(): void {
    this.#observation = null;
  }

  observation(): ContactObservation | null {
    return this.#observation;
  }

  /**
   * Replaces the whole schedule (an empty array clears it), atomically and
   * durably. Windows must be sorted by start, non-overlapping (one may start
   * exactly where the previous ends), each with endNs > startNs, a positive
   * integer rate and a station name; otherwise InvalidFieldError names the
   * field (`windows[2].startNs`) and the stored schedule is unchanged.
   */
  setSchedule(windows: readonly ContactWindow[]): void {
    if (!Array.isArray(windows)) throw new InvalidFieldError("windows", "must be an array");
    if (windows.length > MAX_CONTACT_WINDOWS) {
      throw new InvalidFieldError("windows", `at most ${MAX_CONTACT_WINDOWS} windows, got ${windows.length}`);
    }
    const checked: ContactWindow[] = [];
    windows.forEach((raw: unknown, i) => {
      const f = `windows[${i}]`;
      const w = v.record(f, raw);
      const startNs = v.timeNs(`${f}.startNs`, w["startNs"]);
      const endNs = v.timeNs(`${f}.endNs`, w["endNs"]);
      if (endNs <= startNs) throw new InvalidFieldError(`${f}.endNs`, `must be after startNs (${startNs}), got ${endNs}`);
      if (typeof w["bytesPerSecond"] !== "number" || !(w["bytesPerSecond"] > 0)) {
        throw new InvalidFieldError(`${f}.bytesPerSecond`, `must be a positive integer, got ${String(w["bytesPerSecond"])}`);
      }
      const bytesPerSecond = v.intInRange(`${f}.bytesPerSecond`, w["bytesPerSecond"], 1, Number.MAX_SAFE_INTEGER);
      const station = v.text(`${f}.station`, w["station"], v.MAX_LABEL_CHARS);
      const prev = checked[i - 1];
      if (prev !== undefined) {
        if (startNs < prev.startNs) {
          throw new InvalidFieldError(
            `${f}.startNs`,
            `windows must be sorted by start: ${startNs} is before windows[${i - 1}].startNs (${prev.startNs})`,
          );
        }
        if (startNs < prev.endNs) {
          throw new InvalidFieldError(
            `${f}.startNs`,
            `overlaps windows[${i - 1}], which ends at ${prev.endNs}; windows must not overlap`,
          );
        }
      }
      checked.push({ startNs, endNs, bytesPerSecond, station });
    });
    this.#db
      .transaction(() => {
        this.#db.prepare(`DELETE FROM contact_window`).run();
        const insert = this.#db.prepare(
          `INSERT INTO contact_window (seq, start_ns, end_ns, bytes_per_second, station) VALUES (?, ?, ?, ?, ?)`,
        );
        checked.forEach((w, i) => insert.run(i, w.startNs, w.endNs, w.bytesPerSecond, w.station));
      })
      .immediate();
    this.#windows = checked;
  }

  /** The stored schedule, in order. */
  schedule(): ContactWindow[] {
    return [...this.#windows];
  }

  /** Removes windows that ended at or before `beforeNs` (persisted); returns how many. */
  pruneSchedule(beforeNs: bigint): number {
    const before = v.timeNs("beforeNs", beforeNs);
    const keep = this.#windows.filter((w) => w.endNs > before);
    const removed = this.#windows.length - keep.length;
    if (removed > 0) this.setSchedule(keep);
    return removed;
  }

  /** Whether the link may send at `nowNs`. */
  inContact(nowNs: bigint): boolean {
    return this.rate(nowNs) > 0;
  }

  /** Downlink rate at `nowNs`, bytes per second (0 out of contact). */
  rate(nowNs: bigint): number {
    const t = v.timeNs("nowNs", nowNs);
    const obs = this.#observation;
    if (obs !== null && obs.atNs <= t && t < obs.atNs + this.#ttl) return obs.bytesPerSecond;
    return this.windowAt(t)?.bytesPerSecond ?? 0;
  }

  /** The scheduled window containing `nowNs`, if any (ignores observations). */
  windowAt(nowNs: bigint): ContactWindow | null {
    const t = v.timeNs("nowNs", nowNs);
    const i = this.#firstEndingAfter(t);
    const w = this.#windows[i];
    return w !== undefined && w.startNs <= t ? w : null;
  }

  /** The scheduled window containing `nowNs`, or else the next one to start; null if none. */
  nextWindow(nowNs: bigint): ContactWindow | null {
    const t = v.timeNs("nowNs", nowNs);
    return this.#windows[this.#firstEndingAfter(t)] ?? null;
  }

  /**
   * Bytes the link may carry over [fromNs, toNs): the integral of
   * {@link rate}, rounded down to a whole byte. Exact (bigint arithmetic).
   */
  budget(fromNs: bigint, toNs: bigint): number {
    const from = v.timeNs("fromNs", fromNs);
    const to = v.timeNs("toNs", toNs);
    if (to < from) throw new InvalidFieldError("toNs", `must not be before fromNs (${from}), got ${to}`);
    if (to === from) return 0;
    // byte·ns/s, divided by 1e9 at the end.
    let total = 0n;
    const obs = this.#observation;
    let obsFrom = 0n;
    let obsTo = 0n;
    if (obs !== null) {
      obsFrom = obs.atNs > from ? obs.atNs : from;
      const end = obs.atNs + this.#ttl;
      obsTo = end < to ? end : to;
      if (obsTo > obsFrom) total += BigInt(obs.bytesPerSecond) * (obsTo - obsFrom);
      else obsTo = obsFrom = 0n;
    }
    for (let i = this.#firstEndingAfter(from); i < this.#windows.length; i++) {
      const w = this.#windows[i]!;
      if (w.startNs >= to) break;
      const a = w.startNs > from ? w.startNs : from;
      const b = w.endNs < to ? w.endNs : to;
      let span = b - a;
      // The part an observation covers is the observation's.
      const oa = obsFrom > a ? obsFrom : a;
      const ob = obsTo < b ? obsTo : b;
      if (ob > oa) span -= ob - oa;
      if (span > 0n) total += BigInt(w.bytesPerSecond) * span;
    }
    return Number(total / NS_PER_SECOND);
  }

  /** Index of the first window with endNs > t (windows are sorted and disjoint, so ends are sorted too). */
  #firstEndingAfter(t: bigint): number {
    let lo = 0;
    let hi = this.#windows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#windows[mid]!.endNs > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #load(): ContactWindow[] {
    const rows = this.#db
      .prepare(`SELECT start_ns, end_ns, bytes_per_second, station FROM contact_window ORDER BY seq`)
      .safeIntegers(true)
      .all() as WindowRow[];
    return rows.map((r) => ({
      startNs: r.start_ns,
      endNs: r.end_ns,
      bytesPerSecond: Number(r.bytes_per_second),
      station: r.station,
    }));
  }
}
