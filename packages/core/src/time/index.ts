export type { Clock, TimerHandle } from './clock.js';
export { assertCallback, assertDelayMs, assertPeriodMs } from './clock.js';
export type { LeapSecondStep, TaiUtcLookup } from './leap-seconds.js';
export { LEAP_SECONDS, taiMinusUtcAtTai, taiMinusUtcSeconds } from './leap-seconds.js';
export {
  NS_PER_MS,
  NS_PER_SECOND,
  TAI_EPOCH_UNIX_MS,
  formatTai,
  msToNs,
  nsToMs,
  taiNsToUtcMs,
  utcMsToTaiNs,
} from './mission-time.js';
export type { IntervalHandle, RealClockOptions } from './real-clock.js';
export { RealClock } from './real-clock.js';
export type { SimClockOptions } from './sim-clock.js';
export { DEFAULT_SIM_START_UTC_MS, SimClock } from './sim-clock.js';
export type { HeapTimer } from './timer-heap.js';
export { TimerHeap } from './timer-heap.js';
export type { TimeToneLike, ToneClockCounters, ToneClockOptions } from './tone-clock.js';
export { MAX_TONE_TAI_NS, MIN_TONE_TAI_NS, ToneClock } from './tone-clock.js';
