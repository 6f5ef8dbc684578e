// Batch envelopes (docs/icd.md section 2.1): the wire rules, PublishRun, and
// what a bus does with batches it sends, forwards and receives.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { umbra, type MessageOf } from "@umbra/proto";
import type { MessageMeta } from "../../src/bus/bus.js";
import { decodeEnvelope, encodeEnvelope, Kind, type Envelope } from "../../src/bus/envelope.js";
import { encodeWireEnvelope, MAX_BATCH_MESSAGES, type WireBatched } from "../../src/bus/envelope-wire.js";
import { InProcessLink } from "../../src/bus/in-process-link.js";
import { Link } from "../../src/bus/link.js";
import { Priority } from "../../src/bus/priority.js";
import { BATCH_PAYLOADS_BELOW_BYTES, PublishRun, RUN_LIMIT_BYTES } from "../../src/bus/publish-run.js";
import { SimClock } from "../../src/time/sim-clock.js";
import { join, node, settle } from "../support/buses.js";

const { Ping, Pong } = umbra.bench.v1;
const PING = "umbra.bench.v1.Ping";
const U64_MAX = 2n ** 64n - 1n;

function env(over: Partial<Envelope> = {}): Envelope {
  return {
    topic: PING,
    source: "a",
    sequence: 10n,
    missionTimeNs: 1_000n,
    priority: Priority.PRIORITY_TELEMETRY,
    kind: Kind.KIND_PUBLISH,
    payload: Ping.encode({ id: 1 }).finish(),
    correlationId: 0n,
    replyTo: "",
    target: "",
    error: "",
    batch: undefined,
    ...over,
  };
}

/** A batch envelope's bytes: `first` plus `more` as field 12. */
function batchBytes(first: Envelope, more: WireBatched[]): Uint8Array {
  return encodeWireEnvelope({ ...first, more });
}

/** Every message a decoded envelope carries, with its own sequence and time. */
function messagesOf(e: Envelope): { payload: string; sequence: bigint; time: bigint }[] {
  const out = [{ payload: Buffer.from(e.payload).toString("hex"), sequence: e.sequence, time: e.missionTimeNs }];
  const b = e.batch;
  let time = e.missionTimeNs;
  for (let i = 0; b && i < b.count; i++) {
    time += BigInt(b.timeDeltasNs[i]!);
    out.push({ payload: b.payload(i).toString("hex"), sequence: e.sequence + BigInt(i + 1), time });
  }
  return out;
}

