// Jobs: every job the runner knows (GET /api/jobs, every 5 s), with its
// state, tenant, energy and, for a waiting job, why it waits and what can be
// done; a job's decisions (GET /api/jobs/:id) on request.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { formatEnergy, formatProgress, jobStateName, toJobRows, waitingReason, type JobRow } from "../logic/jobs.js";
import { formatMission } from "../logic/time.js";
import { errorText, type Api } from "./api.js";
import { Choice, usePolling } from "./controls.js";

const STATE_OPTIONS = ["", "queued", "admitted", "running", "paused", "done", "failed", "cancelled", "expired"].map((s) => ({ value: s, label: s || "all" }));

interface Decision {
  missionTimeNs: string;
  from: string;
  to: string;
  reason: string;
}

export function Jobs(props: { api: Api }) {
  const { api } = props;
  const [jobs, setJobs] = useState<JobRow[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [state, setState] = useState("");
  const [tenant, setTenant] = useState("");
  const [open, setOpen] = useState<{ id: string; decisions?: Decision[]; error?: string } | undefined>(undefined);

  usePolling(
    () => api.get(`/api/jobs${state ? `?${new URLSearchParams({ state })}` : ""}`),
    5000,
    [api, state],
    (body) => {
      setJobs(toJobRows(body));
      setError(undefined);
    },
    (err) => setError(errorText(err)),
  );

  const details = async (id: string) => {
    if (open?.id === id) {
      setOpen(undefined);
      return;
    }
    setOpen({ id });
    try {
      const r = await api.get<{ decisions?: Record<string, unknown>[] }>(`/api/jobs/${encodeURIComponent(id)}`);
      const decisions = (Array.isArray(r?.decisions) ? r.decisions : []).map((d) => ({
        missionTimeNs: String(d["missionTimeNs"] ?? ""),
        from: jobStateName(d["from"]),
        to: jobStateName(d["to"]),
        reason: typeof d["reason"] === "string" ? d["reason"] : "",
      }));
      setOpen({ id, decisions });
    } catch (err) {
      setOpen({ id, error: errorText(err) });
    }
  };

  const shown = (jobs ?? []).filter((j) => !tenant || j.tenant.toLowerCase().includes(tenant.toLowerCase()));

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Choice label="State" value={state} options={STATE_OPTIONS} onChange={setState} testId="jobs-state" />
        <label>
          Tenant
          <input type="search" value={tenant} maxLength={64} onInput={(e) => setTenant(e.currentTarget.value)} data-testid="jobs-tenant" />
        </label>
      </form>
      {error ? (
        <p class="error" role="alert" data-testid="jobs-error">
          {error}
        </p>
      ) : null}
      {jobs === undefined && !error ? <p class="hint">Loading…</p> : null}
      {jobs !== undefined ? (
        <table data-testid="jobs-table">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">State</th>
              <th scope="col">Tenant</th>
              <th scope="col">Priority</th>
              <th scope="col">Model</th>
              <th scope="col">Tiles</th>
              <th scope="col">Energy</th>
              <th scope="col">Still needs</th>
              <th scope="col">Why it waits / how it ended</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((j) => {
              const wait = waitingReason(j);
              return (
                <Fragment key={j.jobId}>
                  <tr class={`job-${j.state}`} data-testid="job-row" data-state={j.state}>
                    <td>
                      <button type="button" class="link" aria-expanded={open?.id === j.jobId} onClick={() => void details(j.jobId)}>
                        {j.jobId}
                      </button>
                    </td>
                    <td>
                      <span class={`badge job-${j.state}`}>{j.state}</span>
                    </td>
                    <td>{j.tenant}</td>
                    <td>{j.priority}</td>
                    <td>{j.variant && j.variant !== j.model ? `${j.model} → ${j.variant}` : j.model}</td>
                    <td>{formatProgress(j)}</td>
                    <td>{formatEnergy(j.energyJ)}</td>
                    <td>{j.forecastEnergyJ ? formatEnergy(j.forecastEnergyJ) : "-"}</td>
                    <td data-testid="job-reason">
                      {wait ? (
                        <>
                          <span class={`badge wait-${wait.kind}`}>{wait.kind}</span> {wait.text}
                          {wait.hint ? <small class="hint"> — {wait.hint}</small> : null}
                        </>
                      ) : (
                        j.reason
                      )}
                    </td>
                  </tr>
                  {open?.id === j.jobId ? (
                    <tr key={`${j.jobId}-details`} class="details">
                      <td colSpan={9}>
                        {open.error ? <p class="error">{open.error}</p> : null}
                        {open.decisions ? (
                          <ol>
                            {open.decisions.map((d, i) => (
                              <li key={i}>
                                {formatMission(d.missionTimeNs)}: {d.from} → {d.to}
                                {d.reason ? ` (${d.reason})` : ""}
                              </li>
                            ))}
                          </ol>
                        ) : !open.error ? (
                          "Loading…"
                        ) : null}
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {jobs !== undefined && !shown.length ? <p class="empty">No jobs{state ? ` in state ${state}` : ""}.</p> : null}
    </section>
  );
}
