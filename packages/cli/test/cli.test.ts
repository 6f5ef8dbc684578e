// The program itself, in-process: help, usage errors and their exit codes,
// and errors that need no gateway.
import { describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { recordingIo } from "./support/io.js";

const io = (env: Record<string, string> = {}) => recordingIo({ env, cwd: "/nonexistent-umbra-cwd", now: () => Date.UTC(2026, 5, 1) });

describe("umbra", () => {
  it("--help lists every command, exit 0; no command is a usage error, exit 2", async () => {
    const a = io();
    expect(await runCli(["--help"], a)).toBe(0);
    const help = a.stdout.join("\n");
    for (const c of ["start", "send", "tm", "events", "jobs", "dict", "commands", "status", "users", "hil", "health", "bundle"]) expect(help).toMatch(new RegExp(`\\n  ${c} `));
    expect(await runCli([], io())).toBe(2);
  });

  it("umbra bundle refuses a missing or unknown --arch as a usage error (exit 2) before building anything", async () => {
    const missing = io();
    expect(await runCli(["bundle"], missing)).toBe(2);
    expect(missing.stderr.join("\n")).toMatch(/--arch/);
    for (const arch of ["sparc", "ARM64", "", "../../etc"]) {
      const a = io();
      expect(await runCli(["bundle", "--arch", arch], a), arch).toBe(2);
      expect(a.stderr.join("\n"), arch).toMatch(/--arch: unknown architecture .*expected one of arm64, x64/);
    }
  });

  it("every command has --help", async () => {
    for (const args of [["start"], ["send"], ["tm"], ["tm", "history"], ["tm", "latest"], ["events"], ["jobs"], ["jobs", "show"], ["dict"], ["commands"], ["status"], ["users"], ["users", "add"], ["health"], ["bundle"]]) {
      const a = io();
      expect(await runCli([...args, "--help"], a), args.join(" ")).toBe(0);
      expect(a.stdout.join("\n"), args.join(" ")).toMatch(/^Usage: umbra /);
    }
  });

  it("usage errors exit 2 and say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["bogus"], /unknown command 'bogus'/],
      [["send"], /missing required argument 'service\.command'/],
      [["send", "counter.add", "--timeout", "0", "--token", "t"], /--timeout must be an integer 1\.\.86400/],
      [["tm", "history", "counter.count", "--from", "soon", "--token", "t"], /--from: "soon" is not a time/],
      [["tm", "bad pattern", "--token", "t"], /"bad pattern": name telemetry as service\.name, service\.\* or \*/],
      [["events", "--min-severity", "urgent", "--token", "t"], /--min-severity must be one of info, low, medium, high/],
      [["users", "add", "bob", "--role", "king", "--token", "t"], /argument 'king' is invalid\. Allowed choices are viewer, operator, admin/],
      // The launcher's own flags are checked by it; configuration flags by the configuration, naming the field.
      [["start", "--duration", "0"], /--duration must be a positive number of seconds, got 0/],
      [["start", "--speed", "0"], /command line: hil\.speed: expected a number > 0 and <= 10000, got 0/],
      [["start", "--platform", "windows"], /command line: platform: expected one of hil, linux, got "windows"/],
      [["dict", "--gateway", "ftp://x", "--token", "t"], /--gateway: "ftp:\/\/x" must be an http/],
    ];
    for (const [args, message] of cases) {
      const a = io();
      expect(await runCli(args, a), args.join(" ")).toBe(2);
      expect(a.stderr.join("\n"), args.join(" ")).toMatch(message);
    }
  });

  it("with no token anywhere, says how to get one (exit 2)", async () => {
    const a = io();
    expect(await runCli(["dict", "--gateway", "http://127.0.0.1:9"], a)).toBe(2);
    expect(a.stderr.join("\n")).toMatch(/no gateway token: pass --token <token> or set UMBRA_TOKEN/);
  });
});
