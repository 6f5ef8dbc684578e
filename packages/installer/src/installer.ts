// The installer's operations: install a verified bundle side by side with
// the releases already there, switch to it atomically, prove it healthy or
// switch back; roll back, prove, list, remove. Each refuses bad input before
// it changes anything, and says what it did in plain lines.
import { chmod, copyFile, mkdir, open, readdir, readFile, rename, rm, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  InstallError,
  RELEASE_NAME_RE,
  checkFolder,
  lstatOrUndefined,
  paths,
  prepareLayout,
  readReleaseLink,
  releaseName,
  replaceSymlink,
  setReleaseLink,
  syncAll,
  syncDir,
  writeFileAtomic,
  type Layout,
} from "./layout.js";
import { LockBusy, withLock } from "./lock.js";
import { MANIFEST_FILE, SUMS_FILE, readManifest, verifyBundle, type BundleManifest } from "./manifest.js";
import { readRecords, updateRecord, type Records } from "./records.js";
import type { HealthResult, ServiceManager } from "./service-manager.js";
import { MAIN_UNIT, relocate, releaseUnits } from "./units.js";

/** Exit statuses of umbra-install. */
export const EXIT = {
  ok: 0,
  /** Refused or failed before anything was switched: nothing changed (the message says why). */
  failed: 1,
  usage: 2,
  /** Switched, but the release did not become healthy: rolled back (or, with nothing to go back to, left in place). */
  unhealthy: 3,
} as const;

export interface InstallerContext {
  layout: Layout;
  /** Starts and judges the payload; undefined: nothing is started or reloaded. */
  manager: ServiceManager | undefined;
  /** Progress and results, one line each. */
  log(line: string): void;
  /** The architecture bundles must be built for; default this machine's. */
  arch?: string | null;
  /** How long a started release has to become healthy (s). */
  healthTimeoutS: number;
  /** How long it must then stay healthy (s). */
  healthHoldS: number;
}

export interface Outcome {
  code: number;
  release?: string;
}

const now = () => new Date().toISOString();
const indent = (text: string) => text.split("\n").map((l) => `    ${l}`).join("\n");

function problemsText(problems: readonly string[]): string {
  return problems.map((p) => `  - ${p}`).join("\n");
}

// ---------------------------------------------------------------------------
// Copying a release in

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Removes what a power cut may have left half-done in releases/: staging and removal folders. */
async function cleanLeftovers(l: Layout): Promise<void> {
  const dir = paths(l).releases;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(".incoming-") || name.startsWith(".removing-")) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Copies exactly what the manifest lists (nothing else) into a staging
 * folder, verifies the copy, flushes it to disk, and renames it into place:
 * a release folder either does not exist or is complete and verified.
 */
