import { describe, expect, it } from "vitest";
import { ServiceHarness } from "@umbra/core/testing";
import { PlatformError, type EdacCounts, type EdacPort } from "@umbra/platform";
import { umbra } from "@umbra/proto";
import { ProtectedRegion } from "@umbra/memory";
import { SCRUBBER_APID, ScrubberService, type ScrubberServiceOptions } from "../src/index.js";

const { CommandStatus, Severity } = umbra.core.v1;

class FakeEdac implements EdacPort {
  counts: EdacCounts[] = [
    { controller: "mc0", correctable: 5n, uncorrectable: 0n },
    { controller: "mc1", correctable: 1n, uncorrectable: 0n },
  ];
  failing = false;
  async read(): Promise<EdacCounts[]> {
    if (this.failing) throw new PlatformError("edac", "/sys/devices/system/edac/mc", "mc0/ce_count: not a counter");
    return this.counts.map((c) => ({ ...c }));
  }
}

function table(name = "critical/table", size = 64 * 1024): ProtectedRegion {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 29 + 3) & 0xff;
  return ProtectedRegion.create({ name, bytes, code: { checksumBlockBytes: 4096 } });
}

async function start(options: ScrubberServiceOptions = {}, parameters: Record<string, unknown> = {}) {
  return ServiceHarness.start((ctx) => new ScrubberService(ctx, options), { parameters: { maxPassPeriodS: 10, tickMs: 1000, ...parameters } });
}

async function flip<T extends ServiceHarness<ScrubberService>>(h: T, region: string, offsets: number[]) {
  const reply = h.bus.request(
    umbra.platform.v1.FlipBits,
    { service: "scrubber", region, bitOffsets: offsets.map(BigInt), injectionId: "i" },
    umbra.platform.v1.FlipBitsResult,
    { target: "scrubber", timeoutMs: 1000 },
  );
  await h.settle();
  return reply;
}

