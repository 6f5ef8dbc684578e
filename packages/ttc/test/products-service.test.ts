// Data products through the TTC over a real (in-process) bus: a service sends
// umbra.ttc.v1.QueueProduct, the TTC answers ProductQueued once the product's
// ST[13] segments are in the downlink queue.
import { afterEach, describe, expect, it } from "vitest";
import { Bus, BusRemoteError, SimClock } from "@umbra/core";
import { decodeTm } from "@umbra/ccsds";
import { umbra, type MessageOf } from "@umbra/proto";
import { TTC_APID, TtcService } from "../src/service.js";
import { MAX_PRODUCT_OCTETS, decodeProductSegment, reassembleProducts } from "../src/downlink/index.js";
import { openTtcDatabase } from "../src/store/database.js";
import { CommandHistory } from "../src/store/command-history.js";
import { ScheduleStore } from "../src/store/schedule-store.js";
import { SecurityState } from "../src/security-state.js";
import { keyStore, startStack, type Stack, type StackOptions } from "./support/stack.js";
import { tempDir } from "./support/temp.js";

const dir = tempDir("umbra-ttc-products-");
const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop();
});

async function stack(options: StackOptions = {}): Promise<Stack> {
  const s = await startStack(options);
  stacks.push(s);
  return s;
}

type Queue = MessageOf<typeof umbra.ttc.v1.QueueProduct>;

function data(size: number, seed = 1): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

const summary = (productId: string, size = 3000, over: Partial<Queue> = {}) => ({
  source: "jobs",
  productId,
  kind: "umbra.jobs.v1.JobSummaryProduct",
  data: data(size),
  ...over,
});

/** As the job runner would: a bus request to the TTC. */
function queueProduct(s: Stack, request: Partial<Queue>) {
  return s.bus.request(umbra.ttc.v1.QueueProduct, request, umbra.ttc.v1.ProductQueued, { target: "ttc", timeoutMs: 5_000 });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BusRemoteError);
    return (err as BusRemoteError).remoteMessage;
  }
  throw new Error("the request was not refused");
}

const productTm = (s: Stack) => s.tm.filter((t) => t.service === 13);

