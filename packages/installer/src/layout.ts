// Where an installation lives on the board, and the few file-system moves the
// installer makes: every change that matters is a rename (atomic on POSIX), so
// a power cut leaves either the old state or the new one, never half of each.
//
//   <prefix>/releases/<version>-<commit>/   one verified bundle per release
//   <prefix>/current  -> releases/<name>    what systemd runs
//   <prefix>/previous -> releases/<name>    what a rollback goes back to
//   <prefix>/bin/umbra -> ../current/bin/umbra
//   <prefix>/bin/umbra-install              generated wrapper for the installer
//   <etc>/umbra.yaml                        the operator's configuration (never overwritten)
//   <state>/installer/releases.json         which releases were proven healthy or failed
import { spawnSync } from "node:child_process";
import { lstat, mkdir, open, readlink, rename, rm, symlink, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { BundleManifest } from "./manifest.js";

export interface Layout {
  prefix: string;
  etc: string;
  state: string;
  /** Where the systemd units go; null: not installed (no systemd here). */
  unitDir: string | null;
}

export const DEFAULT_LAYOUT: Layout = { prefix: "/opt/umbra", etc: "/etc/umbra", state: "/var/lib/umbra", unitDir: "/etc/systemd/system" };

/** Something the installer refuses; the message says what and what to do. Nothing was changed. */
export class InstallError extends Error {
  override name = "InstallError";
}

export const RELEASE_NAME_RE = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}-(?:[0-9a-f]{7}(?:-dirty)?|unknown)$/;

/** `<version>-<first 7 hex digits of the commit>[-dirty]`, or `<version>-unknown` for a bundle not built from git. */
export function releaseName(m: Pick<BundleManifest, "version" | "commit">): string {
  const dirty = m.commit.endsWith("-dirty");
  const hex = /^[0-9a-f]{7,40}/.exec(m.commit)?.[0];
  return `${m.version}-${hex ? `${hex.slice(0, 7)}${dirty ? "-dirty" : ""}` : "unknown"}`;
}

export const paths = (l: Layout) => ({
  releases: join(l.prefix, "releases"),
  release: (name: string) => join(l.prefix, "releases", name),
  current: join(l.prefix, "current"),
  previous: join(l.prefix, "previous"),
  bin: join(l.prefix, "bin"),
  lock: join(l.prefix, ".lock"),
  config: join(l.etc, "umbra.yaml"),
  records: join(l.state, "installer", "releases.json"),
  processDir: join(l.state, "installer", "process"),
});

/** lstat, or undefined when the path does not exist. */
export async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** A folder the installer will use must be a folder (or not exist yet). */
export async function checkFolder(what: string, p: string): Promise<void> {
  const st = await lstatOrUndefined(p);
  if (st && !st.isDirectory()) {
    const kind = st.isSymbolicLink() ? "a symbolic link" : st.isFile() ? "a file" : "not a folder";
    throw new InstallError(`${what} ${p} is ${kind}, not a folder`);
  }
}

/**
 * The release a `current`/`previous` link names, or undefined when there is
 * no link. A link that is not ours (absolute, outside releases/, a folder in
 * its place) is refused: the installer does not guess.
 */
export async function readReleaseLink(l: Layout, which: "current" | "previous"): Promise<string | undefined> {
  const p = paths(l)[which];
  const st = await lstatOrUndefined(p);
  if (!st) return undefined;
  if (!st.isSymbolicLink()) throw new InstallError(`${p} is not a symbolic link; move it away (the installer manages it)`);
  const target = await readlink(p);
  const m = /^releases\/([^/]+)$/.exec(target);
  if (!m || !RELEASE_NAME_RE.test(m[1]!)) throw new InstallError(`${p} points to '${target}', not to a release under releases/; fix or remove the link`);
  return m[1];
}

/** Points `<prefix>/<which>` at a release (or removes it) atomically: a new link renamed over the old. */
export async function setReleaseLink(l: Layout, which: "current" | "previous", name: string | undefined): Promise<void> {
  const p = paths(l)[which];
  if (name === undefined) {
    await unlink(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  } else {
    await replaceSymlink(`releases/${name}`, p);
  }
  await syncDir(dirname(p));
}

/** Makes `p` a symbolic link to `target`, atomically replacing whatever link was there. */
export async function replaceSymlink(target: string, p: string): Promise<void> {
  const tmp = join(dirname(p), `.${basenameOf(p)}.tmp-${process.pid}`);
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  try {
    await rename(tmp, p);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function basenameOf(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** fsync a folder, so a rename in it survives a power cut. Best effort: not every file system allows it. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // not supported here
  }
}

/** Flushes every file system's dirty data (Node has no syncfs); best effort. */
export function syncAll(): void {
  spawnSync("sync", [], { stdio: "ignore", timeout: 120_000 });
}

/** Creates the installation's folders; a file where a folder belongs is a clear error. */
export async function prepareLayout(l: Layout): Promise<void> {
  for (const [what, p] of [
    ["--prefix", l.prefix],
    ["--etc", l.etc],
    ["--state", l.state],
    ...(l.unitDir ? [["--unit-dir", l.unitDir]] : []),
  ] as const) {
    await checkFolder(what, resolve(p));
  }
  const ps = paths(l);
  await checkFolder("releases folder", ps.releases);
  await checkFolder("bin folder", ps.bin);
  for (const d of [l.prefix, ps.releases, ps.bin, l.etc, l.state, dirname(ps.records)]) await mkdir(d, { recursive: true, mode: 0o755 });
}

/** Writes a file atomically (temporary file, fsync, rename). */
export async function writeFileAtomic(p: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(p), `.${basenameOf(p)}.tmp-${process.pid}`);
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, p);
  await syncDir(dirname(p));
}
