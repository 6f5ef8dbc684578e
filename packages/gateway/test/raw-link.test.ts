// The raw CCSDS link on real loopback sockets, in front of a real TTC on an
// in-process bus: authenticated TCs built as ground software builds them
// (TcBuilder), their PUS ST[01] reports read back off the same link and
// decoded with @umbra/ccsds; refusals, slow clients and the client limit.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, SimClock } from "@umbra/core";
import { KeyStore, PacketType, decodeSpacePacket, decodeTm, encodeSpacePacket, type Tm } from "@umbra/ccsds";
import { umbra, type MessageOf } from "@umbra/proto";
import { CommandHistory, ScheduleStore, SecurityState, TTC_APID, TcBuilder, TtcService, openTtcDatabase } from "@umbra/ttc";
import { parseHostPort, startRawLink, type RawLink, type RawLinkOptions } from "../src/raw-link.js";

const KEY = new Uint8Array(32).map((_, i) => (i * 13 + 5) & 0xff);
const keys = () => new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY }]);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

interface Payload {
  bus: Bus;
  ttc: TtcService;
  ground: TcBuilder;
  /** Every TcUplink published on the bus. */
  uplinks: MessageOf<typeof umbra.ttc.v1.TcUplink>[];
  verifications: MessageOf<typeof umbra.ttc.v1.Verification>[];
}

/** A real TTC on an in-process bus, on a simulated clock (so nothing periodic runs), with a temporary database. */
async function startPayload(): Promise<Payload> {
  const dir = mkdtempSync(join(tmpdir(), "umbra-raw-link-"));
  const clock = new SimClock({ startUtcMs: Date.UTC(2026, 5, 1) });
  const bus = new Bus({ node: "payload", clock, queueCapacity: 100_000 });
  const db = openTtcDatabase(join(dir, "ttc.db"));
  const ttc = new TtcService({ bus, clock }, { keys: keys(), history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db) });
  const uplinks: Payload["uplinks"] = [];
  const verifications: Payload["verifications"] = [];
  bus.subscribe(umbra.ttc.v1.TcUplink, (u) => void uplinks.push(u));
  bus.subscribe(umbra.ttc.v1.Verification, (v) => void verifications.push(v));
  await ttc.start();
  await bus.idle();
  cleanups.push(async () => {
    await ttc.stop();
    bus.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { bus, ttc, ground: new TcBuilder({ keys: keys(), spi: 1 }), uplinks, verifications };
}

async function link(options: Omit<RawLinkOptions, "bus"> & { bus: Bus }): Promise<RawLink> {
  const l = await startRawLink(options);
  cleanups.push(() => l.close());
  return l;
}

/** A TCP ground client: the TM stream it receives, deframed and decoded. */
class TcpGround {
  readonly socket: Socket;
  private buffer = new Uint8Array(0);
  readonly tm: Tm[] = [];
  bytes = 0;
  closed = false;

  private constructor(socket: Socket, private readonly decode: boolean) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.decode) this.take(chunk);
    });
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => undefined);
  }

  static async open(port: number, decode = true): Promise<TcpGround> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const g = new TcpGround(socket, decode);
    cleanups.push(() => socket.destroy());
    return g;
  }

  private take(chunk: Buffer): void {
    const all = new Uint8Array(this.buffer.length + chunk.length);
    all.set(this.buffer);
    all.set(chunk, this.buffer.length);
    let rest: Uint8Array = all;
    for (;;) {
      const p = decodeSpacePacket(rest);
      if (!p.ok) break; // truncated: wait for more
      const end = rest.length - (p.rest?.length ?? 0);
      const tm = decodeTm(rest.subarray(0, end));
      if (!tm.ok) throw new Error(`link sent an undecodable TM: ${tm.error.field}: ${tm.error.reason}`);
      this.tm.push(tm.value);
      rest = p.rest ?? new Uint8Array(0);
    }
    this.buffer = new Uint8Array(rest);
  }

  async write(...chunks: Uint8Array[]): Promise<void> {
    for (const c of chunks) {
      await new Promise<void>((resolve, reject) => this.socket.write(c, (err) => (err ? reject(err) : resolve())));
      await sleep(15); // separate TCP segments, so the link really has to reassemble
    }
  }

  get localName(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }
}

