// The bundle's manifest: what a bundle says it is (versions, target
// architecture) and exactly what it contains (every regular file with its
// SHA-256, size and mode; every symbolic link with its target). The bundle
// builder seals a folder with it; the installer verifies a folder against it
// before trusting a byte of it. A manifest read from disk is hostile input:
// it is parsed strictly and every path in it is checked before use.
//
// Integrity, not authenticity: SHA256SUMS covers manifest.json, but nothing
// signs either, so this catches corruption (a bad uplink, a bit flip, a
// truncated copy) and mistakes (the wrong architecture), not an attacker who
// can rewrite both files.
import { readElfHeader } from "./elf.js";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, open, readFile, readdir, readlink, realpath, writeFile, rename } from "node:fs/promises";
import { join, posix, sep } from "node:path";

export const MANIFEST_FILE = "manifest.json";
export const SUMS_FILE = "SHA256SUMS";
export const MANIFEST_FORMAT = 1;
/** A manifest larger than this is refused unread (a real one is a few MiB). */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;
/** At most this many problems are listed one by one; the rest are counted. */
export const MAX_PROBLEMS = 200;

export type BundleArch = "arm64" | "x64";
export const BUNDLE_ARCHES: readonly BundleArch[] = ["arm64", "x64"];

export interface BundleMeta {
  name: "umbra";
  version: string;
  commit: string;
  arch: BundleArch;
  node: { version: string; package: string };
  packages: Record<string, string>;
  dependencies: Record<string, string>;
  native: { path: string; arch: BundleArch }[];
  builtAt: string;
}

export interface BundleFileEntry {
  sha256: string;
  size: number;
  /** Permission bits only (st_mode & 0o777). */
  mode: number;
}

export interface BundleManifest extends BundleMeta {
  format: 1;
  /** Regular files: relative POSIX path -> digest, size, mode (sorted by path). */
  files: Record<string, BundleFileEntry>;
  /** Symbolic links: relative POSIX path -> target as stored (relative, inside the bundle). */
  links: Record<string, string>;
}

export interface VerifyResult {
  ok: boolean;
  /** The parsed manifest, when manifest.json itself was valid (even if the contents did not match). */
  manifest?: BundleManifest;
  problems: string[];
}

export interface VerifyOptions {
  /** The architecture the bundle must be built for; default process.arch; null skips the check. */
  arch?: string | null;
  /** Also check SHA256SUMS against the manifest (default true). */
  sums?: boolean;
}

/** A manifest or bundle that cannot be used; the message names the file and the field or path. */
export class ManifestError extends Error {
  override name = "ManifestError";
}

// ---------------------------------------------------------------------------
// Paths

// Names that sha256sum would escape, or that a shell or a terminal would
// misread, are refused rather than escaped: a bundle has no need for them.
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u001f\u007f\\]/;

/** Why `p` is not an acceptable relative bundle path, or undefined when it is. */
export function badRelativePath(p: string): string | undefined {
  if (typeof p !== "string" || p.length === 0) return "empty path";
  if (p.length > 4096) return "path longer than 4096 characters";
  if (BAD_CHARS.test(p)) return "control character or backslash in path";
  if (p.startsWith("/")) return "absolute path";
  for (const seg of p.split("/")) {
    if (seg === "") return "empty path segment";
    if (seg === "." || seg === "..") return `'${seg}' segment in path`;
    if (seg.length > 255) return "path segment longer than 255 characters";
  }
  return undefined;
}

/** Why symlink `target` stored at `linkPath` would leave the bundle, or undefined when it stays inside. */
export function badLinkTarget(linkPath: string, target: string): string | undefined {
  if (typeof target !== "string" || target.length === 0) return "empty link target";
  if (target.length > 4096) return "link target longer than 4096 characters";
  if (BAD_CHARS.test(target)) return "control character or backslash in link target";
  if (target.startsWith("/")) return `absolute link target '${target}'`;
  const resolved = posix.normalize(posix.join(posix.dirname(linkPath), target));
  if (resolved === ".." || resolved.startsWith("../")) return `link target '${target}' points outside the bundle`;
  return undefined;
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

// ---------------------------------------------------------------------------
// Walking a folder

interface Tree {
  files: Map<string, { size: number; mode: number }>;
  links: Map<string, string>;
  /** Entries that are neither file, folder nor link (devices, sockets, fifos), or have unusable names. */
  odd: string[];
}

async function walk(root: string): Promise<Tree> {
  const tree: Tree = { files: new Map(), links: new Map(), odd: [] };
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel === "" ? root : join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (rel === "" && (e.name === MANIFEST_FILE || e.name === SUMS_FILE)) continue;
      const bad = badRelativePath(r);
      if (bad) {
        tree.odd.push(`${JSON.stringify(r)}: ${bad}`);
        continue;
      }
      // lstat, not the dirent type: the dirent may say "unknown" on some file systems.
      const st = await lstat(join(root, r));
      if (st.isSymbolicLink()) tree.links.set(r, await readlink(join(root, r)));
      else if (st.isDirectory()) await visit(r);
      else if (st.isFile()) tree.files.set(r, { size: st.size, mode: st.mode & 0o7777 });
      else tree.odd.push(`${r}: not a regular file, folder or symbolic link`);
    }
  };
  await visit("");
  return tree;
}

/** SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Runs `fn` over `items` with at most `width` at a time; results in order. */
async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** Where a link really ends up, when it resolves; a chain of links can leave a folder that each link alone stays in. */
async function linkEscapes(rootReal: string, root: string, rel: string): Promise<boolean> {
  try {
    return !isInside(rootReal, await realpath(join(root, rel)));
  } catch {
    return false; // dangling: stays dangling wherever the bundle is copied, and its lexical target was checked
  }
}

// ---------------------------------------------------------------------------
// ELF: the native addons must be built for the bundle's architecture

const ELF_MACHINE: Record<number, BundleArch> = { 183: "arm64", 62: "x64" };

/** The architecture an ELF file is built for, from its header; undefined if not ELF or not arm64/x64. */
export function elfArch(header: Uint8Array): BundleArch | undefined {
  try {
    return ELF_MACHINE[readElfHeader(header).machine];
  } catch {
    return undefined;
  }
}

async function fileElfArch(path: string): Promise<BundleArch | undefined> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(20);
    const { bytesRead } = await fh.read(buf, 0, 20, 0);
    return elfArch(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// Validation (pure)

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const COMMIT_RE = /^(?:[0-9a-f]{7,40}(?:-dirty)?|unknown)$/; // "-dirty": built from a tree with uncommitted changes; "unknown": not built from git
const SHA256_RE = /^[0-9a-f]{64}$/;
const SHORT_TEXT_MAX = 256;

function str(v: unknown, field: string, problems: string[], re?: RegExp, what?: string): string {
  if (typeof v !== "string") {
    problems.push(`${field}: expected a string, got ${describe(v)}`);
    return "";
  }
  if (v.length === 0 || v.length > SHORT_TEXT_MAX) problems.push(`${field}: expected 1 to ${SHORT_TEXT_MAX} characters`);
  else if (re && !re.test(v)) problems.push(`${field}: ${JSON.stringify(v)} is not ${what ?? "valid"}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

function stringRecord(v: unknown, field: string, problems: string[]): Record<string, string> {
  if (!isObject(v)) {
    problems.push(`${field}: expected an object of strings, got ${describe(v)}`);
    return {};
  }
  const out: [string, string][] = [];
  for (const [k, val] of Object.entries(v)) {
    if (k.length === 0 || k.length > SHORT_TEXT_MAX || BAD_CHARS.test(k)) problems.push(`${field}: bad key ${JSON.stringify(k).slice(0, 80)}`);
    else out.push([k, str(val, `${field}.${k}`, problems)]);
  }
  return Object.fromEntries(out);
}

function arch(v: unknown, field: string, problems: string[]): BundleArch {
  if (v !== "arm64" && v !== "x64") problems.push(`${field}: expected "arm64" or "x64", got ${describe(v)}`);
  return v as BundleArch;
}

/** Checks the descriptive part of a manifest; problems name the field. */
export function checkMeta(v: unknown, problems: string[] = []): BundleMeta {
  if (!isObject(v)) {
    problems.push(`expected an object, got ${describe(v)}`);
    return v as unknown as BundleMeta;
  }
  if (v["name"] !== "umbra") problems.push(`name: expected "umbra", got ${describe(v["name"])}`);
  const version = str(v["version"], "version", problems, VERSION_RE, "a version (letters, digits, . + _ -)");
  const commit = str(v["commit"], "commit", problems, COMMIT_RE, "a git commit (7 to 40 lower-case hex digits, optionally -dirty) or unknown");
  const a = arch(v["arch"], "arch", problems);
  let node = { version: "", package: "" };
  if (!isObject(v["node"])) problems.push(`node: expected an object, got ${describe(v["node"])}`);
  else node = { version: str(v["node"]["version"], "node.version", problems), package: str(v["node"]["package"], "node.package", problems) };
  const packages = stringRecord(v["packages"], "packages", problems);
  const dependencies = stringRecord(v["dependencies"], "dependencies", problems);
  const native: BundleMeta["native"] = [];
  if (!Array.isArray(v["native"])) problems.push(`native: expected an array, got ${describe(v["native"])}`);
  else
    v["native"].forEach((n: unknown, i: number) => {
      if (!isObject(n)) return void problems.push(`native[${i}]: expected an object, got ${describe(n)}`);
      const p = typeof n["path"] === "string" ? n["path"] : "";
      const bad = badRelativePath(p);
      if (bad) problems.push(`native[${i}].path: ${bad}: ${JSON.stringify(n["path"])?.slice(0, 80)}`);
      native.push({ path: p, arch: arch(n["arch"], `native[${i}].arch`, problems) });
    });
  const builtAt = str(v["builtAt"], "builtAt", problems);
  if (builtAt && Number.isNaN(Date.parse(builtAt))) problems.push(`builtAt: ${JSON.stringify(builtAt)} is not a date`);
  return { name: "umbra", version, commit, arch: a, node, packages, dependencies, native, builtAt };
}

/**
 * Parses and validates manifest.json's text. Throws ManifestError listing every
 * problem; returns a clean manifest (no extra fields, every path checked).
 */
export function parseManifest(text: string, source = MANIFEST_FILE): BundleManifest {
  if (text.length > MAX_MANIFEST_BYTES) throw new ManifestError(`${source}: larger than ${MAX_MANIFEST_BYTES} bytes`);
  let raw: Json;
  try {
    raw = JSON.parse(text) as Json;
  } catch (err) {
    throw new ManifestError(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  if (!isObject(raw)) throw new ManifestError(`${source}: expected a JSON object, got ${describe(raw)}`);
  if (raw["format"] !== MANIFEST_FORMAT) problems.push(`format: expected ${MANIFEST_FORMAT}, got ${describe(raw["format"])}`);
  const meta = checkMeta(raw, problems);
  const files: [string, BundleFileEntry][] = [];
  if (!isObject(raw["files"])) problems.push(`files: expected an object, got ${describe(raw["files"])}`);
  else
    for (const [p, e] of Object.entries(raw["files"])) {
      const at = `files[${JSON.stringify(p).slice(0, 120)}]`;
      const bad = badRelativePath(p) ?? (p === MANIFEST_FILE || p === SUMS_FILE ? "reserved name" : undefined);
      if (bad) {
        problems.push(`${at}: ${bad}`);
        continue;
      }
      if (!isObject(e)) {
        problems.push(`${at}: expected an object, got ${describe(e)}`);
        continue;
      }
      const { sha256, size, mode } = e;
      if (typeof sha256 !== "string" || !SHA256_RE.test(sha256)) problems.push(`${at}.sha256: expected 64 lower-case hex digits`);
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) problems.push(`${at}.size: expected a non-negative integer`);
      if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o777)
        problems.push(`${at}.mode: expected permission bits 0 to 0o777 (no setuid, setgid or sticky)`);
      files.push([p, { sha256: sha256 as string, size: size as number, mode: mode as number }]);
    }
  const links: [string, string][] = [];
  if (!isObject(raw["links"])) problems.push(`links: expected an object, got ${describe(raw["links"])}`);
  else
    for (const [p, t] of Object.entries(raw["links"])) {
      const at = `links[${JSON.stringify(p).slice(0, 120)}]`;
      const bad = badRelativePath(p) ?? (p === MANIFEST_FILE || p === SUMS_FILE ? "reserved name" : undefined);
      if (bad) {
        problems.push(`${at}: ${bad}`);
        continue;
      }
      if (typeof t !== "string") {
        problems.push(`${at}: expected a string target, got ${describe(t)}`);
        continue;
      }
      const badT = badLinkTarget(p, t);
      if (badT) problems.push(`${at}: ${badT}`);
      links.push([p, t]);
    }
  // One path, one thing: a path cannot be a file and a link, nor sit under a file or a link.
  const all = new Set([...files.map(([p]) => p), ...links.map(([p]) => p)]);
  if (all.size !== files.length + links.length) problems.push("files and links: a path is listed as both a file and a link");
  for (const p of all) {
    for (let i = p.indexOf("/"); i !== -1; i = p.indexOf("/", i + 1)) {
      if (all.has(p.slice(0, i))) {
        problems.push(`${JSON.stringify(p).slice(0, 120)}: lies under ${JSON.stringify(p.slice(0, i))}, which is a file or a link`);
        break;
      }
    }
  }
  for (const n of meta.native ?? []) if (n.path && !files.some(([p]) => p === n.path)) problems.push(`native: ${n.path} is not a file of the bundle`);
  if (problems.length) throw new ManifestError(`${source}: ${capProblems(problems).join("; ")}`);
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  links.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { format: 1, ...meta, files: Object.fromEntries(files), links: Object.fromEntries(links) };
}

function capProblems(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), `... and ${problems.length - MAX_PROBLEMS} more problems`];
}

/** SHA256SUMS' text for a manifest (sha256sum -c format, sorted, manifest.json included). */
export function formatSums(manifest: BundleManifest, manifestSha256: string): string {
  const lines = Object.entries(manifest.files).map(([p, e]) => [p, e.sha256] as const);
  lines.push([MANIFEST_FILE, manifestSha256]);
  lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return lines.map(([p, h]) => `${h}  ${p}\n`).join("");
}

/** manifest.json's text: stable key order, one file per line would be nicer to diff but pretty-printing keeps it readable. */
export function formatManifest(manifest: BundleManifest): string {
  return JSON.stringify(manifest, null, 1) + "\n";
}

// ---------------------------------------------------------------------------
// Sealing and verifying

/**
 * Hashes every regular file and records every symbolic link under `dir`
 * (except manifest.json and SHA256SUMS at its top), then writes manifest.json
 * and SHA256SUMS. Refuses a link that is absolute or leads outside `dir`, and
 * anything that is not a file, folder or link.
 */
export async function sealBundle(dir: string, meta: BundleMeta): Promise<BundleManifest> {
  const metaProblems: string[] = [];
  const m = checkMeta(meta, metaProblems);
  if (metaProblems.length) throw new ManifestError(`bundle metadata: ${metaProblems.join("; ")}`);
  const tree = await walk(dir);
  const problems = [...tree.odd];
  const rootReal = await realpath(dir);
  for (const [p, t] of tree.links) {
    const bad = badLinkTarget(p, t);
    if (bad) problems.push(`${p}: ${bad}`);
    else if (await linkEscapes(rootReal, dir, p)) problems.push(`${p}: link '${t}' resolves outside the bundle`);
  }
  for (const [p, f] of tree.files) if (f.mode & ~0o777) problems.push(`${p}: setuid, setgid or sticky bit set`);
  if (problems.length) throw new ManifestError(`cannot seal ${dir}: ${capProblems(problems).join("; ")}`);
  const paths = [...tree.files.keys()];
  const hashes = await pool(paths, 8, (p) => sha256File(join(dir, p)));
  const files = Object.fromEntries(paths.map((p, i) => [p, { sha256: hashes[i]!, size: tree.files.get(p)!.size, mode: tree.files.get(p)!.mode }]));
  const draft: BundleManifest = { format: 1, ...m, files, links: Object.fromEntries(tree.links) };
  // Round trip through the parser: what we write is exactly what a verifier accepts.
  const text = formatManifest(draft);
  const manifest = parseManifest(text, join(dir, MANIFEST_FILE));
  await writeAtomic(join(dir, MANIFEST_FILE), text);
  const manifestSha = createHash("sha256").update(text).digest("hex");
  await writeAtomic(join(dir, SUMS_FILE), formatSums(manifest, manifestSha));
  return manifest;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

/** Reads and validates `<dir>/manifest.json`; throws ManifestError naming the problem. */
export async function readManifest(dir: string): Promise<{ manifest: BundleManifest; text: string }> {
  const path = join(dir, MANIFEST_FILE);
  let st;
  try {
    st = await lstat(path);
  } catch {
    throw new ManifestError(`${path}: missing (is this an Umbra bundle?)`);
  }
  if (!st.isFile()) throw new ManifestError(`${path}: not a regular file`);
  if (st.size > MAX_MANIFEST_BYTES) throw new ManifestError(`${path}: ${st.size} bytes, larger than ${MAX_MANIFEST_BYTES}`);
  const text = await readFile(path, "utf8");
  return { manifest: parseManifest(text, path), text };
}

/**
 * Verifies the bundle in `dir` against its manifest: the manifest itself
 * (strictly), every file's size, SHA-256 and mode, every link's target,
 * nothing missing and nothing extra, SHA256SUMS consistent with the manifest,
 * the native addons' ELF architecture, and the bundle's architecture against
 * `opts.arch` (default: this machine's). Each problem is one line naming the path.
 */
export async function verifyBundle(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  let manifest: BundleManifest;
  let text: string;
  try {
    ({ manifest, text } = await readManifest(dir));
  } catch (err) {
    if (err instanceof ManifestError) return { ok: false, problems: [err.message] };
    return { ok: false, problems: [`${join(dir, MANIFEST_FILE)}: ${(err as Error).message}`] };
  }
  const problems: string[] = [];
  const want = opts.arch === undefined ? process.arch : opts.arch;
  if (want !== null && manifest.arch !== want)
    problems.push(`arch: the bundle is built for ${manifest.arch}, this machine is ${want} (use the linux-${want} bundle)`);

  let tree: Tree;
  try {
    tree = await walk(dir);
  } catch (err) {
    return { ok: false, manifest, problems: [...problems, `${dir}: cannot read: ${(err as Error).message}`] };
  }
  problems.push(...tree.odd);
  const checks: { path: string; entry: BundleFileEntry }[] = [];
  for (const [p, entry] of Object.entries(manifest.files)) {
    const disk = tree.files.get(p);
    if (!disk) {
      problems.push(tree.links.has(p) ? `${p}: expected a file, found a symbolic link` : `${p}: missing`);
      continue;
    }
    if (disk.size !== entry.size) problems.push(`${p}: size ${disk.size}, manifest says ${entry.size}`);
    else checks.push({ path: p, entry });
    if (disk.mode !== entry.mode) problems.push(`${p}: mode ${disk.mode.toString(8)}, manifest says ${entry.mode.toString(8)}`);
  }
  for (const p of tree.files.keys()) if (!(p in manifest.files)) problems.push(`${p}: extra file, not in the manifest`);
  for (const [p, target] of Object.entries(manifest.links)) {
    const disk = tree.links.get(p);
    if (disk === undefined) problems.push(tree.files.has(p) ? `${p}: expected a symbolic link, found a file` : `${p}: missing symbolic link`);
    else if (disk !== target) problems.push(`${p}: link points to '${disk}', manifest says '${target}'`);
  }
  for (const p of tree.links.keys()) if (!(p in manifest.links)) problems.push(`${p}: extra symbolic link, not in the manifest`);
  if (problems.length === 0) {
    // Lexically every link stays inside (the parser checked); a chain of links must too.
    const rootReal = await realpath(dir);
    for (const p of Object.keys(manifest.links)) if (await linkEscapes(rootReal, dir, p)) problems.push(`${p}: link resolves outside the bundle`);
  }
  const hashes = await pool(checks, 8, async ({ path }) => {
    try {
      return await sha256File(join(dir, path));
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  });
  checks.forEach(({ path, entry }, i) => {
    const h = hashes[i]!;
    if (h.startsWith("error:")) problems.push(`${path}: cannot read: ${h.slice(7)}`);
    else if (h !== entry.sha256) problems.push(`${path}: SHA-256 ${h}, manifest says ${entry.sha256} (changed or corrupted)`);
  });
  for (const n of manifest.native) {
    if (n.arch !== manifest.arch) problems.push(`${n.path}: native addon listed for ${n.arch} in a ${manifest.arch} bundle`);
    if (!tree.files.has(n.path)) continue;
    const elf = await fileElfArch(join(dir, n.path)).catch(() => undefined);
    if (elf !== n.arch) problems.push(`${n.path}: native addon is ${elf ? `built for ${elf}` : "not an arm64/x64 ELF file"}, manifest says ${n.arch}`);
  }
  if (opts.sums !== false) {
    const expected = formatSums(manifest, createHash("sha256").update(text).digest("hex"));
    let sums: string | undefined;
    try {
      const st = await lstat(join(dir, SUMS_FILE));
      sums = st.isFile() && st.size <= MAX_MANIFEST_BYTES ? await readFile(join(dir, SUMS_FILE), "utf8") : undefined;
    } catch {
      sums = undefined;
    }
    if (sums === undefined) problems.push(`${SUMS_FILE}: missing or not a regular file`);
    else if (sums !== expected) problems.push(`${SUMS_FILE}: does not match the manifest (manifest.json or SHA256SUMS changed)`);
  }
  return { ok: problems.length === 0, manifest, problems: capProblems(problems) };
}
