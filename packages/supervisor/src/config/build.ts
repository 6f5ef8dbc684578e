// From the file's checked values to a PayloadConfig: defaults merged in,
// paths made absolute, and the rules that span fields checked on the result.
import { isAbsolute, join, resolve } from "node:path";
import { BUS_SOCKET_NAME, CONFIG_DEFAULTS, DISABLED_BY_DEFAULT } from "./defaults.js";
import { MAX_SOCKET_PATH_BYTES, type PayloadFileValues } from "./schema.js";
import { ESSENTIAL_SERVICES, SERVICE_NAMES, type PayloadConfig, type RestartPolicyConfig, type ServiceConfig, type ServiceName } from "./types.js";

/** One thing wrong, at a field given as a path of keys and indices ([] for the whole file). */
export interface FieldProblem {
  path: (string | number)[];
  message: string;
}

export type BuildResult = { ok: true; config: PayloadConfig } | { ok: false; problems: FieldProblem[] };

/** A source that is a file name (not "<defaults>", "<stdin>", ...) is made absolute. */
export function absoluteSource(source: string, cwd: string): string {
  return source.startsWith("<") ? source : resolve(cwd, source);
}

export function buildPayloadConfig(v: PayloadFileValues, source: string, cwd: string): BuildResult {
  const problems: FieldProblem[] = [];
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const d = CONFIG_DEFAULTS;

  const run = abs(v.paths?.run ?? d.paths.run);
  const paths: PayloadConfig["paths"] = {
    data: abs(v.paths?.data ?? d.paths.data),
    run,
    keys: abs(v.paths?.keys ?? d.paths.keys),
    reports: abs(v.paths?.reports ?? d.paths.reports),
  };
  if (v.paths?.models !== undefined) paths.models = abs(v.paths.models);

  const bus: PayloadConfig["bus"] = { socket: v.bus?.socket !== undefined ? abs(v.bus.socket) : join(run, BUS_SOCKET_NAME) };
  if (v.bus?.tcp !== undefined) bus.tcp = v.bus.tcp;
  const socketBytes = Buffer.byteLength(bus.socket);
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    problems.push({
      path: v.bus?.socket !== undefined ? ["bus", "socket"] : ["paths", "run"],
      message: `the bus socket ${bus.socket} is ${socketBytes} bytes long; a Unix socket path must be at most ${MAX_SOCKET_PATH_BYTES} (use a shorter ${v.bus?.socket !== undefined ? "path" : "run directory, or set bus.socket"})`,
    });
  }

  const watchdog = {
    enabled: v.watchdog?.enabled ?? d.watchdog.enabled,
    timeoutS: v.watchdog?.timeoutS ?? d.watchdog.timeoutS,
    kickIntervalS: v.watchdog?.kickIntervalS ?? d.watchdog.kickIntervalS,
  };
  if (!(watchdog.kickIntervalS < watchdog.timeoutS / 2)) {
    const field = v.watchdog?.kickIntervalS !== undefined || v.watchdog?.timeoutS === undefined ? "kickIntervalS" : "timeoutS";
    problems.push({
      path: ["watchdog", field],
      message: `kickIntervalS (${watchdog.kickIntervalS} s) must be less than half of timeoutS (${watchdog.timeoutS} s), so one late kick does not reset the payload`,
    });
  }

  const defaultRestart: RestartPolicyConfig = { ...d.defaults.restart, ...v.defaults?.restart };
  const serviceDefaults = {
    heartbeatTimeoutS: v.defaults?.heartbeatTimeoutS ?? d.defaults.heartbeatTimeoutS,
    startTimeoutS: v.defaults?.startTimeoutS ?? d.defaults.startTimeoutS,
    stopTimeoutS: v.defaults?.stopTimeoutS ?? d.defaults.stopTimeoutS,
  };
  if (defaultRestart.initialBackoffS > defaultRestart.maxBackoffS) {
    problems.push({
      path: ["defaults", "restart", v.defaults?.restart?.initialBackoffS !== undefined ? "initialBackoffS" : "maxBackoffS"],
      message: `initialBackoffS (${defaultRestart.initialBackoffS} s) must not be more than maxBackoffS (${defaultRestart.maxBackoffS} s)`,
    });
  }

  const services = {} as Record<ServiceName, ServiceConfig>;
  const apidOwner = new Map<number, ServiceName>();
  for (const name of SERVICE_NAMES) {
    const s = v.services?.[name];
    const restart: RestartPolicyConfig = { ...defaultRestart, ...s?.restart };
    const own = s?.restart;
    if ((own?.initialBackoffS !== undefined || own?.maxBackoffS !== undefined) && restart.initialBackoffS > restart.maxBackoffS) {
      problems.push({
        path: ["services", name, "restart", own?.initialBackoffS !== undefined ? "initialBackoffS" : "maxBackoffS"],
        message: `initialBackoffS (${restart.initialBackoffS} s) must not be more than maxBackoffS (${restart.maxBackoffS} s)`,
      });
    }
    const enabled = s?.enabled ?? !DISABLED_BY_DEFAULT.includes(name);
    if (!enabled && ESSENTIAL_SERVICES.includes(name)) {
      problems.push({
        path: ["services", name, "enabled"],
        message:
          name === "ttc"
            ? "ttc cannot be disabled: the ground reaches the payload through it"
            : "thermal cannot be disabled: it keeps the hardware within its temperature limits",
      });
    }
    const service: ServiceConfig = {
      name,
      enabled,
      heartbeatTimeoutS: s?.heartbeatTimeoutS ?? serviceDefaults.heartbeatTimeoutS,
      startTimeoutS: s?.startTimeoutS ?? serviceDefaults.startTimeoutS,
      stopTimeoutS: s?.stopTimeoutS ?? serviceDefaults.stopTimeoutS,
      restart,
      parameters: s?.parameters ?? {},
      args: s?.args ?? [],
    };
    if (s?.apid !== undefined) {
      if (name === "gateway") {
        problems.push({ path: ["services", name, "apid"], message: "the gateway has no APID: it is a ground client that commands through the TTC; remove this field" });
      } else {
        const other = apidOwner.get(s.apid);
        if (other !== undefined) problems.push({ path: ["services", name, "apid"], message: `APID ${s.apid} is already given to ${other}; each service needs its own` });
        else apidOwner.set(s.apid, name);
      }
      service.apid = s.apid;
    }
    services[name] = service;
  }

  const keep = v.safeMode?.keep ?? [...d.safeMode.keep];
  const missing = ESSENTIAL_SERVICES.filter((n) => !keep.includes(n));
  if (missing.length > 0) {
    problems.push({
      path: ["safeMode", "keep"],
      message: `must include ${ESSENTIAL_SERVICES.join(" and ")} (safe mode must stay commandable and thermally controlled), missing ${missing.join(", ")}`,
    });
  }

  const gateway: PayloadConfig["gateway"] = {
    host: v.gateway?.host ?? d.gateway.host,
    port: v.gateway?.port ?? d.gateway.port,
    spi: v.gateway?.spi ?? d.gateway.spi,
    sourceId: v.gateway?.sourceId ?? d.gateway.sourceId,
  };
  if (v.gateway?.rawTcpPort !== undefined) {
    gateway.rawTcpPort = v.gateway.rawTcpPort;
    if (gateway.rawTcpPort === gateway.port) problems.push({ path: ["gateway", "rawTcpPort"], message: `${gateway.rawTcpPort} is also gateway.port; the raw CCSDS link needs a TCP port of its own` });
  }
  if (v.gateway?.rawUdpPort !== undefined) gateway.rawUdpPort = v.gateway.rawUdpPort;

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      source: absoluteSource(source, cwd),
      platform: v.platform ?? d.platform,
      paths,
      bus,
      hil: { scenario: abs(v.hil?.scenario ?? d.hil.scenario), speed: v.hil?.speed ?? d.hil.speed },
      watchdog,
      boot: { stableAfterS: v.boot?.stableAfterS ?? d.boot.stableAfterS, loopThreshold: v.boot?.loopThreshold ?? d.boot.loopThreshold },
      safeMode: {
        keep: SERVICE_NAMES.filter((n) => keep.includes(n)),
        minBatterySocPct: v.safeMode?.minBatterySocPct ?? d.safeMode.minBatterySocPct,
        onThermalEmergency: v.safeMode?.onThermalEmergency ?? d.safeMode.onThermalEmergency,
      },
      supervisor: { statusIntervalS: v.supervisor?.statusIntervalS ?? d.supervisor.statusIntervalS },
      services,
      inference: { models: v.inference?.models ?? [...d.inference.models] },
      gateway,
    },
  };
}
