// What a run leaves behind: every time series, the windows (eclipse, contact,
// SAA, solar particle events), every fault with its time and target, and a
// summary. Written as JSON (for tools) and as one self-contained HTML page.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { escapeXml, lineChart, type Band } from "./svg.js";

export const SERIES_NAMES = [
  "socPct",
  "arrayPowerW",
  "loadPowerW",
  "payloadPowerW",
  "shedPowerW",
  "busVoltageV",
  "dieC",
  "boardC",
  "radiatorC",
  "sunFraction",
  "betaDeg",
  "latitudeDeg",
  "longitudeDeg",
  "altitudeKm",
  "inSaa",
  "upsetsTotal",
  "multiBitUpsetsTotal",
  "doseKrad",
  "cpuFrequencyRatio",
] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];

/** A fault exactly as applied, so a replay can apply it again bit for bit. */
export type FaultAction =
  | { kind: "flip"; name: "bit-flip" | "multi-bit-flip"; service: string; region: string; bitOffsets: number[] }
  | { kind: "replica-output"; service: string; replica: number; bitOffsets: number[] }
  | { kind: "sensor"; sensor: string; mode: "stuck" | "spike" | "nan"; value?: number; durationS: number }
  | { kind: "signal"; service: string; signal: "hang" | "kill"; durationS: number }
  | { kind: "latch-up"; stepW: number }
  | { kind: "reset-payload" };

export interface FaultEntry {
  elapsedS: number;
  /** Mission time (TAI) as text. */
  missionTime: string;
  kind: string;
  target: string;
  detail: string;
  /** "request": asked for over the bus (umbra.hil.v1.InjectFault) while the run went on. */
  cause: "schedule" | "radiation" | "hardware" | "replay" | "request";
  outcome: string;
  /** Absent for the hardware's own reactions (LCL trip, watchdog reset, power cycle): they recur by themselves. */
  action?: FaultAction;
}

export interface ContactBand extends Band {
  station: string;
  maxElevationDeg: number;
}

export interface RunReport {
  format: "umbra-hil-report/1";
  scenario: { name: string; description: string; seed: number | string; epoch: string; durationS: number; stepS: number; file?: string };
  timeS: number[];
  series: Record<SeriesName, number[]>;
  windows: { eclipse: Band[]; contacts: ContactBand[]; saa: Band[]; solarParticleEvents: Band[] };
  faults: FaultEntry[];
  summary: Record<string, number | string>;
  /** How the run went on this machine; not part of the deterministic result. */
  run: { wallSeconds: number; simulatedToWallRatio: number; node: string };
}

/** The part of a report that the same scenario and seed must reproduce exactly. */
export function deterministicPart(r: RunReport): Omit<RunReport, "run" | "faults" | "scenario"> & { scenario: Omit<RunReport["scenario"], "file">; faults: Omit<FaultEntry, "outcome">[] } {
  const { run: _run, faults, scenario, ...rest } = r;
  const { file: _file, ...scenarioWithoutPath } = scenario;
  return { ...rest, scenario: scenarioWithoutPath, faults: faults.map(({ outcome: _o, ...f }) => f) };
}

/** Collects one value per series per step. */
export class Recorder {
  readonly timeS: number[] = [];
  readonly series = Object.fromEntries(SERIES_NAMES.map((n) => [n, [] as number[]])) as Record<SeriesName, number[]>;

  push(t: number, values: Record<SeriesName, number>): void {
    this.timeS.push(t);
    for (const name of SERIES_NAMES) this.series[name].push(round(values[name]));
  }
}

