import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PendingReports, isFinal, mergeStages, pipeline, stateOf, toCommandRecord, toStageReport, type StageReport } from "../src/logic/verification.js";

const ok = (stage: StageReport["stage"], detail = "", step?: number): StageReport => ({ stage, success: true, code: "FAILURE_NONE", detail, ...(step === undefined ? {} : { step }) });
const bad = (stage: StageReport["stage"], code: string, detail: string): StageReport => ({ stage, success: false, code, detail });

describe("a command's stages", () => {
  it("fill in from sent to completed as reports arrive", () => {
    let stages: StageReport[] = [];
    expect(stateOf(stages, "sent")).toBe("sent");
    expect(pipeline(stages, "sent").map((s) => s.status)).toEqual(["pending", "pending", "pending"]);
    stages = mergeStages(stages, [ok("acceptance")]);
    expect(stateOf(stages, "sent")).toBe("accepted");
    stages = mergeStages(stages, [ok("acceptance"), ok("start")]);
    expect(stateOf(stages, "sent")).toBe("started");
    stages = mergeStages(stages, [ok("acceptance"), ok("start"), ok("completion", "count is 150")]);
    expect(stateOf(stages, "sent")).toBe("completed");
    expect(isFinal("completed")).toBe(true);
    expect(pipeline(stages, "completed")).toEqual([
      { stage: "acceptance", label: "acceptance", status: "ok", detail: "", code: "" },
      { stage: "start", label: "start", status: "ok", detail: "", code: "" },
      { stage: "completion", label: "completion", status: "ok", detail: "count is 150", code: "" },
    ]);
  });

  it("stop at a failure, with its code and reason, and mark the stages it prevented", () => {
    const stages = [bad("acceptance", "FAILURE_BAD_ARGUMENT", "amount: 5000 is above the maximum 1000")];
    expect(stateOf(stages, "sent")).toBe("failed");
    expect(pipeline(stages, "failed")).toEqual([
      { stage: "acceptance", label: "acceptance", status: "failed", detail: "amount: 5000 is above the maximum 1000", code: "FAILURE_BAD_ARGUMENT" },
      { stage: "start", label: "start", status: "skipped", detail: "", code: "" },
      { stage: "completion", label: "completion", status: "skipped", detail: "", code: "" },
    ]);
  });

  it("show every progress report, in order, between start and completion", () => {
    const record = [ok("acceptance"), ok("start"), ok("progress", "1/3", 1)];
    const streamed = [ok("acceptance"), ok("start"), ok("progress", "1/3"), ok("progress", "2/3"), ok("completion", "done"), ok("progress", "3/3")];
    const merged = mergeStages(record, streamed);
    expect(merged.map((s) => `${s.stage}:${s.detail}`)).toEqual(["acceptance:", "start:", "progress:1/3", "progress:2/3", "progress:3/3", "completion:done"]);
    expect(pipeline(merged, "completed").map((s) => s.label)).toEqual(["acceptance", "start", "progress 1", "progress 2", "progress 3", "completion"]);
  });

  it("keep a timeout unless a later report ends the command", () => {
    expect(stateOf([ok("acceptance")], "timeout")).toBe("timeout");
    expect(pipeline([ok("acceptance")], "timeout").map((s) => s.status)).toEqual(["ok", "skipped", "skipped"]);
    expect(stateOf([ok("acceptance"), ok("completion")], "timeout")).toBe("completed");
  });

  it("merge the record and the stream in either order to the same stages", () => {
    const stage = fc.oneof(
      fc.constantFrom("acceptance", "start", "completion").map((s) => ok(s as StageReport["stage"])),
      fc.integer({ min: 1, max: 3 }).map((n) => ok("progress", `p${n}`)),
    );
    fc.assert(
      fc.property(fc.array(stage, { maxLength: 8 }), (all) => {
        const once = mergeStages([], all);
        expect(mergeStages(once, all)).toEqual(once);
        expect(mergeStages(once, [])).toEqual(once);
        const ranks = once.map((s) => ["acceptance", "start", "progress", "completion"].indexOf(s.stage));
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      }),
    );
  });
});

describe("records and reports from the wire", () => {
  it("read the gateway's JSON and refuse what is not a record or a report", () => {
    const r = toCommandRecord({ id: 3, kind: "execute", user: "alice", service: "counter", command: "add", args: { amount: 5 }, state: "completed", stages: [{ stage: "completion", success: true, code: "FAILURE_NONE", detail: "count is 5", at: "t" }, { stage: "bogus" }], createdAt: "c" });
    expect(r).toMatchObject({ id: 3, state: "completed", stages: [{ stage: "completion", detail: "count is 5", at: "t" }] });
    expect(toCommandRecord({ id: 3, service: "s", command: "c", state: "exploded", args: [1] })).toMatchObject({ state: "sent", args: {}, kind: "execute" });
    for (const b of [null, 1, {}, { id: "3", service: "s", command: "c" }]) expect(toCommandRecord(b)).toBeUndefined();
    expect(toStageReport({ stage: "start", success: "yes" })).toBeUndefined();
    fc.assert(fc.property(fc.anything(), (x) => void toCommandRecord(x)));
  });
});

describe("PendingReports", () => {
  it("keeps stream reports per command until its record is known, bounded", () => {
    const p = new PendingReports(2, 2);
    p.add(1, ok("acceptance"));
    p.add(1, ok("start"));
    p.add(1, ok("completion"));
    expect(p.get(1)).toHaveLength(2);
    p.add(2, ok("acceptance"));
    p.add(3, ok("acceptance"));
    expect(p.size).toBe(2);
    expect(p.get(1)).toEqual([]);
    p.delete(2);
    expect(p.get(2)).toEqual([]);
    p.add(Number.NaN, ok("start"));
    expect(p.size).toBe(1);
  });
});
