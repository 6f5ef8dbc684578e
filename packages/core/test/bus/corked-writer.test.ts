import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CorkedWriter, FLUSH_CORKED_AT_BYTES, type CorkableStream } from "../../src/bus/corked-writer.js";

/** A stream that records what leaves it, one entry per uncork that reaches zero corks (one syscall). */
class RecordingStream implements CorkableStream {
  corks = 0;
  pending: Uint8Array[] = [];
  syscalls: Uint8Array[][] = [];
  cork(): void {
    this.corks++;
  }
  uncork(): void {
    if (this.corks === 0) return;
    this.corks--;
    if (this.corks === 0 && this.pending.length > 0) this.syscalls.push(this.pending.splice(0));
  }
  write(chunk: Uint8Array): boolean {
    if (this.corks === 0) this.syscalls.push([chunk]);
    else this.pending.push(chunk);
    return true;
  }
}

const tick = () => new Promise<void>((resolve) => process.nextTick(resolve));
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("CorkedWriter", () => {
  it("sends the small writes of one tick together at the end of the tick", async () => {
    const stream = new RecordingStream();
    const writer = new CorkedWriter(stream);
    for (let i = 0; i < 10; i++) writer.write(bytes(100, i));
    expect(stream.syscalls).toHaveLength(0);
    await tick();
    expect(stream.syscalls).toHaveLength(1);
    expect(stream.syscalls[0]!.map((c) => c[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(stream.corks).toBe(0);
  });

  it("lets a burst go as soon as it holds the flush threshold, without waiting for the tick", async () => {
    const stream = new RecordingStream();
    const writer = new CorkedWriter(stream, 1000);
    for (let i = 0; i < 25; i++) writer.write(bytes(100, i));
    // 10 writes of 100 bytes reach 1000: two batches have left, five writes wait for the tick.
    expect(stream.syscalls.map((s) => s.length)).toEqual([10, 10]);
    await tick();
    expect(stream.syscalls.map((s) => s.length)).toEqual([10, 10, 5]);
    expect(stream.syscalls.flat().map((c) => c[0])).toEqual([...Array(25).keys()]);
    expect(stream.corks).toBe(0);
  });

  it("flush() writes out what is corked and is harmless when nothing is", async () => {
    const stream = new RecordingStream();
    const writer = new CorkedWriter(stream);
    writer.flush();
    expect(stream.corks).toBe(0);
    writer.write(bytes(10));
    writer.flush();
    expect(stream.syscalls).toHaveLength(1);
    writer.write(bytes(10));
    await tick();
    expect(stream.syscalls).toHaveLength(2);
    expect(stream.corks).toBe(0);
  });

  it("uses a 16 KiB threshold by default", () => {
    expect(FLUSH_CORKED_AT_BYTES).toBe(16 * 1024);
  });

  it("never loses, reorders or leaves corked any write, whatever the sizes and ticks (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 40 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 20_000 }),
        async (ticks, threshold) => {
          const stream = new RecordingStream();
          const writer = new CorkedWriter(stream, threshold);
          let id = 0;
          for (const sizes of ticks) {
            for (const size of sizes) writer.write(bytes(size, id++ & 0xff));
            await tick();
          }
          const out = stream.syscalls.flat();
          expect(out).toHaveLength(id);
          expect(out.map((c) => c[0])).toEqual([...Array(id).keys()].map((i) => i & 0xff));
          expect(stream.corks).toBe(0);
          // No batch that left early is bigger than it had to be.
          for (const batch of stream.syscalls.slice(0, -1)) {
            const total = batch.reduce((n, c) => n + c.length, 0);
            expect(total - batch[batch.length - 1]!.length).toBeLessThan(threshold);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
