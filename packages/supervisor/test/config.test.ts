import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import {
  ConfigError,
  MAX_CONFIG_BYTES,
  SERVICE_NAMES,
  applyOverrides,
  defaultPayloadConfig,
  effectiveApids,
  loadPayloadConfig,
  mergeConfigOverrides,
  parsePayloadConfig,
  toConfigFile,
  validatePayloadConfig,
  type PayloadConfig,
} from "../src/config/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const fixtures = join(here, "fixtures/config");
const FILE = "config/umbra.yaml";
const CWD = "/srv/umbra";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "umbra-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The ConfigError `fn` throws (fails the test if it throws anything else, or nothing). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError, got a configuration");
}

async function configErrorAsync(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError, got a configuration");
}

const parse = (yaml: string, cwd = CWD) => parsePayloadConfig(yaml, FILE, { cwd });

/** An object with `value` at the dotted `field`. */
function at(field: string, value: unknown): Record<string, unknown> {
  const keys = field.split(".");
  let out: unknown = value;
  for (const k of keys.reverse()) out = { [k]: out };
  return out as Record<string, unknown>;
}

describe("defaults", () => {
  it("an empty file, a comment-only file and a bare document marker give every default", () => {
    const d = defaultPayloadConfig({ cwd: CWD });
    for (const text of ["", "\n", "# nothing here\n", "---\n", "---\n...\n"]) {
      expect({ ...parse(text), source: "<defaults>" }).toEqual(d);
    }
  });

  it("fills in every field, with paths absolute against cwd", () => {
    const c = defaultPayloadConfig({ cwd: CWD });
    expect(c.source).toBe("<defaults>");
    expect(c.platform).toBe("hil");
    expect(c.paths).toEqual({ data: "/srv/umbra/.umbra/data", run: "/srv/umbra/.umbra/run", keys: "/srv/umbra/.umbra/keys.json", reports: "/srv/umbra/.umbra/reports" });
    expect(c.bus).toEqual({ socket: "/srv/umbra/.umbra/run/bus.sock" });
    expect(c.hil).toEqual({ scenario: "/srv/umbra/hil/scenarios/stack-demo.yaml", speed: 60 });
    expect(c.watchdog).toEqual({ enabled: true, timeoutS: 120, kickIntervalS: 10 });
    expect(c.boot).toEqual({ stableAfterS: 300, loopThreshold: 3 });
    expect(c.safeMode).toEqual({ keep: ["ttc", "thermal", "gateway"], minBatterySocPct: 15, onThermalEmergency: true });
    expect(c.supervisor).toEqual({ statusIntervalS: 10 });
    expect(c.inference).toEqual({ models: ["tiny-cls", "tiny-seg", "ocr-cls"] });
    expect(c.gateway).toEqual({ host: "127.0.0.1", port: 8080, spi: 2, sourceId: 33 });
    expect(Object.keys(c.services)).toEqual([...SERVICE_NAMES]);
    for (const name of SERVICE_NAMES) {
      expect(c.services[name]).toEqual({
        name,
        enabled: name !== "counter",
        heartbeatTimeoutS: 5,
        startTimeoutS: 30,
        stopTimeoutS: 10,
        restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 30, maxFailures: 5, windowS: 300 },
        parameters: {},
        args: [],
      });
    }
  });

  it("resolves against process.cwd() when no cwd is given", () => {
    expect(defaultPayloadConfig().paths.data).toBe(resolve(process.cwd(), ".umbra/data"));
  });

  it("the shipped config/umbra.yaml loads and equals the defaults", async () => {
    const c = await loadPayloadConfig("config/umbra.yaml", { cwd: repoRoot });
    expect(c.source).toBe(join(repoRoot, "config/umbra.yaml"));
    expect({ ...c, source: "<defaults>" }).toEqual(defaultPayloadConfig({ cwd: repoRoot }));
  });

  it("the shipped config/umbra.yaml writes out every field of the layout (commented out where it has no default)", async () => {
    const text = await readFile(join(repoRoot, "config/umbra.yaml"), "utf8");
    for (const field of ["models:", "tcp:", "rawTcpPort:", "rawUdpPort:", "apid:", "parameters:", "args:"]) expect(text).toContain(field);
  });
});