describe("batch envelopes on the wire", () => {
  it("decodes a batch into its messages: sequences follow on, times add up", () => {
    const bytes = batchBytes(env(), [
      { payload: Buffer.from([1, 2]), timeDeltaNs: 5n },
      { payload: Buffer.alloc(0), timeDeltaNs: 0n },
      { payload: Buffer.from([3]), timeDeltaNs: -2n },
    ]);
    const r = decodeEnvelope(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(messagesOf(r.envelope).slice(1)).toEqual([
      { payload: "0102", sequence: 11n, time: 1_005n },
      { payload: "", sequence: 12n, time: 1_005n },
      { payload: "03", sequence: 13n, time: 1_003n },
    ]);
  });

  const problem = (bytes: Uint8Array) => {
    const r = decodeEnvelope(bytes);
    return r.ok ? undefined : r.problem.reason;
  };
  const one = [{ payload: Buffer.from([1]), timeDeltaNs: 1n }];

  it("refuses a batch on anything but a publish", () => {
    expect(problem(batchBytes(env({ kind: Kind.KIND_REQUEST, replyTo: "a" }), one))).toBe("more: only a publish can carry a batch");
    expect(problem(batchBytes(env({ kind: Kind.KIND_REPLY, topic: "@a" }), one))).toBe("more: only a publish can carry a batch");
    expect(problem(batchBytes(env({ kind: Kind.KIND_CONTROL, topic: "umbra.bus.v1.Hello" }), one))).toBe("more: only a publish can carry a batch");
  });

  it("refuses a batch whose sequences or times leave the uint64 range", () => {
    expect(problem(batchBytes(env({ sequence: U64_MAX }), one))).toMatch(/^more: the batch's sequence numbers run past/);
    expect(problem(batchBytes(env({ missionTimeNs: 3n }), [{ payload: Buffer.alloc(0), timeDeltaNs: -4n }]))).toMatch(/^more: a message's mission time falls outside/);
    expect(problem(batchBytes(env({ missionTimeNs: U64_MAX - 1n }), [{ payload: Buffer.alloc(0), timeDeltaNs: 2n }]))).toMatch(/^more: a message's mission time falls outside/);
    // Each step is allowed, but together they run past ±2^52 from the first message.
    const steps = [2n ** 52n - 1n, 2n ** 52n - 1n].map((d) => ({ payload: Buffer.alloc(0), timeDeltaNs: d }));
    expect(problem(batchBytes(env({ missionTimeNs: 2n ** 60n }), steps))).toBe("more[1]: time deltas add up beyond ±2^52 ns");
  });

  it("refuses a time step beyond ±2^52 and more than MAX_BATCH_MESSAGES further messages, naming them", () => {
    expect(problem(batchBytes(env({ missionTimeNs: 2n ** 60n }), [{ payload: Buffer.alloc(0), timeDeltaNs: 2n ** 52n }]))).toMatch(/more\.time_delta_ns at byte \d+ is beyond ±2\^52/);
    const many = Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => ({ payload: Buffer.alloc(0), timeDeltaNs: 0n }));
    expect(problem(batchBytes(env(), many))).toMatch(new RegExp(`more than ${MAX_BATCH_MESSAGES} further messages`));
    expect(decodeEnvelope(batchBytes(env(), many.slice(1))).ok).toBe(true);
  });

  it("refuses a malformed batched message: wrong wire types, a truncated one", () => {
    const head = Buffer.from(encodeEnvelope(env()));
    expect(problem(Buffer.concat([head, Buffer.from([0x62, 0x02, 0x0d, 0x00])]))).toMatch(/more\.payload has wire type 5/);
    expect(problem(Buffer.concat([head, Buffer.from([0x62, 0x02, 0x12, 0x00])]))).toMatch(/more\.time_delta_ns has wire type 2/);
    expect(problem(Buffer.concat([head, Buffer.from([0x62, 0x05, 0x0a, 0x03, 0x01])]))).toMatch(/runs past the end/);
    expect(problem(Buffer.concat([head, Buffer.from([0x62, 0x03, 0x0a, 0x05, 0x01])]))).toMatch(/runs past the end/);
    // an unknown field inside a batched message is skipped, as protobuf says
    const r = decodeEnvelope(Buffer.concat([head, Buffer.from([0x62, 0x05, 0x0a, 0x01, 0x07, 0x18, 0x01])]));
    expect(r.ok && r.envelope.batch?.payload(0)).toEqual(Buffer.from([7]));
  });

  it("never encodes a received batch again (it is forwarded as its frame)", () => {
    const r = decodeEnvelope(batchBytes(env(), one));
    expect(r.ok).toBe(true);
    if (r.ok) expect(() => encodeEnvelope(r.envelope)).toThrow(/forwarded as its frame/);
  });
});

describe("PublishRun", () => {
  // A stream of publishes: payload, how far the clock moved, and whether something else was sent first.
  const step = fc.record({
    payload: fc.uint8Array({ maxLength: 300 }),
    timeStep: fc.oneof(fc.constant(0n), fc.bigInt({ min: -1_000n, max: 1_000_000n }), fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n })),
    gap: fc.boolean(),
  });

  it("property: the envelopes it makes carry exactly the publishes, in order, each within the limit", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), fc.integer({ min: 2048, max: RUN_LIMIT_BYTES }), (steps, limit) => {
        const scratch = Buffer.alloc(RUN_LIMIT_BYTES);
        let sequence = 1n;
        let time = 2n ** 62n;
        const sent: { payload: string; sequence: bigint; time: bigint }[] = [];
        const frames: Uint8Array[] = [];
        let run: PublishRun | undefined;
        for (const s of steps) {
          sequence += s.gap ? 2n : 1n; // a gap: the node sent another envelope in between
          time += s.timeStep;
          const e = env({ payload: s.payload, sequence, missionTimeNs: time });
          sent.push({ payload: Buffer.from(s.payload).toString("hex"), sequence, time });
          if (run?.tryAdd(e)) continue;
          if (run) frames.push(run.encode());
          run = new PublishRun(e, limit, scratch);
        }
        frames.push(run!.encode());
        const received = frames.flatMap((f) => {
          expect(f.length).toBeLessThanOrEqual(limit);
          const r = decodeEnvelope(f);
          if (!r.ok) throw new Error(r.problem.reason);
          return messagesOf(r.envelope);
        });
        expect(received).toEqual(sent);
      }),
      { numRuns: 200 },
    );
  });

  it("takes only the next sequence of the same topic, priority, target and kind", () => {
    const scratch = Buffer.alloc(RUN_LIMIT_BYTES);
    const run = new PublishRun(env(), RUN_LIMIT_BYTES, scratch);
    expect(run.tryAdd(env({ sequence: 12n }))).toBe(false);
    expect(run.tryAdd(env({ sequence: 11n, topic: "umbra.bench.v1.Pong" }))).toBe(false);
    expect(run.tryAdd(env({ sequence: 11n, priority: Priority.PRIORITY_BULK }))).toBe(false);
    expect(run.tryAdd(env({ sequence: 11n, target: "x" }))).toBe(false);
    expect(run.tryAdd(env({ sequence: 11n, kind: Kind.KIND_REQUEST, replyTo: "a" }))).toBe(false);
    expect(run.messages).toBe(1);
    expect(run.tryAdd(env({ sequence: 11n }))).toBe(true);
    expect(run.messages).toBe(2);
    expect(() => new PublishRun(env({ kind: Kind.KIND_REPLY, topic: "@a" }), RUN_LIMIT_BYTES, scratch)).toThrow(/only publishes/);
  });

  it("starts a new run at a clock step of ±2^52 ns or more, so every batch it makes is one a receiver takes", () => {
    const scratch = Buffer.alloc(RUN_LIMIT_BYTES);
    const t = 2n ** 60n;
    const run = new PublishRun(env({ missionTimeNs: t }), RUN_LIMIT_BYTES, scratch);
    expect(run.tryAdd(env({ sequence: 11n, missionTimeNs: t + 2n ** 52n }))).toBe(false);
    expect(run.tryAdd(env({ sequence: 11n, missionTimeNs: t - 2n ** 52n }))).toBe(false);
    expect(run.tryAdd(env({ sequence: 11n, missionTimeNs: t + 2n ** 52n - 1n }))).toBe(true);
    expect(run.tryAdd(env({ sequence: 12n, missionTimeNs: t + 2n ** 52n }))).toBe(false); // 2^52 from the first message
    expect(run.tryAdd(env({ sequence: 12n, missionTimeNs: t }))).toBe(true);
    const r = decodeEnvelope(run.encode());
    expect(r.ok && messagesOf(r.envelope).map((m) => m.time - t)).toEqual([0n, 2n ** 52n - 1n, 0n]);
  });

  it("stops at MAX_BATCH_MESSAGES further messages, and a run of one is the plain envelope", () => {
    const scratch = Buffer.alloc(RUN_LIMIT_BYTES);
    const run = new PublishRun(env({ payload: new Uint8Array(0) }), RUN_LIMIT_BYTES, scratch);
    expect(Buffer.from(run.encode())).toEqual(Buffer.from(encodeEnvelope(env({ payload: new Uint8Array(0) }))));
    let n = 0;
    while (run.tryAdd(env({ sequence: 11n + BigInt(n), payload: new Uint8Array(0) }))) n++;
    expect(n).toBe(MAX_BATCH_MESSAGES);
    expect(decodeEnvelope(run.encode()).ok).toBe(true);
  });
});

