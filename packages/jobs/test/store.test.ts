import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { JOB_STATES, JobStateError, canTransition, type JobSpec, type JobStateName } from "../src/job.js";
import { JobStore, MAX_DECISIONS, StoreError } from "../src/store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "umbra-jobs-store-"));
  dirs.push(d);
  return join(d, "jobs.db");
}

function spec(id: string, over: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    tenant: "acme",
    model: "tiny-cls",
    variants: [],
    accuracyFloor: 0,
    input: { kind: "folder", path: "/data/tiles" },
    priority: 5,
    deadlineMs: null,
    output: { keep: "summary", summary: "auto", clearLabels: [], detectionThreshold: 0.5, maxDetections: 32 },
    protection: "tmr",
    batchSize: 2,
    ...over,
  };
}

const tiles = (n: number) => Array.from({ length: n }, (_, i) => ({ index: i, name: `t${i}.png`, bytes: 100 + i, source: "/data/tiles" }));
const result = (index: number) => ({ index, model: "tiny-cls", label: "a", confidence: 0.9, vote: "unanimous", detections: "[]", output: null });

/** A path through the state machine to each state. */
const PATH: Record<JobStateName, JobStateName[]> = {
  queued: [],
  admitted: ["admitted"],
  running: ["admitted", "running"],
  paused: ["paused"],
  done: ["admitted", "running", "done"],
  failed: ["failed"],
  cancelled: ["cancelled"],
  expired: ["expired"],
};

