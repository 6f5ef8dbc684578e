// umbra tm: live telemetry over the WebSocket, the latest values, and the
// archive's history of one parameter.
import type { Command } from "commander";
import type { DictionaryJson, HistoryJson, LatestJson } from "../client/types.js";
import { followStream, type StreamMessage } from "../client/stream.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { formatHistory, formatLatest, formatSampleLine, unitsOf } from "../format.js";
import { splitTarget } from "../target.js";
import { parsePositiveInt, parseRange } from "../time.js";
import { action, makeClient, printJson, printJsonLine, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

export interface Sample {
  service: string;
  name: string;
  value: unknown;
  time?: unknown;
  missionTimeNs?: unknown;
}

/** The samples in one stream message: one sample, or a report with several. */
export function samplesOf(m: StreamMessage): Sample[] {
  const service = typeof m["service"] === "string" ? m["service"] : "?";
  const time = m["time"] ?? m["receivedAt"];
  if (Array.isArray(m["samples"])) {
    return (m["samples"] as Record<string, unknown>[]).map((s) => ({
      service,
      name: String(s["name"]),
      value: s["value"],
      time: s["time"] ?? time,
      missionTimeNs: s["missionTimeNs"] ?? m["missionTimeNs"],
    }));
  }
  if (typeof m["name"] === "string") return [{ service, name: m["name"], value: m["value"], time, missionTimeNs: m["missionTimeNs"] }];
  return [];
}

/** Telemetry patterns as the stream takes them: service.name, service.* or *. */
export function checkPatterns(patterns: readonly string[]): string[] {
  if (patterns.length === 0) return ["*"];
  for (const p of patterns) {
    if (p !== "*" && !/^[^.\s*]+\.([^.\s*]+|\*)$/.test(p)) throw new UsageError(`${JSON.stringify(p)}: name telemetry as service.name, service.* or *, e.g. counter.count`);
  }
  return [...patterns];
}

interface LiveFlags extends ClientFlags {
  count?: string;
}

interface HistoryFlags extends ClientFlags {
  from?: string;
  to?: string;
  limit?: string;
}

export function registerTm(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const tm = program
    .command("tm")
    .description("telemetry: follow it live (default), the latest value of every parameter, or one parameter's history")
    .addHelpText(
      "after",
      `
Examples:
  umbra tm                          every parameter, live, until Ctrl-C
  umbra tm counter.count thermal.*  some, live
  umbra tm --count 10 --json        ten samples as JSON lines
  umbra tm latest
  umbra tm history counter.count --from 1h --limit 100`,
    );

  withClientOptions(
    tm
      .command("live", { isDefault: true })
      .description("follow telemetry live over the WebSocket until Ctrl-C (--json: one JSON document per line)")
      .argument("[patterns...]", "service.name, service.* or * (default: everything)")
      .option("--count <n>", "stop after this many samples"),
  ).action(
    action(ctx, async (patterns: string[], flags: LiveFlags) => {
      const count = flags.count === undefined ? undefined : parsePositiveInt(flags.count, "--count");
      const telemetry = checkPatterns(patterns);
      const client = makeClient(flags, io);
      const units = flags.json ? new Map<string, string>() : unitsOf(await client.get<DictionaryJson>("/api/dictionary").catch(() => undefined));
      let seen = 0;
      await followStream(
        client,
        { telemetry, events: false, verifications: false },
        (m) => {
          if (m.type !== "telemetry") return;
          for (const s of samplesOf(m)) {
            if (flags.json) printJsonLine(io, s);
            else io.out(formatSampleLine(s.service, s.name, s.value, s, units.get(`${s.service}.${s.name}`)));
            if (count !== undefined && ++seen >= count) return "stop";
          }
        },
        { signal: io.interrupt(), onOpen: () => (flags.json ? undefined : io.err(`following ${telemetry.join(", ")} on ${client.baseUrl} (Ctrl-C to stop)`)) },
      );
      return EXIT_OK;
    }),
  );

  withClientOptions(tm.command("latest").description("the newest value of every telemetry parameter").argument("[service]", "only this service")).action(
    action(ctx, async (service: string | undefined, flags: ClientFlags) => {
      const client = makeClient(flags, io);
      let latest = await client.get<LatestJson>("/api/telemetry/latest");
      if (service) latest = Object.fromEntries(Object.entries(latest).filter(([k]) => k === service));
      if (flags.json) printJson(io, latest);
      else io.out(formatLatest(latest, unitsOf(await client.get<DictionaryJson>("/api/dictionary").catch(() => undefined))));
      return EXIT_OK;
    }),
  );

  withClientOptions(
    tm
      .command("history")
      .description("one parameter's values from the TTC's archive")
      .argument("<service.name>", "the parameter, e.g. counter.count")
      .option("--from <time>", "from (ISO 8601, now, or an age such as 15m, 2h, 1d)")
      .option("--to <time>", "to (same forms; default now)")
      .option("--limit <n>", "at most this many points"),
  ).action(
    action(ctx, async (target: string, flags: HistoryFlags) => {
      const { service, name } = splitTarget(target, "telemetry parameter");
      const { fromMs, toMs } = parseRange(flags.from, flags.to, io.now());
      const limit = flags.limit === undefined ? undefined : parsePositiveInt(flags.limit, "--limit");
      const client = makeClient(flags, io);
      const h = await client.get<HistoryJson>(`/api/telemetry/${encodeURIComponent(service)}/${encodeURIComponent(name)}`, {
        from: fromMs === undefined ? undefined : new Date(fromMs).toISOString(),
        to: toMs === undefined ? undefined : new Date(toMs).toISOString(),
        limit,
      });
      if (flags.json) printJson(io, h);
      else io.out(formatHistory(h, unitsOf(await client.get<DictionaryJson>("/api/dictionary").catch(() => undefined)).get(target)));
      return EXIT_OK;
    }),
  );
}
