// The live WebSocket stream: telemetry, events and verification reports,
// filtered per client by what it subscribed to. Each message is serialised
// once and handed to every interested socket without waiting: a socket whose
// unsent bytes would pass the limit is closed with 4008 "too slow" and
// counted. The bus never waits for a socket, and one slow client costs the
// others nothing.
import type { Logger } from "@umbra/core";
import { umbra } from "@umbra/proto";
import type { WebSocket } from "ws";
import type { EventJson, TelemetryNotice } from "./live.js";
import type { VerificationNotice } from "./commanding.js";

export const CLOSE_TOO_SLOW = 4008;
/** After a close frame, how long a slow client gets to take it before its socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;
const MAX_PATTERNS = 1024;
const PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\.(\*|[A-Za-z][A-Za-z0-9_]{0,63}))$/;

export interface Subscription {
  /** Exact "service.name" keys. */
  exact: Set<string>;
  /** Services subscribed with "service.*". */
  services: Set<string>;
  all: boolean;
  events: boolean;
  verifications: boolean;
}

export type SubscribeParse = { ok: true; subscription: Subscription; patterns: string[] } | { ok: false; message: string };

/** Reads a client's subscribe message. Pure; never throws. */
export function parseSubscribe(text: string): SubscribeParse {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` };
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) return { ok: false, message: "expected an object like {\"type\":\"subscribe\",...}" };
  const m = msg as Record<string, unknown>;
  if (m["type"] !== "subscribe") return { ok: false, message: `type: expected "subscribe", got ${JSON.stringify(m["type"] ?? null)}` };
  for (const key of Object.keys(m)) {
    if (!["type", "telemetry", "events", "verifications"].includes(key)) return { ok: false, message: `${key}: unknown field (expected type, telemetry, events, verifications)` };
  }
  const telemetry = m["telemetry"] ?? [];
  if (!Array.isArray(telemetry)) return { ok: false, message: "telemetry: expected an array of \"<service>.<name>\", \"<service>.*\" or \"*\"" };
  if (telemetry.length > MAX_PATTERNS) return { ok: false, message: `telemetry: at most ${MAX_PATTERNS} patterns` };
  const sub: Subscription = { exact: new Set(), services: new Set(), all: false, events: false, verifications: false };
  const patterns: string[] = [];
  for (let i = 0; i < telemetry.length; i++) {
    const p: unknown = telemetry[i];
    if (typeof p !== "string" || !PATTERN.test(p)) {
      return { ok: false, message: `telemetry[${i}]: expected "<service>.<name>", "<service>.*" or "*", got ${JSON.stringify(typeof p === "string" ? p.slice(0, 80) : p ?? null)}` };
    }
    patterns.push(p);
    if (p === "*") sub.all = true;
    else if (p.endsWith(".*")) sub.services.add(p.slice(0, -2));
    else sub.exact.add(p);
  }
  for (const key of ["events", "verifications"] as const) {
    const v = m[key] ?? false;
    if (typeof v !== "boolean") return { ok: false, message: `${key}: expected true or false, got ${JSON.stringify(v)}` };
    sub[key] = v;
  }
  return { ok: true, subscription: sub, patterns };
}

export function wantsTelemetry(sub: Subscription, service: string, name: string): boolean {
  return sub.all || sub.services.has(service) || sub.exact.has(`${service}.${name}`);
}

interface Client {
  socket: WebSocket;
  user: string;
  sub: Subscription;
  dropped: boolean;
}

export interface StreamStats {
  clients: number;
  /** Clients closed because their send buffer passed the limit. */
  droppedSlow: number;
  /** Messages handed to sockets. */
  sent: number;
}

export class StreamHub {
  private readonly clients = new Set<Client>();
  private droppedSlow = 0;
  private sent = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly log: Logger,
  ) {}

  stats(): StreamStats {
    return { clients: this.clients.size, droppedSlow: this.droppedSlow, sent: this.sent };
  }

  add(socket: WebSocket, user: string): void {
    const client: Client = { socket, user, sub: { exact: new Set(), services: new Set(), all: false, events: false, verifications: false }, dropped: false };
    this.clients.add(client);
    socket.on("message", (data, isBinary) => {
      if (client.dropped) return;
      const text = isBinary ? "" : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8");
      const r = isBinary ? ({ ok: false, message: "binary frames are not understood; send JSON text" } as const) : parseSubscribe(text);
      if (!r.ok) {
        this.send(client, JSON.stringify({ type: "error", message: r.message }));
        return;
      }
      client.sub = r.subscription;
      this.send(client, JSON.stringify({ type: "subscribed", telemetry: r.patterns, events: r.subscription.events, verifications: r.subscription.verifications }));
    });
    socket.on("close", () => this.clients.delete(client));
    socket.on("error", (err) => {
      this.log.debug({ err, user }, "websocket error");
      this.clients.delete(client);
    });
  }

  /** Hands one serialised message to a client, or drops the client if it is too far behind. */
  private send(client: Client, data: string, bytes = Buffer.byteLength(data)): void {
    if (client.dropped || client.socket.readyState !== 1 /* OPEN */) return;
    if (client.socket.bufferedAmount + bytes > this.limitBytes) {
      this.drop(client);
      return;
    }
    client.socket.send(data);
    this.sent++;
  }

  private drop(client: Client): void {
    client.dropped = true;
    this.droppedSlow++;
    this.clients.delete(client);
    this.log.warn({ user: client.user, buffered: client.socket.bufferedAmount, limit: this.limitBytes }, "websocket client too slow; dropped from the stream");
    client.socket.close(CLOSE_TOO_SLOW, "too slow");
    // The close frame waits behind what is buffered; a client that never
    // reads would hold the socket. Real time, not the mission clock: this is
    // about a TCP peer.
    setTimeout(() => client.socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  telemetry(notices: TelemetryNotice[]): void {
    if (this.clients.size === 0) return;
    for (const n of notices) {
      let data: string | undefined;
      let bytes = 0;
      for (const c of this.clients) {
        if (!wantsTelemetry(c.sub, n.service, n.name)) continue;
        if (data === undefined) {
          data = JSON.stringify({ type: "telemetry", service: n.service, name: n.name, missionTimeNs: n.missionTimeNs, value: n.value });
          bytes = Buffer.byteLength(data);
        }
        this.send(c, data, bytes);
      }
    }
  }

  event(e: EventJson): void {
    if (this.clients.size === 0) return;
    let data: string | undefined;
    let bytes = 0;
    for (const c of this.clients) {
      if (!c.sub.events) continue;
      if (data === undefined) {
        data = JSON.stringify({ type: "event", service: e.service, id: e.id, name: e.name, severity: e.severity, message: e.message, missionTimeNs: e.missionTimeNs, args: e.args });
        bytes = Buffer.byteLength(data);
      }
      this.send(c, data, bytes);
    }
  }

  verification(n: VerificationNotice): void {
    if (this.clients.size === 0) return;
    let data: string | undefined;
    let bytes = 0;
    for (const c of this.clients) {
      if (!c.sub.verifications) continue;
      if (data === undefined) {
        const v = n.verification;
        data = JSON.stringify({
          type: "verification",
          ...(n.commandId === undefined ? {} : { commandId: n.commandId }),
          apid: v.apid,
          sequenceCount: v.sequenceCount,
          stage: n.stage,
          success: v.success,
          code: umbra.ttc.v1.FailureCode[v.code] ?? String(v.code),
          detail: v.detail,
          service: v.service,
          command: v.command,
        });
        bytes = Buffer.byteLength(data);
      }
      this.send(c, data, bytes);
    }
  }

  closeAll(): void {
    for (const c of this.clients) c.socket.terminate();
    this.clients.clear();
  }
}
