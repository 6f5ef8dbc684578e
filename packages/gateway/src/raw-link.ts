// The raw CCSDS link (issue #9): telecommand space packets in and telemetry
// space packets out, over TCP and UDP, so ground software that already
// speaks CCSDS (Yamcs, OpenC3 COSMOS, a mission's own MCS) can connect. These
// are the same packets the radio link would carry (docs/icd.md Part 2).
//
// - TCP: packets back to back in a byte stream, delimited by the primary
//   header's length field (raw-framing.ts). Each whole TC is published as
//   umbra.ttc.v1.TcUplink at command priority; every umbra.ttc.v1.TmDownlink
//   on the bus is written to every connected client.
// - UDP: one packet per datagram, both ways. TM goes to `udpTmTo`, or to
//   whoever sent the last valid TC datagram.
//
// The link holds no keys and authenticates nothing: ground software signs
// its own TCs, and the TTC checks them and answers every refusal with a PUS
// (1,2) report. What the link refuses is only what it cannot frame.
//
// Every byte here comes from the network, so every handler is guarded:
// nothing a peer sends can throw out of a socket callback. A framing
// violation closes that one connection (DESIGN.md "The bus"). TM is written
// without waiting: a client that does not read has its data pile up in its
// socket's buffer, and past `clientBufferBytes` it is dropped, so one slow
// client never holds up the bus or the other clients.
import { createServer, isIPv6, type Server, type Socket } from "node:net";
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { performance } from "node:perf_hooks";
import { Priority, silentLogger, type Bus, type Logger, type Subscription } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { PacketDeframer, checkMaxPacketBytes, checkTcDatagram, isIdlePacket, type FramingError } from "./raw-framing.js";

export interface RawLinkOptions {
  bus: Bus;
  logger?: Logger;
  /** Address both sockets bind to (default 127.0.0.1: only this machine, until someone decides otherwise). */
  host?: string;
  /** TCP port; undefined = no TCP; 0 = an ephemeral port (see RawLink.tcpPort). */
  tcpPort?: number;
  /** UDP port; undefined = no UDP; 0 = an ephemeral port (see RawLink.udpPort). */
  udpPort?: number;
  /** "host:port" ("[v6]:port" for IPv6) to send TM datagrams to; default: the address the last valid TC datagram came from. */
  udpTmTo?: string;
  /** Largest packet accepted, 7..65542 (default 65,542, the CCSDS maximum). */
  maxPacketBytes?: number;
  /** TCP connections served at once; more are refused (default 16). */
  maxClients?: number;
  /** TM octets a TCP client may leave unread in its socket's buffer before it is dropped (default 4 MiB). */
  clientBufferBytes?: number;
  /** Capacity of the link's bus subscription to TmDownlink, in messages (default 4096; overflow is counted by the bus). */
  tmQueueCapacity?: number;
}

export interface RawLinkStats {
  /** TCP clients connected now. */
  tcpClients: number;
  /** TC packets published on the bus as TcUplink (TCP and UDP). */
  tcIn: number;
  /** TM packets written: one per TCP client per packet, plus one per UDP datagram sent. */
  tmOut: number;
  /** UDP datagrams refused: not a TC, bad version, length disagreeing with the header, over maxPacketBytes. */
  rejected: number;
  /** TCP connections closed for a framing violation (not a TC, bad version, over maxPacketBytes, ended inside a packet). */
  framingErrors: number;
  /** TCP clients dropped for leaving more than clientBufferBytes of TM unread. */
  slowClientsDropped: number;
  /** TmDownlink packets that reached no destination (no TCP client and no UDP destination), and UDP sends that failed. */
  tmDropped: number;
  /** TCP connections refused because maxClients were already connected. */
  refusedClients: number;
  /** Idle packets (APID 2047) received and discarded, as CCSDS 133.0-B-2 says a receiver does. */
  idlePackets: number;
  /** Well-framed TCs that could not be published (no TTC on the bus, or the bus was closed or refused the message). */
  tcDropped: number;
}

