// umbra commands: the gateway's command history (what was sent, by whom, how it ended).
import type { Command } from "commander";
import type { CommandRecord } from "../client/types.js";
import { EXIT_OK } from "../errors.js";
import { formatCommand, formatCommandList } from "../format.js";
import { parsePositiveInt } from "../time.js";
import { action, makeClient, printJson, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

interface ListFlags extends ClientFlags {
  limit?: string;
  before?: string;
}

function commandsOf(body: unknown): CommandRecord[] {
  if (Array.isArray(body)) return body as CommandRecord[];
  const list = (body as { commands?: unknown } | null)?.commands;
  return Array.isArray(list) ? (list as CommandRecord[]) : [];
}

export function registerCommandHistory(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const commands = program.command("commands").description("the command history: list the commands sent through the gateway (default) or show one with its stages");
  withClientOptions(
    commands
      .command("list", { isDefault: true })
      .description("the newest commands first")
      .option("--limit <n>", "at most this many")
      .option("--before <id>", "only commands older than this id (paging)"),
  ).action(
    action(ctx, async (flags: ListFlags) => {
      const limit = flags.limit === undefined ? undefined : parsePositiveInt(flags.limit, "--limit");
      const body = await makeClient(flags, io).get<unknown>("/api/commands", { limit, before: flags.before });
      if (flags.json) printJson(io, body);
      else io.out(formatCommandList(commandsOf(body)));
      return EXIT_OK;
    }),
  );
  withClientOptions(commands.command("show").description("one command with its verification stages").argument("<id>", "the command's id (umbra send prints it)")).action(
    action(ctx, async (id: string, flags: ClientFlags) => {
      const r = await makeClient(flags, io).get<CommandRecord>(`/api/commands/${encodeURIComponent(id)}`);
      if (flags.json) printJson(io, r);
      else io.out(formatCommand(r));
      return EXIT_OK;
    }),
  );
}
