// umbra start's pure parts and what it does before anything runs: the flags
// and their checks (the launcher's own flags checked here, the configuration
// flags turned into overrides that the configuration validates), the
// configuration it resolves (--config, the default file, the defaults; flags
// over them; relative paths from the current folder), what --platform linux
// needs, and the development key file. The services' command lines are the
// supervisor's launch plan, tested in packages/supervisor.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyStore, loadKeyFile } from "@umbra/ccsds";
import { CliError, UsageError } from "../src/errors.js";
import type { Io } from "../src/io.js";
import { ensureDevelopmentKeys, gatewayKeyProblem } from "../src/start/keys.js";
import { resolveConfig, runPayload } from "../src/start/launcher.js";
import { checkStartOptions, START_OPTIONS, type RawStartOptions } from "../src/start/options.js";
import { describeMissing, missingLinuxPrerequisites, type FsProbe } from "../src/start/services.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What commander hands over when no flag is given (negatable flags default to true). */
const none: RawStartOptions = { workload: true, gateway: true };
const check = (over: Partial<RawStartOptions> = {}) => checkStartOptions({ ...none, ...over });

describe("checkStartOptions", () => {
  it("lists every flag of umbra start, in --help order", () => {
    const flags = START_OPTIONS.map((o) => o.flags.split(" ")[0]);
    expect(flags).toEqual([
      "--config",
      "--platform",
      "--scenario",
      "--speed",
      "--duration",
      "--data",
      "--keys",
      "--report",
      "--socket",
      "--tcp",
      "--models",
      "--demo",
      "--no-workload",
      "--no-gateway",
      "--gateway-host",
      "--gateway-port",
      "--gateway-spi",
      "--raw-tcp-port",
      "--raw-udp-port",
      "--raw-udp-tm-to",
      "--verbose",
      "--json",
    ]);
    for (const o of START_OPTIONS) expect(o.description.length, o.flags).toBeGreaterThan(10);
  });

  it("with no flags: no configuration file named, no overrides, a workload, no duration", () => {
    const r = check();
    expect(r).toEqual({
      overrides: {
        platform: undefined,
        paths: { data: undefined, keys: undefined, reports: undefined },
        bus: { socket: undefined, tcp: undefined },
        hil: { scenario: undefined, speed: undefined },
        inference: undefined,
        gateway: { host: undefined, port: undefined, spi: undefined, rawTcpPort: undefined, rawUdpPort: undefined },
      },
      demo: false,
      workload: true,
      verbose: false,
      json: false,
    });
    expect("configFile" in r).toBe(false);
    expect("duration" in r).toBe(false);
  });

  it("keeps the launcher's own flags and turns every configuration flag into an override of its field", () => {
    const r = check({
      config: "cfg/umbra.yaml",
      duration: "90",
      demo: true,
      workload: false,
      verbose: true,
      json: true,
      platform: "hil",
      scenario: "s.yaml",
      speed: "120",
      data: "d",
      keys: "k.json",
      report: "r",
      socket: "b.sock",
      tcp: "127.0.0.1:7400",
      models: " tiny-cls, ocr-cls ,",
      gatewayHost: "0.0.0.0",
      gatewayPort: "0",
      gatewaySpi: "3",
      rawTcpPort: "10025",
      rawUdpPort: "10026",
      rawUdpTmTo: "10.0.0.2:10027",
    });
    expect(r).toEqual({
      configFile: "cfg/umbra.yaml",
      duration: 90,
      demo: true,
      workload: false,
      verbose: true,
      json: true,
      overrides: {
        platform: "hil",
        paths: { data: "d", keys: "k.json", reports: "r" },
        bus: { socket: "b.sock", tcp: "127.0.0.1:7400" },
        hil: { scenario: "s.yaml", speed: 120 },
        inference: { models: ["tiny-cls", "ocr-cls"] },
        gateway: { host: "0.0.0.0", port: 0, spi: 3, rawTcpPort: 10025, rawUdpPort: 10026 },
        services: { gateway: { args: ["--udp-tm-to", "10.0.0.2:10027"] } },
      },
    });
    expect(check({ gateway: false }).overrides.services).toEqual({ gateway: { enabled: false } });
  });

  it("refuses what only the launcher can judge, with a message naming the flag", () => {
    const cases: [Partial<RawStartOptions>, RegExp][] = [
      [{ duration: "-1" }, /^--duration must be a positive number of seconds, got -1$/],
      [{ duration: "0" }, /^--duration must be a positive number of seconds, got 0$/],
      [{ duration: "soon" }, /^--duration must be a number, got "soon"$/],
      [{ speed: "fast" }, /^--speed must be a number, got "fast"$/],
      [{ speed: " " }, /^--speed must be a number, got " "$/],
      [{ gatewayPort: "80.5" }, /^--gateway-port must be a whole number, got "80\.5"$/],
      [{ gatewaySpi: "1" }, /^--gateway-spi must not be 1: the workload signs with SPI 1/],
      [{ rawTcpPort: "x" }, /^--raw-tcp-port must be a whole number, got "x"$/],
      [{ rawUdpTmTo: "10.0.0.2:1" }, /^--raw-udp-tm-to needs --raw-udp-port$/],
      [{ gateway: false, rawTcpPort: "1" }, /^--raw-tcp-port and --raw-udp-port are served by the gateway: drop --no-gateway$/],
      [{ gateway: false, rawUdpPort: "1" }, /served by the gateway: drop --no-gateway/],
      [{ models: " , " }, /^--models must name at least one model/],
    ];
    for (const [over, message] of cases) {
      expect(() => check(over), JSON.stringify(over)).toThrow(UsageError);
      expect(() => check(over), JSON.stringify(over)).toThrow(message);
    }
  });
});

