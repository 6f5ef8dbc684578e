#!/usr/bin/env node
// umbra-supervisor: the payload's first process. It reads the payload
// configuration, records the boot and why it happened, hosts the bus hub on a
// Unix socket, starts every service in its own process, keeps them running,
// and kicks the hardware watchdog while the system is healthy. It stays small:
// the services do the work.
//
// Exit status: 0 after a clean stop (SIGTERM/SIGINT); RESET_EXIT_CODE after a
// commanded reset (whatever started the supervisor, systemd on a board or the
// launcher on a bench, starts it again); 2 for a bad command line or
// configuration; 1 otherwise.
import { mkdirSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bus, BusServer, RealClock, ToneClock, createLogger, formatEndpoint, parseEndpoint, type Clock } from "@umbra/core";
import { createHilPlatform, createLinuxPlatform, type Platform } from "@umbra/platform";
import { BootRecord } from "./boot-record.js";
import { ConfigError, loadPayloadConfig } from "./config/load.js";
import { SERVICE_NAMES, type ServiceName } from "./config/types.js";
import { launchSpec } from "./launch-plan.js";
import { NodeLauncher } from "./node-launcher.js";
import { ProcessTable } from "./process-table.js";
import { SupervisorService } from "./service.js";
import { RESET_EXIT_CODE } from "./index.js";
import { SystemdNotifier, allUp, notifyingWatchdog } from "./systemd-notify.js";

/** How long the supervisor waits for the HIL's first time tone before it gives up (wall ms). */
const FIRST_TONE_WAIT_MS = 30_000;

