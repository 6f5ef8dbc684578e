// The installer for real, on disk, with real processes: fixture releases
// installed side by side, `current` switched atomically, a healthy upgrade, a
// broken one rolled back (the old release's process running again), manual
// and automatic rollback, remove, status; and every kind of bad input refused
// with a clear message and nothing changed.
//
// The payload is run by the process service manager (umbra.service's ExecStart
// as a detached process with a pid file): a real implementation of the same
// interface systemd sits behind on a board.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInstaller, type InstallerIo } from "../src/cli.js";
import { ProcessManager } from "../src/service-manager.js";
import type { Layout } from "../src/layout.js";
import { makeBundle } from "./fixtures.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "umbra-install-")));
const bundles = join(root, "bundles");
const COMMIT1 = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const COMMIT2 = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const COMMIT3 = "3333333ccccccccccccccccccccccccccccccccc";
const COMMIT4 = "4444444ddddddddddddddddddddddddddddddddd";
const R1 = "1.0.0-1111111";
const R2 = "1.1.0-2222222";
const R3 = "1.2.0-3333333";
const R4 = "1.3.0-4444444";

function layoutIn(dir: string): Layout {
  return { prefix: join(dir, "opt"), etc: join(dir, "etc"), state: join(dir, "state"), unitDir: join(dir, "units") };
}

const main = layoutIn(join(root, "board"));
const managers: ProcessManager[] = [];

interface Run {
  code: number;
  out: string;
  err: string;
}

async function umbraInstall(args: string[], layout: Layout = main): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: InstallerIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {}, cwd: root };
  const flags = ["--prefix", layout.prefix, "--etc", layout.etc, "--state", layout.state, "--manager", "process"];
  const [cmd, ...rest] = args;
  const withLayout = cmd === "verify" ? args : [cmd!, ...rest, ...flags, ...(cmd === "remove" || cmd === "status" || cmd === "prove" ? [] : ["--health-timeout", "3", "--health-hold", "0"]), ...(["install", "activate", "rollback", "remove", "prove", "status"].includes(cmd!) ? ["--unit-dir", layout.unitDir!] : [])];
  const code = await runInstaller(withLayout, io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const link = (l: Layout, which: "current" | "previous") => (existsSync(join(l.prefix, which)) || isLink(join(l.prefix, which)) ? readlinkSync(join(l.prefix, which)) : undefined);
function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Which release's payload runs, by its own account (<etc>/running), and whether that process is alive. */
function running(l: Layout): { release: string; alive: boolean } | undefined {
  const f = join(l.etc, "running");
  if (!existsSync(f)) return undefined;
  const [pid, path] = readFileSync(f, "utf8").trim().split(" ");
  let alive = true;
  try {
    process.kill(Number(pid), 0);
  } catch {
    alive = false;
  }
  return { release: path!.slice(path!.lastIndexOf("/") + 1), alive };
}

/** Everything the installer could change, to show that a refusal changed nothing. */
function snapshot(l: Layout): string {
  const list = (d: string) => (existsSync(d) && statSync(d).isDirectory() ? readdirSync(d).sort().join(",") : existsSync(d) ? "file" : "-");
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "-");
  return JSON.stringify({
    current: isLink(join(l.prefix, "current")) ? readlinkSync(join(l.prefix, "current")) : "-",
    previous: isLink(join(l.prefix, "previous")) ? readlinkSync(join(l.prefix, "previous")) : "-",
    top: list(l.prefix),
    releases: list(join(l.prefix, "releases")),
    records: read(join(l.state, "installer/releases.json")),
    config: read(join(l.etc, "umbra.yaml")),
    units: list(l.unitDir!),
  });
}

beforeAll(async () => {
  await makeBundle(join(bundles, "r1"), "1.0.0", { meta: { commit: COMMIT1 } });
  await makeBundle(join(bundles, "r2"), "1.1.0", { meta: { commit: COMMIT2 } });
  await makeBundle(join(bundles, "r3"), "1.2.0", { meta: { commit: COMMIT3 }, behaviour: "start-fails" });
  await makeBundle(join(bundles, "r4"), "1.3.0", { meta: { commit: COMMIT4 } });
  managers.push(new ProcessManager(main));
});

