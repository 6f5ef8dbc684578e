import { describe, expect, it } from "vitest";
import { SERVICE_NAMES, defaultPayloadConfig, parsePayloadConfig, type PayloadConfig } from "../src/config/index.js";
import { adminTokenFile, gatewayStatusFile, launchSpec } from "../src/launch-plan.js";

const CWD = "/srv/umbra";
const defaults = (): PayloadConfig => defaultPayloadConfig({ cwd: CWD });
const parse = (yaml: string): PayloadConfig => parsePayloadConfig(yaml, "test.yaml", { cwd: CWD });

describe("launchSpec with the default configuration (hil)", () => {
  const config = defaults();
  const bus = `unix:${config.bus.socket}`;

  it("the defaults are what these expectations assume", () => {
    expect(config.platform).toBe("hil");
    expect(config.paths.data).toBe("/srv/umbra/.umbra/data");
    expect(config.bus.socket).toBe("/srv/umbra/.umbra/run/bus.sock");
    expect(config.gateway.port).toBe(8080);
  });

  it("ttc: bus, platform, data and keys", () => {
    expect(launchSpec(config, "ttc")).toEqual({
      name: "ttc",
      main: "packages/ttc/dist/main.js",
      args: [bus, "--platform", "hil", "--data", "/srv/umbra/.umbra/data", "--keys", "/srv/umbra/.umbra/keys.json"],
      env: {},
    });
  });

  it("thermal and scrubber: bus and platform", () => {
    expect(launchSpec(config, "thermal")).toEqual({ name: "thermal", main: "packages/thermal/dist/main.js", args: [bus, "--platform", "hil"], env: {} });
    expect(launchSpec(config, "scrubber")).toEqual({ name: "scrubber", main: "packages/scrubber/dist/main.js", args: [bus, "--platform", "hil"], env: {} });
  });

  it("inference: its own data folder and the models, comma-separated", () => {
    expect(launchSpec(config, "inference")).toEqual({
      name: "inference",
      main: "packages/inference/dist/main.js",
      args: [bus, "--platform", "hil", "--data", "/srv/umbra/.umbra/data/inference", "--models", "tiny-cls,tiny-seg,ocr-cls"],
      env: {},
    });
  });

  it("jobs: its own data folder", () => {
    expect(launchSpec(config, "jobs").args).toEqual([bus, "--platform", "hil", "--data", "/srv/umbra/.umbra/data/jobs"]);
  });

  it("gateway: keys, SPI, source id, host and port with fallback, token and status files, the tone clock on hil", () => {
    const g = launchSpec(config, "gateway");
    expect(g.main).toBe("packages/gateway/dist/main.js");
    expect(g.args).toEqual([
      bus,
      "--data",
      "/srv/umbra/.umbra/data/gateway",
      "--keys",
      "/srv/umbra/.umbra/keys.json",
      "--spi",
      "2",
      "--source-id",
      "33",
      "--host",
      "127.0.0.1",
      "--port",
      "8080",
      "--admin-token-file",
      "/srv/umbra/.umbra/data/gateway/admin-token",
      "--status-file",
      "/srv/umbra/.umbra/run/gateway.json",
      "--port-fallback",
      "--clock",
      "tone",
    ]);
    expect(g.args).not.toContain("--platform");
    expect(g.args).not.toContain("--raw-tcp");
    expect(g.args).not.toContain("--raw-udp");
    expect(adminTokenFile(config)).toBe("/srv/umbra/.umbra/data/gateway/admin-token");
    expect(gatewayStatusFile(config)).toBe("/srv/umbra/.umbra/run/gateway.json");
  });

  it("counter: the bus, and on the HIL platform the HIL's time tones for its clock", () => {
    expect(launchSpec(config, "counter")).toEqual({ name: "counter", main: "examples/counter-service/dist/main.js", args: [bus, "--clock", "tone"], env: {} });
    expect(launchSpec({ ...config, platform: "linux" }, "counter").args).toEqual([bus]);
  });

  it("every service has a main under dist and the bus as its first argument; no env without parameters or APID", () => {
    for (const name of SERVICE_NAMES) {
      const s = launchSpec(config, name);
      expect(s.name).toBe(name);
      expect(s.main).toMatch(/\/dist\/main\.js$/);
      expect(s.args[0]).toBe(bus);
      expect(s.env).toEqual({});
    }
  });
});

