// @umbra/console, the Node side: where the built operator console is, so the
// gateway can serve it. The console itself is browser code (src/app,
// src/logic) bundled by scripts/build-www.mjs into dist/www; nothing here
// runs in the browser.
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The files every build writes; the console is "built" when all are there. */
export const CONSOLE_FILES = ["index.html", "app.js", "app.css"] as const;

/** This package's folder (dist/index.js and src/index.ts are both one level down). */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Absolute path of the built static folder: <package>/dist/www. */
export function consoleWwwRoot(): string {
  return join(PACKAGE_DIR, "dist", "www");
}

/** Whether `root` (default: consoleWwwRoot()) holds a built console: index.html, app.js and app.css, as files. */
export function consoleBuilt(root: string = consoleWwwRoot()): boolean {
  return CONSOLE_FILES.every((f) => {
    const p = join(root, f);
    try {
      return existsSync(p) && statSync(p).isFile();
    } catch {
      return false;
    }
  });
}