afterAll(async () => {
  for (const m of managers) await m.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("umbra-install: A/B installation with the process service manager", () => {
  it("first install: copies the release, installs config, units and wrapper, switches current, starts it, proves it healthy", async () => {
    const r = await umbraInstall(["install", "--from", join(bundles, "r1")]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/bundle .*r1: umbra 1\.0\.0 \(1111111aaaaa\) for linux-x64|bundle .*r1: umbra 1\.0\.0 \(1111111aaaaa\) for linux-arm64/);
    expect(r.out).toMatch(new RegExp(`release ${R1}: installed in ${main.prefix}/releases/${R1}`));
    expect(r.out).toMatch(/configuration: installed the default .*etc\/umbra\.yaml/);
    expect(r.out).toMatch(/warning: the telecommand key file .*etc\/keys\.json .* does not exist/);
    expect(r.out).toMatch(new RegExp(`${R1} is healthy`));
    expect(link(main, "current")).toBe(`releases/${R1}`);
    expect(link(main, "previous")).toBeUndefined();
    expect(running(main)).toEqual({ release: R1, alive: true });
    // The release is a complete, verifiable copy (manifest and checksums included).
    expect((await umbraInstall(["verify", join(main.prefix, "releases", R1)])).code).toBe(0);
    // The default config and the units are relocated to this layout.
    expect(readFileSync(join(main.etc, "umbra.yaml"), "utf8")).toContain(`keys: ${main.etc}/keys.json`);
    const unit = readFileSync(join(main.unitDir!, "umbra.service"), "utf8");
    expect(unit).toContain(`ExecStart=${main.prefix}/current/bin/umbra serve --config ${main.etc}/umbra.yaml`);
    expect(readFileSync(join(main.unitDir!, "umbra-rollback.service"), "utf8")).toContain(`ExecStart=${main.prefix}/bin/umbra-install rollback --if-unproven`);
    expect(readdirSync(main.unitDir!).sort()).toEqual(["umbra-prove.service", "umbra-rollback.service", "umbra.service"]);
    // The wrapper and the umbra link.
    const wrapper = readFileSync(join(main.prefix, "bin/umbra-install"), "utf8");
    expect(wrapper).toContain(`UMBRA_PREFIX='${main.prefix}'`);
    expect(statSync(join(main.prefix, "bin/umbra-install")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(main.prefix, "bin/umbra"))).toBe("../current/bin/umbra");
    const records = JSON.parse(readFileSync(join(main.state, "installer/releases.json"), "utf8")) as { releases: Record<string, { provenAt?: string }> };
    expect(records.releases[R1]?.provenAt).toMatch(/^\d{4}-/);
  });

  it("never overwrites the operator's configuration", async () => {
    appendFileSync(join(main.etc, "umbra.yaml"), "# the operator's edit\n");
    const r = await umbraInstall(["install", "--from", join(bundles, "r2")]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/configuration: keeping .*etc\/umbra\.yaml/);
    expect(readFileSync(join(main.etc, "umbra.yaml"), "utf8")).toContain("# the operator's edit");
  });

  it("upgrade: the new release is current, the old one previous; only the new one runs", async () => {
    expect(link(main, "current")).toBe(`releases/${R2}`);
    expect(link(main, "previous")).toBe(`releases/${R1}`);
    expect(running(main)).toEqual({ release: R2, alive: true });
    expect(readdirSync(join(main.prefix, "releases")).sort()).toEqual([R1, R2]);
  });

  it("a release that fails to start is rolled back: current and previous as before, the old release running again, exit 3", async () => {
    const r = await umbraInstall(["install", "--from", join(bundles, "r3")]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(new RegExp(`${R3} did not become healthy within 3 s`));
    expect(r.out).toMatch(/not healthy: fixture 1\.2\.0 is not running/);
    expect(r.out).toMatch(new RegExp(`rolled back: ${R2} is current again and healthy; ${R3} stays installed`));
    expect(link(main, "current")).toBe(`releases/${R2}`);
    expect(link(main, "previous")).toBe(`releases/${R1}`);
    expect(running(main)).toEqual({ release: R2, alive: true });
    expect(readFileSync(join(managers[0]!.logPath), "utf8")).toContain("fixture 1.2.0: cannot start");
    const st = await umbraInstall(["status", "--no-health"]);
    expect(st.out).toMatch(new RegExp(`${R3}.*FAILED`));
  });

  it("re-installing the identical release is fine; it is already current", async () => {
    const r = await umbraInstall(["install", "--from", join(bundles, "r2")]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`release ${R2}: already installed .*\\(identical, verified\\)`));
    expect(r.out).toMatch(new RegExp(`${R2} is already the current release`));
    expect(running(main)).toEqual({ release: R2, alive: true });
  });

  it("rollback by hand swaps current and previous and starts the previous release", async () => {
    const r = await umbraInstall(["rollback"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`rolled back: current -> ${R1}; previous -> ${R2}`));
    expect(link(main, "current")).toBe(`releases/${R1}`);
    expect(link(main, "previous")).toBe(`releases/${R2}`);
    expect(running(main)).toEqual({ release: R1, alive: true });
    // And back again.
    expect((await umbraInstall(["activate", R2])).code).toBe(0);
    expect(link(main, "current")).toBe(`releases/${R2}`);
    expect(link(main, "previous")).toBe(`releases/${R1}`);
  });

  it("rollback --if-unproven leaves a proven release alone", async () => {
    const before = snapshot(main);
    const r = await umbraInstall(["rollback", "--if-unproven"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`current release ${R2} was proven healthy .*not rolling back automatically`));
    expect(snapshot(main)).toBe(before);
  });

  it("install --no-start switches without starting; rollback --if-unproven (umbra-rollback.service) then goes back to the proven release; prove proves", async () => {
    const r = await umbraInstall(["install", "--from", join(bundles, "r4"), "--no-start"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/not started \(--no-start\)/);
    expect(link(main, "current")).toBe(`releases/${R4}`);
    expect(link(main, "previous")).toBe(`releases/${R2}`);
    expect(running(main)).toEqual({ release: R2, alive: true }); // untouched
    const back = await umbraInstall(["rollback", "--if-unproven"]);
    expect(back.code).toBe(0);
    expect(link(main, "current")).toBe(`releases/${R2}`);
    expect(link(main, "previous")).toBe(`releases/${R4}`);
    expect(running(main)).toEqual({ release: R2, alive: true });
    // The automatically rolled-back release is marked failed, and never rolled back to automatically.
    expect((await umbraInstall(["status", "--no-health"])).out).toMatch(new RegExp(`${R4}.*FAILED.*rolled back automatically`));
    // Activate it by hand; prove it (what umbra-prove.service does); now it is proven.
    expect((await umbraInstall(["activate", R4])).code).toBe(0);
    const p = await umbraInstall(["prove", "--health-timeout", "3", "--health-hold", "0"]);
    expect(p.out).toMatch(new RegExp(`${R4} is already proven healthy`)); // activate proved it
    expect(running(main)).toEqual({ release: R4, alive: true });
  });

  it("status lists releases, current, previous, proven or failed, and the current release's health (text and JSON)", async () => {
    const t = await umbraInstall(["status"]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(new RegExp(`\\* ${R4.replace(/\./g, "\\.")} +current `));
    expect(t.out).toMatch(new RegExp(`${R2.replace(/\./g, "\\.")} +previous `));
    expect(t.out).toMatch(new RegExp(`health of ${R4}: healthy`));
    const j = JSON.parse((await umbraInstall(["status", "--json", "--verify"])).out) as { current: string; previous: string; releases: { name: string; problems: string[] }[]; health: { ok: boolean } };
    expect(j.current).toBe(R4);
    expect(j.previous).toBe(R2);
    expect(j.health.ok).toBe(true);
    expect(j.releases.map((r) => r.name)).toEqual([R1, R2, R3, R4]);
    expect(j.releases.every((r) => r.problems.length === 0)).toBe(true);
  });

  it("remove deletes a release that is neither current nor previous, and refuses those two", async () => {
    const before = snapshot(main);
    const cur = await umbraInstall(["remove", R4]);
    expect(cur.code).toBe(1);
    expect(cur.err).toMatch(new RegExp(`${R4} is the current release; it cannot be removed`));
    const prev = await umbraInstall(["remove", R2]);
    expect(prev.err).toMatch(new RegExp(`${R2} is the previous release`));
    const unknown = await umbraInstall(["remove", "9.9.9-9999999"]);
    expect(unknown.err).toMatch(/no release 9\.9\.9-9999999 in .* \(installed: 1\.0\.0-1111111, 1\.1\.0-2222222, 1\.2\.0-3333333, 1\.3\.0-4444444\)/);
    const traversal = await umbraInstall(["remove", "../../etc"]);
    expect(traversal.err).toMatch(/"..\/..\/etc" is not a release name/);
    expect(snapshot(main)).toBe(before);
    const ok = await umbraInstall(["remove", R3]);
    expect(ok.code).toBe(0);
    expect(readdirSync(join(main.prefix, "releases")).sort()).toEqual([R1, R2, R4]);
    expect(readFileSync(join(main.state, "installer/releases.json"), "utf8")).not.toContain(R3);
  });
});

describe("umbra-install: bad input is refused with a clear message, and nothing changes", () => {
  async function refused(args: string[], message: RegExp, l: Layout = main): Promise<void> {
    const before = snapshot(l);
    const r = await umbraInstall(args, l);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toMatch(message);
    expect(snapshot(l)).toBe(before);
    if (l === main) expect(running(main)).toEqual({ release: R4, alive: true });
  }

  async function broken(name: string, damage: (dir: string) => void): Promise<string> {
    const dir = join(bundles, name);
    await makeBundle(dir, "2.0.0", { meta: { commit: "5555555eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" } });
    damage(dir);
    return dir;
  }

  it("a tampered, a missing and an extra file", async () => {
    await refused(["install", "--from", await broken("tampered", (d) => appendFileSync(join(d, "bin/umbra"), "\nrm -rf /\n"))], /does not verify; nothing was installed:\n {2}- bin\/umbra: size \d+, manifest says \d+/);
    await refused(["install", "--from", await broken("missing", (d) => unlinkSync(join(d, "config/umbra.yaml")))], /- config\/umbra\.yaml: missing/);
    await refused(["install", "--from", await broken("extra", (d) => writeFileSync(join(d, "app/evil.js"), "x"))], /- app\/evil\.js: extra file, not in the manifest/);
  });

  it("the wrong architecture", async () => {
    const other = process.arch === "arm64" ? "x64" : "arm64";
    const dir = join(bundles, "other-arch");
    await makeBundle(dir, "2.0.0", { meta: { commit: "6666666fffffffffffffffffffffffffffffffff", arch: other } });
    await refused(["install", "--from", dir], new RegExp(`arch: the bundle is built for ${other}, this machine is ${process.arch}`));
  });

  it("traversal in the manifest", async () => {
    const dir = await broken("traversal", (d) => {
      const m = JSON.parse(readFileSync(join(d, "manifest.json"), "utf8")) as { files: Record<string, unknown> };
      m.files["../../../../etc/cron.d/x"] = { sha256: "0".repeat(64), size: 1, mode: 0o644 };
      writeFileSync(join(d, "manifest.json"), JSON.stringify(m));
    });
    await refused(["install", "--from", dir], /files\["..\/..\/..\/..\/etc\/cron\.d\/x"\]: '..' segment in path/);
  });

  it("not a bundle at all", async () => {
    await refused(["install", "--from", join(root, "nowhere")], /manifest\.json: missing \(is this an Umbra bundle\?\)/);
  });

  it("a release name collision: same version and commit, different contents", async () => {
    const dir = join(bundles, "impostor");
    await makeBundle(dir, "1.1.0", { meta: { commit: COMMIT2 }, files: { "app/extra.txt": "not the same release" } });
    await refused(["install", "--from", dir], new RegExp(`a different release is already installed as ${R2}`));
  });

  it("a prefix that is a file, and a current link that is not ours", async () => {
    const odd = layoutIn(join(root, "odd"));
    mkdirSync(join(root, "odd"), { recursive: true });
    writeFileSync(odd.prefix, "I am a file");
    await refused(["install", "--from", join(bundles, "r1")], /--prefix .*\/odd\/opt is a file, not a folder/, odd);
    const foreign = layoutIn(join(root, "foreign"));
    mkdirSync(join(foreign.prefix, "current"), { recursive: true });
    await refused(["install", "--from", join(bundles, "r1")], /\/foreign\/opt\/current is not a symbolic link; move it away/, foreign);
  });

  it("rollback with no previous release", async () => {
    const fresh = layoutIn(join(root, "fresh"));
    const m = new ProcessManager(fresh);
    managers.push(m);
    expect((await umbraInstall(["install", "--from", join(bundles, "r1")], fresh)).code).toBe(0);
    await refused(["rollback"], /no previous release in .* to roll back to; nothing was changed/, fresh);
    await m.stop();
  });

  it("a first install that does not become healthy stays installed, says so, exit 3", async () => {
    const first = layoutIn(join(root, "first"));
    managers.push(new ProcessManager(first));
    const r = await umbraInstall(["install", "--from", join(bundles, "r3")], first);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(new RegExp(`${R3} stays installed as the current release, but it is NOT healthy, and there is no previous release to roll back to`));
    expect(link(first, "current")).toBe(`releases/${R3}`);
  });

  it("another installer at work (the lock)", async () => {
    let holder: ChildProcess | undefined;
    try {
      holder = spawn("sleep", ["30"], { stdio: "ignore" });
      writeFileSync(join(main.prefix, ".lock"), `${holder.pid}\n`);
      await refused(["rollback"], new RegExp(`another umbra-install \\(pid ${holder.pid}\\) is working on this installation`));
      // The automatic rollback does not fight it: the installer at work decides.
      const auto = await umbraInstall(["rollback", "--if-unproven"]);
      expect(auto.code).toBe(0);
      expect(auto.out).toMatch(/another umbra-install .* it checks the health of what it installs and rolls back itself/);
    } finally {
      holder?.kill();
      unlinkSync(join(main.prefix, ".lock"));
    }
    // A lock left by a process that is gone is stale and taken over.
    writeFileSync(join(main.prefix, ".lock"), "999999999\n");
    const r = await umbraInstall(["remove", R1]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(main.prefix, ".lock"))).toBe(false);
  });

  it("prove: a release started outside the installer (systemd at boot) is recorded proven once healthy", async () => {
    const boot = layoutIn(join(root, "boot"));
    const m = new ProcessManager(boot);
    managers.push(m);
    expect((await umbraInstall(["install", "--from", join(bundles, "r1"), "--no-start"], boot)).code).toBe(0);
    const unproven = await umbraInstall(["prove", "--health-timeout", "1", "--health-hold", "0"], boot);
    expect(unproven.code).toBe(3);
    expect(unproven.out).toMatch(new RegExp(`${R1} is not proven: it is not healthy`));
    await m.restart(); // what systemd does at boot
    const p = await umbraInstall(["prove", "--health-timeout", "3", "--health-hold", "0"], boot);
    expect(p.code).toBe(0);
    expect(p.out).toMatch(new RegExp(`${R1} is proven healthy`));
    await m.stop();
  });

  it("usage errors exit 2", async () => {
    for (const [args, message] of [
      [["bogus"], /unknown command "bogus"/],
      [["install", "--if-unproven"], /install does not take --if-unproven/],
      [["rollback", "--from", "x"], /rollback does not take --from/],
      [["install", "--health-timeout", "soon"], /--health-timeout must be a number of seconds/],
      [["install", "--prefix", "/opt/um bra"], /--prefix: "\/opt\/um bra": use a path of letters/],
      [["remove"], /remove needs <release>/],
      [["install", "--manager", "upstart"], /--manager must be systemd, process or auto/],
    ] as [string[], RegExp][]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runInstaller(args, { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {}, cwd: root });
      expect(code, args.join(" ")).toBe(2);
      expect(err.join("\n"), args.join(" ")).toMatch(message);
    }
  });
});
