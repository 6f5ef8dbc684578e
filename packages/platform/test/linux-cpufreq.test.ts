import { afterEach, describe, expect, it } from "vitest";
import { LinuxCpuFreq } from "../src/index.js";
import { boardTree, link, makeTree, type FakeTree, type Tree } from "./support/fake-tree.js";
import { expectPlatformError, faultyFs } from "./support/fs-faults.js";

let tree: FakeTree;
afterEach(async () => {
  await tree?.cleanup();
});

const P = "sys/devices/system/cpu/cpufreq";
const policyFile = (t: FakeTree, policy: string, f: string) => t.path(`${P}/${policy}/${f}`);

function policy(cpus: string, extra: Record<string, string> = {}): Tree {
  return {
    affected_cpus: cpus,
    scaling_cur_freq: "1000000\n",
    scaling_max_freq: "1500000\n",
    cpuinfo_min_freq: "500000\n",
    cpuinfo_max_freq: "1500000\n",
    ...extra,
  };
}

describe("linux cpufreq: reading", () => {
  it("lists policies with their CPUs and ascending steps ([] when the driver lists none)", async () => {
    tree = await makeTree(boardTree());
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    expect(await cpufreq.policies()).toEqual([
      { policy: "policy0", cpus: [0, 1, 2, 3], availableKHz: [600000, 1000000, 1400000, 1800000] },
      { policy: "policy4", cpus: [4, 5], availableKHz: [] },
    ]);
    expect(await cpufreq.currentKHz("policy0")).toBe(1_400_000);
    expect(await cpufreq.maxKHz("policy4")).toBe(2_400_000);
  });

  it("finds policies through cpu*/cpufreq symlinks when cpufreq/policy* is absent, one policy per target", async () => {
    tree = await makeTree({
      sys: {
        devices: {
          system: {
            cpu: {
              store: { policy0: policy("0 1\n"), policy2: policy("2\n") },
              cpu0: { cpufreq: link("../store/policy0") },
              cpu1: { cpufreq: link("../store/policy0") },
              cpu2: { cpufreq: link("../store/policy2") },
              cpu3: {}, // no cpufreq driver for this one
            },
          },
        },
      },
    });
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    expect(await cpufreq.policies()).toEqual([
      { policy: "policy0", cpus: [0, 1], availableKHz: [] },
      { policy: "policy2", cpus: [2], availableKHz: [] },
    ]);
    expect(await cpufreq.currentKHz("policy2")).toBe(1_000_000);
  });

  it("names per-CPU cpufreq folders (old kernels) after their CPU", async () => {
    tree = await makeTree({ sys: { devices: { system: { cpu: { cpu0: { cpufreq: policy("0\n") }, cpu1: { cpufreq: policy("1\n") } } } } } });
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    expect((await cpufreq.policies()).map((p) => [p.policy, p.cpus])).toEqual([
      ["policy0", [0]],
      ["policy1", [1]],
    ]);
  });

  it("says so when there is no cpufreq at all", async () => {
    tree = await makeTree({ sys: { devices: { system: { cpu: { cpu0: {}, online: "0\n" } } } } });
    await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot }).policies(), {
      port: "cpufreq",
      source: tree.path(P),
      reason: `no cpufreq policies: no policy* here and no ${tree.path("sys/devices/system/cpu/cpu*/cpufreq")} (is a cpufreq driver loaded?)`,
    });
  });

  it("falls back to related_cpus when every CPU of a policy is offline", async () => {
    tree = await makeTree(boardTree());
    await tree.set(`${P}/policy4/affected_cpus`, "\n");
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    expect((await cpufreq.policies())[1]).toEqual({ policy: "policy4", cpus: [4, 5], availableKHz: [] });
    await tree.remove(`${P}/policy4/affected_cpus`);
    expect((await cpufreq.policies())[1]!.cpus).toEqual([4, 5]);
    await tree.remove(`${P}/policy4/related_cpus`);
    await expectPlatformError(cpufreq.policies(), {
      port: "cpufreq",
      source: policyFile(tree, "policy4", "affected_cpus"),
      reason: "file is missing (ENOENT), and so is related_cpus",
    });
  });

  it("rejects unknown and path-escaping policy names", async () => {
    tree = await makeTree(boardTree());
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    await expectPlatformError(cpufreq.currentKHz("policy9"), { port: "cpufreq", source: tree.path(P), reason: 'unknown policy "policy9" (have policy0, policy4)' });
    await expectPlatformError(cpufreq.maxKHz("../policy0"), { port: "cpufreq", source: tree.path(P), reason: 'unknown policy: "../policy0" is not a policyN name' });
  });

  const bad: [string, string, string][] = [
    ["scaling_cur_freq", "", "file is empty"],
    ["scaling_cur_freq", "abc\n", 'not an integer: "abc"'],
    ["scaling_cur_freq", "12x\n", 'not an integer: "12x"'],
    ["scaling_cur_freq", "0\n", "frequency 0 kHz is outside 1..100000000 kHz"],
    ["scaling_cur_freq", "-1400000\n", "frequency -1400000 kHz is outside 1..100000000 kHz"],
    ["scaling_cur_freq", "99999999999999999999\n", "frequency 99999999999999999999… (raw) kHz is outside 1..100000000 kHz"],
    ["scaling_cur_freq", "<unsupported>\n", 'not an integer: "<unsupported>"'],
  ];
  for (const [name, content, reason] of bad) {
    it(`rejects ${name} ${JSON.stringify(content)}`, async () => {
      tree = await makeTree(boardTree());
      await tree.set(`${P}/policy0/${name}`, content);
      await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot }).currentKHz("policy0"), { port: "cpufreq", source: policyFile(tree, "policy0", name), reason });
    });
  }

  it("rejects a garbled step list and a garbled CPU list", async () => {
    tree = await makeTree(boardTree());
    await tree.set(`${P}/policy0/scaling_available_frequencies`, "600000 NaN\n");
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    await expectPlatformError(cpufreq.policies(), {
      port: "cpufreq",
      source: policyFile(tree, "policy0", "scaling_available_frequencies"),
      reason: '"NaN": not an integer: "NaN"',
    });
    await tree.set(`${P}/policy0/scaling_available_frequencies`, "600000\n");
    await tree.set(`${P}/policy0/affected_cpus`, "0 one\n");
    await expectPlatformError(cpufreq.policies(), { port: "cpufreq", source: policyFile(tree, "policy0", "affected_cpus"), reason: 'not a CPU number or range: "one"' });
  });

  it("rejects a missing scaling_cur_freq and one it may not read", async () => {
    tree = await makeTree(boardTree());
    const path = policyFile(tree, "policy0", "scaling_cur_freq");
    await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot, fs: faultyFs({ open: { [path]: "EPERM" } }) }).currentKHz("policy0"), {
      port: "cpufreq",
      source: path,
      reason: "permission denied (EPERM)",
    });
    await tree.remove(`${P}/policy0/scaling_cur_freq`);
    await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot }).currentKHz("policy0"), { port: "cpufreq", source: path, reason: "file is missing (ENOENT)" });
  });
});

