// What a bundle leaves out of its installed dependencies for one target:
// other platforms' prebuilt binaries and native addons' build inputs. Pure:
// given a package's name and its files, which to delete.
import type { Arch } from "./targets.js";

/** The packages filesToPrune has rules for (the others ship whole). */
export const PRUNED_PACKAGES: ReadonlySet<string> = new Set(["onnxruntime-node", "better-sqlite3"]);

/**
 * Files (relative to the package folder) to delete from `pkg` for `arch`.
 * onnxruntime-node ships CPU binaries for every platform (about 290 MB); a
 * board needs its own (25 MB for linux-arm64). better-sqlite3 is compiled for
 * the target during the build; its C sources and intermediate objects stay
 * behind, its compiled addon goes.
 */
export function filesToPrune(pkg: string, arch: Arch, files: readonly string[]): string[] {
  if (pkg === "onnxruntime-node") {
    return files.filter((f) => {
      const m = /^bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(f);
      return m !== null && !(m[1] === "linux" && m[2] === arch);
    });
  }
  if (pkg === "better-sqlite3") {
    return files.filter((f) => f.startsWith("deps/") || f.startsWith("src/") || (f.startsWith("build/") && f !== "build/Release/better_sqlite3.node"));
  }
  return [];
}
