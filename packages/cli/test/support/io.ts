// An Io for running the CLI in a test: what it prints is kept, nothing is
// interactive, and the working folder, environment and clock are the test's.
import type { Io } from "../../src/io.js";

export type RecordingIo = Io & { stdout: string[]; stderr: string[] };

export function recordingIo(options: { env?: Record<string, string>; cwd: string; now: () => number }): RecordingIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    interactive: false,
    confirm: async () => false,
    env: options.env ?? {},
    cwd: options.cwd,
    tokenFiles: [],
    now: options.now,
    interrupt: () => new AbortController().signal,
  };
}
