// `umbra start`: the payload on this machine, as a bench or a board runs it.
// It reads the payload configuration, makes development keys if none exist,
// and then plays the part of the board: it powers on the supervisor (which
// hosts the bus hub and runs every service in its own process) and powers it
// on again after a reset. With --platform hil it also starts the HIL
// environment as its own process, joined to the hub: the orbit, power,
// thermal and radiation the payload lives in, and the clock it runs on. It
// joins the hub itself as the ground: it prints where the gateway listens and
// a running status line, submits a workload of inference jobs by
// telecommand, and at the end prints a summary.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadKeyFile } from "@umbra/ccsds";
import { Bus, BusClient, RealClock, createLogger, parseEndpoint } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { ConfigError, DEFAULT_CONFIG_FILE, applyOverrides, defaultPayloadConfig, gatewayStatusFile, loadPayloadConfig, payloadConfigYaml, type PayloadConfig } from "@umbra/supervisor";
import { CliError, EXIT_USAGE } from "../errors.js";
import type { Io } from "../io.js";
import { Board, killGroup } from "./board.js";
import type { StackContext } from "./context.js";
import { runDemo } from "./demo.js";
import { Ground } from "./ground.js";
import { ensureDevelopmentKeys, gatewayKeyProblem } from "./keys.js";
import { emptyObservation, observeEnvironment, observeSupervisor, observeTelemetry, statusLine } from "./observe.js";
import { DEMO_SPI, type StartRequest } from "./options.js";
import { describeMissing, missingLinuxPrerequisites, type FsProbe } from "./services.js";
import { buildSummary, jobsTally, summaryText, type HilReportExtract } from "./summary.js";
import { runJobs } from "./workload.js";

const nodeProbe: FsProbe = {
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return undefined;
    }
  },
  exists: (path) => existsSync(path),
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Path flags resolved against the directory the command runs in, whatever the configuration's own base. */
export function pathOverridesFrom(overrides: StartRequest["overrides"], cwd: string): StartRequest["overrides"] {
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  return {
    ...overrides,
    paths: overrides.paths && { data: abs(overrides.paths.data), keys: abs(overrides.paths.keys), reports: abs(overrides.paths.reports) },
    bus: overrides.bus && { ...overrides.bus, socket: abs(overrides.bus.socket) },
    hil: overrides.hil && { ...overrides.hil, scenario: abs(overrides.hil.scenario) },
  };
}

/**
 * The configuration: --config, else config/umbra.yaml under the working
 * directory or the workspace, else the defaults; flags over it. Relative paths
 * in a --config file or one in the working directory resolve against the
 * working directory; in the workspace's own file found from elsewhere, against
 * the workspace, so `umbra start` works from any folder (its scenario and its
 * state are the workspace's).
 */
