// The umbra command: builds the commander program and runs it, turning every
// failure into a message that says what to do and an exit status (0 ok, 1
// failed, 2 bad usage).
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "./errors.js";
import { processIo, type Io } from "./io.js";
import type { CommandContext } from "./commands/common.js";
import { registerBundle } from "./commands/bundle.js";
import { registerDict } from "./commands/dict.js";
import { registerEvents } from "./commands/events.js";
import { registerHealth } from "./commands/health.js";
import { HIL_DESCRIPTION, runHil } from "./commands/hil.js";
import { registerCommandHistory } from "./commands/history.js";
import { registerJobs } from "./commands/jobs.js";
import { registerSend } from "./commands/send.js";
import { registerStart } from "./commands/start.js";
import { registerStatus } from "./commands/status.js";
import { registerTm } from "./commands/tm.js";
import { registerUsers } from "./commands/users.js";

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export function buildProgram(ctx: CommandContext): Command {
  const { io } = ctx;
  const program = new Command();
  program
    .name("umbra")
    .description("Umbra flight software: run the payload stack, send telecommands, follow telemetry and events, jobs, HIL runs, the dictionary")
    .version(version(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      `
Client commands talk to the gateway: --gateway <url> or UMBRA_GATEWAY (default http://127.0.0.1:8080),
--token <token> or UMBRA_TOKEN (default: the admin token umbra start writes to .umbra/data/gateway/admin-token).
Every command takes --help; client commands take --json for scripts.
Exit status: 0 ok, 1 failed (command failed or timed out, gateway error), 2 bad usage (nothing was sent).`,
    );
  registerStart(program, ctx);
  registerSend(program, ctx);
  registerTm(program, ctx);
  registerEvents(program, ctx);
  registerJobs(program, ctx);
  registerDict(program, ctx);
  registerCommandHistory(program, ctx);
  registerStatus(program, ctx);
  registerHealth(program, ctx);
  registerUsers(program, ctx);
  registerBundle(program, ctx);
  // Listed in the help; `umbra hil ...` is handed to umbra-hil before parsing (runCli).
  program.command("hil").description(HIL_DESCRIPTION).helpOption(false).allowUnknownOption().argument("[args...]");
  return program;
}

/** Runs the CLI with `argv` (the arguments after `umbra`); resolves with the exit status. */
export async function runCli(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    if (argv[0] === "hil") return await runHil(argv.slice(1));
    const ctx: CommandContext = { io, exitCode: 0 };
    await buildProgram(ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      return err.exitCode;
    }
    io.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT_FAILURE;
  }
}
