import { constants, promises as fs } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { LinuxWatchdog, createLinuxPlatform } from "../src/index.js";
import { boardTree, fifo, makeTree, type FakeTree } from "./support/fake-tree.js";
import { expectPlatformError, faultyFs, type Faults } from "./support/fs-faults.js";

let tree: FakeTree;
afterEach(async () => {
  await tree?.cleanup();
});

const W = "sys/class/watchdog/watchdog0";

describe("linux watchdog on a regular file", () => {
  it("arm opens and kicks once, kick writes a byte, disarm writes the magic V and closes", async () => {
    tree = await makeTree(boardTree());
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    expect(wd.status()).toEqual({ armed: false, timeoutS: 0 });
    await wd.arm(30);
    expect(wd.status()).toEqual({ armed: true, timeoutS: 30 });
    expect(await tree.read("dev/watchdog")).toBe("\0");
    await wd.kick();
    await wd.kick();
    expect(await tree.read("dev/watchdog")).toBe("\0\0\0");
    await wd.disarm();
    expect(await tree.read("dev/watchdog")).toBe("\0\0\0V");
    expect(wd.status()).toEqual({ armed: false, timeoutS: 30 });
    await wd.disarm(); // nothing to do
    expect(await tree.read("dev/watchdog")).toBe("\0\0\0V");
  });

  it("arming again with the same timeout is a kick; with another it is refused", async () => {
    tree = await makeTree(boardTree());
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await wd.arm(30);
    await wd.arm(30);
    expect(await tree.read("dev/watchdog")).toBe("\0\0");
    await expectPlatformError(wd.arm(60), { port: "watchdog", source: tree.path("dev/watchdog"), reason: "already armed with a 30 s timeout; disarm first" });
    await wd.disarm();
  });

  it("refuses a timeout other than the hardware's, without touching the device", async () => {
    tree = await makeTree(boardTree());
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await expectPlatformError(wd.arm(10), {
      port: "watchdog",
      source: tree.path(`${W}/timeout`),
      reason:
        "requested a 10 s timeout but the hardware is configured for 30 s; the timeout cannot be changed from Node (WDIOC_SETTIMEOUT is an ioctl): configure it in the driver (module parameter, device tree or kernel command line) or arm with 30",
    });
    expect(wd.status().armed).toBe(false);
    expect(await tree.read("dev/watchdog")).toBe("");
  });

  it("refuses timeouts that are not whole seconds in range", async () => {
    tree = await makeTree(boardTree());
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    const source = tree.path("dev/watchdog");
    await expectPlatformError(wd.arm(0), { port: "watchdog", source, reason: "watchdog timeout 0 s is outside 1..86400 s" });
    await expectPlatformError(wd.arm(1.5), { port: "watchdog", source, reason: "watchdog timeout must be a whole number of seconds, got 1.5" });
    await expectPlatformError(wd.arm(Number.NaN), { port: "watchdog", source, reason: "watchdog timeout must be a whole number of seconds, got NaN" });
  });

  it("takes the timeout from options when sysfs has none, and refuses to guess without it", async () => {
    tree = await makeTree(boardTree());
    await tree.remove(`${W}/timeout`);
    await expectPlatformError(new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot }).arm(30), {
      port: "watchdog",
      source: tree.path(`${W}/timeout`),
      reason: "file is missing (ENOENT), so the hardware timeout cannot be confirmed; set options.watchdog.timeoutS to the timeout the driver is configured with",
    });
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot }, { timeoutS: 15 });
    await expectPlatformError(wd.arm(30), { port: "watchdog", source: tree.path(`${W}/timeout`), reason: /^requested a 30 s timeout but the hardware is configured for 15 s/ });
    await wd.arm(15);
    await wd.disarm();
    expect(() => new LinuxWatchdog({}, { timeoutS: -1 })).toThrow("linux platform: options.watchdog.timeoutS: watchdog timeout -1 s is outside 1..86400 s");
    expect(() => new LinuxWatchdog({}, { device: "../etc/passwd" })).toThrow(/options\.watchdog\.device must be a device name/);
  });

  it("rejects a garbled sysfs timeout", async () => {
    tree = await makeTree(boardTree());
    await tree.set(`${W}/timeout`, "thirty\n");
    await expectPlatformError(new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot }).arm(30), {
      port: "watchdog",
      source: tree.path(`${W}/timeout`),
      reason: 'not an integer: "thirty"',
    });
  });

  it("refuses kick before arm", async () => {
    tree = await makeTree(boardTree());
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await expectPlatformError(wd.kick(), { port: "watchdog", source: tree.path("dev/watchdog"), reason: "not armed: arm() before kick()" });
  });

  it("with nowayout set, refuses to disarm and stays armed", async () => {
    tree = await makeTree(boardTree());
    await tree.set(`${W}/nowayout`, "1\n");
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await wd.arm(30);
    await expectPlatformError(wd.disarm(), {
      port: "watchdog",
      source: tree.path(`${W}/nowayout`),
      reason: "nowayout is set: the kernel will not stop this watchdog; it stays armed, keep kicking it",
    });
    expect(wd.status().armed).toBe(true);
    await wd.kick();
    expect(await tree.read("dev/watchdog")).toBe("\0\0");
    await wd.close();
  });

  it("reports a missing device, a busy one, and a failing kick", async () => {
    tree = await makeTree(boardTree());
    await tree.remove("dev/watchdog");
    const device = tree.path("dev/watchdog");
    await expectPlatformError(new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot }).arm(30), {
      port: "watchdog",
      source: device,
      reason: "cannot open: device is missing (ENOENT)",
    });
    await tree.set("dev/watchdog", "");
    await expectPlatformError(new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot, fs: faultyFs({ open: { [device]: "EBUSY" } }) }).arm(30), {
      port: "watchdog",
      source: device,
      reason: "cannot open: device is busy (EBUSY): another process has it open",
    });
    // A first kick that fails: all or nothing, it tries the magic close and is not armed.
    const broken = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot, fs: faultyFs({ write: { [device]: "EIO" } }) });
    await expectPlatformError(broken.arm(30), { port: "watchdog", source: device, reason: "first kick failed: EIO: EIO: injected, write" });
    expect(broken.status().armed).toBe(false);
    // A later kick that fails: still armed (the hardware is), the caller may try again.
    const faults: Faults = {};
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot, fs: faultyFs(faults) });
    await wd.arm(30);
    faults.write = { [device]: "EIO" };
    await expectPlatformError(wd.kick(), { port: "watchdog", source: device, reason: "kick failed: EIO: EIO: injected, write" });
    await expectPlatformError(wd.disarm(), { port: "watchdog", source: device, reason: "magic close failed: EIO: EIO: injected, write" });
    expect(wd.status().armed).toBe(true);
    delete faults.write;
    await wd.kick();
    await wd.disarm();
    expect(wd.status().armed).toBe(false);
  });

  it("close() lets go without the magic close (the hardware would stay armed)", async () => {
    tree = await makeTree(boardTree());
    const platform = createLinuxPlatform({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await platform.watchdog.arm(30);
    await platform.close();
    expect(await tree.read("dev/watchdog")).toBe("\0");
    expect(platform.watchdog.status().armed).toBe(false);
  });

  it("serializes concurrent calls", async () => {
    tree = await makeTree(boardTree());
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await Promise.all([wd.arm(30), wd.kick(), wd.kick(), wd.disarm()]);
    expect(await tree.read("dev/watchdog")).toBe("\0\0\0V");
  });
});

describe("linux watchdog on a FIFO", () => {
  it("the reader on the other end sees kicks and the magic close", async () => {
    tree = await makeTree({ ...boardTree(), dev: { watchdog: fifo() } });
    const device = tree.path("dev/watchdog");
    // The "driver": a non-blocking reader, so opening does not wait for a writer.
    const reader = await fs.open(device, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
      await wd.arm(30);
      await wd.kick();
      await wd.kick();
      await wd.disarm();
      const buffer = Buffer.alloc(64);
      const { bytesRead } = await reader.read(buffer, 0, 64, null);
      expect(buffer.subarray(0, bytesRead).toString("latin1")).toBe("\0\0\0V");
    } finally {
      await reader.close();
    }
  });

  it("with nobody at the other end, arm fails at once instead of hanging", async () => {
    tree = await makeTree({ ...boardTree(), dev: { watchdog: fifo() } });
    const wd = new LinuxWatchdog({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
    await expectPlatformError(wd.arm(30), {
      port: "watchdog",
      source: tree.path("dev/watchdog"),
      reason: "cannot open: no such device or nothing at the other end (ENXIO)",
    });
    expect(wd.status().armed).toBe(false);
  });
});
