/**
 * Radiation effects on the compute payload: single-event upsets (SEU, with multi-bit upsets),
 * single-event functional interrupts (SEFI), single-event latch-up (SEL) and total ionising dose
 * (TID), each driven by the orbital context (inside the South Atlantic Anomaly, during a solar
 * particle event).
 *
 * Sources: ECSS-E-ST-10-04C (space environment: trapped protons of the SAA, solar particle
 * events), ECSS-E-ST-10-12C (methods for radiation effects: SEE rate prediction, TID);
 * NASA/TP-2006-214140 / NASA GSFC "Single Event Effects Criticality Analysis" and the NASA
 * SEE test guideline (LaBel, Gates et al.) for the SEU/SEFI/SEL taxonomy; Radaelli et al.,
 * IEEE TNS 52(6) 2005 and Tipton et al., IEEE TNS 53(6) 2006 for multiple-cell upsets of the
 * order of 1–2 % of events in deep-submicron SRAM/DRAM. Default rates are illustrative
 * COTS-in-LEO figures (≈500 km, ≈2.5 mm Al): 1e-8 upsets/bit/day quiet is typical of
 * commercial SRAM/DRAM there; the SAA dominates LEO dose (≈1–3 krad(Si)/yr).
 *
 * Event processes: every effect is a homogeneous Poisson process over a step with constant
 * context: count ~ Poisson(rate · exposure · dt). SEU positions are then uniform over the
 * exposed bits, so the cost is O(events), never O(bits).
 *
 * Combining contexts: the SAA multiplier and the SPE multiplier describe *additional* particle
 * populations (trapped protons, solar protons) on top of the quiet background, so in both at
 * once the rate is quiet·(1 + (m_SAA − 1) + (m_SPE − 1)); likewise for dose rates,
 * quiet + (saa − quiet) + (spe − quiet). Multipliers are ≥ 1.
 *
 * Multi-bit upsets: a fraction `mbuFraction` (default 1.4 %) of upset events flip adjacent
 * bits; of those, `mbuTripleFraction` (default 20 %) flip 3 adjacent bits, the rest 2. An
 * upset is reported as a run of `bits` adjacent bits starting at `bitOffset`; the offset is
 * uniform in [0, exposedBits) and, for a multi-bit upset that would run past the end of the
 * exposed region, is moved back so the whole run lies inside it.
 *
 * Randomness: each effect draws from its own fork of the Rng given ("seu", "sefi", "latchup"),
 * so changing e.g. the SEFI rate does not change the SEU sequence.
 */
import type { Rng } from "./rng.js";
import { requireFinite, requireFraction, requireInRange, requireNonNegative, requirePositive } from "./validate.js";

export const SECONDS_PER_DAY = 86400;

export interface RadiationContext {
  inSaa: boolean;
  spe: boolean;
}

export interface RadiationSpec {
  seu?: {
    /** Upset events per bit per day outside the SAA without an SPE; default 1e-8. */
    quietPerBitPerDay?: number;
    /** Rate multiplier in the SAA (≥ 1); default 10. */
    saaMultiplier?: number;
    /** Rate multiplier during a solar particle event (≥ 1); default 100. */
    speMultiplier?: number;
    /** Fraction of upset events that are multi-bit (adjacent), [0, 1]; default 0.014. */
    mbuFraction?: number;
    /** Fraction of multi-bit upsets that flip 3 bits (the rest flip 2), [0, 1]; default 0.2. */
    mbuTripleFraction?: number;
  };
  sefi?: {
    /** Functional interrupts per day (whole payload) when quiet; default 0.01. */
    quietPerDay?: number;
    saaMultiplier?: number;
    speMultiplier?: number;
    /** Probability a SEFI hangs a service (otherwise it crashes), [0, 1]; default 0.7. */
    hangProbability?: number;
  };
  latchup?: {
    /** Latch-ups per day when quiet; default 0.001. */
    quietPerDay?: number;
    saaMultiplier?: number;
    speMultiplier?: number;
  };
  dose?: {
    /** Dose rate outside the SAA without SPE, krad(Si)/day; default 0.001. */
    quietKradPerDay?: number;
    /** Dose rate inside the SAA, krad(Si)/day; default 0.05. */
    saaKradPerDay?: number;
    /** Dose rate during an SPE, krad(Si)/day; default 1.0. */
    speKradPerDay?: number;
  };
  /** Upsets listed per step are capped at this (the count is still exact); default 1e6. */
  maxListedUpsetsPerStep?: number;
}

export interface ResolvedRadiationSpec {
  seu: { quietPerBitPerDay: number; saaMultiplier: number; speMultiplier: number; mbuFraction: number; mbuTripleFraction: number };
  sefi: { quietPerDay: number; saaMultiplier: number; speMultiplier: number; hangProbability: number };
  latchup: { quietPerDay: number; saaMultiplier: number; speMultiplier: number };
  dose: { quietKradPerDay: number; saaKradPerDay: number; speKradPerDay: number };
  maxListedUpsetsPerStep: number;
}

