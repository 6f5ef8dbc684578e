import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiErrorOf, describeApiError, MAX_MESSAGE_CHARS } from "../src/logic/api-errors.js";
import { backoffDelay, STREAM_BACKOFF } from "../src/logic/backoff.js";
import { formatBytes, formatNumber, formatValue, splitParameterKey } from "../src/logic/format.js";
import { canCommand, parseSession, sessionFromWhoami, tokenProblem } from "../src/logic/session.js";
import { contactWindow, modeName, resetReasonName, throttleStateName } from "../src/logic/status.js";
import { extrapolateMission, formatDuration, formatMission, formatUtc, missionNsToUtcMs } from "../src/logic/time.js";

describe("mission time", () => {
  it("converts TAI ns since 1958 to UTC (TAI - UTC = 37 s)", () => {
    // 2026-11-21T09:00:00Z in TAI ns since 1958-01-01: (Unix s + 378691200 + 37) * 1e9.
    const unixS = Date.UTC(2026, 10, 21, 9, 0, 0) / 1000;
    const ns = ((BigInt(unixS) + 378_691_200n + 37n) * 1_000_000_000n + 500_000n).toString();
    expect(missionNsToUtcMs(ns)).toBeCloseTo(unixS * 1000 + 0.5, 6);
    expect(formatMission(ns)).toBe("2026-11-21 09:00:00Z");
    expect(missionNsToUtcMs(BigInt(ns))).toBe(missionNsToUtcMs(ns));
    for (const bad of ["", "-5", "1.5", "1e9", "x", "123456789012345678901", null, undefined, -1, 1.5]) expect(missionNsToUtcMs(bad as never)).toBeUndefined();
    expect(formatUtc(undefined)).toBe("-");
    expect(formatUtc(Number.NaN)).toBe("-");
    expect(formatUtc(1e20)).toBe("-");
  });

  it("formats durations", () => {
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(720)).toBe("12 min");
    expect(formatDuration(3.5 * 3600)).toBe("3.5 h");
    expect(formatDuration(2 * 86400)).toBe("2 d");
    expect(formatDuration(-30)).toBe("-30 s");
    expect(formatDuration(Number.NaN)).toBe("-");
  });
});

describe("formatting", () => {
  it("numbers, values with units, bytes, parameter keys", () => {
    expect(formatNumber(71.456)).toBe("71.5");
    expect(formatNumber(3.14159)).toBe("3.14");
    expect(formatNumber(0.012345)).toBe("0.0123");
    expect(formatNumber(42)).toBe("42");
    expect(formatNumber(9999)).toBe("9999");
    expect(formatNumber(1_800_000)).toBe("1\u2009800\u2009000");
    expect(formatNumber(-12_345)).toBe("-12\u2009345");
    expect(formatNumber(1e-9)).toBe("1.000e-9");
    expect(formatValue(71.456, "°C")).toBe("71.5 °C");
    expect(formatValue(55, "%")).toBe("55 %");
    expect(formatValue(true, "W")).toBe("true");
    expect(formatValue(null)).toBe("-");
    expect(formatValue("x".repeat(300))).toHaveLength(201);
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5 MiB");
    expect(splitParameterKey("thermal.dieC")).toEqual(["thermal", "dieC"]);
    expect(splitParameterKey("a.b.c")).toEqual(["a.b", "c"]);
    for (const bad of ["", "x", ".x", "a.", "a.1b", "a b.c"]) expect(splitParameterKey(bad)).toBeUndefined();
  });
});

describe("sessions and roles", () => {
  it("only operators and admins command", () => {
    expect(canCommand("viewer")).toBe(false);
    expect(canCommand("operator")).toBe(true);
    expect(canCommand("admin")).toBe(true);
  });

  it("checks a typed token's shape before it is sent", () => {
    expect(tokenProblem("")).toBe("enter your API token");
    expect(tokenProblem("umb_" + "a".repeat(300))).toBe("that is too long to be a token");
    expect(tokenProblem("umb_abc def ghi")).toMatch(/no spaces/);
    expect(tokenProblem("  umb_4V4xDFafDlHiCHynW5Jaz8pdA3RgLdvuQBjAY0n1vSQ  ")).toBeUndefined();
  });

  it("reads a stored session, whatever storage holds", () => {
    const s = { token: "umb_abcdefgh", user: "alice", role: "operator" };
    expect(parseSession(JSON.stringify(s))).toEqual(s);
    for (const bad of [null, "", "{", "[]", "5", JSON.stringify({ ...s, role: "root" }), JSON.stringify({ ...s, token: "a b" }), "x".repeat(5000)]) expect(parseSession(bad)).toBeUndefined();
    expect(sessionFromWhoami("umb_abcdefgh", { user: "victor", role: "viewer" })).toEqual({ token: "umb_abcdefgh", user: "victor", role: "viewer" });
    expect(sessionFromWhoami("t", { user: "victor", role: "god" })).toBeUndefined();
    fc.assert(fc.property(fc.string(), (t) => void parseSession(t)));
  });
});

