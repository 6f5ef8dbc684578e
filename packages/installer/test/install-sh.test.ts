// assets/install.sh, run as an operator runs it on the board: it checks
// SHA256SUMS with the system's sha256sum before the bundled node runs at all,
// then the architecture against uname -m, then hands over to the compiled
// installer. The fixture bundle carries the real install.sh and the real
// compiled installer (packages/installer/dist: pnpm build first); its
// node/bin/node is a script that runs this Node.
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessManager } from "../src/service-manager.js";
import { INSTALLER_ROOT, makeBundle } from "./fixtures.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "umbra-install-sh-")));
const layout = { prefix: join(root, "opt"), etc: join(root, "etc"), state: join(root, "state"), unitDir: join(root, "units") };
const manager = new ProcessManager(layout);
afterAll(async () => {
  await manager.stop();
  rmSync(root, { recursive: true, force: true });
});

function installSh(bundle: string) {
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin" };
  const args = ["--prefix", layout.prefix, "--etc", layout.etc, "--state", layout.state, "--unit-dir", layout.unitDir, "--manager", "process", "--health-timeout", "5", "--health-hold", "0"];
  // From another folder: install.sh finds its own.
  return spawnSync("sh", [join(bundle, "install.sh"), ...args], { cwd: root, env, encoding: "utf8", timeout: 60_000 });
}

describe("install.sh", () => {
  it.runIf(existsSync(join(INSTALLER_ROOT, "dist/main.js")))("installs a good bundle through the bundled node and installer", async () => {
    const bundle = join(root, "umbra-1.0.0-linux");
    await makeBundle(bundle, "1.0.0", { withInstaller: true, meta: { commit: "abcdef0123456789abcdef0123456789abcdef01" } });
    const r = installSh(bundle);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/umbra 1\.0\.0 \(abcdef012345\) .*: verified/);
    expect(r.stdout).toMatch(/1\.0\.0-abcdef0 is healthy/);
    expect(readlinkSync(join(layout.prefix, "current"))).toBe("releases/1.0.0-abcdef0");
    expect(await manager.running()).toBeGreaterThan(0);
  });

  it("stops at a damaged file before running the bundled node, naming the file", async () => {
    const bundle = join(root, "damaged");
    await makeBundle(bundle, "1.1.0", { withInstaller: true });
    appendFileSync(join(bundle, "node/bin/node"), "# tampered\n");
    const r = installSh(bundle);
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/node\/bin\/node: FAILED/);
    expect(r.stderr).toMatch(/install\.sh: the bundle in .*damaged is damaged: the files listed above do not match SHA256SUMS/);
  });

  it("stops at the wrong architecture with a message saying which bundle to use", async () => {
    const other = process.arch === "arm64" ? "x64" : "arm64";
    const board = process.arch === "arm64" ? "arm64" : "x64";
    const bundle = join(root, "other-arch");
    await makeBundle(bundle, "1.2.0", { withInstaller: true, meta: { arch: other } });
    const r = installSh(bundle);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`install.sh: this bundle is for linux-${other}, but this board is ${board}: use the umbra-*-linux-${board}.tar.gz bundle\n`);
  });

  it("refuses a folder that is not a bundle", () => {
    const r = spawnSync("sh", [join(INSTALLER_ROOT, "assets/install.sh")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is not an unpacked Umbra bundle \(SHA256SUMS or manifest\.json missing\)/);
  });
});
