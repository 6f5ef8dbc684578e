// umbra start: registers the stack's flags; the stack itself is in ../start/
// (imported only when it runs).
import { Option, type Command } from "commander";
import { WORKSPACE_ROOT, hilPackageRoot } from "../paths.js";
import { absolutePaths, checkStartOptions, START_OPTIONS, type RawStartOptions } from "../start/options.js";
import { action, type CommandContext } from "./common.js";

export function registerStart(program: Command, ctx: CommandContext): void {
  const roots = { root: WORKSPACE_ROOT, hilRoot: hilPackageRoot() };
  const start = program
    .command("start")
    .description("run the payload stack: bus hub, HIL environment (or --platform linux), TTC, gateway and the services, until Ctrl-C")
    .helpOption("-h, --help", "show this help");
  for (const spec of START_OPTIONS) {
    const option = new Option(spec.flags, spec.description);
    if (spec.default) option.default(spec.default(roots));
    start.addOption(option);
  }
  start.addHelpText(
    "after",
    `
Logs JSON lines (UMBRA_LOG_LEVEL sets the level) until Ctrl-C or --duration, then stops the
services, writes the HIL report and logs a "summary: ..." line. Exit status 1 if a service
exited on its own, 2 for a bad option, scenario or key file.

Examples:
  umbra start
  umbra start --demo --duration 60
  umbra start --gateway-port 0 --raw-tcp-port 10025 --no-workload
  umbra start --platform linux --keys /etc/umbra/keys.json --data /var/lib/umbra`,
  );
  start.action(
    action(ctx, async (raw: RawStartOptions) => {
      const options = absolutePaths(checkStartOptions({ ...raw, gatewayPortGiven: start.getOptionValueSource("gatewayPort") === "cli" }), ctx.io.cwd);
      // Loaded here, not at the top: the client commands need none of the stack.
      const { runStack } = await import("../start/stack.js");
      return runStack(options, WORKSPACE_ROOT);
    }),
  );
}
