import { describe, expect, it } from "vitest";
import { NOMINAL, enterSafe, leaveSafe, runsIn, type ModeState } from "../src/mode.js";

describe("mode", () => {
  it("enterSafe from nominal enters with the reason", () => {
    expect(enterSafe(NOMINAL, "thermal emergency")).toEqual({ next: { mode: "safe", reason: "thermal emergency" }, changed: true });
  });

  it("enterSafe without a reason says unspecified", () => {
    expect(enterSafe(NOMINAL, "").next).toEqual({ mode: "safe", reason: "unspecified" });
  });

  it("enterSafe when already safe keeps the first reason", () => {
    const first = enterSafe(NOMINAL, "battery low").next;
    const again = enterSafe(first, "thermal emergency");
    expect(again.changed).toBe(false);
    expect(again.next).toEqual({ mode: "safe", reason: "battery low" });
  });

  it("leaveSafe only from safe", () => {
    const safe: ModeState = { mode: "safe", reason: "x" };
    expect(leaveSafe(safe)).toEqual({ next: { mode: "nominal", reason: "" }, changed: true });
    expect(leaveSafe(NOMINAL)).toEqual({ next: NOMINAL, changed: false });
  });

  it("runsIn: every enabled service in nominal, only the kept ones in safe, never a disabled one", () => {
    const keep = ["ttc", "thermal", "gateway"];
    expect(runsIn("nominal", "jobs", true, keep)).toBe(true);
    expect(runsIn("safe", "jobs", true, keep)).toBe(false);
    expect(runsIn("safe", "ttc", true, keep)).toBe(true);
    expect(runsIn("safe", "gateway", true, keep)).toBe(true);
    expect(runsIn("nominal", "counter", false, keep)).toBe(false);
    expect(runsIn("safe", "gateway", false, keep)).toBe(false);
  });

  it("NOMINAL has no reason", () => {
    expect(NOMINAL).toEqual({ mode: "nominal", reason: "" });
  });
});
