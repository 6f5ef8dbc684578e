// The scenario file: what orbit, when, for how long, which environment
// parameters, which faults and which seed. Validated field by field; a bad
// file gets an error naming the file, the field and what was expected.
import { z } from "zod";
import { REGION_NAME } from "@umbra/platform";

/** "90", "90s", "15m", "6h", "1d", "1.5h" → seconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const factor = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600, d: 86400 }[unit]!;
  return n * factor;
}

/** "8GiB", "512 MiB", "1e9", 1024 → bytes. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(B|KiB|MiB|GiB|kB|MB|GB)?\s*$/.exec(value);
  if (!m) return undefined;
  const factor = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] ?? "B"]!;
  return Math.round(Number(m[1]) * factor);
}

const duration = (what: string, minS: number, maxS: number) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const s = parseDuration(v);
    if (s === undefined) {
      ctx.addIssue({ code: "custom", message: `expected a duration like 90s, 15m, 6h or 1d, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    if (s < minS || s > maxS) {
      ctx.addIssue({ code: "custom", message: `${what} must be between ${minS} s and ${maxS} s, got ${s} s` });
      return z.NEVER;
    }
    return s;
  });

const bytes = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const b = parseBytes(v);
  if (b === undefined || b < 0 || b > 2 ** 47) {
    ctx.addIssue({ code: "custom", message: `expected a size like 8GiB or 512MiB (at most 128 TiB), got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return b;
});

const num = (min: number, max: number) => z.number().finite().min(min).max(max);
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, "expected a name of letters, digits and _ . : - (at most 64)");

const isoInstant = z.string().transform((v, ctx) => {
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(v) || Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `expected a UTC instant like 2026-06-21T00:00:00Z, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const circularOrbit = z
  .object({
    kind: z.literal("circular"),
    altitudeKm: num(160, 36000).default(500),
    inclinationDeg: z.union([num(0, 180), z.literal("sun-synchronous")]).default("sun-synchronous"),
    /** Local time of the ascending node, hours (sets RAAN from the Sun at epoch); default 10.5 (10:30). */
    ltanHours: num(0, 24).optional(),
    raanDeg: num(-360, 360).optional(),
    argumentOfLatitudeDeg: num(-360, 360).default(0),
    j2: z.boolean().default(true),
  })
  .strict()
  .refine((o) => o.ltanHours === undefined || o.raanDeg === undefined, { message: "give ltanHours or raanDeg, not both" });

const tleOrbit = z
  .object({
    kind: z.literal("tle"),
    line1: z.string().length(69, "a TLE line is 69 characters"),
    line2: z.string().length(69, "a TLE line is 69 characters"),
  })
  .strict();

const station = z
  .object({
    name,
    latitudeDeg: num(-90, 90),
    longitudeDeg: num(-180, 360),
    altitudeM: num(-500, 9000).default(0),
    minElevationDeg: num(0, 89).default(10),
  })
  .strict();

const array = z
  .object({
    areaM2: num(0.001, 1000).default(0.5),
    cellEfficiency: num(0.01, 0.6).default(0.3),
    packingFactor: num(0.1, 1).default(0.85),
    degradationPerYear: num(0, 0.5).default(0.0275),
    ageYears: num(0, 30).default(0),
    pointing: z.enum(["sun-tracking", "body-fixed"]).default("sun-tracking"),
  })
  .strict();

const battery = z
  .object({
    capacityWh: num(1, 100000).default(120),
    chargeEfficiency: num(0.5, 1).default(0.95),
    dischargeEfficiency: num(0.5, 1).default(0.95),
    dodFloorPct: num(0, 90).default(30),
    initialSocPct: num(0, 100).default(80),
    cellsInSeries: z.number().int().min(1).max(64).default(4),
    maxChargeW: num(1, 100000).optional(),
  })
  .strict()
  .refine((b) => b.initialSocPct >= b.dodFloorPct, { message: "initialSocPct must not be below dodFloorPct" });

const payloadLoad = z
  .object({
    /** Draw with nothing running, W. */
    idleW: num(0, 10000).default(8),
    /** Draw when busy, W, at the highest CPU frequency step. */
    busyW: num(0, 10000).default(40),
    /** Fraction of the time busy when no service reports its draw on the bus. */
    dutyCycle: num(0, 1).default(0.6),
  })
  .strict();

