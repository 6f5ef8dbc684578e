// The small slice of the file system the Linux adapters use, behind an
// interface so tests can inject failures (EACCES as root, EIO) that a temp
// tree cannot produce, and helpers that turn every failure into a
// PlatformError naming the port, the path and what was wrong.
import { constants, promises as nodeFs } from "node:fs";
import { PlatformError, type PlatformPortName } from "../ports.js";
import { byIndex, type Parsed } from "../parse.js";

export interface PlatformFileHandle {
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  write(data: Uint8Array): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}

export interface PlatformFs {
  /** Opens without ever creating: `flags` is a combination of fs.constants.O_*. */
  open(path: string, flags: number): Promise<PlatformFileHandle>;
  readdir(path: string): Promise<string[]>;
  realpath(path: string): Promise<string>;
  /** Follows symlinks. */
  stat(path: string): Promise<{ isDirectory(): boolean; isFile(): boolean }>;
}

/** fs/promises. */
export const nodePlatformFs: PlatformFs = {
  async open(path, flags) {
    const fh = await nodeFs.open(path, flags);
    return {
      read: (buffer, offset, length, position) => fh.read(buffer, offset, length, position),
      write: (data) => fh.write(data),
      close: () => fh.close(),
    };
  },
  readdir: (path) => nodeFs.readdir(path),
  realpath: (path) => nodeFs.realpath(path),
  stat: (path) => nodeFs.stat(path),
};

/** sysfs attributes are at most one page; 64 KiB covers 64 KiB-page arm64 kernels. */
export const MAX_ATTRIBUTE_BYTES = 65_536;

export function errorCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** What went wrong, in words, for an fs error on a file or directory. */
export function describeFsError(err: unknown, kind: "file" | "directory" | "device" = "file"): string {
  const code = errorCode(err);
  switch (code) {
    case "ENOENT":
      return `${kind} is missing (ENOENT)`;
    case "EACCES":
    case "EPERM":
      return `permission denied (${code})`;
    case "EISDIR":
      return `is a directory, expected a ${kind} (EISDIR)`;
    case "ENOTDIR":
      return kind === "directory" ? "is not a directory (ENOTDIR)" : "a component of the path is not a directory (ENOTDIR)";
    case "ENXIO":
      return `no such device or nothing at the other end (ENXIO)`;
    case "EBUSY":
      return `${kind} is busy (EBUSY): another process has it open`;
    default: {
      const message = err instanceof Error ? err.message : String(err);
      return code ? `${code}: ${message}` : `failed: ${message}`;
    }
  }
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Reads one sysfs attribute as text; any failure is a PlatformError. */
export function readAttribute(fs: PlatformFs, port: PlatformPortName, path: string): Promise<string> {
  return readBoundedText(fs, port, path, MAX_ATTRIBUTE_BYTES, "not a sysfs attribute");
}

/**
 * Reads a small file as text, refusing one over maxBytes (the reason names
 * what it should have been); any failure is a PlatformError.
 */
export async function readBoundedText(fs: PlatformFs, port: PlatformPortName, path: string, maxBytes: number, notA: string): Promise<string> {
  let fh: PlatformFileHandle;
  try {
    // Non-blocking: a FIFO where a file should be reads as empty instead of hanging.
    fh = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new PlatformError(port, path, describeFsError(err));
  }
  try {
    const buffer = new Uint8Array(maxBytes + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, total, buffer.length - total, null);
      if (!Number.isInteger(bytesRead) || bytesRead < 0) throw new Error(`read returned ${String(bytesRead)}`);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new PlatformError(port, path, `file is larger than ${maxBytes} bytes; ${notA}`);
    }
    return decoder.decode(buffer.subarray(0, total));
  } catch (err) {
    if (err instanceof PlatformError) throw err;
    throw new PlatformError(port, path, describeFsError(err));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Reads and parses one attribute. */
export async function readParsed<T>(fs: PlatformFs, port: PlatformPortName, path: string, parse: (text: string) => Parsed<T>): Promise<T> {
  const text = await readAttribute(fs, port, path);
  let parsed: Parsed<T>;
  try {
    parsed = parse(text);
  } catch (err) {
    // The parsers do not throw; this is the belt to their braces.
    throw new PlatformError(port, path, `could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!parsed.ok) throw new PlatformError(port, path, parsed.reason);
  return parsed.value;
}

/** Whether a path exists (following links). Errors other than "missing" are PlatformErrors. */
export async function exists(fs: PlatformFs, port: PlatformPortName, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (err) {
    if (errorCode(err) === "ENOENT") return false;
    throw new PlatformError(port, path, describeFsError(err));
  }
}

/** Lists a directory's entries that match `pattern`, sorted by their trailing number. */
export async function listMatching(fs: PlatformFs, port: PlatformPortName, dir: string, pattern: RegExp): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new PlatformError(port, dir, describeFsError(err, "directory"));
  }
  return names.filter((n) => pattern.test(n)).sort(byIndex);
}

/**
 * Writes one sysfs attribute. Opened write-only and truncating but never
 * creating, so a missing attribute is an error rather than a new file.
 */
export async function writeAttribute(fs: PlatformFs, port: PlatformPortName, path: string, text: string): Promise<void> {
  let fh: PlatformFileHandle;
  try {
    fh = await fs.open(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    throw new PlatformError(port, path, `cannot open for writing: ${describeFsError(err)}`);
  }
  try {
    const bytes = new TextEncoder().encode(text);
    const { bytesWritten } = await fh.write(bytes);
    if (bytesWritten !== bytes.length) throw new PlatformError(port, path, `short write: ${bytesWritten} of ${bytes.length} bytes`);
  } catch (err) {
    if (err instanceof PlatformError) throw err;
    const code = errorCode(err);
    // sysfs answers a value its driver refuses with EINVAL on write.
    throw new PlatformError(port, path, code === "EINVAL" ? `the kernel refused ${JSON.stringify(text)} (EINVAL)` : `write failed: ${describeFsError(err)}`);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
