#!/usr/bin/env node
// The umbra command.
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2));
// Streams and keep-alive sockets may hold the loop open; the command is done.
process.exit(code);
