// The summary products a job downlinks instead of its raw outputs: class
// counts (classifiers), boxes of connected regions of a probability map
// (segmenters), or the cloud-free tiles themselves. Pure functions plus the
// codec of umbra.jobs.v1.JobSummaryProduct.
import { CodecError, codecFor, umbra } from "@umbra/proto";

/** Tiles per label, keys in sorted order. */
export function classCounts(labels: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const label of labels) {
    if (typeof label !== "string") throw new TypeError(`classCounts: labels must be strings, got ${typeof label}`);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  // fromEntries defines own properties, so even a label "__proto__" is counted.
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface Region {
  /** Bounding box in the map, pixels. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Peak value inside the component. */
  readonly score: number;
}

export const MAX_DETECTIONS_LIMIT = 1_000_000;

/**
 * Bounding boxes of the 4-connected components of pixels >= threshold in a
 * row-major width×height map, each with its peak value, sorted by score
 * (highest first), then by box top, then left, then scan order; at most
 * maxDetections. NaN pixels count as below the threshold. Iterative flood
 * fill with one queue: a map that is all foreground costs O(n), not the stack.
 */
export function detectRegions(map: Float32Array, width: number, height: number, threshold = 0.5, maxDetections = 32): Region[] {
  if (!(map instanceof Float32Array)) throw new RangeError("detectRegions: map must be a Float32Array");
  if (!Number.isSafeInteger(width) || width < 1) throw new RangeError(`detectRegions: width must be a positive integer, got ${String(width)}`);
  if (!Number.isSafeInteger(height) || height < 1) throw new RangeError(`detectRegions: height must be a positive integer, got ${String(height)}`);
  if (map.length !== width * height) throw new RangeError(`detectRegions: map has ${map.length} values, expected ${width}×${height} = ${width * height}`);
  if (typeof threshold !== "number" || !(threshold > 0 && threshold <= 1)) throw new RangeError(`detectRegions: threshold must be in (0, 1], got ${String(threshold)}`);
  if (!Number.isSafeInteger(maxDetections) || maxDetections < 1 || maxDetections > MAX_DETECTIONS_LIMIT) {
    throw new RangeError(`detectRegions: maxDetections must be an integer in 1..${MAX_DETECTIONS_LIMIT}, got ${String(maxDetections)}`);
  }
  const n = map.length;
  const seen = new Uint8Array(n);
  const queue = new Int32Array(n); // each pixel enters at most once over the whole map
  const regions: Region[] = [];
  for (let start = 0; start < n; start++) {
    if (seen[start] || !(map[start]! >= threshold)) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    let minX = width;
    let minY = height;
    let maxX = -1;
    let maxY = -1;
    let peak = -Infinity;
    while (head < tail) {
      const p = queue[head++]!;
      const x = p % width;
      const y = (p - x) / width;
      const v = map[p]!;
      if (v > peak) peak = v;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      if (x > 0 && !seen[p - 1] && map[p - 1]! >= threshold) {
        seen[p - 1] = 1;
        queue[tail++] = p - 1;
      }
      if (x < width - 1 && !seen[p + 1] && map[p + 1]! >= threshold) {
        seen[p + 1] = 1;
        queue[tail++] = p + 1;
      }
      if (y > 0 && !seen[p - width] && map[p - width]! >= threshold) {
        seen[p - width] = 1;
        queue[tail++] = p - width;
      }
      if (y < height - 1 && !seen[p + width] && map[p + width]! >= threshold) {
        seen[p + width] = 1;
        queue[tail++] = p + width;
      }
    }
    regions.push({ x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1, score: peak });
  }
  // Array.prototype.sort is stable: equal keys keep scan (discovery) order.
  regions.sort((a, b) => b.score - a.score || a.y - b.y || a.x - b.x);
  return regions.length > maxDetections ? regions.slice(0, maxDetections) : regions;
}

/** Indices of the tiles whose label is one of clearLabels. */
export function cloudFree(labels: readonly string[], clearLabels: readonly string[]): number[] {
  const clear = new Set(clearLabels);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (clear.has(labels[i]!)) out.push(i);
  return out;
}

export interface TileDetection extends Region {
  /** Index into the job's tiles. */
  readonly tile: number;
}

export interface CloudFreeTileProduct {
  readonly tile: number;
  readonly name: string;
  readonly png: Uint8Array;
}

/** A JobSummaryProduct as the job runner builds it (and decodeSummaryProduct returns it). */
export interface SummaryInput {
  readonly jobId: string;
  readonly tenant: string;
  /** Every model the job ran on. */
  readonly models: readonly string[];
  readonly tiles: number;
  readonly uncorrectable: number;
  readonly classCounts: Readonly<Record<string, number>>;
  readonly detections: readonly TileDetection[];
  readonly cloudFree: readonly CloudFreeTileProduct[];
  readonly rawInputBytes: bigint;
  readonly energyJ: number;
  readonly finishedNs: bigint;
  readonly state: umbra.jobs.v1.JobState;
}

const codec = codecFor(umbra.jobs.v1.JobSummaryProduct);
const TYPE = codec.typeName;

/** What the schema cannot say: tile indices must fall inside the job's tiles. */
function checkIndices(p: Pick<SummaryInput, "tiles" | "detections" | "cloudFree">): void {
  p.detections.forEach((d, i) => {
    if (d.tile >= p.tiles) throw new CodecError(TYPE, `detections[${i}].tile: ${d.tile} is not below tiles (${p.tiles})`);
  });
  p.cloudFree.forEach((c, i) => {
    if (c.tile >= p.tiles) throw new CodecError(TYPE, `cloudFree[${i}].tile: ${c.tile} is not below tiles (${p.tiles})`);
  });
}

/** Encodes a summary product; CodecError names the first bad field. */
export function encodeSummaryProduct(p: SummaryInput): Uint8Array {
  if (p === null || typeof p !== "object") throw new CodecError(TYPE, "summary must be an object");
  if (!Array.isArray(p.detections) || !Array.isArray(p.cloudFree)) throw new CodecError(TYPE, "detections and cloudFree must be arrays");
  checkIndices(p);
  return codec.encode({
    jobId: p.jobId,
    tenant: p.tenant,
    models: [...p.models],
    tiles: p.tiles,
    uncorrectable: p.uncorrectable,
    classCounts: { ...p.classCounts },
    detections: p.detections.map((d) => ({ tile: d.tile, x: d.x, y: d.y, width: d.width, height: d.height, score: d.score })),
    cloudFree: p.cloudFree.map((c) => ({ tile: c.tile, name: c.name, png: c.png })),
    rawInputBytes: p.rawInputBytes,
    energyJ: p.energyJ,
    finishedNs: p.finishedNs,
    state: p.state,
  });
}

/** Decodes a summary product (scores come back as float32); CodecError on bad bytes. */
export function decodeSummaryProduct(bytes: Uint8Array): SummaryInput {
  const m = codec.decode(bytes);
  const out: SummaryInput = {
    jobId: m.jobId,
    tenant: m.tenant,
    models: m.models,
    tiles: m.tiles,
    uncorrectable: m.uncorrectable,
    classCounts: Object.fromEntries(Object.entries(m.classCounts)),
    detections: m.detections.map((d) => ({ tile: d.tile, x: d.x, y: d.y, width: d.width, height: d.height, score: d.score })),
    // A plain Uint8Array view (protobufjs hands back Buffers on Node), no copy.
    cloudFree: m.cloudFree.map((c) => ({ tile: c.tile, name: c.name, png: new Uint8Array(c.png.buffer, c.png.byteOffset, c.png.byteLength) })),
    rawInputBytes: m.rawInputBytes,
    energyJ: m.energyJ,
    finishedNs: m.finishedNs,
    state: m.state,
  };
  checkIndices(out);
  return out;
}
