import { describe, expect, it } from "vitest";
import { plan, serviceOrder, type ModelFacts, type PlanInput, type SchedulerJob, type TenantAllowance, type VariantCost } from "../src/scheduler.js";

const NOW = 1_000_000;
const battery = { capacityWh: 100, chargeEfficiency: 0.95, dischargeEfficiency: 0.95 };

function job(id: string, over: Partial<SchedulerJob> = {}): SchedulerJob {
  return {
    id,
    tenant: "t1",
    state: "queued",
    priority: 5,
    submittedMs: NOW - 1000,
    deadlineMs: null,
    model: "big",
    variants: [],
    accuracyFloor: 0,
    protection: "tmr",
    tilesTotal: 100,
    tilesDone: 0,
    batchSize: 8,
    variant: null,
    ...over,
  };
}

const COSTS: Record<string, VariantCost> = { big: { energyJ: 30, seconds: 3 }, small: { energyJ: 6, seconds: 0.6 }, tiny: { energyJ: 2, seconds: 0.2 } };
const MODELS = new Map<string, ModelFacts>([
  ["big", { loaded: true, accuracy: 0.92 }],
  ["small", { loaded: true, accuracy: 0.85 }],
  ["tiny", { loaded: true, accuracy: 0.6 }],
]);
const unlimited: TenantAllowance = { joules: Number.POSITIVE_INFINITY, coreSeconds: Number.POSITIVE_INFINITY, resetIn: "" };

function input(over: Partial<PlanInput> & { soc?: number; sunlit?: boolean; toTransition?: number } = {}): PlanInput {
  const sunlitNow = over.sunlit ?? true;
  return {
    nowMs: NOW,
    policy: "power-aware",
    jobs: [],
    models: MODELS,
    cost: (m) => COSTS[m]!,
    tenants: new Map([
      ["t1", unlimited],
      ["t2", unlimited],
    ]),
    slots: 2,
    slotsReason: "test",
    emergency: null,
    power: {
      battery,
      floorPct: 35,
      situation: {
        socPct: over.soc ?? 90,
        inputPowerW: sunlitNow ? 80 : 0,
        sunlitInputPowerW: 80,
        baseLoadW: 20,
        sunlit: sunlitNow,
        secondsToTransition: over.toTransition ?? 1800,
        eclipseDurationS: 2100,
        orbitPeriodS: 5700,
      },
    },
    ...over,
  };
}

const byId = (p: ReturnType<typeof plan>) => new Map(p.actions.map((a) => [a.id, a]));

