import { describe, expect, it } from "vitest";
import { TripTracker, checkTripPoints, type TripPoints } from "../src/trips.js";

const T: TripPoints = { passiveC: 80, hotC: 90, criticalC: 100, hysteresisC: 3 };

describe("TripTracker", () => {
  for (const [trip, at] of [
    ["passive", 80],
    ["hot", 90],
    ["critical", 100],
  ] as const) {
    it(`${trip}: latches at ${at} °C and releases only below ${at - 3} °C`, () => {
      const t = new TripTracker();
      t.update(at - 0.01, T);
      expect(t.isLatched(trip)).toBe(false);
      const up = t.update(at, T);
      expect(up.filter((x) => x.trip === trip)).toEqual([{ trip, entered: true, celsius: at, thresholdC: at }]);
      expect(t.level).toBe(trip);
      // Inside the hysteresis band: no change, no transition.
      for (const c of [at - 1, at - 2.99, at - 3]) expect(t.update(c, T).filter((x) => x.trip === trip)).toEqual([]);
      expect(t.isLatched(trip)).toBe(true);
      const down = t.update(at - 3.01, T);
      expect(down.filter((x) => x.trip === trip)).toEqual([{ trip, entered: false, celsius: at - 3.01, thresholdC: at - 3 }]);
      expect(t.isLatched(trip)).toBe(false);
    });
  }

  it("a jump past several trips reports each, lowest first, and a fall releases them highest first", () => {
    const t = new TripTracker();
    expect(t.update(105, T).map((x) => x.trip)).toEqual(["passive", "hot", "critical"]);
    expect(t.level).toBe("critical");
    expect(t.update(20, T).map((x) => `${x.trip}:${x.entered}`)).toEqual(["critical:false", "hot:false", "passive:false"]);
    expect(t.level).toBe("none");
  });

  it("does not chatter when the reading hovers at a trip", () => {
    const t = new TripTracker();
    let transitions = 0;
    for (let i = 0; i < 100; i++) transitions += t.update(90 + (i % 2 ? 0.5 : -0.5), T).filter((x) => x.trip === "hot").length;
    expect(transitions).toBe(1);
  });

  it("refuses a non-finite temperature", () => {
    expect(() => new TripTracker().update(Number.NaN, T)).toThrow(/finite/);
  });
});

describe("checkTripPoints", () => {
  it("accepts an ordered set and refuses disorder, zero hysteresis and hysteresis wider than a gap", () => {
    expect(checkTripPoints(T)).toBeUndefined();
    expect(checkTripPoints({ ...T, hotC: 80 })).toMatch(/passive < hot < critical/);
    expect(checkTripPoints({ ...T, criticalC: 85 })).toMatch(/passive < hot < critical/);
    expect(checkTripPoints({ ...T, hysteresisC: 0 })).toMatch(/above 0/);
    expect(checkTripPoints({ ...T, hysteresisC: 10 })).toMatch(/smaller than the smallest gap/);
    expect(checkTripPoints({ ...T, passiveC: Number.NaN })).toMatch(/finite/);
  });
});
