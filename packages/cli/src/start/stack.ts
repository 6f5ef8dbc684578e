// `umbra start`: the payload stack. A bus hub listens on a Unix socket; with
// --platform hil (the default) the HIL environment runs as its own bus node
// joined to the hub in-process, publishing the emulated hardware and the
// orbit's ground truth; the TTC and the ground gateway run in-process too. The
// flight services (inference, scrubber, thermal, jobs) and the example counter
// service each run in their own OS process, joined over the socket. This
// starts and stops them and reports one that exits; it does not restart them:
// the supervisor (issue #10) takes this role over.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadKeyFile, type KeyStore } from "@umbra/ccsds";
import { Bus, BusServer, InProcessLink, RealClock, SimClock, createLogger, formatEndpoint, parseEndpoint, type Logger } from "@umbra/core";
import { HilRun, loadScenario, writeReport, type RunReport, type Scenario } from "@umbra/hil";
import { umbra } from "@umbra/proto";
import { CommandHistory, ContactPlan, DownlinkQueue, ScheduleStore, SecurityState, TtcService, openArchive, openTtcDatabase } from "@umbra/ttc";
import { CliError, EXIT_USAGE } from "../errors.js";
import type { StackContext, Observed } from "./context.js";
import { runDemo } from "./demo.js";
import { startStackGateway, type StackGateway } from "./gateway.js";
import { Ground } from "./ground.js";
import { ensureDevelopmentKeys, gatewayKeyProblem } from "./keys.js";
import { DEMO_SPI, type StartOptions } from "./options.js";
import { describeMissing, missingLinuxPrerequisites, serviceArgv, serviceLaunches, type FsProbe } from "./services.js";
import { jobsTally, logSummary } from "./summary.js";
import { runJobs } from "./workload.js";

/** The real file system, for the --platform linux check. */
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

/** What is read before anything starts, so a bad file stops the stack before it is half up. */
async function prepare(options: StartOptions, logger: Logger, probe: FsProbe): Promise<{ scenario: Scenario | undefined; keys: KeyStore }> {
  if (options.platform === "linux") {
    const missing = missingLinuxPrerequisites(probe);
    if (missing.some((m) => m.required)) throw new CliError(describeMissing(missing), EXIT_USAGE);
    for (const m of missing) logger.warn({ path: m.path, services: m.services }, `--platform linux: ${m.path}: ${m.what}`);
  }
  let scenario: Scenario | undefined;
  if (options.platform === "hil") {
    try {
      scenario = await loadScenario(options.scenario);
    } catch (err) {
      throw new CliError(message(err), EXIT_USAGE);
    }
  }
  if (ensureDevelopmentKeys(options.keys, options.gateway?.spi)) {
    const spis = [DEMO_SPI, ...(options.gateway ? [options.gateway.spi] : [])];
    logger.warn({ keys: options.keys }, `no key file: made a development key (SPI ${spis.join(" and ")}); replace it with the mission's keys`);
  }
  let keys: KeyStore;
  try {
    keys = await loadKeyFile(options.keys);
  } catch (err) {
    throw new CliError(message(err), EXIT_USAGE);
  }
  if (options.gateway) {
    const problem = gatewayKeyProblem(keys, options.gateway.spi, options.keys);
    if (problem) throw new CliError(problem, EXIT_USAGE);
  }
  return { scenario, keys };
}

/**
 * Runs the stack until SIGINT/SIGTERM or the end of --duration; resolves with
 * the exit status (1 if a service exited on its own). `root` is the
 * workspace root, where the services' main scripts are.
 */
