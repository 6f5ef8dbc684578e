import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatEnergy, formatProgress, jobStateName, toJobRows, waitingReason } from "../src/logic/jobs.js";

describe("jobs", () => {
  it("read the JobList JSON the gateway passes through", () => {
    const rows = toJobRows({
      jobs: [
        { jobId: "tile-1", tenant: "earth-obs", state: "JOB_STATE_QUEUED", priority: 6, model: "tiny-cls", variant: "", tilesTotal: 20, tilesDone: 0, inferences: "0", energyJ: 0, forecastEnergyJ: 1.5, reason: "energy: the forecast keeps the battery above floor" },
        { jobId: "tile-2", tenant: "ocean", state: "JOB_STATE_DONE", energyJ: "2.25", tilesTotal: 4, tilesDone: 4 },
        { notAJob: true },
      ],
    });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ jobId: "tile-1", state: "queued", priority: 6, forecastEnergyJ: 1.5 });
    expect(rows[1]).toMatchObject({ state: "done", energyJ: 2.25, reason: "" });
    expect(toJobRows(null)).toEqual([]);
    expect(toJobRows({ jobs: "x" })).toEqual([]);
    expect(jobStateName(3)).toBe("running");
    expect(jobStateName(99)).toBe("state 99");
    fc.assert(fc.property(fc.anything(), (x) => void toJobRows(x)));
  });

  it("say why a waiting job waits, and what an operator can do", () => {
    expect(waitingReason({ state: "queued", reason: "energy: the next batch does not fit before eclipse" })).toMatchObject({ kind: "energy", hint: expect.stringMatching(/sunlight/) });
    expect(waitingReason({ state: "queued", reason: "quota: earth-obs has 0 J left this day" })).toMatchObject({ kind: "quota" });
    expect(waitingReason({ state: "queued", reason: "all 2 job slot(s) taken" })).toMatchObject({ kind: "slots" });
    expect(waitingReason({ state: "queued", reason: "no job slot: the budget grants 0" })).toMatchObject({ kind: "slots" });
    expect(waitingReason({ state: "queued", reason: "emergency: thermal" })).toMatchObject({ kind: "emergency" });
    expect(waitingReason({ state: "queued", reason: "no model to run on: ocr-det" })).toMatchObject({ kind: "model" });
    expect(waitingReason({ state: "queued", reason: "cannot finish a tile before the deadline" })).toMatchObject({ kind: "deadline" });
    expect(waitingReason({ state: "queued", reason: "power readings unavailable" })).toMatchObject({ kind: "power" });
    expect(waitingReason({ state: "queued", reason: "something new" })).toEqual({ kind: "other", text: "something new", hint: "" });
    expect(waitingReason({ state: "queued", reason: "" })).toMatchObject({ kind: "other", text: "no reason given yet" });
    expect(waitingReason({ state: "paused", reason: "" })).toMatchObject({ kind: "paused", hint: "only resume moves it" });
    expect(waitingReason({ state: "running", reason: "energy: x" })).toBeUndefined();
    expect(waitingReason({ state: "done", reason: "" })).toBeUndefined();
  });

  it("format energy and progress", () => {
    expect(formatEnergy(0)).toBe("0 J");
    expect(formatEnergy(0.00042)).toBe("0.42 mJ");
    expect(formatEnergy(12.34)).toBe("12.3 J");
    expect(formatEnergy(120)).toBe("120 J");
    expect(formatEnergy(4560)).toBe("4.56 kJ");
    expect(formatEnergy(1.2e6)).toBe("1.2 MJ");
    expect(formatEnergy(Number.NaN)).toBe("-");
    expect(formatProgress({ tilesDone: 7, tilesTotal: 20 })).toBe("7/20 (35 %)");
    expect(formatProgress({ tilesDone: 3, tilesTotal: 0 })).toBe("3 tiles");
  });
});
