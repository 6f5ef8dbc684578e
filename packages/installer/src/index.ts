// The installer: bundle manifest (seal and verify), A/B installation with
// atomic switch and rollback, service managers (systemd, plain process), and
// the umbra-install command line. Node built-ins only: it runs on the board
// from the bundle it installs, before anything else of it is trusted.
export * from "./manifest.js";
export * from "./layout.js";
export * from "./records.js";
export * from "./units.js";
export * from "./service-manager.js";
export * from "./installer.js";
export { runInstaller, USAGE, OWN_BUNDLE, processInstallerIo, type InstallerIo, type RunOptions } from "./cli.js";
export { acquireLock, withLock, LockBusy } from "./lock.js";
export { readElfHeader, readElfHeaderOf, ELF_MACHINES, type ElfInfo } from "./elf.js";
