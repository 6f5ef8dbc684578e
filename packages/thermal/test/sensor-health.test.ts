import { describe, expect, it } from "vitest";
import { SensorHealth, type SensorLimits } from "../src/sensor-health.js";

const L: SensorLimits = { validMinC: -40, validMaxC: 125, stuckAfterMs: 60_000, recoverSamples: 3 };

/** Feeds readings 1 s apart; returns the assessments. */
function feed(h: SensorHealth, values: unknown[], startMs = 0) {
  return values.map((v, i) => h.assess(v instanceof Error ? { error: v.message } : { value: v }, startMs + i * 1000, L));
}

const noisy = (n: number, base = 60) => Array.from({ length: n }, (_, i) => base + (i % 3) * 0.1);

describe("SensorHealth", () => {
  it("trusts a live sensor", () => {
    const h = new SensorHealth();
    expect(feed(h, noisy(200)).every((a) => a.trusted && a.fault === undefined)).toBe(true);
  });

  it("nan: NaN or a non-number is never trusted", () => {
    for (const bad of [Number.NaN, "61.0", null, undefined, {}]) {
      const h = new SensorHealth();
      feed(h, noisy(5));
      const a = h.assess({ value: bad }, 10_000, L);
      expect(a.trusted).toBe(false);
      expect(a.fault?.kind).toBe("nan");
      expect(a.change).toBe("faulted");
      expect(a.celsius).toBeUndefined();
    }
  });

  it("out-of-range: beyond the plausible range or infinite", () => {
    for (const bad of [125.5, -41, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e9]) {
      const h = new SensorHealth();
      const a = h.assess({ value: bad }, 0, L);
      expect(a.trusted).toBe(false);
      expect(a.fault?.kind).toBe("out-of-range");
    }
    // The limits themselves are plausible.
    expect(new SensorHealth().assess({ value: 125 }, 0, L).trusted).toBe(true);
  });

  it("missing: a failed read, with the port's reason", () => {
    const h = new SensorHealth();
    const a = h.assess({ error: "thermal: thermal_zone0/temp: ENOENT" }, 0, L);
    expect(a).toMatchObject({ trusted: false, fault: { kind: "missing", detail: "thermal: thermal_zone0/temp: ENOENT" }, change: "faulted" });
    expect(h.assess({ error: "gone", kind: "nan" }, 1000, L).fault?.kind).toBe("nan");
  });

  it("stuck: the exact same value for stuckAfterMs, not before", () => {
    const h = new SensorHealth();
    const out = feed(h, Array.from({ length: 62 }, () => 70.25));
    expect(out[59]!.trusted).toBe(true); // 59 s unchanged
    expect(out[60]!.trusted).toBe(false); // 60 s
    expect(out[60]!.fault?.kind).toBe("stuck");
    expect(out[60]!.change).toBe("faulted");
    expect(out[61]!.change).toBeUndefined(); // reported once
    // A value that moves again recovers after recoverSamples good readings.
    const after = feed(h, [70.3, 70.4, 70.5, 70.6], 62_000);
    expect(after.map((a) => a.trusted)).toEqual([false, false, true, true]);
    expect(after[2]!.change).toBe("recovered");
  });

  it("stuckAfterMs 0 turns the stuck check off", () => {
    const h = new SensorHealth();
    const out = Array.from({ length: 500 }, (_, i) => h.assess({ value: 50 }, i * 1000, { ...L, stuckAfterMs: 0 }));
    expect(out.every((a) => a.trusted)).toBe(true);
  });

  it("one good reading inside a burst of garbage does not bring a sensor back", () => {
    const h = new SensorHealth();
    const out = feed(h, [60, Number.NaN, 60.1, Number.NaN, 60.2, 60.3, 60.4]);
    expect(out.map((a) => a.trusted)).toEqual([true, false, false, false, false, false, true]);
  });

  it("reset forgets a fault", () => {
    const h = new SensorHealth();
    h.assess({ value: Number.NaN }, 0, L);
    h.reset();
    expect(h.assess({ value: 50 }, 1000, L).trusted).toBe(true);
  });
});