export async function runStack(options: StartOptions, root: string, probe: FsProbe = nodeProbe): Promise<number> {
  const logger = createLogger({ name: "umbra" });
  const { scenario, keys } = await prepare(options, logger, probe);

  const clock = new RealClock();
  const hub = new Bus({ node: "hub", clock, logger });
  mkdirSync(dirname(options.socket), { recursive: true });
  const servers = [await BusServer.listen(hub, parseEndpoint(`unix:${options.socket}`))];
  if (options.tcp) servers.push(await BusServer.listen(hub, parseEndpoint(`tcp:${options.tcp}`)));
  logger.info({ endpoints: servers.map((s) => formatEndpoint(s.endpoint)) }, "bus hub listening");

  const observed: Observed = { jobsTelemetry: undefined, minSocSeen: Number.POSITIVE_INFINITY };

  // The HIL environment: its own node on a simulated clock, joined in-process.
  let hil: { run: HilRun; bus: Bus; done: Promise<void> } | undefined;
  let hilReport: RunReport | undefined;
  if (scenario) {
    const hilClock = new SimClock({ startUtcMs: scenario.epoch });
    const hilBus = new Bus({ node: "hil", clock: hilClock, logger, queueCapacity: 8192 });
    const [hubEnd, hilEnd] = InProcessLink.pair("hub-hil");
    hub.attach(hubEnd);
    hilBus.attach(hilEnd);
    const run = new HilRun({ scenario, scenarioFile: options.scenario, bus: hilBus, clock: hilClock, speed: options.speed, logger });
    logger.info({ scenario: scenario.name, speed: options.speed, durationH: scenario.duration / 3600 }, "HIL environment running");
    let lastLogged = -Infinity;
    hub.subscribe(umbra.hil.v1.EnvironmentSample, (e) => {
      if (e.power && Number.isFinite(e.power.batterySocPct)) observed.minSocSeen = Math.min(observed.minSocSeen, e.power.batterySocPct);
      if (e.elapsedS - lastLogged < 600) return; // every 10 simulated minutes
      lastLogged = e.elapsedS;
      logger.info(
        {
          simH: +(e.elapsedS / 3600).toFixed(2),
          sunlit: e.orbit?.sunlit,
          saa: e.orbit?.inSaa,
          socPct: +(e.power?.batterySocPct ?? 0).toFixed(1),
          arrayW: +(e.power?.arrayPowerW ?? 0).toFixed(1),
          dieC: +(e.thermal?.dieC ?? 0).toFixed(1),
          upsets: Number(e.radiation?.upsetsTotal ?? 0n),
        },
        "environment",
      );
    });
    const done = run.run().then(async (report) => {
      hilReport = report;
      const paths = await writeReport(report, options.report);
      logger.info({ report: paths.html, summary: report.summary }, "HIL scenario finished");
    });
    hil = { run, bus: hilBus, done };
  }

  // The TTC: its own node, joined in-process; telecommands arrive as TcUplink
  // on the bus (from the gateway, its raw link, and the demo).
  mkdirSync(options.data, { recursive: true });
  const ttcDb = openTtcDatabase(join(options.data, "ttc.db"));
  const ttcBus = new Bus({ node: "ttc", clock, logger });
  const [hubTtc, ttcEnd] = InProcessLink.pair("hub-ttc");
  hub.attach(hubTtc);
  ttcBus.attach(ttcEnd);
  const archive = openArchive(join(options.data, "archive.db"));
  const ttc = new TtcService(
    { bus: ttcBus, clock, logger },
    {
      keys,
      history: new CommandHistory(ttcDb),
      schedule: new ScheduleStore(ttcDb),
      security: new SecurityState(ttcDb),
      downlink: { queue: new DownlinkQueue(ttcDb), plan: new ContactPlan(ttcDb) },
      archive,
    },
  );
  await ttc.start();
  hub.subscribe(umbra.ttc.v1.Verification, (v) => {
    const stage = ["?", "acceptance", "start", "progress", "completion"][v.stage];
    logger.info({ command: v.command, service: v.service, stage, success: v.success, code: umbra.ttc.v1.FailureCode[v.code] }, v.detail || "verification");
  });
  hub.subscribe(umbra.core.v1.ServiceDeclaration, (d) => {
    logger.info({ service: d.name, apid: d.apid, commands: d.commands.map((c) => c.name) }, "service declared");
  });
  hub.subscribe(umbra.core.v1.Event, (e) => {
    logger.info({ service: e.service, event: e.name, severity: e.severity }, e.message);
  });
  hub.subscribe(umbra.core.v1.Heartbeat, (hb) => {
    logger.debug({ service: hb.service, counter: Number(hb.counter), pid: hb.pid }, "heartbeat");
  });
  const valueOf = (s: { value?: unknown }) => {
    const v = s.value as Record<string, unknown> | undefined | null;
    return v && typeof v["kind"] === "string" ? v[v["kind"]] : undefined;
  };
  hub.subscribe(umbra.core.v1.TelemetryReport, (r) => {
    const samples = Object.fromEntries(r.samples.map((s) => [s.name, String(valueOf(s) ?? "")]));
    logger.info({ service: r.service, ...samples }, "telemetry");
    // What the jobs service reports, for the summary at the end.
    if (r.service === "jobs") observed.jobsTelemetry = Object.fromEntries(r.samples.map((s) => [s.name, valueOf(s)]));
  });

  let stopping = false;
  const closeCore = async () => {
    hil?.bus.close();
    await ttc.stop();
    ttcBus.close();
    ttcDb.close();
    archive.close();
    for (const s of servers) await s.close();
    hub.close();
  };

  // The ground gateway: its own node, joined in-process, after the TTC.
  let gateway: StackGateway | undefined;
  if (options.gateway) {
    try {
      gateway = await startStackGateway({ hub, clock, keysFile: options.keys, data: options.data, ...options.gateway });
    } catch (err) {
      logger.error({ err: message(err) }, `gateway could not be started: ${message(err)}`);
      stopping = true;
      hil?.run.stop();
      await hil?.done.catch(() => undefined);
      await closeCore();
      throw new CliError(`gateway could not be started: ${message(err)}`, EXIT_USAGE);
    }
    logger.info({ gateway: gateway.url, adminTokenFile: gateway.adminTokenFile, rawLink: gateway.rawLink }, gateway.summary);
  }

  // The services, each in its own OS process, joined over the socket. Each
  // gets its own process group, so a Ctrl-C reaches this process only and the
  // services are stopped here, in order, before the hub closes. One that
  // exits on its own is reported, not restarted (the supervisor, issue #10, will).
  const children: { name: string; child: ChildProcess }[] = [];
  const unexpectedExits: string[] = [];
  const battery = scenario?.power.battery;
  for (const launch of serviceLaunches({ platform: options.platform, data: options.data, models: options.models, ...(battery ? { battery } : {}) })) {
    const { name, main } = launch;
    const argv = serviceArgv(root, options.socket, launch);
    const script = argv[0]!;
    if (!existsSync(script)) {
      logger.error({ service: name, script }, `${name} is not built (${main} is missing): run pnpm build`);
      unexpectedExits.push(name);
      continue;
    }
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "inherit", "inherit"], detached: true });
    children.push({ name, child });
    child.once("error", (err) => logger.error({ service: name, err }, `${name} could not be started`));
    child.once("exit", (code, signal) => {
      if (stopping) return;
      unexpectedExits.push(name);
      logger.error({ service: name, pid: child.pid, code, signal }, `${name} service exited unexpectedly (${signal ?? `code ${code}`}); it is not restarted`);
    });
    logger.info({ service: name, pid: child.pid, platform: options.platform }, `${name} service started in its own process`);
  }
  // Last resort if this process dies without shutdown(): do not leave services behind.
  process.once("exit", () => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });

  const ctx: StackContext = {
    options,
    logger,
    clock,
    hub,
    ttc,
    archive,
    ground: new Ground(hub, options.keys, DEMO_SPI, () => stopping),
    observed,
    jobsCleanup: [],
    isStopping: () => stopping,
  };

  // --demo: what ground software and the job runner would send. Each step logs
  // one "demo: ..." line with its result. Without it, a light jobs workload ("jobs: ...").
  if (options.demo) {
    runDemo(ctx).catch((err: unknown) => {
      if (stopping) logger.warn({ err: message(err) }, "demo: interrupted by the shutdown");
      else logger.error({ err }, `demo: failed: ${message(err)}`);
    });
  } else if (options.workload) {
    runJobs(ctx, "light", "jobs", 120_000).catch((err: unknown) => {
      if (stopping) logger.warn({ err: message(err) }, "jobs: workload interrupted by the shutdown");
      else logger.error({ err }, `jobs: workload failed: ${message(err)}`);
    });
  }

  async function stopServices() {
    await Promise.all(
      children.map(async ({ name, child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => {
          logger.warn({ service: name, pid: child.pid }, `${name} did not stop within 10 s of SIGTERM; killing it`);
          child.kill("SIGKILL");
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  return new Promise<number>((resolveExit) => {
    let durationTimer: NodeJS.Timeout | undefined;
    async function shutdown(code: number) {
      if (stopping) return;
      stopping = true;
      clearTimeout(durationTimer);
      const stats = hub.stats();
      logger.info(
        { published: Number(stats.published), delivered: Number(stats.delivered), dropped: Object.fromEntries(Object.entries(stats.dropped ?? {}).map(([k, v]) => [k, Number(v)])) },
        "bus totals",
      );
      // No new commands from the ground once stopping.
      await gateway?.close().catch((err: unknown) => logger.warn({ err: message(err) }, "gateway did not close cleanly"));
      // Left over from a workload the shutdown interrupted (the demo's accuracy declaration).
      for (const fn of ctx.jobsCleanup.splice(0)) {
        const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 3 s")), 3000).unref());
        await Promise.race([fn(), late]).catch((err: unknown) => logger.warn({ err: message(err) }, "workload cleanup failed at shutdown"));
      }
      const jobs = await jobsTally(hub, observed);
      await stopServices();
      hil?.run.stop();
      await hil?.done.catch((err: unknown) => logger.error({ err }, "HIL run failed"));
      const minSoc = hilReport?.summary["minSocPct"];
      logSummary(logger, jobs, observed, typeof minSoc === "number" ? minSoc : undefined);
      await closeCore();
      if (unexpectedExits.length) logger.error({ services: unexpectedExits }, "stopped; these services had exited unexpectedly");
      resolveExit(code || (unexpectedExits.length ? 1 : 0));
    }
    process.once("SIGINT", () => void shutdown(0));
    process.once("SIGTERM", () => void shutdown(0));
    if (options.duration !== undefined) durationTimer = setTimeout(() => void shutdown(0), options.duration * 1000);
  });
}
