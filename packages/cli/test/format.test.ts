import { describe, expect, it } from "vitest";
import { utcMsToTaiNs } from "@umbra/core";
import type { CommandRecord, DictionaryJson } from "../src/client/types.js";
import {
  formatCommand,
  formatCommandOutcome,
  formatDictionary,
  formatEventLine,
  formatHistory,
  formatJobReport,
  formatJobs,
  formatLatest,
  formatMissionTime,
  formatSampleLine,
  formatStage,
  formatStatus,
  formatValue,
  table,
  unitsOf,
} from "../src/format.js";

const T = "2026-06-01T12:00:00.000Z";
const stage = (stage: string, success: boolean, code = "FAILURE_NONE", detail = "") => ({ stage, success, code, detail, missionTimeNs: "0", at: T });

const record = (state: string, stages: ReturnType<typeof stage>[]): CommandRecord => ({ id: 7, user: "ada", service: "counter", command: "add", args: { amount: "5" }, apid: 0x7f0, sequenceCount: 3, state, stages });

describe("table and values", () => {
  it("pads columns to the widest cell, not the last column", () => {
    expect(table([["a", "1", "x"], ["long", "22", "y"]], ["N", "V", "Z"])).toBe("N     V   Z\na     1   x\nlong  22  y");
    expect(table([])).toBe("");
  });

  it("prints values for people", () => {
    expect(formatValue(1.23456789)).toBe("1.23457");
    expect(formatValue(42)).toBe("42");
    expect(formatValue(null)).toBe("-");
    expect(formatValue(true)).toBe("true");
    expect(formatValue("12345678901234567890")).toBe("12345678901234567890");
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
  });

  it("turns mission time (TAI ns) into UTC", () => {
    const ms = Date.UTC(2026, 5, 1, 12);
    expect(formatMissionTime(utcMsToTaiNs(ms).toString())).toBe(T);
    expect(formatMissionTime(undefined)).toBe("-");
    expect(formatMissionTime("abc")).toBe("-");
  });
});

describe("commands", () => {
  it("prints stages: ok, or FAILED with the code and detail", () => {
    expect(formatStage(stage("acceptance", true))).toBe("  acceptance  ok");
    expect(formatStage(stage("completion", true, "FAILURE_NONE", "count is 5"))).toBe("  completion  ok      count is 5");
    expect(formatStage(stage("start", false, "FAILURE_PRECONDITION", "counter is frozen"))).toBe("  start       FAILED  FAILURE_PRECONDITION: counter is frozen");
  });

  it("prints how a command ended", () => {
    expect(formatCommandOutcome(record("completed", [stage("completion", true)]))).toBe("completed");
    expect(formatCommandOutcome(record("failed", [stage("acceptance", true), stage("start", false, "FAILURE_PRECONDITION", "counter is frozen")]))).toBe(
      "failed at start: FAILURE_PRECONDITION: counter is frozen",
    );
    expect(formatCommandOutcome(record("timeout", [stage("acceptance", true)]))).toBe("timeout: no completion reported in time");
    expect(formatCommand(record("completed", [stage("acceptance", true), stage("completion", true, "FAILURE_NONE", "ok")]))).toBe(
      "counter.add: command 7 sent to APID 0x7f0, sequence count 3 by ada\n  acceptance  ok\n  completion  ok      ok\ncompleted",
    );
  });
});

const dictionary: DictionaryJson = {
  services: [
    {
      name: "counter",
      apid: 0x7f0,
      description: "Example",
      commands: [
        {
          name: "add",
          description: "Add",
          critical: false,
          argumentType: "umbra.examples.v1.CounterAdd",
          arguments: { type: "object", properties: { amount: { format: "int64", anyOf: [{ type: "integer" }, { type: "string" }], "x-minimum": -10, "x-maximum": 10, "x-nonZero": true } } },
        },
        { name: "reset", description: "Zero it", critical: true, argumentType: "umbra.examples.v1.CounterReset", arguments: { type: "object", properties: {} } },
      ],
      telemetry: [
        { name: "count", type: "int", unit: "", description: "The count", limits: { high: 9 }, criticalLimits: { high: 10 } },
        { name: "temp", type: "float", unit: "°C", description: "A temperature", limits: { low: -5, high: 50 } },
      ],
      events: [{ id: 1, name: "limitExceeded", severity: "medium", description: "Above the limit" }],
      parameters: [{ name: "limit", type: "int", unit: "", description: "The limit", default: 100, min: 1, max: 1000 }],
    },
  ],
};