/** ST[01] reports about the TC whose first four octets are `tc[0..4)`. */
function reportsFor(tm: Tm[], tc: Uint8Array): string[] {
  return tm
    .filter((t) => t.service === 1 && Buffer.from(t.appData.subarray(0, 4)).equals(Buffer.from(tc.subarray(0, 4))))
    .map((t) => `(1,${t.subtype})`);
}

function tmPacket(apid: number, data = new Uint8Array(10)): Uint8Array {
  return encodeSpacePacket({ type: PacketType.TM, secondaryHeader: true, apid, sequenceFlags: 3, sequenceCount: 0, data });
}

async function udpSocket(): Promise<{ socket: UdpSocket; port: number; received: Uint8Array[] }> {
  const socket = createSocket("udp4");
  const received: Uint8Array[] = [];
  socket.on("message", (m) => void received.push(new Uint8Array(m)));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  return { socket, port: socket.address().port, received };
}

const sendUdp = (socket: UdpSocket, port: number, bytes: Uint8Array) =>
  new Promise<void>((resolve, reject) => socket.send(bytes, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())));

describe("raw CCSDS link over TCP", () => {
  it("reassembles a TC split across writes, publishes it as TcUplink, and returns its ST[01] reports on the same connection", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0 });
    expect(l.tcpPort).toBeGreaterThan(0);
    expect(l.udpPort).toBeUndefined();
    const g = await TcpGround.open(l.tcpPort!);
    await until(() => l.stats().tcpClients === 1, "the client to be registered");

    const tc = p.ground.perform(TTC_APID, "arm", umbra.ttc.v1.ArmCommand, { apid: TTC_APID, function: "rotateKey" });
    await g.write(tc.subarray(0, 3), tc.subarray(3, 11), tc.subarray(11, 30), tc.subarray(30));

    await until(() => reportsFor(g.tm, tc).includes("(1,7)"), "the completion report");
    expect(reportsFor(g.tm, tc)).toEqual(["(1,1)", "(1,3)", "(1,7)"]);
    const completion = g.tm.find((t) => t.service === 1 && t.subtype === 7)!;
    expect(completion.apid).toBe(TTC_APID);
    expect(completion.destinationId).toBe(p.ground.sourceId);
    expect(p.uplinks).toHaveLength(1);
    expect(new Uint8Array(p.uplinks[0]!.packet)).toEqual(tc);
    expect(p.uplinks[0]!.link).toBe(`raw-tcp:${g.localName}`);
    expect(p.verifications.at(-1)).toMatchObject({ stage: umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION, success: true, command: "arm" });

    // Two TCs in one write, and one with a bad MAC: the link frames, the TTC judges (a (1,2) comes back).
    const a = p.ground.areYouAlive(TTC_APID);
    const forged = p.ground.areYouAlive(TTC_APID);
    forged[20] = forged[20]! ^ 0xff;
    await g.write(Buffer.concat([a, forged]));
    await until(() => reportsFor(g.tm, a).includes("(1,7)") && reportsFor(g.tm, forged).length > 0, "reports of both");
    expect(reportsFor(g.tm, a)).toEqual(["(1,1)", "(1,3)", "(1,7)"]);
    expect(g.tm.some((t) => t.service === 17 && t.subtype === 2)).toBe(true);
    expect(reportsFor(g.tm, forged)).toEqual(["(1,2)"]);
    const s = l.stats();
    expect(s).toMatchObject({ tcpClients: 1, tcIn: 3, framingErrors: 0, rejected: 0, slowClientsDropped: 0 });
    expect(s.tmOut).toBe(g.tm.length);
  });

  it("sends every TM to every connected client", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0 });
    const g1 = await TcpGround.open(l.tcpPort!);
    const g2 = await TcpGround.open(l.tcpPort!);
    await until(() => l.stats().tcpClients === 2, "two clients");
    const tc = p.ground.areYouAlive(TTC_APID);
    await g1.write(tc);
    await until(() => reportsFor(g2.tm, tc).includes("(1,7)") && reportsFor(g1.tm, tc).includes("(1,7)"), "reports at both clients");
    expect(g2.tm.map((t) => `${t.service},${t.subtype}`)).toEqual(g1.tm.map((t) => `${t.service},${t.subtype}`));
  });

  const badStreams: [string, (p: Payload) => Uint8Array, string][] = [
    ["garbage", () => new Uint8Array([0xe7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]), "a bad version"],
    ["a TM packet", () => tmPacket(TTC_APID), "a packet of type TM"],
    ["an oversized length", () => new Uint8Array([0x18, 0x10, 0xc0, 0x00, 0x20, 0x00, 1, 2, 3]), "a length over maxPacketBytes (8199 > 4096)"],
  ];
  for (const [what, make, why] of badStreams) {
    it(`closes a connection that sends ${what} (${why}), counts it, publishes nothing, and leaves other clients alone`, async () => {
      const p = await startPayload();
      const l = await link({ bus: p.bus, tcpPort: 0, maxPacketBytes: 4096 });
      const good = await TcpGround.open(l.tcpPort!);
      const bad = await TcpGround.open(l.tcpPort!);
      await until(() => l.stats().tcpClients === 2, "two clients");
      await bad.write(make(p));
      await until(() => bad.closed, "the bad connection to be closed");
      await until(() => l.stats().tcpClients === 1, "the bad client to be gone");
      expect(l.stats()).toMatchObject({ framingErrors: 1, tcIn: 0 });
      await p.bus.idle();
      expect(p.uplinks).toHaveLength(0);
      expect(p.verifications).toHaveLength(0);
      // The other client is untouched.
      const tc = p.ground.areYouAlive(TTC_APID);
      await good.write(tc);
      await until(() => reportsFor(good.tm, tc).includes("(1,7)"), "the good client's reports");
      expect(good.closed).toBe(false);
    });
  }

  it("counts a connection that ends inside a packet (truncated) as a framing error and publishes nothing", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0 });
    const bad = await TcpGround.open(l.tcpPort!);
    const tc = p.ground.areYouAlive(TTC_APID);
    await bad.write(tc.subarray(0, tc.length - 5));
    bad.socket.end(); // half-close: the link sees the stream end inside the packet
    await until(() => bad.closed, "the connection to be closed");
    await until(() => l.stats().framingErrors === 1, "the framing error");
    await p.bus.idle();
    expect(p.uplinks).toHaveLength(0);
    expect(l.stats()).toMatchObject({ tcIn: 0, tcpClients: 0 });
  });

  it("publishes the whole TCs that came before a framing violation on the same connection", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0 });
    const g = await TcpGround.open(l.tcpPort!);
    const tc = p.ground.areYouAlive(TTC_APID);
    await g.write(Buffer.concat([tc, tmPacket(5)]));
    await until(() => g.closed, "the connection to be closed");
    await until(() => p.uplinks.length === 1, "the TC before the violation");
    expect(l.stats()).toMatchObject({ tcIn: 1, framingErrors: 1 });
  });

  it("drops a client that does not read its TM, while another keeps receiving all of it", async () => {
    const p = await startPayload();
    const clientBufferBytes = 256 * 1024;
    const l = await link({ bus: p.bus, tcpPort: 0, clientBufferBytes });
    const reader = await TcpGround.open(l.tcpPort!, false);
    const sleeper = await TcpGround.open(l.tcpPort!, false);
    sleeper.socket.pause(); // reads nothing: the kernel's buffers fill, then the link's
    await until(() => l.stats().tcpClients === 2, "two clients");

    const packet = tmPacket(TTC_APID, new Uint8Array(30_000).fill(0x5a));
    let sent = 0;
    for (let i = 0; i < 4000 && l.stats().slowClientsDropped === 0; i++) {
      p.bus.publish(umbra.ttc.v1.TmDownlink, { packet, apid: TTC_APID, service: 3, subtype: 25 });
      p.bus.publish(umbra.ttc.v1.TmDownlink, { packet, apid: TTC_APID, service: 3, subtype: 25 });
      sent += 2 * packet.length;
      await p.bus.idle();
      await until(() => reader.bytes === sent, "the reader to keep up");
    }
    expect(l.stats().slowClientsDropped).toBe(1);
    await until(() => l.stats().tcpClients === 1, "the sleeper to be gone");
    // The reader goes on receiving everything.
    for (let i = 0; i < 10; i++) p.bus.publish(umbra.ttc.v1.TmDownlink, { packet, apid: TTC_APID, service: 3, subtype: 25 });
    sent += 10 * packet.length;
    await p.bus.idle();
    await until(() => reader.bytes === sent, "the reader to receive the rest");
    expect(reader.closed).toBe(false);
    // The sleeper got less than was sent, and its connection is closed once it looks.
    expect(sleeper.bytes).toBe(0);
    sleeper.socket.resume();
    await until(() => sleeper.closed, "the sleeper to see its connection closed");
    expect(sleeper.bytes).toBeLessThan(sent);
    expect(l.stats()).toMatchObject({ slowClientsDropped: 1, framingErrors: 0 });
  });

  it("refuses connections beyond maxClients, and takes a new one once a place is free", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0, maxClients: 2 });
    const a = await TcpGround.open(l.tcpPort!);
    const b = await TcpGround.open(l.tcpPort!);
    await until(() => l.stats().tcpClients === 2, "two clients");
    const c = await TcpGround.open(l.tcpPort!);
    await until(() => c.closed, "the third connection to be refused");
    expect(l.stats()).toMatchObject({ tcpClients: 2, refusedClients: 1 });
    a.socket.destroy();
    await until(() => l.stats().tcpClients === 1, "a place to be free");
    const d = await TcpGround.open(l.tcpPort!);
    await until(() => l.stats().tcpClients === 2, "the new client");
    const tc = p.ground.areYouAlive(TTC_APID);
    await d.write(tc);
    await until(() => reportsFor(d.tm, tc).includes("(1,7)") && reportsFor(b.tm, tc).includes("(1,7)"), "reports at both clients");
    expect(d.closed).toBe(false);
  });
});