export interface RawLink {
  /** The TCP port actually bound (the ephemeral one when 0 was asked), or undefined without TCP. */
  readonly tcpPort?: number;
  /** The UDP port actually bound, or undefined without UDP. */
  readonly udpPort?: number;
  stats(): RawLinkStats;
  /** Stops accepting, drops every client, closes both sockets and leaves the bus. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_RAW_LINK_HOST = "127.0.0.1";
export const DEFAULT_MAX_CLIENTS = 16;
export const DEFAULT_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;

interface Client {
  socket: Socket;
  name: string;
  deframer: PacketDeframer;
  closing: boolean;
}

interface UdpDestination {
  address: string;
  port: number;
}

function checkPort(field: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new RangeError(`${field}: must be an integer 0..65535, got ${String(value)}`);
}

function checkPositiveInt(field: string, value: number | undefined, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${field}: must be an integer 1..${max}, got ${String(value)}`);
}

/** Parses "host:port" or "[v6]:port" (RangeError naming udpTmTo when it is neither). */
export function parseHostPort(text: string): UdpDestination {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new RangeError(`udpTmTo: must be "host:port" or "[ipv6]:port" with a port 1..65535, got ${JSON.stringify(text)}`);
  }
  return { address: (m[1] ?? m[2])!, port };
}

function endpointName(address: string | undefined, port: number | undefined): string {
  const a = address ?? "?";
  return `${isIPv6(a) ? `[${a}]` : a}:${port ?? "?"}`;
}

/**
 * Rate limit for warnings about what peers send: a flood of garbage must not
 * become a flood of log lines. Counters keep the full count anyway.
 */
class WarnLimiter {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perWindow = 20,
    private readonly windowMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = performance.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) this.log.warn({ suppressed: this.suppressed }, "raw link: warnings suppressed in the last window");
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (this.inWindow < this.perWindow) {
      this.inWindow++;
      this.log.warn(fields, message);
    } else {
      this.suppressed++;
    }
  }
}

