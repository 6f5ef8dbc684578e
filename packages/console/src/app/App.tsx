// The console's frame: login, then a header (who is logged in, the stream's
// state, mission time), the navigation, and one view at a time chosen by the
// URL's hash (#status, #telemetry, #commands, #events, #jobs). The session
// (token, user, role) lives in sessionStorage: it ends with the tab.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { canCommand, parseSession, type Session } from "../logic/session.js";
import { extrapolateMission, formatUtc, type ClockReading } from "../logic/time.js";
import { Api, ApiError, request } from "./api.js";
import { Commands } from "./Commands.js";
import { usePolling } from "./controls.js";
import { EMPTY_DICTIONARY, toDictionary, type Dictionary } from "./dictionary.js";
import { Events } from "./Events.js";
import { Jobs } from "./Jobs.js";
import { Login } from "./Login.js";
import { CommandTracker, EventStore, LiveTelemetry, connectStores } from "./state.js";
import { Status } from "./Status.js";
import { StreamClient, type StreamState } from "./stream.js";
import { Telemetry } from "./Telemetry.js";

const SESSION_KEY = "umbra.console.session";
const VIEWS = ["status", "telemetry", "commands", "events", "jobs"] as const;
type View = (typeof VIEWS)[number];
const TITLES: Record<View, string> = { status: "Status", telemetry: "Telemetry", commands: "Commands", events: "Events", jobs: "Jobs" };

function viewOfHash(): View {
  const h = location.hash.replace(/^#/, "");
  return (VIEWS as readonly string[]).includes(h) ? (h as View) : "status";
}

function loadSession(): Session | undefined {
  try {
    return parseSession(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return undefined;
  }
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const login = (s: Session) => {
    try {
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    } catch {
      // storage refused (private mode): the session lasts until reload
    }
    setNotice(undefined);
    setSession(s);
  };
  const logout = useCallback((why?: string) => {
    try {
      sessionStorage.removeItem(SESSION_KEY);
    } catch {
      // nothing stored
    }
    setNotice(why);
    setSession(undefined);
  }, []);

  if (!session) return <Login onLogin={login} {...(notice ? { notice } : {})} />;
  return <Shell key={session.token} session={session} onLogout={logout} />;
}

function Shell(props: { session: Session; onLogout: (why?: string) => void }) {
  const { session, onLogout } = props;
  const [view, setView] = useState<View>(viewOfHash);
  const [dictionary, setDictionary] = useState<Dictionary>(EMPTY_DICTIONARY);
  const [dictionaryError, setDictionaryError] = useState<string | undefined>(undefined);
  const [streamState, setStreamState] = useState<StreamState>({ kind: "connecting", opens: 0 });

  const stores = useMemo(() => {
    const api = new Api(session.token, (why) => onLogout(`Logged out: the gateway no longer accepts this token (${why}).`));
    const stream = new StreamClient(session.token, () => {
      // The stream was refused before it opened: if the token is gone, log out; otherwise keep retrying.
      request("GET", "/api/whoami", session.token).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) onLogout(`Logged out: ${err.info.message}`);
      });
    });
    const telemetry = new LiveTelemetry(api);
    const events = new EventStore(api);
    const commands = new CommandTracker(api);
    return { api, stream, telemetry, events, commands };
  }, [session.token, onLogout]);

  useEffect(() => {
    const { stream, telemetry, events, commands } = stores;
    const off = connectStores(stream, telemetry, events, commands);
    const offState = stream.onState(setStreamState);
    stream.start();
    // Current values (and the mission time) first, then each picked parameter's history for the visible window.
    void telemetry
      .loadLatest()
      .catch(() => undefined)
      .then(() => telemetry.picked.forEach((k) => void telemetry.plot(k)));
    void events.loadRecent().catch(() => undefined);
    return () => {
      off();
      offState();
      stream.stop();
      commands.stop();
    };
  }, [stores]);

  // The dictionary: at once, then every 15 s (services declare themselves as they start).
  usePolling(
    async () => toDictionary(await stores.api.get("/api/dictionary")),
    15_000,
    [stores],
    (d) => {
      setDictionary(d);
      setDictionaryError(undefined);
    },
    (err) => setDictionaryError(err instanceof Error ? err.message : String(err)),
  );

  useEffect(() => {
    const onHash = () => setView(viewOfHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  const operator = canCommand(session.role);

  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Umbra console</span>
        <span class={`stream stream-${streamState.kind}`} data-testid="stream-state" data-opens={streamState.opens} title={streamState.kind === "waiting" ? streamState.reason : ""}>
          {streamState.kind === "open" ? "live" : streamState.kind === "connecting" ? "connecting…" : `reconnecting (${streamState.reason})`}
        </span>
        <MissionClock api={stores.api} />
        <span class="who" data-testid="whoami">
          {session.user} <span class={`role role-${session.role}`}>{session.role}</span>
        </span>
        <button type="button" class="link" onClick={() => onLogout()} data-testid="logout">
          Log out
        </button>
      </header>
      <nav aria-label="views">
        <ul>
          {VIEWS.map((v) => (
            <li key={v}>
              <a href={`#${v}`} aria-current={view === v ? "page" : undefined} data-testid={`nav-${v}`}>
                {v === "commands" && !operator ? "Command history" : TITLES[v]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {dictionaryError ? (
        <p class="error" role="alert">
          The dictionary could not be read: {dictionaryError}
        </p>
      ) : null}
      <main id="view" data-testid={`view-${view}`}>
        {view === "status" ? <Status api={stores.api} dictionary={dictionary} /> : null}
        {view === "telemetry" ? <Telemetry dictionary={dictionary} telemetry={stores.telemetry} /> : null}
        {view === "commands" ? <Commands api={stores.api} dictionary={dictionary} tracker={stores.commands} canCommand={operator} /> : null}
        {view === "events" ? <Events store={stores.events} dictionary={dictionary} /> : null}
        {view === "jobs" ? <Jobs api={stores.api} /> : null}
      </main>
    </div>
  );
}

/**
 * The gateway's mission time (the HIL's simulated time on a bench, 60× the
 * wall clock by default): read from /api/health (twice a second apart, then
 * every 5 s) and carried on between readings at the rate they show.
 */
function MissionClock(props: { api: Api }) {
  const readings = useRef<ClockReading[]>([]);
  const [, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const h = await props.api.get<{ missionTime?: unknown }>("/api/health");
        const missionMs = typeof h?.missionTime === "string" ? Date.parse(h.missionTime) : NaN;
        if (!stopped && Number.isFinite(missionMs)) readings.current = [...readings.current.slice(-1), { wallMs: Date.now(), missionMs }];
      } catch {
        // the stream's state and the views say what is wrong
      }
    };
    // The first readings a second apart, so the rate is known at once; then every 5 s.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let n = 0;
    const next = () => {
      timer = setTimeout(() => void load().then(() => !stopped && next()), n++ < 2 ? 1000 : 5000);
    };
    void load().then(() => !stopped && next());
    const tick = setInterval(() => setTick((k) => k + 1), 1000);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      clearInterval(tick);
    };
  }, [props.api]);
  const now = extrapolateMission(readings.current, Date.now());
  return (
    <span class="mission-time" title="the gateway's mission time (UTC)" data-testid="mission-time" data-utc-ms={now === undefined ? "" : String(Math.round(now))}>
      mission {formatUtc(now)}
    </span>
  );
}
