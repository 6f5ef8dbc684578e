// The ServiceContext's livenessClock and apid, and the ParameterReport a
// service broadcasts after a SetParameters changed something.
import { describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { Bus } from "../../src/bus/bus.js";
import { Service, type CommandHandlers, type ServiceContext } from "../../src/service/service.js";
import { command, defineService, fromValueMessage } from "../../src/service/declaration.js";
import { SimClock } from "../../src/time/sim-clock.js";
import { ToneClock } from "../../src/time/tone-clock.js";
import { ServiceHarness } from "../../src/testing/harness.js";
import { utcMsToTaiNs } from "../../src/time/mission-time.js";

const spec = defineService({
  name: "ctxprobe",
  apid: 0x42,
  description: "test service",
  commands: { add: command(umbra.examples.v1.CounterAdd, { description: "adds" }) },
  telemetry: { level: { type: "int", description: "" } },
  events: {},
  parameters: {
    mode: { type: "string", default: "idle", allowed: ["idle", "busy"], description: "" },
    gain: { type: "float", default: 1, min: 0, max: 10, description: "" },
  },
});

class CtxProbe extends Service<typeof spec> {
  constructor(ctx: ServiceContext) {
    super(spec, ctx);
  }
  protected override onStart() {
    this.every(1000, () => this.telemetry({ level: 1 }));
  }
  protected commands(): CommandHandlers<typeof spec> {
    return { add: () => "ok" };
  }
}

describe("ServiceContext.livenessClock", () => {
  it("runs the heartbeat and its uptime on the liveness clock, service timers on the mission clock", async () => {
    const mission = new SimClock();
    const liveness = new SimClock();
    const bus = new Bus({ node: "n", clock: mission });
    const beats: bigint[] = [];
    const reports: bigint[] = [];
    bus.subscribe(umbra.core.v1.Heartbeat, (hb) => void beats.push(hb.uptimeMs));
    bus.subscribe(umbra.core.v1.TelemetryReport, (r) => void reports.push(r.missionTimeNs));
    const svc = new CtxProbe({ bus, clock: mission, livenessClock: liveness, heartbeatIntervalMs: 500 });
    await svc.start();
    await bus.idle();
    expect(beats).toEqual([0n]);
    // Mission time moving does not beat the heart...
    await mission.advance(3000);
    await bus.idle();
    expect(beats).toEqual([0n]);
    expect(reports).toHaveLength(3);
    // ...wall time does, and uptime is wall time.
    await liveness.advance(1000);
    await bus.idle();
    expect(beats).toEqual([0n, 500n, 1000n]);
    expect(reports).toHaveLength(3);
    await svc.stop();
    bus.close();
  });

  it("keeps heartbeats coming while a ToneClock waits for tones", async () => {
    const tones = new ToneClock({ initialTaiNs: utcMsToTaiNs(Date.UTC(2026, 0, 1)) });
    const liveness = new SimClock();
    const bus = new Bus({ node: "n", clock: tones, timeoutClock: liveness });
    let beats = 0;
    bus.subscribe(umbra.core.v1.Heartbeat, () => void beats++);
    const svc = new CtxProbe({ bus, clock: tones, livenessClock: liveness, heartbeatIntervalMs: 1000 });
    await svc.start();
    await liveness.advance(5000);
    await bus.idle();
    expect(beats).toBe(6);
    await svc.stop();
    bus.close();
  });

  it("defaults to the service's clock", async () => {
    const h = await ServiceHarness.start((ctx) => new CtxProbe(ctx), { heartbeatIntervalMs: 250 });
    await h.advance(500);
    expect(h.heartbeats().map((b) => b.uptimeMs)).toEqual([0n, 250n, 500n]);
    await h.stop();
  });
});

describe("ServiceContext.apid", () => {
  it("overrides the spec's APID in the declaration, and in what DescribeRequest answers", async () => {
    const h = await ServiceHarness.start((ctx) => new CtxProbe({ ...ctx, apid: 0x123 }));
    expect(h.service.apid).toBe(0x123);
    expect(h.service.spec.apid).toBe(0x123);
    expect(h.published(umbra.core.v1.ServiceDeclaration)[0]!.message).toMatchObject({ name: "ctxprobe", apid: 0x123 });
    const d = await h.bus.request(umbra.core.v1.DescribeRequest, { service: "ctxprobe" }, umbra.core.v1.ServiceDeclaration);
    expect(d.apid).toBe(0x123);
    // The shared spec object is left alone.
    expect(spec.apid).toBe(0x42);
    await h.stop();
  });

  it("accepts 0 and 2046; without it the spec's APID stands", async () => {
    const clock = new SimClock();
    const bus = new Bus({ node: "n", clock });
    expect(new CtxProbe({ bus, clock, apid: 0 }).apid).toBe(0);
    expect(new CtxProbe({ bus, clock, apid: 2046 }).apid).toBe(2046);
    expect(new CtxProbe({ bus, clock }).apid).toBe(0x42);
  });

  it("rejects an APID out of range or not a whole number with a RangeError naming the service", () => {
    const clock = new SimClock();
    const bus = new Bus({ node: "n", clock });
    for (const apid of [-1, 2047, 4096, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "7" as unknown as number]) {
      expect(() => new CtxProbe({ bus, clock, apid })).toThrow(RangeError);
    }
    expect(() => new CtxProbe({ bus, clock, apid: 2047 })).toThrow("ctxprobe: apid 2047 is not an integer in 0..2046 (2047 is the idle APID)");
  });
});

describe("ParameterReport broadcast after SetParameters", () => {
  it("publishes the changed parameters' new values, and the request still gets its reply", async () => {
    const h = await ServiceHarness.start((ctx) => new CtxProbe(ctx));
    h.record(umbra.core.v1.ParameterReport);
    const reply = await h.setParameters({ mode: "busy", gain: 1 });
    // The reply answers for every parameter named...
    expect(reply.ok).toBe(true);
    expect(reply.values.map((v) => [v.name, fromValueMessage(v.value)])).toEqual([
      ["mode", "busy"],
      ["gain", 1],
    ]);
    await h.settle();
    // ...the broadcast carries only what changed, untargeted.
    const published = h.published(umbra.core.v1.ParameterReport);
    expect(published).toHaveLength(1);
    expect(published[0]!.meta.target).toBe("");
    expect(published[0]!.message).toMatchObject({ service: "ctxprobe", ok: true, error: "" });
    expect(published[0]!.message.values.map((v) => [v.name, fromValueMessage(v.value)])).toEqual([["mode", "busy"]]);
    await h.stop();
  });

  it("publishes nothing when nothing changed or the set was refused", async () => {
    const h = await ServiceHarness.start((ctx) => new CtxProbe(ctx));
    h.record(umbra.core.v1.ParameterReport);
    expect((await h.setParameters({ mode: "idle" })).ok).toBe(true);
    expect((await h.setParameters({ mode: "asleep" })).ok).toBe(false);
    expect((await h.setParameters({ gain: 11 })).ok).toBe(false);
    await h.settle();
    expect(h.published(umbra.core.v1.ParameterReport)).toHaveLength(0);
    expect(await h.getParameters()).toEqual({ mode: "idle", gain: 1 });
    await h.stop();
  });

  it("reaches any subscriber of ParameterReport (what a supervisor would be), once per change", async () => {
    const h = await ServiceHarness.start((ctx) => new CtxProbe(ctx));
    const seen: Record<string, unknown>[] = [];
    h.bus.subscribe(umbra.core.v1.ParameterReport, (r) => void seen.push(Object.fromEntries(r.values.map((v) => [v.name, fromValueMessage(v.value)]))));
    await h.setParameters({ gain: 2.5 });
    await h.setParameters({ gain: 3, mode: "busy" });
    await h.settle();
    expect(seen).toEqual([{ gain: 2.5 }, { gain: 3, mode: "busy" }]);
    await h.stop();
  });
});
