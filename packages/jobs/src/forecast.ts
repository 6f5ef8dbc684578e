// Energy forecast through the next eclipse: how much energy jobs may use
// before the end of the coming (or current) eclipse without the battery
// falling below its depth-of-discharge floor plus a margin. Pure arithmetic on
// one battery-coupled bus (array feeds the loads, the surplus charges the
// battery, the deficit discharges it), as in SMAD §11.4.
//
// The horizon has at most two phases: the rest of the sunlit arc, then the
// eclipse (or just the rest of the eclipse when already in it). Job energy
// spent in sunlight costs less than job energy spent in eclipse: in sunlight
// it first comes out of array power that would be curtailed once the battery
// is full, then out of the charging surplus (× charge efficiency); in eclipse
// it all comes out of the battery (÷ discharge efficiency).

export interface BatteryModel {
  capacityWh: number;
  /** Stored fraction of charging energy, (0, 1]. */
  chargeEfficiency: number;
  /** Delivered fraction of stored energy, (0, 1]. */
  dischargeEfficiency: number;
}

export interface PowerSituation {
  socPct: number;
  /** Array power now, W. */
  inputPowerW: number;
  /** Array power expected over the sunlit part of the horizon (learned); used when in eclipse now. */
  sunlitInputPowerW: number;
  /** Load on the bus without the jobs (platform + idle payload), W. */
  baseLoadW: number;
  sunlit: boolean;
  /** Until the next eclipse entry (sunlit) or exit (eclipse); < 0 = none predicted. */
  secondsToTransition: number;
  /** The current eclipse's length (in eclipse) or the next one's (sunlit). */
  eclipseDurationS: number;
  orbitPeriodS: number;
}

export interface Forecast {
  /** Seconds from now to the end of the horizon (end of the current or next eclipse). */
  horizonS: number;
  /** Seconds of that in sunlight (from now). */
  sunlitS: number;
  eclipseS: number;
  /** SoC at the end of the horizon with no job load, % (its lowest point: the eclipse only discharges). */
  endSocNoJobsPct: number;
  /** Floor kept, % (DoD floor + margin). */
  floorPct: number;
}

const J_PER_WH = 3600;

function positive(x: number): number {
  return x > 0 ? x : 0;
}

/** Capacity and stored energy now (J), and the net power (array − base load) over the sunlit arc (W). */
function startState(battery: BatteryModel, s: PowerSituation): { cap: number; e0: number; net: number } {
  const cap = battery.capacityWh * J_PER_WH;
  const e0 = (Math.min(100, Math.max(0, s.socPct)) / 100) * cap;
  const arrayW = s.sunlit ? s.inputPowerW : s.sunlitInputPowerW;
  return { cap, e0, net: arrayW - s.baseLoadW };
}

/** The no-job trajectory over the horizon. */
export function forecast(battery: BatteryModel, s: PowerSituation, floorPct: number): Forecast {
  const { cap, e0, net } = startState(battery, s);
  const ec = battery.chargeEfficiency;
  const ed = battery.dischargeEfficiency;
  // With no prediction (deep-space sun, or the feed is out) plan one orbit ahead in the current state.
  const toTransition = s.secondsToTransition >= 0 ? s.secondsToTransition : s.orbitPeriodS;
  let sunlitS: number;
  let eclipseS: number;
  if (s.sunlit) {
    sunlitS = toTransition;
    eclipseS = s.secondsToTransition >= 0 ? Math.max(0, s.eclipseDurationS) : 0;
  } else {
    sunlitS = 0;
    eclipseS = toTransition;
  }
  // Sunlit phase without jobs.
  const e1 = net >= 0 ? Math.min(cap, e0 + net * sunlitS * ec) : e0 + (net * sunlitS) / ed;
  const e2 = e1 - (s.baseLoadW * eclipseS) / ed;
  const endSoc = (e2 / cap) * 100;
  return {
    horizonS: sunlitS + eclipseS,
    sunlitS,
    eclipseS,
    endSocNoJobsPct: endSoc,
    floorPct,
  };
}

/**
 * Predicted SoC at the end of the horizon when the jobs draw `jobW` on
 * average over it (capped per phase by their remaining energy `jobEnergyJ`,
 * spent sunlit first). Used for the runner's status line and tests.
 */
