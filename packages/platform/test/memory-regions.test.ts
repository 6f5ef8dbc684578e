import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Bus, InProcessLink, SimClock } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { MAX_FLIP_OFFSETS, MemoryRegionError, MemoryRegionRegistry, attachFaultInjection, type FaultInjection, type FlipEvent } from "../src/index.js";

const { FlipBits, FlipBitsResult, MemoryRegionInfo } = umbra.platform.v1;
type Info = MessageOf<typeof MemoryRegionInfo>;

describe("MemoryRegionRegistry", () => {
  it("registers live views, lists them in order and unregisters", () => {
    const reg = new MemoryRegionRegistry();
    const weights = new Uint8Array(16);
    const r = reg.register("model/weights", weights);
    expect(r.bytes).toBe(weights);
    reg.register("table", new Uint8Array(4));
    expect(reg.list().map((x) => x.name)).toEqual(["model/weights", "table"]);
    expect(reg.get("table")?.bytes.length).toBe(4);
    expect(reg.unregister("table")).toBe(true);
    expect(reg.unregister("table")).toBe(false);
    expect(reg.size).toBe(1);
  });

  it("rejects bad names, duplicates, empty and oversized buffers, too many regions and overlaps", () => {
    const reg = new MemoryRegionRegistry({ maxRegions: 3, maxRegionBytes: 1024 });
    for (const name of ["", "-x", "a b", "x".repeat(65), "ü", "../etc"]) {
      expect(() => reg.register(name, new Uint8Array(1))).toThrow(MemoryRegionError);
    }
    reg.register("a", new Uint8Array(8));
    expect(() => reg.register("a", new Uint8Array(8))).toThrow('region "a" is already registered');
    expect(() => reg.register("b", new Uint8Array(0))).toThrow('region "b" is empty');
    expect(() => reg.register("b", new Uint8Array(1025))).toThrow('region "b" has 1025 bytes; at most 1024');
    expect(() => reg.register("b", [1, 2] as unknown as Uint8Array)).toThrow('region "b": bytes must be a Uint8Array');
    const shared = new Uint8Array(100);
    reg.register("low", shared.subarray(0, 50));
    expect(() => reg.register("mid", shared.subarray(40, 60))).toThrow('region "mid" overlaps region "low"');
    reg.register("high", shared.subarray(50, 100)); // adjacent is fine
    expect(() => reg.register("d", new Uint8Array(1))).toThrow("cannot register \"d\": already 3 regions");
    expect(() => new MemoryRegionRegistry({ maxRegions: 0 })).toThrow("maxRegions must be a positive integer, got 0");
  });

  it("flips bits by XOR, bit 0 being the low bit of byte 0", () => {
    const reg = new MemoryRegionRegistry();
    const bytes = new Uint8Array([0x00, 0xff, 0x0f]);
    reg.register("r", bytes);
    expect(reg.flipBits("r", [0n, 9n, 23n])).toEqual({ applied: true });
    expect([...bytes]).toEqual([0x01, 0xfd, 0x8f]);
    expect(reg.flipBits("r", [0, 9, 23])).toEqual({ applied: true });
    expect([...bytes]).toEqual([0x00, 0xff, 0x0f]);
  });

  it("rejects, changing nothing: unknown region, no offsets, too many, beyond the end, duplicates, negatives", () => {
    const reg = new MemoryRegionRegistry();
    const bytes = new Uint8Array(16); // 128 bits
    reg.register("r", bytes);
    const cases: [string, (bigint | number)[], string][] = [
      ["nope", [0n], 'unknown region "nope" (have r)'],
      ["r", [], "no bit offsets given"],
      ["r", Array.from({ length: 65 }, (_, i) => BigInt(i)), "65 bit offsets; at most 64 per request"],
      ["r", [0n, 1n, 128n], 'bit offset 128 is beyond region "r" (128 bits)'],
      ["r", [5n, 6n, 5n], "bit offset 5 is given twice"],
      ["r", [3n, -1n], "bit offset -1 is negative"],
      ["r", [3, 1.5], "bit offset 1.5 is not an integer"],
    ];
    for (const [region, offsets, error] of cases) {
      expect(reg.flipBits(region, offsets)).toEqual({ applied: false, error });
      expect(bytes.every((b) => b === 0)).toBe(true);
    }
    expect(reg.flipBits("r", Array.from({ length: MAX_FLIP_OFFSETS }, (_, i) => BigInt(i * 2)))).toEqual({ applied: true });
  });

  it("property: a flip is all or nothing, and applying it twice restores the region", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.array(fc.bigInt({ min: -4n, max: 600n }), { maxLength: 70 }),
        (initial, offsets) => {
          const reg = new MemoryRegionRegistry();
          const bytes = Uint8Array.from(initial);
          reg.register("r", bytes);
          const outcome = reg.flipBits("r", offsets);
          const bits = BigInt(bytes.length * 8);
          const valid = offsets.length > 0 && offsets.length <= 64 && new Set(offsets).size === offsets.length && offsets.every((o) => o >= 0n && o < bits);
          expect(outcome.applied).toBe(valid);
          if (!valid) {
            expect(bytes).toEqual(initial);
            return;
          }
          let changed = 0;
          for (let i = 0; i < bytes.length; i++) {
            let x = bytes[i]! ^ initial[i]!;
            while (x) {
              changed += x & 1;
              x >>= 1;
            }
          }
          expect(changed).toBe(offsets.length);
          expect(reg.flipBits("r", offsets)).toEqual({ applied: true });
          expect(bytes).toEqual(initial);
        },
      ),
    );
  });
});