export async function resolveConfig(request: StartRequest, cwd: string, root: string): Promise<PayloadConfig> {
  try {
    const overrides = pathOverridesFrom(request.overrides, cwd);
    if (request.configFile !== undefined) return await loadPayloadConfig(request.configFile, { cwd, overrides });
    const here = join(cwd, DEFAULT_CONFIG_FILE);
    if (existsSync(here)) return await loadPayloadConfig(here, { cwd, overrides });
    const workspace = join(root, DEFAULT_CONFIG_FILE);
    if (existsSync(workspace)) return await loadPayloadConfig(workspace, { cwd: root, overrides });
    return applyOverrides(defaultPayloadConfig({ cwd }), overrides, { cwd });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

/** Runs the payload until Ctrl-C, --duration or the scenario's end; resolves with the exit status. */
export async function runPayload(request: StartRequest, root: string, io: Io, probe: FsProbe = nodeProbe): Promise<number> {
  const config = await resolveConfig(request, io.cwd, root);
  const logger = createLogger({ name: "umbra", level: process.env["UMBRA_LOG_LEVEL"] ?? (request.verbose ? "info" : "warn") });
  const say = (line: string) => io.out(line);

  if (config.platform === "linux") {
    const missing = missingLinuxPrerequisites(probe);
    if (missing.some((m) => m.required)) throw new CliError(describeMissing(missing), EXIT_USAGE);
    for (const m of missing) say(`warning: ${m.path}: ${m.what} (${m.services.join(", ")})`);
  }
  if (ensureDevelopmentKeys(config.paths.keys, config.gateway.spi)) say(`made a development key file ${config.paths.keys} (SPI ${DEMO_SPI} and ${config.gateway.spi}); replace it with the mission's keys`);
  let keys;
  try {
    keys = await loadKeyFile(config.paths.keys);
  } catch (err) {
    throw new CliError(message(err), EXIT_USAGE);
  }
  if (config.services.gateway.enabled) {
    const problem = gatewayKeyProblem(keys, config.gateway.spi, config.paths.keys);
    if (problem) throw new CliError(problem, EXIT_USAGE);
  }

  // What the supervisor reads: this configuration with the flags applied, written out whole.
  const logs = join(config.paths.run, "logs");
  for (const dir of [config.paths.run, config.paths.data, config.paths.reports, logs]) mkdirSync(dir, { recursive: true });
  const effective = join(config.paths.run, "payload.yaml");
  writeFileSync(effective, payloadConfigYaml(config, `Written by umbra start from ${config.source} and its flags; the supervisor reads this.`));
  rmSync(gatewayStatusFile(config), { force: true });

  const output = (name: string) => (request.verbose ? ("inherit" as const) : openSync(join(logs, `${name}.log`), "a"));
  say(`umbra: ${config.platform === "hil" ? `HIL scenario ${config.hil.scenario} at ${config.hil.speed}× speed` : "linux platform"}; configuration ${config.source}`);
  if (!request.verbose) say(`umbra: the payload's logs are in ${logs}/`);

  // The board: power the supervisor on, and on again after each reset.
  let stopping = false;
  const board = new Board(
    { argv: [join(root, "packages/supervisor/dist/main.js"), "--config", effective, "--root", root], stdio: output("payload") },
    {
      poweredOn: (pid, n) => logger.info({ pid, powerOn: n }, "payload powered on"),
      reset: (how, ms) => say(`umbra: payload reset (${how}); powering on again in ${ms / 1000} s`),
      gaveUp: (how) => {
        say(`umbra: the payload keeps exiting at once (${how}); giving up`);
        void shutdown(1);
      },
    },
  );
  if (!existsSync(join(root, "packages/supervisor/dist/main.js"))) throw new CliError("the supervisor is not built: run pnpm build", EXIT_USAGE);
  board.powerOn();
  process.once("exit", () => {
    board.kill();
    if (hil?.pid) killGroup(hil.pid, "SIGKILL");
  });

  // The environment: its own process, joined to the hub (it reconnects across the payload's resets).
  let hil: ChildProcess | undefined;
  let hilExit: Promise<number | null> = Promise.resolve(null);
  if (config.platform === "hil") {
    const script = join(root, "hil/dist/cli.js");
    hil = spawn(
      process.execPath,
      [script, "run", config.hil.scenario, "--connect", `unix:${config.bus.socket}`, "--speed", String(config.hil.speed), "--out", config.paths.reports, "--no-progress", "--json"],
      { detached: true, stdio: ["ignore", output("hil"), output("hil")] },
    );
    hilExit = new Promise((resolve) => hil!.once("exit", (code) => resolve(code)));
    void hilExit.then((code) => {
      if (stopping) return;
      say(code === 0 ? "umbra: the HIL scenario has ended" : `umbra: the HIL environment exited (code ${code}); stopping`);
      void shutdown(code === 0 ? 0 : 1);
    });
  }

  // The launcher's own node: the ground.
  const clock = new RealClock();
  const bus = new Bus({ node: `launcher-${process.pid}`, clock, logger, queueCapacity: 8192 });
  const client = BusClient.start(bus, parseEndpoint(`unix:${config.bus.socket}`));
  const observed = emptyObservation();
  const declared = new Set<string>();
  bus.subscribe(umbra.hil.v1.EnvironmentSample, (e) => observeEnvironment(observed, e));
  bus.subscribe(umbra.supervisor.v1.SupervisorStatus, (s) => observeSupervisor(observed, s));
  bus.subscribe(umbra.core.v1.TelemetryReport, (r) => observeTelemetry(observed, r));
  bus.subscribe(umbra.core.v1.ServiceDeclaration, (d) => void declared.add(d.name));
  bus.subscribe(umbra.core.v1.Event, (e) => {
    // What an operator would want to see at once; everything else is in the archive.
    if (e.service === "supervisor" || e.severity >= umbra.core.v1.Severity.SEVERITY_HIGH) say(`event ${e.service}.${e.name}: ${e.message}`);
  });

  const ctx: StackContext = {
    options: { data: config.paths.data, models: config.inference.models },
    logger,
    hub: bus,
    ground: new Ground(bus, config.paths.keys, DEMO_SPI, () => stopping),
    observed,
    declared: (s) => declared.has(s),
    jobsCleanup: [],
    isStopping: () => stopping,
  };

  // Where the gateway listens, once it says so.
  if (config.services.gateway.enabled) {
    void (async () => {
      const file = gatewayStatusFile(config);
      for (let i = 0; i < 600 && !stopping; i++) {
        if (existsSync(file)) {
          try {
            const g = JSON.parse(readFileSync(file, "utf8")) as { url: string; adminTokenFile: string | null };
            // The operator console is the gateway's page: open the URL in a browser and log in with a token.
            say(`umbra: gateway listening on ${g.url} (operator console: open it in a browser${g.adminTokenFile && existsSync(g.adminTokenFile) ? `; admin token in ${g.adminTokenFile}` : ""})`);
            return;
          } catch {
            // being written: try again
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  // A workload of real inference jobs, by telecommand through the TTC, all along the run.
  if (request.demo) {
    runDemo(ctx).catch((err: unknown) => !stopping && say(`demo: failed: ${message(err)}`));
  } else if (request.workload) {
    void (async () => {
      await client.waitConnected(60_000).catch(() => undefined);
      while (!stopping) {
        try {
          const jobs = await runJobs(ctx, "light", "jobs", 600_000);
          logger.info({ jobs: jobs.length }, "workload batch finished");
        } catch (err) {
          if (stopping) return;
          logger.warn({ err: message(err) }, "workload batch failed; trying again");
        }
        await new Promise((r) => setTimeout(r, 5000));
      }
    })();
  }

  // The status line: rewritten in place on a terminal, a line every 10 s otherwise.
  const tty = process.stdout.isTTY === true && !request.json;
  let lastPrinted = 0;
  const statusTimer = setInterval(() => {
    const line = statusLine(observed, board.resets);
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (Date.now() - lastPrinted >= 10_000) {
      lastPrinted = Date.now();
      say(line);
    }
  }, 1000);

  let finished: ((code: number) => void) | undefined;
  const done = new Promise<number>((r) => (finished = r));
  let durationTimer: NodeJS.Timeout | undefined;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    clearTimeout(durationTimer);
    clearInterval(statusTimer);
    if (tty) process.stdout.write("\n");
    say("umbra: stopping the payload");
    for (const fn of ctx.jobsCleanup.splice(0)) await Promise.race([fn(), new Promise((r) => setTimeout(r, 3000))]).catch(() => undefined);
    // The figures the services hold, asked before they stop.
    const jobs = await jobsTally(bus);
    await board.stop();
    if (hil && hil.exitCode === null && hil.signalCode === null) hil.kill("SIGTERM");
    const hilTimer = setTimeout(() => hil?.pid && killGroup(hil.pid, "SIGKILL"), 30_000);
    await hilExit;
    clearTimeout(hilTimer);
    await client.close().catch(() => undefined);
    bus.close();
    const report = config.platform === "hil" ? readHilReport(config.paths.reports) : undefined;
    const summary = buildSummary(observed, jobs, report?.extract, board.resets, observed.restarts, report?.file);
    writeFileSync(join(config.paths.reports, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
    if (request.json) say(JSON.stringify(summary));
    else for (const line of summaryText(summary)) say(line);
    finished!(code);
  }
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));
  if (request.duration !== undefined) durationTimer = setTimeout(() => void shutdown(0), request.duration * 1000);
  return done;
}

/** The newest HIL report in the reports folder (the HIL names it after the scenario). */
function readHilReport(dir: string): { file: string; extract: HilReportExtract } | undefined {
  try {
    const newest = readdirSync(dir)
      .filter((f) => f.endsWith(".json") && f !== "summary.json")
      .map((f) => ({ f: join(dir, f), t: statMtime(join(dir, f)) }))
      .sort((a, b) => b.t - a.t)[0];
    if (!newest) return undefined;
    const r = JSON.parse(readFileSync(newest.f, "utf8")) as HilReportExtract;
    return { file: newest.f.replace(/\.json$/, ".html"), extract: { summary: r.summary ?? {}, faults: Array.isArray(r.faults) ? r.faults : [] } };
  } catch {
    return undefined;
  }
}

const statMtime = (f: string) => statSync(f).mtimeMs;