const power = z
  .object({
    array: array.prefault({}),
    battery: battery.prefault({}),
    platformLoadW: num(0, 10000).default(20),
    payload: payloadLoad.prefault({}),
  })
  .strict();

const thermalNode = (capacity: number, initialC: number) =>
  z
    .object({
      heatCapacityJPerK: num(0.1, 1e7).default(capacity),
      initialC: num(-150, 150).default(initialC),
    })
    .strict();

const thermal = z
  .object({
    die: thermalNode(60, 25).prefault({}),
    board: thermalNode(900, 20).prefault({}),
    radiator: thermalNode(4000, 0).prefault({}),
    dieBoardWPerK: num(0.001, 1000).default(1.2),
    boardRadiatorWPerK: num(0.001, 1000).default(2.0),
    radiatorAreaM2: num(0.001, 100).default(0.35),
    emissivity: num(0.01, 1).default(0.85),
    absorptivity: num(0, 1).default(0.2),
    earthViewFactor: num(0, 1).default(0.3),
    solarIncidenceFactor: num(0, 1).default(0.1),
    earthIrWm2: num(0, 500).default(237),
    albedo: num(0, 1).default(0.3),
    sensorNoiseC: num(0, 10).default(0.2),
  })
  .strict();

const spe = z.object({ start: duration("start", 0, 366 * 86400), duration: duration("duration", 1, 30 * 86400) }).strict();

const radiation = z
  .object({
    quietRatePerBitDay: num(0, 1).default(1e-8),
    saaMultiplier: num(1, 1e6).default(10),
    speMultiplier: num(1, 1e6).default(100),
    multiBitFraction: num(0, 1).default(0.014),
    sefiRatePerDay: num(0, 1000).default(0.05),
    sefiHangProbability: num(0, 1).default(0.5),
    latchupRatePerDay: num(0, 1000).default(0.002),
    latchupCurrentStepW: num(0, 1000).default(6),
    /** Total ionising dose rate, krad(Si)/day: quiet orbit, inside the SAA, during a solar particle event. */
    doseKradPerDay: num(0, 1000).default(0.001),
    saaDoseKradPerDay: num(0, 1000).default(0.05),
    speDoseKradPerDay: num(0, 1000).default(1),
    solarParticleEvents: z.array(spe).max(100).default([]),
  })
  .strict();

// Names as the kernel gives them, which the platform's adapters insist on.
const kernelName = (prefix: string) => z.string().regex(new RegExp(`^${prefix}\\d{1,4}$`), `expected ${prefix}N, as the kernel names it`);
const regionName = z.string().regex(REGION_NAME, `expected a region name matching ${REGION_NAME.source}`);
const zone = z.object({ zone: kernelName("thermal_zone"), type: z.string().min(1).max(64), node: z.enum(["die", "board", "radiator"]) }).strict();
const policy = z
  .object({
    policy: kernelName("policy"),
    cpus: z.array(z.number().int().min(0).max(1023)).min(1).max(1024),
    availableKHz: z.array(z.number().int().min(1).max(100_000_000)).min(1).max(64),
  })
  .strict()
  .refine((p) => p.availableKHz.every((k, i, a) => i === 0 || a[i - 1]! < k), { message: "availableKHz must be strictly ascending" });

const hardware = z
  .object({
    thermalZones: z.array(zone).min(1).max(64).default([
      { zone: "thermal_zone0", type: "cpu-thermal", node: "die" },
      { zone: "thermal_zone1", type: "board-thermal", node: "board" },
    ]),
    cpufreq: z.array(policy).min(1).max(64).default([
      { policy: "policy0", cpus: [0, 1, 2, 3], availableKHz: [600000, 1000000, 1400000, 1800000] },
    ]),
    edacControllers: z.array(kernelName("mc")).max(16).default(["mc0"]),
    memoryBytes: bytes.default(8 * 1024 ** 3),
    /** Hardware ECC on DRAM: upsets are counted by EDAC and corrected (single-bit) instead of reaching buffers. */
    ecc: z.boolean().default(false),
    /**
     * A latching current limiter on the payload rail: it trips on a latch-up's
     * over-current after tripDelay and power-cycles the rail. Without one, a
     * latch-up lasts until something sends umbra.hil.v1.PowerCycle.
     */
    latchingCurrentLimiter: z
      .object({ enabled: z.boolean().default(true), tripDelay: duration("tripDelay", 0, 86400).default(60) })
      .strict()
      .prefault({}),
  })
  .strict();