describe("scheduling policy", () => {
  it("orders by priority, then deadline, then submission; FIFO by submission only", () => {
    const jobs = [
      job("a", { priority: 1, submittedMs: 1 }),
      job("b", { priority: 9, submittedMs: 3 }),
      job("c", { priority: 9, submittedMs: 2, deadlineMs: NOW + 10_000 }),
      job("d", { priority: 9, submittedMs: 1 }),
    ];
    expect(serviceOrder("power-aware", jobs).map((j) => j.id)).toEqual(["c", "d", "b", "a"]);
    expect(serviceOrder("fifo", jobs).map((j) => j.id)).toEqual(["a", "d", "c", "b"]);
  });

  it("runs what fits with plenty of energy, up to the slots, and says why the rest waits", () => {
    const p = plan(input({ jobs: [job("a"), job("b"), job("c", { priority: 1 })] }));
    const a = byId(p);
    expect(a.get("a")).toMatchObject({ action: "run", variant: "big" });
    expect(a.get("b")).toMatchObject({ action: "run", variant: "big" });
    expect(a.get("c")!.action).toBe("wait");
    expect(a.get("c")!.reason).toMatch(/job slot\(s\) taken/);
    expect(p.loadW).toBeCloseTo(20, 6);
  });

  it("gives the slots to the earliest deadlines among the jobs energy allows; priority breaks ties", () => {
    const jobs = [job("urgent-low", { priority: 1, deadlineMs: NOW + 3_600_000 }), job("relaxed-high", { priority: 9, deadlineMs: NOW + 36_000_000 }), job("none-high", { priority: 9 })];
    const a = byId(plan(input({ slots: 1, jobs })));
    expect(a.get("urgent-low")!.action).toBe("run");
    expect(a.get("relaxed-high")!.reason).toMatch(/^all 1 job slot\(s\) taken by jobs with earlier deadlines/);
    expect(a.get("none-high")!.action).toBe("wait");
    // FIFO hands out slots in submission order.
    const f = byId(plan(input({ policy: "fifo", slots: 1, jobs: [job("second", { submittedMs: 2, deadlineMs: NOW + 1000_000 }), job("first", { submittedMs: 1 })] })));
    expect(f.get("first")!.action).toBe("run");
    expect(f.get("second")!.action).toBe("wait");
  });

  it("under a falling forecast sheds the lowest priority first, then everything", () => {
    const jobs = [job("hi", { priority: 8 }), job("lo", { priority: 2, tenant: "t2" })];
    const states = [90, 60, 50, 45].map((soc) => byId(plan(input({ jobs, soc, sunlit: false, toTransition: 2000 }))));
    // High SoC: both run; lower: only the high-priority job; lower still: nothing, with an energy reason.
    expect(states[0]!.get("hi")!.action).toBe("run");
    expect(states[0]!.get("lo")!.action).toBe("run");
    const firstShed = states.findIndex((s) => s.get("lo")!.action === "wait");
    const hiStops = states.findIndex((s) => s.get("hi")!.action === "wait");
    expect(firstShed).toBeGreaterThan(0);
    expect(hiStops === -1 || hiStops >= firstShed).toBe(true);
    const last = states.at(-1)!;
    expect(last.get("lo")!.reason).toMatch(/^energy: the forecast keeps .* for jobs until the eclipse ends/);
  });

  it("switches to a cheaper variant that meets the accuracy floor, never to one below it", () => {
    // Little energy: the big model does not fit whole, the small one does.
    const p1 = plan(input({ soc: 44, sunlit: false, toTransition: 1500, jobs: [job("a", { variants: ["tiny", "small"], accuracyFloor: 0.8, tilesTotal: 40 })] }));
    const a1 = byId(p1).get("a")!;
    expect(a1).toMatchObject({ action: "run", variant: "small" });
    expect(a1.reason).toMatch(/^on small: big would not finish/);
    // A floor above the small model's accuracy leaves only the big one, partially.
    const p2 = plan(input({ soc: 44, sunlit: false, toTransition: 1500, jobs: [job("a", { variants: ["tiny", "small"], accuracyFloor: 0.9, tilesTotal: 40 })] }));
    const a2 = byId(p2).get("a")!;
    expect(a2.action === "wait" || (a2.action === "run" && a2.variant === "big")).toBe(true);
  });

  it("says why the preferred model was passed over when it is not loaded", () => {
    const models = new Map(MODELS);
    models.set("big", { loaded: false, accuracy: 0.92 });
    const p = plan(input({ models, jobs: [job("a", { variants: ["small"], accuracyFloor: 0.8 })] }));
    expect(byId(p).get("a")).toMatchObject({ action: "run", variant: "small", reason: "on small: big is not loaded" });
  });

  it("picks the variant that completes the most tiles before a close deadline", () => {
    // 100 tiles in 60 s: big does 20, small 100.
    const p = plan(input({ jobs: [job("a", { variants: ["small"], accuracyFloor: 0.8, deadlineMs: NOW + 60_000 })] }));
    expect(byId(p).get("a")).toMatchObject({ action: "run", variant: "small" });
  });

  it("a variant without a declared accuracy, or not loaded, is refused with the reason", () => {
    const models = new Map(MODELS);
    models.set("big", { loaded: false, accuracy: 0.92 });
    models.set("small", { loaded: true, accuracy: 0 });
    const p = plan(input({ models, jobs: [job("a", { variants: ["small", "gone"], accuracyFloor: 0.5 })] }));
    const a = byId(p).get("a")!;
    expect(a.action).toBe("wait");
    expect(a.reason).toBe("no model to run on: big is not loaded; small has no declared accuracy; gone is not loaded");
  });

  it("holds every job in an emergency", () => {
    const p = plan(input({ emergency: "thermal: die at 101 °C", jobs: [job("a", { state: "running", variant: "big" }), job("b")] }));
    expect(p.actions.every((x) => x.action === "wait" && x.reason === "emergency: thermal: die at 101 °C")).toBe(true);
  });

  it("expires a job whose deadline has passed, even in an emergency", () => {
    const p = plan(input({ emergency: "x", jobs: [job("a", { deadlineMs: NOW, tilesDone: 3 })] }));
    expect(byId(p).get("a")).toMatchObject({ action: "expire", reason: "deadline passed with 3 of 100 tiles done" });
  });

  it("a tenant out of quota waits with the reason; another tenant's job runs", () => {
    const tenants = new Map([
      ["t1", { joules: 10, coreSeconds: Number.POSITIVE_INFINITY, resetIn: "the orbit period resets in 12 min" }],
      ["t2", unlimited],
    ]);
    const p = plan(input({ tenants, jobs: [job("a"), job("b", { tenant: "t2" })] }));
    const a = byId(p);
    expect(a.get("a")!.action).toBe("wait");
    expect(a.get("a")!.reason).toMatch(/^quota: tenant t1 has 10 J .* less than one inference \(the orbit period resets in 12 min\)$/);
    expect(a.get("b")!.action).toBe("run");
  });

  it("a quota caps what two jobs of one tenant get together", () => {
    const tenants = new Map([["t1", { joules: 30 * 120, coreSeconds: Number.POSITIVE_INFINITY, resetIn: "" }]]);
    const p = plan(input({ tenants, jobs: [job("a"), job("b")] }));
    const a = byId(p);
    expect(a.get("a")!.action).toBe("run");
    // 100 of the 120 inferences go to a; b may still run the rest.
    expect(a.get("b")!.action).toBe("run");
    const p2 = plan(input({ tenants: new Map([["t1", { joules: 30 * 100, coreSeconds: Number.POSITIVE_INFINITY, resetIn: "r" }]]), jobs: [job("a"), job("b")] }));
    expect(byId(p2).get("b")!.action).toBe("wait");
  });

  it("with no job slot granted nothing runs and the reason names the thermal budget", () => {
    const p = plan(input({ slots: 0, slotsReason: "thermal budget 3 W grants 0 job slot(s)", jobs: [job("a")] }));
    expect(byId(p).get("a")).toMatchObject({ action: "wait", reason: "no job slot: thermal budget 3 W grants 0 job slot(s)" });
  });

  it("without trustworthy power readings the power-aware runner holds; FIFO ignores power", () => {
    const jobs = [job("a")];
    expect(byId(plan(input({ power: null, jobs }))).get("a")!.reason).toMatch(/power readings unavailable/);
    expect(byId(plan(input({ power: null, policy: "fifo", jobs }))).get("a")!.action).toBe("run");
    // FIFO runs even when the battery is about to go under the floor, on the preferred model only.
    const low = plan(input({ policy: "fifo", soc: 36, sunlit: false, jobs: [job("a", { variants: ["small"], accuracyFloor: 0.8 })] }));
    expect(byId(low).get("a")).toMatchObject({ action: "run", variant: "big" });
  });

  it("a job that cannot finish one tile before its deadline waits and says so", () => {
    const p = plan(input({ jobs: [job("a", { deadlineMs: NOW + 2000 })] }));
    expect(byId(p).get("a")!.reason).toMatch(/cannot finish a tile before the deadline/);
  });
});
