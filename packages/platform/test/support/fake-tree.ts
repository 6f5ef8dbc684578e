// Fake sysfs and /dev trees in a temp folder, written from a plain object:
// a string is a file, an object a directory, link() a symlink, fifo() a named
// pipe, file(content, mode) a file with a mode.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const SYMLINK = Symbol("symlink");
const FIFO = Symbol("fifo");
const FILE = Symbol("file");

export interface SymlinkNode {
  [SYMLINK]: string;
}
export interface FifoNode {
  [FIFO]: true;
}
export interface FileNode {
  [FILE]: { content: string; mode: number };
}
export type TreeNode = string | SymlinkNode | FifoNode | FileNode | Tree;
export interface Tree {
  [name: string]: TreeNode;
}

export const link = (target: string): SymlinkNode => ({ [SYMLINK]: target });
export const fifo = (): FifoNode => ({ [FIFO]: true });
export const file = (content: string, mode: number): FileNode => ({ [FILE]: { content, mode } });

async function write(dir: string, tree: Tree): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, node] of Object.entries(tree)) {
    const path = join(dir, name);
    if (typeof node === "string") await fs.writeFile(path, node);
    else if (SYMLINK in node) await fs.symlink((node as SymlinkNode)[SYMLINK], path);
    else if (FIFO in node) execFileSync("mkfifo", [path]);
    else if (FILE in node) {
      const { content, mode } = (node as FileNode)[FILE];
      await fs.writeFile(path, content);
      await fs.chmod(path, mode);
    } else await write(path, node as Tree);
  }
}

export interface FakeTree {
  readonly root: string;
  readonly sysRoot: string;
  readonly devRoot: string;
  /** Absolute path of a path relative to the root ("sys/class/..."). */
  path(relative: string): string;
  /** Writes (or replaces) one file, making folders as needed. */
  set(relative: string, content: string): Promise<void>;
  read(relative: string): Promise<string>;
  remove(relative: string): Promise<void>;
  /** Adds more of a tree under a folder. */
  add(relative: string, tree: Tree): Promise<void>;
  cleanup(): Promise<void>;
}

/** Writes `tree` into a fresh temp folder; "sys" and "dev" under it are the roots. */
export async function makeTree(tree: Tree): Promise<FakeTree> {
  const root = await fs.mkdtemp(join(tmpdir(), "umbra-platform-"));
  await write(root, tree);
  await fs.mkdir(join(root, "sys"), { recursive: true });
  await fs.mkdir(join(root, "dev"), { recursive: true });
  const path = (relative: string) => join(root, relative);
  return {
    root,
    sysRoot: path("sys"),
    devRoot: path("dev"),
    path,
    async set(relative, content) {
      await fs.mkdir(dirname(path(relative)), { recursive: true });
      await fs.rm(path(relative), { recursive: true, force: true });
      await fs.writeFile(path(relative), content);
    },
    read: (relative) => fs.readFile(path(relative), "utf8"),
    remove: (relative) => fs.rm(path(relative), { recursive: true, force: true }),
    add: (relative, more) => write(path(relative), more),
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}

/** A board as the kernel shows it: two thermal zones, two cpufreq policies (cpu* symlinked to them), an INA219, a battery, two EDAC controllers, a watchdog. */
export function boardTree(): Tree {
  return {
    sys: {
      class: {
        thermal: {
          thermal_zone0: { type: "cpu-thermal\n", temp: "45250\n" },
          thermal_zone1: { type: "gpu-thermal\n", temp: "-5000\n" },
          cooling_device0: { type: "fan\n" },
        },
        hwmon: {
          hwmon0: { name: "cpu_thermal\n", temp1_input: "45250\n" },
          hwmon1: { name: "ina219\n", in0_input: "12\n", in1_input: "12034\n", curr1_input: "1520\n", power1_input: "18300000\n", device: link("../../../devices/i2c-1/1-0040") },
        },
        power_supply: {
          ac: { type: "Mains\n", online: "1\n" },
          battery: { type: "Battery\n", capacity: "87\n" },
        },
        watchdog: { watchdog0: { timeout: "30\n", nowayout: "0\n" } },
      },
      devices: {
        "i2c-1": { "1-0040": { name: "ina219\n" }, "1-0041": { name: "ina219\n" } },
        system: {
          cpu: {
            cpufreq: {
              policy0: {
                affected_cpus: "0 1 2 3\n",
                related_cpus: "0 1 2 3\n",
                scaling_available_frequencies: "600000 1000000 1400000 1800000 \n",
                scaling_cur_freq: "1400000\n",
                scaling_max_freq: "1800000\n",
                cpuinfo_min_freq: "600000\n",
                cpuinfo_max_freq: "1800000\n",
              },
              policy4: {
                affected_cpus: "4 5\n",
                related_cpus: "4 5\n",
                scaling_cur_freq: "2000000\n",
                scaling_max_freq: "2400000\n",
                cpuinfo_min_freq: "500000\n",
                cpuinfo_max_freq: "2400000\n",
              },
            },
            cpu0: { cpufreq: link("../cpufreq/policy0") },
            cpu1: { cpufreq: link("../cpufreq/policy0") },
            cpu4: { cpufreq: link("../cpufreq/policy4") },
            online: "0-5\n",
          },
          edac: { mc: { mc0: { ce_count: "3\n", ue_count: "0\n" }, mc1: { ce_count: "18446744073709551615\n", ue_count: "1\n" } } },
        },
      },
    },
    dev: { watchdog: "" },
  };
}
