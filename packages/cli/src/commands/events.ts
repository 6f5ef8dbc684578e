// umbra events: the archive's events (filtered), or follow them live.
import type { Command } from "commander";
import type { EventJson } from "../client/types.js";
import { followStream } from "../client/stream.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { formatEventLine, formatEvents } from "../format.js";
import { parsePositiveInt, parseRange } from "../time.js";
import { action, makeClient, printJson, printJsonLine, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

export const SEVERITIES = ["info", "low", "medium", "high"] as const;

interface EventsFlags extends ClientFlags {
  follow?: boolean;
  from?: string;
  to?: string;
  minSeverity?: string;
  service?: string;
  limit?: string;
}

export function checkSeverity(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const s = text.toLowerCase();
  if (!(SEVERITIES as readonly string[]).includes(s)) throw new UsageError(`--min-severity must be one of ${SEVERITIES.join(", ")}, got ${JSON.stringify(text)}`);
  return s;
}

const rank = (s: unknown) => (SEVERITIES as readonly string[]).indexOf(String(s).toLowerCase());

export function registerEvents(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  withClientOptions(
    program
      .command("events")
      .description("events from the TTC's archive (default: the last hour), or --follow them live")
      .option("-f, --follow", "follow new events live until Ctrl-C (--json: one JSON document per line)")
      .option("--from <time>", "from (ISO 8601, now, or an age such as 15m, 2h, 1d; default an hour before --to)")
      .option("--to <time>", "to (same forms)")
      .option("--min-severity <level>", `only this severity and above (${SEVERITIES.join(", ")})`)
      .option("--service <name>", "only this service's events")
      .option("--limit <n>", "at most this many events"),
  )
    .addHelpText(
      "after",
      `
Examples:
  umbra events
  umbra events --from 2h --min-severity medium --service inference
  umbra events --follow`,
    )
    .action(
      action(ctx, async (flags: EventsFlags) => {
        const minSeverity = checkSeverity(flags.minSeverity);
        const { fromMs, toMs } = parseRange(flags.from, flags.to, io.now());
        const limit = flags.limit === undefined ? undefined : parsePositiveInt(flags.limit, "--limit");
        const client = makeClient(flags, io);
        if (flags.follow) {
          if (fromMs !== undefined || toMs !== undefined) throw new UsageError("--follow shows new events as they come; --from/--to are for the archive (drop --follow)");
          const keep = (e: EventJson) => (!flags.service || e.service === flags.service) && (!minSeverity || rank(e.severity) >= rank(minSeverity));
          await followStream(
            client,
            { telemetry: [], events: true, verifications: false },
            (m) => {
              if (m.type !== "event") return;
              const e = (m["event"] as EventJson | undefined) ?? (m as EventJson);
              if (!keep(e)) return;
              if (flags.json) printJsonLine(io, e);
              else io.out(formatEventLine(e));
            },
            { signal: io.interrupt(), onOpen: () => (flags.json ? undefined : io.err(`following events on ${client.baseUrl} (Ctrl-C to stop)`)) },
          );
          return EXIT_OK;
        }
        const query = {
          from: fromMs === undefined ? undefined : new Date(fromMs).toISOString(),
          to: toMs === undefined ? undefined : new Date(toMs).toISOString(),
          minSeverity,
          service: flags.service,
          limit,
        };
        const result = await client.get<{ events: EventJson[]; truncated?: boolean }>("/api/events", query);
        if (flags.json) printJson(io, result);
        else io.out(formatEvents(result.events, result.truncated));
        return EXIT_OK;
      }),
    );
}
