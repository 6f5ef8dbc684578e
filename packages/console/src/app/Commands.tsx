// Commanding: a form per command built from the dictionary's argument
// schema, checked here before anything is sent (the gateway checks again
// and its reason is shown when it refuses); critical commands are armed
// first and then sent only on an explicit confirmation within the arm
// window; every command sent from this console shows its verification
// stages as they arrive. Below, the gateway's command history.
//
// A viewer gets the history only: no form, no button that commands.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { fieldsOf, parseArguments, rangeText, type FieldError, type FieldSpec, type RawForm } from "../logic/forms.js";
import { formatUtcTime } from "../logic/time.js";
import { isFinal, pipeline, toCommandRecord, type CommandRecord } from "../logic/verification.js";
import { errorText, type Api } from "./api.js";
import { Choice, plainOptions } from "./controls.js";
import type { CommandDef, Dictionary } from "./dictionary.js";
import { useChanges, type CommandTracker, type TrackedCommand } from "./state.js";

export function Commands(props: { api: Api; dictionary: Dictionary; tracker: CommandTracker; canCommand: boolean }) {
  return (
    <section aria-labelledby="commands-title">
      <h1 id="commands-title">{props.canCommand ? "Commands" : "Command history"}</h1>
      {props.canCommand ? (
        <>
          <CommandSender api={props.api} dictionary={props.dictionary} tracker={props.tracker} />
          <SentCommands tracker={props.tracker} />
        </>
      ) : (
        <p class="hint" data-testid="viewer-note">
          You are logged in as a viewer: you can read the command history, but not send or arm commands.
        </p>
      )}
      <CommandHistory api={props.api} tracker={props.tracker} />
    </section>
  );
}

const argsText = (args: Record<string, unknown>) => {
  const s = JSON.stringify(args);
  return s === "{}" ? "" : s.length > 200 ? `${s.slice(0, 200)}…` : s;
};

interface Armed {
  service: string;
  command: string;
  args: Record<string, unknown>;
  armedUntil: string;
  armCommandId: number;
}

