// The baseline: the Linux kernel's step_wise governor (drivers/thermal/
// gov_step_wise.c, v6.x), one cooling step per poll by trend. Every cooling
// device bound to the trip moves together:
//
//   above the trip, temperature rising    -> one step more cooling
//   above the trip, temperature falling   -> one step less cooling, but
//                                            never below state 1 (the kernel
//                                            keeps pulling while over the trip)
//   below the trip, temperature falling   -> one step less cooling
//   otherwise                             -> no change
//
// "Above the trip" is the passive trip as latched with its hysteresis. The
// trend compares the reading with the previous one, as the kernel does; an
// optional dead band (default 0, as in the kernel) keeps sensor noise from
// reading as a trend. A dead band as large as the noise makes step-wise blind
// to a slow creep (every poll reads "stable"), so it is off by default. Kept beside the power allocator so both can be measured under
// identical conditions, and as a simpler fallback an operator can select.
// Pure: no clock, no I/O.

export type Trend = "raising" | "dropping" | "stable";

export function trendOf(previousC: number | undefined, currentC: number, deadbandC: number): Trend {
  if (previousC === undefined) return "stable";
  const d = currentC - previousC;
  if (d > deadbandC) return "raising";
  if (d < -deadbandC) return "dropping";
  return "stable";
}

export class StepWise {
  /** Cooling state per device: 0 = no cooling, maxStates[i] = full cooling. */
  private states: number[];

  constructor(private readonly maxStates: readonly number[]) {
    for (const [i, m] of maxStates.entries()) if (!Number.isSafeInteger(m) || m < 0) throw new RangeError(`step-wise: device ${i} max state must be an integer >= 0, got ${m}`);
    this.states = maxStates.map(() => 0);
  }

  get coolingStates(): readonly number[] {
    return this.states;
  }

  /** One poll: returns the new cooling state of every device. */
  update(throttle: boolean, trend: Trend): readonly number[] {
    let delta = 0;
    if (throttle && trend === "raising") delta = 1;
    else if (trend === "dropping") delta = -1;
    // Over the trip, falling, the cooling never drops back to none.
    const floor = throttle && trend === "dropping" ? 1 : 0;
    this.states = this.states.map((s, i) => Math.min(this.maxStates[i]!, Math.max(Math.min(floor, this.maxStates[i]!), s + delta)));
    return this.states;
  }

  /** Sets every device to the same cooling state (clamped per device). */
  setAll(state: number): void {
    this.states = this.maxStates.map((m) => Math.min(m, Math.max(0, state)));
  }

  reset(): void {
    this.setAll(0);
  }
}
