// Batches small writes to a socket into few syscalls. Pure policy over a
// node:net Socket (or anything with cork/uncork/write).
//
// Writes within one tick are corked and leave together at the end of it, but a
// burst that has gathered FLUSH_CORKED_AT_BYTES leaves at once: the peer starts
// on the first frames while this process still produces the rest (the two
// processes work side by side instead of taking turns), and one syscall still
// carries dozens of small frames.

/** Bytes a corked burst may gather before it is written without waiting for the tick to end. */
export const FLUSH_CORKED_AT_BYTES = 16 * 1024;

export interface CorkableStream {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
}

export class CorkedWriter {
  private corked = false;
  private corkedBytes = 0;
  private uncorkScheduled = false;

  constructor(
    private readonly stream: CorkableStream,
    private readonly flushAtBytes = FLUSH_CORKED_AT_BYTES,
  ) {}

  write(chunk: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      if (!this.uncorkScheduled) {
        this.uncorkScheduled = true;
        process.nextTick(() => {
          this.uncorkScheduled = false;
          this.flush();
        });
      }
    }
    this.stream.write(chunk);
    this.corkedBytes += chunk.length;
    if (this.corkedBytes >= this.flushAtBytes) this.flush();
  }

  /** Writes out what is corked now. */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.stream.uncork();
  }
}
