// EDAC memory-controller error counters from
// /sys/devices/system/edac/mc/mc*/{ce_count,ue_count}.
import { join } from "node:path";
import type { EdacCounts, EdacPort } from "../ports.js";
import { parseCounter } from "../parse.js";
import { listMatching, readParsed } from "./fs.js";
import { linuxContext, type LinuxContext, type LinuxRoots } from "./context.js";

const CONTROLLER = /^mc[0-9]+$/;

export class LinuxEdac implements EdacPort {
  private readonly ctx: LinuxContext;
  readonly root: string;

  constructor(roots: LinuxRoots | LinuxContext = {}) {
    this.ctx = linuxContext(roots);
    this.root = join(this.ctx.sysRoot, "devices", "system", "edac", "mc");
  }

  /**
   * One entry per memory controller. A missing edac/mc directory (no EDAC
   * driver) is an error; a present one with no controllers gives [].
   */
  async read(): Promise<EdacCounts[]> {
    const controllers = await listMatching(this.ctx.fs, "edac", this.root, CONTROLLER);
    const counts: EdacCounts[] = [];
    for (const controller of controllers) {
      const dir = join(this.root, controller);
      counts.push({
        controller,
        correctable: await readParsed(this.ctx.fs, "edac", join(dir, "ce_count"), parseCounter),
        uncorrectable: await readParsed(this.ctx.fs, "edac", join(dir, "ue_count"), parseCounter),
      });
    }
    return counts;
  }
}