// ---- a bus sending, forwarding and receiving batches -----------------------

type PingMsg = MessageOf<typeof Ping>;


/** A link end that keeps what it is sent, for looking at the frames themselves. */
class CaptureLink extends Link {
  readonly frames: { bytes: Uint8Array; messages: number }[] = [];
  constructor(maxFrameBytes = 1 << 20) {
    super("capture");
    this.peer = "peer";
    this.peerMaxFrameBytes = maxFrameBytes;
  }
  get connected(): boolean {
    return true;
  }
  send(frame: Uint8Array, _priority: Priority, messages = 1): void {
    this.frames.push({ bytes: frame, messages });
  }
  sendControl(): void {}
  close(): void {}
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("bus: batches", () => {
  it("sends one turn's publishes of a topic as one envelope; the peer gets each message with its own sequence and time", async () => {
    const clock = new SimClock();
    const a = node("a", clock);
    const b = node("b");
    const [la] = join(a, b);
    const got: { id: bigint; meta: MessageMeta }[] = [];
    b.subscribe(Ping, (m, meta) => {
      got.push({ id: m.id, meta });
    });
    await settle(a, b);
    const t0 = clock.nowTaiNs();
    for (let i = 1; i <= 5; i++) {
      a.publish(Ping, { id: i });
      clock.advanceSync(1); // 1 ms between publishes, all in one turn
    }
    const framesBefore = la.counters.framesOut;
    await settle(a, b);
    expect(la.counters.framesOut - framesBefore).toBe(1);
    expect(got.map((g) => g.id)).toEqual([1n, 2n, 3n, 4n, 5n]);
    const seqs = got.map((g) => g.meta.sequence);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + BigInt(i)));
    expect(got.map((g) => g.meta.missionTimeNs - t0)).toEqual([0n, 1_000_000n, 2_000_000n, 3_000_000n, 4_000_000n]);
    expect(got.every((g) => g.meta.source === "a" && g.meta.topic === PING)).toBe(true);
    expect(a.stats().published).toBe(5n);
    expect(b.stats().delivered).toBe(5n);
  });