function CommandSender(props: { api: Api; dictionary: Dictionary; tracker: CommandTracker }) {
  const { api, dictionary, tracker } = props;
  const services = dictionary.services.filter((s) => s.commands.length > 0);
  const [serviceName, setServiceName] = useState("");
  const [commandName, setCommandName] = useState("");
  const service = services.find((s) => s.name === serviceName) ?? services[0];
  const command: CommandDef | undefined = service?.commands.find((c) => c.name === commandName) ?? service?.commands[0];
  const fields = useMemo(() => fieldsOf(command?.arguments), [command]);
  const [raw, setRaw] = useState<RawForm>({});
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [apiError, setApiError] = useState<string | undefined>(undefined);
  const [result, setResult] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [armed, setArmed] = useState<Armed | undefined>(undefined);
  const [, setTick] = useState(0);

  // A new command: a fresh form.
  useEffect(() => {
    setRaw({});
    setErrors([]);
    setApiError(undefined);
    setResult(undefined);
    setArmed(undefined);
  }, [service?.name, command?.name]);

  // While armed, count down once a second.
  useEffect(() => {
    if (!armed) return;
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [armed]);

  if (!service || !command) return <p class="empty">No commands in the dictionary yet (services declare themselves as they start).</p>;

  const check = () => {
    const parsed = parseArguments(fields, raw);
    setErrors(parsed.ok ? [] : parsed.errors);
    return parsed.ok ? parsed.args : undefined;
  };

  const send = async (args: Record<string, unknown>) => {
    setBusy(true);
    setApiError(undefined);
    setResult(undefined);
    try {
      const { body } = await api.post("/api/commands?wait=none", { service: service.name, command: command.name, args });
      const t = tracker.track(body);
      setResult(t ? `sent as command ${t.record.id}` : "sent");
      setArmed(undefined);
    } catch (err) {
      setApiError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const arm = async (args: Record<string, unknown>) => {
    setBusy(true);
    setApiError(undefined);
    setResult(undefined);
    try {
      const { body } = await api.post<Record<string, unknown>>("/api/commands/arm", { service: service.name, command: command.name });
      const record = toCommandRecord(body);
      tracker.track(body);
      if (!record?.armedUntil) throw new Error("the gateway's answer to the arm has no armedUntil");
      setArmed({ service: service.name, command: command.name, args, armedUntil: record.armedUntil, armCommandId: record.id });
    } catch (err) {
      setApiError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const args = check();
    if (!args) return;
    if (command.critical) void arm(args);
    else void send(args);
  };

  const leftS = armed ? Math.max(0, Math.round((Date.parse(armed.armedUntil) - Date.now()) / 1000)) : 0;
  const errorOf = (path: string) => errors.find((x) => x.path === path)?.message;

  return (
    <div class="sender" data-testid="command-sender">
      <div class="picker">
        <Choice
          label="Service"
          value={service.name}
          options={plainOptions(services.map((s) => s.name))}
          onChange={setServiceName}
          testId="command-service"
          disabled={!!armed}
        />
        <Choice
          label="Command"
          value={command.name}
          options={service.commands.map((c) => ({ value: c.name, label: c.critical ? `${c.name} (critical)` : c.name }))}
          onChange={setCommandName}
          testId="command-name"
          disabled={!!armed}
        />
      </div>
      <form class="command-form" onSubmit={submit} data-testid="command-form" noValidate>
        <p class="hint">
          <strong>
            {service.name}.{command.name}
          </strong>
          {command.critical ? (
            <span class="badge critical" data-testid="critical-badge">
              critical: arm, then confirm
            </span>
          ) : null}{" "}
          {command.description}
        </p>
        {fields.length === 0 ? <p class="hint">No arguments.</p> : null}
        <fieldset disabled={!!armed || busy} class="plain">
          <legend class="visually-hidden">Arguments</legend>
          {fields.map((f) => (
            <FieldInput key={f.path} field={f} raw={raw} setRaw={setRaw} errorOf={errorOf} />
          ))}
        </fieldset>
        {!armed ? (
          <button type="submit" disabled={busy} data-testid={command.critical ? "command-arm" : "command-send"}>
            {busy ? "Sending…" : command.critical ? "Arm…" : "Send"}
          </button>
        ) : null}
        {errors.length ? (
          <p class="error" role="alert" data-testid="form-errors">
            Not sent: {errors.map((x) => x.message).join("; ")}
          </p>
        ) : null}
        {apiError ? (
          <p class="error" role="alert" data-testid="command-error">
            The gateway refused: {apiError}
          </p>
        ) : null}
        {result ? (
          <p class="ok" role="status" data-testid="command-result">
            {result}
          </p>
        ) : null}
      </form>
      {armed ? (
        <div class="confirm" role="alertdialog" aria-labelledby="confirm-title" data-testid="confirm-panel">
          <h2 id="confirm-title">
            Send {armed.service}.{armed.command}?
          </h2>
          <p>
            Armed by arm command {armed.armCommandId} until {formatUtcTime(Date.parse(armed.armedUntil))}Z
            {leftS > 0 ? ` (${leftS} s left)` : ": the arm has expired; arm again"}. Arguments: <code>{argsText(armed.args) || "none"}</code>
          </p>
          <button type="button" class="danger" disabled={busy || leftS <= 0} onClick={() => void send(armed.args)} data-testid="command-confirm">
            Confirm and send
          </button>{" "}
          <button type="button" onClick={() => setArmed(undefined)} data-testid="command-cancel">
            Cancel
          </button>
          <p class="hint">Cancel sends nothing; the arm expires by itself. The TTC checks the arm again in its own (mission) time: if it has expired there, the command fails at acceptance with the TTC's reason.</p>
        </div>
      ) : null}
    </div>
  );
}

const inputId = (path: string) => `arg-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;

function FieldInput(props: { field: FieldSpec; raw: RawForm; setRaw: (f: (r: RawForm) => RawForm) => void; errorOf: (path: string) => string | undefined }) {
  const { field: f, raw, setRaw, errorOf } = props;
  if (f.kind === "group") {
    return (
      <fieldset class="group">
        <legend>{f.path}</legend>
        {(f.fields ?? []).map((c) => (
          <FieldInput key={c.path} field={c} raw={raw} setRaw={setRaw} errorOf={errorOf} />
        ))}
      </fieldset>
    );
  }
  const id = inputId(f.path);
  const err = errorOf(f.path);
  const hint = [rangeText(f), f.description].filter(Boolean).join(" — ");
  const set = (v: string | boolean) => setRaw((r) => ({ ...r, [f.path]: v }));
  const common = {
    id,
    name: f.path,
    "aria-invalid": err ? ("true" as const) : ("false" as const),
    "aria-describedby": `${id}-hint${err ? ` ${id}-error` : ""}`,
    "data-testid": `arg-${f.path}`,
  };
  const value = typeof raw[f.path] === "string" ? (raw[f.path] as string) : "";
  let input;
  if (f.kind === "boolean") {
    input = <input type="checkbox" {...common} checked={raw[f.path] === true} onChange={(e) => set(e.currentTarget.checked)} />;
  } else if (f.kind === "choice" || f.kind === "enum") {
    input = (
      <select {...common} value={value} onChange={(e) => set(e.currentTarget.value)}>
        <option value="">{f.kind === "enum" ? "(default)" : "— choose —"}</option>
        {(f.options ?? []).map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (f.kind === "json") {
    input = <textarea {...common} rows={3} spellcheck={false} value={value} onInput={(e) => set(e.currentTarget.value)} placeholder="JSON" />;
  } else {
    const numeric = f.kind === "integer" || f.kind === "int64" || f.kind === "number";
    input = <input type="text" {...common} inputMode={numeric ? (f.kind === "number" ? "decimal" : "numeric") : undefined} spellcheck={false} value={value} onInput={(e) => set(e.currentTarget.value)} />;
  }
  return (
    <div class={`field${err ? " invalid" : ""}`}>
      <label for={id}>
        {f.path}
        {f.unit ? <span class="unit"> ({f.unit})</span> : null}
      </label>
      {input}
      <small id={`${id}-hint`} class="hint">
        {hint}
      </small>
      {err ? (
        <small id={`${id}-error`} class="error" data-testid={`arg-error-${f.path}`}>
          {err}
        </small>
      ) : null}
    </div>
  );
}

function StageList(props: { t: TrackedCommand }) {
  const steps = pipeline(props.t.stages, props.t.state);
  return (
    <ol class="stages">
      {steps.map((s, i) => (
        <li key={`${s.label}-${i}`} class={`stage stage-${s.status}`} data-testid="stage" data-stage={s.stage} data-status={s.status} title={s.code || undefined}>
          <span class="stage-name">{s.label}</span> <span class="stage-status">{s.status}</span>
          {s.detail ? <span class="stage-detail"> {s.detail}</span> : null}
          {s.code ? <span class="stage-code"> ({s.code})</span> : null}
        </li>
      ))}
    </ol>
  );
}

function SentCommands(props: { tracker: CommandTracker }) {
  useChanges(props.tracker.changes);
  const list = props.tracker.commands;
  if (!list.length) return null;
  return (
    <section aria-labelledby="sent-title" class="sent">
      <h2 id="sent-title">Sent from this console</h2>
      {list.map((t) => (
        <article key={t.record.id} class={`sent-command state-${t.state}`} data-testid="sent-command" data-id={t.record.id} data-command={`${t.record.service}.${t.record.command}`} data-state={t.state}>
          <h3>
            #{t.record.id} {t.record.kind === "arm" ? `arm ${String(t.record.args["service"] ?? "")}` : `${t.record.service}.${t.record.command}`}{" "}
            <code>{t.record.kind === "arm" ? String(t.record.args["function"] ?? "") : argsText(t.record.args)}</code>{" "}
            <span class={`badge state-${t.state}`} data-testid="sent-state">
              {t.state}
            </span>
          </h3>
          <StageList t={t} />
          {t.error && !isFinal(t.state) ? <p class="error">following it: {t.error}</p> : null}
        </article>
      ))}
    </section>
  );
}

function CommandHistory(props: { api: Api; tracker: CommandTracker }) {
  const { api, tracker } = props;
  const [rows, setRows] = useState<CommandRecord[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [older, setOlder] = useState<number | undefined>(undefined);
  const paged = useRef(false);
  useChanges(tracker.changes);
  // Reload when a command sent from here ends (not at every stage).
  const ended = tracker.commands.filter((c) => isFinal(c.state)).length;

  const load = async (before?: number) => {
    paged.current = before !== undefined;
    try {
      const q = new URLSearchParams({ limit: "50" });
      if (before !== undefined) q.set("before", String(before));
      const list = await api.get<unknown[]>(`/api/commands?${q.toString()}`);
      const records = (Array.isArray(list) ? list : []).map(toCommandRecord).filter((r): r is CommandRecord => r !== undefined);
      setRows((prev) => (before === undefined ? records : [...prev, ...records]));
      setOlder(records.length === 50 ? records[records.length - 1]!.id : undefined);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  };

  // Now, every 5 s (unless older pages are open), and whenever a command sent from here ends.
  useEffect(() => {
    void load();
    const t = setInterval(() => {
      if (!paged.current) void load();
    }, 5000);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- load is recreated each render; the interval needs only the API
  }, [api, ended]);

  return (
    <section aria-labelledby="history-title" class="history">
      <h2 id="history-title">
        History{" "}
        <button type="button" class="link" onClick={() => void load()} data-testid="history-refresh">
          Refresh
        </button>
      </h2>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <table data-testid="history-table">
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col">Sent (UTC)</th>
            <th scope="col">Command</th>
            <th scope="col">Arguments</th>
            <th scope="col">State</th>
            <th scope="col">Last stage</th>
            <th scope="col">User</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const last = r.stages[r.stages.length - 1];
            return (
              <tr key={r.id} data-testid="history-row" data-state={r.state}>
                <td>{r.id}</td>
                <td>{r.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z")}</td>
                <td>{r.kind === "arm" ? `arm ${String(r.args["service"] ?? "")}.${String(r.args["function"] ?? "")}` : `${r.service}.${r.command}`}</td>
                <td>
                  <code>{r.kind === "arm" ? "" : argsText(r.args)}</code>
                </td>
                <td>
                  <span class={`badge state-${r.state}`}>{r.state}</span>
                </td>
                <td>{last ? `${last.stage}${last.detail ? `: ${last.detail}` : ""}${last.success ? "" : ` (${last.code})`}` : "-"}</td>
                <td>{r.user}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {!rows.length && !error ? <p class="empty">No commands sent through this gateway yet.</p> : null}
      {older !== undefined ? (
        <button type="button" onClick={() => void load(older)}>
          Older
        </button>
      ) : null}
    </section>
  );
}
