import { afterEach, describe, expect, it } from "vitest";
import { LinuxEdac, LinuxThermalZones, createLinuxPlatform } from "../src/index.js";
import { boardTree, fifo, file, makeTree, type FakeTree } from "./support/fake-tree.js";
import { expectPlatformError, faultyFs, isRoot } from "./support/fs-faults.js";

let tree: FakeTree;
afterEach(async () => {
  await tree?.cleanup();
});

const zonePath = (t: FakeTree, zone: string, f: string) => t.path(`sys/class/thermal/${zone}/${f}`);

describe("linux thermal zones", () => {
  it("lists zones with their types and reads °C from millidegrees", async () => {
    tree = await makeTree(boardTree());
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    expect(await thermal.zones()).toEqual([
      { zone: "thermal_zone0", type: "cpu-thermal" },
      { zone: "thermal_zone1", type: "gpu-thermal" },
    ]);
    expect(await thermal.readCelsius("thermal_zone0")).toBe(45.25);
    expect(await thermal.readCelsius("thermal_zone1")).toBe(-5);
  });

  it("orders zones by number (thermal_zone10 after thermal_zone2)", async () => {
    tree = await makeTree({ sys: { class: { thermal: Object.fromEntries([0, 10, 2, 1].map((n) => [`thermal_zone${n}`, { type: `z${n}\n`, temp: "1000\n" }])) } } });
    const zones = await new LinuxThermalZones({ sysRoot: tree.sysRoot }).zones();
    expect(zones.map((z) => z.zone)).toEqual(["thermal_zone0", "thermal_zone1", "thermal_zone2", "thermal_zone10"]);
  });

  it("comes from createLinuxPlatform with kind linux", async () => {
    tree = await makeTree(boardTree());
    const platform = createLinuxPlatform({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    expect(platform.kind).toBe("linux");
    expect(await platform.thermal.readCelsius("thermal_zone0")).toBe(45.25);
    await platform.close();
  });

  const badTemps: [string, string][] = [
    ["", "file is empty"],
    ["\n", "file is blank"],
    ["abc\n", 'not an integer: "abc"'],
    ["12x\n", 'not an integer: "12x"'],
    ["NaN\n", 'not an integer: "NaN"'],
    ["45.5\n", 'not an integer: "45.5"'],
    ["123456789012345678901234567890\n", "temperature 12345678901234567890… (raw) °C is outside -100..250 °C"],
    ["300000\n", "temperature 300 °C is outside -100..250 °C"],
    ["-150000\n", "temperature -150 °C is outside -100..250 °C"],
  ];
  for (const [content, reason] of badTemps) {
    it(`rejects temp ${JSON.stringify(content)}: ${reason}`, async () => {
      tree = await makeTree(boardTree());
      await tree.set("sys/class/thermal/thermal_zone0/temp", content);
      const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
      await expectPlatformError(thermal.readCelsius("thermal_zone0"), { port: "thermal", source: zonePath(tree, "thermal_zone0", "temp"), reason });
    });
  }

  it("rejects a missing temp file, an unknown zone and a zone name that would leave the folder", async () => {
    tree = await makeTree(boardTree());
    await tree.remove("sys/class/thermal/thermal_zone1/temp");
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    await expectPlatformError(thermal.readCelsius("thermal_zone1"), { port: "thermal", source: zonePath(tree, "thermal_zone1", "temp"), reason: "file is missing (ENOENT)" });
    await expectPlatformError(thermal.readCelsius("thermal_zone7"), { port: "thermal", source: zonePath(tree, "thermal_zone7", "temp"), reason: "file is missing (ENOENT)" });
    await expectPlatformError(thermal.readCelsius("../../../etc/passwd"), {
      port: "thermal",
      source: tree.path("sys/class/thermal"),
      reason: 'unknown zone: "../../../etc/passwd" is not a thermal_zoneN name',
    });
  });

  it("rejects a directory where the temp file should be", async () => {
    tree = await makeTree(boardTree());
    await tree.remove("sys/class/thermal/thermal_zone0/temp");
    await tree.add("sys/class/thermal/thermal_zone0/temp", { inner: "1" });
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    await expectPlatformError(thermal.readCelsius("thermal_zone0"), { port: "thermal", source: zonePath(tree, "thermal_zone0", "temp"), reason: "is a directory, expected a file (EISDIR)" });
  });

  it("rejects a file it may not read (injected EACCES, and mode 000 when not root)", async () => {
    tree = await makeTree(boardTree());
    const path = zonePath(tree, "thermal_zone0", "temp");
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot, fs: faultyFs({ open: { [path]: "EACCES" } }) });
    await expectPlatformError(thermal.readCelsius("thermal_zone0"), { port: "thermal", source: path, reason: "permission denied (EACCES)" });
    const eio = new LinuxThermalZones({ sysRoot: tree.sysRoot, fs: faultyFs({ read: { [path]: "EIO" } }) });
    await expectPlatformError(eio.readCelsius("thermal_zone0"), { port: "thermal", source: path, reason: "EIO: EIO: injected, read" });
  });

  it.skipIf(isRoot)("rejects a mode-000 temp file", async () => {
    tree = await makeTree(boardTree());
    await tree.remove("sys/class/thermal/thermal_zone0/temp");
    await tree.add("sys/class/thermal/thermal_zone0", { temp: file("45000\n", 0o000) });
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    await expectPlatformError(thermal.readCelsius("thermal_zone0"), { port: "thermal", source: zonePath(tree, "thermal_zone0", "temp"), reason: "permission denied (EACCES)" });
  });

  it("rejects a zone whose type is unreadable or not printable, and a missing thermal class", async () => {
    tree = await makeTree(boardTree());
    await tree.set("sys/class/thermal/thermal_zone1/type", "gpu\u0007\n");
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    await expectPlatformError(thermal.zones(), {
      port: "thermal",
      source: zonePath(tree, "thermal_zone1", "type"),
      reason: 'name has characters that are not printable ASCII: "gpu\\u0007"',
    });
    await tree.remove("sys/class/thermal");
    await expectPlatformError(thermal.zones(), { port: "thermal", source: tree.path("sys/class/thermal"), reason: "directory is missing (ENOENT)" });
  });

  it("does not hang on a FIFO where the attribute should be", async () => {
    tree = await makeTree(boardTree());
    await tree.remove("sys/class/thermal/thermal_zone0/temp");
    await tree.add("sys/class/thermal/thermal_zone0", { temp: fifo() });
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    await expectPlatformError(thermal.readCelsius("thermal_zone0"), { port: "thermal", source: zonePath(tree, "thermal_zone0", "temp"), reason: "file is empty" });
  });

  it("refuses a file too large to be a sysfs attribute", async () => {
    tree = await makeTree(boardTree());
    await tree.set("sys/class/thermal/thermal_zone0/temp", "1".repeat(70_000));
    const thermal = new LinuxThermalZones({ sysRoot: tree.sysRoot });
    await expectPlatformError(thermal.readCelsius("thermal_zone0"), {
      port: "thermal",
      source: zonePath(tree, "thermal_zone0", "temp"),
      reason: "file is larger than 65536 bytes; not a sysfs attribute",
    });
  });
});