const USAGE = `usage: umbra-supervisor --config <file> [--root <dir>]
  --config  the payload configuration (YAML), e.g. config/umbra.yaml
  --root    where the services' compiled mains are (default: this installation)`;

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ options: { config: { type: "string" }, root: { type: "string" }, help: { type: "boolean", short: "h" } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values["help"]) {
    console.log(USAGE);
    return 0;
  }
  if (typeof values["config"] !== "string") {
    console.error(`--config is required\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = await loadPayloadConfig(values["config"]);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  // The real folder, not a link to it: on a board --root is /opt/umbra/current/app, and an upgrade
  // switches `current`; a service restarted before the supervisor itself must run this release's code.
  let root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  if (typeof values["root"] === "string") {
    try {
      root = realpathSync(resolve(values["root"]));
    } catch {
      console.error(`--root ${values["root"]}: no such folder\n${USAGE}`);
      return 2;
    }
  }
  const logger = createLogger({ name: "supervisor" });
  // systemd (umbra.service, Type=notify): READY=1, WATCHDOG=1, STOPPING=1. Nothing without NOTIFY_SOCKET.
  const notifier = SystemdNotifier.fromEnv({ warn: (message) => logger.warn(message) });
  mkdirSync(config.paths.data, { recursive: true });
  mkdirSync(dirname(config.bus.socket), { recursive: true });

  // Mission time: the HIL's tones on a bench, the real clock on a board. Health is judged on the wall clock.
  const wall = new RealClock();
  const tone = config.platform === "hil" ? new ToneClock({ logger }) : undefined;
  const mission: Clock = tone ?? wall;
  const hub = new Bus({ node: "supervisor", clock: mission, timeoutClock: wall, logger, queueCapacity: 8192 });
  const servers = [await BusServer.listen(hub, parseEndpoint(`unix:${config.bus.socket}`))];
  if (config.bus.tcp) servers.push(await BusServer.listen(hub, parseEndpoint(`tcp:${config.bus.tcp}`)));
  logger.info({ endpoints: servers.map((s) => formatEndpoint(s.endpoint)), config: config.source, platform: config.platform }, "bus hub listening");

  let platform: Platform;
  if (tone) {
    tone.follow(hub);
    if (!(await tone.waitForFirstTone(FIRST_TONE_WAIT_MS))) logger.warn(`no time tone from the HIL within ${FIRST_TONE_WAIT_MS / 1000} s: mission time stands still until one arrives`);
    // Freshness of the emulated hardware state on the wall clock: at high speed a few simulated seconds are milliseconds.
    const hil = createHilPlatform({ bus: hub, clock: wall, staleAfterMs: 10_000 });
    const deadline = wall.monotonicMs() + 10_000;
    while (!hil.state.peek() && wall.monotonicMs() < deadline) await wall.sleep(50);
    platform = hil;
  } else {
    platform = createLinuxPlatform({ clock: wall });
  }

  const record = new BootRecord(join(config.paths.data, "supervisor.db"));
  const boot = record.begin(mission.nowTaiNs(), await platform.watchdog.bootStatus(), config.boot.loopThreshold);
  logger.info({ boot: boot.boot, reason: boot.reason, mode: boot.mode, unstableBefore: boot.unstableBefore }, `boot ${boot.boot}: reset reason ${boot.reason}`);

  const names = [...SERVICE_NAMES];
  let service: SupervisorService | undefined;
  const table = new ProcessTable(
    names.map((n) => config.services[n]),
    new NodeLauncher(root, (name) => launchSpec(config, name as ServiceName, record.parameters(name))),
    wall,
    {
      started: (name, pid, restart) => logger.info({ service: name, pid }, `${name} ${restart ? "restarted" : "started"} (pid ${pid})`),
      running: (name, pid) => {
        logger.info({ service: name, pid }, `${name} running`);
        service?.onServiceRunning(name, table.snapshot().find((s) => s.name === name)!.restarts > 0);
      },
      failed: (name, reason, delayMs, recent) => {
        logger.warn({ service: name, reason, delayMs, recent }, `${name} ${reason}; restart in ${delayMs} ms`);
        service?.onServiceFailed(name, reason, delayMs, recent);
      },
      gaveUp: (name, reason, recent) => {
        logger.error({ service: name, reason, recent }, `${name} failed ${recent} times; left down`);
        service?.onServiceGaveUp(name, reason, recent);
      },
      warn: (name, message) => logger.warn({ service: name }, `${name} ${message}`),
    },
  );

  let systemdTimer: NodeJS.Timeout | undefined;
  let finishing: Promise<number> | undefined;
  const finish = (how: "clean" | "reset-command"): Promise<number> =>
    (finishing ??= (async () => {
      logger.info({ how }, how === "clean" ? "stopping the payload" : "resetting the payload by command");
      clearInterval(systemdTimer);
      notifier?.notifyStopping(how === "clean" ? "stopping" : "resetting by command");
      await service?.stop().catch((err: unknown) => logger.error({ err }, "supervisor stop failed"));
      table.close();
      record.end(boot.boot, how, mission.nowTaiNs());
      record.close();
      await platform.close().catch(() => undefined);
      for (const s of servers) await s.close().catch(() => undefined);
      hub.close();
      await notifier?.flush();
      return how === "clean" ? 0 : RESET_EXIT_CODE;
    })());

  service = new SupervisorService(
    { bus: hub, clock: mission, livenessClock: wall, logger, parameters: { statusPeriodMs: config.supervisor.statusIntervalS * 1000 } },
    {
      table,
      record,
      boot,
      settings: {
        services: names.map((n) => ({ name: n, enabled: config.services[n].enabled })),
        safeKeep: config.safeMode.keep,
        minBatterySocPct: config.safeMode.minBatterySocPct,
        onThermalEmergency: config.safeMode.onThermalEmergency,
        watchdog: config.watchdog,
        stableAfterS: config.boot.stableAfterS,
        ttcStartWaitMs: config.services.ttc.startTimeoutS * 1000,
      },
      watchdog: notifier ? notifyingWatchdog(platform.watchdog, notifier) : platform.watchdog,
      power: platform.power,
      onResetRequested: () => void finish("reset-command").then((code) => process.exit(code)),
    },
  );
  await service.start();
  logger.info({ mode: service.mode.mode }, "supervisor running");
  if (notifier) {
    // READY=1 once every service that should run is running. WATCHDOG=1 rides on the hardware kicks
    // (notifyingWatchdog); when the hardware watchdog is not armed there are no kicks, so ping here
    // on the same health rule, as often as the kicks would be.
    const sv = service;
    const pingEveryMs = Math.min(config.watchdog.kickIntervalS * 1000, notifier.watchdogUsec ? notifier.watchdogUsec / 3000 : Number.POSITIVE_INFINITY);
    let lastPing = 0;
    systemdTimer = setInterval(() => {
      const snap = table.snapshot();
      if (!notifier.ready && allUp(snap, (n) => sv.shouldRun(n))) {
        const up = snap.filter((s) => s.state === "running").length;
        notifier.notifyReady(`${sv.mode.mode}: ${up} services running`);
      }
      if (notifier.watchdogUsec && !platform.watchdog.status().armed && Date.now() - lastPing >= pingEveryMs) {
        lastPing = Date.now();
        if (sv.isHealthy()) notifier.notifyWatchdog();
      }
    }, 1000);
  }
  return new Promise<number>((resolveExit) => {
    const stop = () => void finish("clean").then(resolveExit);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
