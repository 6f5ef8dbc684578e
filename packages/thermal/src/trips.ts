// Trip points with hysteresis, per zone. Each trip (passive, hot, critical)
// latches on when the temperature reaches it and releases only once the
// temperature is below it by the hysteresis, so a reading that hovers at a
// trip does not make the state (and the events) chatter. The zone's level is
// its highest latched trip. Pure: no clock, no I/O.

export const TRIP_LEVELS = ["none", "passive", "hot", "critical"] as const;
export type TripLevel = (typeof TRIP_LEVELS)[number];
export type TripName = Exclude<TripLevel, "none">;
const TRIPS: readonly TripName[] = ["passive", "hot", "critical"];

export interface TripPoints {
  /** Control target: the loop regulates towards it, step-wise throttles at it. °C. */
  passiveC: number;
  /** Control has failed: actors are held at their minimum. °C. */
  hotC: number;
  /** Emergency: stop all jobs, lowest performance state. °C. */
  criticalC: number;
  /** A trip releases below its temperature minus this. °C, > 0. */
  hysteresisC: number;
}

/** Why a set of trip points is inconsistent, or undefined. */
export function checkTripPoints(t: TripPoints, what = "trip points"): string | undefined {
  for (const k of ["passiveC", "hotC", "criticalC", "hysteresisC"] as const) {
    if (typeof t[k] !== "number" || !Number.isFinite(t[k])) return `${what}: ${k} must be a finite number, got ${String(t[k])}`;
  }
  if (!(t.passiveC < t.hotC && t.hotC < t.criticalC)) return `${what}: need passive < hot < critical, got ${t.passiveC} / ${t.hotC} / ${t.criticalC} °C`;
  if (!(t.hysteresisC > 0)) return `${what}: hysteresis must be above 0, got ${t.hysteresisC}`;
  const gap = Math.min(t.hotC - t.passiveC, t.criticalC - t.hotC);
  if (!(t.hysteresisC < gap)) return `${what}: hysteresis ${t.hysteresisC} °C must be smaller than the smallest gap between trips (${gap} °C)`;
  return undefined;
}

export const levelRank = (l: TripLevel): number => TRIP_LEVELS.indexOf(l);

export interface TripTransition {
  trip: TripName;
  /** true: the trip was crossed upwards; false: it released. */
  entered: boolean;
  celsius: number;
  /** The temperature it was checked against (trip, or trip − hysteresis on release). */
  thresholdC: number;
}

/** The latched trips of one zone. */
export class TripTracker {
  private readonly latched: Record<TripName, boolean> = { passive: false, hot: false, critical: false };

  /** Highest latched trip. */
  get level(): TripLevel {
    return this.latched.critical ? "critical" : this.latched.hot ? "hot" : this.latched.passive ? "passive" : "none";
  }

  isLatched(trip: TripName): boolean {
    return this.latched[trip];
  }

  /** Applies a trusted reading; returns the trips that changed, lowest first on the way up, highest first on the way down. */
  update(celsius: number, trips: TripPoints): TripTransition[] {
    if (!Number.isFinite(celsius)) throw new RangeError(`trip tracker: temperature must be finite, got ${celsius}`);
    const out: TripTransition[] = [];
    for (const trip of TRIPS) {
      const at = trips[`${trip}C`];
      if (!this.latched[trip] && celsius >= at) {
        this.latched[trip] = true;
        out.push({ trip, entered: true, celsius, thresholdC: at });
      }
    }
    for (const trip of [...TRIPS].reverse()) {
      const release = trips[`${trip}C`] - trips.hysteresisC;
      if (this.latched[trip] && celsius < release) {
        this.latched[trip] = false;
        out.push({ trip, entered: false, celsius, thresholdC: release });
      }
    }
    return out;
  }

  reset(): void {
    for (const t of TRIPS) this.latched[t] = false;
  }
}
