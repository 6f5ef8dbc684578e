// Dividing a power budget among actors, as the kernel's power_allocator does
// (divvy_up_power), and turning each share into a state the actor can run at.
//
// 1. Every actor gets its minimum (the power of its lowest state: it costs
//    that however hard it is throttled).
// 2. What is left is shared in proportion to weight × (request − minimum).
// 3. A share above an actor's maximum is capped; the surplus goes to actors
//    still below their maximum, in proportion to their headroom (one pass is
//    enough: the surplus never exceeds the total headroom).
// 4. Each share buys the highest state whose power fits in it; what the
//    quantisation leaves over is spent on further steps where a whole step
//    fits (the kernel wastes it), highest weight first.
//
// Pure: no I/O, no clock.

/** One state of an actor: a CPU frequency step, an accelerator level, a number of job slots. */
export interface ActorLevel {
  /** kHz for a CPU, the level for the accelerator, slots for jobs. */
  value: number;
  /** Estimated power at this state, W. */
  watts: number;
}

export type ActorKindName = "cpu" | "accelerator" | "jobs";

export interface ActorModel {
  /** "cpu:policy0", "accelerator", "jobs". */
  name: string;
  kind: ActorKindName;
  /** Ascending by value and by power; index 0 is the most throttled state. */
  levels: ActorLevel[];
  /** Relative weight of its request (>= 0). */
  weight: number;
}

/** Why an actor model is unusable, or undefined. */
export function checkActorModel(a: ActorModel): string | undefined {
  if (typeof a.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(a.name)) return `actor name ${JSON.stringify(a.name)} is not a name of letters, digits and _ . : -`;
  if (!["cpu", "accelerator", "jobs"].includes(a.kind)) return `${a.name}: kind ${JSON.stringify(a.kind)} is not cpu, accelerator or jobs`;
  if (typeof a.weight !== "number" || !Number.isFinite(a.weight) || a.weight < 0) return `${a.name}: weight must be a finite number >= 0, got ${String(a.weight)}`;
  if (!Array.isArray(a.levels) || a.levels.length === 0) return `${a.name}: needs at least one level`;
  if (a.levels.length > 256) return `${a.name}: at most 256 levels, got ${a.levels.length}`;
  for (let i = 0; i < a.levels.length; i++) {
    const l = a.levels[i]!;
    if (typeof l !== "object" || l === null) return `${a.name}: levels[${i}] must be an object`;
    if (typeof l.value !== "number" || !Number.isSafeInteger(l.value) || l.value < 0) return `${a.name}: levels[${i}].value must be an integer >= 0, got ${String(l.value)}`;
    if (typeof l.watts !== "number" || !Number.isFinite(l.watts) || l.watts < 0 || l.watts > 100_000) return `${a.name}: levels[${i}].watts must be a number in 0..100000, got ${String(l.watts)}`;
    if (i > 0) {
      const prev = a.levels[i - 1]!;
      if (!(l.value > prev.value)) return `${a.name}: levels must be strictly ascending by value (levels[${i}])`;
      if (!(l.watts >= prev.watts)) return `${a.name}: power must not fall as the level rises (levels[${i}])`;
    }
  }
  if (a.kind === "cpu" && a.levels[0]!.value < 1) return `${a.name}: a CPU level's value is its frequency in kHz (>= 1)`;
  return undefined;
}

export const minPower = (a: ActorModel): number => a.levels[0]!.watts;
export const maxPower = (a: ActorModel): number => a.levels.at(-1)!.watts;

export interface ShareInput {
  weight: number;
  requestW: number;
  minW: number;
  maxW: number;
}

export interface Division {
  /** Per actor, same order as the input, W. */
  grantsW: number[];
  /** The budget could not even cover every actor's minimum; everyone is at its minimum. */
  belowMinimum: boolean;
}

