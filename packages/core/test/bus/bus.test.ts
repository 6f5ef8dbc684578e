import { describe, expect, it } from "vitest";
import { umbra, type MessageOf } from "@umbra/proto";
import { BusClosedError, BusRemoteError, BusTimeoutError } from "../../src/bus/errors.js";
import { InProcessLink } from "../../src/bus/in-process-link.js";
import { Priority } from "../../src/bus/priority.js";
import { SimClock } from "../../src/time/sim-clock.js";
import { join, node, settle } from "../support/buses.js";
import { helloFrame } from "../support/frames.js";

const { Ping, Pong } = umbra.bench.v1;
type PingMsg = MessageOf<typeof Ping>;


describe("bus: publish/subscribe in one process", () => {
  it("delivers typed messages with 64-bit fields as exact bigints, in order", async () => {
    const bus = node("a");
    const got: PingMsg[] = [];
    bus.subscribe(Ping, (m) => {
      got.push(m);
    });
    bus.publish(Ping, { id: 2n ** 64n - 1n, data: new Uint8Array([1, 2]) });
    bus.publish(Ping, { id: 7 });
    await bus.idle();
    expect(got.map((m) => m.id)).toEqual([2n ** 64n - 1n, 7n]);
    expect([...got[0]!.data]).toEqual([1, 2]);
    expect(got[1]!.data.length).toBe(0); // unset field takes its default
  });

  it("gives every queued message its own bytes, however many are published before a handler runs", async () => {
    // Regression: publish encodes through a shared writer; a message decoded for a
    // local subscriber kept views into it, and the next publish overwrote them.
    const bus = node("a");
    const peer = node("b");
    join(bus, peer); // a link too, so each envelope is also encoded for the wire
    const local: PingMsg[] = [];
    const remote: PingMsg[] = [];
    bus.subscribe(Ping, (m) => {
      local.push(m);
    });
    peer.subscribe(Ping, (m) => {
      remote.push(m);
    });
    await settle(bus, peer);
    for (let i = 0; i < 50; i++) bus.publish(Ping, { id: i, data: new Uint8Array(3 + (i % 5)).fill(i) });
    await settle(bus, peer);
    for (const got of [local, remote]) {
      expect(got).toHaveLength(50);
      got.forEach((m, i) => {
        expect(m.id).toBe(BigInt(i));
        expect([...m.data]).toEqual(new Array(3 + (i % 5)).fill(i));
      });
    }
  });

  it("gives a local request its reply's own bytes, also after later publishes", async () => {
    const bus = node("a");
    bus.serve(Ping, Pong, (req) => ({ id: req.id, data: new Uint8Array([9, 9, 9]) }));
    const replies = await Promise.all([1, 2, 3].map((id) => bus.request(Ping, { id }, Pong)));
    bus.publish(Ping, { id: 99, data: new Uint8Array([1, 1, 1, 1]) });
    for (const r of replies) expect([...r.data]).toEqual([9, 9, 9]);
  });

  it("fills meta with source, per-source sequence, mission time and priority", async () => {
    const clock = new SimClock({ startUtcMs: Date.UTC(2026, 0, 1) });
    const bus = node("meta-node", clock);
    const metas: { source: string; sequence: bigint; missionTimeNs: bigint; priority: number }[] = [];
    bus.subscribe(Ping, (_m, meta) => {
      metas.push(meta);
    });
    bus.publish(Ping, { id: 1n }, { priority: Priority.PRIORITY_SAFETY });
    await bus.idle();
    expect(metas[0]).toMatchObject({ source: "meta-node", priority: Priority.PRIORITY_SAFETY, missionTimeNs: clock.nowTaiNs() });
    expect(metas[0]!.sequence).toBeGreaterThan(0n);
  });

  it("gives each subscriber its own queue: a full one drops the lowest class first and counts it", async () => {
    const bus = node("a", new SimClock(), 4);
    const seen: bigint[] = [];
    bus.subscribe(Ping, (m) => {
      seen.push(m.id);
    });
    // Published synchronously, so nothing drains in between: 4 fit, the rest overflow.
    bus.publish(Ping, { id: 1 }, { priority: Priority.PRIORITY_TELEMETRY });
    bus.publish(Ping, { id: 2 }, { priority: Priority.PRIORITY_TELEMETRY });
    bus.publish(Ping, { id: 3 }, { priority: Priority.PRIORITY_TELEMETRY });
    bus.publish(Ping, { id: 4 }, { priority: Priority.PRIORITY_BULK });
    bus.publish(Ping, { id: 5 }, { priority: Priority.PRIORITY_COMMAND }); // evicts 4 (bulk)
    bus.publish(Ping, { id: 6 }, { priority: Priority.PRIORITY_SAFETY }); // evicts 1 (oldest telemetry)
    bus.publish(Ping, { id: 7 }, { priority: Priority.PRIORITY_BULK }); // nothing lower: dropped
    await bus.idle();
    expect(seen).toEqual([6n, 5n, 2n, 3n]);
    expect(bus.stats().dropped).toEqual({ bulk: 2n, telemetry: 1n, command: 0n, safety: 0n });
    expect(bus.stats().delivered).toBe(4n);
  });

  it("counts a throwing handler and keeps delivering", async () => {
    const bus = node("a");
    const seen: bigint[] = [];
    bus.subscribe(Ping, (m) => {
      if (m.id === 1n) throw new Error("boom");
      seen.push(m.id);
    });
    bus.subscribe(Ping, async (m) => {
      if (m.id === 2n) throw new Error("async boom");
    });
    bus.publish(Ping, { id: 1 });
    bus.publish(Ping, { id: 2 });
    await bus.idle();
    expect(seen).toEqual([2n]);
    expect(bus.stats().handlerErrors).toBe(2n);
  });

  it("stops delivering after unsubscribe and keeps the drop counts of the gone subscriber", async () => {
    const bus = node("a", new SimClock(), 1);
    let n = 0;
    const sub = bus.subscribe(Ping, () => {
      n++;
    });
    bus.publish(Ping, { id: 1 });
    bus.publish(Ping, { id: 2 }); // dropped: queue of one
    await bus.idle();
    sub.unsubscribe();
    bus.publish(Ping, { id: 3 });
    await bus.idle();
    expect(n).toBe(1);
    expect(bus.stats().dropped.telemetry).toBe(1n);
  });

  it("rejects a bad node name, priority or target, and use after close", () => {
    expect(() => node("bad name")).toThrow(/node name/);
    expect(() => node("")).toThrow(/node name/);
    const bus = node("a");
    expect(() => bus.publish(Ping, { id: 1 }, { priority: 9 as Priority })).toThrow(/priority 9/);
    expect(() => bus.publish(Ping, { id: 1 }, { target: "x".repeat(65) })).toThrow(/target/);
    bus.close();
    expect(() => bus.publish(Ping, { id: 1 })).toThrow(BusClosedError);
  });

  it("refuses to encode a value of the wrong type with a message naming the type", () => {
    const bus = node("a");
    expect(() => bus.publish(umbra.core.v1.Heartbeat, { pid: 5n as unknown as number })).toThrow(/umbra.core.v1.Heartbeat/);
  });
});

