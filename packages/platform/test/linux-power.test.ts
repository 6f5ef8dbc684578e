import { rename } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { LinuxPower, createLinuxPlatform } from "../src/index.js";
import { boardTree, link, makeTree, type FakeTree } from "./support/fake-tree.js";
import { expectPlatformError, faultyFs } from "./support/fs-faults.js";

let tree: FakeTree;
afterEach(async () => {
  await tree?.cleanup();
});

const H = "sys/class/hwmon";
const S = "sys/class/power_supply";

describe("linux power: discovery and configuration", () => {
  it("by default reads the one INA-family monitor's in1/curr1/power1 and the Battery supply", async () => {
    tree = await makeTree(boardTree());
    const power = new LinuxPower({ sysRoot: tree.sysRoot });
    expect(await power.read()).toEqual({ busVoltageV: 12.034, busCurrentA: 1.52, inputPowerW: 18.3, batterySocPct: 87 });
    expect(await power.resolve()).toEqual({
      voltage: tree.path(`${H}/hwmon1/in1_input`),
      current: tree.path(`${H}/hwmon1/curr1_input`),
      inputPower: tree.path(`${H}/hwmon1/power1_input`),
      capacity: tree.path(`${S}/battery/capacity`),
    });
  });

  it("selects a hwmon by name, by hwmonN or by its device, per channel too", async () => {
    tree = await makeTree(boardTree());
    await tree.add(H, {
      hwmon2: { name: "ina226\n", in1_input: "28000\n", power1_input: "95000000\n", device: link("../../../devices/i2c-1/1-0041") },
    });
    const root = { sysRoot: tree.sysRoot };
    expect((await new LinuxPower(root, { hwmon: "ina226" }).resolve()).voltage).toBe(tree.path(`${H}/hwmon2/in1_input`));
    expect((await new LinuxPower(root, { hwmon: "hwmon2" }).resolve()).voltage).toBe(tree.path(`${H}/hwmon2/in1_input`));
    expect((await new LinuxPower(root, { hwmon: "1-0040" }).resolve()).voltage).toBe(tree.path(`${H}/hwmon1/in1_input`));
    // Payload bus on the INA219, solar input on the INA226, shunt channel instead of bus voltage.
    const mixed = new LinuxPower(root, { hwmon: "1-0040", voltage: "in0", inputPower: "1-0041/power1", battery: "battery" });
    expect(await mixed.read()).toEqual({ busVoltageV: 0.012, busCurrentA: 1.52, inputPowerW: 95, batterySocPct: 87 });
  });

  it("inverts the current when told the shunt is wired the other way", async () => {
    tree = await makeTree(boardTree());
    expect((await new LinuxPower({ sysRoot: tree.sysRoot }, { invertCurrent: true }).read()).busCurrentA).toBe(-1.52);
    await tree.set(`${H}/hwmon1/curr1_input`, "0\n");
    expect(Object.is((await new LinuxPower({ sysRoot: tree.sysRoot }, { invertCurrent: true }).read()).busCurrentA, 0)).toBe(true);
  });

  it("refuses to guess between two monitors of one kind, or a name two devices share", async () => {
    tree = await makeTree(boardTree());
    await tree.add(H, { hwmon2: { name: "ina219\n", in1_input: "5000\n", device: link("../../../devices/i2c-1/1-0041") } });
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }).read(), {
      port: "power",
      source: tree.path(H),
      reason: "several ina219 monitors (hwmon1 (device 1-0040), hwmon2 (device 1-0041)); set options.power.hwmon",
    });
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }, { hwmon: "ina219" }).read(), {
      port: "power",
      source: tree.path(H),
      reason: 'hwmon "ina219" is ambiguous: hwmon1 (device 1-0040), hwmon2 (device 1-0041); name the device instead',
    });
    expect((await new LinuxPower({ sysRoot: tree.sysRoot }, { hwmon: "1-0041" }).resolve()).voltage).toBe(tree.path(`${H}/hwmon2/in1_input`));
  });

  it("says what it found when there is no power monitor, no such hwmon, or no battery", async () => {
    tree = await makeTree(boardTree());
    await tree.remove(`${H}/hwmon1`);
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }).read(), {
      port: "power",
      source: tree.path(H),
      reason: 'no power monitor found (looked for ina219, ina226, ina230, ina231, ina238, ina260, ina209, ina3221; found hwmon0 ("cpu_thermal")); set options.power.hwmon',
    });
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }, { hwmon: "ina260" }).read(), {
      port: "power",
      source: tree.path(H),
      reason: 'no hwmon device "ina260" (found hwmon0 ("cpu_thermal"))',
    });
    await tree.cleanup();
    tree = await makeTree(boardTree());
    await tree.remove(`${S}/battery`);
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }).read(), {
      port: "power",
      source: tree.path(S),
      reason: 'no power_supply of type "Battery" (found ac ("Mains")); set options.power.battery',
    });
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }, { battery: "BAT0" }).read(), {
      port: "power",
      source: tree.path(`${S}/BAT0/capacity`),
      reason: "file is missing (ENOENT)",
    });
  });

  it("finds the devices again after hwmon is renumbered", async () => {
    tree = await makeTree(boardTree());
    const power = new LinuxPower({ sysRoot: tree.sysRoot });
    await power.read();
    await rename(tree.path(`${H}/hwmon1`), tree.path(`${H}/hwmon7`));
    await expectPlatformError(power.read(), { port: "power", source: tree.path(`${H}/hwmon1/in1_input`), reason: "file is missing (ENOENT)" });
    expect((await power.read()).busVoltageV).toBe(12.034);
  });

  it("rejects bad options at construction", () => {
    expect(() => new LinuxPower({}, { voltage: "curr1" })).toThrow('linux platform: options.power.voltage must be "inN" or "<hwmon>/inN", got "curr1"');
    expect(() => new LinuxPower({}, { current: "../../etc/curr1" })).toThrow(/options\.power\.current must be/);
    expect(() => new LinuxPower({}, { inputPower: "power" })).toThrow(/options\.power\.inputPower must be/);
    expect(() => new LinuxPower({}, { hwmon: "a/b" })).toThrow(/options\.power\.hwmon must be/);
    expect(() => new LinuxPower({}, { battery: "../BAT0" })).toThrow(/options\.power\.battery must be/);
    expect(() => createLinuxPlatform({ sysRoot: "relative/sys" })).toThrow('linux platform: options.sysRoot must be an absolute path, got "relative/sys"');
  });
});