export const DEFAULT_RADIATION_SPEC: ResolvedRadiationSpec = {
  seu: { quietPerBitPerDay: 1e-8, saaMultiplier: 10, speMultiplier: 100, mbuFraction: 0.014, mbuTripleFraction: 0.2 },
  sefi: { quietPerDay: 0.01, saaMultiplier: 10, speMultiplier: 100, hangProbability: 0.7 },
  latchup: { quietPerDay: 0.001, saaMultiplier: 10, speMultiplier: 100 },
  dose: { quietKradPerDay: 0.001, saaKradPerDay: 0.05, speKradPerDay: 1.0 },
  maxListedUpsetsPerStep: 1_000_000,
};

export interface Upset {
  /** First flipped bit, in [0, exposedBits). */
  bitOffset: number;
  /** 1 = single-bit upset, 2..3 = adjacent multi-bit upset starting at bitOffset. */
  bits: number;
}

export type SefiKind = "hang" | "crash";

export interface RadiationStepResult {
  upsets: Upset[];
  /** Number of upset events this step (equals upsets.length unless the list was capped). */
  upsetCount: number;
  sefis: SefiKind[];
  latchups: number;
  /** Dose accumulated during this step, krad(Si). */
  doseKrad: number;
  /** Dose accumulated since construction, krad(Si). */
  totalDoseKrad: number;
}

export interface RadiationTotals {
  elapsedS: number;
  saaS: number;
  speS: number;
  upsetEvents: number;
  upsetBits: number;
  singleBitUpsets: number;
  multiBitUpsets: number;
  sefis: number;
  hangs: number;
  crashes: number;
  latchups: number;
  doseKrad: number;
}

function envMultiplier(ctx: RadiationContext, saa: number, spe: number): number {
  return 1 + (ctx.inSaa ? saa - 1 : 0) + (ctx.spe ? spe - 1 : 0);
}

export function resolveRadiationSpec(spec: RadiationSpec = {}): ResolvedRadiationSpec {
  const d = DEFAULT_RADIATION_SPEC;
  const r: ResolvedRadiationSpec = {
    seu: { ...d.seu, ...stripUndefined(spec.seu) },
    sefi: { ...d.sefi, ...stripUndefined(spec.sefi) },
    latchup: { ...d.latchup, ...stripUndefined(spec.latchup) },
    dose: { ...d.dose, ...stripUndefined(spec.dose) },
    maxListedUpsetsPerStep: spec.maxListedUpsetsPerStep ?? d.maxListedUpsetsPerStep,
  };
  requireNonNegative("seu.quietPerBitPerDay", r.seu.quietPerBitPerDay);
  requireMultiplier("seu.saaMultiplier", r.seu.saaMultiplier);
  requireMultiplier("seu.speMultiplier", r.seu.speMultiplier);
  requireFraction("seu.mbuFraction", r.seu.mbuFraction);
  requireFraction("seu.mbuTripleFraction", r.seu.mbuTripleFraction);
  requireNonNegative("sefi.quietPerDay", r.sefi.quietPerDay);
  requireMultiplier("sefi.saaMultiplier", r.sefi.saaMultiplier);
  requireMultiplier("sefi.speMultiplier", r.sefi.speMultiplier);
  requireFraction("sefi.hangProbability", r.sefi.hangProbability);
  requireNonNegative("latchup.quietPerDay", r.latchup.quietPerDay);
  requireMultiplier("latchup.saaMultiplier", r.latchup.saaMultiplier);
  requireMultiplier("latchup.speMultiplier", r.latchup.speMultiplier);
  requireNonNegative("dose.quietKradPerDay", r.dose.quietKradPerDay);
  requireNonNegative("dose.saaKradPerDay", r.dose.saaKradPerDay);
  requireNonNegative("dose.speKradPerDay", r.dose.speKradPerDay);
  const cap = requirePositive("maxListedUpsetsPerStep", r.maxListedUpsetsPerStep);
  if (!Number.isInteger(cap)) throw new RangeError(`maxListedUpsetsPerStep must be an integer, got ${cap}`);
  return r;
}

