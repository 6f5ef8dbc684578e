import { afterEach, describe, expect, it } from "vitest";
import { SimClock } from "@umbra/core";
import { DEFAULT_ILLUMINATION_PATH, LinuxActivity, LinuxIllumination, MAX_BUSY_CORES, PlatformError, createLinuxPlatform, parseIsoUtc } from "../src/index.js";
import { fifo, makeTree, type FakeTree } from "./support/fake-tree.js";
import { expectPlatformError, faultyFs } from "./support/fs-faults.js";

let tree: FakeTree;
afterEach(async () => {
  await tree?.cleanup();
});

const NOW = Date.parse("2026-03-20T12:00:00Z");
const FILE = "run/umbra/illumination.json";

/** A clock fixed at NOW unless moved. */
function clockAt(ms = NOW) {
  const clock = { t: ms, utcMs: () => clock.t };
  return clock;
}

const good = {
  updatedUtc: "2026-03-20T11:59:30Z",
  sunlit: true,
  nextTransitionUtc: "2026-03-20T12:10:00Z",
  eclipseDurationS: 2130,
  orbitPeriodS: 5668,
};

async function setup(doc: unknown = good, raw?: string) {
  tree = await makeTree({ run: { umbra: { "illumination.json": raw ?? JSON.stringify(doc) } } });
  const clock = clockAt();
  const port = new LinuxIllumination({ sysRoot: tree.sysRoot }, { path: tree.path(FILE) }, clock);
  return { port, clock, path: tree.path(FILE) };
}

