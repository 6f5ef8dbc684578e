// The gateway's WebSocket stream (/api/stream): live telemetry for the
// parameters the operator picked, every event, and verification reports.
// It reconnects with backoff when the connection drops (the gateway
// restarted, the network blinked, or the gateway closed us with 4008 for
// reading too slowly), and sends the subscription again each time.
import { backoffDelay } from "../logic/backoff.js";

export interface TelemetryMessage {
  type: "telemetry";
  service: string;
  name: string;
  missionTimeNs: string;
  value: boolean | number | string | null;
}

/** `opens` counts the connections made so far (the first, then each reconnect). */
export type StreamState = { kind: "connecting"; opens: number } | { kind: "open"; opens: number } | { kind: "waiting"; opens: number; retryAt: number; reason: string };

type Listener<T> = (m: T) => void;

export class StreamClient {
  private socket: WebSocket | undefined;
  private telemetry: string[] = [];
  private attempt = 0;
  private failedBeforeOpen = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private opens = 0;
  private state: StreamState = { kind: "connecting", opens: 0 };
  private readonly telemetryListeners = new Set<Listener<TelemetryMessage>>();
  private readonly eventListeners = new Set<Listener<Record<string, unknown>>>();
  private readonly verificationListeners = new Set<Listener<Record<string, unknown>>>();
  private readonly stateListeners = new Set<Listener<StreamState>>();
  /** Messages received, for the header's counter and the tests. */
  received = 0;

  constructor(
    private readonly token: string,
    /** Called after repeated refusals before the socket opened: the app checks whether the token still holds. */
    private readonly onRefused: () => void,
  ) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close(1000, "logged out");
    this.socket = undefined;
  }

  /** The parameters to receive ("service.name"); sent now if connected, and on every reconnect. */
  subscribe(keys: readonly string[]): void {
    this.telemetry = [...new Set(keys)].slice(0, 1024);
    this.sendSubscription();
  }

  onTelemetry(l: Listener<TelemetryMessage>): () => void {
    this.telemetryListeners.add(l);
    return () => this.telemetryListeners.delete(l);
  }

  onEvent(l: Listener<Record<string, unknown>>): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  onVerification(l: Listener<Record<string, unknown>>): () => void {
    this.verificationListeners.add(l);
    return () => this.verificationListeners.delete(l);
  }

  onState(l: Listener<StreamState>): () => void {
    this.stateListeners.add(l);
    l(this.state);
    return () => this.stateListeners.delete(l);
  }

  private setState(s: StreamState): void {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  private connect(): void {
    if (this.closed) return;
    this.setState({ kind: "connecting", opens: this.opens });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/api/stream?token=${encodeURIComponent(this.token)}`);
    } catch (err) {
      this.retry(err instanceof Error ? err.message : String(err));
      return;
    }
    this.socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.failedBeforeOpen = 0;
      this.opens++;
      this.setState({ kind: "open", opens: this.opens });
      this.sendSubscription();
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let m: unknown;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      if (!m || typeof m !== "object") return;
      this.received++;
      const msg = m as Record<string, unknown>;
      switch (msg["type"]) {
        case "telemetry":
          if (typeof msg["service"] === "string" && typeof msg["name"] === "string" && typeof msg["missionTimeNs"] === "string") {
            for (const l of this.telemetryListeners) l(msg as unknown as TelemetryMessage);
          }
          break;
        case "event":
          for (const l of this.eventListeners) l(msg);
          break;
        case "verification":
          for (const l of this.verificationListeners) l(msg);
          break;
        case "error":
          console.warn("stream: the gateway refused a message:", msg["message"]);
          break;
      }
    };
    ws.onclose = (e) => {
      if (this.socket !== ws) return;
      this.socket = undefined;
      if (!opened) {
        this.failedBeforeOpen++;
        // A refused upgrade looks like any failed connection; after two, ask whether the token still holds.
        if (this.failedBeforeOpen >= 2) this.onRefused();
      }
      const reason = e.code === 4008 ? "the gateway closed the stream: too slow" : opened ? `connection closed (${e.code}${e.reason ? ` ${e.reason}` : ""})` : "cannot connect";
      this.retry(reason);
    };
  }

  private retry(reason: string): void {
    if (this.closed) return;
    const delay = backoffDelay(this.attempt++, Math.random());
    this.setState({ kind: "waiting", opens: this.opens, retryAt: Date.now() + delay, reason });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private sendSubscription(): void {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ type: "subscribe", telemetry: this.telemetry, events: true, verifications: true }));
  }
}
