// Connects this bus node to a bus server, and keeps reconnecting with
// exponential backoff (with jitter) when the connection drops.
import { createConnection, type Socket } from "node:net";
import type { Bus } from "../bus/bus.js";
import { StreamLink, type StreamLinkOptions } from "../bus/stream-link.js";
import { formatEndpoint, type Endpoint } from "./endpoint.js";

export interface ReconnectPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** 0..1: each delay is randomised by up to this fraction, so many clients do not retry in step. */
  jitter: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 50, maxDelayMs: 5000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt n (0-based). Pure, so it can be tested. */
export function backoffDelay(policy: ReconnectPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

export interface BusClientOptions extends StreamLinkOptions {
  reconnect?: Partial<ReconnectPolicy>;
}

export class BusClient {
  readonly link: StreamLink;
  private readonly policy: ReconnectPolicy;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private everConnected = false;
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly bus: Bus,
    readonly endpoint: Endpoint,
    options: BusClientOptions,
  ) {
    this.policy = { ...DEFAULT_RECONNECT, ...options.reconnect };
    if (!(this.policy.initialDelayMs > 0 && this.policy.maxDelayMs >= this.policy.initialDelayMs && this.policy.factor >= 1)) {
      throw new RangeError("reconnect policy needs initialDelayMs > 0, maxDelayMs >= initialDelayMs and factor >= 1");
    }
    this.link = new StreamLink(formatEndpoint(endpoint), { maxFrameBytes: bus.maxFrameBytes, keepInterestWhileDown: true, ...options });
  }

  /** Attaches a client link to the bus and starts connecting; does not wait. */
  static start(bus: Bus, endpoint: Endpoint, options: BusClientOptions = {}): BusClient {
    const client = new BusClient(bus, endpoint, options);
    bus.attach(client.link);
    client.connect();
    return client;
  }

  /**
   * Attaches and waits until the first connection is up and the server has
   * sent its subscriptions, so what is published next is routed (or the
   * timeout passes: the client is closed and the error thrown).
   */
  static async connect(bus: Bus, endpoint: Endpoint, options: BusClientOptions & { timeoutMs?: number } = {}): Promise<BusClient> {
    const client = BusClient.start(bus, endpoint, options);
    const timeoutMs = options.timeoutMs ?? 5000;
    const started = Date.now();
    try {
      await client.waitConnected(timeoutMs);
      await client.link.whenSynced(Math.max(1, timeoutMs - (Date.now() - started)));
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  get connected(): boolean {
    return this.link.connected;
  }

  /** Resolves when connected; rejects after timeoutMs. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.link.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`could not connect to ${formatEndpoint(this.endpoint)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  private connect(): void {
    // A client whose bus has closed (and so closed its link) stops retrying too.
    if (this.stopped || this.link.isClosed) return;
    const socket: Socket =
      this.endpoint.kind === "unix"
        ? createConnection(this.endpoint.path)
        : createConnection({ host: this.endpoint.host, port: this.endpoint.port });
    let settled = false;
    socket.once("connect", () => {
      settled = true;
      if (this.stopped) {
        socket.destroy();
        return;
      }
      if (this.everConnected) this.link.counters.reconnects++;
      this.everConnected = true;
      this.link.attachSocket(socket);
      // Back off afresh only once the server has accepted us as a peer; a server
      // that takes the connection and then refuses our Hello keeps the backoff growing.
      this.link.whenSynced(this.policy.maxDelayMs + 1000).then(
        () => {
          this.attempt = 0;
        },
        () => undefined,
      );
      for (const w of this.waiters.splice(0)) w();
      socket.once("close", () => this.scheduleReconnect());
    });
    socket.once("error", () => {
      if (!settled) {
        settled = true;
        socket.destroy();
        this.scheduleReconnect();
      }
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer || this.link.isClosed) return;
    const delay = backoffDelay(this.policy, this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
  }

  /** Stops reconnecting and closes the link; resolves once what was queued has been written. */
  close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const closed = this.link.whenClosed();
    this.bus.detach(this.link);
    return closed;
  }
}
