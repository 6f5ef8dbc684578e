import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  Battery,
  LI_ION_OCV_CURVE,
  PowerSystem,
  arrayPowerW,
  liIonCellOcvV,
  type BatterySpec,
  type SolarArraySpec,
} from "../../src/models/index.js";

const ARRAY: SolarArraySpec = {
  areaM2: 10,
  cellEfficiency: 0.3,
  packingFactor: 0.9,
  degradationPerYear: 0,
  ageYears: 0,
  pointing: "sun-tracking",
};

const BATTERY: BatterySpec = {
  capacityWh: 2000,
  chargeEfficiency: 0.95,
  dischargeEfficiency: 0.9,
  dodFloorPct: 30,
  initialSocPct: 50,
  cells: { nominalV: 3.7, series: 8 },
};

/** LEO orbit from the brief: 94.6 min period of which 35.8 min in eclipse. */
const ORBIT_S = 94.6 * 60;
const ECLIPSE_S = 35.8 * 60;
const sunlit = (t: number) => t % ORBIT_S >= ECLIPSE_S;

describe("solar array", () => {
  it("gives S·A·η·packing at normal incidence: 1361 × 10 m² × 0.30 × 0.90 = 3674.7 W", () => {
    expect(arrayPowerW(ARRAY, 1, 1)).toBeCloseTo(3674.7, 9);
    expect(arrayPowerW({ ...ARRAY, areaM2: 2, cellEfficiency: 0.28, packingFactor: 0.85 }, 1, 1)).toBeCloseTo(647.836, 9);
  });

  it("is zero in umbra and proportional to the lit fraction in penumbra", () => {
    expect(arrayPowerW(ARRAY, 0, 1)).toBe(0);
    expect(arrayPowerW(ARRAY, 0.4, 1)).toBeCloseTo(0.4 * 3674.7, 9);
  });

  it("follows the cosine law and gives nothing from behind", () => {
    for (const deg of [0, 30, 45, 60, 89]) {
      const c = Math.cos((deg * Math.PI) / 180);
      expect(arrayPowerW({ ...ARRAY, pointing: "body-fixed" }, 1, c)).toBeCloseTo(3674.7 * c, 9);
    }
    expect(arrayPowerW(ARRAY, 1, 0.5)).toBeCloseTo(1837.35, 9);
    expect(arrayPowerW(ARRAY, 1, -0.7)).toBe(0);
  });

  it("degrades as (1 − d)^years: 2.75 %/yr for 5 years leaves 86.99 % (3196.46 W)", () => {
    const aged = { ...ARRAY, degradationPerYear: 0.0275, ageYears: 5 };
    expect(arrayPowerW(aged, 1, 1)).toBeCloseTo(3196.4648962530564, 6);
    expect(arrayPowerW(aged, 1, 1) / arrayPowerW(ARRAY, 1, 1)).toBeCloseTo(0.8698573750926759, 12);
  });

  it("scales with the solar constant argument", () => {
    expect(arrayPowerW(ARRAY, 1, 1, 1322)).toBeCloseTo((3674.7 * 1322) / 1361, 9);
  });

  it("is never negative and never above the normal-incidence value (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), (f, c) => {
        const p = arrayPowerW(ARRAY, f, c);
        return p >= 0 && p <= 3674.7 + 1e-9;
      }),
    );
  });

  it("validates its inputs, naming the field", () => {
    expect(() => arrayPowerW(ARRAY, 1.5, 1)).toThrow(/sunFraction/);
    expect(() => arrayPowerW(ARRAY, 1, 2)).toThrow(/cosIncidence/);
    // Rounding just past 1 from a normalised dot product is tolerated and clamped.
    expect(arrayPowerW(ARRAY, 1, 1 + 2e-16)).toBeCloseTo(3674.7, 9);
  });
});

