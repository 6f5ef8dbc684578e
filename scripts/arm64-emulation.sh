#!/bin/sh
# Prepares a Debian x86-64 machine to build arm64 bundles and to run them under
# user-mode emulation (issue #11; docs/deploy.md):
#   - Debian's aarch64 cross compilers, which `umbra bundle --arch arm64` uses
#     to compile better-sqlite3;
#   - qemu-user-static, registered with the kernel's binfmt_misc, so an arm64
#     program and every process it starts run under qemu-aarch64;
#   - with --root DIR: a root folder holding Debian's arm64 C and C++ runtime
#     libraries (libc6, libstdc++6, libgcc-s1), for QEMU_LD_PREFIX.
# Needs root (apt-get, binfmt_misc). Safe to run again: it does only what is
# missing.
#
# Usage: scripts/arm64-emulation.sh [--toolchain-only] [--root DIR]
set -eu

root_dir=""
toolchain_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { echo "--root needs a folder" >&2; exit 2; }; root_dir=$2; shift 2 ;;
    --toolchain-only) toolchain_only=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "scripts/arm64-emulation.sh needs root: it installs Debian packages and registers qemu with binfmt_misc" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

need=""
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need="$need g++-aarch64-linux-gnu"
[ "$toolchain_only" = 1 ] || [ -x /usr/bin/qemu-aarch64-static ] || need="$need qemu-user-static"
fresh_arch=0
if [ -n "$root_dir" ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  fresh_arch=1
fi
if [ -n "$need" ] || [ "$fresh_arch" = 1 ]; then
  echo "arm64: apt-get install$need"
  apt-get update -qq
  [ -z "$need" ] || apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

if [ "$toolchain_only" = 0 ]; then
  binfmt=/proc/sys/fs/binfmt_misc
  [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
  if [ ! -e "$binfmt/qemu-aarch64" ]; then
    # The F flag makes the kernel open the interpreter now, so it also works
    # inside other mount namespaces (the emulated test uses one).
    conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    [ -r "$conf" ] || { echo "$conf is missing: is qemu-user-static installed?" >&2; exit 1; }
    cat "$conf" > "$binfmt/register"
  fi
  grep -q '^enabled' "$binfmt/qemu-aarch64" || { echo "binfmt_misc: qemu-aarch64 is registered but disabled" >&2; exit 1; }
fi

if [ -n "$root_dir" ]; then
  mkdir -p "$root_dir"
  if [ ! -e "$root_dir/lib/ld-linux-aarch64.so.1" ] && [ ! -e "$root_dir/usr/lib/ld-linux-aarch64.so.1" ]; then
    debs=$(mktemp -d)
    chmod 777 "$debs"  # apt downloads as its _apt user
    (cd "$debs" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64)
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root_dir"; done
    rm -rf "$debs"
    # Debian 12 is merged-/usr: the loader's path is /lib/ld-linux-aarch64.so.1.
    [ -e "$root_dir/lib" ] || ln -s usr/lib "$root_dir/lib"
  fi
  echo "arm64 root with Debian's runtime libraries: $root_dir"
fi
echo "arm64 emulation ready"
