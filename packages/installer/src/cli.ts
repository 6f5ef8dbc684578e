// umbra-install's command line: parses and checks the flags, picks the
// service manager, runs one operation, and turns every failure into a message
// and an exit status (0 ok, 1 refused or failed with nothing changed, 2 bad
// usage, 3 switched but not healthy).
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EXIT, activateRelease, formatStatus, install, prove, remove, rollback, status, type InstallerContext } from "./installer.js";
import { DEFAULT_LAYOUT, InstallError, type Layout } from "./layout.js";
import { ManifestError, verifyBundle } from "./manifest.js";
import { ProcessManager, SystemdManager, systemdBooted, type ServiceManager } from "./service-manager.js";

export interface InstallerIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const processInstallerIo = (): InstallerIo => ({
  out: (t) => void process.stdout.write(`${t}\n`),
  err: (t) => void process.stderr.write(`${t}\n`),
  env: process.env,
  cwd: process.cwd(),
});

/** The bundle (or release) this installer runs from: <bundle>/app/packages/installer/dist/main.js. */
export const OWN_BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

export const USAGE = `usage: umbra-install <command> [flags]

commands:
  install [--from <bundle>] [--no-start]    verify a bundle, install it beside the others, switch to it,
                                            restart the payload and wait for it to be healthy; roll back
                                            to the previous release if it is not
  activate <release> [--no-start]           switch to an installed release (same checks and rollback)
  rollback [--if-unproven] [--no-start]     switch back to the previous release (current <-> previous);
                                            --if-unproven: only if current was never proven healthy and
                                            previous was (what umbra-rollback.service runs)
  prove                                     wait for the current release to be healthy, record it proven
                                            (what umbra-prove.service runs at each start)
  status [--json] [--verify] [--no-health]  releases, current, previous, proven or failed, health
  remove <release>                          delete a release that is neither current nor previous
  verify [<bundle or release folder>]       check a bundle against its manifest and checksums

flags (every command that uses them):
  --prefix <dir>          installation root (default /opt/umbra; env UMBRA_PREFIX)
  --etc <dir>             configuration folder (default /etc/umbra; env UMBRA_ETC)
  --state <dir>           state folder (default /var/lib/umbra; env UMBRA_STATE)
  --unit-dir <dir>        where systemd units go (default /etc/systemd/system; env UMBRA_UNIT_DIR;
                          "none": do not install units)
  --manager <m>           systemd | process | auto (default auto: systemd when it runs this machine;
                          env UMBRA_MANAGER); process runs umbra.service's ExecStart as a plain process
  --health-timeout <s>    how long a started release has to become healthy (default 180; prove 600)
  --health-hold <s>       how long it must then stay healthy (default 10; prove 60)
  --from <dir>            the unpacked bundle to install (default: the bundle this installer runs from)

exit status: 0 ok; 1 refused or failed, nothing changed; 2 bad usage; 3 switched to a release that did
not become healthy (rolled back to the previous one, or left in place when there is none)`;

const COMMANDS = ["install", "activate", "rollback", "prove", "status", "remove", "verify"] as const;
type CommandName = (typeof COMMANDS)[number];

const LAYOUT_FLAGS = ["prefix", "etc", "state", "unit-dir", "manager"];
const HEALTH_FLAGS = ["health-timeout", "health-hold"];
const ALLOWED: Record<CommandName, string[]> = {
  install: [...LAYOUT_FLAGS, ...HEALTH_FLAGS, "from", "no-start"],
  activate: [...LAYOUT_FLAGS, ...HEALTH_FLAGS, "no-start"],
  rollback: [...LAYOUT_FLAGS, ...HEALTH_FLAGS, "no-start", "if-unproven"],
  prove: [...LAYOUT_FLAGS, ...HEALTH_FLAGS],
  status: [...LAYOUT_FLAGS, "health-timeout", "json", "verify", "no-health"],
  remove: [...LAYOUT_FLAGS],
  verify: ["json"],
};
const POSITIONALS: Record<CommandName, [min: number, max: number, what: string]> = {
  install: [0, 0, ""],
  activate: [1, 1, "<release>"],
  rollback: [0, 0, ""],
  prove: [0, 0, ""],
  status: [0, 0, ""],
  remove: [1, 1, "<release>"],
  verify: [0, 1, "[<folder>]"],
};

class UsageError extends Error {}

/** Paths end up in unit files and shell scripts: keep them to characters that need no quoting. */
const SAFE_PATH = /^\/[A-Za-z0-9._/+@-]*$/;

function layoutFrom(values: Record<string, string | boolean | undefined>, io: InstallerIo): Layout {
  const pick = (flag: string, env: string, dflt: string): string => {
    const v = values[flag];
    return typeof v === "string" ? v : (io.env[env] ?? dflt);
  };
  const abs = (flag: string, p: string): string => {
    const a = isAbsolute(p) ? resolve(p) : resolve(io.cwd, p);
    if (!SAFE_PATH.test(a)) throw new UsageError(`--${flag}: ${JSON.stringify(p)}: use a path of letters, digits and . _ - + @ only (it is written into unit files)`);
    if (a === "/") throw new UsageError(`--${flag}: not the root folder`);
    return a;
  };
  const unitDir = pick("unit-dir", "UMBRA_UNIT_DIR", DEFAULT_LAYOUT.unitDir!);
  return {
    prefix: abs("prefix", pick("prefix", "UMBRA_PREFIX", DEFAULT_LAYOUT.prefix)),
    etc: abs("etc", pick("etc", "UMBRA_ETC", DEFAULT_LAYOUT.etc)),
    state: abs("state", pick("state", "UMBRA_STATE", DEFAULT_LAYOUT.state)),
    unitDir: unitDir === "" || unitDir === "none" ? null : abs("unit-dir", unitDir),
  };
}