describe("linux illumination: the eclipse prediction file", () => {
  it("reads a good file: seconds to the transition counted from the adapter's clock", async () => {
    const { port, clock } = await setup();
    expect(await port.read()).toEqual({ sunlit: true, secondsToTransition: 600, eclipseDurationS: 2130, orbitPeriodS: 5668 });
    clock.t += 100_500;
    expect((await port.read()).secondsToTransition).toBeCloseTo(499.5, 9);
  });

  it("reads every read afresh, takes offsets and fractions of a second, and null as none predicted", async () => {
    const { port } = await setup();
    await tree.set(FILE, JSON.stringify({ ...good, sunlit: false, updatedUtc: "2026-03-20T13:59:00.250+02:00", nextTransitionUtc: "2026-03-20T12:20:00.5Z", eclipseDurationS: 2100 }));
    expect(await port.read()).toEqual({ sunlit: false, secondsToTransition: 1200.5, eclipseDurationS: 2100, orbitPeriodS: 5668 });
    await tree.set(FILE, JSON.stringify({ ...good, nextTransitionUtc: null, eclipseDurationS: 0, extra: "ignored" }));
    expect(await port.read()).toEqual({ sunlit: true, secondsToTransition: -1, eclipseDurationS: 0, orbitPeriodS: 5668 });
  });

  it("calls a transition just past (within the grace) 0 s to go, and a lapsed one an error", async () => {
    const { port, clock, path } = await setup();
    clock.t = Date.parse(good.nextTransitionUtc) + 5_000;
    expect((await port.read()).secondsToTransition).toBe(0);
    clock.t = Date.parse(good.nextTransitionUtc) + 60_000;
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: "nextTransitionUtc: the predicted transition at 2026-03-20T12:10:00Z passed 60 s ago: the prediction has lapsed" });
  });

  it("rejects a file older than two orbit periods, and one from the future of this clock", async () => {
    const { port, clock, path } = await setup({ ...good, nextTransitionUtc: null });
    clock.t = Date.parse(good.updatedUtc) + 2 * 5668 * 1000;
    expect((await port.read()).sunlit).toBe(true);
    clock.t += 1000;
    await expectPlatformError(port.read(), {
      port: "illumination",
      source: path,
      reason: "updatedUtc: stale: written 11337 s ago, more than 2 orbit periods (11336 s); is the bus interface still writing it?",
    });
    clock.t = Date.parse(good.updatedUtc) - 120_000;
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: "updatedUtc: 2026-03-20T11:59:30Z is 120 s ahead of this clock (more than 60 s): the clocks disagree" });
  });

  const bad: [string, unknown, string][] = [
    ["an array", [good], "not a JSON object (array)"],
    ["null", null, "not a JSON object (null)"],
    ["a number", 42, "not a JSON object (number)"],
    ["no updatedUtc", { ...good, updatedUtc: undefined }, "updatedUtc: missing"],
    ["no sunlit", { ...good, sunlit: undefined }, "sunlit: missing"],
    ["no nextTransitionUtc", { ...good, nextTransitionUtc: undefined }, "nextTransitionUtc: missing (null when none is predicted)"],
    ["no eclipseDurationS", { ...good, eclipseDurationS: undefined }, "eclipseDurationS: missing"],
    ["no orbitPeriodS", { ...good, orbitPeriodS: undefined }, "orbitPeriodS: missing"],
    ["an updatedUtc that is a number", { ...good, updatedUtc: NOW }, "updatedUtc: not an ISO 8601 time string (number)"],
    ["an updatedUtc with no zone", { ...good, updatedUtc: "2026-03-20T11:59:30" }, 'updatedUtc: not an ISO 8601 time with seconds and a zone, like "2026-03-20T12:00:00Z": "2026-03-20T11:59:30"'],
    ["an updatedUtc of 30 February", { ...good, updatedUtc: "2026-02-30T11:59:30Z" }, 'updatedUtc: not a valid date and time: "2026-02-30T11:59:30Z"'],
    ["an updatedUtc at hour 24", { ...good, updatedUtc: "2026-03-20T24:00:00Z" }, 'updatedUtc: not a valid date and time: "2026-03-20T24:00:00Z"'],
    ["a sunlit that is a string", { ...good, sunlit: "true" }, "sunlit: not a boolean: string"],
    ["a sunlit of null", { ...good, sunlit: null }, "sunlit: not a boolean: null"],
    ["a nextTransitionUtc that is a number", { ...good, nextTransitionUtc: -1 }, "nextTransitionUtc: not an ISO 8601 time string (number) (null when none is predicted)"],
    ["a nextTransitionUtc before updatedUtc", { ...good, nextTransitionUtc: "2026-03-20T11:59:00Z" }, "nextTransitionUtc: 2026-03-20T11:59:00Z is before updatedUtc 2026-03-20T11:59:30Z"],
    ["a transition two years away", { ...good, nextTransitionUtc: "2028-03-20T12:00:00Z" }, "nextTransitionUtc: the predicted transition is 63158400 s away, more than 31622400 s"],
    ["a negative orbit period", { ...good, orbitPeriodS: -5668 }, "orbitPeriodS: orbit period -5668 s is outside 60..10000000 s"],
    ["a zero orbit period", { ...good, orbitPeriodS: 0 }, "orbitPeriodS: orbit period 0 s is outside 60..10000000 s"],
    ["an orbit period as a string", { ...good, orbitPeriodS: "5668" }, "orbitPeriodS: orbit period is not a number (string)"],
    ["a negative eclipse duration", { ...good, eclipseDurationS: -1 }, "eclipseDurationS: eclipse duration -1 s is outside 0..10000000 s"],
    ["an eclipse duration of null", { ...good, eclipseDurationS: null }, "eclipseDurationS: eclipse duration is not a number (null)"],
    ["an eclipse longer than the orbit", { ...good, eclipseDurationS: 6000 }, "eclipseDurationS: eclipse duration 6000 s is longer than the orbit period 5668 s"],
    [
      "an eclipse exit further away than the eclipse is long",
      { ...good, sunlit: false, nextTransitionUtc: "2026-03-20T13:00:00Z", eclipseDurationS: 2100 },
      "nextTransitionUtc: 3600 s to the end of the eclipse is more than the eclipse's duration 2100 s",
    ],
  ];
  for (const [what, doc, reason] of bad) {
    it(`rejects ${what}, naming the file and the field`, async () => {
      const { port, path } = await setup(doc);
      await expectPlatformError(port.read(), { port: "illumination", source: path, reason });
    });
  }

  it("rejects text that is not JSON, an empty file, a file over 64 KiB, a FIFO, a folder and a missing file", async () => {
    const { port, path } = await setup(undefined, "{ sunlit: yes");
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: /^not valid JSON: / });
    await tree.set(FILE, "");
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: /^not valid JSON: / });
    await tree.set(FILE, JSON.stringify({ ...good, padding: "x".repeat(65_536) }));
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: "file is larger than 65536 bytes; not an eclipse prediction" });
    await tree.remove(FILE);
    await tree.add("run/umbra", { "illumination.json": fifo() });
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: /^not valid JSON: / });
    await tree.remove(FILE);
    await tree.add(FILE, {});
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: "is a directory, expected a file (EISDIR)" });
    await tree.remove(FILE);
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: "file is missing (ENOENT)" });
  });

  it("turns an unreadable file into a PlatformError", async () => {
    tree = await makeTree({ run: { umbra: { "illumination.json": JSON.stringify(good) } } });
    const path = tree.path(FILE);
    const port = new LinuxIllumination({ sysRoot: tree.sysRoot, fs: faultyFs({ open: { [path]: "EACCES" } }) }, { path }, clockAt());
    await expectPlatformError(port.read(), { port: "illumination", source: path, reason: "permission denied (EACCES)" });
    const eio = new LinuxIllumination({ sysRoot: tree.sysRoot, fs: faultyFs({ read: { [path]: "EIO" } }) }, { path }, clockAt());
    await expectPlatformError(eio.read(), { port: "illumination", source: path, reason: /^EIO: / });
  });

  it("refuses a relative or empty path, and a clock without utcMs, at construction", () => {
    expect(() => new LinuxIllumination({}, { path: "run/umbra/illumination.json" })).toThrow(/options.illumination.path must be an absolute file path/);
    expect(() => new LinuxIllumination({}, { path: "" })).toThrow(RangeError);
    expect(() => new LinuxIllumination({}, { path: "/run/x\0y" })).toThrow(RangeError);
    expect(() => new LinuxIllumination({}, {}, {} as never)).toThrow(/options.clock must have utcMs/);
    expect(new LinuxIllumination().path).toBe(DEFAULT_ILLUMINATION_PATH);
  });

  it("is the Linux platform's illumination port, configured through its options and clock", async () => {
    tree = await makeTree({ run: { umbra: { "illumination.json": JSON.stringify(good) } } });
    const clock = new SimClock({ startUtcMs: NOW });
    const platform = createLinuxPlatform({ sysRoot: tree.sysRoot, devRoot: tree.devRoot, illumination: { path: tree.path(FILE) }, clock });
    expect(platform.illumination.path).toBe(tree.path(FILE));
    expect(await platform.illumination.read()).toMatchObject({ secondsToTransition: 600 });
    await clock.advance(60_000);
    expect(await platform.illumination.read()).toMatchObject({ secondsToTransition: 540 });
    expect(createLinuxPlatform().illumination.path).toBe(DEFAULT_ILLUMINATION_PATH);
    expect(() => createLinuxPlatform({ illumination: { path: "relative.json" } })).toThrow(RangeError);
  });
});

