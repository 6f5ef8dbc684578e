// What the console holds while it is open, fed by the stream and the REST
// API and shared by the views: the latest telemetry and the plotted series,
// the events, and the commands sent from this console with their stages.
// Views re-render through `changed` (throttled, so 60 samples a second do
// not mean 60 renders a second). Every collection is bounded.
import { useEffect, useState } from "preact/hooks";
import { EventLog, toEventItem, type EventItem } from "../logic/events.js";
import { parameterKey, splitParameterKey } from "../logic/format.js";
import { SeriesBuffer, plotValue } from "../logic/series.js";
import { missionNsToUtcMs } from "../logic/time.js";
import { PendingReports, isFinal, mergeStages, stateOf, toCommandRecord, toStageReport, type CommandRecord, type StageReport } from "../logic/verification.js";
import { ApiError, type Api } from "./api.js";
import type { StreamClient, TelemetryMessage } from "./stream.js";

/** Calls listeners at most every `ms` after a change. */
export class Changes {
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  version = 0;

  constructor(private readonly ms = 250) {}

  mark(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.version++;
      for (const l of this.listeners) l();
    }, this.ms);
  }

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** Re-renders the calling component when `changes` fires. */
export function useChanges(changes: Changes): number {
  const [, setVersion] = useState(0);
  useEffect(() => changes.subscribe(() => setVersion(changes.version)), [changes]);
  return changes.version;
}

export interface Latest {
  value: boolean | number | string | null;
  missionTimeNs: string;
  utcMs: number | undefined;
}

/** Samples kept per plotted parameter (the ring buffer's capacity). */
export const SERIES_CAPACITY = 20_000;
/** Pages of archive history read for one plot (each up to SERIES_CAPACITY points). */
const MAX_HISTORY_PAGES = 10;
const MAX_LATEST = 20_000;

const PICKED_KEY = "umbra.console.picked";
/** Parameters plotted at once, at most. */
export const MAX_PICKED = 24;

function loadPicked(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(PICKED_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((k): k is string => typeof k === "string" && splitParameterKey(k) !== undefined).slice(0, MAX_PICKED) : [];
  } catch {
    return [];
  }
}

export class LiveTelemetry {
  readonly latest = new Map<string, Latest>();
  readonly series = new Map<string, SeriesBuffer>();
  readonly changes = new Changes(250);
  /**
   * The visible window, in mission time. Each plot's right edge is its own
   * newest sample: services need not share one clock (a service on the wall
   * clock beside others on the HIL's simulated one), and a plot must show
   * its own data either way.
   */
  windowMs = 15 * 60_000;
  /** The parameters the operator picked ("service.name"), kept in localStorage across sessions. */
  picked: string[] = loadPicked();
  /** Told when `picked` changes (the stream subscribes to exactly these). */
  onPicked: (keys: string[]) => void = () => undefined;
  /** Why the last history load failed, per parameter. */
  readonly historyErrors = new Map<string, string>();

  constructor(private readonly api: Api) {}

  pick(key: string): void {
    const parts = splitParameterKey(key);
    if (!parts || this.picked.includes(key) || this.picked.length >= MAX_PICKED) return;
    this.picked = [...this.picked, key];
    this.savePicked();
    void this.plot(key);
  }

  unpick(key: string): void {
    this.picked = this.picked.filter((k) => k !== key);
    this.series.delete(key);
    this.historyErrors.delete(key);
    this.savePicked();
  }

  private savePicked(): void {
    try {
      localStorage.setItem(PICKED_KEY, JSON.stringify(this.picked));
    } catch {
      // storage refused: the picks last until reload
    }
    this.onPicked(this.picked);
    this.changes.mark();
  }

