// umbra start: registers the stack's flags; the stack itself is in ../start/
// (imported only when it runs).
import { Option, type Command } from "commander";
import { WORKSPACE_ROOT } from "../paths.js";
import { checkStartOptions, START_OPTIONS, type RawStartOptions } from "../start/options.js";
import { action, type CommandContext } from "./common.js";

export function registerStart(program: Command, ctx: CommandContext): void {
  const start = program
    .command("start")
    .description("run the payload: the supervisor and every service in its own process, against the embedded HIL environment in simulated time (or --platform linux)")
    .helpOption("-h, --help", "show this help");
  for (const spec of START_OPTIONS) {
    start.addOption(new Option(spec.flags, spec.description));
  }
  start.addHelpText(
    "after",
    `
Prints where the gateway listens and a running status line (simulated time, mode, services up,
battery, eclipse/SAA/contact, jobs, restarts and resets) until the scenario ends, --duration
passes or Ctrl-C; then stops the payload and prints a summary (also written to
<reports>/summary.json). The payload's own logs go to <run>/logs/ unless --verbose.
Exit status 1 if the payload could not be kept running, 2 for a bad option, configuration or key file.

Examples:
  umbra start
  umbra start --duration 120 --json
  umbra start --config config/umbra.yaml --speed 30 --gateway-port 0 --raw-tcp-port 10025
  umbra start --platform linux --keys /etc/umbra/keys.json --data /var/lib/umbra`,
  );
  start.action(
    action(ctx, async (raw: RawStartOptions) => {
      const request = checkStartOptions(raw);
      // Loaded here, not at the top: the client commands need none of the stack.
      const { runPayload } = await import("../start/launcher.js");
      return runPayload(request, WORKSPACE_ROOT, ctx.io);
    }),
  );
}
