// umbra send <service>.<command> [key=value ...]: types the arguments from
// the dictionary, arms a critical command if asked, sends it through the
// gateway and prints each verification stage as it arrives.
import type { Command } from "commander";
import { FINAL_STATES, type CommandRecord, type DictionaryJson } from "../client/types.js";
import { GatewayError, type GatewayClient } from "../client/http.js";
import { coerceArguments } from "../coerce.js";
import { CliError, EXIT_FAILURE, EXIT_OK } from "../errors.js";
import { formatCommandHeader, formatCommandOutcome, formatStage } from "../format.js";
import { findCommand } from "../target.js";
import { parsePositiveInt } from "../time.js";
import { action, makeClient, printJson, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

interface SendFlags extends ClientFlags {
  args?: string;
  arm?: boolean;
  yes?: boolean;
  wait: boolean;
  timeout: string;
}

const POLL_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the command until it ends or `timeoutMs` passes; `onStage` gets each stage once, in order. */
export async function followCommand(client: GatewayClient, first: CommandRecord, timeoutMs: number, onStage: (i: number, r: CommandRecord) => void): Promise<{ record: CommandRecord; timedOut: boolean }> {
  let record = first;
  let shown = 0;
  const show = () => {
    while (shown < record.stages.length) onStage(shown++, record);
  };
  show();
  const end = Date.now() + timeoutMs;
  while (!FINAL_STATES.has(record.state)) {
    if (Date.now() > end) return { record, timedOut: true };
    await sleep(POLL_MS);
    record = await client.get<CommandRecord>(`/api/commands/${encodeURIComponent(String(first.id))}`);
    show();
  }
  return { record, timedOut: false };
}

export function registerSend(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  withClientOptions(
    program
      .command("send")
      .description("send a telecommand through the gateway and print its verification stages as they arrive")
      .argument("<service.command>", "the command, e.g. counter.add (see umbra dict)")
      .argument("[key=value...]", "arguments, typed from the dictionary (numbers, true/false, strings; 64-bit integers kept exact; lists as a,b,c; nested fields as a.b=v)")
      .option("--args <json>", "arguments as one JSON object, e.g. '{\"amount\": 5}' (key=value pairs override its fields)")
      .option("--arm", "arm a critical command first (asks for confirmation on a terminal)")
      .option("-y, --yes", "do not ask before arming")
      .option("--no-wait", "return once the gateway sent it, without waiting for completion")
      .option("--timeout <seconds>", "how long to wait for completion", "60"),
  )
    .addHelpText(
      "after",
      `
Examples:
  umbra send counter.add amount=5
  umbra send counter.add --args '{"amount": 5}' --json
  umbra send counter.reset --arm --yes
  umbra send jobs.submit jobId=j1 tenant=demo model=tiny-cls inputFolder=/data/tiles output.summary=class_counts

Exit status: 0 completed, 1 failed, timed out or refused by the gateway, 2 bad arguments (nothing sent).`,
    )
    .action(
      action(ctx, async (target: string, pairs: string[], flags: SendFlags) => {
      const timeoutMs = parsePositiveInt(flags.timeout, "--timeout", 86_400) * 1000;
      const client = makeClient(flags, io);
      const dict = await client.get<DictionaryJson>("/api/dictionary");
      const { service, command } = findCommand(dict, target);
      const what = `${service.name}.${command.name}`;
      const args = coerceArguments(command.arguments, pairs, flags.args, what);

      if (flags.arm) {
        if (!command.critical) io.err(`${what} is not critical: it needs no arming (--arm ignored)`);
        else {
          if (io.interactive && !flags.yes && !(await io.confirm(`${what} is a critical command. Arm it and send it with ${JSON.stringify(args)}?`))) {
            throw new CliError(`${what} not armed, not sent`, EXIT_FAILURE);
          }
          const armed = await client.post<Record<string, unknown>>("/api/commands/arm", { service: service.name, command: command.name });
          if (!flags.json) io.err(`armed ${what}${typeof armed["armedUntil"] === "string" ? ` until ${armed["armedUntil"]}` : ""} (arm command ${String(armed["id"])})`);
        }
      }

      let record: CommandRecord;
      try {
        record = await client.post<CommandRecord>("/api/commands", { service: service.name, command: command.name, args }, { wait: "none" });
      } catch (err) {
        if (err instanceof GatewayError && err.status === 409 && err.code === "not_armed") {
          const reason = err.message.replace(/: arm it first with POST \/api\/commands\/arm$/, "");
          throw new CliError(`${reason}: add --arm to arm it and send it (umbra send ${what} --arm); nothing was sent`, EXIT_FAILURE);
        }
        throw err;
      }
      if (!flags.wait) {
        if (flags.json) printJson(io, record);
        else io.out(`${formatCommandHeader(record)}\nnot waiting: umbra commands show ${record.id}`);
        return EXIT_OK;
      }
      if (!flags.json) io.out(formatCommandHeader(record));
      const { record: final, timedOut } = await followCommand(client, record, timeoutMs, (i, r) => {
        if (!flags.json) io.out(formatStage(r.stages[i]!));
      });
      if (flags.json) printJson(io, timedOut ? { ...final, waitTimedOut: true } : final);
      else if (timedOut) io.out(`no completion within ${timeoutMs / 1000} s (state ${final.state}); follow it with umbra commands show ${final.id}`);
      else io.out(formatCommandOutcome(final));
      return !timedOut && final.state === "completed" ? EXIT_OK : EXIT_FAILURE;
      }),
    );
}

