// The gateway of a running `umbra start` (see stack.ts): where it listens, as
// the launcher prints it, and the first admin's token, which the gateway
// writes to <data>/gateway/admin-token on its first start
// (packages/supervisor's adminTokenFile); and plain calls to its REST API.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { until, type UmbraRun } from "./stack.js";

/** The launcher's line "umbra: gateway listening on http://127.0.0.1:PORT (operator console: ...; admin token in ...)". */
export const GATEWAY_LINE = /^umbra: gateway listening on (http:\/\/[^\s]+)/;

/** The gateway's URL, once the launcher has printed it. */
export async function gatewayUrl(run: UmbraRun, ms = 60_000): Promise<string> {
  const line = await run.waitForLine(GATEWAY_LINE, ms);
  return GATEWAY_LINE.exec(line)![1]!;
}

/** The admin token the gateway wrote on its first start (<data>/gateway/admin-token). */
export async function adminToken(run: UmbraRun, ms = 30_000): Promise<string> {
  const file = join(run.data, "gateway", "admin-token");
  return until(() => existsSync(file) && readFileSync(file, "utf8").trim(), `the admin token in ${file}`, ms);
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the shape it expects
  body: any;
}

/** One REST call with a bearer token; the body parsed as JSON when it is JSON. */
export async function callApi(url: string, method: string, path: string, token?: string, body?: unknown): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the text as it is
  }
  return { status: res.status, body: parsed };
}
