// What the HIL knows about a local process beyond its pid: its start time
// (so a pid the kernel has since handed to another process is never
// signalled) and the HIL's own process group (so a payload reset never kills
// the board that does the resetting). Linux /proc only; elsewhere these
// return undefined and the checks fall back to the heartbeat stream alone.
import { readFileSync } from "node:fs";

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(pid: number | "self"): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // After ")": state (field 3), ppid (4), pgrp (5), ... starttime (22).
  return text.slice(close + 2).trim().split(/\s+/);
}

/**
 * The process's start time in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), as text: with the pid it names one process for the life
 * of the machine. Undefined when the process does not exist or /proc is absent.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return statFields(pid)?.[19];
}

/** True when /proc can tell process identities apart on this machine. */
export function canIdentifyProcesses(): boolean {
  return statFields("self") !== undefined;
}

/** The HIL's own process group id, or undefined without /proc. */
export function ownProcessGroup(): number | undefined {
  const pgrp = Number(statFields("self")?.[2]);
  return Number.isInteger(pgrp) && pgrp > 0 ? pgrp : undefined;
}

/** The process's state letter (R, S, T for stopped, Z ...), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}
