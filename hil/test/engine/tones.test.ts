// Mission time for services in other processes: one umbra.core.v1.TimeTone
// per simulated second, evenly spread in wall time when the run is paced.
import { describe, expect, it } from "vitest";
import { utcMsToTaiNs } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { parseScenario } from "../../src/scenario/load.js";
import { HilRun } from "../../src/engine/run.js";
import type { ScenarioInput } from "../../src/scenario/schema.js";

function scenario(extra: Partial<ScenarioInput> = {}) {
  return parseScenario({ name: "t", seed: 3, epoch: "2026-03-20T00:00:00Z", duration: "20s", step: "10s", ...extra });
}

interface Heard {
  wallMs: number;
  sequence: number;
  missionTimeNs: bigint;
  clockNs: bigint;
  rate: number;
}

function listen(run: HilRun): Heard[] {
  const heard: Heard[] = [];
  run.bus.subscribe(umbra.core.v1.TimeTone, (t) => {
    heard.push({ wallMs: performance.now(), sequence: Number(t.sequence), missionTimeNs: BigInt(t.missionTimeNs.toString()), clockNs: run.clock.nowTaiNs(), rate: t.rate });
  });
  return heard;
}

describe("time tones", () => {
  it("come once per simulated second, evenly spaced in wall time when paced, numbered from 1, on the HIL's clock", async () => {
    const s = scenario();
    // 20 simulated seconds at 20x: one tone every 50 wall ms, although the environment steps every 10 s.
    const run = new HilRun({ scenario: s, speed: 20 });
    const heard = listen(run);
    let steps = 0;
    run.bus.subscribe(umbra.platform.v1.HardwareState, () => {
      steps++;
    });
    const report = await run.run();
    expect(steps).toBe(2);
    expect(heard.map((h) => h.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(report.summary["timeTones"]).toBe(20);
    const epochNs = utcMsToTaiNs(s.epoch);
    heard.forEach((h, i) => {
      expect(h.missionTimeNs).toBe(epochNs + BigInt(i + 1) * 1_000_000_000n);
      // Delivered while the clock still stands at the tone: the tone is the HIL's clock.
      expect(h.clockNs).toBe(h.missionTimeNs);
      expect(h.rate).toBe(20);
    });
    const gaps = heard.slice(1).map((h, i) => h.wallMs - heard[i]!.wallMs);
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1]!;
    expect(median).toBeGreaterThan(35);
    expect(median).toBeLessThan(70);
    // No bursts: a whole step's worth of tones at once would show as gaps near 0.
    expect(gaps.filter((g) => g < 15).length).toBeLessThanOrEqual(2);
    expect(heard.at(-1)!.wallMs - heard[0]!.wallMs).toBeGreaterThan(19 * 50 * 0.8);
  });

  it("at full speed still come once per simulated second, with rate 0", async () => {
    const run = new HilRun({ scenario: scenario({ duration: "10m" }) });
    const heard = listen(run);
    await run.run();
    expect(heard).toHaveLength(600);
    expect(heard.every((h) => h.rate === 0)).toBe(true);
    expect(heard.at(-1)!.sequence).toBe(600);
    expect(heard.at(-1)!.missionTimeNs).toBe(run.clock.nowTaiNs());
  });

  it("follow toneIntervalMs, and none come when it is 0", async () => {
    const every5 = new HilRun({ scenario: scenario({ duration: "1m" }), toneIntervalMs: 5000 });
    const heard5 = listen(every5);
    await every5.run();
    expect(heard5.map((h) => h.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const off = new HilRun({ scenario: scenario({ duration: "1m" }), toneIntervalMs: 0 });
    const heardOff = listen(off);
    const r = await off.run();
    expect(heardOff).toHaveLength(0);
    expect(r.summary["timeTones"]).toBe(0);
    // A paced run without tones is still paced.
    const pacedOff = new HilRun({ scenario: scenario(), toneIntervalMs: 0, speed: 40 });
    const t0 = performance.now();
    await pacedOff.run();
    expect(performance.now() - t0).toBeGreaterThan(400);
  });

  it("skips tones while canSendTone says the hub is away, leaving a gap in the sequence", async () => {
    let asked = 0;
    // The link is down for the 11th to the 15th tone.
    const run = new HilRun({ scenario: scenario(), canSendTone: () => ++asked <= 10 || asked > 15 });
    const heard = listen(run);
    const r = await run.run();
    expect(heard.map((h) => h.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 19, 20]);
    expect(r.summary["timeTones"]).toBe(15);
  });

  it("refuses a bad tone interval or speed", () => {
    expect(() => new HilRun({ scenario: scenario(), toneIntervalMs: -1 })).toThrow(RangeError);
    expect(() => new HilRun({ scenario: scenario(), toneIntervalMs: Number.NaN })).toThrow(/toneIntervalMs/);
    expect(() => new HilRun({ scenario: scenario(), speed: 0 })).toThrow(/speed/);
  });

  it("a paced run stops at its next tone when asked, not at the end of a long step", async () => {
    const run = new HilRun({ scenario: scenario({ duration: "10m", step: "60s" }), speed: 10 });
    const heard = listen(run);
    setTimeout(() => run.stop(), 300);
    const t0 = performance.now();
    const r = await run.run();
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(heard.length).toBeGreaterThan(1);
    expect(heard.length).toBeLessThan(10);
    expect(r.timeS).toEqual([]);
  });
});
