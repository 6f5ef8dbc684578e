import { describe, expect, it } from "vitest";
import { StepWise, trendOf } from "../src/step-wise.js";

describe("step-wise (kernel gov_step_wise)", () => {
  it("one step more cooling per poll while above the trip and rising, up to each device's maximum", () => {
    const s = new StepWise([3, 1]);
    expect(s.update(true, "raising")).toEqual([1, 1]);
    expect(s.update(true, "raising")).toEqual([2, 1]);
    expect(s.update(true, "raising")).toEqual([3, 1]);
    expect(s.update(true, "raising")).toEqual([3, 1]);
  });

  it("one step less when falling (above or below the trip); no change when stable or rising below it", () => {
    const s = new StepWise([3]);
    s.setAll(2);
    expect(s.update(true, "stable")).toEqual([2]);
    expect(s.update(false, "raising")).toEqual([2]);
    expect(s.update(false, "stable")).toEqual([2]);
    expect(s.update(true, "dropping")).toEqual([1]);
    expect(s.update(false, "dropping")).toEqual([0]);
    expect(s.update(false, "dropping")).toEqual([0]);
  });

  it("over the trip and falling, it keeps at least one step of cooling (as the kernel does)", () => {
    const s = new StepWise([3, 0]);
    s.setAll(1);
    expect(s.update(true, "dropping")).toEqual([1, 0]);
    expect(s.update(true, "stable")).toEqual([1, 0]);
    expect(s.update(false, "dropping")).toEqual([0, 0]);
    // From no cooling, over the trip and falling: one step (the kernel clamps to its lower state + 1).
    expect(s.update(true, "dropping")).toEqual([1, 0]);
  });

  it("trend with a dead band", () => {
    expect(trendOf(undefined, 80, 0.25)).toBe("stable");
    expect(trendOf(80, 80.2, 0.25)).toBe("stable");
    expect(trendOf(80, 80.3, 0.25)).toBe("raising");
    expect(trendOf(80, 79.7, 0.25)).toBe("dropping");
  });

  it("refuses a bad device", () => {
    expect(() => new StepWise([-1])).toThrow(/max state/);
  });
});