describe("API errors", () => {
  it("show the gateway's reason, or the status when the body has none", () => {
    expect(apiErrorOf(401, '{"error":"unauthorized","message":"authorization: unknown token"}')).toEqual({ status: 401, code: "unauthorized", message: "authorization: unknown token" });
    expect(describeApiError(apiErrorOf(409, '{"error":"not_armed","message":"counter.reset is critical and not armed"}'))).toBe("409 not_armed: counter.reset is critical and not armed");
    expect(apiErrorOf(502, "<html><body><h1>Bad Gateway</h1></body></html>")).toEqual({ status: 502, code: "http_502", message: "Bad Gateway" });
    expect(apiErrorOf(503, "")).toMatchObject({ message: "unavailable" });
    expect(apiErrorOf(418, "")).toMatchObject({ message: "HTTP 418" });
    expect(apiErrorOf(400, JSON.stringify({ error: "bad_request", message: "m".repeat(10_000) })).message).toHaveLength(MAX_MESSAGE_CHARS + 1);
    fc.assert(fc.property(fc.integer({ min: 100, max: 599 }), fc.string(), (s, b) => void describeApiError(apiErrorOf(s, b))));
  });
});

describe("stream reconnect backoff", () => {
  it("doubles from 0.5 s to at most 15 s, with ±20 % jitter", () => {
    expect(backoffDelay(0, 0.5)).toBe(500);
    expect(backoffDelay(1, 0.5)).toBe(1000);
    expect(backoffDelay(10, 0.5)).toBe(15_000);
    expect(backoffDelay(0, 0)).toBe(400);
    expect(backoffDelay(0, 0.999999)).toBe(600);
    fc.assert(
      fc.property(fc.double(), fc.double(), (a, r) => {
        const d = backoffDelay(a, r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(STREAM_BACKOFF.maxMs * 1.2);
      }),
    );
  });
});

describe("status words", () => {
  it("name modes, reset reasons and throttle states", () => {
    expect(modeName(1)).toBe("nominal");
    expect(modeName(2)).toBe("safe");
    expect(modeName(undefined)).toBe("unknown");
    expect(resetReasonName(2)).toBe("watchdog");
    expect(resetReasonName(9)).toBe("-");
    expect(throttleStateName(2)).toBe("controlling");
  });

  it("describe the contact window", () => {
    const now = Date.parse("2026-11-21T09:20:00Z");
    expect(contactWindow({ inContact: true, stationsInView: ["svalbard"], sinceTime: "2026-11-21T09:17:00.000Z" }, now)).toMatchObject({
      state: "in contact",
      text: "in contact with svalbard since 09:17:00Z (3 min)",
    });
    expect(
      contactWindow({ inContact: false, stationsInView: [], sinceTime: "2026-11-21T09:19:30.000Z", lastWindow: { startTime: "2026-11-21T09:10:00.000Z", endTime: "2026-11-21T09:19:30.000Z", stations: ["kiruna"] } }, now),
    ).toEqual({ state: "no contact", stations: [], text: "no station in view since 09:19:30Z (30 s)", last: "last contact 09:10:00Z–09:19:30Z (10 min) with kiruna" });
    expect(contactWindow({})).toMatchObject({ state: "unknown" });
    expect(contactWindow(null)).toMatchObject({ state: "unknown" });
    fc.assert(fc.property(fc.anything(), (x) => void contactWindow(x)));
  });
});

describe("mission time between readings of the gateway's clock", () => {
  it("runs at the rate the last two readings show, from the newest", () => {
    const r = [
      { wallMs: 1000, missionMs: 1_000_000 },
      { wallMs: 2000, missionMs: 1_060_000 },
    ];
    expect(extrapolateMission(r, 2500)).toBe(1_090_000);
    expect(extrapolateMission(r.slice(1), 2500)).toBe(1_060_500);
    expect(extrapolateMission([], 2500)).toBeUndefined();
  });

  it("does not run backwards, or away: a reset's negative rate is taken as 1×, and a stale reading is carried at most 30 s", () => {
    expect(extrapolateMission([{ wallMs: 1000, missionMs: 5000 }, { wallMs: 2000, missionMs: 1000 }], 3000)).toBe(2000);
    expect(extrapolateMission([{ wallMs: 1000, missionMs: 0 }, { wallMs: 2000, missionMs: 60_000 }], 1_000_000)).toBe(60_000 + 30_000 * 60);
    expect(extrapolateMission([{ wallMs: 2000, missionMs: 0 }], 1000)).toBe(0);
    fc.assert(
      fc.property(fc.array(fc.record({ wallMs: fc.double(), missionMs: fc.double() }), { maxLength: 3 }), fc.double(), (readings, now) => {
        const m = extrapolateMission(readings, now);
        if (m !== undefined && Number.isFinite(readings[readings.length - 1]!.missionMs) && Number.isFinite(now)) expect(m).toBeGreaterThanOrEqual(readings[readings.length - 1]!.missionMs);
      }),
    );
  });
});