describe("resolveConfig", () => {
  it("without a configuration file: the built-in defaults, relative paths from the current folder, flags over them", async () => {
    const cwd = tempDir("umbra-cwd-");
    const root = tempDir("umbra-root-");
    const c = await resolveConfig(check(), cwd, root);
    expect(c.platform).toBe("hil");
    expect(c.paths.data).toBe(join(cwd, ".umbra/data"));
    const f = await resolveConfig(check({ data: "d", keys: "k.json", socket: "s.sock", report: "r", speed: "30", gatewayPort: "0", platform: "linux" }), cwd, root);
    expect(f.paths).toMatchObject({ data: join(cwd, "d"), keys: join(cwd, "k.json"), reports: join(cwd, "r") });
    expect(f.bus.socket).toBe(join(cwd, "s.sock"));
    expect(f.hil.speed).toBe(30);
    expect(f.gateway.port).toBe(0);
    expect(f.platform).toBe("linux");
  });

  it("takes --config, else config/umbra.yaml in the current folder, else the workspace's; flags override the file", async () => {
    const cwd = tempDir("umbra-cwd-");
    const root = tempDir("umbra-root-");
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config/umbra.yaml"), "hil:\n  speed: 7\ngateway:\n  port: 9001\n");
    expect((await resolveConfig(check(), cwd, root)).hil.speed).toBe(7);
    mkdirSync(join(cwd, "config"));
    writeFileSync(join(cwd, "config/umbra.yaml"), "hil:\n  speed: 8\n");
    const fromCwd = await resolveConfig(check(), cwd, root);
    expect(fromCwd.hil.speed).toBe(8);
    expect(fromCwd.source).toBe(join(cwd, "config/umbra.yaml"));
    const named = join(cwd, "mine.yaml");
    writeFileSync(named, "hil:\n  speed: 9\ngateway:\n  port: 9002\n");
    const given = await resolveConfig(check({ config: "mine.yaml", speed: "11" }), cwd, root);
    expect(given.hil.speed).toBe(11);
    expect(given.gateway.port).toBe(9002);
  });

  it("resolves relative paths in the workspace's file against the workspace when run from elsewhere, and path flags against the current folder", async () => {
    const cwd = tempDir("umbra-cwd-");
    const root = tempDir("umbra-root-");
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config/umbra.yaml"), "paths:\n  data: .umbra/data\nhil:\n  scenario: hil/scenarios/stack-demo.yaml\n");
    const c = await resolveConfig(check(), cwd, root);
    expect(c.hil.scenario).toBe(join(root, "hil/scenarios/stack-demo.yaml"));
    expect(c.paths.data).toBe(join(root, ".umbra/data"));
    const f = await resolveConfig(check({ data: "mine", scenario: "s.yaml", socket: "b.sock", keys: "k.json", report: "r" }), cwd, root);
    expect(f.paths).toMatchObject({ data: join(cwd, "mine"), keys: join(cwd, "k.json"), reports: join(cwd, "r") });
    expect(f.hil.scenario).toBe(join(cwd, "s.yaml"));
    expect(f.bus.socket).toBe(join(cwd, "b.sock"));
    // A file in the current folder keeps the documented rule: relative to where the command runs.
    mkdirSync(join(cwd, "config"));
    writeFileSync(join(cwd, "config/umbra.yaml"), "hil:\n  scenario: here.yaml\n");
    expect((await resolveConfig(check(), cwd, root)).hil.scenario).toBe(join(cwd, "here.yaml"));
  });

  it("refuses a bad configuration value from a flag as a usage error (exit 2) naming the field and the command line", async () => {
    const cwd = tempDir("umbra-cwd-");
    const cases: [Partial<RawStartOptions>, RegExp][] = [
      [{ speed: "0" }, /^command line: hil\.speed: expected a number > 0 and <= 10000, got 0$/],
      [{ platform: "mac" }, /^command line: platform: expected one of hil, linux, got "mac"$/],
      [{ tcp: "7400" }, /^command line: bus\.tcp: expected "host:port"/],
      [{ gatewayPort: "80000" }, /^command line: gateway\.port: expected a whole number 0\.\.65535, got 80000$/],
      [{ socket: `/${"x".repeat(120)}` }, /^command line: bus\.socket: .* is 121 bytes long; a Unix socket path must be at most 107/],
    ];
    for (const [over, message] of cases) {
      const err = await resolveConfig(check(over), cwd, cwd).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(over)).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode, JSON.stringify(over)).toBe(2);
      expect((err as Error).message, JSON.stringify(over)).toMatch(message);
    }
    await expect(resolveConfig(check({ config: "missing.yaml" }), cwd, cwd)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/missing\.yaml: no such file/) });
  });
});

