// The manifest: sealing a folder and verifying it, against every way a
// bundle can be wrong (changed, missing, extra, relinked, wrong arch) and
// every way a manifest can be hostile (not JSON, wrong types, traversal,
// absolute paths, too big). Each problem is one line naming the path.
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_MANIFEST_BYTES, ManifestError, badLinkTarget, badRelativePath, elfArch, formatManifest, parseManifest, sealBundle, verifyBundle, type BundleManifest } from "../src/manifest.js";
import { makeBundle, meta } from "./fixtures.js";

const root = mkdtempSync(join(tmpdir(), "umbra-manifest-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let dir: string;
let sealed: BundleManifest;

/** Rewrites manifest.json (and SHA256SUMS, so only the manifest's content is judged). */
async function rewriteManifest(d: string, change: (m: Record<string, unknown>) => unknown): Promise<void> {
  const m = JSON.parse(readFileSync(join(d, "manifest.json"), "utf8")) as Record<string, unknown>;
  const out = change(m) ?? m;
  writeFileSync(join(d, "manifest.json"), typeof out === "string" ? out : JSON.stringify(out));
}

beforeEach(async () => {
  dir = join(root, `b${n++}`);
  sealed = await makeBundle(dir, "1.0.0");
});

describe("sealBundle", () => {
  it("records every file (sha256, size, mode) and link, sorted, and writes SHA256SUMS that sha256sum -c accepts", async () => {
    expect(Object.keys(sealed.files)).toEqual([...Object.keys(sealed.files)].sort());
    expect(sealed.files["bin/umbra"]).toMatchObject({ mode: 0o755 });
    expect(sealed.files["config/umbra.yaml"]).toMatchObject({ mode: 0o644 });
    expect(sealed.files["manifest.json"]).toBeUndefined();
    expect(sealed.links).toEqual({ "app/node_modules/left-pad": ".pnpm/left-pad@1.0.0/node_modules/left-pad" });
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8");
    expect(sums).toMatch(/^[0-9a-f]{64} {2}manifest\.json$/m);
    expect(sums).not.toMatch(/SHA256SUMS/);
    expect(sums.trim().split("\n")).toHaveLength(Object.keys(sealed.files).length + 1);
    expect(spawnSync("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir }).status).toBe(0);
    expect(await verifyBundle(dir)).toEqual({ ok: true, manifest: sealed, problems: [] });
  });

  it("writes the arch as the only one-space-indented top-level line install.sh reads", () => {
    const text = readFileSync(join(dir, "manifest.json"), "utf8");
    expect(text.match(/^ "arch": "([a-z0-9]+)",$/gm)).toEqual([` "arch": "${process.arch}",`]);
  });

  it("refuses absolute links, links out of the bundle (directly or through another link), fifos, and bad metadata", async () => {
    const cases: [string, (d: string) => void, RegExp][] = [
      ["absolute", (d) => symlinkSync("/etc/passwd", join(d, "bin/passwd")), /bin\/passwd: absolute link target '\/etc\/passwd'/],
      ["outside", (d) => symlinkSync("../../x", join(d, "bin/up")), /bin\/up: link target '..\/..\/x' points outside the bundle/],
      [
        "chain",
        (d) => {
          mkdirSync(join(d, "a/b"), { recursive: true });
          symlinkSync("..", join(d, "a/b/up")); // a/b/up -> a (inside)
          symlinkSync("a/b/up/../..", join(d, "escape")); // lexically ".", really the bundle's parent
        },
        /escape: link 'a\/b\/up\/..\/..' resolves outside the bundle/,
      ],
      ["fifo", (d) => execFileSync("mkfifo", [join(d, "bin/pipe")]), /bin\/pipe: not a regular file, folder or symbolic link/],
      ["newline", (d) => writeFileSync(join(d, "bin/bad\nname"), "x"), /control character/],
      ["setuid", (d) => chmodSync(join(d, "bin/umbra"), 0o4755), /bin\/umbra: setuid, setgid or sticky bit set/],
    ];
    for (const [what, make, message] of cases) {
      const d = join(root, `bad-${what}-${n++}`);
      await makeBundle(d, "1.0.0");
      make(d);
      await expect(sealBundle(d, meta()), what).rejects.toThrow(message);
    }
    await expect(sealBundle(dir, meta({ version: "../1" }))).rejects.toThrow(/version: "..\/1" is not a version/);
    await expect(sealBundle(dir, meta({ arch: "riscv64" as never }))).rejects.toThrow(/arch: expected "arm64" or "x64"/);
    await expect(sealBundle(dir, meta({ commit: "xyz" }))).rejects.toThrow(/commit/);
  });
});

describe("verifyBundle", () => {
  it("reports a changed, a missing and an extra file, a changed mode and a relinked link, each naming the path", async () => {
    appendFileSync(join(dir, "config/umbra.yaml"), "# edited\n");
    writeFileSync(join(dir, "app/packages/core/dist/version.txt"), "9.9.9"); // same size, other bytes
    unlinkSync(join(dir, "install.sh"));
    writeFileSync(join(dir, "bin/extra"), "x");
    chmodSync(join(dir, "bin/umbra"), 0o777);
    unlinkSync(join(dir, "app/node_modules/left-pad"));
    symlinkSync(".pnpm", join(dir, "app/node_modules/left-pad"));
    const r = await verifyBundle(dir);
    expect(r.ok).toBe(false);
    expect(r.manifest?.version).toBe("1.0.0");
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config\/umbra\.yaml: size \d+, manifest says \d+$/),
        expect.stringMatching(/^app\/packages\/core\/dist\/version\.txt: SHA-256 [0-9a-f]{64}, manifest says [0-9a-f]{64} \(changed or corrupted\)$/),
        "install.sh: missing",
        "bin/extra: extra file, not in the manifest",
        "bin/umbra: mode 777, manifest says 755",
        "app/node_modules/left-pad: link points to '.pnpm', manifest says '.pnpm/left-pad@1.0.0/node_modules/left-pad'",
      ]),
    );
  });

  it("reports a file replaced by a link and an extra link", async () => {
    unlinkSync(join(dir, "install.sh"));
    symlinkSync("bin/umbra", join(dir, "install.sh"));
    symlinkSync("bin", join(dir, "more"));
    const r = await verifyBundle(dir);
    expect(r.problems).toEqual(expect.arrayContaining(["install.sh: expected a file, found a symbolic link", "more: extra symbolic link, not in the manifest"]));
  });

  it("reports the wrong architecture (unless told not to check), and SHA256SUMS out of step", async () => {
    const other = process.arch === "arm64" ? "x64" : "arm64";
    expect((await verifyBundle(dir, { arch: other })).problems).toEqual([`arch: the bundle is built for ${process.arch}, this machine is ${other} (use the linux-${other} bundle)`]);
    expect((await verifyBundle(dir, { arch: null })).ok).toBe(true);
    appendFileSync(join(dir, "SHA256SUMS"), "0000000000000000000000000000000000000000000000000000000000000000  nothing\n");
    expect((await verifyBundle(dir)).problems).toEqual(["SHA256SUMS: does not match the manifest (manifest.json or SHA256SUMS changed)"]);
    unlinkSync(join(dir, "SHA256SUMS"));
    expect((await verifyBundle(dir)).problems).toEqual(["SHA256SUMS: missing or not a regular file"]);
  });

  it("checks each native addon's ELF machine against the manifest", async () => {
    const arm = join(root, `native-${n++}`);
    await makeBundle(arm, "1.0.0", { nativeElf: { path: "app/node_modules/x/build/Release/x.node", machine: 183 }, meta: { arch: "arm64" } });
    expect((await verifyBundle(arm, { arch: "arm64" })).ok).toBe(true);
    // Lie about it: an x64 binary in an arm64 bundle.
    const lie = join(root, `native-${n++}`);
    await makeBundle(lie, "1.0.0", { nativeElf: { path: "app/x.node", machine: 62 }, meta: { arch: "arm64" } });
    await rewriteManifest(lie, (m) => void ((m["native"] as { arch: string }[])[0]!.arch = "arm64"));
    const r = await verifyBundle(lie, { arch: "arm64", sums: false });
    expect(r.problems).toEqual(["app/x.node: native addon is built for x64, manifest says arm64"]);
    expect(elfArch(Buffer.from("not an elf at all, no"))).toBeUndefined();
  });

  it("refuses hostile manifests with a message naming the field, before looking at any file", async () => {
    const cases: [string, (m: Record<string, unknown>) => unknown, RegExp][] = [
      ["not JSON", () => "{", /not valid JSON/],
      ["an array", () => [], /expected a JSON object, got an array/],
      ["format", (m) => void (m["format"] = 2), /format: expected 1, got number 2/],
      ["traversal", (m) => void ((m["files"] as Record<string, unknown>)["../../etc/passwd"] = { sha256: "0".repeat(64), size: 1, mode: 420 }), /files\["..\/..\/etc\/passwd"\]: '..' segment in path/],
      ["absolute", (m) => void ((m["files"] as Record<string, unknown>)["/etc/passwd"] = { sha256: "0".repeat(64), size: 1, mode: 420 }), /files\["\/etc\/passwd"\]: absolute path/],
      ["dot segment", (m) => void ((m["files"] as Record<string, unknown>)["bin/./x"] = { sha256: "0".repeat(64), size: 1, mode: 420 }), /'\.' segment in path/],
      ["link out", (m) => void ((m["links"] as Record<string, unknown>)["bin/l"] = "../../../etc"), /links\["bin\/l"\]: link target '..\/..\/..\/etc' points outside the bundle/],
      ["absolute link", (m) => void ((m["links"] as Record<string, unknown>)["bin/l"] = "/etc"), /absolute link target/],
      ["wrong types", (m) => void ((m["files"] as Record<string, Record<string, unknown>>)["bin/umbra"]!["size"] = "12"), /files\["bin\/umbra"\]\.size: expected a non-negative integer/],
      ["setuid mode", (m) => void ((m["files"] as Record<string, Record<string, unknown>>)["bin/umbra"]!["mode"] = 0o4755), /mode: expected permission bits/],
      ["bad hash", (m) => void ((m["files"] as Record<string, Record<string, unknown>>)["bin/umbra"]!["sha256"] = "xyz"), /sha256: expected 64 lower-case hex digits/],
      ["file under a file", (m) => void ((m["files"] as Record<string, unknown>)["bin/umbra/x"] = { sha256: "0".repeat(64), size: 1, mode: 420 }), /"bin\/umbra\/x": lies under "bin\/umbra"/],
      ["reserved", (m) => void ((m["files"] as Record<string, unknown>)["SHA256SUMS"] = { sha256: "0".repeat(64), size: 1, mode: 420 }), /reserved name/],
      ["arch", (m) => void (m["arch"] = "sparc"), /arch: expected "arm64" or "x64", got string "sparc"/],
      ["missing fields", (m) => void delete m["node"], /node: expected an object, got undefined/],
      ["native not a file", (m) => void (m["native"] = [{ path: "nope.node", arch: "x64" }]), /native: nope\.node is not a file of the bundle/],
    ];
    for (const [what, change, message] of cases) {
      const d = join(root, `hostile-${n++}`);
      await makeBundle(d, "1.0.0");
      await rewriteManifest(d, change);
      const r = await verifyBundle(d);
      expect(r.ok, what).toBe(false);
      expect(r.manifest, what).toBeUndefined();
      expect(r.problems.join("\n"), what).toMatch(message);
      expect(r.problems[0], what).toMatch(/manifest\.json: /);
    }
  });

  it("refuses an oversized manifest unread, and a missing one", async () => {
    writeFileSync(join(dir, "manifest.json"), Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20));
    expect((await verifyBundle(dir)).problems[0]).toMatch(/manifest\.json: \d+ bytes, larger than/);
    unlinkSync(join(dir, "manifest.json"));
    expect((await verifyBundle(dir)).problems[0]).toMatch(/manifest\.json: missing \(is this an Umbra bundle\?\)/);
  });
});

describe("paths (property)", () => {
  it("an accepted relative path never leaves the bundle, and parseManifest throws only ManifestError on any JSON", () => {
    const seg = fc.oneof(fc.constantFrom("..", ".", "", "a", "b.c", "node_modules", "\\", "\n"), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 6 }), fc.boolean(), (segs, abs) => {
        const p = (abs ? "/" : "") + segs.join("/");
        if (badRelativePath(p) !== undefined) return;
        const norm = join("/bundle", p);
        expect(norm.startsWith("/bundle/")).toBe(true);
        expect(badLinkTarget("x", p)).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseManifest(JSON.stringify(v));
        } catch (err) {
          expect(err).toBeInstanceOf(ManifestError);
        }
      }),
    );
    // A manifest that passes parses back to itself.
    const m = parseManifest(formatManifest({ ...meta(), format: 1, files: { "a/b": { sha256: "a".repeat(64), size: 3, mode: 0o644 } }, links: { "a/c": "b" } }));
    expect(m.links).toEqual({ "a/c": "b" });
  });
});