describe("linux power: bad readings", () => {
  const cases: [string, string, string][] = [
    [`${H}/hwmon1/in1_input`, "", "file is empty"],
    [`${H}/hwmon1/in1_input`, "abc\n", 'not an integer: "abc"'],
    [`${H}/hwmon1/in1_input`, "-12000\n", "bus voltage -12 V is outside 0..1000 V"],
    [`${H}/hwmon1/in1_input`, "12.0\n", 'not an integer: "12.0"'],
    [`${H}/hwmon1/curr1_input`, "12x\n", 'not an integer: "12x"'],
    [`${H}/hwmon1/curr1_input`, "2000000\n", "bus current 2000 A is outside -1000..1000 A"],
    [`${H}/hwmon1/power1_input`, "-5\n", "input power -0.000005 W is outside 0..100000 W"],
    [`${H}/hwmon1/power1_input`, "NaN\n", 'not an integer: "NaN"'],
    [`${S}/battery/capacity`, "101\n", "battery state of charge 101 % is outside 0..100 %"],
    [`${S}/battery/capacity`, "-3\n", "battery state of charge -3 % is outside 0..100 %"],
    [`${S}/battery/capacity`, "full\n", 'not an integer: "full"'],
    [`${S}/battery/capacity`, "99999999999999999999999999\n", "battery state of charge 99999999999999999999… (raw) % is outside 0..100 %"],
  ];
  for (const [file, content, reason] of cases) {
    it(`rejects ${file.split("/").slice(-2).join("/")} ${JSON.stringify(content)}`, async () => {
      tree = await makeTree(boardTree());
      await tree.set(file, content);
      await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }).read(), { port: "power", source: tree.path(file), reason });
    });
  }

  it("rejects a missing channel, a directory in its place and a permission error", async () => {
    tree = await makeTree(boardTree());
    const curr = tree.path(`${H}/hwmon1/curr1_input`);
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot, fs: faultyFs({ open: { [curr]: "EACCES" } }) }).read(), {
      port: "power",
      source: curr,
      reason: "permission denied (EACCES)",
    });
    await tree.remove(`${H}/hwmon1/curr1_input`);
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }).read(), { port: "power", source: curr, reason: "file is missing (ENOENT)" });
    await tree.add(`${H}/hwmon1/curr1_input`, {});
    await expectPlatformError(new LinuxPower({ sysRoot: tree.sysRoot }).read(), { port: "power", source: curr, reason: "is a directory, expected a file (EISDIR)" });
  });
});
