export { ARCHES, NODE_RUNTIME, TARGETS, targetFor, toolchainFor, type Arch, type Target, type Toolchain } from "./targets.js";
export { readElfHeader, ELF_MACHINES, type ElfInfo } from "./elf.js";
export { isShipped, stagingWorkspaceYaml, storeEntryPackage, SHIPPED_PROJECT_GLOBS } from "./select.js";
export { filesToPrune } from "./prune.js";
export { integrityOf, fetchNodeRuntime, type NodeRuntime } from "./node-runtime.js";
export { buildBundle, checkNativeBinaries, UMBRA_WRAPPER, type BuildOptions, type BuildResult } from "./builder.js";
