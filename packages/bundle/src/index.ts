export { ARCHES, NODE_RUNTIME, TARGETS, targetFor, toolchainFor, type Arch, type Target, type Toolchain } from "./targets.js";
// The ELF reader lives in the installer (it checks addons on the board too); re-exported for the builder's users.
export { readElfHeader, ELF_MACHINES, type ElfInfo } from "@umbra/installer";
export { isShipped, stagingWorkspaceYaml, storeEntryPackage, SHIPPED_PROJECT_GLOBS } from "./select.js";
export { filesToPrune } from "./prune.js";
export { integrityOf, fetchNodeRuntime, type NodeRuntime } from "./node-runtime.js";
export { buildBundle, checkNativeBinaries, UMBRA_WRAPPER, type BuildOptions, type BuildResult } from "./builder.js";