  /** Current values of every parameter, from /api/telemetry/latest. */
  async loadLatest(): Promise<void> {
    const all = await this.api.get<Record<string, Record<string, { value: Latest["value"]; missionTimeNs: string }>>>("/api/telemetry/latest");
    for (const [service, byName] of Object.entries(all ?? {})) {
      for (const [name, s] of Object.entries(byName ?? {})) {
        if (this.latest.size >= MAX_LATEST) break;
        this.note(parameterKey(service, name), s.value, s.missionTimeNs, false);
      }
    }
    this.changes.mark();
  }

  onTelemetry(m: TelemetryMessage): void {
    this.note(parameterKey(m.service, m.name), m.value, m.missionTimeNs, true);
    this.changes.mark();
  }

  private note(key: string, value: Latest["value"], missionTimeNs: string, live: boolean): void {
    const utcMs = missionNsToUtcMs(missionTimeNs);
    const prev = this.latest.get(key);
    if (!prev || prev.utcMs === undefined || (utcMs !== undefined && utcMs >= prev.utcMs)) {
      if (prev || this.latest.size < MAX_LATEST) this.latest.set(key, { value, missionTimeNs, utcMs });
    }
    const buffer = this.series.get(key);
    if (buffer && live && utcMs !== undefined) {
      buffer.push(utcMs, plotValue(value));
      buffer.dropBefore(utcMs - this.windowMs);
    }
  }

  /** Starts keeping a series for `key` and loads the archive's history for the visible window. */
  async plot(key: string): Promise<void> {
    let buffer = this.series.get(key);
    if (!buffer) {
      buffer = new SeriesBuffer(SERIES_CAPACITY);
      this.series.set(key, buffer);
    }
    const latest = this.latest.get(key);
    if (latest?.utcMs !== undefined) buffer.push(latest.utcMs, plotValue(latest.value));
    try {
      await this.loadHistory(key);
      this.historyErrors.delete(key);
    } catch (err) {
      this.historyErrors.set(key, err instanceof Error ? err.message : String(err));
    }
    this.changes.mark();
  }

  /** The archive's samples of the visible window (paged forward while the gateway says it cut them). */
  async loadHistory(key: string): Promise<void> {
    const buffer = this.series.get(key);
    const parts = splitParameterKey(key);
    if (!buffer || !parts) return;
    const [service, name] = parts;
    // The window ends at this parameter's newest sample (a minute beyond, for samples on their way); without one, the gateway's default (its last hour).
    const newest = this.latest.get(key)?.utcMs ?? buffer.newest()?.t;
    let from = newest === undefined ? undefined : new Date(newest - this.windowMs).toISOString();
    const to = newest === undefined ? undefined : new Date(newest + 60_000).toISOString();
    for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
      const q = new URLSearchParams({ limit: String(SERIES_CAPACITY) });
      if (from) q.set("from", from);
      if (to) q.set("to", to);
      const r = await this.api.get<{ points: { missionTimeNs: string; time: string; value: Latest["value"] }[]; truncated: boolean }>(
        `/api/telemetry/${encodeURIComponent(service)}/${encodeURIComponent(name)}?${q.toString()}`,
      );
      if (!this.series.has(key)) return; // unpicked meanwhile
      const points = Array.isArray(r?.points) ? r.points : [];
      buffer.merge(points.map((p) => ({ t: missionNsToUtcMs(p.missionTimeNs) ?? Date.parse(p.time), v: plotValue(p.value) })));
      this.changes.mark();
      const last = points[points.length - 1];
      if (!r?.truncated || !last || !/^[0-9]{1,20}$/.test(last.missionTimeNs)) break;
      from = (BigInt(last.missionTimeNs) + 1n).toString();
    }
    const last = buffer.newest();
    if (last) buffer.dropBefore(last.t - this.windowMs);
  }

  /** A new visible window: every plot reloads its history for it. */
  setWindow(ms: number): void {
    this.windowMs = ms;
    for (const key of this.picked) {
      const b = this.series.get(key);
      const newest = b?.newest();
      if (b && newest) b.dropBefore(newest.t - ms);
      void this.plot(key);
    }
    this.changes.mark();
  }
}

