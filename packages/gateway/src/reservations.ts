// Numbers that must never repeat across restarts, handed out from blocks
// reserved on disk: the TC security sequence (the TTC refuses a number it has
// seen, or one far behind its highest) and each APID's packet sequence count
// (the TTC refuses a repeat inside its duplicate window). A block is written
// (fsynced) before any number from it is used, so there is one write per
// block instead of one per command; after a restart, counting resumes at the
// end of the last reserved block, skipping at most one block.
import type { GatewayDatabase } from "./db.js";

export class ReservedCounter {
  private next: number;
  private reservedEnd: number;
  private readonly reserve;

  constructor(
    db: GatewayDatabase,
    readonly name: string,
    private readonly blockSize: number,
    /** The first number ever handed out. */
    first: number,
    /** The largest number that may be handed out. */
    private readonly max = Number.MAX_SAFE_INTEGER,
  ) {
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError(`${name}: block size must be a positive integer, got ${blockSize}`);
    const row = db.prepare<[string], { next_free: number }>("SELECT next_free FROM reservation WHERE name = ?").get(name);
    this.next = Math.max(first, row?.next_free ?? first);
    this.reservedEnd = this.next; // nothing of this run reserved yet
    this.reserve = db.prepare<[string, number]>(
      "INSERT INTO reservation (name, next_free) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET next_free = max(next_free, excluded.next_free)",
    );
  }

  /** The next number, reserving a new block on disk first if needed. */
  take(): number {
    if (this.next > this.max) throw new RangeError(`${this.name}: exhausted (all numbers up to ${this.max} used)`);
    if (this.next >= this.reservedEnd) {
      const end = Math.min(this.next + this.blockSize, this.max + 1);
      this.reserve.run(this.name, end);
      this.reservedEnd = end;
    }
    return this.next++;
  }

  /** The number take() would return next (for tests and diagnostics). */
  peek(): number {
    return this.next;
  }
}
