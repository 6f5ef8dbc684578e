// Compiles better-sqlite3's addon for the target with node-gyp: against the
// pinned runtime's own headers (so the ABI matches the Node in the bundle),
// with Debian's cross compilers when the target is another architecture.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Target, Toolchain } from "./targets.js";

const run = promisify(execFile);

/** node-gyp as npm ships it (every Node install has npm). */
export async function findNodeGyp(): Promise<string> {
  const candidates: string[] = [];
  if (process.env["npm_config_node_gyp"]) candidates.push(process.env["npm_config_node_gyp"]);
  try {
    const { stdout } = await run("npm", ["prefix", "-g"]);
    candidates.push(join(stdout.trim(), "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  } catch {
    // fall through to the error below
  }
  candidates.push(join(process.execPath, "..", "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  const found = candidates.find((c) => c.endsWith(".js") && existsSync(c));
  if (!found) throw new Error(`node-gyp not found (looked in ${candidates.join(", ")}); it ships with npm`);
  return found;
}

/** Whether a toolchain's compilers are on PATH; the missing ones. */
export async function missingCompilers(toolchain: Toolchain | undefined): Promise<string[]> {
  const wanted = toolchain ? [toolchain.CC, toolchain.CXX] : ["cc", "c++", "make"];
  const missing: string[] = [];
  for (const cmd of wanted) {
    try {
      await run("sh", ["-c", `command -v "${cmd}"`]);
    } catch {
      missing.push(cmd);
    }
  }
  return missing;
}

export async function compileAddon(packageDir: string, target: Target, toolchain: Toolchain | undefined, nodeDir: string, log: (line: string) => void): Promise<string> {
  const gyp = await findNodeGyp();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (toolchain) Object.assign(env, { CC: toolchain.CC, CXX: toolchain.CXX, LINK: toolchain.LINK, AR: toolchain.AR });
  log(`compiling ${packageDir.split("/").slice(-1)[0]} for linux-${target.arch}${toolchain ? ` with ${toolchain.CXX}` : ""} (about a minute)`);
  try {
    await run(process.execPath, [gyp, "rebuild", "--release", `--arch=${target.arch}`, `--nodedir=${nodeDir}`, "-j", "max"], { cwd: packageDir, env, maxBuffer: 64 << 20 });
  } catch (err) {
    const out = err as { stderr?: string; stdout?: string; message?: string };
    const tail = `${out.stdout ?? ""}\n${out.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`node-gyp could not compile ${packageDir} for ${target.arch}:\n${tail || out.message}`);
  }
  const addon = join(packageDir, "build", "Release", "better_sqlite3.node");
  if (!existsSync(addon)) throw new Error(`node-gyp finished but ${addon} is missing`);
  return addon;
}
