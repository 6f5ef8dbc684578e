// An injected file system that fails chosen calls with chosen errno codes,
// for what a temp tree cannot show when the tests run as root (EACCES) or
// at all (EIO, EINVAL from a driver, a clamped write).
import { constants } from "node:fs";
import { nodePlatformFs, type PlatformFileHandle, type PlatformFs } from "../../src/index.js";
import { expect } from "vitest";
import { PlatformError } from "../../src/index.js";

export function errno(code: string, syscall = "open"): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected, ${syscall}`);
  err.code = code;
  err.syscall = syscall;
  return err;
}

export interface Faults {
  /** path → code thrown by open() (any mode). */
  open?: Record<string, string>;
  /** path → code thrown by open() for writing only. */
  openWrite?: Record<string, string>;
  /** path → code thrown by read() on an open handle. */
  read?: Record<string, string>;
  /** path → code thrown by write() on an open handle. */
  write?: Record<string, string>;
  /** path → code thrown by readdir(). */
  readdir?: Record<string, string>;
  /** path → what is really written instead of the data (a driver that clamps). */
  replaceWrite?: Record<string, string>;
}

export function faultyFs(faults: Faults, base: PlatformFs = nodePlatformFs): PlatformFs {
  return {
    async open(path, flags) {
      const writing = (flags & (constants.O_WRONLY | constants.O_RDWR)) !== 0;
      const code = faults.open?.[path] ?? (writing ? faults.openWrite?.[path] : undefined);
      if (code) throw errno(code, "open");
      const fh = await base.open(path, flags);
      const handle: PlatformFileHandle = {
        read: (buffer, offset, length, position) => {
          const c = faults.read?.[path];
          return c ? Promise.reject(errno(c, "read")) : fh.read(buffer, offset, length, position);
        },
        write: async (data) => {
          const c = faults.write?.[path];
          if (c) throw errno(c, "write");
          const instead = faults.replaceWrite?.[path];
          if (instead !== undefined) {
            await fh.write(new TextEncoder().encode(instead));
            return { bytesWritten: data.length };
          }
          return fh.write(data);
        },
        close: () => fh.close(),
      };
      return handle;
    },
    async readdir(path) {
      const code = faults.readdir?.[path];
      if (code) throw errno(code, "scandir");
      return base.readdir(path);
    },
    realpath: (path) => base.realpath(path),
    stat: (path) => base.stat(path),
  };
}

/** Awaits a rejection and checks it is a PlatformError with exactly these fields. */
export async function expectPlatformError(
  promise: Promise<unknown>,
  expected: { port: PlatformError["port"]; source: string; reason: string | RegExp },
): Promise<PlatformError> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error, "expected a rejection").toBeInstanceOf(PlatformError);
  const e = error as PlatformError;
  expect(e.port).toBe(expected.port);
  expect(e.source).toBe(expected.source);
  if (typeof expected.reason === "string") expect(e.reason).toBe(expected.reason);
  else expect(e.reason).toMatch(expected.reason);
  expect(e.message).toBe(`${e.port}: ${e.source}: ${e.reason}`);
  return e;
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
