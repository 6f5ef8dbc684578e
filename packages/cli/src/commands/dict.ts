// umbra dict: the mission dictionary (commands with their arguments,
// telemetry with units and limits, events, parameters), and its XTCE export.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { DictionaryJson } from "../client/types.js";
import { CliError, EXIT_OK } from "../errors.js";
import { formatDictionary, formatService } from "../format.js";
import { findService } from "../target.js";
import { action, makeClient, printJson, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

interface DictFlags extends ClientFlags {
  xtce?: string;
}

export function registerDict(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  withClientOptions(
    program
      .command("dict")
      .description("the mission dictionary: each service's commands (arguments with types and ranges), telemetry (units, limits), events and parameters")
      .argument("[service]", "only this service")
      .option("--xtce <file>", "write the dictionary as XTCE XML to this file (- for standard output)"),
  )
    .addHelpText(
      "after",
      `
Examples:
  umbra dict
  umbra dict counter
  umbra dict --xtce umbra.xtce.xml`,
    )
    .action(
      action(ctx, async (service: string | undefined, flags: DictFlags) => {
        const client = makeClient(flags, io);
        if (flags.xtce !== undefined) {
          const xml = await client.text("/api/dictionary/xtce", "application/xml");
          if (flags.xtce === "-") io.out(xml.trimEnd());
          else {
            try {
              writeFileSync(flags.xtce, xml);
            } catch (err) {
              throw new CliError(`cannot write ${flags.xtce}: ${err instanceof Error ? err.message : String(err)}`);
            }
            if (flags.json) printJson(io, { xtce: flags.xtce, bytes: Buffer.byteLength(xml) });
            else io.out(`wrote the XTCE dictionary (${Buffer.byteLength(xml)} bytes) to ${flags.xtce}`);
          }
          return EXIT_OK;
        }
        const dict = await client.get<DictionaryJson>("/api/dictionary");
        const shown: DictionaryJson = service ? { services: [findService(dict, service)] } : dict;
        if (flags.json) printJson(io, shown);
        else io.out(service ? formatService(shown.services[0]!) : formatDictionary(shown));
        return EXIT_OK;
      }),
    );
}
