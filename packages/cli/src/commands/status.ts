// umbra status: is the gateway up, who am I, and what it reports of the payload.
import type { Command } from "commander";
import { EXIT_OK } from "../errors.js";
import { formatStatus } from "../format.js";
import { action, makeClient, printJson, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

export function registerStatus(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  withClientOptions(program.command("status").description("the gateway's health, who the token belongs to, and the payload's status")).action(
    action(ctx, async (flags: ClientFlags) => {
      const client = makeClient(flags, io);
      const [whoami, status] = await Promise.all([client.get<{ user: string; role: string }>("/api/whoami"), client.get<Record<string, unknown>>("/api/status")]);
      if (flags.json) printJson(io, { gateway: client.baseUrl, whoami, status });
      else io.out(`gateway ${client.baseUrl}: up; you are ${whoami.user} (${whoami.role})\n${formatStatus(status)}`);
      return EXIT_OK;
    }),
  );
}
