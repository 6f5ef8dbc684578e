// The gateway's REST API over fetch: bearer token, JSON in and out, and
// errors that say what to do (unreachable: the URL and `umbra start`; 401:
// the token; 4xx: the gateway's own message).
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "../errors.js";

export type Query = Record<string, string | number | boolean | undefined>;

export interface GatewayErrorBody {
  error?: string;
  message?: string;
}

/** The gateway refused the request: its HTTP status and { error, message }. */
export class GatewayError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message, status === 400 ? EXIT_USAGE : EXIT_FAILURE);
    this.name = "GatewayError";
  }
}

export interface ClientOptions {
  baseUrl: string;
  token?: string;
  /** Where the token came from, named when the gateway refuses it. */
  tokenSource?: string;
  fetch?: typeof fetch;
  /** Per request, ms (default 15 s). */
  timeoutMs?: number;
}

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as Error).name === "TimeoutError") return "no answer in time";
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

export class GatewayClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #tokenSource: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#tokenSource = options.tokenSource ?? "the token";
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  get token(): string | undefined {
    return this.#token;
  }

  url(path: string, query: Query = {}): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** The WebSocket stream's URL (ws:// or wss://), with the token as the gateway expects it. */
  streamUrl(): string {
    const u = new URL(this.url("/api/stream"));
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (this.#token) u.searchParams.set("token", this.#token);
    return u.toString();
  }

  unreachable(detail: string): CliError {
    return new CliError(`cannot reach the gateway at ${this.baseUrl} (${detail}). Is the stack running? Start it with \`umbra start\`, or point --gateway or UMBRA_GATEWAY at the gateway`);
  }

  badToken(detail: string): CliError {
    return new CliError(`the gateway at ${this.baseUrl} refused the token from ${this.#tokenSource} (401${detail ? `: ${detail}` : ""}): it is wrong, revoked or expired; pass a valid one with --token or UMBRA_TOKEN`);
  }

  async request(method: string, path: string, options: { query?: Query; body?: unknown; timeoutMs?: number; accept?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept ?? "application/json" };
    if (this.#token) headers["authorization"] = `Bearer ${this.#token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.#fetch(this.url(path, options.query), {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.#timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(describeCause(err));
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let body: GatewayErrorBody = {};
    try {
      body = JSON.parse(text) as GatewayErrorBody;
    } catch {
      body = { message: text.slice(0, 500) };
    }
    const message = body.message ?? body.error ?? res.statusText;
    if (res.status === 401) throw this.badToken(message);
    if (res.status === 403) throw new GatewayError(403, body.error ?? "forbidden", `the gateway refused: ${message} (your token's role may not do this; ask an admin)`);
    if (res.status === 429) throw new GatewayError(429, body.error ?? "rate_limited", `the gateway is rate-limiting: ${message}; wait and try again`);
    if (res.status >= 500) throw new GatewayError(res.status, body.error ?? "server_error", `the gateway failed (${res.status}): ${message}`);
    throw new GatewayError(res.status, body.error ?? String(res.status), message);
  }

  async json<T>(method: string, path: string, options: { query?: Query; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
    const res = await this.request(method, path, options);
    const text = await res.text();
    try {
      return (text === "" ? {} : JSON.parse(text)) as T;
    } catch {
      throw new CliError(`the gateway at ${this.baseUrl} answered ${method} ${path} with something that is not JSON: is ${this.baseUrl} an Umbra gateway?`);
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.json<T>("GET", path, query ? { query } : {});
  }

  post<T>(path: string, body: unknown, query?: Query, timeoutMs?: number): Promise<T> {
    return this.json<T>("POST", path, { body, ...(query ? { query } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  delete<T>(path: string): Promise<T> {
    return this.json<T>("DELETE", path);
  }

  async text(path: string, accept = "*/*"): Promise<string> {
    const res = await this.request("GET", path, { accept });
    return res.text();
  }
}
