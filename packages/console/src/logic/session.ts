// Who is logged in: the user and role GET /api/whoami gives for a token, and
// what each role may do in the console. The gateway's roles, in order: a
// viewer reads, an operator also commands and arms, an admin also manages
// users (packages/gateway/src/auth/roles.ts).

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface Session {
  token: string;
  user: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** Operators and admins command; a viewer sees no command controls at all. */
export function canCommand(role: Role): boolean {
  return role === "operator" || role === "admin";
}

/** A token as the gateway issues them: umb_ and base64url. Longer or stranger text is refused before it is sent anywhere. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_.~+/=-]{8,256}$/;

/** Why a typed token cannot be one, or undefined when it may be (the gateway decides). */
export function tokenProblem(text: string): string | undefined {
  const t = typeof text === "string" ? text.trim() : "";
  if (!t) return "enter your API token";
  if (t.length > 256) return "that is too long to be a token";
  if (!TOKEN_PATTERN.test(t)) return "a token has no spaces or punctuation other than _ - . ~ + / =";
  return undefined;
}

/** A session from storage (text anything may have written), or undefined. */
export function parseSession(text: string | null | undefined): Session | undefined {
  if (typeof text !== "string" || text.length > 4096) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r["token"] !== "string" || tokenProblem(r["token"]) || typeof r["user"] !== "string" || !isRole(r["role"])) return undefined;
  return { token: r["token"].trim(), user: r["user"], role: r["role"] };
}

/** The whoami answer as a session for `token`, or undefined if the answer is not one. */
export function sessionFromWhoami(token: string, body: unknown): Session | undefined {
  if (!body || typeof body !== "object") return undefined;
  const r = body as Record<string, unknown>;
  if (typeof r["user"] !== "string" || !isRole(r["role"])) return undefined;
  return { token: token.trim(), user: r["user"], role: r["role"] };
}
