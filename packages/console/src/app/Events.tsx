// Events and alarms: newest first, coloured by severity (high red, medium
// orange, low yellow, info grey), live from the stream on top of the
// gateway's recent events, and the archive's on request; filtered by least
// severity, service and words.
import { useState } from "preact/hooks";
import { matchesFilter, MAX_FILTER_TEXT, SEVERITIES, type EventFilter, type Severity } from "../logic/events.js";
import { formatMission } from "../logic/time.js";
import { errorText } from "./api.js";
import { Choice, plainOptions, type ChoiceOption } from "./controls.js";
import type { Dictionary } from "./dictionary.js";
import { useChanges, type EventStore } from "./state.js";

const SHOWN = 500;
const ALL: ChoiceOption = { value: "", label: "all" };

export function Events(props: { store: EventStore; dictionary: Dictionary }) {
  const { store, dictionary } = props;
  useChanges(store.changes);
  const [minSeverity, setMinSeverity] = useState<Severity | "">("");
  const [service, setService] = useState("");
  const [text, setText] = useState("");
  const [archive, setArchive] = useState<{ busy: boolean; message?: string }>({ busy: false });
  const filter: EventFilter = { minSeverity, services: service ? [service] : [], text };
  const all = store.log.list();
  const shown = all.filter((e) => matchesFilter(e, filter));
  const services = [...new Set([...dictionary.services.map((s) => s.name), ...store.log.services()])].sort();

  const loadArchive = async () => {
    setArchive({ busy: true });
    try {
      const r = await store.loadArchive();
      setArchive({ busy: false, message: r.truncated ? "the archive held more than 2000 events in the last hour: the oldest 2000 were loaded" : "loaded the archive's events of the last hour (mission time)" });
    } catch (err) {
      setArchive({ busy: false, message: errorText(err) });
    }
  };

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events and alarms</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} data-testid="event-filters">
        <Choice
          label="Least severity"
          value={minSeverity}
          options={[ALL, ...plainOptions(SEVERITIES)]}
          onChange={(v) => setMinSeverity(v as Severity | "")}
          testId="filter-severity"
        />
        <Choice label="Service" value={service} options={[ALL, ...plainOptions(services)]} onChange={setService} testId="filter-service" />
        <label>
          Text
          <input type="search" value={text} maxLength={MAX_FILTER_TEXT} onInput={(e) => setText(e.currentTarget.value)} placeholder="words in the message or arguments" data-testid="filter-text" />
        </label>
        <button type="button" disabled={archive.busy} onClick={() => void loadArchive()} data-testid="load-archive">
          Load the last hour from the archive
        </button>
      </form>
      {archive.message ? <p class="hint" role="status">{archive.message}</p> : null}
      <p class="hint" data-testid="event-count">
        {shown.length} of {all.length} events shown{shown.length > SHOWN ? ` (the newest ${SHOWN})` : ""}
      </p>
      <table class="events" data-testid="event-table">
        <thead>
          <tr>
            <th scope="col">Mission time (UTC)</th>
            <th scope="col">Severity</th>
            <th scope="col">Service</th>
            <th scope="col">Event</th>
            <th scope="col">Message</th>
            <th scope="col">Arguments</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, SHOWN).map((e) => (
            <tr key={`${e.service}/${e.id}/${e.missionTimeNs}/${e.message}`} class={`sev-${e.severity}`} data-testid="event-row" data-service={e.service} data-name={e.name} data-severity={e.severity}>
              <td>{e.time ? e.time.replace("T", " ").replace(/\.\d+Z$/, "Z") : formatMission(e.missionTimeNs)}</td>
              <td>
                <span class={`badge sev-${e.severity}`}>{e.severity}</span>
              </td>
              <td>{e.service}</td>
              <td>{e.name}</td>
              <td>{e.message}</td>
              <td>
                <code>
                  {Object.entries(e.args)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(" ")}
                </code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!all.length ? <p class="empty">No events yet.</p> : null}
    </section>
  );
}
