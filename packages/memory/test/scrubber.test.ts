import { describe, expect, it } from "vitest";
import { Bus } from "@umbra/core";
import { SimClock } from "@umbra/core/testing";
import { MemoryRegionRegistry } from "@umbra/platform";
import { umbra, type MessageOf } from "@umbra/proto";
import { ProtectedRegion, RegionError, Scrubber } from "../src/index.js";

type ScrubStatus = MessageOf<typeof umbra.scrubber.v1.ScrubStatus>;

function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 7 + (i >>> 8)) & 0xff;
  return out;
}

function setup(options: { bytes?: number; config?: ConstructorParameters<typeof Scrubber>[0]["config"]; cpuTimeUs?: () => number; bytesPerCpuSecond?: number } = {}) {
  const clock = new SimClock();
  const bus = new Bus({ node: "app-1", clock, queueCapacity: 100_000 });
  const statuses: ScrubStatus[] = [];
  bus.subscribe(umbra.scrubber.v1.ScrubStatus, (m) => void statuses.push(m));
  const scrubber = new Scrubber({
    bus,
    clock,
    service: "app",
    config: options.config ?? {},
    // Deterministic CPU accounting: 1 µs per call.
    cpuTimeUs: options.cpuTimeUs ?? (() => 0),
    ...(options.bytesPerCpuSecond ? { bytesPerCpuSecond: options.bytesPerCpuSecond } : {}),
  });
  const bytes = pattern(options.bytes ?? 256 * 1024);
  const region = scrubber.protect(ProtectedRegion.create({ name: "model/weights", bytes, code: { checksumBlockBytes: 4096 }, clock }));
  return { clock, bus, statuses, scrubber, region, bytes, original: bytes.slice() };
}

async function flipOverBus(bus: Bus, region: string, offsets: number[], service = "app") {
  const reply = bus.request(
    umbra.platform.v1.FlipBits,
    { service, region, bitOffsets: offsets.map(BigInt), injectionId: `inj-${offsets.join("-")}` },
    umbra.platform.v1.FlipBitsResult,
    { target: service, timeoutMs: 1000 },
  );
  await bus.idle();
  return reply;
}

