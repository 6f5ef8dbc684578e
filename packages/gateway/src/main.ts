#!/usr/bin/env node
// umbra-gateway: the gateway as its own process, joined to the payload's bus
// hub over a socket (unix:/path or tcp:host:port). `umbra start` runs the same
// gateway in-process instead.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { loadKeyFile } from "@umbra/ccsds";
import { Bus, BusClient, BusClosedError, Priority, RealClock, createLogger, parseEndpoint, ToneClock, type Clock, type TimerHandle } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { startGateway, type GatewayOptions } from "./server.js";

const USAGE = `usage: umbra-gateway [<bus endpoint>] --data <dir> --keys <key file> --spi <n>
  [--host 127.0.0.1] [--port 8080] [--source-id 33] [--admin-token-file <file>]
  [--raw-tcp <port>] [--raw-udp <port>] [--udp-tm-to <host:port>]
  [--command-rate <per minute>] [--command-timeout-ms <ms>] [--max-body-bytes <n>] [--ws-buffer-bytes <n>]
  [--port-fallback] [--status-file <file>] [--clock real|tone]
--port-fallback: if the port is in use, listen on any free port instead of failing.
--clock tone: mission time (telemetry and event ranges) follows the HIL's time tones; the gateway's own timing stays on the wall clock.
--status-file: where to write {"url", "rawLink", "adminTokenFile", "pid"} once listening (for the launcher).
The bus endpoint (unix:<path> or tcp:<host>:<port>) may also come from UMBRA_BUS.`;

class UsageError extends Error {}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(text)) throw new UsageError(`--${name}: expected a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        data: { type: "string" },
        keys: { type: "string" },
        spi: { type: "string" },
        "source-id": { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "admin-token-file": { type: "string" },
        "raw-tcp": { type: "string" },
        "raw-udp": { type: "string" },
        "udp-tm-to": { type: "string" },
        "command-rate": { type: "string" },
        "command-timeout-ms": { type: "string" },
        "max-body-bytes": { type: "string" },
        "ws-buffer-bytes": { type: "string" },
        "port-fallback": { type: "boolean" },
        "status-file": { type: "string" },
        clock: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values["help"]) {
    console.log(USAGE);
    return;
  }
  const target = positionals[0] ?? process.env["UMBRA_BUS"];
  if (!target) throw new UsageError("no bus endpoint given (argument or UMBRA_BUS)");
  const str = (k: string) => values[k] as string | undefined;
  if (!str("data")) throw new UsageError("--data is required");
  if (!str("keys")) throw new UsageError("--keys is required");
  const spi = integer("spi", str("spi"));
  if (spi === undefined) throw new UsageError("--spi is required");
  const endpoint = parseEndpoint(target);
  const clockKind = str("clock") ?? "real";
  if (clockKind !== "real" && clockKind !== "tone") throw new UsageError(`--clock must be real or tone, got ${JSON.stringify(clockKind)}`);

  const logger = createLogger({ name: "gateway" });
  const clock = new RealClock();
  const keys = await loadKeyFile(str("keys")!);
  const bus = new Bus({ node: `gateway-${process.pid}`, clock, logger });
  const client = BusClient.start(bus, endpoint);
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway (the client keeps reconnecting)"));

  const options: GatewayOptions = { bus, clock, logger, dataDir: str("data")!, keys, spi };
  if (clockKind === "tone") {
    const mission = new ToneClock({ logger });
    mission.follow(bus);
    if (!(await mission.waitForFirstTone(10_000))) logger.warn("no time tone within 10 s: telemetry ranges use the wall clock's time until one arrives");
    options.missionClock = mission;
    options.missionRate = () => mission.lastTone?.rate ?? 1;
  }
  const set = <K extends keyof GatewayOptions>(key: K, value: GatewayOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set("sourceId", integer("source-id", str("source-id")));
  set("host", str("host"));
  set("port", integer("port", str("port")));
  set("adminTokenFile", str("admin-token-file"));
  set("commandRatePerMinute", integer("command-rate", str("command-rate")));
  set("commandTimeoutMs", integer("command-timeout-ms", str("command-timeout-ms")));
  set("maxBodyBytes", integer("max-body-bytes", str("max-body-bytes")));
  set("wsBufferBytes", integer("ws-buffer-bytes", str("ws-buffer-bytes")));
  const rawTcp = integer("raw-tcp", str("raw-tcp"));
  const rawUdp = integer("raw-udp", str("raw-udp"));
  if (rawTcp !== undefined || rawUdp !== undefined) {
    options.rawLink = { ...(options.host ? { host: options.host } : {}) };
    if (rawTcp !== undefined) options.rawLink.tcpPort = rawTcp;
    if (rawUdp !== undefined) options.rawLink.udpPort = rawUdp;
    if (str("udp-tm-to") !== undefined) options.rawLink.udpTmTo = str("udp-tm-to")!;
  }
  let gateway;
  try {
    gateway = await startGateway(options);
  } catch (err) {
    if (!values["port-fallback"] || (err as NodeJS.ErrnoException | undefined)?.code !== "EADDRINUSE") throw err;
    logger.warn({ port: options.port }, `port ${options.port ?? 8080} is in use; listening on a free port instead`);
    gateway = await startGateway({ ...options, port: 0 });
  }
  console.log(`gateway listening on ${gateway.url}`);
  const statusFile = str("status-file");
  if (statusFile) {
    mkdirSync(dirname(statusFile), { recursive: true });
    const tmp = `${statusFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ url: gateway.url, rawLink: gateway.rawLink ?? null, adminTokenFile: options.adminTokenFile ?? null, pid: process.pid }) + "\n");
    renameSync(tmp, statusFile); // whole or absent: a reader never sees half a file
  }
  // Liveness for the supervisor: the gateway is not a Service, so it sends its own heartbeats.
  const heartbeats = startHeartbeats(bus, "gateway", clock);
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    heartbeats.cancel();
    await gateway.close();
    await client.close();
    bus.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

/** A heartbeat a second on the wall clock, as every Service sends, so the supervisor sees the gateway alive (or hung). */
function startHeartbeats(bus: Bus, service: string, clock: Clock): TimerHandle {
  const startedMs = clock.monotonicMs();
  let counter = 0n;
  const beat = () => {
    try {
      bus.publish(
        umbra.core.v1.Heartbeat,
        {
          service,
          state: umbra.core.v1.ServiceState.SERVICE_STATE_RUNNING,
          counter: ++counter,
          uptimeMs: BigInt(Math.round(clock.monotonicMs() - startedMs)),
          pid: process.pid,
          node: bus.node,
          host: hostname(),
        },
        { priority: Priority.PRIORITY_COMMAND },
      );
    } catch (err) {
      if (!(err instanceof BusClosedError)) throw err;
    }
  };
  beat();
  return clock.setInterval(beat, 1000);
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
