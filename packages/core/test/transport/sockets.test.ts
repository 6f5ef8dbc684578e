import { afterEach, describe, expect, it } from "vitest";
import { connect, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { umbra } from "@umbra/proto";
import { Bus } from "../../src/bus/bus.js";
import { encodeFrame } from "../../src/bus/framing.js";
import { BusServer } from "../../src/transport/server.js";
import { BusClient, backoffDelay, DEFAULT_RECONNECT } from "../../src/transport/client.js";
import { parseEndpoint, type Endpoint } from "../../src/transport/endpoint.js";
import { RealClock } from "../../src/time/real-clock.js";
import { Priority } from "../../src/bus/priority.js";
import { helloFrame } from "../support/frames.js";

const { Ping, Pong } = umbra.bench.v1;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function bus(name: string, maxFrameBytes?: number) {
  const b = new Bus({ node: name, clock: new RealClock({ unref: true }), ...(maxFrameBytes ? { maxFrameBytes } : {}) });
  cleanups.push(() => b.close());
  return b;
}

function tempSocket(): string {
  const dir = mkdtempSync(join(tmpdir(), "umbra-bus-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "bus.sock");
}

async function until(cond: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function serve(b: Bus, endpoint: Endpoint) {
  const s = await BusServer.listen(b, endpoint);
  cleanups.push(() => s.close());
  return s;
}

async function client(b: Bus, endpoint: Endpoint, fast = true) {
  const c = await BusClient.connect(b, endpoint, fast ? { reconnect: { initialDelayMs: 10, maxDelayMs: 50 } } : {});
  cleanups.push(() => c.close());
  return c;
}

/** Both sides have exchanged subscriptions once the client sees the server's inbox. */
async function joined(c: BusClient, serverNode: string) {
  await until(() => c.link.remoteTopics.has(`@${serverNode}`), "subscriptions");
}

for (const kind of ["unix", "tcp"] as const) {
  describe(`bus over ${kind} socket`, () => {
    const endpointFor = () => (kind === "unix" ? parseEndpoint(`unix:${tempSocket()}`) : parseEndpoint("tcp:127.0.0.1:0"));

    it("carries publish/subscribe both ways and request/reply", async () => {
      const hub = bus("hub");
      const server = await serve(hub, endpointFor());
      const spoke = bus("spoke");
      const c = await client(spoke, server.endpoint);
      const atHub: bigint[] = [];
      const atSpoke: bigint[] = [];
      hub.subscribe(Ping, (m) => {
        atHub.push(m.id);
      });
      spoke.subscribe(Pong, (m) => {
        atSpoke.push(m.id);
      });
      hub.serve(Ping, Pong, (q) => ({ id: q.id + 1n }), { target: "hub-svc" });
      await joined(c, "hub");
      await until(() => c.link.remoteTopics.has("umbra.bench.v1.Ping"), "hub subscription");
      spoke.publish(Ping, { id: 2n ** 63n });
      await until(() => server.connectionCount === 1 && hub.stats().links[0]!.peer === "spoke", "hub sees spoke");
      await until(() => [...hub["links"]].some((l) => l.remoteTopics.has("umbra.bench.v1.Pong")), "spoke subscription");
      hub.publish(Pong, { id: 9n });
      const reply = await spoke.request(Ping, { id: 41n }, Pong, { target: "hub-svc", timeoutMs: 2000 });
      expect(reply.id).toBe(42n);
      // The request went to the server, not to plain subscribers.
      await until(() => atHub.length === 1 && atSpoke.length === 1, "deliveries");
      expect(atHub).toEqual([2n ** 63n]);
      expect(atSpoke).toEqual([9n]);
    });

    it("reconnects with backoff after the server goes away, and sends what was queued meanwhile", async () => {
      const endpoint = endpointFor();
      const hub1 = bus("hub");
      const server1 = await serve(hub1, endpoint);
      const bound = server1.endpoint;
      const spoke = bus("spoke");
      const c = await client(spoke, bound);
      hub1.subscribe(Ping, () => undefined);
      await until(() => c.link.remoteTopics.has("umbra.bench.v1.Ping"), "hub interest");
      await server1.close();
      await until(() => !c.connected, "disconnect");
      // Published while down: waits in the link's bounded queue.
      spoke.publish(Ping, { id: 1n }, {});
      const hub2 = bus("hub2");
      const got: bigint[] = [];
      hub2.subscribe(Ping, (m) => {
        got.push(m.id);
      });
      // The client kept the old hub's interest, so id 1 waited in its queue and goes out
      // as soon as the new connection is up.
      await serve(hub2, bound);
      await until(() => c.connected, "reconnect");
      await until(() => c.link.remoteTopics.has("@hub2"), "resubscribe");
      spoke.publish(Ping, { id: 2n });
      await until(() => got.includes(2n), "delivery after reconnect");
      expect(got).toEqual([1n, 2n]);
      expect(c.link.counters.reconnects).toBe(1);
    });
  });
}

describe("link queue while the peer is away", () => {
  it("keeps at most its capacity, drops the lowest class first, counts it, and sends the rest on reconnect", async () => {
    const path = tempSocket();
    const hub1 = bus("hub");
    const server1 = await BusServer.listen(hub1, parseEndpoint(`unix:${path}`));
    const spoke = bus("spoke");
    const c = await BusClient.connect(spoke, server1.endpoint, { queueCapacity: 3, reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    cleanups.push(() => c.close());
    // The hub wants Ping, so the spoke forwards it once connected.
    hub1.subscribe(Ping, () => undefined);
    await until(() => c.link.remoteTopics.has("umbra.bench.v1.Ping"), "subscription");
    await server1.close();
    await until(() => !c.connected, "disconnect");
    // The client link keeps the hub's last known interest while down, so these queue.
    expect(c.link.remoteTopics.has("umbra.bench.v1.Ping")).toBe(true);
    // One publish per turn of the event loop, so each is a frame of its own
    // (publishes of one turn may leave as one batch; see the batch tests).
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    spoke.publish(Ping, { id: 1n }, { priority: Priority.PRIORITY_BULK });
    await turn();
    spoke.publish(Ping, { id: 2n }, { priority: Priority.PRIORITY_TELEMETRY });
    await turn();
    spoke.publish(Ping, { id: 3n }, { priority: Priority.PRIORITY_TELEMETRY });
    await turn();
    spoke.publish(Ping, { id: 4n }, { priority: Priority.PRIORITY_SAFETY }); // evicts 1
    await turn();
    spoke.publish(Ping, { id: 5n }, { priority: Priority.PRIORITY_BULK }); // nothing lower: dropped
    await turn();
    expect(c.link.outbound.length).toBe(3);
    expect(spoke.stats().links[0]!.dropped).toEqual({ bulk: 2n, telemetry: 0n, command: 0n, safety: 0n });
    const hub2 = bus("hub2");
    const got: bigint[] = [];
    hub2.subscribe(Ping, (m) => {
      got.push(m.id);
    });
    await serve(hub2, parseEndpoint(`unix:${path}`));
    await until(() => got.length === 3, "queued frames after reconnect");
    expect(got).toEqual([4n, 2n, 3n]);
  });
});

describe("hostile and broken peers", () => {
  async function rawPeer(endpoint: Endpoint): Promise<Socket> {
    const s = endpoint.kind === "unix" ? connect(endpoint.path) : connect(endpoint.port, endpoint.host);
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("error", reject);
    });
    s.on("error", () => undefined);
    s.resume(); // read and discard what the hub sends, so a hang-up is seen
    cleanups.push(() => s.destroy());
    return s;
  }
  const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));

  async function setup() {
    const hub = bus("hub", 4096);
    const server = await serve(hub, parseEndpoint(`unix:${tempSocket()}`));
    // A well-behaved neighbour must be unaffected by the hostile one.
    const good = bus("good");
    const c = await client(good, server.endpoint);
    await joined(c, "hub");
    const got: bigint[] = [];
    hub.subscribe(Ping, (m) => {
      got.push(m.id);
    });
    await until(() => c.link.remoteTopics.has("umbra.bench.v1.Ping"), "subscription");
    const stillWorks = async (id: bigint) => {
      good.publish(Ping, { id });
      await until(() => got.includes(id), "good peer delivery");
    };
    const linkStats = () => hub.stats().links;
    return { hub, server, stillWorks, linkStats };
  }

  it("closes only the connection that sends an oversized frame, and counts it", async () => {
    const { hub, server, stillWorks, linkStats } = await setup();
    const evil = await rawPeer(server.endpoint);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(10_000_000);
    evil.write(header);
    await closed(evil);
    await until(() => server.connectionCount === 1, "evil connection dropped");
    await stillWorks(1n);
    expect(linkStats()).toHaveLength(1);
    // The connection is gone but what it did is still counted.
    expect(hub.stats().closedLinks).toMatchObject({ transport: "1 closed", framingViolations: 1n });
  });

  it("closes a connection that sends a zero-length frame", async () => {
    const { server, stillWorks } = await setup();
    const evil = await rawPeer(server.endpoint);
    evil.write(Buffer.from([0, 0, 0, 0]));
    await closed(evil);
    await stillWorks(2n);
  });

  it("counts and drops garbage inside good framing, keeping the connection open", async () => {
    const { hub, server, stillWorks } = await setup();
    const evil = await rawPeer(server.endpoint);
    evil.write(encodeFrame(helloFrame("evil")));
    evil.write(encodeFrame(Buffer.from("this is not protobuf at all \xff\xff")));
    evil.write(encodeFrame(umbra.bus.v1.Envelope.encode({ topic: "evil.Unknown", source: "evil", payload: Buffer.from([1]) }).finish()));
    evil.write(encodeFrame(umbra.bus.v1.Envelope.encode({ topic: "umbra.bench.v1.Ping", source: "evil", payload: Buffer.from([0x08, 0xff]) }).finish()));
    await until(() => {
      const l = hub.stats().links.find((x) => x.transport.includes("<-local") && x.unknownTypes > 0n);
      return l !== undefined && l.malformedFrames >= 1n && hub.stats().decodeErrors === 1n;
    }, "counters");
    expect(evil.destroyed).toBe(false);
    await stillWorks(3n);
  });

  it("counts a frame cut off by the peer hanging up as a framing violation", async () => {
    const { hub, server, stillWorks } = await setup();
    const before = hub.stats().links.length;
    const evil = await rawPeer(server.endpoint);
    await until(() => hub.stats().links.length === before + 1, "evil link");
    const link = [...hub["links"]].at(-1)!;
    evil.end(Buffer.from([0, 0, 0, 50, 1, 2, 3]));
    await until(() => link.counters.framingViolations === 1, "truncated frame counted");
    await stillWorks(4n);
  });

  it("survives a peer that sends a megabyte of random bytes", async () => {
    const { server, stillWorks } = await setup();
    const evil = await rawPeer(server.endpoint);
    const junk = Buffer.alloc(1 << 20);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
    evil.write(junk);
    await closed(evil);
    await stillWorks(5n);
  });

  it("refuses connections beyond the limit", async () => {
    const hub = bus("hub");
    const s = await BusServer.listen(hub, parseEndpoint(`unix:${tempSocket()}`), { maxConnections: 1 });
    cleanups.push(() => s.close());
    await rawPeer(s.endpoint);
    const second = await rawPeer(s.endpoint);
    await closed(second);
    expect(s.refusedConnections).toBe(1);
  });

  it("refuses to publish a message larger than the bus maximum, with a clear error", () => {
    const b = bus("small", 4096);
    expect(() => b.publish(Ping, { data: new Uint8Array(5000) })).toThrow(/umbra.bench.v1.Ping: message of 500\d bytes exceeds the bus maximum of 3072/);
  });

  it("will not take over a unix socket another server is using", async () => {
    const path = tempSocket();
    await serve(bus("one"), parseEndpoint(`unix:${path}`));
    await expect(BusServer.listen(bus("two"), parseEndpoint(`unix:${path}`))).rejects.toThrow(/in use/);
  });
});

describe("endpoints and backoff", () => {
  it("parses endpoints and names the problem in bad ones", () => {
    expect(parseEndpoint("unix:/run/umbra/bus.sock")).toEqual({ kind: "unix", path: "/run/umbra/bus.sock" });
    expect(parseEndpoint("tcp:127.0.0.1:7400")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 7400 });
    expect(parseEndpoint("tcp:[::1]:80")).toEqual({ kind: "tcp", host: "::1", port: 80 });
    expect(() => parseEndpoint("udp:1.2.3.4:5")).toThrow(/expected unix:<path> or tcp:<host>:<port>/);
    expect(() => parseEndpoint("unix:")).toThrow(/path is empty/);
    expect(() => parseEndpoint(`unix:/${"x".repeat(200)}`)).toThrow(/longer than 107/);
    expect(() => parseEndpoint("tcp:host:99999")).toThrow(/port/);
    expect(() => parseEndpoint("tcp::80")).toThrow(/expected tcp/);
  });

  it("backs off exponentially up to the cap, with bounded jitter", () => {
    const p = { ...DEFAULT_RECONNECT, jitter: 0 };
    expect([0, 1, 2, 3, 10, 50].map((n) => backoffDelay(p, n))).toEqual([50, 100, 200, 400, 5000, 5000]);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(DEFAULT_RECONNECT, 2);
      expect(d).toBeGreaterThanOrEqual(160);
      expect(d).toBeLessThanOrEqual(240);
    }
  });
});

describe("client backoff against a server that refuses it", () => {
  it("keeps backing off when every connection is refused after connect, and stops when its bus closes", async () => {
    const path = tempSocket();
    const hub = bus("same-name");
    const server = await BusServer.listen(hub, parseEndpoint(`unix:${path}`));
    cleanups.push(() => server.close());
    // A client with the hub's own name: its Hello is refused every time.
    const twin = new Bus({ node: "same-name", clock: new RealClock({ unref: true }) });
    const c = BusClient.start(twin, server.endpoint, { reconnect: { initialDelayMs: 10, maxDelayMs: 400, jitter: 0 } });
    await new Promise((r) => setTimeout(r, 700));
    // 10+20+40+80+160+320 ms of waits fit in 700 ms: a handful of attempts, not seventy.
    expect(c.link.counters.reconnects).toBeLessThanOrEqual(6);
    twin.close();
    const after = c.link.counters.reconnects;
    await new Promise((r) => setTimeout(r, 300));
    expect(c.link.counters.reconnects).toBe(after);
    await c.close();
  });
});
