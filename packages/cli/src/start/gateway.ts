// The ground gateway inside `umbra start`: its own bus node joined to the hub
// in-process, signing telecommands with its own key (the ground's copy of the
// key file, its own SPI), its users and command history under <data>/gateway.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadKeyFile } from "@umbra/ccsds";
import { Bus, InProcessLink, createLogger, type Clock } from "@umbra/core";
import { startGateway, type GatewayOptions } from "@umbra/gateway";

export interface StackGatewayOptions {
  hub: Bus;
  clock: Clock;
  keysFile: string;
  data: string;
  host: string;
  port: number;
  /** If `port` is in use, take any free one (and say so) instead of failing. */
  portFallback?: boolean;
  spi: number;
  rawTcpPort?: number;
  rawUdpPort?: number;
  rawUdpTmTo?: string;
}

export interface StackGateway {
  url: string;
  adminTokenFile: string;
  rawLink?: { tcpPort?: number; udpPort?: number };
  /** The one line saying where it listens and where the admin token is. */
  summary: string;
  close(): Promise<void>;
}

const inUse = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";

export function gatewayDataDir(data: string): string {
  return join(data, "gateway");
}

export function adminTokenPath(data: string): string {
  return join(gatewayDataDir(data), "admin.token");
}

export async function startStackGateway(o: StackGatewayOptions): Promise<StackGateway> {
  const logger = createLogger({ name: "gateway" });
  const dataDir = gatewayDataDir(o.data);
  mkdirSync(dataDir, { recursive: true });
  const adminTokenFile = adminTokenPath(o.data);
  // The ground's own copy of the keys: the TTC's store changes with rotations, this one does not.
  const keys = await loadKeyFile(o.keysFile);
  const bus = new Bus({ node: "gateway", clock: o.clock, logger });
  const [hubEnd, gatewayEnd] = InProcessLink.pair("hub-gateway");
  o.hub.attach(hubEnd);
  bus.attach(gatewayEnd);
  const options: GatewayOptions = { bus, clock: o.clock, logger, dataDir, keys, spi: o.spi, host: o.host, port: o.port, adminTokenFile };
  if (o.rawTcpPort !== undefined || o.rawUdpPort !== undefined) {
    options.rawLink = { host: o.host };
    if (o.rawTcpPort !== undefined) options.rawLink.tcpPort = o.rawTcpPort;
    if (o.rawUdpPort !== undefined) options.rawLink.udpPort = o.rawUdpPort;
    if (o.rawUdpTmTo !== undefined) options.rawLink.udpTmTo = o.rawUdpTmTo;
  }
  let gateway;
  let note = "";
  try {
    try {
      gateway = await startGateway(options);
    } catch (err) {
      if (!(o.portFallback && o.port !== 0 && inUse(err))) throw err;
      gateway = await startGateway({ ...options, port: 0 });
      note = ` (${o.host}:${o.port} is in use, so it took a free port: pass --gateway ${gateway.url} to the umbra client commands, or free the port)`;
    }
  } catch (err) {
    bus.close();
    o.hub.detach(hubEnd);
    if (inUse(err)) throw new Error(`${o.host}:${o.port} (or a raw link port) is already in use: stop what holds it, or pass --gateway-port 0 for any free port`);
    throw err;
  }
  const raw = gateway.rawLink;
  const rawText = [raw?.tcpPort !== undefined ? `raw CCSDS link on tcp ${o.host}:${raw.tcpPort}` : "", raw?.udpPort !== undefined ? `udp ${o.host}:${raw.udpPort}` : ""].filter(Boolean).join(", ");
  const token = existsSync(adminTokenFile)
    ? `admin token in ${adminTokenFile}`
    : `no admin token file at ${adminTokenFile} (the gateway writes it only on its first start; an admin makes a new token with umbra users token <name>)`;
  return {
    url: gateway.url,
    adminTokenFile,
    ...(raw ? { rawLink: raw } : {}),
    summary: `gateway listening on ${gateway.url}${rawText ? ` (${rawText})` : ""}; ${token}${note}`,
    close: async () => {
      await gateway.close();
      bus.close();
    },
  };
}
