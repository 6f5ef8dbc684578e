// umbra start's pure parts: the flags and their checks, the services'
// command lines on each platform, what --platform linux needs, and the
// development key file.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyStore, loadKeyFile } from "@umbra/ccsds";
import { UsageError } from "../src/errors.js";
import { ensureDevelopmentKeys, gatewayKeyProblem } from "../src/start/keys.js";
import { absolutePaths, checkStartOptions, START_OPTIONS, type RawStartOptions } from "../src/start/options.js";
import { describeMissing, missingLinuxPrerequisites, serviceArgv, serviceLaunches, type FsProbe } from "../src/start/services.js";

const raw = (over: Partial<RawStartOptions> = {}): RawStartOptions => ({
  socket: "/r/.umbra/run/bus.sock",
  scenario: "/r/hil/scenarios/nominal-day.yaml",
  speed: "60",
  report: "/r/.umbra/reports",
  keys: "/r/.umbra/keys.json",
  data: "/r/.umbra/data",
  models: "tiny-cls,tiny-seg,ocr-cls",
  demo: false,
  workload: true,
  platform: "hil",
  gateway: true,
  gatewayHost: "127.0.0.1",
  gatewayPort: "8080",
  gatewaySpi: "2",
  ...over,
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("checkStartOptions", () => {
  it("keeps today's flags and adds the gateway's", () => {
    const flags = START_OPTIONS.map((o) => o.flags.split(" ")[0]);
    for (const f of ["--socket", "--tcp", "--duration", "--scenario", "--speed", "--report", "--keys", "--data", "--models", "--demo", "--no-workload"]) expect(flags).toContain(f);
    for (const f of ["--platform", "--no-gateway", "--gateway-port", "--gateway-host", "--gateway-spi", "--raw-tcp-port", "--raw-udp-port"]) expect(flags).toContain(f);
    const o = checkStartOptions(raw({ duration: "10", tcp: "127.0.0.1:7400" }));
    expect(o).toMatchObject({ speed: 60, duration: 10, tcp: "127.0.0.1:7400", platform: "hil", models: ["tiny-cls", "tiny-seg", "ocr-cls"], workload: true });
    expect(o.gateway).toEqual({ host: "127.0.0.1", port: 8080, portFallback: true, spi: 2 });
    expect(checkStartOptions(raw({ gatewayPortGiven: true, gatewayPort: "0", rawTcpPort: "10025", rawUdpPort: "0", rawUdpTmTo: "10.0.0.2:10026" })).gateway).toEqual({
      host: "127.0.0.1",
      port: 0,
      portFallback: false,
      spi: 2,
      rawTcpPort: 10025,
      rawUdpPort: 0,
      rawUdpTmTo: "10.0.0.2:10026",
    });
    expect(checkStartOptions(raw({ gateway: false })).gateway).toBeUndefined();
  });

  it("refuses bad values with the same messages as before, and the new flags' own", () => {
    const cases: [Partial<RawStartOptions>, RegExp][] = [
      [{ speed: "0" }, /^--speed must be a positive number, got 0$/],
      [{ speed: "fast" }, /^--speed must be a positive number, got fast$/],
      [{ duration: "-1" }, /^--duration must be a positive number of seconds, got -1$/],
      [{ platform: "mac" }, /^--platform must be hil or linux, got mac$/],
      [{ tcp: "7400" }, /^--tcp must be HOST:PORT/],
      [{ models: " , " }, /^--models must name at least one model/],
      [{ gatewayPort: "80000" }, /^--gateway-port must be a port number 0\.\.65535/],
      [{ gatewaySpi: "1" }, /^--gateway-spi must not be 1: the demo and the workload sign with SPI 1/],
      [{ gatewaySpi: "0" }, /^--gateway-spi must be an integer 1\.\.65534/],
      [{ rawUdpTmTo: "10.0.0.2:1" }, /^--raw-udp-tm-to needs --raw-udp-port/],
      [{ gateway: false, rawTcpPort: "1" }, /served by the gateway: drop --no-gateway/],
      [{ socket: `/${"x".repeat(120)}` }, /^--socket: .*longer than 107 bytes/],
    ];
    for (const [over, message] of cases) {
      expect(() => checkStartOptions(raw(over)), JSON.stringify(over)).toThrow(UsageError);
      expect(() => checkStartOptions(raw(over)), JSON.stringify(over)).toThrow(message);
    }
  });

  it("takes relative paths from the current folder", () => {
    const o = absolutePaths(checkStartOptions(raw({ data: "d", keys: "k.json", socket: "s.sock", report: "r", scenario: "x.yaml" })), "/home/op");
    expect(o).toMatchObject({ data: "/home/op/d", keys: "/home/op/k.json", socket: "/home/op/s.sock", report: "/home/op/r", scenario: "/home/op/x.yaml" });
  });
});

describe("serviceLaunches", () => {
  it("hil: every service on the HIL platform, the job runner told the emulated battery", () => {
    const launches = serviceLaunches({ platform: "hil", data: "/d", models: ["tiny-cls", "ocr-cls"], battery: { capacityWh: 100, dodFloorPct: 20 } });
    expect(launches.map((l) => l.name)).toEqual(["counter", "inference", "scrubber", "thermal", "jobs"]);
    expect(launches.map((l) => serviceArgv("/r", "/s.sock", l))).toEqual([
      ["/r/examples/counter-service/dist/main.js", "unix:/s.sock"],
      ["/r/packages/inference/dist/main.js", "unix:/s.sock", "--platform", "hil", "--data", "/d/inference", "--models", "tiny-cls,ocr-cls"],
      ["/r/packages/scrubber/dist/main.js", "unix:/s.sock", "--platform", "hil"],
      ["/r/packages/thermal/dist/main.js", "unix:/s.sock", "--platform", "hil"],
      ["/r/packages/jobs/dist/main.js", "unix:/s.sock", "--platform", "hil", "--data", "/d/jobs", "--battery-capacity-wh", "100", "--dod-floor-pct", "20"],
    ]);
  });

  it("linux: --platform linux and no emulated battery", () => {
    const launches = serviceLaunches({ platform: "linux", data: "/var/lib/umbra", models: ["tiny-cls"], battery: { capacityWh: 100, dodFloorPct: 20 } });
    const argv = Object.fromEntries(launches.map((l) => [l.name, l.args]));
    expect(argv["counter"]).toEqual([]);
    expect(argv["inference"]).toEqual(["--platform", "linux", "--data", "/var/lib/umbra/inference", "--models", "tiny-cls"]);
    expect(argv["scrubber"]).toEqual(["--platform", "linux"]);
    expect(argv["thermal"]).toEqual(["--platform", "linux"]);
    expect(argv["jobs"]).toEqual(["--platform", "linux", "--data", "/var/lib/umbra/jobs"]);
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
  });

  it("stops umbra start before anything starts, exit 2, when a required one is missing", async () => {
    const { runStack } = await import("../src/start/stack.js");
    const dir = mkdtempSync(join(tmpdir(), "umbra-linux-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const options = checkStartOptions(raw({ platform: "linux", data: join(dir, "data"), keys: join(dir, "keys.json"), socket: join(dir, "bus.sock") }));
    await expect(runStack(options, "/r", probe({ "/sys/class/thermal": ["thermal_zone0"] }))).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--platform linux: this machine lacks/) });
    // Nothing was made: no key file, no data folder, no socket.
    expect(() => statSync(join(dir, "keys.json"))).toThrow();
    expect(() => statSync(join(dir, "data"))).toThrow();
  });

  it("uses another sysfs root when given", () => {
    const missing = missingLinuxPrerequisites(probe({}), "/tmp/sys");
    expect(missing[0]!.path).toBe("/tmp/sys/class/thermal");
  });
});

describe("development keys", () => {
  it("makes a key file with SPI 1 and the gateway's SPI, mode 600, once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-keys-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "sub", "keys.json");
    expect(ensureDevelopmentKeys(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readFileSync(file, "utf8");
    expect(ensureDevelopmentKeys(file)).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(before);
    const keys = await loadKeyFile(file);
    expect(keys.activeSpis()).toEqual([1, 2]);
    expect(gatewayKeyProblem(keys, 2, file)).toBeUndefined();
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
