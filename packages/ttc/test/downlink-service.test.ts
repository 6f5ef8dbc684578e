import { afterEach, describe, expect, it } from "vitest";
import { decodeTm } from "@umbra/ccsds";
import { umbra } from "@umbra/proto";
import { TTC_APID } from "../src/service.js";
import { startStack, type Stack } from "./support/stack.js";

const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop();
});

/** A radio link that confirms what it sends, or stays silent when down. */
function radio(s: Stack) {
  const sent: { service: number; subtype: number; bytes: number }[] = [];
  let up = true;
  s.bus.serve(
    umbra.ttc.v1.TransmitPackets,
    umbra.ttc.v1.TransmitResult,
    (req) => {
      if (!up) return { confirmed: false, detail: "carrier lost" };
      for (const p of req.packets) {
        const tm = decodeTm(p);
        if (tm.ok) sent.push({ service: tm.value.service, subtype: tm.value.subtype, bytes: p.length });
      }
      return { confirmed: true, detail: "" };
    },
    { target: "downlink" },
  );
  return { sent, setUp: (u: boolean) => (up = u) };
}

const inView = (s: Stack, stations: string[]) => s.bus.publish(umbra.hil.v1.EnvironmentSample, { orbit: { stationsInView: stations } });

describe("TTC store-and-forward downlink", () => {
  it("holds TM while out of contact, then sends by priority within the link rate when a station is in view", async () => {
    const s = await stack();
    const link = radio(s);
    // Out of contact: housekeeping piles up, then commands are verified.
    await s.send(s.ground.tc(TTC_APID, 3, 1, (await import("../src/telemetry/index.js")).encodeCreateStructure({ sid: 1, collectionIntervalMs: 1000, enabled: true, parameters: [{ service: "counter", name: "count" }] })));
    await s.clock.advance(30_000);
    await s.settle();
    await s.send(s.ground.areYouAlive(TTC_APID));
    expect(link.sent).toHaveLength(0);
    const queued = s.tm.length;
    // 200 B/s in view: only a little fits each second, and verification reports go first.
    await s.send(s.ground.setParameters(TTC_APID, [{ name: "linkBytesPerSecond", value: 200n }]));
    for (let i = 0; i < 5; i++) {
      inView(s, ["Svalbard"]);
      await s.clock.advance(1_000);
      await s.settle();
    }
    expect(link.sent.length).toBeGreaterThan(0);
    expect(link.sent.reduce((a, p) => a + p.bytes, 0)).toBeLessThanOrEqual(5 * 200 + 200);
    const firstHk = link.sent.findIndex((p) => p.service === 3);
    const lastVerification = link.sent.map((p) => p.service).lastIndexOf(1);
    expect(firstHk === -1 || lastVerification < firstHk).toBe(true);
    expect(queued).toBeGreaterThan(link.sent.length);
  });

  it("keeps packets the link did not confirm, and sends them once it does", async () => {
    const s = await stack();
    const link = radio(s);
    await s.send(s.ground.areYouAlive(TTC_APID));
    link.setUp(false);
    inView(s, ["Kiruna"]);
    await s.clock.advance(1_000);
    await s.settle();
    expect(link.sent).toHaveLength(0);
    link.setUp(true);
    inView(s, ["Kiruna"]);
    await s.clock.advance(1_000);
    await s.settle();
    expect(link.sent.filter((p) => p.service === 1).map((p) => p.subtype)).toEqual([1, 3, 7]);
  });
});

async function stack() {
  const s = await startStack();
  stacks.push(s);
  return s;
}

describe("TTC downlink by telecommand", () => {
  it("follows an uplinked contact plan, and retrieves a time range again on request", async () => {
    const s = await stack();
    const link = radio(s);
    const now = s.clock.nowTaiNs();
    // A window from +10 s to +20 s at 100 kB/s; no HIL contact at all.
    await s.send(
      s.ground.perform(TTC_APID, "setContacts", umbra.ttc.v1.ContactSchedule, {
        windows: [{ startNs: now + 10_000_000_000n, endNs: now + 20_000_000_000n, bytesPerSecond: 100_000, station: "Svalbard" }],
      }),
    );
    expect(s.verifications.at(-1)).toMatchObject({ success: true, detail: "1 contact window(s) planned" });
    await s.clock.advance(5_000);
    await s.settle();
    expect(link.sent).toHaveLength(0);
    await s.clock.advance(10_000);
    await s.settle();
    const first = link.sent.length;
    expect(first).toBeGreaterThan(0);
    // A bad plan is refused, changing nothing.
    await s.send(
      s.ground.perform(TTC_APID, "setContacts", umbra.ttc.v1.ContactSchedule, {
        windows: [{ startNs: now + 90_000_000_000n, endNs: now + 80_000_000_000n, bytesPerSecond: 1000, station: "x" }],
      }),
    );
    expect(s.verifications.at(-1)).toMatchObject({ success: false, code: umbra.ttc.v1.FailureCode.FAILURE_BAD_ARGUMENT });
    // Everything sent in the window is queued again by a retrieval of that range.
    await s.send(s.ground.perform(TTC_APID, "retrieve", umbra.ttc.v1.RetrieveRange, { fromNs: now, toNs: now + 6_000_000_000n, apid: 0 }));
    expect(s.verifications.at(-1)!.detail).toMatch(/^\d+ packet\(s\) queued again$/);
    expect(Number(/^(\d+)/.exec(s.verifications.at(-1)!.detail)![1])).toBeGreaterThan(0);
  });
});
