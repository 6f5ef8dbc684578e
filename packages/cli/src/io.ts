// Where the commands write and what they read from the process, in one
// place, so tests can run the program with their own.
import { createInterface } from "node:readline/promises";
import type { Env } from "./client/config.js";

export interface Io {
  /** A line (or lines) of normal output, newline added. */
  out(text: string): void;
  /** A line of diagnostics or progress, newline added. */
  err(text: string): void;
  /** Whether we may ask the user a question (stdin and stderr are a terminal). */
  interactive: boolean;
  /** Asks a yes/no question on the terminal. */
  confirm(question: string): Promise<boolean>;
  env: Env;
  cwd: string;
  now(): number;
  /** Admin token files to try when no token is given (default: under the current folder, then under the workspace). */
  tokenFiles?: string[];
  /** Aborted on Ctrl-C (SIGINT) while a command follows a stream. */
  interrupt(): AbortSignal;
}

export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    env: process.env,
    cwd: process.cwd(),
    now: () => Date.now(),
    interrupt: () => {
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      return controller.signal;
    },
  };
}
