// A service on a "board" bus node reads its hardware through the platform's
// HIL adapters, while the HIL environment runs on a "bench" node; the two are
// joined by a real TCP connection, as a board and a bench machine would be.
import { afterEach, describe, expect, it } from "vitest";
import { Bus, BusClient, BusServer, CommandRejected, RealClock, Service, command, defineService, parseEndpoint, sendCommand, type CommandHandlers, type ServiceContext } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { createHilPlatform, PlatformError, type Platform } from "@umbra/platform";
import { HilRun, parseScenario } from "@umbra/hil";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const probeSpec = defineService({
  name: "thermal-probe",
  apid: 0x300,
  description: "reads the die temperature through the platform port; can lower the CPU ceiling",
  commands: {
    setCpuMax: command(umbra.platform.v1.SetCpuMaxFrequency, { description: "set a cpufreq ceiling" }),
  },
  telemetry: { dieC: { type: "float", unit: "degC", description: "die temperature" } },
  events: {},
  parameters: {},
});

class ThermalProbe extends Service<typeof probeSpec> {
  readonly readings: number[] = [];
  readonly errors: string[] = [];
  constructor(context: ServiceContext, private readonly platform: Platform) {
    super(probeSpec, context);
  }
  protected override onStart(): void {
    this.every(100, () => {
      this.platform.thermal.readCelsius("thermal_zone0").then(
        (c) => {
          this.readings.push(c);
          this.telemetry({ dieC: c });
        },
        (err: Error) => this.errors.push(err.message),
      );
    });
  }
  protected commands(): CommandHandlers<typeof probeSpec> {
    return {
      setCpuMax: async ({ policy, maxKhz }) => {
        try {
          await this.platform.cpufreq.setMaxKHz(policy, maxKhz);
        } catch (err) {
          if (err instanceof PlatformError) throw new CommandRejected("argument", err.message);
          throw err;
        }
        return `${policy} ceiling ${maxKhz} kHz`;
      },
    };
  }
}

async function until(cond: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("a service against the HIL adapters over TCP", () => {
  it("reads the emulated hardware and commands it, then sees the state go stale when the HIL stops", async () => {
    const scenario = parseScenario({ name: "tcp", seed: 3, epoch: "2026-03-20T00:00:00Z", duration: "30m", step: "10s" });
    // 600 simulated seconds per wall second: the board node runs on real time.
    const run = new HilRun({ scenario, speed: 600 });
    const server = await BusServer.listen(run.bus, parseEndpoint("tcp:127.0.0.1:0"));
    cleanups.push(() => server.close());

    const board = new Bus({ node: "board", clock: new RealClock() });
    cleanups.push(() => board.close());
    const client = await BusClient.connect(board, server.endpoint);
    cleanups.push(() => client.close());
    const platform = createHilPlatform({ bus: board, staleAfterMs: 500, requestTimeoutMs: 2000 });
    const probe = new ThermalProbe({ bus: board, clock: board.clock }, platform);
    await probe.start();
    cleanups.push(() => probe.stop());

    const finished = run.run();
    await until(() => probe.readings.length >= 5, "temperature readings over TCP");
    expect(probe.readings.every((c) => Number.isFinite(c) && c > -60 && c < 120)).toBe(true);

    const bad = await sendCommand(board, "thermal-probe", umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy0", maxKhz: 123 });
    expect(bad.status).toBe(umbra.core.v1.CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT);
    expect(bad.message).toMatch(/123/);
    const ok = await sendCommand(board, "thermal-probe", umbra.platform.v1.SetCpuMaxFrequency, { policy: "policy0", maxKhz: 600000 });
    expect(ok).toMatchObject({ status: umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED, message: "policy0 ceiling 600000 kHz" });
    expect(await platform.cpufreq.maxKHz("policy0")).toBe(600000);

    const report = await finished;
    expect(report.series.cpuFrequencyRatio.at(-1)).toBeCloseTo(1 / 3, 6);
    expect(report.series.cpuFrequencyRatio[0]).toBe(1);
    // The HIL has stopped publishing: reads now fail loudly instead of returning old numbers.
    await new Promise((r) => setTimeout(r, 700));
    await expect(platform.thermal.readCelsius("thermal_zone0")).rejects.toThrow(/stale/);
  });
});
