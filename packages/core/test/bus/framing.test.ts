import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FrameDecoder, encodeFrame, describeViolation } from "../../src/bus/framing.js";

/** Splits bytes at the given cut points. */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe("framing codec", () => {
  it("property: any payloads, cut into any chunks, decode to exactly the payloads", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(p, 1024)));
          const d = new FrameDecoder(1024);
          const got: Uint8Array[] = [];
          for (const c of chunk(stream, cuts)) {
            const r = d.push(c);
            expect(r.violation).toBeUndefined();
            got.push(...r.frames);
          }
          expect(got.map((g) => Buffer.from(g).toString("hex"))).toEqual(payloads.map((p) => Buffer.from(p).toString("hex")));
          expect(d.finish()).toBe(0);
        },
      ),
    );
  });

  it("property: a stream cut short reports the truncated bytes and never a partial frame", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (payload, cut) => {
        const frame = encodeFrame(payload);
        const keep = cut % frame.length; // strictly less than a whole frame
        const d = new FrameDecoder();
        const r = d.push(frame.subarray(0, keep));
        expect(r.frames).toEqual([]);
        expect(d.finish()).toBe(keep);
      }),
    );
  });

  it("property: random bytes never throw; they give frames or a violation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const d = new FrameDecoder(256);
        const r = d.push(bytes);
        for (const f of r.frames) expect(f.length).toBeGreaterThan(0);
        for (const f of r.frames) expect(f.length).toBeLessThanOrEqual(256);
      }),
    );
  });

  it("reports an oversized length as a violation and then ignores the rest of the stream", () => {
    const d = new FrameDecoder(64);
    const good = encodeFrame(new Uint8Array([1, 2, 3]));
    const header = Buffer.from([0, 0, 0, 65]);
    const r = d.push(Buffer.concat([good, header, Buffer.alloc(65), good]));
    expect(r.frames).toHaveLength(1);
    expect(r.violation).toEqual({ kind: "oversized", length: 65, max: 64 });
    expect(describeViolation(r.violation!)).toBe("frame of 65 bytes exceeds maximum 64");
    expect(d.push(good)).toEqual({ frames: [] });
  });

  it("reports a zero length as a violation", () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from([0, 0, 0, 0, 9])).violation).toEqual({ kind: "zero-length" });
  });

  it("refuses to frame empty or oversized payloads, and bad maximums", () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(/empty/);
    expect(() => encodeFrame(new Uint8Array(65), 64)).toThrow(/exceeds maximum frame 64/);
    expect(() => new FrameDecoder(8)).toThrow(RangeError);
    expect(() => new FrameDecoder(2 ** 31)).toThrow(RangeError);
  });

  it("a 4 GiB length prefix (0xffffffff) is a violation, not an allocation", () => {
    const d = new FrameDecoder();
    const r = d.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2]));
    expect(r.violation?.kind).toBe("oversized");
    expect(d.pendingBytes).toBe(0);
  });
});
