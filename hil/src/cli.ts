#!/usr/bin/env node
// umbra-hil: runs HIL scenarios in fast time and writes their reports.
// (`umbra hil run` in the umbra CLI calls the same code once the CLI exists.)
import { Command, InvalidArgumentError } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Bus, BusClient, BusServer, RealClock, SimClock, createLogger, formatEndpoint, parseEndpoint, type Endpoint } from "@umbra/core";
import { loadScenario, ScenarioError } from "./scenario/load.js";
import { HIL_NODE, HilRun } from "./engine/run.js";
import { loadReplayLog, ReplayError } from "./engine/replay.js";
import { writeReport } from "./report/report.js";
import { CAMPAIGN_MODES, FAULT_KINDS, formatCampaign, runCampaign, type CampaignMode, type FaultKind } from "./campaign/campaign.js";
import { startInferenceProcess } from "./campaign/service-process.js";

function parseSpeed(value: string): number | "max" {
  if (value === "max") return "max";
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number of simulated seconds per second, or "max"');
  return n;
}

function parseEndpointOption(value: string): Endpoint {
  try {
    return parseEndpoint(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError("expected a positive number of seconds");
  return n;
}

interface RunOptions {
  out: string;
  speed: number | "max";
  listen?: Endpoint;
  connect?: Endpoint;
  connectTimeout: number;
  tones?: boolean;
  replay?: string;
  progress: boolean;
  json?: boolean;
}

const program = new Command();
program.name("umbra-hil").description("Hardware-in-the-loop environment: orbit, power, thermal and radiation, with fault injection").showHelpAfterError();

program
  .command("run")
  .description("run a scenario and write its report (JSON and HTML)")
  .argument("<scenario>", "scenario file (YAML)")
  .option("-o, --out <dir>", "folder for the report", "hil-reports")
  .option("--speed <x>", 'simulated seconds per wall second, or "max"', parseSpeed, "max" as number | "max")
  .option("--listen <endpoint>", "serve the HIL bus on unix:<path> or tcp:<host>:<port> so services on a board can join", parseEndpointOption)
  .option("--connect <endpoint>", "join an existing bus hub on unix:<path> or tcp:<host>:<port> as a client (reconnecting if it goes away) instead of serving one", parseEndpointOption)
  .option("--connect-timeout <s>", "with --connect: how long to wait for the hub at the start", positiveSeconds, 10)
  .option("--tones", "publish umbra.core.v1.TimeTone every simulated second (default with --connect or --listen)")
  .option("--no-tones", "publish no time tones")
  .option("--replay <report.json>", "apply exactly the faults logged in an earlier run's report instead of the schedule and radiation draws")
  .option("--no-progress", "do not draw a progress bar")
  .option("--json", "print the summary as JSON")
  .action(async (file: string, opts: RunOptions) => {
    if (opts.listen && opts.connect) throw new InvalidArgumentError("give --listen or --connect, not both");
    const scenario = await loadScenario(file);
    const replay = opts.replay ? await loadReplayLog(opts.replay) : undefined;
    if (replay && replay.scenario !== scenario.name) {
      process.stderr.write(`warning: ${opts.replay} was recorded for scenario ${JSON.stringify(replay.scenario)}, not ${JSON.stringify(scenario.name)}\n`);
    }
    // Logs go to stderr: stdout is the summary (JSON with --json) that scripts read.
    const logger = createLogger({ name: "hil", level: process.env["UMBRA_LOG_LEVEL"] ?? "warn", destination: process.stderr });
    const bar = opts.progress && process.stderr.isTTY ? new SingleBar({ format: "{bar} {percentage}% | {value}/{total} h simulated | ETA {eta}s", hideCursor: true }, Presets.shades_classic) : undefined;
    const total = +(scenario.duration / 3600).toFixed(2);
    bar?.start(total, 0);
    let lastHour = -1;
    // Joined to a hub (the payload's supervisor hosts it), the HIL is one bus node among the payload's processes.
    const clock = new SimClock({ startUtcMs: scenario.epoch });
    const bus = new Bus({ node: HIL_NODE, clock, logger, queueCapacity: 8192 });
    let client: BusClient | undefined;
    if (opts.connect) {
      try {
        client = await BusClient.connect(bus, opts.connect, { timeoutMs: opts.connectTimeout * 1000 });
      } catch (err) {
        bus.close();
        throw err;
      }
      process.stderr.write(`HIL joined the bus hub at ${formatEndpoint(opts.connect)}\n`);
    }
    const tones = opts.tones ?? (opts.connect !== undefined || opts.listen !== undefined);
    const link = client;
    const run = new HilRun({
      scenario,
      scenarioFile: resolve(file),
      speed: opts.speed,
      logger,
      bus,
      clock,
      toneIntervalMs: tones ? 1000 : 0,
      ...(link ? { canSendTone: () => link.connected } : {}),
      ...(replay ? { replay } : {}),
      onProgress: (t) => {
        const h = Math.floor(t / 360) / 10;
        if (h !== lastHour) {
          lastHour = h;
          bar?.update(h);
        }
      },
    });
    let server: BusServer | undefined;
    try {
      server = opts.listen ? await BusServer.listen(bus, opts.listen) : undefined;
    } catch (err) {
      await client?.close();
      bus.close();
      throw err;
    }
    if (server) process.stderr.write(`HIL bus listening on ${formatEndpoint(server.endpoint)}\n`);
    // SIGTERM (the launcher stopping the stack) and Ctrl-C end the run at its next tone or step, and the report is
    // still written; a second one of either kills the process.
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`${signal}: stopping the HIL run and writing its report\n`);
      run.stop();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    // The hub may go away (the payload reset, the supervisor restarted): the run goes on and the client reconnects.
    let wasConnected = client?.connected ?? false;
    const watch = client
      ? setInterval(() => {
          if (client.connected === wasConnected) return;
          wasConnected = client.connected;
          process.stderr.write(wasConnected ? `HIL rejoined the bus hub at ${formatEndpoint(client.endpoint)}\n` : `HIL lost the bus hub (${client.link.lastError || "closed"}); reconnecting, the run goes on\n`);
        }, 250)
      : undefined;
    watch?.unref();
    let report;
    try {
      report = await run.run();
    } finally {
      if (watch) clearInterval(watch);
      bar?.update(total);
      bar?.stop();
      await server?.close();
      // A hub that is down cannot take what is still queued: give it a moment, not forever.
      if (client) await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
      bus.close();
    }
    const paths = await writeReport(report, opts.out);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ summary: report.summary, run: report.run, report: paths }) + "\n");
      return;
    }
    const lines = Object.entries(report.summary).map(([k, v]) => `  ${k.padEnd(18)} ${v}`);
    process.stdout.write(
      `${scenario.name}: ${(scenario.duration / 3600).toFixed(1)} h simulated in ${report.run.wallSeconds.toFixed(2)} s (x${Math.round(report.run.simulatedToWallRatio)})\n${lines.join("\n")}\nreport: ${paths.html}\n        ${paths.json}\n`,
    );
  });