describe("TTC data products (QueueProduct → ST[13] segments)", () => {
  it("queues a product's segments as bulk TM at the TTC's APID and answers with what it queued", async () => {
    const s = await stack();
    const reply = await queueProduct(s, summary("job-1", 2500));
    expect(reply).toMatchObject({ productId: "job-1", packets: 3, duplicate: false, productNumber: 1 });

    const queued = s.queue.list().filter((p) => p.service === 13);
    expect(queued.map((p) => [p.priority, p.apid, p.subtype])).toEqual([
      ["bulk", TTC_APID, 1],
      ["bulk", TTC_APID, 2],
      ["bulk", TTC_APID, 3],
    ]);
    expect(BigInt(queued.reduce((n, p) => n + p.bytes, 0))).toBe(reply.bytes);
    const tms = queued.map((p) => {
      const tm = decodeTm(p.packet);
      if (!tm.ok) throw new Error(tm.error.reason);
      return tm.value;
    });
    // One APID sequence, consecutive; one message type counter per subtype.
    expect(tms.map((t) => t.sequenceCount)).toEqual([tms[0]!.sequenceCount, tms[0]!.sequenceCount + 1, tms[0]!.sequenceCount + 2]);
    expect(tms.map((t) => [t.apid, t.service, t.subtype, t.messageTypeCounter, t.destinationId])).toEqual([
      [TTC_APID, 13, 1, 0, 0],
      [TTC_APID, 13, 2, 0, 0],
      [TTC_APID, 13, 3, 0, 0],
    ]);
    const segs = tms.map((t) => decodeProductSegment(t.subtype, t.appData));
    expect(segs.map((r) => (r.ok ? [r.value.productNumber, r.value.segment, r.value.segments, r.value.data.length] : r.reason))).toEqual([
      [1, 1, 3, 1024],
      [1, 2, 3, 1024],
      [1, 3, 3, 452],
    ]);
    expect(segs[0]!.ok && segs[0]!.value.first).toMatchObject({ length: 2500, source: "jobs", productId: "job-1", kind: "umbra.jobs.v1.JobSummaryProduct" });

    // The ground gets back the exact bytes, from the queue and from the TmDownlink copies alike.
    const fromQueue = reassembleProducts(queued.map((p) => p.packet));
    expect(fromQueue.products).toHaveLength(1);
    expect(Buffer.compare(fromQueue.products[0]!.data, data(2500))).toBe(0);
    await s.settle();
    expect(productTm(s)).toHaveLength(3);

    // The next product carries the next number, and the TTC's other TM carries on from its sequence count.
    const second = await queueProduct(s, summary("job-2", 1));
    expect(second).toMatchObject({ packets: 1, productNumber: 2, duplicate: false });
    await s.send(s.ground.areYouAlive(TTC_APID));
    const after = s.tm.filter((t) => t.apid === TTC_APID).map((t) => t.sequenceCount);
    expect(new Set(after).size).toBe(after.length);
  });

  it("answers a repeated product id with the first result and queues nothing, also after a restart", async () => {
    const s = await stack();
    const first = await queueProduct(s, summary("job-7", 5000));
    const count = s.queue.list().length;
    const again = await queueProduct(s, summary("job-7", 10, { kind: "changed" }));
    expect(again).toEqual({ ...first, duplicate: true });
    expect(s.queue.list().length).toBe(count);

    // Restart the whole payload on the same database.
    await s.stop();
    stacks.splice(stacks.indexOf(s), 1);
    const t = await stack({ dbPath: s.dbPath, clock: s.clock });
    const before = t.queue.list().length;
    const afterRestart = await queueProduct(t, summary("job-7", 5000));
    expect(afterRestart).toEqual({ ...first, duplicate: true });
    expect(t.queue.list().length).toBe(before);
    // Product numbers carry on where they were.
    expect((await queueProduct(t, summary("job-8", 10))).productNumber).toBe(first.productNumber + 1);
  });

  it("refuses bad input with a clear error and queues nothing", async () => {
    const s = await stack({ maxFrameBytes: 2 * 1024 * 1024 });
    const size = () => s.queue.list().length;
    const before = size();
    const cases: [Partial<Queue>, string][] = [
      [summary("p", 10, { data: new Uint8Array(0) }), "product not queued: data: is empty; a product has 1..1048576 octets"],
      [summary("p", MAX_PRODUCT_OCTETS + 1), "product not queued: data: 1048577 octets, more than 1048576 (1 MiB)"],
      [summary(""), "product not queued: productId: must not be empty (1..64 printable ASCII characters)"],
      [summary("x".repeat(65)), "product not queued: productId: must be at most 64 characters, got 65"],
      [summary("job\t1"), "product not queued: productId: character 3 (U+0009) is not printable ASCII (0x20..0x7E)"],
      [summary("p", 10, { source: "" }), 'product not queued: source: "" is not a service name (1..64 of A-Z a-z 0-9 _ . : -, starting with a letter or digit)'],
      [summary("p", 10, { source: "job runner" }), 'product not queued: source: "job runner" is not a service name (1..64 of A-Z a-z 0-9 _ . : -, starting with a letter or digit)'],
      [summary("p", 10, { kind: "" }), "product not queued: kind: must not be empty (1..128 printable ASCII characters)"],
      [summary("p", 10, { kind: "k".repeat(129) }), "product not queued: kind: must be at most 128 characters, got 129"],
      [summary("p", 10, { kind: "summary\u0007" }), "product not queued: kind: character 7 (U+0007) is not printable ASCII (0x20..0x7E)"],
      [summary("p", 10, { kind: "résumé" }), "product not queued: kind: character 1 (U+00E9) is not printable ASCII (0x20..0x7E)"],
    ];
    for (const [request, message] of cases) {
      expect(await refusal(queueProduct(s, request))).toBe(message);
    }
    expect(size()).toBe(before);
    await s.settle();
    expect(productTm(s)).toEqual([]);
    // A refused id was not recorded: the same id with good data is a new product, number 1.
    expect(await queueProduct(s, summary("p", 10))).toMatchObject({ productNumber: 1, duplicate: false });
    // The largest product goes (on a bus whose frames carry it): 1,024 segments.
    expect(await queueProduct(s, summary("max", MAX_PRODUCT_OCTETS))).toMatchObject({ packets: 1024, productNumber: 2 });
    const all = reassembleProducts(s.queue.list().map((p) => p.packet));
    expect(all.products.map((p) => p.data.length)).toEqual([10, MAX_PRODUCT_OCTETS]);

    // Refusals and queued products are in the TTC's telemetry.
    const reports: MessageOf<typeof umbra.core.v1.TelemetryReport>[] = [];
    s.bus.subscribe(umbra.core.v1.TelemetryReport, (r) => {
      if (r.service === "ttc") reports.push(r);
    });
    await s.clock.advance(10_000);
    await s.settle();
    const value = (name: string) => reports.at(-1)?.samples.find((x) => x.name === name)?.value?.intValue;
    expect(value("productsQueued")).toBe(2n);
    expect(value("productBytes")).toBe(BigInt(10 + MAX_PRODUCT_OCTETS));
    expect(value("productsRefused")).toBe(BigInt(cases.length));
  });

  it("follows the queue's overflow rule: older bulk makes room; a product that cannot fit whole is refused", async () => {
    // 40 KiB budget. Each product below is about 20.6 KiB on the link (20 segments).
    const s = await stack({ downlinkBudgetBytes: 40 * 1024 });
    const a = await queueProduct(s, summary("a", 20 * 1024));
    const b = await queueProduct(s, summary("b", 18 * 1024));
    expect([a.productNumber, b.productNumber]).toEqual([1, 2]);
    // A third product pushes out the oldest bulk packets (the first segments of "a"), never a part of itself.
    const c = await queueProduct(s, summary("c", 15 * 1024));
    expect(c).toMatchObject({ productNumber: 3, duplicate: false });
    const r = reassembleProducts(s.queue.list().map((p) => p.packet));
    expect(r.products.map((p) => p.productId)).toEqual(["b", "c"]);
    expect(r.incomplete.map((p) => [p.productNumber, p.missing[0]])).toEqual([[1, 1]]);
    expect(s.queue.stats().classes.bulk.droppedPackets).toBeGreaterThan(0);
    expect(s.queue.stats().residentBytes).toBeLessThanOrEqual(40 * 1024);

    // Bigger than the whole budget: refused, and nothing else is dropped for it.
    const stats = s.queue.stats();
    const message = await refusal(queueProduct(s, summary("huge", 41 * 1024)));
    expect(message).toMatch(/^product not queued: downlink queue full: \d+ bytes do not fit; at most \d+ of its 40960-byte budget can be made free/);
    expect(s.queue.stats()).toEqual(stats);
    // The refused id is free: it can be queued later once it fits.
    expect(await queueProduct(s, summary("huge", 1024))).toMatchObject({ productNumber: 4, duplicate: false });
  });

  it("refuses products when the TTC has no downlink queue", async () => {
    const clock = new SimClock({ startUtcMs: Date.UTC(2026, 5, 1) });
    const bus = new Bus({ node: "payload", clock });
    const db = openTtcDatabase(`${dir()}/ttc.db`);
    const ttc = new TtcService({ bus, clock }, { keys: keyStore(), history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db) });
    await ttc.start();
    try {
      const err = await bus.request(umbra.ttc.v1.QueueProduct, summary("x", 10), umbra.ttc.v1.ProductQueued, { target: "ttc" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusRemoteError);
      expect((err as BusRemoteError).remoteMessage).toBe("product not queued: this TTC has no downlink queue");
    } finally {
      await ttc.stop();
      bus.close();
      db.close();
    }
  });
});