/**
 * Splits budgetW among the actors. The grants sum to
 * clamp(budgetW, Σmin, Σmax), each lies in [min, max], and (above the
 * minimums) the shares follow weight × (request − min) until an actor is
 * full, whose surplus goes to the others by headroom.
 */
export function divideBudget(budgetW: number, actors: readonly ShareInput[]): Division {
  if (!Number.isFinite(budgetW)) throw new RangeError(`budget must be finite, got ${budgetW}`);
  for (const [i, a] of actors.entries()) {
    if (!(a.minW >= 0 && a.maxW >= a.minW && Number.isFinite(a.maxW))) throw new RangeError(`actor ${i}: bad power range ${a.minW}..${a.maxW}`);
    if (!(a.weight >= 0 && Number.isFinite(a.weight))) throw new RangeError(`actor ${i}: bad weight ${a.weight}`);
    if (!Number.isFinite(a.requestW)) throw new RangeError(`actor ${i}: bad request ${a.requestW}`);
  }
  const sumMin = actors.reduce((s, a) => s + a.minW, 0);
  const grants = actors.map((a) => a.minW);
  if (budgetW <= sumMin) return { grantsW: grants, belowMinimum: budgetW < sumMin };
  let spare = budgetW - sumMin;

  // Weighted requests above the minimum; an actor that asks for nothing more gets nothing more here.
  const want = actors.map((a) => a.weight * Math.max(0, Math.min(a.requestW, a.maxW) - a.minW));
  const totalWant = want.reduce((s, w) => s + w, 0);
  let surplus = 0;
  if (totalWant > 0) {
    for (let i = 0; i < actors.length; i++) {
      const a = actors[i]!;
      const share = (spare * want[i]!) / totalWant;
      const room = a.maxW - grants[i]!;
      if (share > room) {
        grants[i] = a.maxW;
        surplus += share - room;
      } else grants[i] = grants[i]! + share;
    }
  } else surplus = spare;
  spare = 0;

  // Surplus to those below their maximum, by headroom.
  const headroom = actors.map((a, i) => a.maxW - grants[i]!);
  const totalHeadroom = headroom.reduce((s, h) => s + h, 0);
  if (surplus > 0 && totalHeadroom > 0) {
    const given = Math.min(surplus, totalHeadroom);
    for (let i = 0; i < actors.length; i++) grants[i] = Math.min(actors[i]!.maxW, grants[i]! + (headroom[i]! * given) / totalHeadroom);
  }
  return { grantsW: grants, belowMinimum: false };
}

/**
 * The state each grant buys: the highest level whose power fits in the grant
 * (the lowest level if none does), then leftover power from every grant's
 * rounding pooled and spent on whole further steps, highest weight first,
 * cheapest step first among equals. Returns level indexes.
 */
export function chooseLevels(actors: readonly ActorModel[], grantsW: readonly number[]): number[] {
  if (grantsW.length !== actors.length) throw new RangeError("chooseLevels: one grant per actor");
  const idx = actors.map((a, i) => {
    let best = 0;
    for (let l = 0; l < a.levels.length; l++) if (a.levels[l]!.watts <= grantsW[i]! + 1e-9) best = l;
    return best;
  });
  let pool = actors.reduce((s, a, i) => s + Math.max(0, grantsW[i]! - a.levels[idx[i]!]!.watts), 0);
  for (;;) {
    let pick = -1;
    let pickCost = Infinity;
    for (let i = 0; i < actors.length; i++) {
      const a = actors[i]!;
      const next = a.levels[idx[i]! + 1];
      if (!next) continue;
      const cost = next.watts - a.levels[idx[i]!]!.watts;
      if (cost > pool + 1e-9) continue;
      if (pick < 0 || a.weight > actors[pick]!.weight || (a.weight === actors[pick]!.weight && cost < pickCost)) {
        pick = i;
        pickCost = cost;
      }
    }
    if (pick < 0) break;
    idx[pick] = idx[pick]! + 1;
    pool -= pickCost;
  }
  return idx;
}
