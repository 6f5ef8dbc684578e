// The default scenario for `pnpm start` must show what it promises: two
// eclipses, an SAA pass, a ground contact, radiation upsets, and faults the
// payload corrects, each where its comment says (a fast run is under a second).
import { describe, expect, it } from "vitest";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../../src/scenario/load.js";
import { HilRun } from "../../src/engine/run.js";
import type { RunReport } from "../../src/report/report.js";

const file = join(dirname(fileURLToPath(import.meta.url)), "../../scenarios/stack-demo.yaml");
const within = (tS: number, windows: { startS: number; endS: number }[]) => windows.some((w) => tS >= w.startS && tS <= w.endS);

describe("stack-demo.yaml", () => {
  let report: RunReport;

  it("loads, and lasts between 3 and 4.5 simulated hours", async () => {
    const s = await loadScenario(file);
    expect(s.name).toBe("stack-demo");
    expect(s.duration).toBeGreaterThanOrEqual(3 * 3600);
    expect(s.duration).toBeLessThanOrEqual(4.5 * 3600);
    report = await new HilRun({ scenario: s, toneIntervalMs: 0 }).run();
  });

  it("has two whole eclipses, an SAA pass, ground contacts and radiation upsets", () => {
    const sum = report.summary;
    expect(sum["eclipses"] as number).toBeGreaterThanOrEqual(2);
    expect(sum["saaPasses"] as number).toBeGreaterThanOrEqual(1);
    expect(sum["contacts"] as number).toBeGreaterThanOrEqual(1);
    expect(sum["upsets"] as number).toBeGreaterThan(0);
    // The times its comment gives, to the minute.
    const minutes = (w: { startS: number; endS: number }[]) => w.map((x) => [Math.round(x.startS / 60), Math.round(x.endS / 60)]);
    expect(minutes(report.windows.eclipse)).toEqual([
      [29, 64],
      [124, 159],
    ]);
    expect(minutes(report.windows.saa)).toEqual([
      [48, 62],
      [142, 155],
    ]);
    expect(report.windows.contacts.map((c) => c.station).sort()).toEqual(["Kiruna", "Kiruna", "Svalbard", "Svalbard"]);
  });

  it("schedules the faults the payload corrects, each where the file says", () => {
    const faults = report.faults.filter((f) => f.cause === "schedule");
    const kinds = faults.map((f) => `${f.kind} ${f.target}`);
    expect(kinds).toContain("bit-flip inference/model/tiny-cls/v1");
    expect(kinds).toContain("replica-output inference#1");
    expect(kinds).toContain("multi-bit-flip inference/model/ocr-cls/v1");
    // No services in this run: the hang and the kill are logged as undelivered, with their times.
    const hang = faults.find((f) => f.kind === "hang")!;
    expect(hang.action).toEqual({ kind: "signal", service: "jobs", signal: "hang", durationS: 600 });
    const kill = faults.find((f) => f.kind === "kill")!;
    expect(kill.action).toMatchObject({ service: "scrubber", signal: "kill" });
    const w = report.windows;
    expect(within(faults.find((f) => f.kind === "replica-output")!.elapsedS, w.contacts)).toBe(true);
    expect(within(faults.find((f) => f.kind === "multi-bit-flip")!.elapsedS, w.saa)).toBe(true);
    expect(within(kill.elapsedS, w.eclipse)).toBe(true);
    expect(within(hang.elapsedS, w.eclipse)).toBe(false);
  });
});