describe("a full configuration", () => {
  it("turns every field of the file into the configuration", async () => {
    const c = await loadPayloadConfig(join(fixtures, "full.yaml"), { cwd: "/home/op" });
    const restart = { initialBackoffS: 0.5, factor: 3, maxBackoffS: 60, maxFailures: 8, windowS: 600 };
    const base = { heartbeatTimeoutS: 3, startTimeoutS: 20, stopTimeoutS: 4, restart, parameters: {}, args: [] };
    const expected: PayloadConfig = {
      source: join(fixtures, "full.yaml"),
      platform: "linux",
      paths: { data: "/var/lib/umbra", run: "/home/op/run", keys: "/etc/umbra/keys.json", reports: "/home/reports", models: "/opt/umbra/models" },
      bus: { socket: "/run/umbra/bus.sock", tcp: "[::1]:7400" },
      hil: { scenario: "/home/op/hil/scenarios/hot-case.yaml", speed: 0.5 },
      watchdog: { enabled: false, timeoutS: 60, kickIntervalS: 29.5 },
      boot: { stableAfterS: 600, loopThreshold: 5 },
      // In start order, whatever order the file lists them in.
      safeMode: { keep: ["ttc", "thermal"], minBatterySocPct: 22.5, onThermalEmergency: false },
      supervisor: { statusIntervalS: 2 },
      services: {
        ttc: { name: "ttc", enabled: true, apid: 0x011, ...base },
        thermal: { name: "thermal", enabled: true, ...base },
        scrubber: { name: "scrubber", enabled: false, ...base },
        inference: {
          name: "inference",
          enabled: true,
          ...base,
          startTimeoutS: 120,
          restart: { ...restart, maxFailures: 2 },
          parameters: { canaryIntervalS: 600, mode: "tmr", strict: true },
        },
        jobs: { name: "jobs", enabled: true, apid: 0x061, ...base, heartbeatTimeoutS: 10, restart: { ...restart, initialBackoffS: 2, maxBackoffS: 2 }, args: ["--log-level", "debug"] },
        gateway: { name: "gateway", enabled: false, ...base },
        counter: { name: "counter", enabled: true, ...base },
      },
      inference: { models: ["ocr-cls"] },
      gateway: { host: "0.0.0.0", port: 0, spi: 7, sourceId: 0, rawTcpPort: 7500, rawUdpPort: 7500 },
    };
    expect(c).toEqual(expected);
  });

  it("the bus socket follows paths.run unless bus.socket is given", () => {
    expect(parse("paths: {run: /tmp/r}").bus.socket).toBe("/tmp/r/bus.sock");
    expect(parse("paths: {run: /tmp/r}\nbus: {socket: s.sock}").bus.socket).toBe("/srv/umbra/s.sock");
  });

  it("accepts a byte-order mark, CRLF line ends, hex APIDs and anchors used a few times", () => {
    const c = parse("\uFEFFdefaults:\r\n  restart: &r {maxFailures: 9}\r\nservices:\r\n  jobs: {apid: 0x7E0, restart: *r}\r\n");
    expect(c.services.jobs.apid).toBe(0x7e0);
    expect(c.services.jobs.restart.maxFailures).toBe(9);
  });

  it("an empty section counts as empty", () => {
    const c = parse("watchdog:\nservices:\n  counter:\n");
    expect(c.watchdog).toEqual(defaultPayloadConfig({ cwd: CWD }).watchdog);
    expect(c.services.counter.enabled).toBe(false);
  });
});