async function copyRelease(from: string, manifest: BundleManifest, l: Layout, name: string, arch: string | null | undefined): Promise<void> {
  const dest = paths(l).release(name);
  const staging = join(paths(l).releases, `.incoming-${name}-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o755 });
  try {
    const made = new Set<string>();
    const mkdirFor = async (rel: string) => {
      const d = dirname(rel);
      if (d === "." || made.has(d)) return;
      await mkdir(join(staging, d), { recursive: true, mode: 0o755 });
      made.add(d);
    };
    const files = Object.entries(manifest.files);
    for (const [rel] of files) await mkdirFor(rel);
    await pool(files, 8, async ([rel, entry]) => {
      await copyFile(join(from, rel), join(staging, rel));
      await chmod(join(staging, rel), entry.mode);
    });
    for (const [rel, target] of Object.entries(manifest.links)) {
      await mkdirFor(rel);
      await symlink(target, join(staging, rel));
    }
    for (const f of [MANIFEST_FILE, SUMS_FILE]) {
      await copyFile(join(from, f), join(staging, f));
      await chmod(join(staging, f), 0o644);
    }
    const check = await verifyBundle(staging, { arch: arch === undefined ? process.arch : arch });
    if (!check.ok) throw new InstallError(`the copy of the bundle in ${staging} does not verify (disk full or failing?):\n${problemsText(check.problems)}`);
    // The release must be on disk before anything points to it: a power cut must not leave `current` at half-written files.
    syncAll();
    await rename(staging, dest);
    await syncDir(paths(l).releases);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Config, units, wrapper

/** Installs the release's default configuration, relocated for this layout, only where the operator has none. */
async function installConfig(l: Layout, releaseDir: string, log: (s: string) => void): Promise<void> {
  const target = paths(l).config;
  const st = await lstatOrUndefined(target);
  if (st) {
    log(`configuration: keeping ${target} (the release's default is ${join(releaseDir, "config", "umbra.yaml")})`);
  } else {
    const text = relocate(await readFile(join(releaseDir, "config", "umbra.yaml"), "utf8"), l);
    const fh = await open(target, "wx", 0o644); // never over one that appeared meanwhile
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    log(`configuration: installed the default ${target}; edit it for this board`);
  }
  // A hint only (the installer does not parse YAML): the TTC cannot start without its key file.
  const configText = await readFile(target, "utf8").catch(() => "");
  const keys = /^\s+keys:\s*["']?([^"'\s#]+)/m.exec(configText)?.[1];
  if (keys && keys.startsWith("/") && !(await lstatOrUndefined(keys))) {
    log(`warning: the telecommand key file ${keys} (paths.keys in ${target}) does not exist: the TTC cannot start without it; install the mission's key file there (mode 0600)`);
  }
}

/** Writes the release's systemd units (relocated) to the unit folder; true when any changed. */
async function installUnits(l: Layout, releaseDir: string, log: (s: string) => void): Promise<boolean> {
  if (!l.unitDir) return false;
  const units = await releaseUnits(releaseDir, l);
  if (units.size === 0) throw new InstallError(`${join(releaseDir, "systemd")} has no unit files`);
  await mkdir(l.unitDir, { recursive: true, mode: 0o755 });
  let changed = false;
  for (const [name, text] of units) {
    const target = join(l.unitDir, name);
    const old = await readFile(target, "utf8").catch(() => undefined);
    if (old === text) continue;
    await writeFileAtomic(target, text, 0o644);
    changed = true;
  }
  if (changed) log(`systemd units: ${[...units.keys()].join(", ")} written to ${l.unitDir}`);
  return changed;
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The wrapper an operator (and umbra-rollback.service) runs: the installer of the current release, or of the previous one. */
export function wrapperScript(l: Layout, manager: string | undefined): string {
  return `#!/bin/sh
# Written by umbra-install; rewritten at every install. Runs the installer of
# the current release, or of the previous one when UMBRA_INSTALL_PREFER=previous
# (umbra-rollback.service: decide a rollback with the code that last worked)
# or when the current one is unusable.
set -eu
UMBRA_PREFIX=${shQuote(l.prefix)}
UMBRA_ETC=${shQuote(l.etc)}
UMBRA_STATE=${shQuote(l.state)}
UMBRA_UNIT_DIR=${shQuote(l.unitDir ?? "")}
${manager ? `UMBRA_MANAGER=\${UMBRA_MANAGER:-${shQuote(manager)}}\nexport UMBRA_MANAGER\n` : ""}export UMBRA_PREFIX UMBRA_ETC UMBRA_STATE UMBRA_UNIT_DIR
if [ "\${UMBRA_INSTALL_PREFER:-current}" = previous ]; then order="previous current"; else order="current previous"; fi
for r in $order; do
  d="$UMBRA_PREFIX/$r"
  if [ -x "$d/node/bin/node" ] && [ -f "$d/app/packages/installer/dist/main.js" ]; then
    exec "$d/node/bin/node" "$d/app/packages/installer/dist/main.js" "$@"
  fi
done
echo "umbra-install: no usable release under $UMBRA_PREFIX (neither current nor previous has node/bin/node and the installer)" >&2
exit 1
`;
}

async function installWrapper(l: Layout, manager: ServiceManager | undefined): Promise<void> {
  const bin = paths(l).bin;
  await writeFileAtomic(join(bin, "umbra-install"), wrapperScript(l, manager?.kind), 0o755);
  await replaceSymlink("../current/bin/umbra", join(bin, "umbra"));
}

// ---------------------------------------------------------------------------
// Switching

async function switchTo(l: Layout, current: string, previous: string | undefined): Promise<void> {
  // previous first: a power cut between the two leaves current as it was, and previous harmlessly ahead.
  await setReleaseLink(l, "previous", previous);
  await setReleaseLink(l, "current", current);
}

async function startAndCheck(ctx: InstallerContext, name: string): Promise<HealthResult> {
  const m = ctx.manager!;
  ctx.log(`starting ${name} (${m.kind}); waiting up to ${ctx.healthTimeoutS} s for it to become healthy${ctx.healthHoldS ? ` and stay so ${ctx.healthHoldS} s` : ""}`);
  try {
    await m.restart();
  } catch (err) {
    return { ok: false, reason: `could not start it: ${(err as Error).message}` };
  }
  return m.health(paths(ctx.layout).release(name), ctx.healthTimeoutS, ctx.healthHoldS);
}

/**
 * Makes `name` the current release: units, links, restart, health. On
 * failure, switches back to what was current (and previous) before, restarts
 * it, and returns EXIT.unhealthy.
 */
async function activate(ctx: InstallerContext, name: string, start: boolean): Promise<Outcome> {
  const l = ctx.layout;
  const oldCurrent = await readReleaseLink(l, "current");
  const oldPrevious = await readReleaseLink(l, "previous");
  if (oldCurrent === name) {
    if ((await installUnits(l, paths(l).release(name), ctx.log)) && ctx.manager) await ctx.manager.reload();
    ctx.log(`${name} is already the current release; nothing to switch (systemctl restart ${MAIN_UNIT} restarts it)`);
    return { code: EXIT.ok, release: name };
  }
  const unitsChanged = await installUnits(l, paths(l).release(name), ctx.log);
  await switchTo(l, name, oldCurrent ?? oldPrevious);
  ctx.log(`current -> ${name}${oldCurrent ? `; previous -> ${oldCurrent}` : ""}`);
  if (ctx.manager && (unitsChanged || start)) await ctx.manager.reload();
  if (!start || !ctx.manager) {
    ctx.log(`not started (--no-start): ${name} runs from the next start of ${MAIN_UNIT} (or the next boot); it is proven healthy then`);
    return { code: EXIT.ok, release: name };
  }
  const health = await startAndCheck(ctx, name);
  if (health.ok) {
    await updateRecord(l, name, (r) => ({ ...r, provenAt: now(), failedAt: undefined, failure: undefined }));
    ctx.log(`${name} is healthy:\n${indent(health.reason)}`);
    return { code: EXIT.ok, release: name };
  }
  const reason = `did not become healthy within ${ctx.healthTimeoutS} s`;
  await updateRecord(l, name, (r) => ({ ...r, failedAt: now(), failure: firstLine(health.reason) || reason }));
  ctx.log(`${name} ${reason}:\n${indent(health.reason)}`);
  if (!oldCurrent) {
    ctx.log(`${name} stays installed as the current release, but it is NOT healthy, and there is no previous release to roll back to; fix the cause above and start it again (systemctl restart ${MAIN_UNIT})`);
    return { code: EXIT.unhealthy, release: name };
  }
  ctx.log(`rolling back to ${oldCurrent}`);
  await installUnits(l, paths(l).release(oldCurrent), ctx.log);
  await switchTo(l, oldCurrent, oldPrevious);
  await ctx.manager.reload();
  const back = await startAndCheck(ctx, oldCurrent);
  if (back.ok) {
    await updateRecord(l, oldCurrent, (r) => ({ ...r, provenAt: now() }));
    ctx.log(`rolled back: ${oldCurrent} is current again and healthy; ${name} stays installed (inspect it, or umbra-install remove ${name})`);
  } else {
    ctx.log(`rolled back to ${oldCurrent}, but it is not healthy either:\n${indent(back.reason)}`);
  }
  return { code: EXIT.unhealthy, release: name };
}

function firstLine(s: string): string {
  return s.trim().split("\n").find((x) => x.trim())?.trim().slice(0, 300) ?? "";
}

// ---------------------------------------------------------------------------
// Commands

/** Checks the layout's folders without changing anything. */
async function checkLayout(l: Layout): Promise<void> {
  await checkFolder("--prefix", l.prefix);
  await checkFolder("--etc", l.etc);
  await checkFolder("--state", l.state);
  if (l.unitDir) await checkFolder("--unit-dir", l.unitDir);
}

/** install: verify the bundle at `from`, copy it in as a release, install config/units, activate it. */
export async function install(ctx: InstallerContext, fromArg: string, options: { start: boolean }): Promise<Outcome> {
  const l = ctx.layout;
  const from = resolve(fromArg);
  await checkLayout(l);
  const check = await verifyBundle(from, { arch: ctx.arch === undefined ? process.arch : ctx.arch });
  if (!check.ok || !check.manifest) throw new InstallError(`the bundle at ${from} does not verify; nothing was installed:\n${problemsText(check.problems)}`);
  const manifest = check.manifest;
  const name = releaseName(manifest);
  ctx.log(`bundle ${from}: umbra ${manifest.version} (${manifest.commit.slice(0, 12)}) for linux-${manifest.arch}, node ${manifest.node.version}: verified (${Object.keys(manifest.files).length} files, ${Object.keys(manifest.links).length} links)`);
  // Refuse foreign current/previous links before touching anything (again under the lock).
  await readReleaseLink(l, "current");
  await readReleaseLink(l, "previous");
  await prepareLayout(l);
  return withLock(paths(l).lock, async () => {
    await cleanLeftovers(l);
    await readReleaseLink(l, "current");
    await readReleaseLink(l, "previous");
    const dest = paths(l).release(name);
    const existing = await lstatOrUndefined(dest);
    if (existing) {
      if (!existing.isDirectory()) throw new InstallError(`${dest} exists and is not a release folder; move it away`);
      const [mine, theirs] = await Promise.all([readFile(join(from, MANIFEST_FILE), "utf8"), readFile(join(dest, MANIFEST_FILE), "utf8").catch(() => "")]);
      if (mine !== theirs) {
        throw new InstallError(`a different release is already installed as ${name} (${dest}): same version and commit, different contents; nothing was installed. Remove it first (umbra-install remove ${name}) if it is not in use`);
      }
      const again = await verifyBundle(dest, { arch: ctx.arch === undefined ? process.arch : ctx.arch });
      if (!again.ok) throw new InstallError(`release ${name} is installed but damaged; nothing was changed:\n${problemsText(again.problems)}\nremove it (umbra-install remove ${name}; roll back first if it is current) and install again`);
      ctx.log(`release ${name}: already installed in ${dest} (identical, verified)`);
    } else {
      await copyRelease(from, manifest, l, name, ctx.arch);
      ctx.log(`release ${name}: installed in ${dest}`);
    }
    const records = await readRecords(l);
    if (!records[name]?.installedAt) await updateRecord(l, name, (r) => ({ ...r, installedAt: now() }));
    await installConfig(l, dest, ctx.log);
    await installWrapper(l, ctx.manager);
    return activate(ctx, name, options.start);
  });
}

/** activate <release>: make an installed release current (health check and rollback as for install). */
export async function activateRelease(ctx: InstallerContext, name: string, options: { start: boolean }): Promise<Outcome> {
  const l = ctx.layout;
  checkReleaseName(name);
  await checkLayout(l);
  return withLock(paths(l).lock, async () => {
    await requireRelease(l, name);
    const check = await verifyBundle(paths(l).release(name), { arch: ctx.arch === undefined ? process.arch : ctx.arch });
    if (!check.ok) throw new InstallError(`release ${name} does not verify; nothing was changed:\n${problemsText(check.problems)}`);
    return activate(ctx, name, options.start);
  });
}

function checkReleaseName(name: string): void {
  if (!RELEASE_NAME_RE.test(name)) throw new InstallError(`${JSON.stringify(name)} is not a release name (<version>-<commit>, as umbra-install status lists them)`);
}

async function installedReleases(l: Layout): Promise<string[]> {
  return (await readdir(paths(l).releases).catch(() => [] as string[])).filter((n) => RELEASE_NAME_RE.test(n)).sort();
}

async function requireRelease(l: Layout, name: string): Promise<void> {
  const st = await lstatOrUndefined(paths(l).release(name));
  if (!st?.isDirectory()) {
    const have = await installedReleases(l);
    throw new InstallError(`no release ${name} in ${paths(l).releases} (installed: ${have.length ? have.join(", ") : "none"})`);
  }
}

/**
 * rollback: current <-> previous. With ifUnproven (umbra-rollback.service),
 * only when the current release was never proven healthy and the previous
 * one was: an automatic rollback never leaves a release that once worked, and
 * never goes to one that never did (so two bad releases cannot ping-pong).
 */
export async function rollback(ctx: InstallerContext, options: { start: boolean; ifUnproven: boolean }): Promise<Outcome> {
  const l = ctx.layout;
  await checkLayout(l);
  const run = async (): Promise<Outcome> => {
    const cur = await readReleaseLink(l, "current");
    const prev = await readReleaseLink(l, "previous");
    if (!cur) throw new InstallError(`no current release in ${l.prefix}: nothing to roll back`);
    if (!prev) throw new InstallError(`no previous release in ${l.prefix} to roll back to; nothing was changed`);
    await requireRelease(l, prev);
    const records = await readRecords(l);
    if (options.ifUnproven) {
      const provenAt = records[cur]?.provenAt;
      if (provenAt) {
        ctx.log(`current release ${cur} was proven healthy (${provenAt}): not rolling back automatically (umbra-install rollback does it by hand)`);
        return { code: EXIT.ok, release: cur };
      }
      if (!records[prev]?.provenAt) {
        ctx.log(`previous release ${prev} was never proven healthy either: not rolling back to it`);
        return { code: EXIT.failed, release: cur };
      }
    }
    const check = await verifyBundle(paths(l).release(prev), { arch: ctx.arch === undefined ? process.arch : ctx.arch });
    if (!check.ok) throw new InstallError(`previous release ${prev} does not verify; nothing was changed:\n${problemsText(check.problems)}`);
    const unitsChanged = await installUnits(l, paths(l).release(prev), ctx.log);
    await switchTo(l, prev, cur);
    ctx.log(`rolled back: current -> ${prev}; previous -> ${cur}`);
    if (options.ifUnproven) await updateRecord(l, cur, (r) => ({ ...r, failedAt: now(), failure: `${MAIN_UNIT} failed before ${cur} was proven healthy; rolled back automatically` }));
    if (ctx.manager && (unitsChanged || options.start)) await ctx.manager.reload();
    if (!options.start || !ctx.manager) {
      ctx.log(`not started (--no-start)`);
      return { code: EXIT.ok, release: prev };
    }
    const health = await startAndCheck(ctx, prev);
    if (health.ok) {
      await updateRecord(l, prev, (r) => ({ ...r, provenAt: now() }));
      ctx.log(`${prev} is healthy:\n${indent(health.reason)}`);
      return { code: EXIT.ok, release: prev };
    }
    ctx.log(`${prev} is current again, but it is not healthy:\n${indent(health.reason)}`);
    return { code: EXIT.unhealthy, release: prev };
  };
  try {
    return await withLock(paths(l).lock, run);
  } catch (err) {
    if (err instanceof LockBusy && options.ifUnproven) {
      ctx.log(`${err.message}; it checks the health of what it installs and rolls back itself`);
      return { code: EXIT.ok };
    }
    throw err;
  }
}

/** prove: wait for the current release to be healthy (and stay so), then record it as proven. */
export async function prove(ctx: InstallerContext): Promise<Outcome> {
  const l = ctx.layout;
  const cur = await readReleaseLink(l, "current");
  if (!cur) throw new InstallError(`no current release in ${l.prefix}`);
  const provenAt = (await readRecords(l))[cur]?.provenAt;
  if (provenAt) {
    ctx.log(`${cur} is already proven healthy (${provenAt})`);
    return { code: EXIT.ok, release: cur };
  }
  if (!ctx.manager) throw new InstallError("no service manager to ask for health");
  const health = await ctx.manager.health(paths(l).release(cur), ctx.healthTimeoutS, ctx.healthHoldS);
  if (!health.ok) {
    ctx.log(`${cur} is not proven: it is not healthy:\n${indent(health.reason)}`);
    return { code: EXIT.unhealthy, release: cur };
  }
  try {
    return await withLock(paths(l).lock, async () => {
      if ((await readReleaseLink(l, "current")) !== cur) {
        ctx.log(`the current release changed while ${cur} was being checked; not recording it`);
        return { code: EXIT.ok, release: cur };
      }
      await updateRecord(l, cur, (r) => ({ ...r, provenAt: now(), failedAt: undefined, failure: undefined }));
      ctx.log(`${cur} is proven healthy:\n${indent(health.reason)}`);
      return { code: EXIT.ok, release: cur };
    });
  } catch (err) {
    if (err instanceof LockBusy) {
      ctx.log(`${err.message}; it records the health of what it installs itself`);
      return { code: EXIT.ok, release: cur };
    }
    throw err;
  }
}

/** remove <release>: delete an installed release that is neither current nor previous. */
export async function remove(ctx: InstallerContext, name: string): Promise<Outcome> {
  const l = ctx.layout;
  checkReleaseName(name);
  await checkLayout(l);
  return withLock(paths(l).lock, async () => {
    const cur = await readReleaseLink(l, "current");
    const prev = await readReleaseLink(l, "previous");
    if (name === cur) throw new InstallError(`${name} is the current release; it cannot be removed (install or roll back to another first)`);
    if (name === prev) throw new InstallError(`${name} is the previous release, the one a rollback goes back to; it cannot be removed`);
    await requireRelease(l, name);
    const doomed = join(paths(l).releases, `.removing-${name}-${process.pid}`);
    await rename(paths(l).release(name), doomed);
    await syncDir(paths(l).releases);
    await rm(doomed, { recursive: true, force: true });
    await updateRecord(l, name, () => undefined);
    ctx.log(`removed ${name}`);
    return { code: EXIT.ok, release: name };
  });
}

export interface ReleaseStatus {
  name: string;
  version?: string;
  commit?: string;
  arch?: string;
  builtAt?: string;
  current: boolean;
  previous: boolean;
  installedAt?: string;
  provenAt?: string;
  failedAt?: string;
  failure?: string;
  /** With status --verify: the problems found (empty = verified). */
  problems?: string[];
}

export interface InstallationStatus {
  prefix: string;
  config: string;
  current?: string;
  previous?: string;
  releases: ReleaseStatus[];
  health?: HealthResult;
}

/** status: the releases, which is current and previous, what is known of each, and the current one's health. */
export async function status(ctx: InstallerContext, options: { health: boolean; verify: boolean; healthTimeoutS?: number }): Promise<InstallationStatus> {
  const l = ctx.layout;
  await checkLayout(l);
  const cur = await readReleaseLink(l, "current");
  const prev = await readReleaseLink(l, "previous");
  const records: Records = await readRecords(l);
  const releases: ReleaseStatus[] = [];
  for (const name of await installedReleases(l)) {
    const r: ReleaseStatus = { name, current: name === cur, previous: name === prev, ...records[name] };
    try {
      const { manifest } = await readManifest(paths(l).release(name));
      Object.assign(r, { version: manifest.version, commit: manifest.commit, arch: manifest.arch, builtAt: manifest.builtAt });
    } catch (err) {
      r.problems = [(err as Error).message];
    }
    if (options.verify) r.problems = (await verifyBundle(paths(l).release(name), { arch: ctx.arch === undefined ? process.arch : ctx.arch })).problems;
    releases.push(r);
  }
  const out: InstallationStatus = { prefix: l.prefix, config: paths(l).config, releases };
  if (cur) out.current = cur;
  if (prev) out.previous = prev;
  if (options.health && cur && ctx.manager) out.health = await ctx.manager.health(paths(l).release(cur), options.healthTimeoutS ?? 5, 0);
  return out;
}

export function formatStatus(s: InstallationStatus): string {
  const lines = [`umbra installation in ${s.prefix} (configuration ${s.config})`];
  if (s.releases.length === 0) lines.push("  no releases installed");
  for (const r of s.releases) {
    const role = r.current ? "current " : r.previous ? "previous" : "        ";
    const what = r.version ? `umbra ${r.version} ${r.arch ?? ""}, built ${r.builtAt ?? "?"}` : "unreadable manifest";
    const verdict = r.failedAt && (!r.provenAt || r.failedAt > r.provenAt) ? `FAILED ${r.failedAt}: ${r.failure ?? ""}` : r.provenAt ? `proven healthy ${r.provenAt}` : "never proven healthy";
    lines.push(`  ${r.current ? "*" : " "} ${r.name.padEnd(24)} ${role}  ${what}; ${verdict}`);
    if (r.problems?.length) lines.push(...r.problems.map((p) => `      ! ${p}`));
    else if (r.problems) lines.push("      verified");
  }
  if (!s.current) lines.push("  no current release");
  if (s.health) lines.push(`health of ${s.current}: ${s.health.ok ? "healthy" : "NOT healthy"}`, indent(s.health.reason));
  return lines.join("\n");
}
