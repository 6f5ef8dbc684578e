// The gateway's REST API, as the console calls it: the token in the
// Authorization header, JSON in and out, and every refusal turned into an
// ApiError carrying the gateway's code and reason (shown to the operator as
// it is). A 401 anywhere means the token is no longer accepted: the app
// logs out.
import { apiErrorOf, describeApiError, type ApiErrorInfo } from "../logic/api-errors.js";

export class ApiError extends Error {
  constructor(readonly info: ApiErrorInfo) {
    super(describeApiError(info));
    this.name = "ApiError";
  }
  get status(): number {
    return this.info.status;
  }
  get code(): string {
    return this.info.code;
  }
}

/** The message an operator reads for any failure. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

const TIMEOUT_MS = 45_000;

/** One request; resolves with the parsed JSON body (and the status), rejects with ApiError. */
export async function request<T = unknown>(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, { method, headers, signal: controller.signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (err) {
    const why = controller.signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : err instanceof Error ? err.message : String(err);
    throw new ApiError({ status: 0, code: "unreachable", message: `cannot reach the gateway: ${why}` });
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text().catch(() => "");
  // 504 on ?wait=completion still carries the command record (state timeout): a result, not a failure.
  if (!res.ok && !(res.status === 504 && path.startsWith("/api/commands?"))) throw new ApiError(apiErrorOf(res.status, text));
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError({ status: res.status, code: "bad_response", message: `the gateway answered ${path} with something that is not JSON` });
  }
  return { status: res.status, body: parsed as T };
}

/** The API for one logged-in session. */
export class Api {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: (reason: string) => void,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    try {
      return await request<T>(method, path, this.token, body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.onUnauthorized(err.info.message);
      throw err;
    }
  }

  async get<T = unknown>(path: string): Promise<T> {
    return (await this.call<T>("GET", path)).body;
  }

  async post<T = unknown>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    return this.call<T>("POST", path, body);
  }

  async delete(path: string): Promise<void> {
    await this.call("DELETE", path);
  }
}