export function endSocWithJobs(battery: BatteryModel, s: PowerSituation, f: Forecast, jobW: number, jobEnergyJ: number): number {
  const { cap, e0, net } = startState(battery, s);
  const ec = battery.chargeEfficiency;
  const ed = battery.dischargeEfficiency;
  const sunJobJ = Math.min(jobEnergyJ, jobW * f.sunlitS);
  const eclJobJ = Math.min(jobEnergyJ - sunJobJ, jobW * f.eclipseS);
  const sunNetJ = net * f.sunlitS - sunJobJ;
  const e1 = sunNetJ >= 0 ? Math.min(cap, e0 + sunNetJ * ec) : e0 + sunNetJ / ed;
  const e2 = e1 - (s.baseLoadW * f.eclipseS + eclJobJ) / ed;
  return (Math.min(e1, e2) / cap) * 100;
}

/**
 * Splits a job's energy over the horizon into its sunlit and eclipse parts
 * for a job that runs from now at `powerW` until it has used `energyJ`.
 */
export function phaseEnergy(f: Forecast, powerW: number, energyJ: number): { sunlitJ: number; eclipseJ: number } {
  const sunlitJ = Math.min(energyJ, powerW * f.sunlitS);
  const eclipseJ = Math.min(energyJ - sunlitJ, powerW * f.eclipseS);
  return { sunlitJ, eclipseJ };
}

/**
 * A ledger of the horizon's headroom as jobs are admitted one by one. The two
 * phases share the battery's spare energy: a joule taken from the battery in
 * sunlight is one the eclipse no longer has (in stored-energy terms), while
 * curtailed array energy is free.
 */
export class HeadroomLedger {
  /** Stored energy above the floor not yet promised, J. */
  private spareStoredJ: number;
  /** Bus-side array energy that would be curtailed, not yet promised, J. */
  private freeSunJ: number;
  private readonly sunlitNetPositive: boolean;

  constructor(
    private readonly battery: BatteryModel,
    readonly forecast: Forecast,
    s: PowerSituation,
  ) {
    const { cap, e0, net } = startState(battery, s);
    this.sunlitNetPositive = net >= 0;
    const ec = battery.chargeEfficiency;
    if (net >= 0 && forecast.sunlitS > 0) {
      const gained = net * forecast.sunlitS * ec;
      this.freeSunJ = positive(e0 + gained - cap) / ec;
    } else {
      this.freeSunJ = 0;
    }
    // Spare stored energy at the end of the horizon, without jobs.
    this.spareStoredJ = positive(((forecast.endSocNoJobsPct - forecast.floorPct) / 100) * cap);
  }

  /** Stored-energy cost of drawing these bus-side joules in each phase. */
  private storedCost(sunlitJ: number, eclipseJ: number): number {
    const ec = this.battery.chargeEfficiency;
    const ed = this.battery.dischargeEfficiency;
    const fromBatteryInSun = positive(sunlitJ - this.freeSunJ);
    const sunCost = this.sunlitNetPositive ? fromBatteryInSun * ec : fromBatteryInSun / ed;
    return sunCost + eclipseJ / ed;
  }

  /** Whether a draw of these bus-side joules fits what is left. */
  fits(sunlitJ: number, eclipseJ: number): boolean {
    return this.storedCost(sunlitJ, eclipseJ) <= this.spareStoredJ + 1e-9;
  }

  /** Promises the draw (call only after `fits`). */
  take(sunlitJ: number, eclipseJ: number): void {
    const cost = this.storedCost(sunlitJ, eclipseJ);
    this.freeSunJ = positive(this.freeSunJ - sunlitJ);
    this.spareStoredJ = positive(this.spareStoredJ - cost);
  }

  /** Bus-side joules still available if spent from now at the job's phase split (sunlit first). */
  remainingJ(): number {
    const ed = this.battery.dischargeEfficiency;
    const ec = this.battery.chargeEfficiency;
    if (this.forecast.sunlitS > 0) return this.freeSunJ + (this.sunlitNetPositive ? this.spareStoredJ / ec : this.spareStoredJ * ed);
    return this.spareStoredJ * ed;
  }
}
