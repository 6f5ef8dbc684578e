// What the console says when the gateway refuses. Every gateway error is
// { "error": "<code>", "message": "<reason naming the field>" }; anything
// else (a proxy's page, an empty body) is described by its status.

export interface ApiErrorInfo {
  status: number;
  /** The gateway's short code (unauthorized, bad_argument, not_armed, ...), or "http_<status>". */
  code: string;
  /** The reason, to show as it is. */
  message: string;
}

const STATUS_WORDS: Record<number, string> = {
  400: "bad request",
  401: "not logged in, or the token is not accepted",
  403: "not allowed for your role",
  404: "not found",
  409: "refused",
  413: "too large",
  429: "too many requests",
  500: "the gateway failed",
  502: "bad gateway",
  503: "unavailable",
  504: "timed out",
};

export const MAX_MESSAGE_CHARS = 500;

/** The error a response body says, whatever the body is. */
export function apiErrorOf(status: number, bodyText: string): ApiErrorInfo {
  let code = `http_${status}`;
  let message = "";
  const text = typeof bodyText === "string" ? bodyText.slice(0, 65_536) : "";
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object") {
      const b = body as Record<string, unknown>;
      if (typeof b["error"] === "string" && b["error"]) code = b["error"].slice(0, 64);
      if (typeof b["message"] === "string") message = b["message"];
    }
  } catch {
    message = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  }
  if (!message) message = STATUS_WORDS[status] ?? `HTTP ${status}`;
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS)}…`;
  return { status, code, message };
}

/** "HTTP 409 not_armed: counter.reset is critical and not armed: ..." */
export function describeApiError(e: ApiErrorInfo): string {
  if (e.status === 0) return e.message;
  return `${e.status} ${e.code}: ${e.message}`;
}
