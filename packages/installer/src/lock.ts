// One installer at a time: an operator's install and the automatic rollback
// must not interleave their link switches. The lock is a file holding the
// holder's pid, created exclusively; a lock whose holder is gone is stale and
// taken over.
import { open, readFile, unlink } from "node:fs/promises";
import { InstallError } from "./layout.js";

export class LockBusy extends InstallError {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another umbra-install (pid ${pid}) is working on this installation (${path}); wait for it to finish`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(path: string): Promise<Lock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, "wx", 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return { release: () => unlink(path).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number.parseInt((await readFile(path, "utf8").catch(() => "")).trim(), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new LockBusy(path, pid);
    await unlink(path).catch(() => undefined); // stale: its holder is gone
  }
  throw new InstallError(`cannot take the installer's lock ${path}`);
}

export async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
