// The HIL fault campaign against the real inference service on a real
// pretrained model (PaddleOCR's text-direction classifier), with a fixed
// seed: unprotected inference shows silent data corruption, TMR and duplex
// with arbitration mask every single-replica fault.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus, SimClock, silentLogger } from "@umbra/core";
import { runCampaign } from "@umbra/hil";
import { InferenceService, ModelRegistry, installShippedModels } from "@umbra/inference";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir: string;
let bus: Bus;
let registry: ModelRegistry;
let service: InferenceService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "umbra-campaign-"));
  const clock = new SimClock();
  bus = new Bus({ node: "campaign", clock, logger: silentLogger(), queueCapacity: 10_000 });
  registry = ModelRegistry.open(join(dir, "models.db"));
  service = new InferenceService({ bus, clock }, { registry });
  await service.start();
  const installed = await installShippedModels(service, registry, join(dir, "models"), ["ocr-cls"]);
  expect(installed.failed).toEqual([]);
});

afterAll(async () => {
  await service.stop();
  bus.close();
  registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("fault campaign on a real model", () => {
  it("shows SDC without protection, and none under TMR or duplex-with-arbitration", { timeout: 180_000 }, async () => {
    const report = await runCampaign({ bus, model: "ocr-cls", faults: 40, seed: 2026, kinds: ["weight-bit", "weight-burst", "replica-output"] });
    expect(report.trials).toHaveLength(120);
    const single = report.byMode["single"]!;
    // Unprotected: some upsets (high exponent bits above all) corrupt the result silently.
    expect(single.sdc).toBeGreaterThan(0);
    const exponentMsb = report.byModeAndBit["single"]![30]!;
    expect(exponentMsb.trials === 0 || exponentMsb.sdc > 0).toBe(true);
    // Every single-replica fault is masked under both protected modes.
    for (const mode of ["tmr", "duplex"]) {
      expect(report.byMode[mode]!.sdc, mode).toBe(0);
      expect(report.byMode[mode]!.uncorrectable, mode).toBe(0);
      expect(report.byMode[mode]!.corrected, mode).toBeGreaterThan(0);
    }
    // Same seed, same faults: the campaign is reproducible.
    const again = await runCampaign({ bus, model: "ocr-cls", faults: 40, seed: 2026 });
    expect(again.trials.map((t) => [t.mode, t.kind, t.replica, t.bitOffsets, t.outcome])).toEqual(report.trials.map((t) => [t.mode, t.kind, t.replica, t.bitOffsets, t.outcome]));
  });

  it("refuses bad campaign settings and an unknown model with a clear error", async () => {
    await expect(runCampaign({ bus, model: "ocr-cls", faults: 0 })).rejects.toThrow(/faults must be an integer/);
    await expect(runCampaign({ bus, model: "ocr-cls", faults: 1, modes: ["quad" as "tmr"] })).rejects.toThrow(/modes must be some of/);
    await expect(runCampaign({ bus, model: "ocr-cls", faults: 1, kinds: [] })).rejects.toThrow(/fault kinds/);
    await expect(runCampaign({ bus, model: "nope", faults: 1 })).rejects.toThrow(/no model "nope" is registered/);
  });
});
