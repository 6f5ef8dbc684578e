// Builds a bundle: stages the workspace's compiled code, installs its
// production dependencies with pnpm from the lockfile, compiles the native
// addon for the target, prunes other platforms' binaries, checks every
// native binary is for the target CPU, adds the pinned Node.js runtime, the
// board's config, the systemd units and the installer, seals it all in a
// manifest with checksums, and packs a tarball.
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import * as tar from "tar";
import { readElfHeaderOf, sealBundle, type BundleManifest, type BundleMeta } from "@umbra/installer";
import { compileAddon, missingCompilers } from "./native.js";
import { fetchNodeRuntime } from "./node-runtime.js";
import { filesToPrune, PRUNED_PACKAGES } from "./prune.js";
import { isShipped, stagingWorkspaceYaml, storeEntryPackage } from "./select.js";
import { targetFor, toolchainFor, type Target } from "./targets.js";

const run = promisify(execFile);

export interface BuildOptions {
  /** The workspace root, already built (`pnpm build`). */
  workspace: string;
  /** arm64 or x64. */
  arch: string;
  /** Where the tarball goes. */
  outDir: string;
  /** Where the Node.js runtime packages are kept between builds; default <workspace>/node_modules/.cache/umbra-bundle. */
  cacheDir?: string;
  /** The installer's assets (install.sh, umbra.yaml, systemd/); default packages/installer/assets in the workspace. */
  installerAssets?: string;
  /** Leave the staging folder (the unpacked bundle) in place and report it. */
  keepStage?: boolean;
  log?: (line: string) => void;
}

export interface BuildResult {
  name: string;
  tarball: string;
  sizeBytes: number;
  manifest: BundleManifest;
  /** The unpacked bundle, with keepStage. */
  stage?: string;
}

/** The CLI's wrapper: the bundle's own Node.js running the umbra CLI, wherever the bundle lies. */
export const UMBRA_WRAPPER = `#!/bin/sh
# umbra, run by this bundle's own Node.js (whatever node the system has, if any).
set -e
here=$(dirname "$(readlink -f "$0")")
exec "$here/../node/bin/node" "$here/../app/packages/cli/dist/main.js" "$@"
`;

const REQUIRED_BUILT = ["packages/cli/dist/main.js", "packages/supervisor/dist/main.js", "packages/installer/dist/main.js", "hil/dist/cli.js"];
const INSTALLER_ASSETS = "packages/installer/assets";

function walk(dir: string, visit: (path: string) => void, skip: (name: string) => boolean = () => false): void {
  for (const name of readdirSync(dir)) {
    if (skip(name)) continue;
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) walk(p, visit, skip);
    else visit(p);
  }
}

function copyWithMode(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, statSync(from).mode & 0o777);
}

