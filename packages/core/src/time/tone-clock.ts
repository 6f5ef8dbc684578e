/**
 * Clock for a service process on a HIL bench: mission time follows the
 * `umbra.core.v1.TimeTone`s the HIL environment publishes for each step of
 * simulated time it passes, so every process of the payload runs in the
 * HIL's simulated time, at whatever speed the HIL runs.
 *
 * Timers live on an inner SimClock. Each accepted tone advances it to the
 * tone's mission time, firing due timers in simulated order with now set to
 * each timer's due time. Advances never overlap: a tone that arrives while
 * one runs only raises the target, and the running advance carries on to it
 * (tones are coalesced, never queued without bound).
 *
 * Before the first tone time stands still: nowTaiNs() reads `initialTaiNs`
 * (default: the system clock's TAI when the clock was built) and
 * monotonicMs() reads 0. The first tone sets mission time to the tone's
 * (which may be before the placeholder: look at `synced`) and fires nothing
 * but zero-delay timers: monotonic ms 0 *is* the first tone, so a timer set
 * before it for d ms fires d ms of simulated time after the first tone.
 *
 * A tone is ignored (and counted) when it is malformed (mission time outside
 * 1972..2200 TAI, which covers zero and negatives; a rate that is negative or
 * not finite) or stale (earlier than the newest accepted tone, e.g. the HIL
 * was restarted from an earlier epoch: time then stands until the HIL's time
 * passes ours again, so nothing here ever runs backwards). Sequence numbers
 * that skip count as gaps (tones lost on the way); a sequence that starts
 * again from lower down counts as a restart of the time master.
 *
 * Only mission time follows the tones. Whatever is a wall-time matter (is a
 * process alive, did a request get its reply in time) belongs on a RealClock:
 * see the Bus's `timeoutClock` and the ServiceContext's `livenessClock`.
 */
import { umbra, type MessageOf } from "@umbra/proto";
import type { Logger } from "pino";
import type { Bus } from "../bus/bus.js";
import type { Clock, TimerHandle } from "./clock.js";
import { formatTai, msToNs, nsToMs, taiNsToUtcMs, utcMsToTaiNs } from "./mission-time.js";
import { SimClock } from "./sim-clock.js";

/** The fields of a TimeTone a ToneClock reads (a decoded `umbra.core.v1.TimeTone`). */
export interface TimeToneLike {
  /** TAI ns since 1958 at the tone. */
  missionTimeNs: bigint;
  /** Simulated seconds per wall second (informative; 0 = as fast as possible). */
  rate: number;
  /** Counts up by one per tone from the time master's start. */
  sequence: bigint;
}

export interface ToneClockOptions {
  /** Mission time (TAI ns) read before the first tone; default the system clock's TAI at construction. */
  initialTaiNs?: bigint;
  /** Told about the first tone, ignored tones (the first of a run of them, then every 1000th) and timer errors. */
  logger?: Logger;
  /**
   * Called when a timer callback throws during an advance. The advance goes
   * on with the next timer either way. Default: rethrow outside the clock (an
   * uncaught exception, as a throwing RealClock timer would be).
   */
  onTimerError?: (err: unknown) => void;
}

/** What a ToneClock has seen (all counts since construction). */
export interface ToneClockCounters {
  /** Every tone received, accepted or not. */
  tones: number;
  /** Tones accepted: time moved (or stood) to theirs. */
  accepted: number;
  /** Tones not acted on: stale + malformed. */
  ignored: number;
  /** Of the ignored: earlier than the newest accepted tone. */
  stale: number;
  /** Of the ignored: mission time out of range, or a bad rate. */
  malformed: number;
  /** Times the sequence skipped forward (tones lost on the way). */
  gaps: number;
  /** Tones missing in those gaps. */
  missedTones: number;
  /** Times the sequence went back or repeated (the time master restarted). */
  sequenceRestarts: number;
  /** Timer callbacks that threw during an advance. */
  timerErrors: number;
}

/** Earliest mission time a tone may carry: 1972-01-01 UTC (the start of the leap-second table). */
export const MIN_TONE_TAI_NS = utcMsToTaiNs(Date.UTC(1972, 0, 1));
/** Latest mission time a tone may carry: 2200-01-01 UTC. */
export const MAX_TONE_TAI_NS = utcMsToTaiNs(Date.UTC(2200, 0, 1));

