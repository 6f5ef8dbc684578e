// Where a Linux adapter finds the kernel: the sysfs and /dev roots (a temp
// tree in tests) and the file system to reach them through.
import { isAbsolute } from "node:path";
import { nodePlatformFs, type PlatformFs } from "./fs.js";

export interface LinuxRoots {
  /** Root of sysfs; default "/sys". */
  sysRoot?: string;
  /** Root of device nodes; default "/dev". */
  devRoot?: string;
  /** File system to use; default fs/promises. Tests inject failures here. */
  fs?: PlatformFs;
}

export interface LinuxContext {
  readonly sysRoot: string;
  readonly devRoot: string;
  readonly fs: PlatformFs;
}

export function linuxContext(roots: LinuxRoots = {}): LinuxContext {
  const sysRoot = roots.sysRoot ?? "/sys";
  const devRoot = roots.devRoot ?? "/dev";
  for (const [name, value] of [["sysRoot", sysRoot], ["devRoot", devRoot]] as const) {
    if (typeof value !== "string" || value === "" || !isAbsolute(value) || value.includes("\0")) {
      throw new RangeError(`linux platform: options.${name} must be an absolute path, got ${JSON.stringify(value)}`);
    }
  }
  return { sysRoot, devRoot, fs: roots.fs ?? nodePlatformFs };
}