describe("battery", () => {
  it("conserves energy over 10 orbits (94.6 min, 35.8 min eclipse): Σsurplus·ηc − Σdeficit/ηd = ΔE within 1e-6", () => {
    const b = new Battery(BATTERY);
    const e0 = b.energyWh;
    const dtS = 1;
    const loadW = 300;
    const arrayW = 600;
    let expectedDelta = 0;
    let sumCharged = 0;
    let sumDischarged = 0;
    let sumInput = 0;
    let sumDelivered = 0;
    let shedOrCurtailed = 0;
    for (let t = 0; t < 10 * ORBIT_S; t += dtS) {
      const a = sunlit(t) ? arrayW : 0;
      const dtH = dtS / 3600;
      expectedDelta += a >= loadW ? (a - loadW) * dtH * BATTERY.chargeEfficiency : (-(loadW - a) * dtH) / BATTERY.dischargeEfficiency;
      const r = b.step(a, loadW, dtS);
      shedOrCurtailed += r.shedLoadW + r.curtailedArrayW;
      sumCharged += r.chargedWh;
      sumDischarged += r.dischargedWh;
      sumInput += r.chargeInputWh;
      sumDelivered += r.deliveredWh;
    }
    expect(shedOrCurtailed).toBe(0); // no clamping anywhere: the law applies exactly
    const delta = b.energyWh - e0;
    expect(delta).toBeGreaterThan(100); // a net-positive orbit in this configuration
    expect(Math.abs(delta - expectedDelta) / Math.abs(delta)).toBeLessThan(1e-6);
    expect(Math.abs(sumCharged - sumDischarged - delta) / Math.abs(delta)).toBeLessThan(1e-6);
    expect(Math.abs(sumInput * BATTERY.chargeEfficiency - sumDelivered / BATTERY.dischargeEfficiency - delta) / delta).toBeLessThan(1e-6);
    // Eclipse draw per orbit: 300 W × 35.8 min / 0.9 = 198.89 Wh from storage.
    expect(sumDischarged / 10).toBeCloseTo((300 * 35.8) / 60 / 0.9, 6);
  });

  it("conserves energy on a net-negative orbit as well (SOC falling, floor not reached)", () => {
    const b = new Battery({ ...BATTERY, initialSocPct: 90 });
    const e0 = b.energyWh;
    let expectedDelta = 0;
    const dtS = 10;
    for (let t = 0; t < 3 * ORBIT_S; t += dtS) {
      const a = sunlit(t) ? 420 : 0;
      const load = 400;
      const dtH = dtS / 3600;
      expectedDelta += a >= load ? (a - load) * dtH * 0.95 : (-(load - a) * dtH) / 0.9;
      b.step(a, load, dtS);
    }
    const delta = b.energyWh - e0;
    expect(delta).toBeLessThan(-100);
    expect(Math.abs((delta - expectedDelta) / delta)).toBeLessThan(1e-6);
  });

  it("clamps SOC at 100 % and curtails the surplus it cannot store", () => {
    const b = new Battery({ ...BATTERY, initialSocPct: 99 });
    // 20 Wh headroom; 1000 W surplus × 0.95 for 1 h would store 950 Wh.
    const r = b.step(1300, 300, 3600);
    expect(b.socPct).toBe(100);
    expect(b.energyWh).toBe(2000);
    expect(r.chargedWh).toBeCloseTo(20, 9);
    expect(r.chargeInputWh).toBeCloseTo(20 / 0.95, 9);
    expect(r.curtailedArrayW).toBeCloseTo(1000 - 20 / 0.95, 9);
    // Power balance: array = supplied load + charger input + curtailed.
    expect(r.suppliedLoadW + r.chargeInputWh + r.curtailedArrayW).toBeCloseTo(1300, 9);
    const r2 = b.step(1300, 300, 60);
    expect(b.socPct).toBe(100);
    expect(r2.curtailedArrayW).toBeCloseTo(1000, 9);
    expect(r2.chargedWh).toBe(0);
  });

  it("limits charge power to maxChargeW and curtails the rest", () => {
    const b = new Battery({ ...BATTERY, maxChargeW: 250 });
    const r = b.step(1000, 200, 3600);
    expect(r.chargeInputWh).toBeCloseTo(250, 9);
    expect(r.chargedWh).toBeCloseTo(250 * 0.95, 9);
    expect(r.curtailedArrayW).toBeCloseTo(550, 9);
    expect(b.energyWh).toBeCloseTo(1000 + 237.5, 9);
  });

  it("sheds the load at the DoD floor and never goes below it", () => {
    const b = new Battery({ ...BATTERY, initialSocPct: 32 });
    // 40 Wh above the floor; 900 W from the battery is 1000 W of stored energy per hour.
    let shedSteps = 0;
    let minSoc = 100;
    for (let i = 0; i < 600; i++) {
      const r = b.step(0, 900, 10);
      minSoc = Math.min(minSoc, b.socPct);
      expect(r.suppliedLoadW + r.shedLoadW).toBeCloseTo(900, 9);
      if (r.shedLoadW > 0) shedSteps++;
    }
    expect(minSoc).toBeCloseTo(30, 9);
    expect(minSoc).toBeGreaterThanOrEqual(30 - 1e-9);
    // 40 Wh at 1000 Wh/h lasts 144 s: steps 0..13 fully supplied, step 14 partial, the rest shed.
    expect(shedSteps).toBe(600 - 14);
    const r = b.step(0, 900, 10);
    expect(r.shedLoadW).toBe(900);
    expect(r.dischargedWh).toBe(0);
    // Sunlight recharges from the floor and the load comes back.
    const lit = b.step(1500, 900, 60);
    expect(lit.shedLoadW).toBe(0);
    expect(b.socPct).toBeGreaterThan(30);
  });

  it("takes the SOC exactly to the floor in the crossing step (partial shed, averaged over the step)", () => {
    const b = new Battery({ ...BATTERY, initialSocPct: 30.5 });
    // 10 Wh above the floor = 9 Wh delivered at ηd 0.9; 100 W for 1 h needs 100 Wh.
    const r = b.step(0, 100, 3600);
    expect(b.socPct).toBeCloseTo(30, 12);
    expect(r.deliveredWh).toBeCloseTo(9, 9);
    expect(r.suppliedLoadW).toBeCloseTo(9, 9);
    expect(r.shedLoadW).toBeCloseTo(91, 9);
  });

  it("lets the non-sheddable (bus) load draw below the floor down to 0 %, then browns out", () => {
    const b = new Battery({ ...BATTERY, initialSocPct: 31, capacityWh: 100 });
    // loadW 50 of which 40 sheddable (payload), 10 essential.
    for (let i = 0; i < 200; i++) b.step(0, 50, 360, 40);
    expect(b.socPct).toBe(0);
    const r = b.step(0, 50, 360, 40);
    expect(r.shedLoadW).toBeCloseTo(50, 9);
  });

  it("voltage rises monotonically with SOC from 3.0 V/cell at 0 % to 4.2 V/cell at 100 %", () => {
    expect(liIonCellOcvV(0)).toBe(3.0);
    expect(liIonCellOcvV(100)).toBe(4.2);
    for (let i = 1; i < LI_ION_OCV_CURVE.length; i++) {
      expect(LI_ION_OCV_CURVE[i]![1]).toBeGreaterThan(LI_ION_OCV_CURVE[i - 1]![1]);
    }
    let last = -Infinity;
    for (let soc = 0; soc <= 100; soc += 5) {
      const v = new Battery({ ...BATTERY, initialSocPct: soc }).voltageV();
      expect(v).toBeGreaterThan(last);
      last = v;
    }
    expect(new Battery({ ...BATTERY, initialSocPct: 0 }).voltageV()).toBeCloseTo(24.0, 9);
    expect(new Battery({ ...BATTERY, initialSocPct: 100 }).voltageV()).toBeCloseTo(33.6, 9);
    // Charging raises the voltage.
    const b = new Battery(BATTERY);
    const v0 = b.voltageV();
    b.step(1000, 0, 600);
    expect(b.voltageV()).toBeGreaterThan(v0);
  });

  it("keeps SOC in [0, 100] and the per-step power balance for any input sequence (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.array(
          fc.record({
            a: fc.double({ min: 0, max: 3000, noNaN: true }),
            l: fc.double({ min: 0, max: 3000, noNaN: true }),
            shedFrac: fc.double({ min: 0, max: 1, noNaN: true }),
            dt: fc.double({ min: 0.1, max: 7200, noNaN: true }),
          }),
          { maxLength: 60 },
        ),
        (soc0, steps) => {
          const b = new Battery({ ...BATTERY, capacityWh: 500, initialSocPct: soc0 });
          for (const s of steps) {
            const before = b.energyWh;
            const r = b.step(s.a, s.l, s.dt, s.l * s.shedFrac);
            if (b.socPct < 0 || b.socPct > 100) return false;
            if (before >= 150 && b.energyWh < 150 - 1e-9 && s.shedFrac === 1) return false; // floor held
            const dtH = s.dt / 3600;
            const balance = s.a * dtH + r.deliveredWh - (r.suppliedLoadW * dtH + r.chargeInputWh + r.curtailedArrayW * dtH);
            if (Math.abs(balance) > 1e-6 * (1 + s.a * dtH + s.l * dtH)) return false;
            const de = b.energyWh - before - (r.chargedWh - r.dischargedWh);
            if (Math.abs(de) > 1e-9 * 500) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects invalid specs with a RangeError naming the field", () => {
    const bad: [Partial<BatterySpec>, RegExp][] = [
      [{ capacityWh: 0 }, /capacityWh/],
      [{ capacityWh: Number.NaN }, /capacityWh/],
      [{ chargeEfficiency: 0 }, /chargeEfficiency/],
      [{ chargeEfficiency: 1.1 }, /chargeEfficiency/],
      [{ dischargeEfficiency: -0.5 }, /dischargeEfficiency/],
      [{ dodFloorPct: 100 }, /dodFloorPct/],
      [{ initialSocPct: 101 }, /initialSocPct/],
      [{ cells: { nominalV: 0, series: 8 } }, /cells\.nominalV/],
      [{ cells: { nominalV: 3.7, series: 2.5 } }, /cells\.series/],
      [{ maxChargeW: -1 }, /maxChargeW/],
    ];
    for (const [patch, re] of bad) {
      expect(() => new Battery({ ...BATTERY, ...patch })).toThrow(RangeError);
      expect(() => new Battery({ ...BATTERY, ...patch })).toThrow(re);
    }
    expect(() => new Battery(BATTERY).step(-1, 0, 1)).toThrow(/arrayW/);
    expect(() => new Battery(BATTERY).step(0, 0, 0)).toThrow(/dtS/);
  });
});