const LOG_EVERY_IGNORED = 1000;

export class ToneClock implements Clock {
  readonly #sim = new SimClock();
  readonly #initialTaiNs: bigint;
  readonly #logger: Logger | undefined;
  readonly #onTimerError: (err: unknown) => void;
  /** Mission time of the first tone: monotonic ms 0. Undefined until then. */
  #originNs: bigint | undefined;
  /** Newest accepted tone. */
  #last: TimeToneLike | undefined;
  /** Monotonic ms the clock is to reach (the newest accepted tone's). */
  #targetMs = 0;
  /** An accepted tone has not been advanced to yet. */
  #dirty = false;
  #pumping: Promise<void> | undefined;
  #lastSequence: bigint | undefined;
  #ignoredRun = 0;
  #firstToneWaiters: (() => void)[] = [];
  readonly #counters: ToneClockCounters = {
    tones: 0,
    accepted: 0,
    ignored: 0,
    stale: 0,
    malformed: 0,
    gaps: 0,
    missedTones: 0,
    sequenceRestarts: 0,
    timerErrors: 0,
  };

  constructor(options: ToneClockOptions = {}) {
    const initial = options.initialTaiNs ?? utcMsToTaiNs(Date.now());
    if (typeof initial !== "bigint") throw new TypeError(`ToneClock initialTaiNs must be a bigint (TAI ns), got ${typeof initial}`);
    this.#initialTaiNs = initial;
    this.#logger = options.logger;
    this.#onTimerError =
      options.onTimerError ??
      ((err) => {
        queueMicrotask(() => {
          throw err;
        });
      });
  }

  // ---- Clock ----------------------------------------------------------------

  /** The newest tone's mission time once caught up to it; `initialTaiNs` before the first tone. */
  nowTaiNs(): bigint {
    if (this.#originNs === undefined) return this.#initialTaiNs;
    // At rest on the newest tone, say exactly its time (the ms scale may round sub-ms tones).
    if (!this.#dirty && this.#pumping === undefined && this.#last !== undefined && this.#sim.monotonicMs() === this.#targetMs) {
      return this.#last.missionTimeNs;
    }
    return this.#originNs + msToNs(this.#sim.monotonicMs());
  }

  /** Simulated ms since the first tone: 0 until it and at it, never backwards. */
  monotonicMs(): number {
    return this.#sim.monotonicMs();
  }

  utcMs(): number {
    return taiNsToUtcMs(this.nowTaiNs());
  }

  /** Fires once tones have carried mission time `delayMs` past now (before the first tone: past the first tone). */
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.#sim.setTimeout(fn, delayMs);
  }

  /** Ticks every `periodMs` of simulated time, at start + n·period exactly. */
  setInterval(fn: () => void, periodMs: number): TimerHandle {
    return this.#sim.setInterval(fn, periodMs);
  }

  sleep(ms: number): Promise<void> {
    return this.#sim.sleep(ms);
  }

  // ---- tones ----------------------------------------------------------------

  /**
   * Follows the TimeTones published on `bus` (from any source). Returns the
   * unsubscribe. Tones are taken as they are delivered; the advances they
   * cause run behind them (see `idle`).
   */
  follow(bus: Bus): () => void {
    const subscription = bus.subscribe(umbra.core.v1.TimeTone, (tone: MessageOf<typeof umbra.core.v1.TimeTone>) => {
      void this.receive(tone);
    });
    return () => subscription.unsubscribe();
  }

  /**
   * Takes one tone (what `follow` does for each tone on the bus). Resolves
   * once the clock has caught up with the newest accepted tone (at once when
   * this one is ignored and no advance is running). Never rejects: a timer
   * that throws goes to `onTimerError`.
   */
  receive(tone: TimeToneLike): Promise<void> {
    this.#counters.tones++;
    this.#countSequence(tone.sequence);
    const problem = this.#malformed(tone);
    if (problem !== undefined) {
      this.#counters.malformed++;
      this.#ignore(tone, problem);
      return this.idle();
    }
    if (this.#last !== undefined && tone.missionTimeNs < this.#last.missionTimeNs) {
      this.#counters.stale++;
      this.#ignore(tone, "earlier than the newest accepted tone");
      return this.idle();
    }
    if (this.#ignoredRun > 0) {
      this.#logger?.info({ ignored: this.#ignoredRun, missionTime: formatTai(tone.missionTimeNs) }, "time tones accepted again");
      this.#ignoredRun = 0;
    }
    this.#counters.accepted++;
    const first = this.#originNs === undefined;
    if (first) this.#originNs = tone.missionTimeNs;
    this.#last = { missionTimeNs: tone.missionTimeNs, rate: tone.rate, sequence: tone.sequence };
    this.#targetMs = nsToMs(tone.missionTimeNs - this.#originNs!);
    this.#dirty = true;
    if (first) {
      this.#logger?.info({ missionTime: formatTai(tone.missionTimeNs), rate: tone.rate, sequence: tone.sequence }, "following time tones: mission time is the tones' from now on");
      for (const wake of this.#firstToneWaiters.splice(0)) wake();
    }
    return this.#pump();
  }

  /**
   * Resolves true once the first tone has been accepted (at once if it has),
   * false if none is within `timeoutMs` of wall time.
   */
  waitForFirstTone(timeoutMs: number): Promise<boolean> {
    if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(new RangeError(`waitForFirstTone timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`));
    }
    if (this.synced) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.#firstToneWaiters.indexOf(wake);
        if (i >= 0) this.#firstToneWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      this.#firstToneWaiters.push(wake);
    });
  }

  /** Resolves when no advance is running or due (the clock stands at the newest accepted tone). */
  idle(): Promise<void> {
    return this.#pumping ?? Promise.resolve();
  }

  /** Whether a tone has been accepted (before that, mission time is the `initialTaiNs` placeholder). */
  get synced(): boolean {
    return this.#originNs !== undefined;
  }

  /** The newest accepted tone. */
  get lastTone(): Readonly<TimeToneLike> | undefined {
    return this.#last;
  }

  /** A copy of the counters. */
  get counters(): ToneClockCounters {
    return { ...this.#counters };
  }

  /** Timers still to fire (an interval counts once). */
  get pendingTimers(): number {
    return this.#sim.pendingTimers;
  }

  // ---- inside ---------------------------------------------------------------

  #malformed(tone: TimeToneLike): string | undefined {
    const t = tone.missionTimeNs;
    if (typeof t !== "bigint") return `mission time is not a 64-bit integer (${typeof t})`;
    if (t < MIN_TONE_TAI_NS || t >= MAX_TONE_TAI_NS) return `mission time ${t} ns is outside 1972..2200`;
    if (typeof tone.rate !== "number" || !Number.isFinite(tone.rate) || tone.rate < 0) return `rate ${String(tone.rate)} is not a finite number >= 0`;
    return undefined;
  }

  #countSequence(sequence: bigint): void {
    if (typeof sequence !== "bigint") return;
    const last = this.#lastSequence;
    this.#lastSequence = sequence;
    if (last === undefined) return;
    if (sequence > last + 1n) {
      this.#counters.gaps++;
      this.#counters.missedTones += Number(sequence - last - 1n);
    } else if (sequence <= last) {
      this.#counters.sequenceRestarts++;
    }
  }

  #ignore(tone: TimeToneLike, why: string): void {
    this.#counters.ignored++;
    if (this.#ignoredRun++ % LOG_EVERY_IGNORED === 0) {
      this.#logger?.warn(
        { missionTimeNs: String(tone.missionTimeNs), sequence: tone.sequence, newestNs: this.#last && String(this.#last.missionTimeNs), ignored: this.#counters.ignored },
        `time tone ignored: ${why}`,
      );
    }
  }

  // One advance at a time; tones that arrive meanwhile only move the target.
  #pump(): Promise<void> {
    if (this.#pumping !== undefined) return this.#pumping;
    const run = async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          try {
            // Computed here, not with advanceTo: float rounding of now may sit an ulp past the target.
            await this.#sim.advance(Math.max(0, this.#targetMs - this.#sim.monotonicMs()));
          } catch (err) {
            // Stopped at the throwing timer: the rest of the way is still due.
            this.#dirty = true;
            this.#counters.timerErrors++;
            this.#logger?.error({ err }, "timer callback failed during a tone advance");
            this.#onTimerError(err);
          }
        }
      } finally {
        this.#pumping = undefined;
      }
    };
    this.#pumping = run();
    return this.#pumping;
  }
}
