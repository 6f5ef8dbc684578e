// The WebSocket stream over real loopback sockets: subscriptions, the three
// kinds of message, bad client input, and a client that stops reading.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, startStack, until, type Stack } from "./support/stack.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are read as the test expects them
type Msg = any;

class Client {
  readonly messages: Msg[] = [];
  bytes = 0;
  closed: { code: number; reason: string } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      this.bytes += text.length;
      this.messages.push(JSON.parse(text));
    });
    ws.on("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on("error", () => undefined);
  }
  static open(s: Stack, token: string): Promise<Client> {
    const ws = new WebSocket(`${s.gateway.url.replace(/^http/, "ws")}/api/stream?token=${token}`);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new Client(ws)));
      ws.once("error", reject);
    });
  }
  send(value: unknown): void {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }
  async subscribe(sub: Record<string, unknown>): Promise<Msg> {
    const n = this.messages.length;
    this.send({ type: "subscribe", ...sub });
    return until(() => this.messages.slice(n).find((m) => m.type === "subscribed" || m.type === "error"), "the subscription's answer");
  }
  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }
}

describe("the stream", () => {
  let s: Stack;
  const clients: Client[] = [];
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await s?.stop();
  });
  const open = async (token = s.tokens.viewer) => {
    const c = await Client.open(s, token);
    clients.push(c);
    return c;
  };

  it("sends the telemetry a client subscribed to, and only that", async () => {
    const c = await open();
    expect(await c.subscribe({ telemetry: ["probe.level"] })).toEqual({ type: "subscribed", telemetry: ["probe.level"], events: false, verifications: false });
    s.probe.emit({ level: 3.25, note: "hello", count: 4 });
    const m = await until(() => c.of("telemetry")[0], "a telemetry message");
    expect(m).toEqual({ type: "telemetry", service: "probe", name: "level", missionTimeNs: expect.stringMatching(/^\d+$/), value: 3.25 });
    await sleep(50);
    expect(c.of("telemetry").filter((x) => x.service === "probe")).toHaveLength(1);
    // Subscribing again replaces the filter: the whole service now.
    await c.subscribe({ telemetry: ["probe.*"] });
    s.probe.emit({ level: 1, note: "again", count: 5 });
    await until(() => c.of("telemetry").length >= 4, "three more samples");
    expect(c.of("telemetry").slice(1).map((x) => [x.name, x.value])).toEqual([
      ["level", 1],
      ["note", "again"],
      ["count", 5],
    ]);
  });

  it("sends events and verification reports, the latter with the gateway's command id", async () => {
    const c = await open();
    await c.subscribe({ events: true, verifications: true });
    s.probe.raise("alarm", "too hot", { zone: "die" });
    const ev = await until(() => c.of("event").find((e) => e.service === "probe"), "the event");
    expect(ev).toEqual({ type: "event", service: "probe", id: 2, name: "alarm", severity: "high", message: "too hot", missionTimeNs: expect.any(String), args: { zone: "die" } });
    const r = await s.api("POST", "/api/commands?wait=completion", { token: s.tokens.operator, body: { service: "probe", command: "add", args: { amount: 2 } } });
    const v = await until(() => {
      const mine = c.of("verification").filter((x) => x.commandId === r.body.id);
      return mine.length === 3 && mine;
    }, "three verification reports");
    expect(v.map((x: Msg) => [x.stage, x.success, x.code])).toEqual([
      ["acceptance", true, "FAILURE_NONE"],
      ["start", true, "FAILURE_NONE"],
      ["completion", true, "FAILURE_NONE"],
    ]);
    expect(v[2]).toMatchObject({ apid: 0x300, sequenceCount: r.body.sequenceCount, service: "probe", command: "add", detail: expect.stringMatching(/^count is/) });
    expect(c.of("telemetry")).toEqual([]);
  });

  it("bad client input gets an error message and the connection stays", async () => {
    const c = await open();
    c.send("this is not json");
    c.send({ type: "subscribe", telemetry: ["no-dot"] });
    c.send({ type: "hello" });
    await until(() => c.of("error").length === 3, "three errors");
    expect(c.of("error").map((e) => e.message)).toEqual([expect.stringMatching(/^not JSON/), expect.stringMatching(/^telemetry\[0\]:/), expect.stringMatching(/^type: expected "subscribe"/)]);
    expect(c.closed).toBeUndefined();
    expect((await c.subscribe({ events: true })).type).toBe("subscribed");
  });
});

describe("a slow client", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ gateway: { wsBufferBytes: 64 * 1024 } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("is dropped with 4008 once it falls too far behind, while a normal client keeps receiving and the bus is unaffected", async () => {
    const slow = await Client.open(s, s.tokens.viewer);
    const normal = await Client.open(s, s.tokens.viewer);
    await slow.subscribe({ telemetry: ["*"] });
    await normal.subscribe({ telemetry: ["probe.note"] });
    slow.ws.pause(); // stops reading its socket: the kernel buffers fill, then the gateway's
    const text = "x".repeat(32 * 1024);
    const reports = 400; // ~13 MB: more than loopback socket buffers hold
    const dropsBefore = s.bus.stats().dropped;
    for (let i = 0; i < reports; i++) {
      s.probe.emit({ note: `${i} ${text}` });
      if (i % 20 === 19) await sleep(1);
    }
    await until(async () => (await s.api("GET", "/api/health")).body.stream.droppedSlow >= 1, "the slow client to be dropped", 20_000);
    // The normal client got every sample, in order.
    await until(() => normal.of("telemetry").length === reports, `all ${reports} samples at the normal client`, 20_000);
    expect(normal.of("telemetry").map((m) => Number(String(m.value).split(" ")[0]))).toEqual(Array.from({ length: reports }, (_, i) => i));
    expect(normal.closed).toBeUndefined();
    // The bus dropped nothing: delivery never waited for a socket.
    expect(s.bus.stats().dropped).toEqual(dropsBefore);
    // The slow client, reading again, finds the close frame after what was already sent.
    slow.ws.resume();
    await until(() => slow.closed, "the slow client's close", 10_000);
    expect(slow.closed).toEqual({ code: 4008, reason: "too slow" });
    expect(slow.of("telemetry").length).toBeLessThan(reports);
    expect((await s.api("GET", "/api/health")).body.stream).toMatchObject({ clients: 1, droppedSlow: 1 });
    normal.ws.terminate();
  });
});