/** Starts the raw link on the ports asked for. Rejects (and leaves nothing open) if a socket cannot be bound. */
export async function startRawLink(options: RawLinkOptions): Promise<RawLink> {
  const bus = options.bus;
  const host = options.host ?? DEFAULT_RAW_LINK_HOST;
  checkPort("tcpPort", options.tcpPort);
  checkPort("udpPort", options.udpPort);
  const maxPacketBytes = checkMaxPacketBytes(options.maxPacketBytes);
  checkPositiveInt("maxClients", options.maxClients, 65_536);
  checkPositiveInt("clientBufferBytes", options.clientBufferBytes, 2 ** 31);
  checkPositiveInt("tmQueueCapacity", options.tmQueueCapacity, 1_000_000);
  const maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  const clientBufferBytes = options.clientBufferBytes ?? DEFAULT_CLIENT_BUFFER_BYTES;
  const fixedUdpTo = options.udpTmTo === undefined ? undefined : parseHostPort(options.udpTmTo);
  const log = (options.logger ?? silentLogger()).child({ component: "raw-link" });
  const peerWarn = new WarnLimiter(log);

  const counts = { tcIn: 0, tmOut: 0, rejected: 0, framingErrors: 0, slowClientsDropped: 0, tmDropped: 0, refusedClients: 0, idlePackets: 0, tcDropped: 0 };
  const clients = new Set<Client>();
  let lastUdpSender: UdpDestination | undefined;
  let closed = false;

  const publishTc = (packet: Uint8Array, link: string): void => {
    if (isIdlePacket(packet)) {
      counts.idlePackets++;
      return;
    }
    if (!bus.hasSubscribers(umbra.ttc.v1.TcUplink)) {
      // No TTC on the bus: the packet would reach no one. Counted and said, as a radio link would lose it.
      counts.tcDropped++;
      peerWarn.warn({ link }, "raw link: telecommand dropped: no TTC on the bus takes telecommands");
      return;
    }
    try {
      bus.publish(umbra.ttc.v1.TcUplink, { packet, link }, { priority: Priority.PRIORITY_COMMAND });
      counts.tcIn++;
    } catch (err) {
      counts.tcDropped++;
      peerWarn.warn({ err, link }, "raw link: telecommand not published on the bus");
    }
  };

  // ---- TCP -----------------------------------------------------------------------

  const dropClient = (client: Client, why: string, fields: Record<string, unknown> = {}): void => {
    if (client.closing) return;
    client.closing = true;
    peerWarn.warn({ client: client.name, ...fields }, `raw link: closing TCP client: ${why}`);
    client.socket.destroy();
  };

  const framingViolation = (client: Client, error: FramingError): void => {
    if (client.closing) return;
    counts.framingErrors++;
    dropClient(client, "framing violation", { kind: error.kind, reason: error.reason, offset: error.offset });
  };

  const onConnection = (socket: Socket): void => {
    try {
      const name = endpointName(socket.remoteAddress, socket.remotePort);
      if (closed || clients.size >= maxClients) {
        counts.refusedClients++;
        peerWarn.warn({ client: name, maxClients }, "raw link: TCP connection refused: too many clients");
        socket.on("error", () => undefined);
        socket.destroy();
        return;
      }
      const client: Client = { socket, name, deframer: new PacketDeframer({ maxPacketBytes }), closing: false };
      clients.add(client);
      socket.setNoDelay(true);
      const link = `raw-tcp:${name}`;
      log.info({ client: name }, "raw link: TCP client connected");
      socket.on("data", (chunk: Buffer) => {
        try {
          if (client.closing) return;
          const r = client.deframer.push(chunk);
          for (const packet of r.packets) publishTc(packet, link);
          if (r.error) framingViolation(client, r.error);
        } catch (err) {
          // Not expected (push never throws); still, a peer must not be able to throw out of here.
          log.error({ err, client: name }, "raw link: error handling TCP data");
          dropClient(client, "internal error");
        }
      });
      socket.on("end", () => {
        try {
          const error = client.deframer.end();
          if (error) framingViolation(client, error);
          else socket.end();
        } catch (err) {
          log.error({ err, client: name }, "raw link: error ending TCP client");
          socket.destroy();
        }
      });
      socket.on("error", (err) => {
        log.debug({ err, client: name }, "raw link: TCP client socket error");
      });
      socket.on("close", () => {
        clients.delete(client);
        log.info({ client: name }, "raw link: TCP client gone");
      });
    } catch (err) {
      log.error({ err }, "raw link: error accepting a TCP connection");
      socket.destroy();
    }
  };

  // ---- UDP -----------------------------------------------------------------------

  let udp: UdpSocket | undefined;
  const onDatagram = (msg: Buffer, rinfo: RemoteInfo): void => {
    try {
      const name = endpointName(rinfo.address, rinfo.port);
      const r = checkTcDatagram(msg, maxPacketBytes);
      if (!r.ok) {
        counts.rejected++;
        peerWarn.warn({ from: name, kind: r.error.kind, reason: r.error.reason }, "raw link: UDP datagram refused");
        return;
      }
      lastUdpSender = { address: rinfo.address, port: rinfo.port };
      publishTc(r.packet, `raw-udp:${name}`);
    } catch (err) {
      log.error({ err }, "raw link: error handling a UDP datagram");
    }
  };

  // ---- TM out --------------------------------------------------------------------

  const sendUdp = (packet: Uint8Array): boolean => {
    const to = fixedUdpTo ?? lastUdpSender;
    if (!udp || !to) return false;
    try {
      // Counted when the send completes: tmOut lags by the datagrams in flight.
      udp.send(packet, to.port, to.address, (err) => {
        if (err) {
          counts.tmDropped++;
          peerWarn.warn({ err, to: endpointName(to.address, to.port) }, "raw link: TM datagram not sent");
        } else {
          counts.tmOut++;
        }
      });
    } catch (err) {
      counts.tmDropped++;
      peerWarn.warn({ err, to: endpointName(to.address, to.port) }, "raw link: TM datagram not sent");
    }
    return true;
  };

  // Synchronous and never awaiting a socket: the bus is not held up by the link.
  const onTm = (tm: { packet: Uint8Array }): void => {
    try {
      const packet = tm.packet;
      if (!(packet instanceof Uint8Array) || packet.length === 0) return;
      let destinations = 0;
      for (const client of clients) {
        if (client.closing) continue;
        const socket = client.socket;
        if (socket.writableLength + packet.length > clientBufferBytes) {
          counts.slowClientsDropped++;
          dropClient(client, "not reading its telemetry", { unread: socket.writableLength, clientBufferBytes });
          continue;
        }
        socket.write(packet);
        counts.tmOut++;
        destinations++;
      }
      if (sendUdp(packet)) destinations++;
      if (destinations === 0) counts.tmDropped++;
    } catch (err) {
      log.error({ err }, "raw link: error sending TM");
    }
  };

  // ---- start ---------------------------------------------------------------------

  let server: Server | undefined;
  let subscription: Subscription | undefined;
  const closeAll = async (): Promise<void> => {
    closed = true;
    subscription?.unsubscribe();
    subscription = undefined;
    for (const c of clients) {
      c.closing = true;
      c.socket.destroy();
    }
    clients.clear();
    const waits: Promise<void>[] = [];
    if (server) {
      const s = server;
      waits.push(new Promise<void>((resolve) => s.close(() => resolve())));
      server = undefined;
    }
    if (udp) {
      const u = udp;
      waits.push(
        new Promise<void>((resolve) => {
          try {
            u.close(() => resolve());
          } catch {
            resolve(); // not bound yet, or already closed
          }
        }),
      );
      udp = undefined;
    }
    await Promise.all(waits);
  };

  let tcpPort: number | undefined;
  let udpPort: number | undefined;
  try {
    if (options.tcpPort !== undefined) {
      const s = createServer({ noDelay: true });
      server = s;
      s.on("connection", onConnection);
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen({ host, port: options.tcpPort }, () => {
          s.off("error", reject);
          resolve();
        });
      });
      s.on("error", (err) => log.error({ err }, "raw link: TCP server error"));
      const addr = s.address();
      tcpPort = typeof addr === "object" && addr ? addr.port : options.tcpPort;
    }
    if (options.udpPort !== undefined) {
      const u = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
      udp = u;
      u.on("message", onDatagram);
      await new Promise<void>((resolve, reject) => {
        u.once("error", reject);
        u.bind({ address: host, port: options.udpPort }, () => {
          u.off("error", reject);
          resolve();
        });
      });
      u.on("error", (err) => log.error({ err }, "raw link: UDP socket error"));
      udpPort = u.address().port;
    }
    subscription = bus.subscribe(umbra.ttc.v1.TmDownlink, onTm, { capacity: options.tmQueueCapacity ?? 4096 });
  } catch (err) {
    await closeAll();
    throw err;
  }
  log.info({ host, tcpPort, udpPort, udpTmTo: options.udpTmTo, maxPacketBytes, maxClients, clientBufferBytes }, "raw link up");

  let closing: Promise<void> | undefined;
  const link: RawLink = {
    ...(tcpPort === undefined ? {} : { tcpPort }),
    ...(udpPort === undefined ? {} : { udpPort }),
    stats: () => ({ tcpClients: clients.size, ...counts }),
    close: () => (closing ??= closeAll().then(() => log.info("raw link closed"))),
  };
  return link;
}
