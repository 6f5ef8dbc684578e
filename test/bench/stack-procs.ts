// /proc readings for `pnpm bench stack`: the processes of a running stack
// (everything descended from the launcher), their CPU ticks and their
// resident memory. Linux only, like the payload's board.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Clock ticks per second (utime and stime are counted in them). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** utime + stime, in ticks (all threads of the process). */
  ticks: number;
}

/** /proc/<pid>/stat, or undefined once the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: fields after it start at the last ")".
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(f[1]), pgid: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** VmRSS in kB, or undefined once the process is gone. */
export function readRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Pss in kB from /proc/<pid>/smaps_rollup (shared pages split among the processes that map them), or undefined. */
export function readPssKb(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Every live process descended from `root` (itself included). */
export function descendants(root: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, ProcStat[]>();
  for (const s of all) {
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const self = all.find((s) => s.pid === root);
  if (!self) return [];
  const out: ProcStat[] = [self];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!.pid) ?? []));
  return out;
}

/**
 * The stack's processes by role: "launcher" (the root), "supervisor",
 * "hil", and each service by its package (packages/<name>/dist/main.js);
 * anything else descended from the launcher is "other:<pid>".
 */
export function stackProcesses(launcherPid: number): Map<string, number> {
  const roles = new Map<string, number>();
  for (const s of descendants(launcherPid)) {
    if (s.pid === launcherPid) {
      roles.set("launcher", s.pid);
      continue;
    }
    const script = readCmdline(s.pid).find((a) => a.endsWith(".js")) ?? "";
    let role: string;
    if (script.endsWith("packages/supervisor/dist/main.js")) role = "supervisor";
    else if (script.endsWith("hil/dist/cli.js")) role = "hil";
    else {
      const m = /packages\/([^/]+)\/dist\/main\.js$/.exec(script);
      role = m ? m[1]! : `other:${s.pid}`;
    }
    if (roles.has(role)) role = `${role}:${s.pid}`;
    roles.set(role, s.pid);
  }
  return roles;
}

/** CPU ticks of each pid now (missing once a process is gone). */
export function ticksOf(pids: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) out.set(pid, s.ticks);
  }
  return out;
}