function seconds(values: Record<string, string | boolean | undefined>, flag: string, dflt: number, min: number): number {
  const v = values[flag];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n) || n < min || n > 3600) throw new UsageError(`--${flag} must be a number of seconds, ${min} to 3600, got ${JSON.stringify(v)}`);
  return n;
}

function managerFor(kind: string, layout: Layout, needsStart: boolean, io: InstallerIo): ServiceManager {
  if (kind === "systemd") return new SystemdManager(layout);
  if (kind === "process") return new ProcessManager(layout);
  if (kind !== "auto") throw new UsageError(`--manager must be systemd, process or auto, got ${JSON.stringify(kind)}`);
  if (systemdBooted()) return new SystemdManager(layout);
  if (needsStart) io.err("umbra-install: systemd is not running this machine: running the payload as a plain process (--manager process); it will not start again at boot");
  return new ProcessManager(layout);
}

export interface RunOptions {
  /** Replaces the service manager the flags would pick (tests). */
  manager?: (layout: Layout) => ServiceManager;
}

/** Runs umbra-install with `argv` (after the program name); resolves with the exit status. */
export async function runInstaller(argv: readonly string[], io: InstallerIo = processInstallerIo(), options: RunOptions = {}): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        prefix: { type: "string" },
        etc: { type: "string" },
        state: { type: "string" },
        "unit-dir": { type: "string" },
        manager: { type: "string" },
        "health-timeout": { type: "string" },
        "health-hold": { type: "string" },
        from: { type: "string" },
        "no-start": { type: "boolean" },
        "if-unproven": { type: "boolean" },
        json: { type: "boolean" },
        verify: { type: "boolean" },
        "no-health": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    io.err(`umbra-install: ${(err as Error).message}\n(umbra-install --help for usage)`);
    return EXIT.usage;
  }
  if (values["help"]) {
    io.out(USAGE);
    return EXIT.ok;
  }
  try {
    const [cmdArg, ...rest] = positionals;
    if (!cmdArg) throw new UsageError("a command is required");
    if (!(COMMANDS as readonly string[]).includes(cmdArg)) throw new UsageError(`unknown command ${JSON.stringify(cmdArg)} (commands: ${COMMANDS.join(", ")})`);
    const cmd = cmdArg as CommandName;
    for (const [flag, v] of Object.entries(values)) {
      if (v !== undefined && !ALLOWED[cmd].includes(flag)) throw new UsageError(`${cmd} does not take --${flag}`);
    }
    const [min, max, what] = POSITIONALS[cmd];
    if (rest.length < min) throw new UsageError(`${cmd} needs ${what}`);
    if (rest.length > max) throw new UsageError(`${cmd} takes ${max ? what : "no arguments"}, got ${rest.map((r) => JSON.stringify(r)).join(" ")}`);

    if (cmd === "verify") {
      const dir = resolve(io.cwd, rest[0] ?? OWN_BUNDLE);
      const r = await verifyBundle(dir);
      if (values["json"]) io.out(JSON.stringify({ dir, ok: r.ok, problems: r.problems, manifest: r.manifest ? { ...r.manifest, files: undefined, links: undefined } : undefined }, null, 2));
      else if (r.ok) io.out(`${dir}: verified: umbra ${r.manifest!.version} (${r.manifest!.commit.slice(0, 12)}) for linux-${r.manifest!.arch}, ${Object.keys(r.manifest!.files).length} files, ${Object.keys(r.manifest!.links).length} links`);
      else io.err(`${dir}: does not verify:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`);
      return r.ok ? EXIT.ok : EXIT.failed;
    }

    const layout = layoutFrom(values, io);
    const starts = (cmd === "install" || cmd === "activate" || cmd === "rollback") && !values["no-start"];
    const managerKind = typeof values["manager"] === "string" ? values["manager"] : (io.env["UMBRA_MANAGER"] ?? "auto");
    const manager = options.manager ? options.manager(layout) : managerFor(managerKind, layout, starts, io);
    const isProve = cmd === "prove";
    const ctx: InstallerContext = {
      layout,
      manager,
      log: (line) => io.out(line),
      healthTimeoutS: seconds(values, "health-timeout", isProve ? 600 : cmd === "status" ? 5 : 180, 1),
      healthHoldS: seconds(values, "health-hold", isProve ? 60 : 10, 0),
    };
    const start = !values["no-start"];
    switch (cmd) {
      case "install":
        return (await install(ctx, typeof values["from"] === "string" ? resolve(io.cwd, values["from"]) : OWN_BUNDLE, { start })).code;
      case "activate":
        return (await activateRelease(ctx, rest[0]!, { start })).code;
      case "rollback":
        return (await rollback(ctx, { start, ifUnproven: values["if-unproven"] === true })).code;
      case "prove":
        return (await prove(ctx)).code;
      case "remove":
        return (await remove(ctx, rest[0]!)).code;
      case "status": {
        const s = await status(ctx, { health: !values["no-health"], verify: values["verify"] === true, healthTimeoutS: ctx.healthTimeoutS });
        io.out(values["json"] ? JSON.stringify(s, null, 2) : formatStatus(s));
        return EXIT.ok;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`umbra-install: ${err.message}\n(umbra-install --help for usage)`);
      return EXIT.usage;
    }
    if (err instanceof InstallError || err instanceof ManifestError) {
      io.err(`umbra-install: ${err.message}`);
      return EXIT.failed;
    }
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === "EACCES" || code === "EPERM" ? " (run it as root: sudo)" : "";
    io.err(`umbra-install: ${(err as Error).message}${hint}`);
    return EXIT.failed;
  }
}
