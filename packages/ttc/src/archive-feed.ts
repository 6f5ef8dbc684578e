// The TTC's feed into its telemetry archive: rows are collected and written
// in one transaction per class every `flushMs` (or sooner when many are
// waiting, before a query, and at stop), instead of one fsync per sample,
// event and verification stage. Under a command load that was most of the
// TTC's time (docs/benchmarks.md, "gateway"). The archive is telemetry, not
// an acknowledgement: the command history, written before each report goes
// out, stays the record of what a command did, so a power cut may cost the
// archive at most the last `flushMs` of rows, never a command's record.
import type { Archive, EventInput, SampleInput, VerificationInput } from "./archive/index.js";

/** Rows waiting above this many are written at once, whatever the timer says. */
export const ARCHIVE_FEED_MAX_PENDING = 2_000;

export class ArchiveFeed {
  private samples: SampleInput[] = [];
  private events: EventInput[] = [];
  private verifications: VerificationInput[] = [];

  constructor(
    private readonly archive: Archive,
    /** Told about each row the archive refused (the rest of its batch is still written). */
    private readonly onRefused: (err: unknown) => void,
  ) {}

  get pending(): number {
    return this.samples.length + this.events.length + this.verifications.length;
  }

  addSamples(rows: readonly SampleInput[]): void {
    for (const r of rows) this.samples.push(r);
    this.flushIfFull();
  }

  addEvent(row: EventInput): void {
    this.events.push(row);
    this.flushIfFull();
  }

  addVerification(row: VerificationInput): void {
    this.verifications.push(row);
    this.flushIfFull();
  }

  /** Writes everything waiting: one transaction per class; a refused batch is retried row by row so one bad row costs only itself. */
  flush(): void {
    const samples = this.samples;
    const events = this.events;
    const verifications = this.verifications;
    this.samples = [];
    this.events = [];
    this.verifications = [];
    if (samples.length) this.write(samples, (b) => this.archive.appendSamples(b));
    if (events.length) this.write(events, (b) => this.archive.appendEvents(b));
    if (verifications.length) this.write(verifications, (b) => this.archive.appendVerifications(b));
  }

  private flushIfFull(): void {
    if (this.pending >= ARCHIVE_FEED_MAX_PENDING) this.flush();
  }

  private write<T>(rows: T[], append: (batch: T[]) => void): void {
    try {
      append(rows);
    } catch (err) {
      if (rows.length === 1) return this.onRefused(err);
      for (const row of rows) {
        try {
          append([row]);
        } catch (e) {
          this.onRefused(e);
        }
      }
    }
  }
}