async function gitCommit(workspace: string): Promise<string> {
  try {
    const head = (await run("git", ["rev-parse", "HEAD"], { cwd: workspace })).stdout.trim();
    const dirty = (await run("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: workspace })).stdout.trim() !== "";
    return dirty ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}

function pnpmCommand(): { cmd: string; pre: string[] } {
  const execPath = process.env["npm_execpath"];
  if (execPath && /pnpm/.test(execPath)) return execPath.endsWith(".cjs") || execPath.endsWith(".js") ? { cmd: process.execPath, pre: [execPath] } : { cmd: execPath, pre: [] };
  return { cmd: "pnpm", pre: [] };
}

/** Copies the shipped workspace files into app/; returns the workspace packages and their versions. */
function stageWorkspace(workspace: string, app: string): Record<string, string> {
  const packages: Record<string, string> = {};
  const projects = [
    ...readdirSync(join(workspace, "packages")).map((n) => `packages/${n}`),
    ...(existsSync(join(workspace, "examples")) ? readdirSync(join(workspace, "examples")).map((n) => `examples/${n}`) : []),
    "hil",
  ].filter((p) => existsSync(join(workspace, p, "package.json")));
  for (const project of projects) {
    walk(
      join(workspace, project),
      (file) => {
        const rel = relative(workspace, file).split("\\").join("/");
        if (isShipped(rel)) copyWithMode(file, join(app, rel));
      },
      (name) => name === "node_modules" || name === "test" || name === "src",
    );
    const pkg = JSON.parse(readFileSync(join(workspace, project, "package.json"), "utf8")) as { name: string; version: string };
    packages[pkg.name] = pkg.version;
  }
  copyWithMode(join(workspace, "config", "umbra.yaml"), join(app, "config", "umbra.yaml"));
  for (const f of ["package.json", "pnpm-lock.yaml", ".npmrc"]) if (existsSync(join(workspace, f))) copyWithMode(join(workspace, f), join(app, f));
  writeFileSync(join(app, "pnpm-workspace.yaml"), stagingWorkspaceYaml());
  return packages;
}

/** Third-party packages in pnpm's virtual store, by name and version. */
function storePackages(app: string): { name: string; version: string; dir: string }[] {
  const store = join(app, "node_modules", ".pnpm");
  if (!existsSync(store)) return [];
  const out: { name: string; version: string; dir: string }[] = [];
  for (const entry of readdirSync(store)) {
    const pkg = storeEntryPackage(entry);
    if (!pkg) continue;
    const dir = join(store, entry, "node_modules", pkg.name);
    if (existsSync(join(dir, "package.json"))) out.push({ ...pkg, dir });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Every native binary (addons, shared libraries, the runtime) must be an ELF for the target CPU. */
export function checkNativeBinaries(root: string, target: Target): { path: string; machine: string }[] {
  const found: { path: string; machine: string }[] = [];
  const wrong: string[] = [];
  walk(root, (file) => {
    const base = file.split("/").pop()!;
    if (!(base.endsWith(".node") || /\.so(\.\d+)*$/.test(base) || file.endsWith("/node/bin/node"))) return;
    if (!lstatSync(file).isFile()) return;
    const rel = relative(root, file);
    try {
      const elf = readElfHeaderOf(file);
      found.push({ path: rel, machine: elf.machineName });
      if (elf.machine !== target.elfMachine || elf.bits !== 64) wrong.push(`${rel}: built for ${elf.machineName} (${elf.bits}-bit)`);
    } catch (err) {
      wrong.push(`${rel}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  if (wrong.length > 0) throw new Error(`native binaries that are not linux-${target.arch}:\n  ${wrong.join("\n  ")}`);
  return found;
}

export async function buildBundle(options: BuildOptions): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const workspace = options.workspace;
  const target = targetFor(options.arch);
  const toolchain = toolchainFor(target, process.arch);

  const unbuilt = REQUIRED_BUILT.filter((f) => !existsSync(join(workspace, f)));
  if (unbuilt.length > 0) throw new Error(`the workspace is not built (missing ${unbuilt.join(", ")}): run pnpm build first`);
  const assets = options.installerAssets ?? join(workspace, INSTALLER_ASSETS);
  for (const f of ["install.sh", "umbra.yaml", "systemd"]) {
    if (!existsSync(join(assets, f))) throw new Error(`${join(assets, f)} is missing`);
  }
  const missing = await missingCompilers(toolchain);
  if (missing.length > 0) {
    throw new Error(
      toolchain
        ? `building for linux-${target.arch} on ${process.arch} needs the cross compilers ${missing.join(", ")}: install Debian's ${toolchain.debianPackage} (apt-get install ${toolchain.debianPackage}), or run scripts/arm64-toolchain.sh`
        : `building native addons needs ${missing.join(", ")} (python3, make and g++)`,
    );
  }

  const rootPkg = JSON.parse(readFileSync(join(workspace, "package.json"), "utf8")) as { version: string };
  const name = `umbra-${rootPkg.version}-linux-${target.arch}`;
  const stage = mkdtempSync(join(tmpdir(), "umbra-bundle-"));
  const root = join(stage, name);
  const app = join(root, "app");
  try {
    log(`staging the compiled workspace in ${root}`);
    const packages = stageWorkspace(workspace, app);

    log("installing production dependencies from the lockfile (pnpm install --prod)");
    const pnpm = pnpmCommand();
    try {
      await run(
        pnpm.cmd,
        [...pnpm.pre, "install", "--prod", "--frozen-lockfile", "--ignore-scripts", "--prefer-offline", "--config.package-import-method=copy", "--config.confirmModulesPurge=false", "--reporter=silent"],
        { cwd: app, env: { ...process.env, CI: "1" }, maxBuffer: 64 << 20 },
      );
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message?: string };
      throw new Error(`pnpm install --prod failed in the staging folder:\n${(e.stderr || e.stdout || e.message || "").trim().split("\n").slice(-10).join("\n")}`);
    }

    const runtime = await fetchNodeRuntime(target, options.cacheDir ?? join(workspace, "node_modules", ".cache", "umbra-bundle"), log);
    const deps = storePackages(app);
    const native: BundleMeta["native"] = [];
    for (const d of deps.filter((p) => p.name === "better-sqlite3")) {
      const addon = await compileAddon(d.dir, target, toolchain, runtime.dir, log);
      native.push({ path: relative(root, addon), arch: target.arch });
    }
    for (const d of deps.filter((p) => PRUNED_PACKAGES.has(p.name))) {
      const files: string[] = [];
      walk(d.dir, (f) => files.push(relative(d.dir, f)), (n) => n === "node_modules");
      for (const f of filesToPrune(d.name, target.arch, files)) rmSync(join(d.dir, f), { force: true });
    }
    removeEmptyDirs(join(app, "node_modules"));

    copyWithMode(join(runtime.dir, "bin", "node"), join(root, "node", "bin", "node"));
    chmodSync(join(root, "node", "bin", "node"), 0o755);
    if (existsSync(join(runtime.dir, "LICENSE"))) copyWithMode(join(runtime.dir, "LICENSE"), join(root, "node", "LICENSE"));

    copyWithMode(join(assets, "install.sh"), join(root, "install.sh"));
    chmodSync(join(root, "install.sh"), 0o755);
    copyWithMode(join(assets, "umbra.yaml"), join(root, "config", "umbra.yaml"));
    walk(join(assets, "systemd"), (f) => copyWithMode(f, join(root, "systemd", relative(join(assets, "systemd"), f))));
    mkdirSync(join(root, "bin"), { recursive: true });
    writeFileSync(join(root, "bin", "umbra"), UMBRA_WRAPPER, { mode: 0o755 });

    const binaries = checkNativeBinaries(root, target);
    for (const b of binaries) if (b.path.endsWith(".node") && !native.some((n) => n.path === b.path)) native.push({ path: b.path, arch: target.arch });
    log(`native binaries, all linux-${target.arch}: ${binaries.map((b) => b.path.split("/").pop()).join(", ")}`);

    const dependencies: Record<string, string> = {};
    for (const d of deps) dependencies[d.name] = dependencies[d.name] && dependencies[d.name] !== d.version ? `${dependencies[d.name]}, ${d.version}` : d.version;
    const meta: BundleMeta = {
      name: "umbra",
      version: rootPkg.version,
      commit: await gitCommit(workspace),
      arch: target.arch,
      node: { version: runtime.version, package: runtime.spec },
      packages,
      dependencies,
      native: native.sort((a, b) => a.path.localeCompare(b.path)),
      builtAt: new Date().toISOString(),
    };
    log("sealing: manifest.json and SHA256SUMS");
    const manifest = await sealBundle(root, meta);

    mkdirSync(options.outDir, { recursive: true });
    const tarball = join(options.outDir, `${name}.tar.gz`);
    log(`packing ${tarball}`);
    await tar.c({ gzip: { level: 6 }, file: tarball, cwd: stage, portable: true }, [name]);
    const result: BuildResult = { name, tarball, sizeBytes: statSync(tarball).size, manifest };
    if (options.keepStage) result.stage = root;
    return result;
  } finally {
    if (!options.keepStage) rmSync(stage, { recursive: true, force: true });
  }
}

function removeEmptyDirs(dir: string): boolean {
  let empty = true;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory() && removeEmptyDirs(p)) rmSync(p, { recursive: true });
    else empty = false;
  }
  return empty;
}
