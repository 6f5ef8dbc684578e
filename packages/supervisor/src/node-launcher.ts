// Starts service processes with Node: each is `node <main> <args>` in the
// supervisor's process group (so a reset of the payload computer, which kills
// that group, takes every service with it), its output on the supervisor's.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LaunchedProcess, ProcessExit, ProcessLauncher } from "./process-table.js";
import type { ServiceLaunchSpec } from "./launch-plan.js";

export class NodeLauncher implements ProcessLauncher {
  constructor(
    /** The installation root the mains are relative to. */
    private readonly root: string,
    /** The launch spec of a service, computed at each start (persisted parameters change between starts). */
    private readonly specOf: (service: string) => ServiceLaunchSpec,
  ) {}

  launch(service: string): LaunchedProcess {
    const spec = this.specOf(service);
    const script = join(this.root, spec.main);
    if (!existsSync(script)) throw new Error(`${script} is missing (run pnpm build)`);
    const child = spawn(process.execPath, [script, ...spec.args], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...spec.env } });
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${script}`);
    const pid = child.pid;
    return {
      pid,
      exited,
      kill: (signal) => {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      },
    };
  }
}
