// One parameter's time plot (uPlot): the series buffer's samples over the
// visible window (ending at its newest sample), the warning limits as dashed yellow lines and the critical
// ones as red, time in UTC. Redrawn at most twice a second from the buffer,
// however fast samples arrive.
import uPlot from "uplot";
import { useEffect, useRef } from "preact/hooks";
import type { Limits } from "../logic/limits.js";
import type { SeriesBuffer } from "../logic/series.js";

const REDRAW_MS = 500;
const HEIGHT = 160;

function limitLines(warning: Limits, critical: Limits): { y: number; colour: string }[] {
  const lines: { y: number; colour: string }[] = [];
  for (const [l, colour] of [
    [warning, "#b8860b"],
    [critical, "#c0392b"],
  ] as const) {
    if (typeof l.low === "number" && Number.isFinite(l.low)) lines.push({ y: l.low, colour });
    if (typeof l.high === "number" && Number.isFinite(l.high)) lines.push({ y: l.high, colour });
  }
  return lines;
}

/** "12:05:30" (UTC) for windows up to an hour, "12:05" beyond, "03-20 12:05" for a day. */
function axisTime(seconds: number, windowMs: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  if (windowMs <= 3_600_000) return iso.slice(11, 19);
  if (windowMs < 24 * 3_600_000) return iso.slice(11, 16);
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

export function Plot(props: { id: string; label: string; unit: string; buffer: SeriesBuffer; windowMs: number; warning: Limits; critical: Limits }) {
  const host = useRef<HTMLDivElement>(null);
  const { buffer, windowMs, warning, critical, label, unit } = props;
  const limitsKey = JSON.stringify([warning, critical]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const lines = limitLines(warning, critical);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      // Mission time is shown in UTC, as everywhere in the console.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: {
          time: true,
          // The window ends at this series' newest sample (its own clock), so the plot always shows its data.
          range: (_u, _min, max) => {
            const newest = buffer.newest();
            const right = newest !== undefined ? newest.t / 1000 : (max ?? 0);
            return [right - windowMs / 1000, right];
          },
        },
      },
      axes: [
        // 24-hour UTC labels, seconds only for short windows.
        { values: (_u: uPlot, splits: number[]) => splits.map((t) => axisTime(t, windowMs)) },
        { label: unit || undefined, size: 60 },
      ] as uPlot.Axis[],
      series: [{}, { label, stroke: "#1f5fa8", width: 1.5, spanGaps: false, points: { show: false } }],
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1;
            for (const line of lines) {
              const y = u.valToPos(line.y, "y", true);
              if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
              ctx.strokeStyle = line.colour;
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    const plot = new uPlot(opts, buffer.toPlotData(), el);
    let drawnLength = -1;
    let drawnNewest: number | undefined;
    const redraw = () => {
      const newest = buffer.newest()?.t;
      if (buffer.length === drawnLength && newest === drawnNewest) return;
      drawnLength = buffer.length;
      drawnNewest = newest;
      plot.setData(buffer.toPlotData());
      el.dataset["points"] = String(buffer.length);
    };
    redraw();
    const timer = setInterval(redraw, REDRAW_MS);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      clearInterval(timer);
      resize.disconnect();
      plot.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the limits by value (limitsKey), not by object identity
  }, [buffer, windowMs, limitsKey, label, unit]);

  return <div ref={host} class="plot" data-testid={`plot-${props.id}`} role="img" aria-label={`plot of ${label} over the last ${Math.round(windowMs / 60_000)} minutes of mission time`} />;
}
