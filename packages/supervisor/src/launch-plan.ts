// What process each service is and with what command line and environment,
// from the payload configuration (pure). Parameter values: the
// configuration's, with those changed by command (the boot record's) over
// them, handed over in UMBRA_PARAMETERS; a configured APID in UMBRA_APID.
import { join } from "node:path";
import type { PayloadConfig, ServiceName } from "./config/types.js";

export interface ServiceLaunchSpec {
  name: ServiceName;
  /** The service's main script, relative to the installation root. */
  main: string;
  /** Arguments after the main script. */
  args: string[];
  /** Environment added to the supervisor's. */
  env: Record<string, string>;
}

const MAINS: Record<ServiceName, string> = {
  ttc: "packages/ttc/dist/main.js",
  thermal: "packages/thermal/dist/main.js",
  scrubber: "packages/scrubber/dist/main.js",
  inference: "packages/inference/dist/main.js",
  jobs: "packages/jobs/dist/main.js",
  gateway: "packages/gateway/dist/main.js",
  counter: "examples/counter-service/dist/main.js",
};

/** Where the gateway says where it listens (the launcher prints it). */
export function gatewayStatusFile(config: PayloadConfig): string {
  return join(config.paths.run, "gateway.json");
}

/** Name of the file, in the gateway's data folder, that holds its first admin token. */
export const ADMIN_TOKEN_FILE_NAME = "admin-token";

/** The gateway's first admin token, written on its first start only. */
export function adminTokenFile(config: PayloadConfig): string {
  return join(config.paths.data, "gateway", ADMIN_TOKEN_FILE_NAME);
}

export function launchSpec(config: PayloadConfig, name: ServiceName, persisted: Record<string, boolean | number | string> = {}): ServiceLaunchSpec {
  const service = config.services[name];
  const bus = `unix:${config.bus.socket}`;
  const platform = ["--platform", config.platform];
  const data = config.paths.data;
  let args: string[];
  switch (name) {
    case "ttc":
      args = [bus, ...platform, "--data", data, "--keys", config.paths.keys];
      break;
    case "thermal":
    case "scrubber":
      args = [bus, ...platform];
      break;
    case "inference":
      args = [bus, ...platform, "--data", join(data, "inference"), "--models", config.inference.models.join(",")];
      break;
    case "jobs":
      args = [bus, ...platform, "--data", join(data, "jobs")];
      break;
    case "gateway": {
      const g = config.gateway;
      args = [bus, "--data", join(data, "gateway"), "--keys", config.paths.keys, "--spi", String(g.spi), "--source-id", String(g.sourceId)];
      args.push("--host", g.host, "--port", String(g.port), "--admin-token-file", adminTokenFile(config), "--status-file", gatewayStatusFile(config));
      // The configured default port may be taken on a shared bench: then any free one, and the launcher prints which.
      if (g.port !== 0) args.push("--port-fallback");
      if (g.rawTcpPort !== undefined) args.push("--raw-tcp", String(g.rawTcpPort));
      if (g.rawUdpPort !== undefined) args.push("--raw-udp", String(g.rawUdpPort));
      if (config.platform === "hil") args.push("--clock", "tone");
      break;
    }
    case "counter":
      args = [bus];
      // On a HIL bench its telemetry and events carry the HIL's mission time, as every other service's do.
      if (config.platform === "hil") args.push("--clock", "tone");
      break;
  }
  const env: Record<string, string> = {};
  const parameters = { ...service.parameters, ...persisted };
  if (Object.keys(parameters).length) env["UMBRA_PARAMETERS"] = JSON.stringify(parameters);
  if (service.apid !== undefined) env["UMBRA_APID"] = String(service.apid);
  return { name, main: MAINS[name], args: [...args, ...service.args], env };
}
