// What every client command shares: --gateway, --token and --json, the
// client they make, and JSON output.
import { join } from "node:path";
import type { Command } from "commander";
import { ADMIN_TOKEN_FILE, resolveGatewayUrl, resolveToken } from "../client/config.js";
import { GatewayClient } from "../client/http.js";
import type { Io } from "../io.js";
import { WORKSPACE_ROOT } from "../paths.js";

/** What each command's registration gets: where to write, and where its exit status goes. */
export interface CommandContext {
  io: Io;
  /** The exit status of the command that ran (set by its action). */
  exitCode: number;
}

/** Wraps a command's action so the status it returns becomes the program's exit status. */
export function action<A extends unknown[]>(ctx: CommandContext, fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    ctx.exitCode = (await fn(...args)) ?? 0;
  };
}

export interface ClientFlags {
  gateway?: string;
  token?: string;
  json?: boolean;
}

export function withClientOptions(cmd: Command): Command {
  return cmd
    .option("--gateway <url>", "the gateway's URL (env UMBRA_GATEWAY; default http://127.0.0.1:8080)")
    .option("--token <token>", `bearer token (env UMBRA_TOKEN; default the admin token in ${ADMIN_TOKEN_FILE} if readable)`)
    .option("--json", "print one JSON document instead of text, for scripts");
}

/** The admin token files tried when no token is given: under the current folder, then under the workspace the CLI was built in. */
export function tokenFiles(io: Io): string[] {
  if (io.tokenFiles) return io.tokenFiles;
  return [...new Set([join(io.cwd, ADMIN_TOKEN_FILE), join(WORKSPACE_ROOT, ADMIN_TOKEN_FILE)])];
}

export function makeClient(flags: ClientFlags, io: Io, options: { token?: boolean } = {}): GatewayClient {
  const baseUrl = resolveGatewayUrl(flags.gateway, io.env);
  if (options.token === false) return new GatewayClient({ baseUrl });
  const { token, source } = resolveToken(flags.token, io.env, tokenFiles(io));
  return new GatewayClient({ baseUrl, token, tokenSource: source });
}

/** JSON for scripts: bigints as decimal strings, two-space indent. */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
}

/** One JSON document per line (for streams). */
export function printJsonLine(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}
