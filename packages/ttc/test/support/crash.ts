// Shared harness for the crash tests: their fixtures run the compiled code in a
// child process, which is killed with SIGKILL at a chosen moment.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

/** The subdirectories among `subdirs` whose dist/<sub> is missing a .js file or older than src/<sub>. */
function staleDist(subdirs: readonly string[]): string[] {
  return subdirs.filter((sub) => {
    const srcDir = join(packageDir, "src", sub);
    const distDir = join(packageDir, "dist", sub);
    return !readdirSync(srcDir)
      .filter((f) => f.endsWith(".ts"))
      .every((f) => {
        const js = join(distDir, f.replace(/\.ts$/, ".js"));
        return existsSync(js) && statSync(js).mtimeMs >= statSync(join(srcDir, f)).mtimeMs;
      });
  });
}

const describeStale = (stale: readonly string[]): string =>
  `${stale.map((sub) => `packages/ttc/dist/${sub}`).join(", ")} ${stale.length === 1 ? "is" : "are"}`;

/**
 * Fixtures run the compiled code: make sure dist/<sub> is not older than
 * src/<sub> for each of `subdirs`, rebuilding the package with `tsc -b` if it
 * is. For use in beforeAll, with a hook timeout of at least 120 s.
 */
export function ensureDistCurrent(subdirs: readonly string[]): void {
  if (staleDist(subdirs).length === 0) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-b", packageDir], { stdio: "pipe", timeout: 120_000 });
  } catch (error) {
    // Errors elsewhere in the package may fail the build while still emitting the code needed.
    const stale = staleDist(subdirs);
    if (stale.length > 0) {
      throw new Error(`${describeStale(stale)} out of date and tsc -b failed: ${String((error as { stdout?: unknown }).stdout ?? error)}`);
    }
  }
  const stale = staleDist(subdirs);
  if (stale.length > 0) throw new Error(`${describeStale(stale)} out of date: run \`npx tsc -b packages/ttc\``);
}

/**
 * Runs `fixture` (an .mjs file) with `args` in a child Node process, waits for
 * its stdout to start with `readyPrefix`, then kills it with SIGKILL after
 * `killAfterMs`. Rejects if the child exits any other way. Resolves to the
 * complete lines it printed: a line cut by the kill was never acknowledged, so
 * it does not count.
 */
export function runAndKill(fixture: string, args: readonly string[], killAfterMs: number, readyPrefix: string): Promise<string[]> {
  const name = basename(fixture).replace(/\.mjs$/, "").replace(/-/g, " ");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.startsWith(readyPrefix)) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== "SIGKILL") {
        reject(new Error(`${name} exited on its own (code ${code}, signal ${signal}): ${err}`));
        return;
      }
      resolve(out.split("\n").slice(0, -1));
    });
  });
}
