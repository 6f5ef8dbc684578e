// Which gateway the client commands talk to and with which token:
// --gateway, else UMBRA_GATEWAY, else http://127.0.0.1:8080; --token, else
// UMBRA_TOKEN, else the admin token `umbra start` writes on its first start.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN_FILE_NAME, CONFIG_DEFAULTS } from "@umbra/supervisor";
import { UsageError } from "../errors.js";

export const DEFAULT_GATEWAY = "http://127.0.0.1:8080";
/** Where `umbra start` has the gateway write the admin's token with the default configuration (relative to the working folder). */
export const ADMIN_TOKEN_FILE = join(CONFIG_DEFAULTS.paths.data, "gateway", ADMIN_TOKEN_FILE_NAME);

export interface Env {
  [name: string]: string | undefined;
}

/** The gateway's base URL, checked (http or https, no query), without a trailing slash. */
export function resolveGatewayUrl(flag: string | undefined, env: Env): string {
  const raw = flag ?? env["UMBRA_GATEWAY"] ?? DEFAULT_GATEWAY;
  const from = flag !== undefined ? "--gateway" : env["UMBRA_GATEWAY"] !== undefined ? "UMBRA_GATEWAY" : "the default";
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`${from}: ${JSON.stringify(raw)} is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`${from}: ${JSON.stringify(raw)} must be an http:// or https:// URL`);
  if (url.search || url.hash) throw new UsageError(`${from}: ${JSON.stringify(raw)} must not have a query or fragment`);
  return url.toString().replace(/\/+$/, "");
}

export interface TokenSource {
  token: string;
  /** Where it came from, for error messages: "--token", "UMBRA_TOKEN" or the file. */
  source: string;
}

export type ReadFile = (path: string) => string;
const readText: ReadFile = (path) => readFileSync(path, "utf8");

/**
 * The token: --token, UMBRA_TOKEN, or the first readable admin token file
 * among `files`. Throws a UsageError saying how to get one when there is none.
 */
export function resolveToken(flag: string | undefined, env: Env, files: readonly string[], read: ReadFile = readText): TokenSource {
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--token is empty");
    return { token: flag.trim(), source: "--token" };
  }
  const fromEnv = env["UMBRA_TOKEN"];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return { token: fromEnv.trim(), source: "UMBRA_TOKEN" };
  for (const file of files) {
    let text: string;
    try {
      text = read(file);
    } catch {
      continue;
    }
    const token = text.trim();
    if (token) return { token, source: file };
  }
  throw new UsageError(
    `no gateway token: pass --token <token> or set UMBRA_TOKEN. ` +
      `\`umbra start\` writes the admin's token to ${ADMIN_TOKEN_FILE} on the gateway's first start (read here when it exists); ` +
      `an admin can make one for you with \`umbra users token <your name>\``,
  );
}