// [field, bad value, what the message says]; each alone in an otherwise empty file.
const BAD: [string, unknown, RegExp][] = [
  ["platform", "windows", /expected one of hil, linux, got "windows"/],
  ["platform", 1, /expected one of hil, linux, got 1/],
  ["paths", 5, /expected a mapping of fields, got 5/],
  ["paths.data", "", /expected a non-empty path, got ""/],
  ["paths.data", 5, /expected a non-empty path, got 5/],
  ["paths.data", "a\0b", /must not contain a NUL byte/],
  ["paths.run", null, /expected a non-empty path, got null/],
  ["paths.keys", ["a"], /got a list/],
  ["paths.reports", { a: 1 }, /got a mapping/],
  ["paths.models", "", /non-empty path/],
  ["paths.data", "x".repeat(5000), /at most 4096 bytes/],
  ["bus.socket", "", /non-empty path/],
  ["bus.tcp", "nohost", /expected "host:port"/],
  ["bus.tcp", "h:0", /port 1\.\.65535/],
  ["bus.tcp", "h:70000", /port 1\.\.65535/],
  ["bus.tcp", 7400, /expected "host:port"/],
  ["hil.scenario", "", /non-empty path/],
  ["hil.speed", 0, /expected a number > 0 and <= 10000, got 0/],
  ["hil.speed", -1, /got -1/],
  ["hil.speed", 10001, /got 10001/],
  ["hil.speed", "60", /got "60"/],
  ["hil.speed", Number.NaN, /got NaN/],
  ["hil.speed", Number.POSITIVE_INFINITY, /got Infinity/],
  ["watchdog.enabled", "yes", /expected true or false, got "yes"/],
  ["watchdog.timeoutS", 0, /expected a number > 0 and <= 86400, got 0/],
  ["watchdog.timeoutS", 86401, /got 86401/],
  ["watchdog.kickIntervalS", 0, /> 0/],
  ["watchdog.kickIntervalS", 60, /less than half of timeoutS \(120 s\)/],
  ["boot.stableAfterS", -1, /> 0/],
  ["boot.loopThreshold", 0, /expected a whole number 1\.\.100, got 0/],
  ["boot.loopThreshold", 1.5, /got 1\.5/],
  ["safeMode.keep", "ttc", /expected a list of services, got "ttc"/],
  ["safeMode.keep", ["ttc"], /must include ttc and thermal .*missing thermal/],
  ["safeMode.minBatterySocPct", -1, /expected a number 0\.\.100, got -1/],
  ["safeMode.minBatterySocPct", 101, /got 101/],
  ["safeMode.onThermalEmergency", 1, /expected true or false, got 1/],
  ["supervisor.statusIntervalS", 0, /> 0 and <= 3600/],
  ["defaults.heartbeatTimeoutS", 0, /> 0/],
  ["defaults.startTimeoutS", -1, /> 0/],
  ["defaults.stopTimeoutS", "10", /got "10"/],
  ["defaults.restart", [1], /expected a mapping of fields, got a list/],
  ["defaults.restart.initialBackoffS", 0, /> 0/],
  ["defaults.restart.initialBackoffS", 31, /initialBackoffS \(31 s\) must not be more than maxBackoffS \(30 s\)/],
  ["defaults.restart.factor", 0.5, /expected a number 1\.\.100, got 0\.5/],
  ["defaults.restart.maxBackoffS", 0, /> 0/],
  ["defaults.restart.maxBackoffS", 0.5, /must not be more than maxBackoffS/],
  ["defaults.restart.maxFailures", 0, /expected a whole number >= 1, got 0/],
  ["defaults.restart.maxFailures", 2.5, /whole number/],
  ["defaults.restart.windowS", 0, /> 0/],
  ["services", "all", /expected a mapping of fields/],
  ["services.jobs", 5, /expected a mapping of fields, got 5/],
  ["services.jobs.enabled", "no", /expected true or false, got "no"/],
  ["services.jobs.apid", -1, /expected a whole number 0\.\.2046, got -1/],
  ["services.jobs.apid", 2047, /got 2047/],
  ["services.jobs.apid", 1.5, /got 1\.5/],
  ["services.gateway.apid", 100, /the gateway has no APID/],
  ["services.ttc.enabled", false, /ttc cannot be disabled/],
  ["services.thermal.enabled", false, /thermal cannot be disabled/],
  ["services.inference.heartbeatTimeoutS", 0, /> 0/],
  ["services.inference.startTimeoutS", 1e6, /<= 86400/],
  ["services.inference.stopTimeoutS", null, /got null/],
  ["services.jobs.restart.maxFailures", -1, /^expected a whole number >= 1, got -1$/],
  ["services.jobs.restart.initialBackoffS", 60, /initialBackoffS \(60 s\) must not be more than maxBackoffS \(30 s\)/],
  ["services.jobs.restart.maxBackoffS", 0.5, /must not be more than maxBackoffS \(0\.5 s\)/],
  ["services.jobs.parameters", [1], /expected a mapping of parameter names to values, got a list/],
  ["services.jobs.parameters.x", { a: 1 }, /expected true, false, a finite number or a string, got a mapping/],
  ["services.jobs.parameters.x", null, /got null/],
  ["services.jobs.parameters.x", Number.NaN, /got NaN/],
  ["services.jobs.parameters.x", "y".repeat(1025), /at most 1024 bytes, got 1025 bytes/],
  ["services.jobs.parameters.9lives", 1, /expected a parameter name/],
  ["services.jobs.args", "--x", /expected a list of command-line arguments/],
  ["inference.models", [], /at least one model/],
  ["inference.models", "tiny-cls", /expected a list of model names/],
  ["gateway.host", "", /expected a host name or address, got ""/],
  ["gateway.host", "a b", /expected a host name or address, got "a b"/],
  ["gateway.port", -1, /expected a whole number 0\.\.65535, got -1/],
  ["gateway.port", 65536, /got 65536/],
  ["gateway.port", 80.5, /got 80\.5/],
  ["gateway.spi", 0, /expected a whole number 1\.\.65534, got 0/],
  ["gateway.spi", 65535, /got 65535/],
  ["gateway.sourceId", -1, /expected a whole number 0\.\.65535, got -1/],
  ["gateway.sourceId", 65536, /got 65536/],
  ["gateway.rawTcpPort", 0, /expected a whole number 1\.\.65535, got 0/],
  ["gateway.rawTcpPort", 8080, /also gateway\.port/],
  ["gateway.rawUdpPort", 65536, /1\.\.65535/],
];

