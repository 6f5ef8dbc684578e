// Voters: pure functions that turn the outputs of several replicas of one
// model into one result, say which replicas disagreed, and say when there is
// no majority. No I/O, no state; property-tested on their own.
//
// Every voter works on float32 outputs and takes a tolerance, because
// replicas built with different thread counts may differ in the last bits.

export interface Tolerance {
  /** Absolute difference allowed. */
  abs: number;
  /** Difference allowed relative to the larger magnitude. */
  rel: number;
}

export const DEFAULT_TOLERANCE: Tolerance = Object.freeze({ abs: 1e-5, rel: 1e-4 });

/** unanimous: all agree; corrected: a majority outvoted someone; no-majority: uncorrectable. */
export type VoteStatus = "unanimous" | "corrected" | "no-majority";

export interface TensorVote {
  status: VoteStatus;
  /** The voted tensor. Under no-majority it is the best guess and must not be trusted. */
  value: Float32Array;
  /** Indices of replicas that disagreed with the voted value, ascending. */
  dissenters: number[];
}

export interface ClassifierVote extends TensorVote {
  /** Voted class per row; -1 for a row with no majority. */
  labels: number[];
  /** Per row: the agreeing replicas' confidence in the voted class (median of three, the lower of two). */
  confidences: number[];
}

export class VoteError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "VoteError";
  }
}

export function checkTolerance(tolerance: Tolerance): void {
  for (const key of ["abs", "rel"] as const) {
    const v = tolerance[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new VoteError(`tolerance.${key} must be a finite number >= 0, got ${String(v)}`);
  }
}

/**
 * Whether two outputs agree. NaN agrees only with NaN and an infinity only
 * with the same infinity: two replicas that fail identically do agree, and a
 * replica that produced NaN never agrees with a number.
 */
export function close(a: number, b: number, tolerance: Tolerance): boolean {
  if (a === b) return true;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tolerance.abs + tolerance.rel * Math.max(Math.abs(a), Math.abs(b));
}

/** Bit-identical (a native memcmp): the usual case, since replicas of one model compute the same thing. */
function identical(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Whether two tensors agree element by element. */
export function tensorsAgree(a: Float32Array, b: Float32Array, tolerance: Tolerance): boolean {
  if (a.length !== b.length) return false;
  if (identical(a, b)) return true;
  for (let i = 0; i < a.length; i++) if (!close(a[i]!, b[i]!, tolerance)) return false;
  return true;
}

function checkReplicas(replicas: readonly Float32Array[], what: string): number {
  if (replicas.length !== 3) throw new VoteError(`${what} votes over exactly 3 replicas, got ${replicas.length}`);
  const length = replicas[0]!.length;
  for (const [i, r] of replicas.entries()) {
    if (!(r instanceof Float32Array)) throw new VoteError(`${what}: replica ${i}'s output is not a Float32Array`);
    if (r.length !== length) throw new VoteError(`${what}: replica ${i} has ${r.length} elements, replica 0 has ${length}`);
  }
  return length;
}

/** The median of three, where a NaN or an infinity counts as an outlier unless two share it. */
function median3(a: number, b: number, c: number, tolerance: Tolerance): number {
  if (Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c)) return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  if (close(a, b, tolerance)) return Number.isFinite(a) ? Math.min(a, b) : a;
  if (close(a, c, tolerance)) return Number.isFinite(a) ? Math.min(a, c) : a;
  if (close(b, c, tolerance)) return Number.isFinite(b) ? Math.min(b, c) : b;
  // No two agree: any choice is a guess; prefer a finite one.
  return [a, b, c].find(Number.isFinite) ?? a;
}

/**
 * Judges each replica against a voted tensor: a replica dissents if any
 * element is not close to the voted one; the vote has no majority if some
 * element is matched by fewer than two replicas.
 */
function judge(replicas: readonly Float32Array[], value: Float32Array, tolerance: Tolerance): TensorVote {
  const dissent = [false, false, false];
  let noMajority = false;
  for (let i = 0; i < value.length; i++) {
    const v = value[i]!;
    let agreeing = 0;
    for (let r = 0; r < 3; r++) {
      if (close(replicas[r]![i]!, v, tolerance)) agreeing++;
      else dissent[r] = true;
    }
    if (agreeing < 2) noMajority = true;
  }
  const dissenters = [0, 1, 2].filter((r) => dissent[r]);
  return { status: noMajority ? "no-majority" : dissenters.length > 0 ? "corrected" : "unanimous", value, dissenters };
}

/** Element-wise median of three replicas' tensors. */
export function voteMedian(replicas: readonly Float32Array[], tolerance: Tolerance = DEFAULT_TOLERANCE): TensorVote {
  checkTolerance(tolerance);
  const length = checkReplicas(replicas, "median voter");
  const [a, b, c] = replicas as [Float32Array, Float32Array, Float32Array];
  if (identical(a, b) && identical(b, c)) return { status: "unanimous", value: new Float32Array(a), dissenters: [] };
  const value = new Float32Array(length);
  for (let i = 0; i < length; i++) value[i] = median3(a[i]!, b[i]!, c[i]!, tolerance);
  return judge(replicas, value, tolerance);
}

/**
 * Bitwise majority of three replicas' tensors: each bit of the result is the
 * value at least two replicas have there. Exact when at most one replica is
 * wrong at each bit; judged against the tolerance like the median voter.
 */
export function voteBitwise(replicas: readonly Float32Array[], tolerance: Tolerance = DEFAULT_TOLERANCE): TensorVote {
  checkTolerance(tolerance);
  const length = checkReplicas(replicas, "bitwise voter");
  if (identical(replicas[0]!, replicas[1]!) && identical(replicas[1]!, replicas[2]!)) return { status: "unanimous", value: new Float32Array(replicas[0]!), dissenters: [] };
  const [a, b, c] = replicas.map((r) => new Uint32Array(r.buffer, r.byteOffset, length)) as [Uint32Array, Uint32Array, Uint32Array];
  const bits = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const z = c[i]!;
    bits[i] = (x & y) | (x & z) | (y & z);
  }
  return judge(replicas, new Float32Array(bits.buffer), tolerance);
}

