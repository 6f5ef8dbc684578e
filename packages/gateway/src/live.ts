// What the gateway sees live on the bus, kept small and in memory: the latest
// sample of every telemetry parameter, the last 200 events, each service's
// last heartbeat, the latest power reading, and the contact state with the
// window it is in (when it began, and the last window that ended). Serves
// /api/telemetry/latest, /api/events/recent and /api/status, and feeds the
// WebSocket stream through its listeners. Handlers only copy and return, so
// they never hold up the bus.
import type { Bus, Clock, Subscription } from "@umbra/core";
import { taiNsToUtcMs } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { severityName, valueJson } from "./dictionary/index.js";

export type TelemetryValue = boolean | number | string | null;

export interface LatestSample {
  value: TelemetryValue;
  missionTimeNs: string;
  receivedAt: string;
}

export interface TelemetryNotice {
  service: string;
  name: string;
  missionTimeNs: string;
  value: TelemetryValue;
}

export interface EventJson {
  service: string;
  id: number;
  name: string;
  severity: string;
  message: string;
  missionTimeNs: string;
  time: string;
  args: Record<string, string>;
}

interface HeartbeatSeen {
  name: string;
  node: string;
  host: string;
  pid: number;
  uptimeMs: number;
  state: string;
  counter: string;
  atMs: number;
  atUtcMs: number;
  /** Observed period: the gap between the last two heartbeats. */
  periodMs: number;
}

export const RECENT_EVENTS = 200;
const DEFAULT_HEARTBEAT_MS = 1000;
const MAX_SERVICES = 1024;
const MAX_PARAMETERS_PER_SERVICE = 4096;

export function isoOfTaiNs(ns: bigint): string {
  const ms = taiNsToUtcMs(ns);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

export function eventJson(e: MessageOf<typeof umbra.core.v1.Event>): EventJson {
  return {
    service: e.service,
    id: e.id,
    name: e.name,
    severity: severityName(e.severity),
    message: e.message,
    missionTimeNs: e.missionTimeNs.toString(),
    time: isoOfTaiNs(e.missionTimeNs),
    args: { ...e.args },
  };
}

const STATE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(umbra.core.v1.ServiceState).map(([k, v]) => [v as number, k.replace("SERVICE_STATE_", "").toLowerCase()]),
);