describe("the dictionary", () => {
  it("lists commands with arguments, telemetry with units and limits, events and parameters", () => {
    const text = formatDictionary(dictionary);
    expect(text).toContain("counter (APID 0x7f0): Example");
    expect(text).toMatch(/counter\.add - Add\n\s+amount {2}64-bit integer {2}-10\.\.10, not 0/);
    expect(text).toMatch(/counter\.reset \[critical: needs --arm\] - Zero it\n\s+\(no arguments\)/);
    expect(text).toMatch(/counter\.count\s+int\s+-\s+warning > 9, critical > 10\s+The count/);
    expect(text).toMatch(/counter\.temp\s+float\s+°C\s+warning -5\.\.50\s+A temperature/);
    expect(text).toMatch(/1\s+limitExceeded\s+medium\s+Above the limit/);
    expect(text).toMatch(/limit\s+int\s+-\s+100\s+1\.\.1000\s+The limit/);
    expect(formatDictionary({ services: [] })).toMatch(/no service has declared itself/);
  });

  it("gives telemetry its units", () => {
    const units = unitsOf(dictionary);
    expect(units.get("counter.temp")).toBe("°C");
    expect(formatLatest({ counter: { temp: { value: 21.456789, missionTimeNs: "1", receivedAt: T } } }, units)).toBe(
      `PARAMETER     VALUE    UNIT  RECEIVED\ncounter.temp  21.4568  °C    ${T}`,
    );
    expect(formatLatest({})).toBe("no telemetry received yet");
    const ns = utcMsToTaiNs(Date.UTC(2026, 5, 1, 12)).toString();
    expect(formatSampleLine("counter", "temp", 20, { missionTimeNs: ns }, "°C")).toBe(`${T}  counter.temp = 20 °C`);
    expect(formatHistory({ service: "counter", name: "count", points: [{ time: T, value: 3 }], truncated: true })).toBe(
      `counter.count: 1 point(s) (truncated: narrow --from/--to or raise --limit)\nTIME                      VALUE\n${T}  3`,
    );
  });
});

describe("events, jobs, status", () => {
  it("prints one line per event", () => {
    expect(formatEventLine({ service: "counter", name: "reset", severity: "info", message: "counter reset to 0", time: T })).toBe(`${T}  INFO    counter.reset: counter reset to 0`);
  });

  it("prints jobs with short state names", () => {
    expect(formatJobs([{ jobId: "j1", tenant: "demo", state: "JOB_STATE_RUNNING", model: "ocr-cls", variant: "tiny-cls", tilesDone: 3, tilesTotal: 8, reason: "admitted" }])).toBe(
      "JOB  TENANT  STATE    MODEL                  TILES  REASON\nj1   demo    running  ocr-cls (as tiny-cls)  3/8    admitted",
    );
    expect(formatJobs([])).toBe("no jobs");
  });

  it("prints a job report: status fields, mission times as UTC, class counts, decisions", () => {
    const ns = utcMsToTaiNs(Date.UTC(2026, 5, 1, 12)).toString();
    const text = formatJobReport({
      status: { jobId: "j1", state: "JOB_STATE_DONE", deadlineNs: "0", finishedNs: ns, tilesDone: 4 },
      classCounts: { "class-0": 3, "class-1": 1 },
      decisions: [{ missionTimeNs: ns, from: "JOB_STATE_RUNNING", to: "JOB_STATE_DONE", reason: "done" }],
    });
    expect(text).toBe(
      ["jobId       j1", "state       done", "deadlineNs  none", `finishedNs  ${T}`, "tilesDone   4", "classCounts      class-0 3, class-1 1", "decisions:", `  ${T}  running -> done  done`].join("\n"),
    );
  });

  it("prints the status: services, then the rest flattened without mission times", () => {
    const text = formatStatus({
      services: [{ name: "counter", alive: true, state: "running", pid: 12, uptimeMs: 5400, lastHeartbeat: T }],
      power: { batterySocPct: 97.5, missionTimeNs: "123" },
    });
    expect(text).toBe(`SERVICE  HEARTBEAT  STATE    PID  UPTIME  LAST HEARTBEAT\ncounter  alive      running  12   5 s     ${T}\n\npower.batterySocPct  97.5`);
  });
});
