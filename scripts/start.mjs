#!/usr/bin/env node
// `pnpm start` is `umbra start`: the payload stack (bus hub, HIL environment,
// TTC, gateway and the services) from the compiled CLI, with the same
// arguments. The stack itself is in packages/cli/src/start/.
import { runCli } from "../packages/cli/dist/index.js";

process.exit(await runCli(["start", ...process.argv.slice(2)]));
