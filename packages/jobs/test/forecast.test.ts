import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HeadroomLedger, endSocWithJobs, forecast, phaseEnergy, type PowerSituation } from "../src/forecast.js";

const battery = { capacityWh: 100, chargeEfficiency: 0.9, dischargeEfficiency: 0.9 };
const sunlit = (over: Partial<PowerSituation> = {}): PowerSituation => ({
  socPct: 70,
  inputPowerW: 60,
  sunlitInputPowerW: 60,
  baseLoadW: 20,
  sunlit: true,
  secondsToTransition: 1800,
  eclipseDurationS: 2100,
  orbitPeriodS: 5700,
  ...over,
});

describe("forecast through the next eclipse", () => {
  it("follows the battery through the sunlit arc and the eclipse without jobs", () => {
    const f = forecast(battery, sunlit(), 35);
    expect(f.sunlitS).toBe(1800);
    expect(f.eclipseS).toBe(2100);
    expect(f.horizonS).toBe(3900);
    // 70 Wh + 40 W·0.5 h·0.9 = 88 Wh; − 20 W·(2100/3600) h / 0.9 = 12.96 Wh → 75.04 %
    expect(f.endSocNoJobsPct).toBeCloseTo(75.04, 1);
  });

  it("caps charging at a full battery, and counts the curtailed energy as free for jobs", () => {
    const s = sunlit({ socPct: 99 });
    const f = forecast(battery, s, 35);
    const ledger = new HeadroomLedger(battery, f, s);
    // 99 Wh + 18 Wh would be 117: 17 Wh (stored) are curtailed = 68 kJ bus side.
    const free = (17 * 3600) / 0.9;
    expect(ledger.remainingJ()).toBeGreaterThan(free);
    // Energy inside the free part costs no stored energy at all.
    const before = ledger.remainingJ();
    ledger.take(free * 0.5, 0);
    expect(ledger.remainingJ()).toBeCloseTo(before - free * 0.5, 0);
  });

  it("in eclipse plans only to its end and all job energy comes from the battery", () => {
    const s = sunlit({ sunlit: false, inputPowerW: 0, secondsToTransition: 1000, socPct: 50 });
    const f = forecast(battery, s, 35);
    expect(f.sunlitS).toBe(0);
    expect(f.eclipseS).toBe(1000);
    const ledger = new HeadroomLedger(battery, f, s);
    const endNoJobs = 50 - (20 * 1000) / 3600 / 0.9; // %
    expect(f.endSocNoJobsPct).toBeCloseTo(endNoJobs, 6);
    // Everything above the floor, delivered at the discharge efficiency.
    expect(ledger.remainingJ()).toBeCloseTo(((endNoJobs - 35) / 100) * 100 * 3600 * 0.9, 3);
  });

  it("has no headroom when the battery would end the eclipse below the floor anyway", () => {
    const s = sunlit({ sunlit: false, inputPowerW: 0, secondsToTransition: 2000, socPct: 36 });
    const f = forecast(battery, s, 35);
    expect(f.endSocNoJobsPct).toBeLessThan(35);
    const ledger = new HeadroomLedger(battery, f, s);
    expect(ledger.remainingJ()).toBe(0);
    expect(ledger.fits(1, 0)).toBe(false);
  });

  it("plans one orbit ahead in the current state when no transition is predicted", () => {
    const f = forecast(battery, sunlit({ secondsToTransition: -1 }), 35);
    expect(f.sunlitS).toBe(5700);
    expect(f.eclipseS).toBe(0);
  });

  it("spending the ledger's whole headroom at a constant load ends the horizon at the floor", () => {
    const s = sunlit({ socPct: 60, secondsToTransition: 600 });
    const f = forecast(battery, s, 35);
    const ledger = new HeadroomLedger(battery, f, s);
    // A load that runs through the whole horizon: eclipse-phase energy costs more, so search the power that fits exactly.
    let lo = 0;
    let hi = 1000;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      const e = phaseEnergy(f, mid, mid * f.horizonS);
      if (ledger.fits(e.sunlitJ, e.eclipseJ)) lo = mid;
      else hi = mid;
    }
    const end = endSocWithJobs(battery, s, f, lo, lo * f.horizonS);
    expect(end).toBeCloseTo(35, 1);
  });

  it("headroom never grows as the state of charge falls (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.boolean(),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        fc.double({ min: 0, max: 120, noNaN: true }),
        (a, b, isSunlit, toTransition, inputW) => {
          const [low, high] = a < b ? [a, b] : [b, a];
          const mk = (soc: number) => sunlit({ socPct: soc, sunlit: isSunlit, secondsToTransition: toTransition, inputPowerW: isSunlit ? inputW : 0, sunlitInputPowerW: inputW });
          const hl = new HeadroomLedger(battery, forecast(battery, mk(low), 35), mk(low)).remainingJ();
          const hh = new HeadroomLedger(battery, forecast(battery, mk(high), 35), mk(high)).remainingJ();
          return hl <= hh + 1e-6 && hl >= 0;
        },
      ),
    );
  });
});
