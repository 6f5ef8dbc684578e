import { describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { Bus } from "../../src/bus/bus.js";
import { CommandRejected, Service, type CommandHandlers, type ServiceContext } from "../../src/service/service.js";
import { command, defineService } from "../../src/service/declaration.js";
import { SimClock } from "../../src/time/sim-clock.js";
import { ServiceHarness } from "../../src/testing/harness.js";

const { CommandStatus, ServiceState } = umbra.core.v1;

const spec = defineService({
  name: "probe",
  apid: 0x42,
  description: "test service",
  commands: {
    add: command(umbra.examples.v1.CounterAdd, {
      description: "adds",
      check: ({ amount }) => {
        if (amount === 13n) throw new Error("unlucky");
        return amount > 10n ? "too big" : undefined;
      },
    }),
    reset: command(umbra.examples.v1.CounterReset, { description: "fails on purpose" }),
  },
  telemetry: { level: { type: "int", description: "" }, ok: { type: "bool", description: "" } },
  events: { ping: { id: 7, severity: "high", description: "" } },
  parameters: { mode: { type: "string", default: "idle", allowed: ["idle", "busy"], description: "" } },
});

class Probe extends Service<typeof spec> {
  level = 0;
  changes: string[][] = [];
  constructor(ctx: ServiceContext, private readonly failStart = false) {
    super(spec, ctx);
  }
  protected override onStart() {
    if (this.failStart) throw new Error("no hardware");
  }
  protected override onParametersChanged(changed: string[]) {
    this.changes.push(changed);
  }
  protected commands(): CommandHandlers<typeof spec> {
    return {
      add: ({ amount }) => {
        if (this.parameters.get("mode") === "busy") throw new CommandRejected("precondition", "busy");
        this.level += Number(amount);
        this.telemetry({ level: this.level });
        this.event("ping", "added");
        return `level ${this.level}`;
      },
      reset: async () => {
        throw new Error("actuator stuck");
      },
    };
  }
  timerCount() {
    return (this as unknown as { timers: Set<unknown> }).timers.size;
  }
  arm(kind: "every" | "after", fail: boolean) {
    const fn = () => {
      if (fail) throw new Error("task broke");
      this.level++;
    };
    return kind === "every" ? this.every(100, fn) : this.after(100, fn);
  }
  misuse(kind: string) {
    if (kind === "type") this.telemetry({ level: "high" as unknown as number });
    if (kind === "float-as-int") this.telemetry({ level: 1.5 });
    if (kind === "undeclared") this.telemetry({ nope: 1 } as never);
    if (kind === "event") this.event("nope" as never, "x");
  }
}

describe("Service base", () => {
  it("maps handler outcomes to command statuses", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    expect(await h.command("add", { amount: 3 })).toMatchObject({ status: CommandStatus.COMMAND_STATUS_COMPLETED, message: "level 3", service: "probe", command: "add" });
    expect(await h.command("add", { amount: 11 })).toMatchObject({ status: CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT, message: "too big" });
    expect(await h.command("reset", {})).toMatchObject({ status: CommandStatus.COMMAND_STATUS_FAILED_EXECUTION, message: "actuator stuck" });
    await h.setParameters({ mode: "busy" });
    expect(await h.command("add", { amount: 1 })).toMatchObject({ status: CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION, message: "busy" });
    expect(h.service.level).toBe(3);
    expect(h.service.changes).toEqual([["mode"]]);
    expect(h.events("ping")[0]).toMatchObject({ service: "probe", id: 7, severity: umbra.core.v1.Severity.SEVERITY_HIGH });
    await h.stop();
  });

  it("stops answering commands once stopped; the last heartbeat says stopped", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    await h.service.stop();
    await expect(h.command("add", { amount: 1 })).rejects.toThrow(/did not answer/);
    expect(h.heartbeats().at(-1)!.state).toBe(ServiceState.SERVICE_STATE_STOPPED);
  });

  it("enforces lifecycle order: init once, then start", async () => {
    const clock = new SimClock();
    const bus = new Bus({ node: "n", clock });
    const svc = new Probe({ bus, clock });
    await svc.init();
    expect(svc.stateName).toBe("initialized");
    await expect(svc.init()).rejects.toThrow(/cannot init while initialized/);
    await svc.start();
    expect(svc.stateName).toBe("running");
  });

  it("goes to failed and rethrows when start fails", async () => {
    const clock = new SimClock();
    const svc = new Probe({ bus: new Bus({ node: "n", clock }), clock }, true);
    await expect(svc.start()).rejects.toThrow("no hardware");
    expect(svc.stateName).toBe("failed");
  });

  it("rejects telemetry of the wrong type or undeclared names, and undeclared events", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    expect(() => h.service.misuse("type")).toThrow(/telemetry level must be int, got string high/);
    expect(() => h.service.misuse("float-as-int")).toThrow(/must be int/);
    expect(() => h.service.misuse("undeclared")).toThrow(/telemetry nope is not declared/);
    expect(() => h.service.misuse("event")).toThrow(/event nope is not declared/);
    await h.stop();
  });

  it("rejects unknown parameters, duplicates in one set, and disallowed values without changing anything", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    expect(await h.setParameters({ mode: "asleep" })).toMatchObject({ ok: false, error: 'mode: "asleep" is not one of idle, busy' });
    expect(await h.setParameters({ speed: 3 })).toMatchObject({ ok: false, error: "speed: no such parameter" });
    const dup = await h.bus.request(
      umbra.core.v1.SetParameters,
      { service: "probe", values: [{ name: "mode", value: { stringValue: "busy" } }, { name: "mode", value: { stringValue: "idle" } }] },
      umbra.core.v1.ParameterReport,
      { target: "probe" },
    );
    expect(dup).toMatchObject({ ok: false, error: "mode: given twice" });
    const wrongType = await h.bus.request(
      umbra.core.v1.SetParameters,
      { service: "probe", values: [{ name: "mode", value: { intValue: 1n } }] },
      umbra.core.v1.ParameterReport,
      { target: "probe" },
    );
    expect(wrongType.ok).toBe(false);
    expect(await h.getParameters()).toEqual({ mode: "idle" });
    await expect(h.getParameters(["nope"])).rejects.toThrow(/nope: no such parameter/);
    await h.stop();
  });

  it("publishes its declaration at start and answers DescribeRequest", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    expect(h.published(umbra.core.v1.ServiceDeclaration)[0]!.message).toMatchObject({ name: "probe", apid: 0x42 });
    const d = await h.bus.request(umbra.core.v1.DescribeRequest, { service: "probe" }, umbra.core.v1.ServiceDeclaration);
    expect(d.commands.map((c) => c.name)).toEqual(["add", "reset"]);
    expect(d.parameters[0]!.allowed).toEqual(["idle", "busy"]);
    await h.stop();
  });

  it("heartbeats on the clock with a counter and uptime", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx), { heartbeatIntervalMs: 250 });
    await h.advance(1000);
    const beats = h.heartbeats();
    expect(beats.map((b) => b.counter)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(beats.at(-1)).toMatchObject({ service: "probe", uptimeMs: 1000n, node: "harness", pid: process.pid });
    await h.stop();
  });

  it("turns a throwing argument check into an argument rejection", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    expect(await h.command("add", { amount: 13 })).toMatchObject({
      status: CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT,
      message: "argument check failed: unlucky",
    });
    await h.stop();
  });

  it("answers a parameter request sent to it by name but naming another service with an error", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    const r = await h.bus.request(umbra.core.v1.GetParameters, { service: "thermal" }, umbra.core.v1.ParameterReport, { target: "probe" });
    expect(r).toMatchObject({ ok: false, error: 'GetParameters names service "thermal" but was sent to probe' });
    await h.stop();
  });

  it("runs every/after on the clock, survives a throwing task, and forgets cancelled timers", async () => {
    const h = await ServiceHarness.start((ctx) => new Probe(ctx));
    const base = h.service.timerCount();
    h.service.arm("every", true);
    h.service.arm("after", true);
    await h.advance(350); // three failing periodic runs and one failing one-shot: logged, not fatal
    expect(h.service.stateName).toBe("running");
    expect(h.service.timerCount()).toBe(base + 1); // the one-shot removed itself
    for (let i = 0; i < 10; i++) h.service.arm("every", false).cancel();
    expect(h.service.timerCount()).toBe(base + 1);
    h.service.arm("after", false);
    await h.advance(100);
    expect(h.service.level).toBe(1);
    await h.stop();
    expect(h.service.timerCount()).toBe(0);
  });

  it("rejects bad construction: heartbeat period and initial parameters", () => {
    const clock = new SimClock();
    const bus = new Bus({ node: "n", clock });
    expect(() => new Probe({ bus, clock, heartbeatIntervalMs: 0 })).toThrow(/heartbeatIntervalMs/);
    expect(() => new Probe({ bus, clock, parameters: { mode: "x" } })).toThrow(/initial parameters: mode/);
  });
});