program
  .command("validate")
  .description("check scenario files and print what is wrong with each")
  .argument("<scenario...>", "scenario files")
  .action(async (files: string[]) => {
    let bad = 0;
    for (const f of files) {
      try {
        const s = await loadScenario(f);
        process.stdout.write(`${f}: ok (${s.name}, ${(s.duration / 3600).toFixed(1)} h, step ${s.step} s, ${s.faults.length} scheduled faults)\n`);
      } catch (err) {
        bad++;
        process.stderr.write(`${(err as Error).message}\n`);
      }
    }
    if (bad) process.exitCode = 2;
  });

function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    const items = value.split(",").map((v) => v.trim()).filter(Boolean);
    const bad = items.filter((v) => !allowed.includes(v as T));
    if (items.length === 0 || bad.length > 0) throw new InvalidArgumentError(`${what} must be a comma-separated list of ${allowed.join(", ")}${bad.length ? ` (not ${bad.join(", ")})` : ""}`);
    return items as T[];
  };
}

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected an integer in 1..${max}`);
    return n;
  };
}

program
  .command("campaign")
  .description("inject faults into a real model under each protection mode and report SDC, detected and corrected rates")
  .option("--model <id>", "model to hit (a shipped model id, or any model the service has loaded)", "ocr-cls")
  .option("-n, --faults <n>", "faults per mode", positiveInt(1_000_000), 200)
  .option("--seed <n>", "random seed (same seed, same faults)", positiveInt(2 ** 31), 1)
  .option("--modes <list>", `protection modes (${CAMPAIGN_MODES.join(",")})`, listOf(CAMPAIGN_MODES, "--modes"), [...CAMPAIGN_MODES] as CampaignMode[])
  .option("--kinds <list>", `fault kinds (${FAULT_KINDS.join(",")})`, listOf(FAULT_KINDS, "--kinds"), [...FAULT_KINDS] as FaultKind[])
  .option("--bus <endpoint>", "use the inference service of a running stack on unix:<path> or tcp:<host>:<port> instead of starting one")
  .option("--service-main <file>", "the inference service's main script, started when --bus is not given", resolve(import.meta.dirname, "../../packages/inference/dist/main.js"))
  .option("-o, --out <dir>", "folder for the JSON report", "hil-reports")
  .option("--no-progress", "do not draw a progress bar")
  .option("--json", "print the report's tallies as JSON")
  .action(async (opts: { model: string; faults: number; seed: number; modes: CampaignMode[]; kinds: FaultKind[]; bus?: string; serviceMain: string; out: string; progress: boolean; json?: boolean }) => {
    const logger = createLogger({ name: "hil-campaign", level: process.env["UMBRA_LOG_LEVEL"] ?? "warn" });
    const clock = new RealClock();
    const bus = new Bus({ node: `hil-campaign-${process.pid}`, clock, logger });
    let client: BusClient | undefined;
    let started: Awaited<ReturnType<typeof startInferenceProcess>> | undefined;
    try {
      if (opts.bus) {
        client = BusClient.start(bus, parseEndpoint(opts.bus));
        await client.waitConnected(10_000);
        await client.link.whenSynced(5000);
      } else {
        started = await startInferenceProcess(bus, { main: opts.serviceMain, model: opts.model, logger });
      }
      const bar = opts.progress && process.stderr.isTTY ? new SingleBar({ format: "{bar} {percentage}% | {value}/{total} faults | ETA {eta}s", hideCursor: true }, Presets.shades_classic) : undefined;
      bar?.start(opts.faults * opts.modes.length, 0);
      const report = await runCampaign({ bus, model: opts.model, faults: opts.faults, seed: opts.seed, modes: opts.modes, kinds: opts.kinds, onTrial: (done) => bar?.update(done) });
      bar?.stop();
      await mkdir(opts.out, { recursive: true });
      const file = join(opts.out, `campaign-${opts.model}-seed${opts.seed}.json`);
      await writeFile(file, JSON.stringify(report, null, 2) + "\n");
      if (opts.json) process.stdout.write(JSON.stringify({ model: report.model, byMode: report.byMode, byModeAndKind: report.byModeAndKind, report: file }) + "\n");
      else process.stdout.write(`${formatCampaign(report)}\n${report.trials.length} faults in ${report.wallSeconds.toFixed(1)} s\nreport: ${file}\n`);
    } finally {
      await started?.stop();
      await client?.close();
      bus.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof ScenarioError || err instanceof ReplayError ? 2 : 1;
});
