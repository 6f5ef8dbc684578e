// Line charts as inline SVG: the HTML report must open anywhere, offline, with
// nothing to load. Pure functions from numbers to markup.

export interface Series {
  label: string;
  values: ArrayLike<number>;
  colour: string;
}

export interface Band {
  startS: number;
  endS: number;
}

export interface BandLayer {
  label: string;
  bands: Band[];
  colour: string;
}

export interface ChartOptions {
  title: string;
  unit: string;
  timeS: ArrayLike<number>;
  series: Series[];
  bands?: BandLayer[];
  width?: number;
  height?: number;
  /** Fixed y range; otherwise from the data with a margin. */
  yMin?: number;
  yMax?: number;
  /** At most this many points per series are drawn (min/max kept per bucket). */
  maxPoints?: number;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * Reduces a series to at most ~maxPoints by keeping the min and max of each
 * bucket, so spikes survive (a plain stride would hide them).
 */
export function decimate(timeS: ArrayLike<number>, values: ArrayLike<number>, maxPoints: number): [number, number][] {
  const n = Math.min(timeS.length, values.length);
  const out: [number, number][] = [];
  if (n <= maxPoints) {
    for (let i = 0; i < n; i++) if (Number.isFinite(values[i]!)) out.push([timeS[i]!, values[i]!]);
    return out;
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const size = n / buckets;
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(n, Math.floor((b + 1) * size));
    let lo = -1;
    let hi = -1;
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < values[lo]!) lo = i;
      if (hi < 0 || v > values[hi]!) hi = i;
    }
    if (lo < 0) continue;
    const [a, c] = lo <= hi ? [lo, hi] : [hi, lo];
    out.push([timeS[a]!, values[a]!]);
    if (c !== a) out.push([timeS[c]!, values[c]!]);
  }
  return out;
}

function niceStep(range: number, ticks: number): number {
  const raw = range / Math.max(1, ticks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

function formatHours(s: number): string {
  return `${+(s / 3600).toFixed(1)} h`;
}

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 960;
  const height = o.height ?? 240;
  const left = 56;
  const right = 12;
  const top = 28;
  const bottom = 30;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const n = o.timeS.length;
  const t0 = n > 0 ? o.timeS[0]! : 0;
  const t1 = n > 1 ? o.timeS[n - 1]! : t0 + 1;
  const maxPoints = o.maxPoints ?? 1500;
  const decimated = o.series.map((s) => decimate(o.timeS, s.values, maxPoints));
  let lo = o.yMin ?? Number.POSITIVE_INFINITY;
  let hi = o.yMax ?? Number.NEGATIVE_INFINITY;
  if (o.yMin === undefined || o.yMax === undefined) {
    for (const pts of decimated) {
      for (const [, v] of pts) {
        if (o.yMin === undefined) lo = Math.min(lo, v);
        if (o.yMax === undefined) hi = Math.max(hi, v);
      }
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      lo = 0;
      hi = 1;
    }
    const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
    if (o.yMin === undefined) lo -= pad;
    if (o.yMax === undefined) hi += pad;
  }
  const x = (t: number) => left + ((t - t0) / (t1 - t0 || 1)) * plotW;
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo || 1)) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(o.title)}">`);
  parts.push(`<text x="${left}" y="18" class="title">${escapeXml(o.title)}${o.unit ? ` (${escapeXml(o.unit)})` : ""}</text>`);
  for (const layer of o.bands ?? []) {
    for (const b of layer.bands) {
      const bx = x(Math.max(t0, b.startS));
      const bw = Math.max(0.5, x(Math.min(t1, b.endS)) - bx);
      parts.push(`<rect x="${bx.toFixed(1)}" y="${top}" width="${bw.toFixed(1)}" height="${plotH}" fill="${layer.colour}"><title>${escapeXml(layer.label)}</title></rect>`);
    }
  }
  const yStep = niceStep(hi - lo, 5);
  for (let v = Math.ceil(lo / yStep) * yStep; v <= hi; v += yStep) {
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${yy}" class="tick" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(6)}</text>`);
  }
  const tStep = niceStep((t1 - t0) / 3600, 8) * 3600;
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    const xx = x(t).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${top}" y2="${top + plotH}" class="grid"/>`);
    parts.push(`<text x="${xx}" y="${height - 10}" class="tick" text-anchor="middle">${formatHours(t)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  o.series.forEach((s, i) => {
    const pts = decimated[i]!;
    if (pts.length > 0) {
      const d = pts.map(([t, v], k) => `${k === 0 ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join("");
      parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.4"><title>${escapeXml(s.label)}</title></path>`);
    }
    parts.push(`<text x="${left + 8 + i * 150}" y="${top + 14}" class="legend" fill="${s.colour}">■ ${escapeXml(s.label)}</text>`);
  });
  (o.bands ?? []).forEach((layer, i) => {
    const lx = left + plotW - 130 * (i + 1);
    parts.push(`<text x="${lx}" y="${top + 14}" class="legend"><tspan fill="${layer.colour}">█</tspan> ${escapeXml(layer.label)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}