// Bad entries inside lists are named by index.
const BAD_IN_LIST: [string, unknown, string, RegExp][] = [
  ["safeMode.keep", ["ttc", "thermal", "nope"], "safeMode.keep[2]", /expected one of ttc, thermal, .*got "nope"/],
  ["safeMode.keep", ["ttc", "thermal", "thermal"], "safeMode.keep[2]", /thermal is listed twice/],
  ["safeMode.keep", ["ttc", "thermal", "jbos"], "safeMode.keep[2]", /did you mean jobs\?/],
  ["inference.models", ["tiny-cls", "Tiny"], "inference.models[1]", /expected a model name like tiny-cls/],
  ["inference.models", ["a", "a"], "inference.models[1]", /a is listed twice/],
  ["services.jobs.args", ["--x", ""], "services.jobs.args[1]", /non-empty string/],
  ["services.jobs.args", [1], "services.jobs.args[0]", /non-empty string, got 1/],
];

describe("a bad value names its field", () => {
  const short = (v: unknown) => (typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 30));
  it.each(BAD.map(([field, value, says]) => ({ field, value, says, shown: short(value) })))("$field = $shown", ({ field, value, says }) => {
    const e = configError(() => validatePayloadConfig(at(field, value), FILE, { cwd: CWD }));
    expect(e.problems[0]!.field).toBe(field);
    expect(e.problems[0]!.source).toBe(FILE);
    expect(e.problems[0]!.message).toMatch(says);
    expect(e.message.split("\n")[0]).toBe(`${FILE}: ${field}: ${e.problems[0]!.message}`);
  });

  it.each(BAD_IN_LIST.map(([field, value, named, says]) => ({ field, value, named, says, shown: short(value) })))("$field = $shown", ({ field, value, named, says }) => {
    const e = configError(() => validatePayloadConfig(at(field, value), FILE, { cwd: CWD }));
    expect(e.problems[0]!.field).toBe(named);
    expect(e.problems[0]!.message).toMatch(says);
  });

  it("in a file, as the issue's example has it, with the line and column", () => {
    const e = configError(() => parse("# jobs\nservices:\n  jobs:\n    restart:\n      maxFailures: -1\n"));
    expect(e.message).toBe("config/umbra.yaml: services.jobs.restart.maxFailures: expected a whole number >= 1, got -1");
    expect(e.field).toBe("services.jobs.restart.maxFailures");
    expect(e.problems[0]).toMatchObject({ line: 5, column: 7 });
  });

  it("every problem in the file at once, one line each", () => {
    const e = configError(() => parse("platform: mars\nhil: {speed: 0}\ngateway: {port: 99999}\n"));
    expect(e.problems.map((p) => p.field)).toEqual(["platform", "hil.speed", "gateway.port"]);
    expect(e.problems.map((p) => p.line)).toEqual([1, 2, 3]);
    expect(e.message.split("\n")).toHaveLength(3);
  });

  it("a NUL written as a YAML escape in a path is refused", () => {
    const e = configError(() => parse('paths: {data: "a\\0b"}'));
    expect(e.message).toBe("config/umbra.yaml: paths.data: must not contain a NUL byte");
  });

  it("a bus socket path too long for a Unix socket is refused, naming the field that made it", () => {
    const long = `/${"d".repeat(110)}`;
    expect(configError(() => parse(`paths: {run: ${long}}`)).field).toBe("paths.run");
    expect(configError(() => parse(`bus: {socket: ${long}/s}`)).field).toBe("bus.socket");
    expect(configError(() => parse("", long)).field).toBe("paths.run");
  });
});