  it("keeps the order of everything a node sends: another topic or a request ends the run", async () => {
    const a = node("a");
    const link = new CaptureLink();
    a.attach(link);
    link.remoteTopics = new Set([PING, "umbra.bench.v1.Pong"]);
    a.publish(Ping, { id: 1 });
    a.publish(Ping, { id: 2 });
    a.publish(Pong, { id: 3 });
    a.publish(Ping, { id: 4 });
    a.publish(Ping, { id: 5 }, { priority: Priority.PRIORITY_COMMAND });
    void a.request(Ping, { id: 6 }, Pong, { timeoutMs: 10 }).catch(() => undefined);
    a.publish(Ping, { id: 7 });
    await turn();
    const decoded = link.frames.map((f) => {
      const r = decodeEnvelope(f.bytes);
      if (!r.ok) throw new Error(r.problem.reason);
      return { topic: r.envelope.topic, kind: r.envelope.kind, messages: messagesOf(r.envelope).length, declared: f.messages };
    });
    expect(decoded).toEqual([
      { topic: PING, kind: Kind.KIND_PUBLISH, messages: 2, declared: 2 },
      { topic: "umbra.bench.v1.Pong", kind: Kind.KIND_PUBLISH, messages: 1, declared: 1 },
      { topic: PING, kind: Kind.KIND_PUBLISH, messages: 1, declared: 1 },
      { topic: PING, kind: Kind.KIND_PUBLISH, messages: 1, declared: 1 },
      { topic: PING, kind: Kind.KIND_REQUEST, messages: 1, declared: 1 },
      { topic: PING, kind: Kind.KIND_PUBLISH, messages: 1, declared: 1 },
    ]);
  });

  it("sends what was gathered before a link is detached or the bus closes (a service's last words)", () => {
    const a = node("a");
    const link = new CaptureLink();
    a.attach(link);
    link.remoteTopics = new Set([PING]);
    a.publish(Ping, { id: 1 });
    a.publish(Ping, { id: 2 });
    a.detach(link);
    expect(link.frames.map((f) => f.messages)).toEqual([2]);
    const b = node("b");
    const link2 = new CaptureLink();
    b.attach(link2);
    link2.remoteTopics = new Set([PING]);
    b.publish(Ping, { id: 3 });
    b.close();
    expect(link2.frames.map((f) => f.messages)).toEqual([1]);
  });

