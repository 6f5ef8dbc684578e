// umbra bundle: builds the deployable tarball for a Linux payload computer
// (packages/bundle does the work; docs/deploy.md says how to install it).
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { CliError, EXIT_OK, EXIT_USAGE } from "../errors.js";
import { WORKSPACE_ROOT } from "../paths.js";
import { action, printJson, type CommandContext } from "./common.js";

interface BundleFlags {
  arch: string;
  out?: string;
  keepStage?: boolean;
  json?: boolean;
}

export function registerBundle(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command("bundle")
    .description("build the deployable bundle for a Linux payload computer: compiled code, production dependencies, native addons and Node.js for the target CPU, config, systemd units, installer, manifest with checksums")
    .requiredOption("--arch <arch>", "target CPU: arm64 (aarch64 boards) or x64")
    .option("--out <dir>", "where the tarball goes (default: bundles/ in the workspace)")
    .option("--keep-stage", "keep the unpacked bundle folder and print where it is")
    .option("--json", "print one JSON document instead of text, for scripts")
    .addHelpText(
      "after",
      `
Needs a built workspace (pnpm build) and, for another architecture than this machine's,
Debian's cross compilers (arm64: apt-get install g++-aarch64-linux-gnu).

Examples:
  umbra bundle --arch arm64
  umbra bundle --arch x64 --out /tmp/bundles`,
    )
    .action(
      action(ctx, async (flags: BundleFlags) => {
        // Loaded here, not at the top: only this command needs the builder and its dependencies.
        const { buildBundle, targetFor } = await import("@umbra/bundle");
        try {
          targetFor(flags.arch);
        } catch (err) {
          throw new CliError(`--arch: ${(err as Error).message}`, EXIT_USAGE);
        }
        const outDir = flags.out ? resolve(io.cwd, flags.out) : join(WORKSPACE_ROOT, "bundles");
        let result;
        try {
          result = await buildBundle({ workspace: WORKSPACE_ROOT, arch: flags.arch, outDir, keepStage: flags.keepStage === true, log: flags.json ? () => {} : (line) => io.out(`bundle: ${line}`) });
        } catch (err) {
          throw new CliError(err instanceof Error ? err.message : String(err));
        }
        const m = result.manifest;
        if (flags.json) {
          printJson(io, { tarball: result.tarball, sizeBytes: result.sizeBytes, stage: result.stage, version: m.version, commit: m.commit, arch: m.arch, node: m.node, files: Object.keys(m.files).length, native: m.native });
        } else {
          io.out(`built ${result.tarball} (${(result.sizeBytes / 1048576).toFixed(1)} MiB): umbra ${m.version} (${m.commit.slice(0, 12)}) for linux-${m.arch}, Node.js ${m.node.version}, ${Object.keys(m.files).length} files`);
          if (result.stage) io.out(`unpacked bundle kept in ${result.stage}`);
          io.out("install on the board: tar xzf the tarball, then sudo ./install.sh in its folder (docs/deploy.md)");
        }
        return EXIT_OK;
      }),
    );
}
