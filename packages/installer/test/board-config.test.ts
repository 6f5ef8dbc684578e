// The board's default configuration (assets/umbra.yaml, installed as
// /etc/umbra/umbra.yaml) is valid for the supervisor as shipped and once
// relocated for another layout, and says what a board needs: the linux
// platform, state under /var/lib/umbra, runtime under /run/umbra, keys in
// /etc/umbra. Read with the supervisor's own loader.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPayloadConfig } from "../../supervisor/src/config/index.js";
import { relocate } from "../src/units.js";
import { ASSETS } from "./fixtures.js";
import { readFileSync } from "node:fs";

const tmp = mkdtempSync(join(tmpdir(), "umbra-board-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("assets/umbra.yaml", () => {
  it("is a valid payload configuration for a linux board", async () => {
    const c = await loadPayloadConfig(join(ASSETS, "umbra.yaml"), { cwd: "/nonexistent" });
    expect(c.platform).toBe("linux");
    expect(c.paths.data).toBe("/var/lib/umbra/data");
    expect(c.paths.run).toBe("/run/umbra");
    expect(c.paths.keys).toBe("/etc/umbra/keys.json");
    expect(c.paths.reports).toBe("/var/lib/umbra/reports");
    expect(c.bus.socket).toBe("/run/umbra/bus.sock");
    expect(c.services.counter.enabled).toBe(false);
    for (const s of ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"] as const) expect(c.services[s].enabled, s).toBe(true);
    expect(c.watchdog).toEqual({ enabled: true, timeoutS: 60, kickIntervalS: 10 });
    expect(c.gateway.host).toBe("127.0.0.1");
  });

  it("stays valid relocated for another --prefix/--etc/--state", async () => {
    const file = join(tmp, "umbra.yaml");
    writeFileSync(file, relocate(readFileSync(join(ASSETS, "umbra.yaml"), "utf8"), { prefix: "/srv/umbra", etc: "/srv/etc", state: "/srv/state", unitDir: null }));
    const c = await loadPayloadConfig(file, { cwd: "/nonexistent" });
    expect(c.paths.keys).toBe("/srv/etc/keys.json");
    expect(c.paths.data).toBe("/srv/state/data");
    expect(c.paths.run).toBe("/run/umbra");
  });
});
