// Accepts links from other bus nodes on a Unix domain socket or a TCP port.
import { createServer, createConnection, type Server, type Socket } from "node:net";
import { existsSync, unlinkSync } from "node:fs";
import type { Bus } from "../bus/bus.js";
import { StreamLink, type StreamLinkOptions } from "../bus/stream-link.js";
import { formatEndpoint, type Endpoint } from "./endpoint.js";

export interface BusServerOptions extends StreamLinkOptions {
  /** Connections beyond this are refused at once. */
  maxConnections?: number;
}

export class BusServer {
  private server: Server | undefined;
  private readonly links = new Set<StreamLink>();
  private boundEndpoint: Endpoint;
  refusedConnections = 0;

  private constructor(
    private readonly bus: Bus,
    endpoint: Endpoint,
    private readonly options: BusServerOptions,
  ) {
    this.boundEndpoint = endpoint;
  }

  /** Starts listening. For TCP port 0 the chosen port is in `endpoint`. */
  static async listen(bus: Bus, endpoint: Endpoint, options: BusServerOptions = {}): Promise<BusServer> {
    const server = new BusServer(bus, endpoint, options);
    await server.start();
    return server;
  }

  get endpoint(): Endpoint {
    return this.boundEndpoint;
  }

  get connectionCount(): number {
    return this.links.size;
  }

  private async start(): Promise<void> {
    const endpoint = this.boundEndpoint;
    if (endpoint.kind === "unix") await removeStaleSocket(endpoint.path);
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections ?? 64;
    server.on("drop", () => this.refusedConnections++);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      const onListening = () => {
        server.off("error", reject);
        resolve();
      };
      if (endpoint.kind === "unix") server.listen(endpoint.path, onListening);
      else server.listen(endpoint.port, endpoint.host, onListening);
    });
    server.on("error", () => undefined);
    this.server = server;
    const address = server.address();
    if (endpoint.kind === "tcp" && address && typeof address === "object") {
      this.boundEndpoint = { kind: "tcp", host: endpoint.host, port: address.port };
    }
  }

  private accept(socket: Socket): void {
    if (this.bus.isClosed) {
      // The node behind this server has shut down: refuse, do not throw.
      this.refusedConnections++;
      socket.destroy();
      return;
    }
    const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : "local";
    const link = new StreamLink(`${formatEndpoint(this.boundEndpoint)}<-${remote}`, { maxFrameBytes: this.bus.maxFrameBytes, ...this.options });
    this.links.add(link);
    this.bus.attach(link);
    link.attachSocket(socket);
    // A served link ends with its connection; the peer reconnects with a new one.
    socket.once("close", () => {
      this.links.delete(link);
      this.bus.detach(link);
    });
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      this.bus.detach(link);
      link.close(); // also when the bus has already closed and let go of it
    }
    this.links.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.boundEndpoint.kind === "unix") {
      try {
        unlinkSync(this.boundEndpoint.path);
      } catch {
        // already gone
      }
    }
  }
}

/** A socket file left by a crashed process blocks listen(); remove it only if nobody answers. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (alive) throw new Error(`unix socket ${path} is in use by another bus server`);
  unlinkSync(path);
}
