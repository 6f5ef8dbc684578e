import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { parsePositiveInt, parseRange, parseTime } from "../src/time.js";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

describe("parseTime", () => {
  it("takes ISO 8601, now, ages and epoch milliseconds", () => {
    expect(parseTime("2026-06-01T11:00:00Z", NOW)).toBe(Date.UTC(2026, 5, 1, 11));
    expect(parseTime("2026-06-01", NOW)).toBe(Date.UTC(2026, 5, 1));
    expect(parseTime("now", NOW)).toBe(NOW);
    expect(parseTime("15m", NOW)).toBe(NOW - 15 * 60_000);
    expect(parseTime("-2h", NOW)).toBe(NOW - 2 * 3_600_000);
    expect(parseTime("1d ago", NOW)).toBe(NOW - 86_400_000);
    expect(parseTime("30s", NOW)).toBe(NOW - 30_000);
    expect(parseTime("1.5h", NOW)).toBe(NOW - 5_400_000);
    expect(parseTime("1780315200000", NOW)).toBe(1780315200000);
  });

  it("refuses what is not a time, naming the flag", () => {
    for (const bad of ["", "yesterday", "12", "15 minutes", "2026-13-45T99:00:00Z"]) {
      expect(() => parseTime(bad, NOW, "--from")).toThrow(UsageError);
    }
    expect(() => parseTime("soon", NOW, "--from")).toThrow(/^--from: "soon" is not a time: use an ISO 8601 date-time/);
  });
});

describe("parseRange and parsePositiveInt", () => {
  it("checks from before to", () => {
    expect(parseRange("2h", "1h", NOW)).toEqual({ fromMs: NOW - 7_200_000, toMs: NOW - 3_600_000 });
    expect(parseRange(undefined, undefined, NOW)).toEqual({});
    expect(() => parseRange("1h", "2h", NOW)).toThrow(/--from \(2026-06-01T11:00:00.000Z\) is after --to \(2026-06-01T10:00:00.000Z\)/);
  });

  it("takes positive integers only", () => {
    expect(parsePositiveInt("10", "--count")).toBe(10);
    for (const bad of ["0", "-1", "1.5", "ten", "", "1e3"]) expect(() => parsePositiveInt(bad, "--count")).toThrow(/^--count must be an integer 1\.\.1000000/);
    expect(() => parsePositiveInt("11", "--limit", 10)).toThrow(/1\.\.10,/);
  });
});