describe("linux EDAC", () => {
  it("reads each controller's counters exactly, as bigint", async () => {
    tree = await makeTree(boardTree());
    expect(await new LinuxEdac({ sysRoot: tree.sysRoot }).read()).toEqual([
      { controller: "mc0", correctable: 3n, uncorrectable: 0n },
      { controller: "mc1", correctable: 2n ** 64n - 1n, uncorrectable: 1n },
    ]);
  });

  it("gives [] for an EDAC folder without controllers, and an error without EDAC", async () => {
    tree = await makeTree({ sys: { devices: { system: { edac: { mc: { power: {} } } } } } });
    const edac = new LinuxEdac({ sysRoot: tree.sysRoot });
    expect(await edac.read()).toEqual([]);
    await tree.remove("sys/devices/system/edac");
    await expectPlatformError(edac.read(), { port: "edac", source: tree.path("sys/devices/system/edac/mc"), reason: "directory is missing (ENOENT)" });
  });

  const bad: [string, string, string][] = [
    ["ce_count", "-1\n", 'not an unsigned integer: "-1"'],
    ["ce_count", "abc\n", 'not an unsigned integer: "abc"'],
    ["ue_count", "12x\n", 'not an unsigned integer: "12x"'],
    ["ue_count", "", "file is empty"],
    ["ue_count", "18446744073709551616\n", "counter 18446744073709551616 exceeds 2^64-1"],
  ];
  for (const [name, content, reason] of bad) {
    it(`rejects ${name} ${JSON.stringify(content)}`, async () => {
      tree = await makeTree(boardTree());
      await tree.set(`sys/devices/system/edac/mc/mc1/${name}`, content);
      await expectPlatformError(new LinuxEdac({ sysRoot: tree.sysRoot }).read(), { port: "edac", source: tree.path(`sys/devices/system/edac/mc/mc1/${name}`), reason });
    });
  }

  it("rejects a missing counter and a permission error", async () => {
    tree = await makeTree(boardTree());
    await tree.remove("sys/devices/system/edac/mc/mc0/ue_count");
    await expectPlatformError(new LinuxEdac({ sysRoot: tree.sysRoot }).read(), {
      port: "edac",
      source: tree.path("sys/devices/system/edac/mc/mc0/ue_count"),
      reason: "file is missing (ENOENT)",
    });
    const dir = tree.path("sys/devices/system/edac/mc");
    await expectPlatformError(new LinuxEdac({ sysRoot: tree.sysRoot, fs: faultyFs({ readdir: { [dir]: "EACCES" } }) }).read(), {
      port: "edac",
      source: dir,
      reason: "permission denied (EACCES)",
    });
  });
});
