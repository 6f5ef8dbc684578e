// Small hand-made bundles for the installer's tests: the real bundle takes
// minutes to build; these take milliseconds and have the same shape where
// the installer looks (manifest, SHA256SUMS, bin/umbra, systemd/, config/).
//
// The fixture's bin/umbra is a shell script standing in for the CLI:
//   umbra serve --config <file>    the "payload": records its pid and release
//                                  in <config dir>/running and sleeps (or, for
//                                  a broken release, exits 1 at once)
//   umbra health --config <file> --timeout S
//                                  exit 0 once that payload is this release's
//                                  and alive, else 1 after S seconds
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sealBundle, type BundleArch, type BundleManifest, type BundleMeta } from "../src/manifest.js";

export const INSTALLER_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ASSETS = join(INSTALLER_ROOT, "assets");

export function meta(over: Partial<BundleMeta> = {}): BundleMeta {
  return {
    name: "umbra",
    version: "1.0.0",
    commit: "0123456789abcdef0123456789abcdef01234567",
    arch: process.arch as BundleArch,
    node: { version: "20.20.0", package: "node-v20.20.0-linux-x64.tar.xz" },
    packages: { "@umbra/core": "0.1.0", "@umbra/installer": "0.1.0" },
    dependencies: { pino: "9.0.0" },
    native: [],
    builtAt: "2026-11-21T10:00:00.000Z",
    ...over,
  };
}

export type FixtureBehaviour = "healthy" | "start-fails";

const umbraScript = (version: string, behaviour: FixtureBehaviour) => `#!/bin/sh
# fixture release ${version} (${behaviour})
set -eu
here=$(cd "$(dirname "$0")/.." && pwd -P)
cmd=\${1:-}
[ $# -gt 0 ] && shift
config=/nonexistent/umbra.yaml
timeout=5
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    *) shift ;;
  esac
done
dir=$(dirname "$config")
case "$cmd" in
  serve)
    ${behaviour === "start-fails" ? `echo "fixture ${version}: cannot start" >&2; exit 1` : `echo "$$ $here" > "$dir/running"; exec sleep 600`}
    ;;
  health)
    n=0
    limit=$(awk "BEGIN { print int($timeout * 10) }")
    while :; do
      if [ -f "$dir/running" ] && read -r pid path < "$dir/running" && [ "$path" = "$here" ] && kill -0 "$pid" 2>/dev/null; then
        echo "healthy: fixture ${version} (pid $pid)"
        exit 0
      fi
      n=$((n + 1))
      [ "$n" -ge "$limit" ] && break
      sleep 0.1
    done
    echo "not healthy: fixture ${version} is not running"
    exit 1
    ;;
  *) echo "fixture: unknown command $cmd" >&2; exit 2 ;;
esac
`;

const MAIN_UNIT = `[Unit]
Description=fixture payload
StartLimitBurst=5
OnFailure=umbra-rollback.service

[Service]
Type=simple
ExecStart=/opt/umbra/current/bin/umbra serve --config /etc/umbra/umbra.yaml
Environment=FIXTURE=1
Restart=always

[Install]
WantedBy=multi-user.target
`;

export interface FixtureOptions {
  behaviour?: FixtureBehaviour;
  meta?: Partial<BundleMeta>;
  /** Extra files: relative path -> content. */
  files?: Record<string, string>;
  /** Include the real installer (compiled) and a node/bin/node that runs this Node: for install.sh. */
  withInstaller?: boolean;
  /** A fake native addon (an ELF header for this arch) at this path. */
  nativeElf?: { path: string; machine: number };
}

/** Writes a fixture bundle into `dir` (created) and seals it. */
export async function makeBundle(dir: string, version: string, options: FixtureOptions = {}): Promise<BundleManifest> {
  const behaviour = options.behaviour ?? "healthy";
  mkdirSync(dir, { recursive: true });
  const write = (rel: string, text: string | Buffer, mode = 0o644) => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
    chmodSync(join(dir, rel), mode);
  };
  write("bin/umbra", umbraScript(version, behaviour), 0o755);
  write("config/umbra.yaml", `# fixture ${version}\nplatform: linux\npaths:\n  keys: /etc/umbra/keys.json\n  data: /var/lib/umbra/data\n`);
  write("systemd/umbra.service", MAIN_UNIT);
  for (const u of ["umbra-rollback.service", "umbra-prove.service"]) copyFileSync(join(ASSETS, "systemd", u), join(dir, "systemd", u));
  write("install.sh", "#!/bin/sh\n", 0o755);
  write("app/node_modules/.pnpm/left-pad@1.0.0/node_modules/left-pad/index.js", "module.exports = (s) => s;\n");
  mkdirSync(join(dir, "app/node_modules"), { recursive: true });
  symlinkSync(".pnpm/left-pad@1.0.0/node_modules/left-pad", join(dir, "app/node_modules/left-pad"));
  write(`app/packages/core/dist/version.txt`, version);
  for (const [rel, text] of Object.entries(options.files ?? {})) write(rel, text);
  const native: BundleMeta["native"] = [];
  if (options.nativeElf) {
    const h = Buffer.alloc(64);
    h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
    h.writeUInt16LE(options.nativeElf.machine, 18);
    write(options.nativeElf.path, h, 0o755);
    native.push({ path: options.nativeElf.path, arch: options.nativeElf.machine === 183 ? "arm64" : "x64" });
  }
  if (options.withInstaller) {
    copyFileSync(join(ASSETS, "install.sh"), join(dir, "install.sh"));
    chmodSync(join(dir, "install.sh"), 0o755);
    write("node/bin/node", `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`, 0o755);
    const dist = join(INSTALLER_ROOT, "dist");
    for (const f of readdirSync(dist).filter((n) => n.endsWith(".js"))) write(`app/packages/installer/dist/${f}`, readFileSync(join(dist, f)));
    write("app/packages/installer/package.json", JSON.stringify({ name: "@umbra/installer", type: "module" }));
  }
  return sealBundle(dir, meta({ version, native, ...options.meta }));
}