describe("power system", () => {
  const spec = { array: ARRAY, battery: BATTERY, busLoadW: 150 };

  it("reports array, load, SOC, bus voltage and current each step", () => {
    const ps = new PowerSystem(spec);
    const r = ps.step(60, { sunFraction: 1, payloadW: 800 });
    expect(r.arrayW).toBeCloseTo(3674.7, 9);
    expect(r.loadW).toBe(950);
    expect(r.suppliedW).toBe(950);
    expect(r.shedW).toBe(0);
    expect(r.busVoltageV).toBe(ps.battery.voltageV());
    expect(r.busCurrentA).toBeCloseTo(950 / r.busVoltageV, 12);
    expect(r.socPct).toBeGreaterThan(50);
    expect(r.energyWh).toBe(ps.battery.energyWh);
    expect(r.latchedUp).toBe(false);
  });

  it("latch-up adds a persistent current step until powerCycle()", () => {
    const ps = new PowerSystem(spec);
    ps.latchUp(40);
    for (let i = 0; i < 5; i++) {
      const r = ps.step(10, { sunFraction: 0, payloadW: 500 });
      expect(r.latchedUp).toBe(true);
      expect(r.loadW).toBe(690);
      expect(r.busCurrentA).toBeCloseTo(690 / r.busVoltageV, 12);
    }
    ps.latchUp(15, "bus");
    expect(ps.step(10, { sunFraction: 0, payloadW: 500 }).loadW).toBe(705);
    ps.powerCycle();
    const r = ps.step(10, { sunFraction: 0, payloadW: 500 });
    expect(r.latchedUp).toBe(false);
    expect(r.loadW).toBe(650);
    expect(() => ps.latchUp(0)).toThrow(/stepW/);
  });

  it("sheds the payload (with its latch-up current) at the DoD floor but keeps the platform bus powered", () => {
    const ps = new PowerSystem({ ...spec, battery: { ...BATTERY, initialSocPct: 31 } });
    ps.latchUp(50);
    let r = ps.step(60, { sunFraction: 0, payloadW: 1000 });
    for (let i = 0; i < 30; i++) r = ps.step(60, { sunFraction: 0, payloadW: 1000 });
    expect(r.shedW).toBeCloseTo(1050, 9);
    expect(r.suppliedW).toBeCloseTo(150, 9);
    expect(r.socPct).toBeLessThan(30); // the bus keeps drawing below the floor
    expect(r.latchedUp).toBe(true); // shedding does not clear the latch
  });

  it("curtails surplus and holds 100 % through a sunlit pass with a full battery", () => {
    const ps = new PowerSystem({ ...spec, battery: { ...BATTERY, initialSocPct: 100 } });
    const r = ps.step(60, { sunFraction: 1, payloadW: 500 });
    expect(r.socPct).toBe(100);
    expect(r.curtailedW).toBeCloseTo(3674.7 - 650, 9);
  });

  it("uses the cosine for body-fixed arrays", () => {
    const ps = new PowerSystem({ ...spec, array: { ...ARRAY, pointing: "body-fixed" } });
    expect(ps.step(1, { sunFraction: 1, cosIncidence: 0.5, payloadW: 0 }).arrayW).toBeCloseTo(1837.35, 9);
  });

  it("rejects invalid specs with a RangeError naming the field", () => {
    expect(() => new PowerSystem({ ...spec, busLoadW: -5 })).toThrow(/busLoadW/);
    expect(() => new PowerSystem({ ...spec, array: { ...ARRAY, areaM2: 0 } })).toThrow(/array\.areaM2/);
    expect(() => new PowerSystem({ ...spec, array: { ...ARRAY, cellEfficiency: 1.2 } })).toThrow(/array\.cellEfficiency/);
    expect(() => new PowerSystem({ ...spec, array: { ...ARRAY, packingFactor: 0 } })).toThrow(/array\.packingFactor/);
    expect(() => new PowerSystem({ ...spec, array: { ...ARRAY, degradationPerYear: 1 } })).toThrow(/array\.degradationPerYear/);
    expect(() => new PowerSystem({ ...spec, array: { ...ARRAY, ageYears: -1 } })).toThrow(/array\.ageYears/);
    expect(() => new PowerSystem({ ...spec, array: { ...ARRAY, pointing: "nadir" as never } })).toThrow(/array\.pointing/);
    expect(() => new PowerSystem({ ...spec, battery: { ...BATTERY, dodFloorPct: -1 } })).toThrow(/battery\.dodFloorPct/);
    expect(() => new PowerSystem(spec).step(10, { sunFraction: 1, payloadW: -1 })).toThrow(/payloadW/);
  });
});