describe("unknown fields", () => {
  it.each([
    ["servics: {}", "servics", "unknown field (did you mean services?)"],
    ["paths: {modles: x}", "paths.modles", "unknown field (did you mean models?)"],
    ["services: {inferance: {}}", "services.inferance", "unknown service (did you mean inference?)"],
    ["services: {jobs: {restart: {maxFailure: 3}}}", "services.jobs.restart.maxFailure", "unknown field (did you mean maxFailures?)"],
    ["defaults: {heartbeatTimeout: 3}", "defaults.heartbeatTimeout", "unknown field (did you mean heartbeatTimeoutS?)"],
    ["watchdog: {Enabled: true}", "watchdog.Enabled", "unknown field (did you mean enabled?)"],
  ])("%s", (yaml, field, message) => {
    const e = configError(() => parse(yaml));
    expect(e.problems[0]).toMatchObject({ field, message, line: 1 });
  });

  it("lists the known fields when nothing is close", () => {
    const e = configError(() => parse("boot: {frobnicate: 1}"));
    expect(e.message).toBe("config/umbra.yaml: boot.frobnicate: unknown field; known fields: stableAfterS, loopThreshold");
  });

  it("a __proto__ key is an unknown field, and pollutes nothing", () => {
    const e = configError(() => parse("__proto__: {platform: linux}\n"));
    expect(e.field).toBe("__proto__");
    expect(({} as Record<string, unknown>)["platform"]).toBeUndefined();
  });

  it("a YAML merge key is not special", () => {
    expect(configError(() => parse("base: &b {speed: 5}\nhil:\n  <<: *b\n")).problems.map((p) => p.field).sort()).toEqual(["base", "hil.<<"]);
  });
});