function requireMultiplier(field: string, v: unknown): number {
  const n = requireFinite(field, v);
  if (!(n >= 1)) throw new RangeError(`${field} must be >= 1, got ${n}`);
  return n;
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  if (o === undefined) return {};
  if (o === null || typeof o !== "object") throw new RangeError("radiation spec sections must be objects");
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function requireContext(ctx: RadiationContext): void {
  if (ctx === null || typeof ctx !== "object" || typeof ctx.inSaa !== "boolean" || typeof ctx.spe !== "boolean") {
    throw new TypeError("ctx must be { inSaa: boolean; spe: boolean }");
  }
}

export class RadiationModel {
  readonly spec: Readonly<ResolvedRadiationSpec>;
  private readonly seuRng: Rng;
  private readonly sefiRng: Rng;
  private readonly latchRng: Rng;
  private readonly t: RadiationTotals = {
    elapsedS: 0,
    saaS: 0,
    speS: 0,
    upsetEvents: 0,
    upsetBits: 0,
    singleBitUpsets: 0,
    multiBitUpsets: 0,
    sefis: 0,
    hangs: 0,
    crashes: 0,
    latchups: 0,
    doseKrad: 0,
  };

  constructor(spec: RadiationSpec, rng: Rng) {
    this.spec = resolveRadiationSpec(spec);
    this.seuRng = rng.fork("seu");
    this.sefiRng = rng.fork("sefi");
    this.latchRng = rng.fork("latchup");
  }

  /** SEU rate in this context, upset events per bit per day. */
  rate(ctx: RadiationContext): number {
    requireContext(ctx);
    const s = this.spec.seu;
    return s.quietPerBitPerDay * envMultiplier(ctx, s.saaMultiplier, s.speMultiplier);
  }

  /** SEFI rate in this context, per day. */
  sefiRate(ctx: RadiationContext): number {
    requireContext(ctx);
    const s = this.spec.sefi;
    return s.quietPerDay * envMultiplier(ctx, s.saaMultiplier, s.speMultiplier);
  }

  /** Latch-up rate in this context, per day. */
  latchupRate(ctx: RadiationContext): number {
    requireContext(ctx);
    const s = this.spec.latchup;
    return s.quietPerDay * envMultiplier(ctx, s.saaMultiplier, s.speMultiplier);
  }

  /** Dose rate in this context, krad(Si) per day. */
  doseRateKradPerDay(ctx: RadiationContext): number {
    requireContext(ctx);
    const d = this.spec.dose;
    const q = d.quietKradPerDay;
    return Math.max(0, q + (ctx.inSaa ? d.saaKradPerDay - q : 0) + (ctx.spe ? d.speKradPerDay - q : 0));
  }

  /** Advance by dtS seconds in a constant context with exposedBits bits of susceptible memory. */
  step(dtS: number, ctx: RadiationContext, exposedBits: number): RadiationStepResult {
    requireInRange("dtS", dtS, 0, Infinity, true);
    requireContext(ctx);
    if (!Number.isSafeInteger(exposedBits) || exposedBits < 0) {
      throw new RangeError(`exposedBits must be a non-negative safe integer, got ${exposedBits}`);
    }
    const days = dtS / SECONDS_PER_DAY;
    const seu = this.spec.seu;

    // SEU: Poisson count, then uniform positions.
    const upsetCount = exposedBits > 0 ? this.seuRng.poisson(this.rate(ctx) * exposedBits * days) : 0;
    const listed = Math.min(upsetCount, this.spec.maxListedUpsetsPerStep);
    const upsets: Upset[] = new Array<Upset>(listed);
    let bitsFlipped = 0;
    let multi = 0;
    for (let i = 0; i < upsetCount; i++) {
      let offset = this.seuRng.int(exposedBits);
      let bits = 1;
      if (seu.mbuFraction > 0 && this.seuRng.next() < seu.mbuFraction) {
        bits = this.seuRng.next() < seu.mbuTripleFraction ? 3 : 2;
        bits = Math.min(bits, exposedBits);
        offset = Math.min(offset, exposedBits - bits);
      }
      if (bits > 1) multi++;
      bitsFlipped += bits;
      if (i < listed) upsets[i] = { bitOffset: offset, bits };
    }

    // SEFI.
    const sefiCount = this.sefiRng.poisson(this.sefiRate(ctx) * days);
    const sefis: SefiKind[] = [];
    for (let i = 0; i < sefiCount; i++) {
      sefis.push(this.sefiRng.next() < this.spec.sefi.hangProbability ? "hang" : "crash");
    }

    // Latch-up.
    const latchups = this.latchRng.poisson(this.latchupRate(ctx) * days);

    // Total ionising dose.
    const doseKrad = this.doseRateKradPerDay(ctx) * days;

    const t = this.t;
    t.elapsedS += dtS;
    if (ctx.inSaa) t.saaS += dtS;
    if (ctx.spe) t.speS += dtS;
    t.upsetEvents += upsetCount;
    t.upsetBits += bitsFlipped;
    t.multiBitUpsets += multi;
    t.singleBitUpsets += upsetCount - multi;
    t.sefis += sefiCount;
    for (const s of sefis) {
      if (s === "hang") t.hangs++;
      else t.crashes++;
    }
    t.latchups += latchups;
    t.doseKrad += doseKrad;

    return { upsets, upsetCount, sefis, latchups, doseKrad, totalDoseKrad: t.doseKrad };
  }

  /** Cumulative counts since construction (a copy). */
  totals(): RadiationTotals {
    return { ...this.t };
  }
}