describe("Scrubber (scrub agent)", () => {
  it("puts the region and its side table within the fault injector's reach and corrects a FlipBits in the background", async () => {
    const { clock, bus, statuses, scrubber, region, bytes, original } = setup({ config: { maxPassPeriodS: 60, tickMs: 1000 } });
    await bus.idle();
    expect(statuses.at(-1)).toMatchObject({ service: "app", node: "app-1", region: "model/weights", sizeBytes: BigInt(region.size), code: "secded(72,64) x8 + crc32/4KiB", usable: true });
    const result = await flipOverBus(bus, "model/weights", [12_345]);
    expect(result).toMatchObject({ applied: true, error: "" });
    expect(bytes).not.toEqual(original);
    const side = await flipOverBus(bus, "model/weights/ecc", [77]);
    expect(side.applied).toBe(true);
    scrubber.start();
    await clock.advance(61_000);
    await bus.idle();
    expect(bytes).toEqual(original);
    expect(region.stats).toMatchObject({ correctedBits: 1, correctedCheckBits: 1, uncorrectableBlocks: 0 });
    expect(region.stats.fullPasses).toBeGreaterThanOrEqual(1);
    const last = statuses.at(-1)!;
    expect(last).toMatchObject({ correctedBits: 1n, correctedCheckBits: 1n, usable: true, budgetLimited: false });
    // Two upsets in 2 Mbit within minutes is a high rate: the plan follows it.
    expect(last.observedRatePerBitDay).toBeGreaterThan(1e-5);
    expect(last.plannedPassPeriodS).toBeLessThan(60);
    expect(last.lastFullPassNs).toBeGreaterThan(0n);
    scrubber.close();
  });

  it("paces itself: one full pass per planned period, not more", async () => {
    const { clock, scrubber, region } = setup({ config: { maxPassPeriodS: 100, tickMs: 1000 } });
    scrubber.start();
    await clock.advance(1000 * 1000);
    // 256 KiB over 100 s in 1 s ticks: 10 passes in 1000 s (give or take the block rounding at the start).
    expect(region.stats.fullPasses).toBeGreaterThanOrEqual(9);
    expect(region.stats.fullPasses).toBeLessThanOrEqual(11);
    scrubber.close();
  });

  it("plans for a higher upset rate (config from the bus, or observed corrections) with a shorter pass", async () => {
    const { clock, bus, scrubber } = setup({ bytes: 1024 * 1024, config: { maxPassPeriodS: 7 * 86_400, assumedUpsetRatePerBitDay: 1e-6 } });
    const quiet = scrubber.plan("model/weights")!.passPeriodS;
    bus.publish(umbra.scrubber.v1.ScrubConfig, { cpuBudget: 0.05, assumedUpsetRatePerBitDay: 1e-5, targetUncorrectablePerYear: 1e-3, maxPassPeriodS: 7 * 86_400, tickMs: 1000 });
    await bus.idle();
    expect(scrubber.config.assumedUpsetRatePerBitDay).toBe(1e-5);
    expect(scrubber.plan("model/weights")!.passPeriodS).toBeCloseTo(quiet / 100, 6);
    // A config with one bad field is ignored as a whole.
    bus.publish(umbra.scrubber.v1.ScrubConfig, { cpuBudget: 5, assumedUpsetRatePerBitDay: 1e-9, targetUncorrectablePerYear: 1e-3, maxPassPeriodS: 60, tickMs: 1000 });
    await bus.idle();
    expect(scrubber.config).toMatchObject({ cpuBudget: 0.05, assumedUpsetRatePerBitDay: 1e-5 });

    // Observed: back to a low floor, then many corrections in a short time raise the estimate.
    scrubber.configure({ assumedUpsetRatePerBitDay: 0 });
    const before = scrubber.plan("model/weights")!.passPeriodS;
    scrubber.start();
    for (let i = 0; i < 20; i++) {
      await flipOverBus(bus, "model/weights", [i * 4096 * 8 + 3]);
      scrubber.scrubNow("model/weights");
      await clock.advance(1000);
    }
    expect(scrubber.status("model/weights")!.observedRatePerBitDay).toBeGreaterThan(0);
    expect(scrubber.plan("model/weights")!.passPeriodS).toBeLessThan(before);
    scrubber.close();
  });

  it("is budget-limited when scrubbing costs more CPU than the budget allows", async () => {
    let cpu = 0;
    const { clock, bus, scrubber, statuses } = setup({
      config: { cpuBudget: 0.001, assumedUpsetRatePerBitDay: 1e-3, maxPassPeriodS: 3600 },
      // 1 MB/s: every scrub call costs checkedBytes µs.
      cpuTimeUs: () => cpu,
      bytesPerCpuSecond: 1e6,
    });
    const plan = scrubber.plan("model/weights")!;
    expect(plan.budgetLimited).toBe(true);
    expect(plan.cpuFraction).toBeCloseTo(0.001, 9);
    scrubber.start();
    await clock.advance(5000);
    await bus.idle();
    expect(statuses.at(-1)!.budgetLimited).toBe(true);
    cpu = 0;
    scrubber.close();
  });

  it("answers ScrubRequest with a full pass, for itself or for every service", async () => {
    const { bus, region, scrubber } = setup();
    bus.publish(umbra.scrubber.v1.ScrubRequest, { service: "other", region: "", requestId: "r1" });
    await bus.idle();
    expect(region.stats.fullPasses).toBe(0);
    bus.publish(umbra.scrubber.v1.ScrubRequest, { service: "app", region: "model/weights", requestId: "r2" });
    bus.publish(umbra.scrubber.v1.ScrubRequest, { service: "", region: "", requestId: "r3" });
    await bus.idle();
    expect(region.stats.fullPasses).toBe(2);
    scrubber.close();
  });

  it("refuses duplicates, bad services and bad configs; unprotect withdraws the region (size 0)", async () => {
    const { bus, scrubber, region, statuses } = setup();
    expect(() => scrubber.protect(region)).toThrow(/already protected here/);
    expect(() => scrubber.protect({} as never)).toThrow(/takes a ProtectedRegion/);
    expect(() => scrubber.configure({ cpuBudget: 0 })).toThrow(/cpuBudget: 0 is not in 0.001..1/);
    expect(() => scrubber.configure({ tickMs: 10.5 })).toThrow(/tickMs: 10.5 is not an integer/);
    expect(() => scrubber.scrubNow("nope")).toThrow(/no region "nope"/);
    expect(() => new Scrubber({ bus, clock: new SimClock(), service: "bad name" })).toThrow(RegionError);
    expect(scrubber.unprotect("model/weights")).toBe(true);
    expect(scrubber.unprotect("model/weights")).toBe(false);
    await bus.idle();
    expect(statuses.at(-1)).toMatchObject({ region: "model/weights", sizeBytes: 0n });
    const flip = await flipOverBus(bus, "model/weights", [1]);
    expect(flip).toMatchObject({ applied: false, error: expect.stringMatching(/unknown region/) });
    scrubber.close();
    expect(() => scrubber.start()).toThrow(/closed/);
  });

  it("registers in the owner's registry when given one (and then leaves FlipBits to the owner)", () => {
    const clock = new SimClock();
    const bus = new Bus({ node: "n", clock });
    const registry = new MemoryRegionRegistry();
    const scrubber = new Scrubber({ bus, clock, service: "svc", registry, exposeSideTables: false, cpuTimeUs: () => 0 });
    scrubber.protect(ProtectedRegion.create({ name: "t", bytes: pattern(2048) }));
    expect(registry.list().map((r) => r.name)).toEqual(["t"]);
    // A clash with what the owner registered is refused and leaves nothing behind.
    registry.register("u/ecc", new Uint8Array(4));
    const s2 = new Scrubber({ bus, clock, service: "svc2", registry, cpuTimeUs: () => 0 });
    expect(() => s2.protect(ProtectedRegion.create({ name: "u", bytes: pattern(2048) }))).toThrow(/cannot protect "u".*already registered/);
    expect(registry.get("u")).toBeUndefined();
    scrubber.close();
    s2.close();
  });
});
