// Live telemetry: pick parameters from the dictionary; each shows its
// current value with its unit and limit colour, and a time plot of the
// visible window (the archive's history, then live samples from the
// stream).
import { useState } from "preact/hooks";
import { formatValue, parameterKey, splitParameterKey } from "../logic/format.js";
import { classify, describeLimits, limitText } from "../logic/limits.js";
import { formatMission } from "../logic/time.js";
import { telemetryDef, type Dictionary } from "./dictionary.js";
import { Plot } from "./Plot.js";
import { Choice, plainOptions } from "./controls.js";
import { MAX_PICKED, useChanges, type LiveTelemetry } from "./state.js";

const WINDOW_OPTIONS = (
  [
    ["5 min", 5 * 60_000],
    ["15 min", 15 * 60_000],
    ["1 h", 3_600_000],
    ["6 h", 6 * 3_600_000],
    ["24 h", 24 * 3_600_000],
  ] as const
).map(([label, ms]) => ({ value: String(ms), label }));

export function Telemetry(props: { dictionary: Dictionary; telemetry: LiveTelemetry }) {
  const { dictionary, telemetry } = props;
  useChanges(telemetry.changes);
  const [service, setService] = useState("");
  const [parameter, setParameter] = useState("");
  const services = dictionary.services.filter((s) => s.telemetry.length > 0);
  const chosen = services.find((s) => s.name === service) ?? services[0];
  const params = chosen?.telemetry ?? [];
  const chosenParam = params.find((p) => p.name === parameter) ?? params[0];

  return (
    <section aria-labelledby="telemetry-title">
      <h1 id="telemetry-title">Telemetry</h1>
      <form
        class="picker"
        onSubmit={(e) => {
          e.preventDefault();
          if (chosen && chosenParam) telemetry.pick(parameterKey(chosen.name, chosenParam.name));
        }}
      >
        <Choice label="Service" value={chosen?.name ?? ""} options={plainOptions(services.map((s) => s.name))} onChange={setService} testId="picker-service" />
        <Choice
          label="Parameter"
          value={chosenParam?.name ?? ""}
          options={params.map((p) => ({ value: p.name, label: p.unit ? `${p.name} (${p.unit})` : p.name, title: p.description }))}
          onChange={setParameter}
          testId="picker-parameter"
        />
        <button type="submit" disabled={!chosenParam || telemetry.picked.length >= MAX_PICKED} data-testid="picker-add">
          Plot
        </button>
        <Choice
          label="Window (mission time)"
          value={String(telemetry.windowMs)}
          options={WINDOW_OPTIONS}
          onChange={(v) => telemetry.setWindow(Number(v))}
          testId="picker-window"
        />
      </form>
      {chosenParam?.description ? <p class="hint">{chosenParam.description}</p> : null}
      {telemetry.picked.length === 0 ? <p class="empty">No parameter picked yet: choose one above and press Plot.</p> : null}
      <div class="cards">
        {telemetry.picked.map((key) => {
          const [svc, name] = splitParameterKey(key)!;
          const def = telemetryDef(dictionary, svc, name);
          const latest = telemetry.latest.get(key);
          const cls = classify(latest?.value, def?.limits, def?.criticalLimits);
          const buffer = telemetry.series.get(key);
          const error = telemetry.historyErrors.get(key);
          const limits = describeLimits(def?.limits, def?.criticalLimits);
          return (
            <article key={key} class={`card limit-${cls}`} data-testid="param-card" data-key={key}>
              <header>
                <h2>{key}</h2>
                <button type="button" class="link" onClick={() => telemetry.unpick(key)} aria-label={`stop plotting ${key}`} data-testid="param-remove">
                  Remove
                </button>
              </header>
              <p class="value" data-testid="param-value" data-limit={cls} data-value={latest?.value === undefined ? "" : String(latest.value)} data-utc-ms={latest?.utcMs === undefined ? "" : String(Math.round(latest.utcMs))}>
                <span class="big">{formatValue(latest?.value, def?.unit ?? "")}</span>
                {cls !== "none" ? <span class={`badge limit-${cls}`}>{limitText(cls)}</span> : null}
              </p>
              <p class="meta">
                {latest ? `at ${formatMission(latest.missionTimeNs)}` : "no sample yet"}
                {limits ? ` · limits: ${limits}` : ""}
              </p>
              {def?.type === "string" ? <p class="meta">text parameter: not plotted</p> : null}
              {error ? (
                <p class="error" role="alert">
                  history: {error}
                </p>
              ) : null}
              {buffer && def?.type !== "string" ? (
                <Plot id={key} label={key} unit={def?.unit ?? ""} buffer={buffer} windowMs={telemetry.windowMs} warning={def?.limits ?? {}} critical={def?.criticalLimits ?? {}} />
              ) : null}
            </article>
          );
        })}
      </div>
    </section>
  );
}