describe("raw CCSDS link over UDP", () => {
  it("takes one TC per datagram and sends its reports, one TM per datagram, back to the sender", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, udpPort: 0 });
    expect(l.udpPort).toBeGreaterThan(0);
    expect(l.tcpPort).toBeUndefined();
    const ground = await udpSocket();
    const tc = p.ground.areYouAlive(TTC_APID);
    await sendUdp(ground.socket, l.udpPort!, tc);
    const tms = () => ground.received.map((d) => decodeTm(d)).flatMap((r) => (r.ok ? [r.value] : []));
    await until(() => reportsFor(tms(), tc).includes("(1,7)"), "the completion report");
    expect(ground.received.every((d) => decodeTm(d).ok)).toBe(true); // each datagram is exactly one TM packet
    expect(reportsFor(tms(), tc)).toEqual(["(1,1)", "(1,3)", "(1,7)"]);
    expect(tms().map((t) => `${t.service},${t.subtype}`)).toEqual(["1,1", "1,3", "17,2", "1,7"]);
    expect(p.uplinks.map((u) => ({ packet: new Uint8Array(u.packet), link: u.link }))).toEqual([{ packet: tc, link: `raw-udp:127.0.0.1:${ground.port}` }]);
    await until(() => l.stats().tmOut === 4, "the sends to complete");
    expect(l.stats()).toMatchObject({ tcIn: 1, tmOut: 4, rejected: 0, tmDropped: 0 });

    // An (8,1) too, to a real function.
    const arm = p.ground.perform(TTC_APID, "arm", umbra.ttc.v1.ArmCommand, { apid: TTC_APID, function: "rotateKey" });
    await sendUdp(ground.socket, l.udpPort!, arm);
    await until(() => reportsFor(tms(), arm).includes("(1,7)"), "the arm's completion report");
  });

  it("refuses garbage, a TM, an oversized packet, a truncated one and one with octets after it; counts each and publishes nothing", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, udpPort: 0, maxPacketBytes: 1024 });
    const ground = await udpSocket();
    const tc = p.ground.areYouAlive(TTC_APID);
    const oversized = p.ground.tc(TTC_APID, 17, 1, new Uint8Array(1000));
    const bad = [new Uint8Array([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8]), tmPacket(TTC_APID), oversized, tc.subarray(0, tc.length - 1), Buffer.concat([tc, new Uint8Array([0])]), new Uint8Array([0x18])];
    for (const d of bad) await sendUdp(ground.socket, l.udpPort!, d);
    await until(() => l.stats().rejected === bad.length, "every datagram to be refused");
    await p.bus.idle();
    expect(p.uplinks).toHaveLength(0);
    expect(p.verifications).toHaveLength(0);
    // Nothing refused became "the last sender": no TM went anywhere.
    expect(ground.received).toHaveLength(0);
    // The link still works.
    await sendUdp(ground.socket, l.udpPort!, tc);
    await until(() => p.uplinks.length === 1, "the good TC");
    expect(l.stats()).toMatchObject({ tcIn: 1, rejected: bad.length });
  });

  it("sends TM to udpTmTo when it is given, whoever sent the TC", async () => {
    const p = await startPayload();
    const station = await udpSocket();
    const l = await link({ bus: p.bus, udpPort: 0, udpTmTo: `127.0.0.1:${station.port}` });
    const sender = await udpSocket();
    const tc = p.ground.areYouAlive(TTC_APID);
    await sendUdp(sender.socket, l.udpPort!, tc);
    await until(() => station.received.length === 4, "the reports at the station");
    expect(sender.received).toHaveLength(0);
  });
});