/** The class with the highest value in one row of a [rows, classes] output; -1 if the row holds a NaN. */
export function argmaxRow(probabilities: Float32Array, row: number, classes: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let k = 0; k < classes; k++) {
    const v = probabilities[row * classes + k]!;
    if (Number.isNaN(v)) return -1; // a row with a NaN has no class
    if (v > bestValue) {
      bestValue = v;
      best = k;
    }
  }
  return best;
}

/**
 * Majority on the argmax of each row of a [rows, classes] output. Replicas
 * vote with their whole label vector. When all three agree on the labels,
 * the output is their element-wise median and a replica with any element off
 * is still a dissenter (its state is corrupt even though its labels
 * survived); the confidence is the median's. When two agree, the output and
 * confidence are the lower-confidence one's.
 */
export function voteArgmax(replicas: readonly Float32Array[], classes: number, tolerance: Tolerance = DEFAULT_TOLERANCE): ClassifierVote {
  checkTolerance(tolerance);
  const length = checkReplicas(replicas, "argmax voter");
  if (!Number.isInteger(classes) || classes < 1) throw new VoteError(`argmax voter: classes must be a positive integer, got ${classes}`);
  if (length === 0 || length % classes !== 0) throw new VoteError(`argmax voter: ${length} elements is not a whole number of rows of ${classes} classes`);
  const rows = length / classes;
  const labelVectors = replicas.map((r) => Array.from({ length: rows }, (_, row) => argmaxRow(r, row, classes)));
  const keys = labelVectors.map((v) => (v.includes(-1) ? undefined : v.join(",")));

  let majority: number[] | undefined;
  for (let r = 0; r < 3 && !majority; r++) {
    const key = keys[r];
    if (key === undefined) continue;
    const agreeing = [0, 1, 2].filter((s) => keys[s] === key);
    if (agreeing.length >= 2) majority = agreeing;
  }
  if (!majority) {
    return { status: "no-majority", value: new Float32Array(replicas[0]!), dissenters: [0, 1, 2], labels: new Array<number>(rows).fill(-1), confidences: new Array<number>(rows).fill(0) };
  }

  const labels = labelVectors[majority[0]!]!;
  const dissent = new Set([0, 1, 2].filter((r) => !majority.includes(r)));
  let value: Float32Array;
  if (majority.length === 3) {
    // All three picked the same classes: vote every element by median, so a
    // corrupted probability is masked even where it did not change a label,
    // and name the replica it came from.
    const median = voteMedian(replicas, tolerance);
    value = median.value;
    for (const r of median.dissenters) dissent.add(r);
  } else {
    // Two agree: the one with the lower confidence in row 0 lends its output (the conservative choice).
    const [p, q] = majority as [number, number];
    const at = (r: number) => replicas[r]![labels[0]!]!;
    value = new Float32Array(replicas[at(p) <= at(q) ? p : q]!);
  }
  const confidences = labels.map((label, row) => {
    if (majority.length === 3) return value[row * classes + label]!;
    const [p, q] = majority as [number, number];
    return Math.min(replicas[p]![row * classes + label]!, replicas[q]![row * classes + label]!);
  });
  const dissenters = [...dissent].sort((x, y) => x - y);
  return { status: dissenters.length > 0 ? "corrected" : "unanimous", value, dissenters, labels, confidences };
}