  it("keeps each batch within the smallest frame limit of the peers that want it", async () => {
    const a = node("a");
    const small = new CaptureLink(2048);
    const big = new CaptureLink();
    a.attach(small);
    a.attach(big);
    small.remoteTopics = new Set([PING]);
    big.remoteTopics = new Set([PING]);
    for (let i = 0; i < 100; i++) a.publish(Ping, { id: i, data: new Uint8Array(100) });
    await turn();
    expect(small.frames.length).toBeGreaterThan(5);
    expect(small.frames.every((f) => f.bytes.length <= 2048)).toBe(true);
    expect(small.frames.reduce((n, f) => n + f.messages, 0)).toBe(100);
    const ids = small.frames.flatMap((f) => {
      const r = decodeEnvelope(f.bytes);
      if (!r.ok) throw new Error(r.problem.reason);
      return messagesOf(r.envelope).map((m) => Ping.decode(Buffer.from(m.payload, "hex")).id);
    });
    expect(ids.map(Number)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("never holds a large message for a batch: it goes as its own envelope", async () => {
    const a = node("a");
    const link = new CaptureLink();
    a.attach(link);
    link.remoteTopics = new Set([PING]);
    for (let i = 0; i < 3; i++) a.publish(Ping, { id: i, data: new Uint8Array(6000) });
    await turn();
    expect(link.frames.map((f) => f.messages)).toEqual([1, 1, 1]);
    const b = node("b");
    const link2 = new CaptureLink();
    b.attach(link2);
    link2.remoteTopics = new Set([PING]);
    b.publish(Ping, { id: 1, data: new Uint8Array(BATCH_PAYLOADS_BELOW_BYTES) });
    b.publish(Ping, { id: 2 });
    b.publish(Ping, { id: 3 });
    b.publish(Ping, { id: 4, data: new Uint8Array(BATCH_PAYLOADS_BELOW_BYTES - 10) });
    await turn();
    expect(link2.frames.map((f) => f.messages)).toEqual([1, 3]);
  });

  it("a hub forwards a batch as it came, and delivers each message to its own subscribers", async () => {
    const spoke1 = node("spoke1");
    const hub = node("hub");
    const spoke2 = node("spoke2");
    join(spoke1, hub);
    const [toSpoke2] = join(hub, spoke2);
    const atHub: bigint[] = [];
    const atSpoke2: bigint[] = [];
    hub.subscribe(Ping, (m) => {
      atHub.push(m.id);
    });
    spoke2.subscribe(Ping, (m) => {
      atSpoke2.push(m.id);
    });
    await settle(spoke1, hub, spoke2);
    const before = toSpoke2.counters.framesOut;
    for (let i = 1; i <= 4; i++) spoke1.publish(Ping, { id: i });
    await settle(spoke1, hub, spoke2);
    expect(toSpoke2.counters.framesOut - before).toBe(1);
    expect(atHub).toEqual([1n, 2n, 3n, 4n]);
    expect(atSpoke2).toEqual([1n, 2n, 3n, 4n]);
  });

  it("counts a dropped batch frame as every message it carried", async () => {
    const a = node("a");
    const b = node("b");
    const [la] = join(a, b, 1); // the link queue holds one frame until the next turn
    b.subscribe(Ping, () => undefined);
    await settle(a, b);
    a.publish(Ping, { id: 1 }, { priority: Priority.PRIORITY_TELEMETRY }); // one frame, queued
    for (let i = 2; i <= 4; i++) a.publish(Ping, { id: i }, { priority: Priority.PRIORITY_BULK }); // one batch of 3: nothing lower to evict
    await settle(a, b);
    expect(la.outbound.dropped).toEqual({ bulk: 3, telemetry: 0, command: 0, safety: 0 });
    expect(a.stats().links[0]!.dropped.bulk).toBe(3n);
  });

  it("queues a received batch message by message: a full subscriber queue drops and counts each one", async () => {
    const a = node("a");
    const b = node("b", new SimClock(), 2);
    join(a, b);
    const got: PingMsg[] = [];
    b.subscribe(Ping, (m) => {
      got.push(m);
    });
    await settle(a, b);
    for (let i = 1; i <= 5; i++) a.publish(Ping, { id: i });
    await settle(a, b);
    expect(got.map((m) => m.id)).toEqual([1n, 2n]);
    expect(b.stats().dropped.telemetry).toBe(3n);
  });

  it("delivers the good messages of a batch and counts the one whose payload does not decode", async () => {
    const b = node("b");
    const [la, lb] = InProcessLink.pair("x");
    b.attach(lb);
    la.peer = "";
    const got: bigint[] = [];
    b.subscribe(Ping, (m) => {
      got.push(m.id);
    });
    const { helloFrame } = await import("../support/frames.js");
    b.linkFrame(lb, helloFrame("x"));
    const good = Ping.encode({ id: 2 }).finish();
    b.linkFrame(lb, batchBytes(env({ source: "x" }), [{ payload: Buffer.from([0xff, 0xff]), timeDeltaNs: 0n }, { payload: good, timeDeltaNs: 0n }]));
    await b.idle();
    expect(got).toEqual([1n, 2n]);
    expect(b.stats().decodeErrors).toBe(1n);
  });

  it("drops a hostile batch whole, counting it once as malformed, and delivers nothing of it", async () => {
    const b = node("b");
    const [, lb] = InProcessLink.pair("y");
    b.attach(lb);
    const got: bigint[] = [];
    b.subscribe(Ping, (m) => {
      got.push(m.id);
    });
    const { helloFrame } = await import("../support/frames.js");
    b.linkFrame(lb, helloFrame("y"));
    const one = [{ payload: Buffer.from(Ping.encode({ id: 9 }).finish()), timeDeltaNs: 0n }];
    b.linkFrame(lb, batchBytes(env({ source: "y", missionTimeNs: 0n }), [{ payload: Buffer.alloc(0), timeDeltaNs: -1n }]));
    b.linkFrame(lb, batchBytes(env({ source: "y", kind: Kind.KIND_REQUEST, replyTo: "y" }), one));
    b.linkFrame(lb, batchBytes(env({ source: "y", sequence: U64_MAX }), one));
    await b.idle();
    expect(got).toEqual([]);
    expect(lb.counters.malformedFrames).toBe(3);
    expect(b.stats().delivered).toBe(0n);
  });
});