describe("ScrubberService", () => {
  it("declares itself at APID 0x050 and reports telemetry, EDAC included", async () => {
    const edac = new FakeEdac();
    const h = await start({ edac, regions: [table()] });
    const declaration = h.published(umbra.core.v1.ServiceDeclaration).at(-1)!.message;
    expect(declaration).toMatchObject({ name: "scrubber", apid: SCRUBBER_APID });
    expect(declaration.commands.map((c) => c.name)).toEqual(["scrubNow"]);
    await h.advance(10_000);
    expect(h.telemetry("regions").at(-1)!.value).toBe(1);
    expect(h.telemetry("protectedBytes").at(-1)!.value).toBe(64 * 1024);
    expect(h.telemetry("edacCorrectable").at(-1)!.value).toBe(6);
    expect(h.telemetry("edacUncorrectable").at(-1)!.value).toBe(0);
    expect(h.telemetry("edacOk").at(-1)!.value).toBe(true);
    expect(h.telemetry("unusableRegions").at(-1)!.value).toBe(0);
    expect(h.telemetry("lastFullPassAgeS").at(-1)!.value).toBeLessThanOrEqual(10);
    expect(h.events()).toEqual([]); // counts from before the service started are not news
    await h.stop();
  });

  it("raises edacUncorrectable (high) when a controller's UE count goes up, edacCorrectable on CE, edacReadFailed once", async () => {
    const edac = new FakeEdac();
    const h = await start({ edac });
    await h.advance(1000);
    edac.counts[1]!.uncorrectable = 2n;
    edac.counts[0]!.correctable = 9n;
    await h.advance(10_000);
    const ue = h.events("edacUncorrectable");
    expect(ue).toHaveLength(1);
    expect(ue[0]).toMatchObject({ severity: Severity.SEVERITY_HIGH, args: { controller: "mc1", increase: "2", total: "2" } });
    expect(h.events("edacCorrectable")[0]!.args).toMatchObject({ controller: "mc0", increase: "4" });
    await h.advance(10_000);
    expect(h.telemetry("edacUncorrectable").at(-1)!.value).toBe(2);
    edac.failing = true;
    await h.advance(30_000);
    expect(h.events("edacReadFailed")).toHaveLength(1);
    expect(h.events("edacReadFailed")[0]!.message).toMatch(/mc0\/ce_count: not a counter/);
    expect(h.telemetry("edacOk").at(-1)!.value).toBe(false);
    expect(h.events("edacUncorrectable")).toHaveLength(1);
    await h.stop();
  });

  it("corrects a FlipBits sent over the bus into its own table and reports it", async () => {
    const region = table();
    const original = region.bytes.slice();
    const h = await start({ regions: [region] });
    expect(await flip(h, "critical/table", [1000, 1001])).toMatchObject({ applied: true }); // adjacent: two codewords
    expect(region.bytes).not.toEqual(original);
    await h.advance(11_000);
    expect(region.bytes).toEqual(original);
    const events = h.events("singleCorrected");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ severity: Severity.SEVERITY_INFO, args: { service: "scrubber", region: "critical/table", bits: "2" } });
    expect(h.telemetry("correctedBits").at(-1)!.value).toBe(2);
    expect(h.events("uncorrectable")).toEqual([]);
    await h.stop();
  });

  it("reports a double flip in one codeword as uncorrectable (high) and the region as unusable", async () => {
    const region = table();
    const h = await start({ regions: [region] });
    await flip(h, "critical/table", [4096 * 8 + 3, 4096 * 8 + 3 + 8]);
    await h.advance(11_000);
    const events = h.events("uncorrectable");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ severity: Severity.SEVERITY_HIGH, args: { region: "critical/table", badNow: "1", golden: "GOLDEN_STATE_NONE" } });
    expect(h.telemetry("unusableRegions").at(-1)!.value).toBe(1);
    expect(h.telemetry("uncorrectableBlocks").at(-1)!.value).toBe(1);
    expect(region.usable).toBe(false);
    // Found once, not again on every pass.
    await h.advance(30_000);
    expect(h.events("uncorrectable")).toHaveLength(1);
    expect(h.telemetry("uncorrectableDetected").at(-1)!.value).toBe(1);
    await h.stop();
  });

  it("raises goldenRejected for a golden copy with the wrong hash", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = mkdtempSync(path.join(os.tmpdir(), "umbra-scrubber-svc-"));
    try {
      const region = table();
      const file = path.join(dir, "table.bin");
      writeFileSync(file, region.bytes);
      const status = await region.attachGolden({ path: file, sha256: "ab".repeat(32) });
      expect(status.state).toBe("rejected");
      const h = await start({ regions: [region] });
      const events = h.events("goldenRejected");
      expect(events).toHaveLength(1);
      expect(events[0]!.message).toMatch(/golden copy of scrubber\/critical\/table rejected: .*sha256 is [0-9a-f]{64}, expected (ab){32}/);
      await h.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("scrubNow: refuses bad or unknown targets with a reason, and asks the agents for a full pass", async () => {
    const region = table();
    const h = await start({ regions: [region] }, { maxPassPeriodS: 3600 });
    const cases: [Record<string, string>, number, RegExp][] = [
      [{ service: "", region: "critical/table" }, CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT, /a region needs its service/],
      [{ service: "bad name", region: "" }, CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT, /is not a service name/],
      [{ service: "scrubber", region: "../etc" }, CommandStatus.COMMAND_STATUS_REJECTED_ARGUMENT, /is not a region name/],
      [{ service: "scrubber", region: "other" }, CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION, /no region "other" of service "scrubber" is known/],
      [{ service: "inference", region: "" }, CommandStatus.COMMAND_STATUS_REJECTED_PRECONDITION, /no protected region of service "inference"/],
    ];
    for (const [args, status, message] of cases) {
      const r = await h.command("scrubNow", args);
      expect(r.status).toBe(status);
      expect(r.message).toMatch(message);
    }
    expect(region.stats.fullPasses).toBe(0);
    const ok = await h.command("scrubNow", { service: "scrubber", region: "critical/table" });
    expect(ok).toMatchObject({ status: CommandStatus.COMMAND_STATUS_COMPLETED, message: expect.stringMatching(/scrub of scrubber\/critical\/table requested/) });
    await h.settle();
    expect(region.stats.fullPasses).toBe(1);
    await h.command("scrubNow", { service: "", region: "" });
    await h.settle();
    expect(region.stats.fullPasses).toBe(2);
    await h.stop();
  });

  it("passes parameter changes to every agent as ScrubConfig; refuses out-of-range values and keeps the old ones", async () => {
    const h = await start({ regions: [table()] });
    h.record(umbra.scrubber.v1.ScrubConfig);
    const ok = await h.setParameters({ assumedUpsetRatePerBitDay: 1e-6, cpuBudget: 0.1 });
    expect(ok.ok).toBe(true);
    await h.settle();
    expect(h.published(umbra.scrubber.v1.ScrubConfig).at(-1)!.message).toMatchObject({ assumedUpsetRatePerBitDay: 1e-6, cpuBudget: 0.1, tickMs: 1000 });
    expect(h.service.agent!.config).toMatchObject({ assumedUpsetRatePerBitDay: 1e-6, cpuBudget: 0.1 });
    const bad = await h.setParameters({ cpuBudget: 0.2, tickMs: 5 });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/tickMs: 5 is below the minimum 10/);
    expect(await h.getParameters(["cpuBudget", "tickMs"])).toEqual({ cpuBudget: 0.1, tickMs: 1000 });
    expect(h.service.agent!.config.cpuBudget).toBe(0.1);
    await h.stop();
  });

  it("aggregates ScrubStatus from other processes, and survives their restarts and withdrawals", async () => {
    const h = await start({ regions: [table()] });
    const other = {
      service: "inference",
      node: "inference-42",
      region: "model/weights",
      sizeBytes: 1_000_000n,
      code: "secded(72,64) x8 + crc32/64KiB",
      correctedBits: 3n,
      uncorrectableDetected: 0n,
      repairedBlocks: 0n,
      golden: umbra.scrubber.v1.GoldenState.GOLDEN_STATE_VERIFIED,
      usable: true,
      lastFullPassNs: h.clock.nowTaiNs(),
    };
    h.bus.publish(umbra.scrubber.v1.ScrubStatus, other);
    await h.settle();
    h.bus.publish(umbra.scrubber.v1.ScrubStatus, { ...other, correctedBits: 5n, repairedBlocks: 1n });
    await h.settle();
    // The owner restarted: its counters start from zero again; nothing goes negative.
    h.bus.publish(umbra.scrubber.v1.ScrubStatus, { ...other, correctedBits: 1n, repairedBlocks: 0n });
    await h.settle();
    await h.advance(10_000);
    expect(h.telemetry("regions").at(-1)!.value).toBe(2);
    expect(h.telemetry("correctedBits").at(-1)!.value).toBe(6);
    expect(h.telemetry("repairedBlocks").at(-1)!.value).toBe(1);
    expect(h.events("repaired")).toHaveLength(1);
    expect(h.service.statuses().get("inference/model/weights")!.correctedBits).toBe(1n);
    // Garbage names are ignored; size 0 withdraws.
    h.bus.publish(umbra.scrubber.v1.ScrubStatus, { ...other, service: "bad name" });
    h.bus.publish(umbra.scrubber.v1.ScrubStatus, { ...other, sizeBytes: 0n });
    await h.advance(10_000);
    expect(h.telemetry("regions").at(-1)!.value).toBe(1);
    await h.stop();
  });
});