// Six significant digits keep the JSON small without hiding anything physical.
function round(v: number): number {
  return Number.isFinite(v) ? +v.toPrecision(6) : v;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #ccd;padding:3px 8px;text-align:left;font-size:13px}
svg{display:block;margin:8px 0;max-width:100%;height:auto}
.title{font-weight:600;font-size:13px} .tick{font-size:11px;fill:#556} .legend{font-size:12px}
.grid{stroke:#e3e6ea;stroke-width:1} .frame{fill:none;stroke:#99a}
.muted{color:#667}`;

export function renderHtml(r: RunReport): string {
  const t = r.timeS;
  const eclipse = { label: "eclipse", bands: r.windows.eclipse, colour: "#d9dde3" };
  const contacts = { label: "ground contact", bands: r.windows.contacts, colour: "rgba(60,170,90,0.22)" };
  const saa = { label: "SAA", bands: r.windows.saa, colour: "rgba(230,140,40,0.22)" };
  const spe = { label: "solar particle event", bands: r.windows.solarParticleEvents, colour: "rgba(200,40,40,0.15)" };
  const charts = [
    lineChart({ title: "Battery state of charge", unit: "%", timeS: t, yMin: 0, yMax: 100, series: [{ label: "SOC", values: r.series.socPct, colour: "#1f6feb" }], bands: [eclipse, contacts] }),
    lineChart({
      title: "Power",
      unit: "W",
      timeS: t,
      series: [
        { label: "array input", values: r.series.arrayPowerW, colour: "#d29922" },
        { label: "total load", values: r.series.loadPowerW, colour: "#8250df" },
        { label: "payload", values: r.series.payloadPowerW, colour: "#cf222e" },
      ],
      bands: [eclipse],
    }),
    lineChart({
      title: "Temperatures",
      unit: "°C",
      timeS: t,
      series: [
        { label: "die", values: r.series.dieC, colour: "#cf222e" },
        { label: "board", values: r.series.boardC, colour: "#bc4c00" },
        { label: "radiator", values: r.series.radiatorC, colour: "#0969da" },
      ],
      bands: [eclipse],
    }),
    lineChart({
      title: "Single-event upsets (cumulative)",
      unit: "count",
      timeS: t,
      series: [
        { label: "all upsets", values: r.series.upsetsTotal, colour: "#6e7781" },
        { label: "multi-bit", values: r.series.multiBitUpsetsTotal, colour: "#cf222e" },
      ],
      bands: [saa, spe],
    }),
    lineChart({ title: "Sun fraction (1 = full sun)", unit: "", timeS: t, yMin: 0, yMax: 1, series: [{ label: "sun", values: r.series.sunFraction, colour: "#d29922" }], bands: [contacts, saa] }),
  ];
  const summaryRows = Object.entries(r.summary)
    .map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(String(v))}</td></tr>`)
    .join("");
  const faultRows = r.faults
    .slice(0, 2000)
    .map(
      (f) =>
        `<tr><td>${(f.elapsedS / 3600).toFixed(3)} h</td><td>${escapeXml(f.kind)}</td><td>${escapeXml(f.target)}</td><td>${escapeXml(f.detail)}</td><td>${escapeXml(f.cause)}</td><td>${escapeXml(f.outcome)}</td></tr>`,
    )
    .join("");
  const contactRows = r.windows.contacts
    .map(
      (c) =>
        `<tr><td>${escapeXml(c.station)}</td><td>${(c.startS / 3600).toFixed(3)} h</td><td>${((c.endS - c.startS) / 60).toFixed(1)} min</td><td>${c.maxElevationDeg.toFixed(1)}°</td></tr>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HIL run: ${escapeXml(r.scenario.name)}</title><style>${STYLE}</style></head>
<body>
<h1>HIL run: ${escapeXml(r.scenario.name)}</h1>
<p class="muted">${escapeXml(r.scenario.description)}<br>epoch ${escapeXml(r.scenario.epoch)} · ${(r.scenario.durationS / 3600).toFixed(1)} h simulated in ${r.run.wallSeconds.toFixed(2)} s (×${Math.round(r.run.simulatedToWallRatio)}) · step ${r.scenario.stepS} s · seed ${escapeXml(String(r.scenario.seed))}</p>
<h2>Summary</h2><table>${summaryRows}</table>
<h2>Plots</h2>
${charts.join("\n")}
<h2>Ground contacts (${r.windows.contacts.length})</h2>
<table><tr><th>station</th><th>start</th><th>length</th><th>max elevation</th></tr>${contactRows}</table>
<h2>Faults (${r.faults.length}${r.faults.length > 2000 ? ", first 2000 shown" : ""})</h2>
<table><tr><th>time</th><th>kind</th><th>target</th><th>detail</th><th>cause</th><th>outcome</th></tr>${faultRows}</table>
</body></html>
`;
}

/** Writes <dir>/<name>.json and <dir>/<name>.html; returns their paths. */
export async function writeReport(report: RunReport, dir: string): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, report.scenario.name);
  const json = `${base}.json`;
  const html = `${base}.html`;
  await writeFile(json, JSON.stringify(report));
  await writeFile(html, renderHtml(report));
  return { json, html };
}
