#!/bin/sh
# Installs this Umbra bundle on this board. Run it as root from the unpacked
# bundle:  sudo ./install.sh [flags]   (./install.sh --help lists them)
#
# Order matters: the checksums are checked by the board's own sha256sum
# before the bundled Node.js runs at all, so a corrupted node binary is caught
# here and never executed; then the architecture (the bundled Node.js must run here
# and say it is the manifest's), with a message a person can act on; then the installer (Node), which verifies the manifest in full and
# does the rest.
set -eu

cd "$(dirname "$0")"

if [ ! -f SHA256SUMS ] || [ ! -f manifest.json ]; then
  echo "install.sh: $PWD is not an unpacked Umbra bundle (SHA256SUMS or manifest.json missing)" >&2
  exit 1
fi
if ! command -v sha256sum >/dev/null 2>&1; then
  echo "install.sh: sha256sum not found (GNU coreutils or busybox); it is needed to check the bundle" >&2
  exit 1
fi
if ! sha256sum -c --quiet SHA256SUMS; then
  echo "install.sh: the bundle in $PWD is damaged: the files listed above do not match SHA256SUMS; copy the tarball again (and compare its checksum with the one published with it)" >&2
  exit 1
fi

# The manifest is written by the bundle builder with the bundle's own arch as
# the only top-level "arch" line (one space of indent).
bundle_arch=$(sed -n 's/^ "arch": "\([a-z0-9]*\)",$/\1/p' manifest.json | head -n 1)
case "$(uname -m)" in
  aarch64 | arm64) board_arch=arm64 ;;
  x86_64 | amd64) board_arch=x64 ;;
  *) board_arch="unsupported ($(uname -m))" ;;
esac
# Can this machine run the bundle's code? Ask its Node.js: it starts only on
# a CPU that executes it, natively or through qemu-user and binfmt_misc
# (where uname -m names the host, not the emulated CPU the payload runs on).
node_arch=$(./node/bin/node -p process.arch 2>/dev/null || true)
if [ -z "$bundle_arch" ] || [ "$node_arch" != "$bundle_arch" ]; then
  echo "install.sh: this bundle is for linux-${bundle_arch:-unknown}, but this board is $board_arch: use the umbra-*-linux-$board_arch.tar.gz bundle" >&2
  exit 1
fi

exec ./node/bin/node ./app/packages/installer/dist/main.js install --from "$PWD" "$@"
