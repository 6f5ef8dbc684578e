// umbra users: the gateway's users and their tokens (admin only).
import { Option, type Command } from "commander";
import type { UserJson } from "../client/types.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { formatUsers } from "../format.js";
import { action, makeClient, printJson, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

interface AddFlags extends ClientFlags {
  role: string;
}

function usersOf(body: unknown): UserJson[] {
  if (Array.isArray(body)) return body as UserJson[];
  const users = (body as { users?: unknown } | null)?.users;
  return Array.isArray(users) ? (users as UserJson[]) : [];
}

/** The token in an answer: { token } or { token: { token } }. */
function tokenOf(body: Record<string, unknown>): string | undefined {
  const t = body["token"];
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as Record<string, unknown>)["token"] === "string") return (t as Record<string, string>)["token"];
  return undefined;
}

export function registerUsers(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const users = program
    .command("users")
    .description("the gateway's users and tokens (admin only)")
    .addHelpText(
      "after",
      `
Examples:
  umbra users list
  umbra users add alice --role operator
  umbra users token alice
  umbra users remove alice`,
    );
  withClientOptions(users.command("list", { isDefault: true }).description("list users and their roles")).action(
    action(ctx, async (flags: ClientFlags) => {
      const body = await makeClient(flags, io).get<unknown>("/api/users");
      if (flags.json) printJson(io, body);
      else io.out(formatUsers(usersOf(body)));
      return EXIT_OK;
    }),
  );
  withClientOptions(
    users
      .command("add")
      .description("add a user; prints their first token (shown once)")
      .argument("<name>", "user name")
      .addOption(new Option("--role <role>", "their role: viewer reads, operator also commands, admin also manages users").choices(["viewer", "operator", "admin"]).makeOptionMandatory()),
  ).action(
    action(ctx, async (name: string, flags: AddFlags) => {
      if (!flags.role.trim()) throw new UsageError("--role is empty");
      const body = await makeClient(flags, io).post<Record<string, unknown>>("/api/users", { name, role: flags.role });
      if (flags.json) printJson(io, body);
      else {
        const token = tokenOf(body);
        io.out(`added ${name} (${flags.role})${token ? `\ntoken: ${token}\n(shown once: give it to ${name}; they pass it with --token or UMBRA_TOKEN)` : ""}`);
      }
      return EXIT_OK;
    }),
  );
  withClientOptions(users.command("token").description("make a new token for a user (shown once)").argument("<name>", "user name")).action(
    action(ctx, async (name: string, flags: ClientFlags) => {
      const body = await makeClient(flags, io).post<Record<string, unknown>>(`/api/users/${encodeURIComponent(name)}/tokens`, {});
      if (flags.json) printJson(io, body);
      else io.out(`token for ${name}: ${tokenOf(body) ?? JSON.stringify(body)}\n(shown once)`);
      return EXIT_OK;
    }),
  );
  withClientOptions(users.command("remove").description("remove a user and revoke their tokens").argument("<name>", "user name")).action(
    action(ctx, async (name: string, flags: ClientFlags) => {
      await makeClient(flags, io).delete<unknown>(`/api/users/${encodeURIComponent(name)}`);
      if (flags.json) printJson(io, { removed: name });
      else io.out(`removed ${name}`);
      return EXIT_OK;
    }),
  );
}
