// What every benchmark returns, and how the runner prints it. Shared by all
// benchmarks (bus, tc, archive, tmr, hil, ...) so their output reads the same
// and `--json` consumers parse one format.
import os from "node:os";

/** One measured figure, with the baseline measured in the same run. */
export interface BenchResult {
  /** What was measured, e.g. "uds pub/sub throughput, 64 B". */
  name: string;
  value: number;
  /** "msg/s", "µs", "MB/s", "count", ... */
  unit: string;
  /** The same measurement on the baseline (raw socket, plain insert, ...); null if there is none. */
  baseline: number | null;
  /** value / baseline; null without a baseline. Whether higher is better depends on the unit. */
  ratio: number | null;
  /** The target in words, e.g. "ratio >= 0.5"; "informational" when there is none. */
  target: string;
  /** Whether the target was met; null when there is no target. */
  met: boolean | null;
}

/** One benchmark's results, as printed by `--json` (one line each). */
export interface BenchReport {
  bench: string;
  node: string;
  cpu: string;
  results: BenchResult[];
}

/** What a benchmark gets from the runner. */
export interface BenchContext {
  /** Progress for humans; goes to stderr so stdout stays parseable. */
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  /** One line for the runner's list of benchmarks. */
  description: string;
  run(context: BenchContext): Promise<BenchResult[]>;
}

/** value / baseline, or null when there is no meaningful baseline. */
export function ratioOf(value: number, baseline: number | null): number | null {
  if (baseline === null || !Number.isFinite(baseline) || baseline === 0 || !Number.isFinite(value)) return null;
  return value / baseline;
}

/** Builds a result row; ratio is derived from value and baseline. */
export function result(
  name: string,
  value: number,
  unit: string,
  options: { baseline?: number | null; target?: string; met?: boolean | null } = {},
): BenchResult {
  const baseline = options.baseline ?? null;
  return {
    name,
    value,
    unit,
    baseline,
    ratio: ratioOf(value, baseline),
    target: options.target ?? "informational",
    met: options.met ?? null,
  };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when empty. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Median of unsorted samples; NaN when empty. */
export function median(samples: ArrayLike<number>): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function cpuModel(): string {
  return os.cpus()[0]?.model.trim() ?? "unknown";
}

export function makeReport(bench: string, results: BenchResult[]): BenchReport {
  return { bench, node: process.version, cpu: cpuModel(), results };
}

/** Rounds so JSON carries what was measured, not float noise. */
function roundForJson(n: number | null): number | null {
  if (n === null) return null;
  if (!Number.isFinite(n)) return null;
  const digits = Math.abs(n) >= 100 ? 1 : 4;
  return Number(n.toFixed(digits));
}

/** The one-line JSON form of a report. */
export function formatJson(report: BenchReport): string {
  return JSON.stringify({
    bench: report.bench,
    node: report.node,
    cpu: report.cpu,
    results: report.results.map((r) => ({
      name: r.name,
      value: roundForJson(r.value),
      unit: r.unit,
      baseline: roundForJson(r.baseline),
      ratio: roundForJson(r.ratio),
      target: r.target,
      met: r.met,
    })),
  });
}

/** A number as people read it: 3 significant figures, thousands separated. */
export function formatNumber(n: number | null): string {
  if (n === null) return "-";
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (Number.isInteger(n) || abs >= 1000) return Math.round(n).toLocaleString("en-US");
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function metText(met: boolean | null): string {
  return met === null ? "-" : met ? "yes" : "NO";
}

/** A readable table of one report. */
export function formatTable(report: BenchReport): string {
  const header = ["result", "value", "unit", "baseline", "ratio", "target", "met"];
  const rows = report.results.map((r) => [
    r.name,
    formatNumber(r.value),
    r.unit,
    formatNumber(r.baseline),
    r.ratio === null ? "-" : r.ratio.toFixed(2),
    r.target,
    metText(r.met),
  ]);
  const numeric = new Set([1, 3, 4]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [
    `${report.bench} (node ${report.node}, ${report.cpu}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ];
  const missed = report.results.filter((r) => r.met === false).length;
  if (missed > 0) out.push(`${missed} target(s) not met`);
  return out.join("\n");
}