describe("linux cpufreq: setMaxKHz", () => {
  it("writes one of the available steps and confirms it by reading back", async () => {
    tree = await makeTree(boardTree());
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    await cpufreq.setMaxKHz("policy0", 1_000_000);
    expect(await tree.read(`${P}/policy0/scaling_max_freq`)).toBe("1000000");
    expect(await cpufreq.maxKHz("policy0")).toBe(1_000_000);
    // Shorter than what was there: the file is truncated, not overwritten in place.
    await cpufreq.setMaxKHz("policy0", 600_000);
    expect(await tree.read(`${P}/policy0/scaling_max_freq`)).toBe("600000");
  });

  it("refuses a value that is not a step, and changes nothing", async () => {
    tree = await makeTree(boardTree());
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    await expectPlatformError(cpufreq.setMaxKHz("policy0", 1_200_000), {
      port: "cpufreq",
      source: policyFile(tree, "policy0", "scaling_max_freq"),
      reason: "1200000 kHz is not one of the available frequencies of policy0 (600000, 1000000, 1400000, 1800000 kHz)",
    });
    expect(await tree.read(`${P}/policy0/scaling_max_freq`)).toBe("1800000\n");
  });

  it("without steps, accepts anything in cpuinfo_min..max and refuses the rest", async () => {
    tree = await makeTree(boardTree());
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    await cpufreq.setMaxKHz("policy4", 1_234_567);
    expect(await cpufreq.maxKHz("policy4")).toBe(1_234_567);
    for (const khz of [400_000, 2_500_000]) {
      await expectPlatformError(cpufreq.setMaxKHz("policy4", khz), {
        port: "cpufreq",
        source: policyFile(tree, "policy4", "scaling_max_freq"),
        reason: `${khz} kHz is outside the hardware range of policy4 (500000..2400000 kHz)`,
      });
    }
    expect(await cpufreq.maxKHz("policy4")).toBe(1_234_567);
    await tree.set(`${P}/policy4/cpuinfo_max_freq`, "fast\n");
    await expectPlatformError(cpufreq.setMaxKHz("policy4", 1_000_000), { port: "cpufreq", source: policyFile(tree, "policy4", "cpuinfo_max_freq"), reason: 'not an integer: "fast"' });
  });

  it("refuses values that are not whole kHz", async () => {
    tree = await makeTree(boardTree());
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot });
    const source = policyFile(tree, "policy0", "scaling_max_freq");
    await expectPlatformError(cpufreq.setMaxKHz("policy0", Number.NaN), { port: "cpufreq", source, reason: "frequency must be a whole number of kHz, got NaN" });
    await expectPlatformError(cpufreq.setMaxKHz("policy0", 600000.5), { port: "cpufreq", source, reason: "frequency must be a whole number of kHz, got 600000.5" });
    await expectPlatformError(cpufreq.setMaxKHz("policy0", -600000), { port: "cpufreq", source, reason: "frequency -600000 kHz is outside 1..100000000 kHz" });
    await expectPlatformError(cpufreq.setMaxKHz("policy0", Number.POSITIVE_INFINITY), { port: "cpufreq", source, reason: "frequency must be a whole number of kHz, got Infinity" });
  });

  it("reports a value the kernel accepted but clamps (read-back differs)", async () => {
    tree = await makeTree(boardTree());
    const path = policyFile(tree, "policy0", "scaling_max_freq");
    const cpufreq = new LinuxCpuFreq({ sysRoot: tree.sysRoot, fs: faultyFs({ replaceWrite: { [path]: "1400000\n" } }) });
    await expectPlatformError(cpufreq.setMaxKHz("policy0", 1_800_000), {
      port: "cpufreq",
      source: path,
      reason: "wrote 1800000 kHz but it reads back 1400000 kHz (another limit, thermal or QoS, may be capping it)",
    });
  });

  it("reports a file it may not write (changing nothing) and the kernel refusing a write", async () => {
    tree = await makeTree(boardTree());
    const path = policyFile(tree, "policy0", "scaling_max_freq");
    await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot, fs: faultyFs({ openWrite: { [path]: "EACCES" } }) }).setMaxKHz("policy0", 600_000), {
      port: "cpufreq",
      source: path,
      reason: "cannot open for writing: permission denied (EACCES)",
    });
    expect(await tree.read(`${P}/policy0/scaling_max_freq`)).toBe("1800000\n");
    await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot, fs: faultyFs({ write: { [path]: "EINVAL" } }) }).setMaxKHz("policy0", 600_000), {
      port: "cpufreq",
      source: path,
      reason: 'the kernel refused "600000" (EINVAL)',
    });
  });

  it("never creates a missing scaling_max_freq", async () => {
    tree = await makeTree(boardTree());
    await tree.remove(`${P}/policy4/scaling_max_freq`);
    await expectPlatformError(new LinuxCpuFreq({ sysRoot: tree.sysRoot }).setMaxKHz("policy4", 1_000_000), {
      port: "cpufreq",
      source: policyFile(tree, "policy4", "scaling_max_freq"),
      reason: "cannot open for writing: file is missing (ENOENT)",
    });
    await expect(tree.read(`${P}/policy4/scaling_max_freq`)).rejects.toThrow(/ENOENT/);
  });
});