/** The events the console shows: the gateway's recent ones, the archive's on request, and the live ones. */
export class EventStore {
  readonly log = new EventLog(2000);
  readonly changes = new Changes(200);

  constructor(private readonly api: Api) {}

  async loadRecent(): Promise<void> {
    const recent = await this.api.get<unknown[]>("/api/events/recent");
    this.add(Array.isArray(recent) ? recent : []);
  }

  /** The archive's events of the last hour of the gateway's mission time (its default range). */
  async loadArchive(): Promise<{ truncated: boolean }> {
    const q = new URLSearchParams({ limit: "2000" });
    const r = await this.api.get<{ events: unknown[]; truncated: boolean }>(`/api/events?${q.toString()}`);
    this.add(Array.isArray(r?.events) ? r.events : []);
    return { truncated: r?.truncated === true };
  }

  add(raw: unknown[]): void {
    const items = raw.map(toEventItem).filter((e): e is EventItem => e !== undefined);
    if (this.log.add(items)) this.changes.mark();
  }
}

export interface TrackedCommand {
  record: CommandRecord;
  streamed: StageReport[];
  /** Merged stages and the state they say. */
  stages: StageReport[];
  state: CommandRecord["state"];
  error?: string;
}

const MAX_TRACKED = 20;
const POLL_MS = 2000;

/**
 * The commands sent from this console, newest first, with their stages
 * filled in live from the stream's verification reports (by command id),
 * and, in case the stream is down, from GET /api/commands/:id every 2 s
 * until the command has ended.
 */
export class CommandTracker {
  readonly commands: TrackedCommand[] = [];
  readonly changes = new Changes(50);
  private readonly pending = new PendingReports();
  private readonly poll: ReturnType<typeof setInterval>;

  constructor(private readonly api: Api) {
    this.poll = setInterval(() => void this.refreshOpen(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.poll);
  }

  track(raw: unknown): TrackedCommand | undefined {
    const record = toCommandRecord(raw);
    if (!record) return undefined;
    let t = this.commands.find((c) => c.record.id === record.id);
    if (!t) {
      t = { record, streamed: this.pending.get(record.id), stages: [], state: record.state };
      this.pending.delete(record.id);
      this.commands.unshift(t);
      this.commands.splice(MAX_TRACKED);
    } else {
      t.record = record;
    }
    this.recompute(t);
    return t;
  }

  onVerification(msg: Record<string, unknown>): void {
    const id = msg["commandId"];
    const report = toStageReport(msg);
    if (typeof id !== "number" || !report) return;
    const t = this.commands.find((c) => c.record.id === id);
    if (!t) {
      this.pending.add(id, report);
      return;
    }
    t.streamed.push(report);
    this.recompute(t);
  }

  private recompute(t: TrackedCommand): void {
    t.stages = mergeStages(t.record.stages, t.streamed);
    t.state = stateOf(t.stages, t.record.state);
    this.changes.mark();
  }

  private async refreshOpen(): Promise<void> {
    for (const t of this.commands) {
      if (isFinal(t.state)) continue;
      try {
        this.track(await this.api.get(`/api/commands/${t.record.id}`));
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) t.error = err instanceof Error ? err.message : String(err);
      }
    }
  }
}

/** Wires the stream to the stores. Returns the unsubscribe. */
export function connectStores(stream: StreamClient, telemetry: LiveTelemetry, events: EventStore, commands: CommandTracker): () => void {
  telemetry.onPicked = (keys) => stream.subscribe(keys);
  stream.subscribe(telemetry.picked);
  const offs = [
    stream.onTelemetry((m) => telemetry.onTelemetry(m)),
    stream.onEvent((m) => events.add([m])),
    stream.onVerification((m) => commands.onVerification(m)),
  ];
  return () => offs.forEach((off) => off());
}
