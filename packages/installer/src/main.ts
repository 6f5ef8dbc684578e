#!/usr/bin/env node
// umbra-install: run on the board by the bundle's own Node.js, as
// `node/bin/node app/packages/installer/dist/main.js <command>` (install.sh
// does this after checking SHA256SUMS and the architecture).
import { runInstaller } from "./cli.js";

process.exitCode = await runInstaller(process.argv.slice(2));
