// Reads the header of an ELF file: enough to tell which CPU a native binary
// is for, so a bundle is never built (packages/bundle) or installed (the
// manifest's check) with an addon for the wrong machine. readElfHeader is
// pure; readElfHeaderOf reads a file's first bytes.
import { closeSync, openSync, readSync } from "node:fs";

export const ELF_MACHINES: Record<number, string> = { 3: "x86", 40: "arm", 62: "x86-64", 183: "aarch64", 243: "riscv" };

export interface ElfInfo {
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_machine */
  machine: number;
  machineName: string;
}

/** The ELF header's class, byte order and machine; throws a clear error for anything that is not an ELF file. */
export function readElfHeader(bytes: Uint8Array): ElfInfo {
  if (bytes.length < 20) throw new Error(`not an ELF file: ${bytes.length} bytes, a header needs 20`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new Error("not an ELF file: no \\x7fELF magic");
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2) throw new Error(`not a valid ELF file: class ${cls}`);
  if (data !== 1 && data !== 2) throw new Error(`not a valid ELF file: byte order ${data}`);
  const littleEndian = data === 1;
  const machine = littleEndian ? bytes[18]! | (bytes[19]! << 8) : (bytes[18]! << 8) | bytes[19]!;
  return { bits: cls === 1 ? 32 : 64, littleEndian, machine, machineName: ELF_MACHINES[machine] ?? `machine ${machine}` };
}

/** The ELF header of a file, reading only its first 64 bytes (a Node.js binary is 100 MB). */
export function readElfHeaderOf(path: string): ElfInfo {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, 0);
    return readElfHeader(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