const faultBase = { at: duration("at", 0, 366 * 86400) };
const fault = z.discriminatedUnion("kind", [
  z.object({ ...faultBase, kind: z.literal("bit-flip"), service: name, region: regionName, bits: z.number().int().min(1).max(64).default(1) }).strict(),
  z.object({ ...faultBase, kind: z.literal("multi-bit-flip"), service: name, region: regionName, adjacent: z.number().int().min(2).max(8).default(2) }).strict(),
  z.object({ ...faultBase, kind: z.literal("replica-output"), service: name, replica: z.number().int().min(0).max(15), bits: z.number().int().min(1).max(64).default(1) }).strict(),
  z
    .object({ ...faultBase, kind: z.literal("sensor-stuck"), sensor: name, value: num(-1e6, 1e6).optional(), duration: duration("duration", 1, 366 * 86400) })
    .strict(),
  z.object({ ...faultBase, kind: z.literal("sensor-spike"), sensor: name, value: num(-1e6, 1e6), duration: duration("duration", 1, 366 * 86400) }).strict(),
  z.object({ ...faultBase, kind: z.literal("sensor-nan"), sensor: name, duration: duration("duration", 1, 366 * 86400) }).strict(),
  z.object({ ...faultBase, kind: z.literal("hang"), service: name, duration: duration("duration", 1, 86400) }).strict(),
  z.object({ ...faultBase, kind: z.literal("kill"), service: name }).strict(),
  z.object({ ...faultBase, kind: z.literal("latch-up"), currentStepW: num(0, 1000).optional() }).strict(),
  /** The board power-cycles the payload computer: its supervisor's whole process group is killed (the launcher restarts it). */
  z.object({ ...faultBase, kind: z.literal("reset-payload") }).strict(),
]);

export const scenarioSchema = z
  .object({
    name,
    description: z.string().max(2000).default(""),
    seed: z.union([z.number().int().min(0).max(2 ** 53 - 1), z.string().min(1).max(128)]),
    epoch: isoInstant,
    duration: duration("duration", 1, 366 * 86400),
    step: duration("step", 0.1, 600).default(10),
    orbit: z.discriminatedUnion("kind", [circularOrbit, tleOrbit]).prefault({ kind: "circular" }),
    shadow: z.enum(["cylindrical", "conical"]).default("conical"),
    groundStations: z.array(station).max(64).default([
      { name: "Svalbard", latitudeDeg: 78.23, longitudeDeg: 15.39, altitudeM: 500, minElevationDeg: 5 },
      { name: "Kiruna", latitudeDeg: 67.86, longitudeDeg: 20.96, altitudeM: 390, minElevationDeg: 5 },
    ]),
    power: power.prefault({}),
    thermal: thermal.prefault({}),
    radiation: radiation.prefault({}),
    hardware: hardware.prefault({}),
    faults: z.array(fault).max(100_000).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.faults.forEach((f, i) => {
      if (f.at > s.duration) ctx.addIssue({ code: "custom", path: ["faults", i, "at"], message: `${f.at} s is after the end of the run (${s.duration} s)` });
      if (f.kind.startsWith("sensor-") && "sensor" in f) {
        const known = sensorNames(s.hardware.thermalZones.map((z) => z.zone));
        if (!known.includes(f.sensor)) {
          ctx.addIssue({ code: "custom", path: ["faults", i, "sensor"], message: `unknown sensor ${JSON.stringify(f.sensor)}; known: ${known.join(", ")}` });
        }
      }
    });
    s.radiation.solarParticleEvents.forEach((e, i) => {
      if (e.start > s.duration) ctx.addIssue({ code: "custom", path: ["radiation", "solarParticleEvents", i, "start"], message: "starts after the end of the run" });
    });
    if (s.step > s.duration) ctx.addIssue({ code: "custom", path: ["step"], message: "step is longer than the run" });
  });

/** Sensors a fault can stick or spike: every thermal zone plus the power readings. */
export function sensorNames(zones: string[]): string[] {
  return [...zones, "busVoltage", "busCurrent", "inputPower", "batterySoc"];
}

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type FaultSpec = Scenario["faults"][number];
export type OrbitConfig = Scenario["orbit"];