describe("JobStore", () => {
  it("allows exactly the declared transitions, and a refused one changes nothing", () => {
    const allowed: string[] = [];
    for (const from of JOB_STATES) {
      for (const to of JOB_STATES) {
        const store = JobStore.open(":memory:");
        store.insertJob(spec("j"), tiles(2), 0);
        for (const s of PATH[from]) store.transition("j", s, "setup", 1);
        expect(store.get("j")!.state).toBe(from);
        if (canTransition(from, to)) {
          store.transition("j", to, "test", 2);
          expect(store.get("j")!.state).toBe(to);
          allowed.push(`${from}>${to}`);
        } else {
          const before = store.get("j");
          expect(() => store.transition("j", to, "test", 2)).toThrow(JobStateError);
          expect(store.get("j")).toEqual(before);
        }
        store.close();
      }
    }
    expect(allowed.sort()).toEqual(
      [
        "queued>admitted", "queued>paused", "queued>cancelled", "queued>expired", "queued>failed",
        "admitted>running", "admitted>queued", "admitted>paused", "admitted>cancelled", "admitted>expired", "admitted>failed",
        "running>queued", "running>paused", "running>done", "running>failed", "running>cancelled", "running>expired",
        "paused>queued", "paused>cancelled", "paused>expired",
      ].sort(),
    );
  });

  it("survives a reopen: the job, its tiles, its progress and its decisions", () => {
    const path = tmp();
    const a = JobStore.open(path);
    a.setTenant({ tenant: "acme", quotaJoules: 0, quotaCoreSeconds: 0, period: "orbit", rejectOverQuota: false }, 0);
    a.insertJob(spec("j"), tiles(5), 10);
    a.transition("j", "admitted", "fits", 11, { variant: "tiny-cls" });
    a.transition("j", "running", "go", 12);
    a.commitBatch({ jobId: "j", fromIndex: 0, results: [result(0), result(1)], inferences: 2, uncorrectable: 0, rawBytes: 201, nowMs: 13 });
    a.close();
    const b = JobStore.open(path);
    const j = b.get("j")!;
    expect(j).toMatchObject({ state: "running", tilesDone: 2, tilesTotal: 5, inferences: 2, rawInputBytes: 201, variant: "tiny-cls", startedMs: 12 });
    expect(j.spec).toEqual(spec("j"));
    expect(b.tiles("j", j.tilesDone, 10).map((t) => t.name)).toEqual(["t2.png", "t3.png", "t4.png"]);
    expect(b.decisions("j").map((d) => `${d.from}>${d.to}:${d.reason}`)).toEqual(["queued>queued:submitted", "queued>admitted:fits", "admitted>running:go"]);
    b.close();
  });

  it("refuses a batch that does not start at the job's progress, or for a job no longer running", () => {
    const s = JobStore.open(":memory:");
    s.insertJob(spec("j"), tiles(4), 0);
    expect(() => s.commitBatch({ jobId: "j", fromIndex: 0, results: [result(0)], inferences: 1, uncorrectable: 0, rawBytes: 1, nowMs: 5 })).toThrow(/queued, not running/);
    s.transition("j", "admitted", "", 1);
    s.transition("j", "running", "", 1);
    s.commitBatch({ jobId: "j", fromIndex: 0, results: [result(0), result(1)], inferences: 2, uncorrectable: 0, rawBytes: 2, nowMs: 5 });
    expect(() => s.commitBatch({ jobId: "j", fromIndex: 0, results: [result(0), result(1)], inferences: 2, uncorrectable: 0, rawBytes: 2, nowMs: 5 })).toThrow(StoreError);
    // A duplicate tile in a batch fails the whole transaction: nothing of it is kept.
    expect(() => s.commitBatch({ jobId: "j", fromIndex: 2, results: [result(2), result(2)], inferences: 2, uncorrectable: 0, rawBytes: 2, nowMs: 5 })).toThrow();
    expect(s.get("j")!.tilesDone).toBe(2);
    expect(s.results("j")).toHaveLength(2);
  });

  it("meters jobs and tenants so that the sums agree, per period", () => {
    const s = JobStore.open(":memory:");
    s.setTenant({ tenant: "acme", quotaJoules: 1000, quotaCoreSeconds: 0, period: "orbit", rejectOverQuota: false }, 0);
    s.setTenant({ tenant: "beta", quotaJoules: 0, quotaCoreSeconds: 0, period: "day", rejectOverQuota: false }, 0);
    s.insertJob(spec("a1"), tiles(1), 0);
    s.insertJob(spec("a2"), tiles(1), 0);
    s.insertJob(spec("b1", { tenant: "beta" }), tiles(1), 0);
    const entries = [
      { jobId: "a1", tenant: "acme", joules: 10.5, coreSeconds: 1, periodStartMs: 0 },
      { jobId: "a2", tenant: "acme", joules: 4.25, coreSeconds: 2, periodStartMs: 0 },
      { jobId: "b1", tenant: "beta", joules: 7, coreSeconds: 3, periodStartMs: 0 },
      { jobId: "a1", tenant: "acme", joules: 1, coreSeconds: 0.5, periodStartMs: 5000 },
    ];
    s.meter(entries);
    expect(s.get("a1")!.energyJ).toBeCloseTo(11.5);
    expect(s.usage("acme", 0)).toEqual({ periodStartMs: 0, joules: 14.75, coreSeconds: 3 });
    expect(s.usage("acme", 5000)).toEqual({ periodStartMs: 5000, joules: 1, coreSeconds: 0.5 });
    const acme = s.tenant("acme")!;
    expect(acme.totalJoules).toBeCloseTo(s.get("a1")!.energyJ + s.get("a2")!.energyJ);
    expect(acme.totalCoreSeconds).toBeCloseTo(3.5);
    // Bad metering is refused whole.
    expect(() => s.meter([{ jobId: "a1", tenant: "acme", joules: 1, coreSeconds: 0, periodStartMs: 0 }, { jobId: "a2", tenant: "acme", joules: Number.NaN, coreSeconds: 0, periodStartMs: 0 }])).toThrow(StoreError);
    expect(s.usage("acme", 0).joules).toBe(14.75);
  });

  it("keeps at most the last decisions of a job", () => {
    const s = JobStore.open(":memory:");
    s.insertJob(spec("j"), tiles(1), 0);
    for (let i = 0; i < MAX_DECISIONS + 20; i++) s.setReason("j", `reason ${i}`, i);
    const d = s.decisions("j");
    expect(d).toHaveLength(MAX_DECISIONS);
    expect(d.at(-1)!.reason).toBe(`reason ${MAX_DECISIONS + 19}`);
  });

  it("refuses a duplicate job id and a database from newer software", () => {
    const path = tmp();
    const s = JobStore.open(path);
    s.insertJob(spec("j"), tiles(1), 0);
    expect(() => s.insertJob(spec("j"), tiles(3), 0)).toThrow(/exists/);
    expect(s.get("j")!.tilesTotal).toBe(1);
    s.db.pragma("user_version = 99");
    s.close();
    expect(() => JobStore.open(path)).toThrow(/newer than this software/);
  });
});