export class LiveState {
  private readonly latest = new Map<string, Map<string, LatestSample>>();
  private readonly events: EventJson[] = [];
  private readonly heartbeats = new Map<string, HeartbeatSeen>();
  private power: Record<string, unknown> = {};
  private contact: { inContact: boolean; stationsInView: string[]; sunlit: boolean | null; missionTimeNs: bigint } | undefined;
  private readonly contactWindows = new ContactWindows();
  private readonly subscriptions: Subscription[] = [];
  private readonly telemetryListeners: ((n: TelemetryNotice[]) => void)[] = [];
  private readonly eventListeners: ((e: EventJson) => void)[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {}

  start(): void {
    this.subscriptions.push(
      this.bus.subscribe(umbra.core.v1.TelemetryReport, (r) => this.onTelemetry(r), { capacity: 65_536 }),
      this.bus.subscribe(umbra.core.v1.Event, (e) => this.onEvent(e), { capacity: 65_536 }),
      this.bus.subscribe(umbra.core.v1.Heartbeat, (h) => this.onHeartbeat(h)),
      this.bus.subscribe(umbra.platform.v1.HardwareState, (s) => {
        if (!s.power) return;
        this.power = {
          busVoltageV: s.power.busVoltageV,
          busCurrentA: s.power.busCurrentA,
          inputPowerW: s.power.inputPowerW,
          batterySocPct: s.power.batterySocPct,
          sunlit: s.illumination?.sunlit ?? null,
          missionTimeNs: s.missionTimeNs.toString(),
        };
      }),
      this.bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
        const stations = e.orbit?.stationsInView ?? [];
        this.contactWindows.observe(e.missionTimeNs, stations);
        // Kept raw: the ISO times and the window's JSON are made when /api/status asks, not per sample.
        this.contact = { inContact: stations.length > 0, stationsInView: [...stations], sunlit: e.orbit?.sunlit ?? null, missionTimeNs: e.missionTimeNs };
      }),
    );
  }

  stop(): void {
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
  }

  onTelemetryNotices(listener: (n: TelemetryNotice[]) => void): void {
    this.telemetryListeners.push(listener);
  }

  onEventNotice(listener: (e: EventJson) => void): void {
    this.eventListeners.push(listener);
  }

  private onTelemetry(r: MessageOf<typeof umbra.core.v1.TelemetryReport>): void {
    let byName = this.latest.get(r.service);
    if (!byName) {
      if (this.latest.size >= MAX_SERVICES) return;
      byName = new Map();
      this.latest.set(r.service, byName);
    }
    const receivedAt = new Date(this.clock.utcMs()).toISOString();
    const missionTimeNs = r.missionTimeNs.toString();
    const notices: TelemetryNotice[] = [];
    for (const s of r.samples) {
      const value = valueJson(s.value);
      if (byName.size < MAX_PARAMETERS_PER_SERVICE || byName.has(s.name)) byName.set(s.name, { value, missionTimeNs, receivedAt });
      notices.push({ service: r.service, name: s.name, missionTimeNs, value });
    }
    for (const l of this.telemetryListeners) l(notices);
  }

  private onEvent(e: MessageOf<typeof umbra.core.v1.Event>): void {
    const json = eventJson(e);
    this.events.push(json);
    if (this.events.length > RECENT_EVENTS) this.events.splice(0, this.events.length - RECENT_EVENTS);
    for (const l of this.eventListeners) l(json);
  }

  private onHeartbeat(h: MessageOf<typeof umbra.core.v1.Heartbeat>): void {
    const now = this.clock.monotonicMs();
    const previous = this.heartbeats.get(h.service);
    if (!previous && this.heartbeats.size >= MAX_SERVICES) return;
    const gap = previous ? now - previous.atMs : DEFAULT_HEARTBEAT_MS;
    this.heartbeats.set(h.service, {
      name: h.service,
      node: h.node,
      host: h.host,
      pid: h.pid,
      uptimeMs: Number(h.uptimeMs),
      state: STATE_NAMES[h.state] ?? "unknown",
      counter: h.counter.toString(),
      atMs: now,
      atUtcMs: this.clock.utcMs(),
      // A restart (counter back to 1) or a long silence says nothing about the period.
      periodMs: previous && h.counter > 1n && gap > 0 && gap < 10 * (previous.periodMs || DEFAULT_HEARTBEAT_MS) ? gap : previous?.periodMs ?? DEFAULT_HEARTBEAT_MS,
    });
  }

  latestTelemetry(): Record<string, Record<string, LatestSample>> {
    const out: Record<string, Record<string, LatestSample>> = {};
    for (const [service, byName] of this.latest) out[service] = Object.fromEntries(byName);
    return out;
  }

  recentEvents(): EventJson[] {
    return [...this.events];
  }

  services(): { name: string; node: string; host: string; pid: number; uptimeMs: number; state: string; lastHeartbeat: string; periodMs: number; alive: boolean }[] {
    const now = this.clock.monotonicMs();
    return [...this.heartbeats.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((h) => ({
        name: h.name,
        node: h.node,
        host: h.host,
        pid: h.pid,
        uptimeMs: h.uptimeMs,
        state: h.state,
        lastHeartbeat: new Date(h.atUtcMs).toISOString(),
        periodMs: Math.round(h.periodMs),
        alive: now - h.atMs <= 3 * Math.max(h.periodMs, 1) && h.state !== "stopped" && h.state !== "failed",
      }));
  }

  /** Latest telemetry of one service as { name: value }. */
  private group(service: string): Record<string, TelemetryValue> {
    const byName = this.latest.get(service);
    if (!byName) return {};
    return Object.fromEntries([...byName].map(([name, s]) => [name, s.value]));
  }

  status(): Record<string, unknown> {
    return {
      services: this.services(),
      power: { ...this.group("power"), ...this.power },
      thermal: this.group("thermal"),
      scrubber: this.group("scrubber"),
      inference: this.group("inference"),
      jobs: this.group("jobs"),
      contact: this.contactJson(),
      ttc: this.group("ttc"),
      supervisor: this.group("supervisor"),
    };
  }

  private contactJson(): Record<string, unknown> {
    const c = this.contact;
    if (!c) return {};
    return { ...c, stationsInView: [...c.stationsInView], missionTimeNs: c.missionTimeNs.toString(), time: isoOfTaiNs(c.missionTimeNs), ...this.contactWindows.json() };
  }
}

export interface ContactWindowJson {
  /** When the current state (in contact, or not) began, as far as the gateway saw: mission time (TAI ns) and ISO UTC. */
  since?: string;
  sinceTime?: string;
  /** Whether the gateway saw the state begin (false: it was already so at the gateway's first sample). */
  sinceSeen?: boolean;
  /** The last contact window that ended while the gateway watched (its start may have been before the gateway's first sample). */
  lastWindow?: { start: string; startTime: string; end: string; endTime: string; stations: string[] };
}

/**
 * Contact windows from the stream of "which stations are in view" samples:
 * when the current state began, and the last whole window. Pure state; the
 * samples' mission times drive it.
 */
export class ContactWindows {
  private inContact: boolean | undefined;
  private since: bigint | undefined;
  private sinceSeen = false;
  private stations = new Set<string>();
  private last: ContactWindowJson["lastWindow"];

  observe(missionTimeNs: bigint, stationsInView: readonly string[]): void {
    const now = stationsInView.length > 0;
    if (this.inContact === undefined) {
      this.inContact = now;
      this.since = missionTimeNs;
      this.sinceSeen = false;
    } else if (now !== this.inContact) {
      if (!now && this.since !== undefined) {
        this.last = { start: this.since.toString(), startTime: isoOfTaiNs(this.since), end: missionTimeNs.toString(), endTime: isoOfTaiNs(missionTimeNs), stations: [...this.stations].slice(0, 64) };
      }
      this.inContact = now;
      this.since = missionTimeNs;
      this.sinceSeen = true;
      this.stations.clear();
    }
    if (now) for (const s of stationsInView) if (this.stations.size < 64) this.stations.add(s);
  }

  json(): ContactWindowJson {
    return {
      ...(this.since !== undefined ? { since: this.since.toString(), sinceTime: isoOfTaiNs(this.since), sinceSeen: this.sinceSeen } : {}),
      ...(this.last ? { lastWindow: { ...this.last, stations: [...this.last.stations] } } : {}),
    };
  }
}
