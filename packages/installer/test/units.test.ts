// The systemd units as shipped: parsed and checked against the bundle's
// layout, the supervisor's real flags and exit codes, the installer's
// commands, and the board's default configuration; and, where
// systemd-analyze is installed, accepted by systemd itself with no warning.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { USAGE as INSTALLER_USAGE } from "../src/cli.js";
import { DEFAULT_LAYOUT } from "../src/layout.js";
import { execStartArgv, parseUnit, relocate, unitValue, unitValues } from "../src/units.js";
import { ASSETS, INSTALLER_ROOT } from "./fixtures.js";

const unitText = (name: string) => readFileSync(join(ASSETS, "systemd", name), "utf8");
const main = parseUnit(unitText("umbra.service"));
const rollback = parseUnit(unitText("umbra-rollback.service"));
const prove = parseUnit(unitText("umbra-prove.service"));
const supervisorMain = readFileSync(join(INSTALLER_ROOT, "../supervisor/src/main.ts"), "utf8");
const supervisorIndex = readFileSync(join(INSTALLER_ROOT, "../supervisor/src/index.ts"), "utf8");
const board = readFileSync(join(ASSETS, "umbra.yaml"), "utf8");

const tmp = mkdtempSync(join(tmpdir(), "umbra-units-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("umbra.service", () => {
  it("runs the current release's supervisor with the bundled node, the board's config and the release's app as root", () => {
    expect(unitValue(main, "Service", "ExecStart")).toBe(
      "/opt/umbra/current/node/bin/node /opt/umbra/current/app/packages/supervisor/dist/main.js --config /etc/umbra/umbra.yaml --root /opt/umbra/current/app",
    );
    const argv = execStartArgv(main);
    // The bundle layout: node/bin/node, app/packages/<name>/dist/main.js.
    expect(argv[0]).toMatch(/^\/opt\/umbra\/current\/node\/bin\/node$/);
    expect(argv[1]).toMatch(/^\/opt\/umbra\/current\/app\/packages\/supervisor\/dist\/main\.js$/);
    // The supervisor's real flags.
    const usage = /const USAGE = `([^`]*)`/.exec(supervisorMain)![1]!;
    for (const flag of argv.filter((a) => a.startsWith("--"))) expect(usage, flag).toContain(flag);
    expect(supervisorMain).toMatch(/parseArgs\(\{ options: \{ config: \{ type: "string" \}, root: \{ type: "string" \}/);
  });

  it("restarts on everything but a configuration error; a commanded reset (75) restarts and is not a failure", () => {
    expect(supervisorIndex).toMatch(/RESET_EXIT_CODE = 75/);
    expect(supervisorMain).toMatch(/return 2;/);
    expect(unitValue(main, "Service", "Restart")).toBe("always");
    expect(Number(unitValue(main, "Service", "RestartSec"))).toBeGreaterThan(0);
    expect(unitValue(main, "Service", "SuccessExitStatus")?.split(/\s+/)).toContain("75");
    expect(unitValue(main, "Service", "RestartPreventExitStatus")?.split(/\s+/)).toContain("2");
    expect(Number(unitValue(main, "Unit", "StartLimitIntervalSec"))).toBeGreaterThanOrEqual(300);
    expect(Number(unitValue(main, "Unit", "StartLimitBurst"))).toBeGreaterThanOrEqual(3);
    expect(unitValue(main, "Unit", "OnFailure")).toBe("umbra-rollback.service");
    expect(unitValue(main, "Unit", "Wants")).toBe("umbra-prove.service");
    expect(unitValue(main, "Install", "WantedBy")).toBe("multi-user.target");
    // The supervisor stops its own services: SIGTERM to it alone first.
    expect(unitValue(main, "Service", "KillMode")).toBe("mixed");
  });

  it("is Type=notify with a watchdog that fits the board's kick interval and hardware timeout", () => {
    expect(unitValue(main, "Service", "Type")).toBe("notify");
    expect(unitValue(main, "Service", "NotifyAccess")).toBe("all"); // the messages come from a systemd-notify child
    const watchdogSec = Number(unitValue(main, "Service", "WatchdogSec"));
    const kick = Number(/^\s+kickIntervalS:\s*(\d+)/m.exec(board)![1]);
    const hardware = Number(/^\s+timeoutS:\s*(\d+)/m.exec(board)![1]);
    expect(watchdogSec).toBeGreaterThanOrEqual(2 * kick);
    expect(watchdogSec).toBeLessThan(hardware);
  });

  it("is hardened, yet reaches /dev/watchdog, sysfs, and the state and runtime folders the board config names", () => {
    expect(unitValue(main, "Service", "ProtectSystem")).toBe("strict");
    expect(unitValue(main, "Service", "NoNewPrivileges")).toBe("yes");
    expect(unitValue(main, "Service", "DevicePolicy")).toBe("closed");
    expect(unitValues(main, "Service", "DeviceAllow")).toEqual(["/dev/watchdog rw", "/dev/watchdog0 rw"]);
    expect(unitValue(main, "Service", "ProtectKernelTunables")).toBe("no"); // cpufreq's scaling_max_freq is written
    expect(unitValue(main, "Service", "PrivateDevices")).toBeUndefined();
    expect(unitValue(main, "Service", "MemoryDenyWriteExecute")).toBeUndefined(); // V8's JIT
    const writable = unitValue(main, "Service", "ReadWritePaths")!.split(/\s+/);
    for (const field of ["data", "run", "reports"]) {
      const p = new RegExp(`^\\s+${field}:\\s*(\\S+)`, "m").exec(board)![1]!;
      expect(writable.some((w) => p === w || p.startsWith(`${w}/`)), `${field} ${p}`).toBe(true);
    }
    expect(unitValue(main, "Service", "StateDirectory")).toBe("umbra");
    expect(unitValue(main, "Service", "RuntimeDirectory")).toBe("umbra");
  });
});

describe("umbra-rollback.service and umbra-prove.service", () => {
  it("run the installer wrapper with commands and flags the installer has", () => {
    expect(unitValue(rollback, "Service", "Type")).toBe("oneshot");
    expect(unitValue(rollback, "Service", "ExecStart")).toBe("/opt/umbra/bin/umbra-install rollback --if-unproven --health-timeout 180");
    expect(unitValue(rollback, "Service", "Environment")).toBe("UMBRA_INSTALL_PREFER=previous");
    expect(unitValue(prove, "Service", "ExecStart")).toBe("/opt/umbra/bin/umbra-install prove --health-timeout 600 --health-hold 60");
    expect(unitValue(prove, "Unit", "After")).toBe("umbra.service");
    for (const u of [rollback, prove]) {
      const [bin, cmd, ...flags] = execStartArgv(u);
      expect(bin).toBe(`${DEFAULT_LAYOUT.prefix}/bin/umbra-install`);
      expect(INSTALLER_USAGE).toMatch(new RegExp(`^  ${cmd} `, "m"));
      for (const f of flags.filter((a) => a.startsWith("--"))) expect(INSTALLER_USAGE, f).toContain(f);
    }
    // The wait must fit in the oneshot's start timeout.
    expect(Number(unitValue(rollback, "Service", "TimeoutStartSec"))).toBeGreaterThan(180 + 60);
    expect(Number(unitValue(prove, "Service", "TimeoutStartSec"))).toBeGreaterThan(600 + 60);
  });

  it("relocate() rewrites every default path for another layout, and only whole paths", () => {
    const l = { prefix: "/data/umbra", etc: "/data/etc", state: "/data/state", unitDir: null };
    const text = relocate(`${unitText("umbra.service")}\nX=/opt/umbrella /etc/umbra.d /var/lib/umbra\n`, l);
    expect(text).not.toMatch(/\/opt\/umbra[/\s]|\/etc\/umbra\/|\/var\/lib\/umbra\s/);
    expect(text).toContain("ExecStart=/data/umbra/current/node/bin/node /data/umbra/current/app/packages/supervisor/dist/main.js --config /data/etc/umbra.yaml --root /data/umbra/current/app");
    expect(text).toContain("X=/opt/umbrella /etc/umbra.d /data/state");
  });
});

describe("systemd itself", () => {
  const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
  it.runIf(analyze)("systemd-analyze verify accepts the units without a warning", () => {
    // Relocated into a temporary prefix where the executables exist, as systemd checks them.
    const l = { prefix: join(tmp, "opt"), etc: join(tmp, "etc"), state: join(tmp, "state"), unitDir: join(tmp, "units") };
    mkdirSync(join(l.prefix, "current/node/bin"), { recursive: true });
    mkdirSync(join(l.prefix, "bin"), { recursive: true });
    mkdirSync(l.unitDir, { recursive: true });
    for (const exe of ["current/node/bin/node", "bin/umbra-install"]) {
      writeFileSync(join(l.prefix, exe), "#!/bin/sh\n");
      chmodSync(join(l.prefix, exe), 0o755);
    }
    const names = readdirSync(join(ASSETS, "systemd"));
    for (const n of names) writeFileSync(join(l.unitDir, n), relocate(unitText(n), l));
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...names.map((n) => `./${n}`)], { cwd: l.unitDir, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