describe("parseIsoUtc", () => {
  it("accepts ISO 8601 times with a zone and refuses the rest", () => {
    expect(parseIsoUtc("2026-03-20T12:00:00Z")).toEqual({ ok: true, value: NOW });
    expect(parseIsoUtc("2026-03-20T14:00:00+02:00")).toEqual({ ok: true, value: NOW });
    expect(parseIsoUtc("2024-02-29T00:00:00Z").ok).toBe(true);
    for (const s of ["2026-02-29T00:00:00Z", "2026-03-20 12:00:00Z", "2026-03-20T12:00Z", "2026-03-20T12:00:60Z", "2026-03-20T12:00:00+25:00", `${"9".repeat(50)}`, "", "2026-03-20T12:00:00.1234567890Z"]) {
      expect(parseIsoUtc(s).ok, s).toBe(false);
    }
    expect(parseIsoUtc(undefined)).toEqual({ ok: false, reason: "not an ISO 8601 time string (undefined)" });
  });
});

describe("linux activity", () => {
  it("accepts a valid report and does nothing with it; refuses a bad one with a RangeError", () => {
    const activity = new LinuxActivity();
    expect(activity.report("inference", 0)).toBeUndefined();
    expect(activity.report("jobs", 3.5)).toBeUndefined();
    expect(activity.report("jobs", MAX_BUSY_CORES)).toBeUndefined();
    for (const [source, cores] of [
      ["inference", -0.1],
      ["inference", Number.NaN],
      ["inference", Number.POSITIVE_INFINITY],
      ["inference", MAX_BUSY_CORES + 1],
      ["inference", "2"],
      ["", 1],
      ["../etc", 1],
      ["x".repeat(65), 1],
      [42, 1],
    ] as [unknown, unknown][]) {
      expect(() => activity.report(source as string, cores as number), `${String(source)} ${String(cores)}`).toThrow(RangeError);
    }
    expect(createLinuxPlatform().activity).toBeInstanceOf(LinuxActivity);
    expect(PlatformError).toBeDefined();
  });
});
