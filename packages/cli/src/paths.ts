// Where the CLI finds the workspace it was built in: the services' main
// scripts, the HIL package and the default .umbra/ folder.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The workspace root (this file is packages/cli/dist/paths.js once built). */
export const WORKSPACE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The @umbra/hil package folder: resolved through the package, else beside the CLI in the workspace. */
export function hilPackageRoot(): string {
  try {
    return resolve(dirname(fileURLToPath(import.meta.resolve("@umbra/hil"))), "..");
  } catch {
    return join(WORKSPACE_ROOT, "hil");
  }
}