describe("YAML", () => {
  it("a syntax error says the line and column", () => {
    const e = configError(() => parse("platform: hil\npaths:\n  data: [a\n"));
    expect(e.field).toBe("");
    expect(e.message).toMatch(/^config\/umbra\.yaml: YAML syntax: .* at line \d+, column \d+$/);
    expect(e.problems[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it("a bad indentation says the line", () => {
    const e = configError(() => parse("hil:\n  speed: 5\n scenario: x\n"));
    expect(e.message).toMatch(/line 3/);
  });

  it("a key given twice is refused, naming it and both lines", () => {
    const e = configError(() => parse("platform: hil\nhil: {speed: 5}\nplatform: linux\n"));
    expect(e.message).toBe("config/umbra.yaml: platform: given twice (line 1, column 1 and line 3, column 1); keep one");
    const nested = configError(() => parse("services:\n  jobs:\n    apid: 1\n    apid: 2\n"));
    expect(nested.problems[0]).toMatchObject({ field: "services.jobs.apid", line: 4 });
  });

  it("the top level must be a mapping", () => {
    for (const text of ["- a\n- b\n", "42\n", "just text\n"]) {
      expect(configError(() => parse(text)).message).toMatch(/expected a mapping of configuration sections .* at the top level/);
    }
  });

  it("an alias bomb is refused, quickly", async () => {
    const t0 = performance.now();
    const e = await configErrorAsync(loadPayloadConfig(join(fixtures, "alias-bomb.yaml")));
    expect(e.message).toMatch(/too many aliases/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("control characters (binary) are refused with where they are", () => {
    expect(configError(() => parse("platform: hil\n\u0001x: 1\n")).message).toBe("config/umbra.yaml: not a text file: control character 0x01 at line 2, column 1");
  });
});

describe("files", () => {
  async function file(name: string, content: string | Uint8Array): Promise<string> {
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content);
    return p;
  }

  it("loads a file named relative to cwd, and names it as given in errors", async () => {
    await file("a/config/umbra.yaml", "hil: {speed: 7}\n");
    const c = await loadPayloadConfig("config/umbra.yaml", { cwd: join(dir, "a") });
    expect(c.hil.speed).toBe(7);
    expect(c.source).toBe(join(dir, "a/config/umbra.yaml"));
    expect(c.paths.data).toBe(join(dir, "a/.umbra/data"));
    await file("a/config/umbra.yaml", "hil: {speed: -7}\n");
    const e = await configErrorAsync(loadPayloadConfig("config/umbra.yaml", { cwd: join(dir, "a") }));
    expect(e.message).toBe("config/umbra.yaml: hil.speed: expected a number > 0 and <= 10000, got -7");
  });

  it("an empty file gives every default", async () => {
    const p = await file("empty.yaml", "");
    expect({ ...(await loadPayloadConfig(p, { cwd: CWD })), source: "<defaults>" }).toEqual(defaultPayloadConfig({ cwd: CWD }));
  });

  it("a missing file, or a directory, is an error naming it", async () => {
    expect((await configErrorAsync(loadPayloadConfig(join(dir, "nope.yaml")))).message).toBe(`${join(dir, "nope.yaml")}: no such file`);
    expect((await configErrorAsync(loadPayloadConfig(dir))).message).toBe(`${dir}: not a regular file`);
  });

  it("an oversized file is refused before it is parsed", async () => {
    const p = await file("big.yaml", `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    expect((await configErrorAsync(loadPayloadConfig(p))).message).toMatch(/more than the 256 KiB a configuration may be/);
    expect(configError(() => parsePayloadConfig(`# ${"x".repeat(MAX_CONFIG_BYTES)}`, "t")).message).toMatch(/256 KiB/);
  });

  it("non-UTF-8 text is refused with where", async () => {
    const p = await file("latin1.yaml", Buffer.concat([Buffer.from("platform: hil\nhil: {scenario: caf"), Buffer.from([0xe9]), Buffer.from("}\n")]));
    expect((await configErrorAsync(loadPayloadConfig(p))).message).toBe(`${p}: not UTF-8 text: invalid byte sequence at line 2, column 20`);
  });

  it("binary garbage is refused with a ConfigError", async () => {
    let seed = 7;
    const bytes = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff);
    const p = await file("garbage.bin", bytes);
    await configErrorAsync(loadPayloadConfig(p));
    const zeros = await file("zeros.bin", new Uint8Array(100));
    expect((await configErrorAsync(loadPayloadConfig(zeros))).message).toMatch(/not a text file: control character 0x00 at line 1, column 1/);
  });
});

describe("APIDs", () => {
  it("two services given the same APID: the second is named", () => {
    const e = configError(() => parse("services:\n  inference: {apid: 0x040}\n  jobs: {apid: 64}\n"));
    expect(e.message).toBe("config/umbra.yaml: services.jobs.apid: APID 64 is already given to inference; each service needs its own");
    expect(e.problems[0]!.line).toBe(3);
  });

  it("effectiveApids: configured over declared, collisions among enabled services named", () => {
    const declared = { ttc: 0x010, thermal: 0x030, inference: 0x040, scrubber: 0x050, jobs: 0x060, counter: 0x7f0 };
    expect(effectiveApids(defaultPayloadConfig(), declared)).toEqual({ ttc: 0x010, thermal: 0x030, inference: 0x040, scrubber: 0x050, jobs: 0x060 });
    const moved = parse("services: {jobs: {apid: 0x061}, counter: {enabled: true}}");
    expect(effectiveApids(moved, declared)).toMatchObject({ jobs: 0x061, counter: 0x7f0 });
    const clash = parse("services: {jobs: {apid: 0x040}}");
    const e = configError(() => effectiveApids(clash, declared));
    expect(e.message).toBe("/srv/umbra/config/umbra.yaml: services.jobs.apid: APID 64 (0x040) is also inference's; give it an APID of its own");
    // A disabled service's APID is not in use.
    expect(effectiveApids(parse("services: {jobs: {apid: 0x040}, inference: {enabled: false}}"), declared).jobs).toBe(0x040);
  });
});

describe("overrides", () => {
  it("flags win over the file, undefined flags are skipped, relative paths resolve against cwd", () => {
    const c = parsePayloadConfig("hil: {speed: 5, scenario: a.yaml}\ngateway: {port: 9000}\n", FILE, {
      cwd: CWD,
      overrides: { platform: "linux", hil: { speed: 600, scenario: undefined }, gateway: { port: 0 }, paths: { data: "d" }, services: { counter: { enabled: true } } },
    });
    expect(c.platform).toBe("linux");
    expect(c.hil).toEqual({ speed: 600, scenario: "/srv/umbra/a.yaml" });
    expect(c.gateway.port).toBe(0);
    expect(c.paths.data).toBe("/srv/umbra/d");
    expect(c.services.counter.enabled).toBe(true);
  });

  it("a bad override is named as the command line's, a bad file value as the file's", () => {
    const e = configError(() => parse("hil: {speed: 5}\nbus: {tcp: 'x'}\n"));
    expect(e.problems[0]!.source).toBe(FILE);
    const o = configError(() =>
      parsePayloadConfig("bus: {tcp: 'x'}\n", FILE, { cwd: CWD, overrides: { gateway: { port: 70000 }, hil: { speed: -1 }, platform: "arm" as never } }),
    );
    expect(o.message.split("\n")).toEqual([
      "command line: platform: expected one of hil, linux, got \"arm\"",
      "config/umbra.yaml: bus.tcp: expected \"host:port\" (e.g. 127.0.0.1:7400), got \"x\"",
      "command line: hil.speed: expected a number > 0 and <= 10000, got -1",
      "command line: gateway.port: expected a whole number 0..65535, got 70000",
    ]);
    const named = configError(() => validatePayloadConfig({}, FILE, { overrides: { hil: { speed: 0 } }, overridesSource: "--speed" }));
    expect(named.message).toBe("--speed: hil.speed: expected a number > 0 and <= 10000, got 0");
  });

  it("an unknown override field is refused with a suggestion", () => {
    const e = configError(() => validatePayloadConfig({}, FILE, { overrides: { gateway: { prot: 1 } as never } }));
    expect(e.message).toBe("command line: gateway.prot: unknown field (did you mean port?)");
  });

  it("mergeConfigOverrides is pure: mappings merge, lists and values replace", () => {
    const base = { hil: { speed: 5, scenario: "a" }, safeMode: { keep: ["ttc", "thermal", "jobs"] } };
    const copy = structuredClone(base);
    const over = { hil: { speed: 7 }, safeMode: { keep: ["ttc", "thermal"] as ("ttc" | "thermal")[] } };
    expect(mergeConfigOverrides(base, over)).toEqual({ hil: { speed: 7, scenario: "a" }, safeMode: { keep: ["ttc", "thermal"] } });
    expect(base).toEqual(copy);
    expect(mergeConfigOverrides(null, { platform: "linux" })).toEqual({ platform: "linux" });
    expect(mergeConfigOverrides(base, undefined)).toBe(base);
  });

  it("applyOverrides re-validates a loaded configuration, and a defaults override reaches every service", () => {
    const loaded = parse("services: {jobs: {heartbeatTimeoutS: 9}}");
    const c = applyOverrides(loaded, { hil: { speed: 1 }, defaults: { stopTimeoutS: 2, restart: { maxFailures: 1 } }, services: { jobs: { stopTimeoutS: 3 } } });
    expect(c.source).toBe(loaded.source);
    expect(c.hil.speed).toBe(1);
    expect(c.services.jobs).toMatchObject({ heartbeatTimeoutS: 9, stopTimeoutS: 3 });
    expect(c.services.ttc).toMatchObject({ heartbeatTimeoutS: 5, stopTimeoutS: 2 });
    expect(c.services.ttc.restart.maxFailures).toBe(1);
    expect(loaded.hil.speed).toBe(60);
    expect(configError(() => applyOverrides(loaded, { gateway: { port: -1 } })).message).toBe("command line: gateway.port: expected a whole number 0..65535, got -1");
  });

  it("toConfigFile writes a configuration back so that it parses to the same", async () => {
    const c = await loadPayloadConfig(join(fixtures, "full.yaml"), { cwd: "/home/op" });
    expect(parsePayloadConfig(stringify(toConfigFile(c)), c.source, { cwd: "/elsewhere" })).toEqual(c);
  });
});
