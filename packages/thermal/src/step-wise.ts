// The baseline: the Linux kernel's step_wise governor (drivers/thermal/
// gov_step_wise.c, v6.x), one cooling step per poll by trend. Every cooling
// device bound to the trip moves together:
//
//   above the trip, temperature rising    -> one step more cooling
//   above the trip, temperature falling   -> one step less cooling
//   below the trip, temperature falling   -> one step less cooling
//   otherwise                             -> no change
//
// "Above the trip" is the passive trip as latched with its hysteresis. The
// trend compares the reading with the previous one; a dead band keeps sensor
// noise from reading as a trend (the kernel has none, which only makes it
// twitchier). Kept beside the power allocator so both can be measured under
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
    this.states = this.states.map((s, i) => Math.min(this.maxStates[i]!, Math.max(0, s + delta)));
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
