// Payload status at a glance, from GET /api/status every 2 s: the mode, the
// power, the thermal governor, the scrubber's and the TMR voter's counters,
// the contact window, the job runner, and every service's heartbeat. Values
// carry their units and limit colours from the dictionary.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { unitOfField } from "../logic/forms.js";
import { formatValue } from "../logic/format.js";
import { classify, type LimitClass } from "../logic/limits.js";
import { contactWindow, modeName, resetReasonName, throttleStateName } from "../logic/status.js";
import { errorText, type Api } from "./api.js";
import { usePolling } from "./controls.js";
import { telemetryDef, type Dictionary } from "./dictionary.js";

type Group = Record<string, unknown>;

interface ServiceRow {
  name: string;
  state: string;
  alive: boolean;
  pid: number;
  uptimeMs: number;
  lastHeartbeat: string;
}

interface StatusJson {
  services?: ServiceRow[];
  power?: Group;
  thermal?: Group;
  scrubber?: Group;
  inference?: Group;
  jobs?: Group;
  contact?: Group;
  supervisor?: Group;
}

/** A metric: label, value with its unit, limit colour (from the dictionary when the group is a service). */
function Metric(props: { dictionary: Dictionary; group: string; name: string; value: unknown; label?: string; text?: string }) {
  const def = telemetryDef(props.dictionary, props.group, props.name);
  const unit = def?.unit ?? unitOfField(props.name);
  const cls: LimitClass = classify(props.value as never, def?.limits, def?.criticalLimits);
  return (
    <div class={`metric limit-${cls}`} data-testid={`metric-${props.group}-${props.name}`} data-limit={cls} title={def?.description ?? ""}>
      <dt>{props.label ?? props.name}</dt>
      <dd>{props.text ?? formatValue(props.value, unit)}</dd>
    </div>
  );
}

function Panel(props: { title: string; id: string; children: ComponentChildren; empty?: boolean }) {
  return (
    <section class="panel" aria-labelledby={`panel-${props.id}`} data-testid={`panel-${props.id}`}>
      <h2 id={`panel-${props.id}`}>{props.title}</h2>
      {props.empty ? <p class="empty">nothing received yet</p> : <dl>{props.children}</dl>}
    </section>
  );
}

const has = (g: Group | undefined) => !!g && Object.keys(g).length > 0;

export function Status(props: { api: Api; dictionary: Dictionary }) {
  const { api, dictionary } = props;
  const [status, setStatus] = useState<StatusJson | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  usePolling(
    () => api.get<StatusJson>("/api/status"),
    2000,
    [api],
    (s) => {
      setStatus(s ?? {});
      setError(undefined);
    },
    (err) => setError(errorText(err)),
  );

  const d = dictionary;
  const sup = status?.supervisor ?? {};
  const power = status?.power ?? {};
  const thermal = status?.thermal ?? {};
  const scrub = status?.scrubber ?? {};
  const inf = status?.inference ?? {};
  const jobs = status?.jobs ?? {};
  const mode = modeName(sup["mode"]);
  const contact = contactWindow(status?.contact);
  const metrics = (group: string, g: Group, names: string[]) =>
    names.filter((n) => n in g).map((n) => <Metric key={n} dictionary={d} group={group} name={n} value={g[n]} />);

  return (
    <section aria-labelledby="status-title">
      <h1 id="status-title">Payload status</h1>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {!status && !error ? <p class="hint">Loading…</p> : null}
      {status ? (
        <>
          <p class={`mode mode-${mode}`} data-testid="status-mode">
            Mode: <strong>{mode}</strong>
            {has(sup) ? ` · boot ${String(sup["bootCount"] ?? "-")} (reset reason ${resetReasonName(sup["resetReason"])})` : " · no supervisor telemetry yet"}
          </p>
          <div class="panels">
            <Panel title="Supervisor" id="supervisor" empty={!has(sup)}>
              <Metric dictionary={d} group="supervisor" name="mode" value={sup["mode"]} text={mode} />
              {metrics("supervisor", sup, ["servicesRunning", "servicesDown", "servicesFailed", "restartsTotal", "unstableBoots", "watchdogArmed", "healthy"])}
            </Panel>
            <Panel title="Power" id="power" empty={!has(power)}>
              {metrics("power", power, ["batterySocPct", "inputPowerW", "busVoltageV", "busCurrentA", "sunlit"])}
              {metrics("jobs", jobs, ["forecastMinSocPct", "jobLoadW", "baseLoadW"])}
            </Panel>
            <Panel title="Thermal" id="thermal" empty={!has(thermal)}>
              {metrics("thermal", thermal, ["dieC", "boardC", "targetC", "budgetW", "estimatedW"])}
              {"throttleState" in thermal ? <Metric dictionary={d} group="thermal" name="throttleState" value={thermal["throttleState"]} text={throttleStateName(thermal["throttleState"])} /> : null}
              {metrics("thermal", thermal, ["cpuKHz", "acceleratorLevel", "jobConcurrency", "sensorFaults"])}
            </Panel>
            <Panel title="Scrubber" id="scrubber" empty={!has(scrub)}>
              {metrics("scrubber", scrub, ["correctedBits", "repairedBlocks", "uncorrectableBlocks", "unusableRegions", "lastFullPassAgeS", "edacCorrectable", "edacUncorrectable", "edacOk"])}
            </Panel>
            <Panel title="TMR inference" id="tmr" empty={!has(inf)}>
              {metrics("inference", inf, ["protection", "activeModels", "inferences", "votesCorrected", "uncorrectable", "replicaRebuilds", "rebuildFailures", "canaryFailures"])}
            </Panel>
            <Panel title="Contact window" id="contact">
              <div class={`metric contact-${contact.state.replace(" ", "-")}`} data-testid="contact-window">
                <dt>contact</dt>
                <dd>{contact.text}</dd>
              </div>
              {contact.last ? (
                <div class="metric">
                  <dt>last</dt>
                  <dd>{contact.last}</dd>
                </div>
              ) : null}
            </Panel>
            <Panel title="Jobs" id="jobs" empty={!has(jobs)}>
              {metrics("jobs", jobs, ["queued", "running", "paused", "done", "failed", "expired", "meteredJoules", "emergency"])}
            </Panel>
          </div>
          <h2>Services</h2>
          <table data-testid="services-table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Heartbeat</th>
                <th scope="col">State</th>
                <th scope="col">PID</th>
                <th scope="col">Up</th>
                <th scope="col">Last heartbeat (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {(status.services ?? []).map((s) => (
                <tr key={s.name} class={s.alive ? "" : "limit-critical"} data-testid="service-row" data-alive={String(s.alive)}>
                  <td>{s.name}</td>
                  <td>{s.alive ? "alive" : "NOT ALIVE"}</td>
                  <td>{s.state}</td>
                  <td>{s.pid}</td>
                  <td>{Math.round((s.uptimeMs ?? 0) / 1000)} s</td>
                  <td>{typeof s.lastHeartbeat === "string" ? s.lastHeartbeat.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
