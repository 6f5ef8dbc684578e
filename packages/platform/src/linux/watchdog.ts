// The kernel watchdog through /dev/watchdog: open starts it, every write is a
// kick, and writing "V" just before close is the "magic close" that stops it
// (unless the kernel was built or loaded with nowayout).
//
// Setting the timeout needs the WDIOC_SETTIMEOUT ioctl, which Node cannot
// issue without a native addon. So the timeout is whatever the driver is
// configured with (module parameter, device tree, kernel command line), read
// from /sys/class/watchdog/<name>/timeout, and arm(timeoutS) refuses a
// timeout that differs from it rather than pretend.
import { constants } from "node:fs";
import { join } from "node:path";
import { PlatformError, type WatchdogBootStatus, type WatchdogPort, type WatchdogStatus } from "../ports.js";
import { checkTimeoutS, parseCounter, parseFlag, parseWatchdogTimeout } from "../parse.js";
import { describeFsError, exists, readParsed, type PlatformFileHandle } from "./fs.js";
import { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";

export interface WatchdogOptions {
  /** Device node under the /dev root. Default "watchdog". */
  device?: string;
  /** Entry under /sys/class/watchdog. Default "watchdog0". */
  sysfsName?: string;
  /**
   * The hardware timeout (s), for drivers whose sysfs has no `timeout` file.
   * Without either, arm() refuses: the timeout could not be confirmed.
   */
  timeoutS?: number;
}

/** Written to kick; anything but "V" (which would allow the magic close). */
export const KICK_BYTE = 0x00;
/** bootstatus flag: the last reboot was caused by the watchdog (linux/watchdog.h). */
export const WDIOF_CARDRESET = 0x20n;

/** Written just before close to stop the watchdog. */
export const MAGIC_CLOSE_BYTE = 0x56; // "V"

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export class LinuxWatchdog implements WatchdogPort {
  private readonly ctx: LinuxContext;
  readonly devicePath: string;
  readonly sysfsDir: string;
  private readonly configuredTimeoutS: number | undefined;
  private handle: PlatformFileHandle | undefined;
  private timeoutS = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(roots: LinuxRoots | LinuxContext = {}, options: WatchdogOptions = {}) {
    this.ctx = linuxContext(roots);
    const device = options.device ?? "watchdog";
    const sysfsName = options.sysfsName ?? "watchdog0";
    if (typeof device !== "string" || !NAME.test(device)) throw new RangeError(`linux platform: options.watchdog.device must be a device name, got ${JSON.stringify(device)}`);
    if (typeof sysfsName !== "string" || !NAME.test(sysfsName)) throw new RangeError(`linux platform: options.watchdog.sysfsName must be a name, got ${JSON.stringify(sysfsName)}`);
    if (options.timeoutS !== undefined) {
      const t = checkTimeoutS(options.timeoutS);
      if (!t.ok) throw new RangeError(`linux platform: options.watchdog.timeoutS: ${t.reason}`);
    }
    this.configuredTimeoutS = options.timeoutS;
    this.devicePath = join(this.ctx.devRoot, device);
    this.sysfsDir = join(this.ctx.sysRoot, "class", "watchdog", sysfsName);
  }

  /** sysfs `bootstatus`: bit WDIOF_CARDRESET (0x20) says the watchdog caused the last reboot. Missing or unreadable: unknown. */
  async bootStatus(): Promise<WatchdogBootStatus> {
    const path = join(this.sysfsDir, "bootstatus");
    try {
      const value = await readParsed(this.ctx.fs, "watchdog", path, parseCounter);
      return { cardReset: (value & WDIOF_CARDRESET) !== 0n };
    } catch {
      return {};
    }
  }

  /** The timeout the hardware runs with: sysfs `timeout`, else options.timeoutS. */
  async hardwareTimeoutS(): Promise<number> {
    const path = join(this.sysfsDir, "timeout");
    if (await exists(this.ctx.fs, "watchdog", path)) return readParsed(this.ctx.fs, "watchdog", path, parseWatchdogTimeout);
    if (this.configuredTimeoutS !== undefined) return this.configuredTimeoutS;
    throw new PlatformError(
      "watchdog",
      path,
      "file is missing (ENOENT), so the hardware timeout cannot be confirmed; set options.watchdog.timeoutS to the timeout the driver is configured with",
    );
  }

  arm(timeoutS: number): Promise<void> {
    return this.serial(async () => {
      const t = checkTimeoutS(timeoutS);
      if (!t.ok) throw new PlatformError("watchdog", this.devicePath, t.reason);
      if (this.handle) {
        if (timeoutS !== this.timeoutS) throw new PlatformError("watchdog", this.devicePath, `already armed with a ${this.timeoutS} s timeout; disarm first`);
        await this.write(this.handle, KICK_BYTE, "kick");
        return;
      }
      const hardware = await this.hardwareTimeoutS();
      if (hardware !== timeoutS) {
        throw new PlatformError(
          "watchdog",
          join(this.sysfsDir, "timeout"),
          `requested a ${timeoutS} s timeout but the hardware is configured for ${hardware} s; ` +
            "the timeout cannot be changed from Node (WDIOC_SETTIMEOUT is an ioctl): configure it in the driver (module parameter, device tree or kernel command line) or arm with " +
            `${hardware}`,
        );
      }
      let handle: PlatformFileHandle;
      try {
        // Non-blocking, so a device that is not ready fails at once instead of hanging a service.
        handle = await this.ctx.fs.open(this.devicePath, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      } catch (err) {
        throw new PlatformError("watchdog", this.devicePath, `cannot open: ${describeFsError(err, "device")}`);
      }
      try {
        await this.write(handle, KICK_BYTE, "first kick");
      } catch (err) {
        // All or nothing: try to stop what the open may have started.
        await handle.write(Uint8Array.of(MAGIC_CLOSE_BYTE)).catch(() => undefined);
        await handle.close().catch(() => undefined);
        throw err;
      }
      this.handle = handle;
      this.timeoutS = timeoutS;
    });
  }

  kick(): Promise<void> {
    return this.serial(async () => {
      if (!this.handle) throw new PlatformError("watchdog", this.devicePath, "not armed: arm() before kick()");
      await this.write(this.handle, KICK_BYTE, "kick");
    });
  }

  /** Magic close. Refused (and the watchdog left armed) when the kernel says nowayout. Disarming a disarmed watchdog does nothing. */
  disarm(): Promise<void> {
    return this.serial(async () => {
      const handle = this.handle;
      if (!handle) return;
      const nowayout = join(this.sysfsDir, "nowayout");
      if ((await exists(this.ctx.fs, "watchdog", nowayout)) && (await readParsed(this.ctx.fs, "watchdog", nowayout, parseFlag))) {
        throw new PlatformError("watchdog", nowayout, "nowayout is set: the kernel will not stop this watchdog; it stays armed, keep kicking it");
      }
      await this.write(handle, MAGIC_CLOSE_BYTE, "magic close");
      this.handle = undefined;
      try {
        await handle.close();
      } catch (err) {
        throw new PlatformError("watchdog", this.devicePath, `magic close written but close failed: ${describeFsError(err, "device")}`);
      }
    });
  }

  status(): WatchdogStatus {
    return { armed: this.handle !== undefined, timeoutS: this.timeoutS };
  }

  /**
   * Lets go of the device without the magic close: on real hardware the
   * watchdog keeps running and resets the board unless someone else kicks it.
   * That is deliberate: a process that ends without disarm() is a failure.
   */
  close(): Promise<void> {
    return this.serial(async () => {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close().catch(() => undefined);
    });
  }

  private async write(handle: PlatformFileHandle, byte: number, what: string): Promise<void> {
    let written: number;
    try {
      ({ bytesWritten: written } = await handle.write(Uint8Array.of(byte)));
    } catch (err) {
      throw new PlatformError("watchdog", this.devicePath, `${what} failed: ${describeFsError(err, "device")}`);
    }
    if (written !== 1) throw new PlatformError("watchdog", this.devicePath, `${what} failed: wrote ${written} bytes, expected 1`);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