describe("attachFaultInjection over the bus", () => {
  let clock: SimClock;
  let service: Bus;
  let hil: Bus;
  let registry: MemoryRegionRegistry;
  let infos: Info[];
  let fi: FaultInjection;
  let flips: FlipEvent[];

  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await service.idle();
      await hil.idle();
    }
  }

  beforeEach(async () => {
    clock = new SimClock();
    service = new Bus({ node: "inference-1", clock });
    hil = new Bus({ node: "hil", clock });
    const [a, b] = InProcessLink.pair("svc-hil");
    service.attach(a);
    hil.attach(b);
    infos = [];
    hil.subscribe(MemoryRegionInfo, (m) => {
      infos.push(m);
    });
    await settle();
    registry = new MemoryRegionRegistry();
    registry.register("weights", new Uint8Array(32));
    flips = [];
    fi = attachFaultInjection(service, registry, { service: "inference", announceIntervalMs: 10_000, onFlip: (e) => flips.push(e) });
    await settle();
  });

  afterEach(() => {
    fi.close();
    service.close();
    hil.close();
  });

  const flip = (init: Parameters<typeof hil.request<typeof FlipBits, typeof FlipBitsResult>>[1], target = "inference") =>
    hil.request(FlipBits, init, FlipBitsResult, { target, timeoutMs: 1000 });

  it("announces regions at attach, on register, on unregister (size 0), on announce() and periodically", async () => {
    expect(infos).toEqual([{ service: "inference", region: "weights", sizeBytes: 32n }]);
    registry.register("tables/crc", new Uint8Array(8));
    registry.unregister("tables/crc");
    fi.announce();
    await settle();
    expect(infos.slice(1)).toEqual([
      { service: "inference", region: "tables/crc", sizeBytes: 8n },
      { service: "inference", region: "tables/crc", sizeBytes: 0n },
      { service: "inference", region: "weights", sizeBytes: 32n },
    ]);
    await clock.advance(10_000);
    await settle();
    expect(infos).toHaveLength(5);
    fi.close();
    registry.register("late", new Uint8Array(1));
    await clock.advance(10_000);
    await settle();
    expect(infos).toHaveLength(5);
  });

  it("applies FlipBits addressed to the service and echoes the injection id", async () => {
    const bytes = registry.get("weights")!.bytes;
    const result = await flip({ service: "inference", region: "weights", bitOffsets: [0n, 255n], injectionId: "seu-1" });
    expect(result).toEqual({ injectionId: "seu-1", applied: true, error: "" });
    expect(bytes[0]).toBe(0x01);
    expect(bytes[31]).toBe(0x80);
    expect(flips).toEqual([{ region: "weights", bitOffsets: [0n, 255n], injectionId: "seu-1", source: "hil", outcome: { applied: true } }]);
  });

  it("also serves FlipBits addressed to its node, and untargeted ones", async () => {
    const bytes = registry.get("weights")!.bytes;
    expect((await flip({ service: "inference", region: "weights", bitOffsets: [1n], injectionId: "a" }, "inference-1")).applied).toBe(true);
    expect((await flip({ service: "inference", region: "weights", bitOffsets: [2n], injectionId: "b" }, "")).applied).toBe(true);
    expect(bytes[0]).toBe(0b110);
    expect(flips).toHaveLength(2); // each request handled exactly once
  });

  it("rejects with applied=false and changes nothing", async () => {
    const bytes = registry.get("weights")!.bytes;
    const cases: [Parameters<typeof flip>[0], string][] = [
      [{ service: "inference", region: "nope", bitOffsets: [0n], injectionId: "1" }, 'unknown region "nope" (have weights)'],
      [{ service: "inference", region: "weights", bitOffsets: [0n, 256n], injectionId: "2" }, 'bit offset 256 is beyond region "weights" (256 bits)'],
      [{ service: "inference", region: "weights", bitOffsets: Array.from({ length: 65 }, (_, i) => BigInt(i)), injectionId: "3" }, "65 bit offsets; at most 64 per request"],
      [{ service: "inference", region: "weights", bitOffsets: [7n, 7n], injectionId: "4" }, "bit offset 7 is given twice"],
      [{ service: "inference", region: "weights", bitOffsets: [2n ** 64n - 1n], injectionId: "5" }, 'bit offset 18446744073709551615 is beyond region "weights" (256 bits)'],
      [{ service: "scrubber", region: "weights", bitOffsets: [0n], injectionId: "6" }, 'this is service "inference"; the request names "scrubber"'],
    ];
    for (const [request, error] of cases) {
      expect(await flip(request)).toEqual({ injectionId: request.injectionId, applied: false, error });
    }
    expect(bytes.every((b) => b === 0)).toBe(true);
  });

  it("leaves an untargeted request for another service to that service", async () => {
    const other = attachFaultInjection(service, new MemoryRegionRegistry(), { service: "scrubber" });
    try {
      const result = await flip({ service: "inference", region: "weights", bitOffsets: [3n], injectionId: "x" }, "");
      expect(result).toEqual({ injectionId: "x", applied: true, error: "" });
      expect(service.stats().lateReplies + hil.stats().lateReplies).toBe(0n);
    } finally {
      other.close();
    }
  });

  it("rejects bad options", () => {
    expect(() => attachFaultInjection(service, registry, { service: "bad name" })).toThrow(/service "bad name" must match/);
    expect(() => attachFaultInjection(service, registry, { service: "x", announceIntervalMs: -1 })).toThrow(/announceIntervalMs/);
  });

  it("a registration after the bus closed still succeeds", () => {
    service.close();
    expect(() => registry.register("after-close", new Uint8Array(1))).not.toThrow();
  });
});