describe("bus: request/reply", () => {
  it("answers a request and routes the reply to the requester only", async () => {
    const bus = node("a");
    bus.serve(Ping, Pong, (req) => ({ id: req.id + 1n, data: req.data }));
    const reply = await bus.request(Ping, { id: 41n, data: new Uint8Array([9]) }, Pong);
    expect(reply.id).toBe(42n);
    expect([...reply.data]).toEqual([9]);
  });

  it("times out with a clear error after the timeout in clock time", async () => {
    const clock = new SimClock();
    const bus = node("a", clock);
    const pending = bus.request(Ping, { id: 1n }, Pong, { timeoutMs: 250, target: "nobody" });
    let error: unknown;
    pending.catch((e) => (error = e));
    await clock.advance(249);
    expect(error).toBeUndefined();
    await clock.advance(1);
    expect(error).toBeInstanceOf(BusTimeoutError);
    expect((error as Error).message).toBe("request umbra.bench.v1.Ping to nobody got no reply within 250 ms");
    expect(bus.stats().requestsTimedOut).toBe(1n);
  });

  it("counts a reply that arrives after the timeout as late, and does not resolve twice", async () => {
    const clock = new SimClock();
    const bus = node("a", clock);
    let release!: () => void;
    bus.serve(Ping, Pong, async (req) => {
      await new Promise<void>((r) => (release = r));
      return { id: req.id };
    });
    const pending = bus.request(Ping, { id: 1n }, Pong, { timeoutMs: 100 });
    pending.catch(() => undefined);
    await bus.idle().catch(() => undefined);
    await clock.advance(100);
    await expect(pending).rejects.toBeInstanceOf(BusTimeoutError);
    release();
    await bus.idle();
    expect(bus.stats().lateReplies).toBe(1n);
  });

  it("passes a handler's failure back as BusRemoteError", async () => {
    const bus = node("a");
    bus.serve(Ping, Pong, () => {
      throw new Error("no such thing");
    });
    await expect(bus.request(Ping, { id: 1n }, Pong)).rejects.toThrow(new BusRemoteError("umbra.bench.v1.Ping", "a", "no such thing"));
  });

  it("sends targeted requests only to the matching server; untargeted ones to all", async () => {
    const bus = node("a");
    bus.serve(Ping, Pong, () => ({ id: 1n }), { target: "one" });
    bus.serve(Ping, Pong, () => ({ id: 2n }), { target: "two" });
    expect((await bus.request(Ping, {}, Pong, { target: "two" })).id).toBe(2n);
    expect((await bus.request(Ping, {}, Pong, { target: "one" })).id).toBe(1n);
  });

  it("a server returning undefined stays silent", async () => {
    const clock = new SimClock();
    const bus = node("a", clock);
    bus.serve(Ping, Pong, () => undefined);
    const p = bus.request(Ping, {}, Pong, { timeoutMs: 10 });
    p.catch(() => undefined);
    await bus.idle();
    await clock.advance(10);
    await expect(p).rejects.toBeInstanceOf(BusTimeoutError);
  });

  it("rejects pending requests when the bus closes, and bad timeouts at once", async () => {
    const bus = node("a");
    const p = bus.request(Ping, {}, Pong, { timeoutMs: 1000 });
    bus.close();
    await expect(p).rejects.toBeInstanceOf(BusClosedError);
    const b2 = node("b");
    await expect(b2.request(Ping, {}, Pong, { timeoutMs: 0 })).rejects.toThrow(/positive/);
    await expect(b2.request(Ping, {}, Pong, { timeoutMs: Number.NaN })).rejects.toThrow(/positive/);
  });

  it("serves its own counters to any node that asks (BusStatsRequest)", async () => {
    const a = node("a");
    const b = node("b");
    join(a, b);
    a.subscribe(Ping, () => undefined);
    await settle(a, b);
    const stats = await b.request(umbra.bus.v1.BusStatsRequest, { node: "a" }, umbra.bus.v1.BusStats, { target: "a" });
    expect(stats.node).toBe("a");
    expect(stats.links).toHaveLength(1);
    expect(stats.links[0]!.peer).toBe("b");
  });
});

