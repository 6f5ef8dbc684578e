import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ContactPlan, InvalidFieldError, openDownlinkDatabase } from "../../src/downlink/index.js";
import type { ContactWindow } from "../../src/downlink/index.js";
import { SECOND, T0, tempDir } from "./support.js";

const newDir = tempDir();

function win(startS: number, endS: number, bytesPerSecond = 1000, station = "svalbard"): ContactWindow {
  return { startNs: T0 + BigInt(startS) * SECOND, endNs: T0 + BigInt(endS) * SECOND, bytesPerSecond, station };
}

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidFieldError);
    expect((e as Error).message.startsWith(`${(e as InvalidFieldError).field}: `)).toBe(true);
    return (e as InvalidFieldError).field;
  }
  throw new Error("did not throw");
}

function freshPlan(): { plan: ContactPlan; path: string } {
  const path = join(newDir(), "downlink.db");
  return { plan: new ContactPlan(openDownlinkDatabase(path)), path };
}

describe("ContactPlan: schedule", () => {
  it("validates the schedule, naming the field, and keeps the old one on error", () => {
    const { plan } = freshPlan();
    plan.setSchedule([win(0, 60)]);
    const bad: [unknown, string, RegExp][] = [
      [[win(0, 60), win(30, 90)], "windows[1].startNs", /overlaps windows\[0\], which ends at/],
      [[win(100, 160), win(0, 60)], "windows[1].startNs", /must be sorted by start/],
      [[win(0, 60), win(60, 60)], "windows[1].endNs", /must be after startNs/],
      [[win(0, 60), win(70, 65)], "windows[1].endNs", /must be after startNs/],
      [[win(0, 60, 0)], "windows[0].bytesPerSecond", /positive/],
      [[win(0, 60, -5)], "windows[0].bytesPerSecond", /positive/],
      [[win(0, 60, 1.5)], "windows[0].bytesPerSecond", /integer/],
      [[win(0, 60, Number.NaN)], "windows[0].bytesPerSecond", /positive/],
      [[win(0, 10), win(20, 30), win(40, 50, 100, "")], "windows[2].station", /must not be empty/],
      [[{ ...win(0, 60), startNs: 5 }], "windows[0].startNs", /bigint/],
      [[{ ...win(0, 60), endNs: undefined }], "windows[0].endNs", /bigint/],
      [[null], "windows[0]", /must be an object/],
      ["not an array", "windows", /must be an array/],
    ];
    for (const [windows, field, message] of bad) {
      expect(fieldOf(() => plan.setSchedule(windows as ContactWindow[])), String(field)).toBe(field);
      expect(() => plan.setSchedule(windows as ContactWindow[])).toThrow(message);
    }
    expect(plan.schedule()).toEqual([win(0, 60)]);
    // Adjacent windows are fine.
    plan.setSchedule([win(0, 60), win(60, 90, 2000, "troll")]);
    expect(plan.schedule()).toHaveLength(2);
  });

  it("persists the schedule", () => {
    const { plan, path } = freshPlan();
    const windows = [win(0, 60, 10_000, "svalbard"), win(600, 660, 20_000, "troll")];
    plan.setSchedule(windows);
    const again = new ContactPlan(openDownlinkDatabase(path));
    expect(again.schedule()).toEqual(windows);
    expect(again.pruneSchedule(T0 + 60n * SECOND)).toBe(1);
    expect(new ContactPlan(openDownlinkDatabase(path)).schedule()).toEqual([windows[1]]);
    again.setSchedule([]);
    expect(new ContactPlan(openDownlinkDatabase(path)).schedule()).toEqual([]);
  });

  it("answers inContact (windows are [start, end)) and budget exactly", () => {
    const { plan } = freshPlan();
    plan.setSchedule([win(0, 60, 10_000), win(100, 110, 3), win(110, 120, 1000)]);
    expect(plan.inContact(T0 - 1n)).toBe(false);
    expect(plan.inContact(T0)).toBe(true);
    expect(plan.inContact(T0 + 60n * SECOND - 1n)).toBe(true);
    expect(plan.inContact(T0 + 60n * SECOND)).toBe(false);
    expect(plan.rate(T0 + 110n * SECOND)).toBe(1000);
    expect(plan.windowAt(T0 + 80n * SECOND)).toBeNull();
    expect(plan.nextWindow(T0 + 80n * SECOND)).toEqual(win(100, 110, 3));
    expect(plan.nextWindow(T0 + 200n * SECOND)).toBeNull();

    expect(plan.budget(T0, T0 + 60n * SECOND)).toBe(600_000);
    expect(plan.budget(T0 - 100n * SECOND, T0 + 1000n * SECOND)).toBe(600_000 + 30 + 10_000);
    expect(plan.budget(T0 + 30n * SECOND, T0 + 105n * SECOND)).toBe(300_000 + 15);
    expect(plan.budget(T0 + 60n * SECOND, T0 + 100n * SECOND)).toBe(0);
    // Rounded down to whole bytes: 3 B/s for 0.5 s.
    expect(plan.budget(T0 + 100n * SECOND, T0 + 100n * SECOND + SECOND / 2n)).toBe(1);
    expect(plan.budget(T0, T0)).toBe(0);
    expect(fieldOf(() => plan.budget(T0, T0 - 1n))).toBe("toNs");
  });
});

describe("ContactPlan: live observation (HIL stationsInView)", () => {
  it("overrides the schedule while fresh, then the schedule applies again", () => {
    const path = join(newDir(), "downlink.db");
    const plan = new ContactPlan(openDownlinkDatabase(path), { observationTtlNs: 10n * SECOND });
    plan.setSchedule([win(100, 200, 1000)]);
    expect(plan.inContact(T0)).toBe(false);
    plan.observe(T0, true, 5000);
    expect(plan.inContact(T0)).toBe(true);
    expect(plan.rate(T0 + 9n * SECOND)).toBe(5000);
    expect(plan.inContact(T0 + 10n * SECOND)).toBe(false); // stale: the schedule says no contact
    expect(plan.budget(T0, T0 + SECOND)).toBe(5000);
    expect(plan.budget(T0 - 5n * SECOND, T0 + 20n * SECOND)).toBe(50_000);

    // Inside a scheduled window the live "not in contact" wins.
    plan.observe(T0 + 150n * SECOND, false, 0);
    expect(plan.inContact(T0 + 150n * SECOND)).toBe(false);
    expect(plan.inContact(T0 + 160n * SECOND)).toBe(true);
    expect(plan.budget(T0 + 145n * SECOND, T0 + 165n * SECOND)).toBe(5000 + 5000);
    plan.clearObservation();
    expect(plan.observation()).toBeNull();
    expect(plan.inContact(T0 + 150n * SECOND)).toBe(true);

    expect(fieldOf(() => plan.observe(T0, true, 0))).toBe("bytesPerSecond");
    expect(fieldOf(() => plan.observe(T0, "yes" as unknown as boolean, 10))).toBe("inContact");
    expect(fieldOf(() => plan.observe(-1n, false, 0))).toBe("nowNs");
    // The observation is not persisted.
    plan.observe(T0, true, 5000);
    expect(new ContactPlan(openDownlinkDatabase(path)).inContact(T0)).toBe(false);
  });
});