describe("launchSpec with a configuration file", () => {
  const config = parse(`
platform: linux
paths: { data: /var/lib/umbra, run: /run/umbra, keys: /etc/umbra/keys.json }
bus: { socket: /run/umbra/bus.sock }
services:
  ttc: { apid: 0x011 }
  inference:
    parameters: { canaryIntervalS: 600, mode: tmr, strict: true }
  jobs:
    apid: 0x061
    args: [--log-level, debug]
    parameters: { maxConcurrent: 2 }
inference: { models: [ocr-cls] }
gateway: { host: 0.0.0.0, port: 0, spi: 7, sourceId: 0, rawTcpPort: 7500, rawUdpPort: 7501 }
`);

  it("the platform comes from the file", () => {
    expect(launchSpec(config, "thermal").args).toEqual(["unix:/run/umbra/bus.sock", "--platform", "linux"]);
  });

  it("UMBRA_APID only for a service whose APID is configured", () => {
    expect(launchSpec(config, "ttc").env).toEqual({ UMBRA_APID: "17" });
    expect(launchSpec(config, "jobs").env["UMBRA_APID"]).toBe("97");
    expect(launchSpec(config, "thermal").env).not.toHaveProperty("UMBRA_APID");
    expect(launchSpec(config, "inference").env).not.toHaveProperty("UMBRA_APID");
  });

  it("configured parameters in UMBRA_PARAMETERS, typed", () => {
    expect(JSON.parse(launchSpec(config, "inference").env["UMBRA_PARAMETERS"]!)).toEqual({ canaryIntervalS: 600, mode: "tmr", strict: true });
  });

  it("persisted parameters over configured ones, the others kept", () => {
    const env = launchSpec(config, "inference", { mode: "duplex", canaryIntervalS: 60 }).env;
    expect(JSON.parse(env["UMBRA_PARAMETERS"]!)).toEqual({ canaryIntervalS: 60, mode: "duplex", strict: true });
  });

  it("persisted parameters alone (none configured) still reach the service", () => {
    expect(JSON.parse(launchSpec(config, "thermal", { setpointC: 40.5 }).env["UMBRA_PARAMETERS"]!)).toEqual({ setpointC: 40.5 });
    expect(launchSpec(config, "thermal", {}).env).toEqual({});
  });

  it("extra args from the file come after the service's own", () => {
    const s = launchSpec(config, "jobs");
    expect(s.args).toEqual(["unix:/run/umbra/bus.sock", "--platform", "linux", "--data", "/var/lib/umbra/jobs", "--log-level", "debug"]);
    expect(JSON.parse(s.env["UMBRA_PARAMETERS"]!)).toEqual({ maxConcurrent: 2 });
  });

  it("the models configured", () => {
    const a = launchSpec(config, "inference").args;
    expect(a.slice(a.indexOf("--models"), a.indexOf("--models") + 2)).toEqual(["--models", "ocr-cls"]);
  });

  it("gateway: port 0 means no --port-fallback; raw ports passed; no tone clock on linux", () => {
    const a = launchSpec(config, "gateway").args;
    expect(a).toEqual([
      "unix:/run/umbra/bus.sock",
      "--data",
      "/var/lib/umbra/gateway",
      "--keys",
      "/etc/umbra/keys.json",
      "--spi",
      "7",
      "--source-id",
      "0",
      "--host",
      "0.0.0.0",
      "--port",
      "0",
      "--admin-token-file",
      "/var/lib/umbra/gateway/admin-token",
      "--status-file",
      "/run/umbra/gateway.json",
      "--raw-tcp",
      "7500",
      "--raw-udp",
      "7501",
    ]);
    expect(a).not.toContain("--port-fallback");
    expect(a).not.toContain("--clock");
  });

  it("gateway: only the raw port configured is passed", () => {
    const c = parse("gateway: { rawUdpPort: 9000 }\n");
    const a = launchSpec(c, "gateway").args;
    expect(a).toContain("--raw-udp");
    expect(a[a.indexOf("--raw-udp") + 1]).toBe("9000");
    expect(a).not.toContain("--raw-tcp");
    expect(a).toContain("--port-fallback");
    expect(a.slice(-2)).toEqual(["--clock", "tone"]);
  });

  it("does not change the configuration it was given", () => {
    const before = JSON.stringify(config);
    launchSpec(config, "inference", { mode: "duplex" });
    launchSpec(config, "jobs");
    expect(JSON.stringify(config)).toBe(before);
  });
});