describe("bus: nodes joined by links (in-process transport)", () => {
  it("forwards only topics the peer subscribed to", async () => {
    const a = node("a");
    const b = node("b");
    const [la] = join(a, b);
    const got: bigint[] = [];
    b.subscribe(Ping, (m) => {
      got.push(m.id);
    });
    await settle(a, b);
    a.publish(Ping, { id: 5n });
    a.publish(umbra.core.v1.Heartbeat, { service: "x" }); // nobody on b wants it
    await settle(a, b);
    expect(got).toEqual([5n]);
    expect(la.counters.framesOut).toBeGreaterThan(0);
    const beforeHb = la.counters.framesOut;
    a.publish(umbra.core.v1.Heartbeat, { service: "x" });
    await settle(a, b);
    expect(la.counters.framesOut).toBe(beforeHb);
  });

  it("says whether a topic has a subscriber, here or on a peer, and follows it as peers come and go", async () => {
    const a = node("a");
    const b = node("b");
    expect(a.hasSubscribers(Ping)).toBe(false);
    const local = a.subscribe(Ping, () => undefined);
    expect(a.hasSubscribers(Ping)).toBe(true);
    local.unsubscribe();
    expect(a.hasSubscribers(Ping)).toBe(false);
    a.serve(Pong, Ping, () => ({})); // a request server is not a subscriber of published Pongs
    expect(a.hasSubscribers(Pong)).toBe(false);
    const [la] = join(a, b);
    await settle(a, b);
    expect(a.hasSubscribers(Ping)).toBe(false);
    const remote = b.subscribe(Ping, () => undefined);
    await settle(a, b);
    expect(a.hasSubscribers(Ping)).toBe(true);
    remote.unsubscribe();
    await settle(a, b);
    expect(a.hasSubscribers(Ping)).toBe(false);
    b.subscribe(Ping, () => undefined);
    await settle(a, b);
    expect(a.hasSubscribers(Ping)).toBe(true);
    a.detach(la);
    expect(a.hasSubscribers(Ping)).toBe(false);
  });

  it("routes through a hub: a -> hub -> c, and replies come back the same way", async () => {
    const a = node("a");
    const hub = node("hub");
    const c = node("c");
    join(a, hub);
    join(hub, c);
    c.serve(Ping, Pong, (req) => ({ id: req.id * 2n }), { target: "c-service" });
    const got: bigint[] = [];
    c.subscribe(Ping, (m) => {
      got.push(m.id);
    });
    await settle(a, hub, c);
    a.publish(Ping, { id: 3n });
    const reply = a.request(Ping, { id: 21n }, Pong, { target: "c-service" });
    await settle(a, hub, c);
    expect((await reply).id).toBe(42n);
    expect(got).toEqual([3n]);
  });

  it("forgets a peer's subscriptions when its link closes", async () => {
    const a = node("a");
    const b = node("b");
    const [la, lb] = join(a, b);
    b.subscribe(Ping, () => undefined);
    await settle(a, b);
    expect(la.remoteTopics.has("umbra.bench.v1.Ping")).toBe(true);
    lb.close();
    expect(la.remoteTopics.size).toBe(0);
  });

  it("counts data sent before the peer's Hello as malformed, and refuses a Hello with our own name", async () => {
    const a = node("a");
    const [la] = InProcessLink.pair("raw");
    a.attach(la);
    a.linkFrame(la, umbra.bus.v1.Envelope.encode({ topic: "umbra.bench.v1.Ping", source: "x", payload: new Uint8Array([8, 1]) }).finish());
    expect(la.counters.malformedFrames).toBe(1);
    a.linkFrame(la, helloFrame("a"));
    expect(la.peer).toBe("");
    a.linkFrame(la, helloFrame("x", 100)); // frame limit below the bus minimum
    expect(la.peer).toBe("");
    a.linkFrame(la, helloFrame("x", 1 << 20, 99)); // another protocol version
    expect(la.peer).toBe("");
    expect(la.counters.malformedFrames).toBe(4);
    a.linkFrame(la, helloFrame("x"));
    expect(la.peer).toBe("x");
  });

  it("counts and drops malformed frames and unknown types from a peer without crashing", async () => {
    const a = node("a");
    const [la] = InProcessLink.pair("raw");
    a.attach(la);
    a.linkFrame(la, helloFrame("x"));
    a.linkFrame(la, new Uint8Array([0xff, 0xff, 0xff]));
    a.linkFrame(la, umbra.bus.v1.Envelope.encode({ topic: "no.such.Type", source: "x", payload: new Uint8Array([1]) }).finish());
    a.linkFrame(la, umbra.bus.v1.Envelope.encode({ topic: "", source: "x" }).finish());
    expect(la.counters.malformedFrames).toBe(2);
    expect(la.counters.unknownTypes).toBe(1);
    expect(a.stats().unknownTypes).toBe(1n);
  });

  it("counts a payload that does not decode as its topic's type", async () => {
    const a = node("a");
    const [la] = InProcessLink.pair("raw");
    a.attach(la);
    a.linkFrame(la, helloFrame("x"));
    let called = false;
    a.subscribe(Ping, () => {
      called = true;
    });
    // field 1 (id, varint) with a truncated varint
    const bad = umbra.bus.v1.Envelope.encode({ topic: "umbra.bench.v1.Ping", source: "x", payload: new Uint8Array([0x08, 0xff]) }).finish();
    a.linkFrame(la, bad);
    await a.idle();
    expect(called).toBe(false);
    expect(a.stats().decodeErrors).toBe(1n);
  });
});
