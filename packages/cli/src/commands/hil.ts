// umbra hil run|validate|campaign: the HIL harness's own CLI (umbra-hil), run
// as a child process with the same arguments, so its options, output and
// exit status are exactly its own.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { constants } from "node:os";
import { CliError } from "../errors.js";
import { hilPackageRoot } from "../paths.js";

/** hil/dist/cli.js, found through the @umbra/hil package (or beside the CLI in the workspace). */
export function hilCliPath(): string {
  return join(hilPackageRoot(), "dist", "cli.js");
}

export const HIL_DESCRIPTION = "HIL harness: run a scenario in fast time and write its report, validate scenario files, or run a fault-injection campaign (umbra hil --help)";

/** Runs umbra-hil with `args`; resolves with its exit status. Ctrl-C goes to it (it writes its report), not to us. */
export function runHil(args: readonly string[]): Promise<number> {
  const cli = hilCliPath();
  if (!existsSync(cli)) return Promise.reject(new CliError(`the HIL CLI is not built (${cli} is missing): run pnpm build`));
  return new Promise<number>((resolve, reject) => {
    const ignore = () => undefined;
    process.on("SIGINT", ignore);
    const child = spawn(process.execPath, [cli, ...args], { stdio: "inherit" });
    child.once("error", (err) => {
      process.off("SIGINT", ignore);
      reject(new CliError(`could not run ${cli}: ${err.message}`));
    });
    child.once("exit", (code, signal) => {
      process.off("SIGINT", ignore);
      const signo = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
      resolve(code ?? (signo ? 128 + signo : 1));
    });
  });
}
