// umbra jobs: the job runner's queue through the gateway.
import type { Command } from "commander";
import type { JobJson } from "../client/types.js";
import { EXIT_OK } from "../errors.js";
import { formatJobReport, formatJobs } from "../format.js";
import { parsePositiveInt } from "../time.js";
import { action, makeClient, printJson, withClientOptions, type ClientFlags, type CommandContext } from "./common.js";

interface ListFlags extends ClientFlags {
  state?: string;
  tenant?: string;
  limit?: string;
}

/** The list out of the gateway's answer: { jobs: [...] } or a bare array. */
export function jobsOf(body: unknown): JobJson[] {
  if (Array.isArray(body)) return body as JobJson[];
  const jobs = (body as { jobs?: unknown } | null)?.jobs;
  return Array.isArray(jobs) ? (jobs as JobJson[]) : [];
}

export function registerJobs(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const jobs = program
    .command("jobs")
    .description("the job runner's jobs: list them (default) or show one")
    .addHelpText(
      "after",
      `
Examples:
  umbra jobs
  umbra jobs list --state running --tenant demo
  umbra jobs show cls-lz3k2`,
    );
  withClientOptions(
    jobs
      .command("list", { isDefault: true })
      .description("list jobs")
      .option("--state <states>", "only jobs in these states, comma-separated (queued, admitted, running, paused, done, failed, cancelled, expired)")
      .option("--tenant <name>", "only this tenant's jobs")
      .option("--limit <n>", "at most this many jobs"),
  ).action(
    action(ctx, async (flags: ListFlags) => {
      const client = makeClient(flags, io);
      const limit = flags.limit === undefined ? undefined : parsePositiveInt(flags.limit, "--limit", 100_000);
      const body = await client.get<unknown>("/api/jobs", { state: flags.state, tenant: flags.tenant, limit });
      if (flags.json) printJson(io, body);
      else io.out(formatJobs(jobsOf(body)));
      return EXIT_OK;
    }),
  );
  withClientOptions(jobs.command("show").description("one job, every field").argument("<id>", "the job's id")).action(
    action(ctx, async (id: string, flags: ClientFlags) => {
      const client = makeClient(flags, io);
      const body = await client.get<Record<string, unknown>>(`/api/jobs/${encodeURIComponent(id)}`);
      if (flags.json) printJson(io, body);
      else io.out(formatJobReport(body));
      return EXIT_OK;
    }),
  );
}