/** A fake file system: folders with their entries, and files. */
function probe(tree: Record<string, string[]>, files: string[] = []): FsProbe {
  return { list: (dir) => tree[dir], exists: (p) => files.includes(p) || p in tree };
}

describe("missingLinuxPrerequisites", () => {
  const board = {
    "/sys/class/thermal": ["thermal_zone0", "cooling_device0"],
    "/sys/devices/system/cpu/cpufreq": ["policy0", "policy4"],
    "/sys/devices/system/cpu": ["cpu0", "cpufreq"],
    "/sys/class/hwmon": ["hwmon0"],
    "/sys/class/power_supply": ["battery"],
    "/sys/devices/system/edac/mc": ["mc0"],
  };

  it("finds nothing missing on a board with every driver", () => {
    expect(missingLinuxPrerequisites(probe(board, ["/run/umbra/illumination.json"]))).toEqual([]);
  });

  it("takes per-CPU cpufreq folders when there are no policies", () => {
    const tree = { ...board, "/sys/devices/system/cpu/cpufreq": [], "/sys/devices/system/cpu/cpu0/cpufreq": [] };
    expect(missingLinuxPrerequisites(probe(tree, ["/run/umbra/illumination.json"]))).toEqual([]);
  });

  it("names each missing interface and the service that needs it", () => {
    const missing = missingLinuxPrerequisites(probe({ "/sys/class/thermal": [], "/sys/class/power_supply": [] }));
    expect(missing.map((m) => [m.path, m.services.join(","), m.required])).toEqual([
      ["/sys/class/thermal", "thermal", true],
      ["/sys/devices/system/cpu/cpufreq", "thermal", true],
      ["/sys/class/hwmon", "inference,jobs", true],
      ["/sys/class/power_supply", "jobs", true],
      ["/sys/devices/system/edac/mc", "scrubber", false],
      ["/run/umbra/illumination.json", "jobs", false],
    ]);
    const text = describeMissing(missing);
    expect(text).toMatch(/^--platform linux: this machine lacks what the services read:\n {2}\/sys\/class\/thermal: no thermal zones \(thermal_zone\*\); needed by thermal\n/);
    expect(text).toContain("/sys/devices/system/edac/mc: no EDAC memory controllers (the scrubber reports edacOk false); needed by scrubber (warning only)");
    expect(text).toMatch(/use --platform hil for the embedded HIL environment\.$/);
    expect(describeMissing(missing.filter((m) => !m.required))).not.toMatch(/use --platform hil/);
  });

  it("stops umbra start before anything starts, exit 2, when a required one is missing", async () => {
    const cwd = tempDir("umbra-linux-");
    const out: string[] = [];
    const io = { cwd, out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) } as unknown as Io;
    const request = check({ platform: "linux", data: "data", keys: "keys.json", socket: "bus.sock", report: "reports" });
    await expect(runPayload(request, cwd, io, probe({ "/sys/class/thermal": ["thermal_zone0"] }))).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--platform linux: this machine lacks/),
    });
    // Nothing was made: no key file, no data, run or reports folder, no socket.
    expect(readdirSync(cwd)).toEqual([]);
    expect(out).toEqual([]);
  });

  it("uses another sysfs root when given", () => {
    const missing = missingLinuxPrerequisites(probe({}), "/tmp/sys");
    expect(missing[0]!.path).toBe("/tmp/sys/class/thermal");
  });
});

describe("development keys", () => {
  it("makes a key file with SPI 1 and the gateway's SPI, mode 600, once", async () => {
    const dir = tempDir("umbra-keys-");
    const file = join(dir, "sub", "keys.json");
    expect(ensureDevelopmentKeys(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readFileSync(file, "utf8");
    expect(ensureDevelopmentKeys(file)).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(before);
    const keys = await loadKeyFile(file);
    expect(keys.activeSpis()).toEqual([1, 2]);
    expect(gatewayKeyProblem(keys, 2, file)).toBeUndefined();
    // A configured gateway SPI gets its own key.
    const other = join(dir, "other.json");
    expect(ensureDevelopmentKeys(other, 5)).toBe(true);
    expect((await loadKeyFile(other)).activeSpis()).toEqual([1, 5]);
  });

  it("says what to do when the key file has no active key for the gateway", () => {
    const keys = new KeyStore([
      { spi: 1, algorithm: "hmac-sha256", state: "active", key: new Uint8Array(32).fill(1) },
      { spi: 3, algorithm: "hmac-sha256", state: "standby", key: new Uint8Array(32).fill(3) },
    ]);
    expect(gatewayKeyProblem(keys, 2, "/k.json")).toMatch(/^the gateway signs telecommands with SPI 2, and \/k\.json has no key with SPI 2: add an active key with SPI 2 to \/k\.json .*--gateway-spi.*--no-gateway$/);
    expect(gatewayKeyProblem(keys, 3, "/k.json")).toMatch(/that key in \/k\.json is standby/);
  });
});
