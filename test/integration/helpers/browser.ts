// Whether the browser tests run here: they drive Debian's chromium
// (/usr/bin/chromium) with playwright-core. With UMBRA_BROWSER_TESTS=1 (CI,
// after scripts/install-chromium.sh) they must run and fail clearly when
// chromium is missing; otherwise they run when chromium is installed and are
// skipped, saying why, when it is not, so `pnpm test` passes on a fresh
// machine.
import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";

export type BrowserGate = { run: true; required: boolean } | { run: false; reason: string };

export function browserGate(env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = existsSync): BrowserGate {
  if (env["UMBRA_BROWSER_TESTS"] === "1") return { run: true, required: true };
  if (exists(CHROMIUM)) return { run: true, required: false };
  return { run: false, reason: `${CHROMIUM} is not installed (scripts/install-chromium.sh installs it; UMBRA_BROWSER_TESTS=1 makes this test required)` };
}

/** Throws the message CI should show when chromium is required and missing. */
export function requireChromium(exists: (p: string) => boolean = existsSync): void {
  if (!exists(CHROMIUM)) throw new Error(`UMBRA_BROWSER_TESTS=1 but ${CHROMIUM} is missing: install it with scripts/install-chromium.sh (Debian's chromium package)`);
}