describe("raw link, both transports and its edges", () => {
  it("serves TCP and UDP together: TM goes to the TCP clients and to the last UDP sender", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0, udpPort: 0 });
    const g = await TcpGround.open(l.tcpPort!);
    const u = await udpSocket();
    await until(() => l.stats().tcpClients === 1, "the TCP client");
    const tc = p.ground.areYouAlive(TTC_APID);
    await sendUdp(u.socket, l.udpPort!, tc);
    await until(() => u.received.length === 4 && g.tm.length === 4, "TM on both");
    await until(() => l.stats().tmOut === 8, "the UDP sends to complete");
  });

  it("counts TM that has nowhere to go, and stops cleanly (close is idempotent, frees the ports)", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0, udpPort: 0 });
    p.bus.publish(umbra.ttc.v1.TmDownlink, { packet: tmPacket(1), apid: 1, service: 3, subtype: 25 });
    await p.bus.idle();
    expect(l.stats()).toMatchObject({ tmDropped: 1, tmOut: 0 });
    const g = await TcpGround.open(l.tcpPort!);
    await until(() => l.stats().tcpClients === 1, "the client");
    await Promise.all([l.close(), l.close()]);
    await until(() => g.closed, "the client to be closed");
    // The bus no longer feeds the link.
    p.bus.publish(umbra.ttc.v1.TmDownlink, { packet: tmPacket(1), apid: 1, service: 3, subtype: 25 });
    await p.bus.idle();
    expect(l.stats().tmDropped).toBe(1);
    // The ports are free again.
    const again = await link({ bus: p.bus, tcpPort: l.tcpPort!, udpPort: l.udpPort! });
    expect(again.tcpPort).toBe(l.tcpPort);
  });

  it("discards idle packets (APID 2047) without bothering the TTC", async () => {
    const p = await startPayload();
    const l = await link({ bus: p.bus, tcpPort: 0 });
    const g = await TcpGround.open(l.tcpPort!);
    const idle = encodeSpacePacket({ type: PacketType.TC, secondaryHeader: false, apid: 2047, sequenceFlags: 3, sequenceCount: 0, data: new Uint8Array(8) });
    await g.write(idle);
    await until(() => l.stats().idlePackets === 1, "the idle packet");
    expect(p.uplinks).toHaveLength(0);
    expect(g.closed).toBe(false);
  });

  it("refuses bad options and a port already taken, leaving nothing open", async () => {
    const p = await startPayload();
    await expect(startRawLink({ bus: p.bus, tcpPort: -1 })).rejects.toThrow(/tcpPort/);
    await expect(startRawLink({ bus: p.bus, udpPort: 70_000 })).rejects.toThrow(/udpPort/);
    await expect(startRawLink({ bus: p.bus, maxPacketBytes: 5 })).rejects.toThrow(/maxPacketBytes/);
    await expect(startRawLink({ bus: p.bus, maxClients: 0 })).rejects.toThrow(/maxClients/);
    await expect(startRawLink({ bus: p.bus, udpPort: 0, udpTmTo: "nowhere" })).rejects.toThrow(/udpTmTo/);
    const first = await link({ bus: p.bus, tcpPort: 0, udpPort: 0 });
    await expect(startRawLink({ bus: p.bus, udpPort: 0, tcpPort: first.tcpPort! })).rejects.toThrow(/EADDRINUSE/);
    // TCP binds, then UDP cannot: the TCP port is let go again.
    const probe = await startRawLink({ bus: p.bus, tcpPort: 0 });
    const freePort = probe.tcpPort!;
    await probe.close();
    await expect(startRawLink({ bus: p.bus, tcpPort: freePort, udpPort: first.udpPort! })).rejects.toThrow(/EADDRINUSE/);
    const retry = await link({ bus: p.bus, tcpPort: freePort });
    expect(retry.tcpPort).toBe(freePort);
    expect(parseHostPort("[::1]:9000")).toEqual({ address: "::1", port: 9000 });
    expect(parseHostPort("ground.example:10025")).toEqual({ address: "ground.example", port: 10025 });
    expect(() => parseHostPort("host:0")).toThrow(/udpTmTo/);
  });

  it("counts a TC as dropped, not sent, while no TTC on the bus takes telecommands; sends it once one does", async () => {
    const bus = new Bus({ node: "no-ttc", clock: new SimClock() });
    const l = await link({ bus, udpPort: 0 });
    const u = await udpSocket();
    const tc = new TcBuilder({ keys: keys(), spi: 1 }).areYouAlive(TTC_APID);
    await sendUdp(u.socket, l.udpPort!, tc);
    await until(() => l.stats().tcDropped === 1, "the TC with no TTC to be counted as dropped");
    expect(l.stats().tcIn).toBe(0);
    const seen: unknown[] = [];
    bus.subscribe(umbra.ttc.v1.TcUplink, (m) => void seen.push(m));
    await sendUdp(u.socket, l.udpPort!, tc);
    await until(() => l.stats().tcIn === 1, "the TC to be published once a TTC is there");
    await bus.idle();
    expect(seen).toHaveLength(1);
    expect(l.stats().tcDropped).toBe(1);
    bus.close();
  });

  it("never lets a TC that the bus refuses throw out of the socket handler", async () => {
    const bus = new Bus({ node: "lonely", clock: new SimClock() });
    const l = await link({ bus, udpPort: 0 });
    const u = await udpSocket();
    const tc = new TcBuilder({ keys: keys(), spi: 1 }).areYouAlive(TTC_APID);
    bus.close();
    await sendUdp(u.socket, l.udpPort!, tc);
    await until(() => l.stats().tcDropped === 1, "the refused publish to be counted");
    expect(l.stats().tcIn).toBe(0);
  });
});
