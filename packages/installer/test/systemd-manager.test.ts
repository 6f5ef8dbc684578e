// The systemd service manager's command lines, with stand-in systemctl and
// journalctl scripts that record what they are asked (no systemd runs the
// test machine): enable, stop-then-start (so the health check cannot reach
// the old payload), and a failed health check that brings systemd's view.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SystemdManager, systemdBooted } from "../src/service-manager.js";

const dir = mkdtempSync(join(tmpdir(), "umbra-systemd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const calls = join(dir, "calls");

function tool(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\necho "${name} $*" >> ${calls}\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const layout = { prefix: join(dir, "opt"), etc: join(dir, "etc"), state: join(dir, "state"), unitDir: join(dir, "units") };

describe("SystemdManager", () => {
  it("enables, restarts as stop + start --no-block, and adds is-active and the journal to a failed health check", async () => {
    writeFileSync(calls, "");
    const systemctl = tool("systemctl", `[ "$1" = is-active ] && echo activating; exit 0`);
    const journalctl = tool("journalctl", `echo "umbra: jobs exited with code 1"`);
    const m = new SystemdManager(layout, { systemctl, journalctl });
    await m.reload();
    await m.restart();
    const release = join(layout.prefix, "releases", "1.0.0-abcdef0");
    mkdirSync(join(release, "bin"), { recursive: true });
    writeFileSync(join(release, "bin/umbra"), `#!/bin/sh\necho "umbra $*" >> ${calls}\necho "not healthy after 1 s: jobs in backoff"\nexit 1\n`);
    chmodSync(join(release, "bin/umbra"), 0o755);
    const h = await m.health(release, 1, 2);
    expect(h.ok).toBe(false);
    expect(h.reason).toBe("not healthy after 1 s: jobs in backoff\numbra.service is activating\nlast lines of its journal:\numbra: jobs exited with code 1");
    const lines = readFileSync(calls, "utf8").trim().split("\n");
    expect(lines).toEqual([
      ...(systemdBooted() ? ["systemctl daemon-reload"] : []),
      "systemctl enable umbra.service",
      "systemctl reset-failed umbra.service",
      "systemctl stop umbra.service",
      "systemctl start --no-block umbra.service",
      `umbra health --config ${layout.etc}/umbra.yaml --timeout 1 --hold 2`,
      "systemctl is-active umbra.service",
      "journalctl -u umbra.service -n 15 --no-pager -o cat",
    ]);
  });

  it("a failing systemctl is an error naming the command and what it said", async () => {
    const systemctl = tool("systemctl-bad", `echo "Failed to start umbra.service: Unit umbra.service not found." >&2; exit 5`);
    await expect(new SystemdManager(layout, { systemctl }).reload()).rejects.toThrow(/systemctl (daemon-reload|enable umbra\.service) failed \(status 5\): Failed to start umbra\.service: Unit umbra\.service not found\./);
  });
});
