import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Ack, AntiReplay, KeyStore, authenticateTc } from "@umbra/ccsds";
import { umbra } from "@umbra/proto";
import { TTC_APID } from "../src/service.js";
import { TcBuilder } from "../src/ground.js";
import { decodeParameterValues } from "../src/app-data.js";
import { openTtcDatabase } from "../src/store/database.js";
import { CommandHistory } from "../src/store/command-history.js";
import { ROGUE, startStack, keyStore, groundKeys, type Stack } from "./support/stack.js";

const COUNTER = 0x7f0;
const PROBE = 0x300;
const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop();
});
async function stack(options?: Parameters<typeof startStack>[0]) {
  const s = await startStack(options);
  stacks.push(s);
  return s;
}
const seqOf = (packet: Uint8Array) => ((packet[2]! & 0x3f) << 8) | packet[3]!;

describe("TTC: a command's whole path", () => {
  it("are-you-alive (17,1) gets acceptance, start, completion and a (17,2)", async () => {
    const s = await stack();
    const p = s.ground.areYouAlive(TTC_APID);
    await s.send(p);
    expect(s.stages(TTC_APID, seqOf(p))).toEqual(["acceptance:ok", "start:ok", "completion:ok"]);
    expect(s.tm.map((t) => `${t.service},${t.subtype}`)).toEqual(["1,1", "1,3", "17,2", "1,7"]);
    // The verification report carries the TC's packet id and sequence control.
    expect(Buffer.from(s.tm[0]!.appData).equals(Buffer.from(p.subarray(0, 4)))).toBe(true);
  });

  it("routes a declared command by APID to its service, which runs it", async () => {
    const s = await stack();
    const p = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 5n });
    await s.send(p);
    expect(s.stages(COUNTER, seqOf(p))).toEqual(["acceptance:ok", "start:ok", "completion:ok"]);
    expect(s.counter.value).toBe(5);
    expect(s.verifications.at(-1)).toMatchObject({ service: "counter", command: "add", detail: "count is 5" });
  });

  it("reports only failures when the TC asks for no acknowledgements", async () => {
    const s = await stack();
    await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n }, Ack.NONE));
    expect(s.tm.filter((t) => t.service === 1)).toEqual([]);
    await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 0n }, Ack.NONE));
    expect(s.tm.filter((t) => t.service === 1).map((t) => t.subtype)).toEqual([2]);
  });
});

describe("TTC: every failure code, from a real packet", () => {
  const code = (s: Stack) => umbra.ttc.v1.FailureCode[s.verifications.at(-1)!.code];
  const failureOf = (s: Stack) => {
    const report = s.tm.filter((t) => t.service === 1 && t.subtype % 2 === 0).at(-1)!;
    const data = Buffer.from(report.appData);
    return { subtype: report.subtype, code: data.readUInt16BE(4), detail: data.subarray(7, 7 + data[6]!).toString("utf8") };
  };

  it("BAD_APID", async () => {
    const s = await stack();
    await s.send(s.ground.areYouAlive(0x123));
    expect(code(s)).toBe("FAILURE_BAD_APID");
    expect(failureOf(s)).toEqual({ subtype: 2, code: umbra.ttc.v1.FailureCode.FAILURE_BAD_APID, detail: "no service has APID 291" });
  });

  it("BAD_LENGTH: truncated, and a packet longer than its header says", async () => {
    const s = await stack();
    const p = s.ground.areYouAlive(TTC_APID);
    await s.send(p.subarray(0, p.length - 5));
    expect(code(s)).toBe("FAILURE_BAD_LENGTH");
    await s.send(new Uint8Array([0x18]));
    expect(code(s)).toBe("FAILURE_BAD_LENGTH");
    expect(s.counter.value).toBe(0);
  });

  it("BAD_CRC", async () => {
    const s = await stack();
    const p = Uint8Array.from(s.ground.areYouAlive(TTC_APID));
    p[p.length - 1]! ^= 0x01;
    await s.send(p);
    expect(code(s)).toBe("FAILURE_BAD_CRC");
  });

  it("AUTHENTICATION: bad MAC, unknown SPI, standby SPI, replay, outside the window — each a security event, never executed", async () => {
    const s = await stack();
    const add = (b: TcBuilder) => b.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n });
    // Tampered MAC, with the CRC fixed up so only the MAC is wrong.
    const good = add(s.ground);
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 10]! ^= 0x80;
    const { writePec } = await import("@umbra/ccsds");
    writePec(tampered);
    await s.send(tampered);
    expect(s.security.at(-1)!.reason).toBe("bad-mac");
    // Signed with a key the payload does not have.
    const rogueKeys = new KeyStore([{ spi: 9, algorithm: "hmac-sha256", state: "active", key: ROGUE }]);
    await s.send(add(new TcBuilder({ keys: rogueKeys, spi: 9 })));
    expect(s.security.at(-1)!.reason).toBe("unknown-spi");
    // A standby key is not usable until rotated in.
    await s.send(add(new TcBuilder({ keys: groundKeys(), spi: 2 })));
    expect(s.security.at(-1)!.reason).toMatch(/inactive-spi|revoked-spi/);
    // Replay of a packet that was accepted.
    await s.send(good);
    expect(s.counter.value).toBe(1);
    await s.send(good);
    expect(s.security.at(-1)!.reason).toBe("replay");
    // Far behind the window.
    s.ground.securitySequence = 1000;
    await s.send(add(s.ground));
    const old = new TcBuilder({ keys: groundKeys(), spi: 1, securitySequence: 10, sourceId: 2 });
    await s.send(add(old));
    expect(s.security.at(-1)!.reason).toBe("outside-window");
    expect(s.counter.value).toBe(2);
    expect(s.security).toHaveLength(5);
    expect(s.events.filter((e) => e.name === "securityRejected")).toHaveLength(5);
    expect(code(s)).toBe("FAILURE_AUTHENTICATION");
  });

  it("UNKNOWN_SERVICE", async () => {
    const s = await stack();
    await s.send(s.ground.tc(COUNTER, 3, 1));
    expect(code(s)).toBe("FAILURE_UNKNOWN_SERVICE");
  });

  it("BAD_ARGUMENT: out of the declared range (the service never sees it), unknown function, undecodable arguments", async () => {
    const s = await stack();
    let seen = 0;
    s.bus.subscribe(umbra.examples.v1.CounterAdd, () => {
      seen++;
    });
    await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 5000n }));
    expect(code(s)).toBe("FAILURE_BAD_ARGUMENT");
    expect(failureOf(s)).toMatchObject({ subtype: 2, detail: "amount: 5000 is above the maximum 1000" });
    await s.send(s.ground.perform(COUNTER, "launch", umbra.examples.v1.CounterAdd, { amount: 1n }));
    expect(failureOf(s).detail).toBe("counter has no function launch");
    const { encodeFunctionCall } = await import("../src/app-data.js");
    await s.send(s.ground.tc(COUNTER, 8, 1, encodeFunctionCall({ name: "add", args: new Uint8Array([0x08, 0xff]) })));
    expect(code(s)).toBe("FAILURE_BAD_ARGUMENT");
    expect(s.counter.value).toBe(0);
    expect(seen).toBe(0);
  });

  it("PRECONDITION: the service refuses (frozen), and a critical command that was not armed", async () => {
    const s = await stack();
    await s.send(s.ground.setParameters(COUNTER, [{ name: "frozen", value: true }]));
    await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n }));
    expect(s.stages(COUNTER, 1)).toEqual(["acceptance:ok", "start:ok", "completion:fail(FAILURE_PRECONDITION)"]);
    await s.send(s.ground.perform(COUNTER, "reset", umbra.examples.v1.CounterReset, {}));
    expect(s.stages(COUNTER, 2)).toEqual(["acceptance:fail(FAILURE_PRECONDITION)"]);
    expect(failureOf(s).detail).toBe("counter.reset is critical and not armed");
  });

  it("EXECUTION: the handler ran and failed", async () => {
    const s = await stack();
    await s.send(s.ground.perform(PROBE, "explode", umbra.examples.v1.CounterReset, {}));
    expect(s.stages(PROBE, 0)).toEqual(["acceptance:ok", "start:ok", "completion:fail(FAILURE_EXECUTION)"]);
    expect(failureOf(s).detail).toBe("actuator jammed");
  });

  it("TIMEOUT: no completion within the command timeout", async () => {
    const s = await stack();
    s.bus.publish(umbra.ttc.v1.TcUplink, { packet: s.ground.perform(PROBE, "stall", umbra.bench.v1.Ping, { id: 1n }), link: "test" });
    // The stalled handler keeps the probe's queue busy for good, so no bus.idle() here.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await s.clock.advance(10_000);
    await s.ttc.drain();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(s.stages(PROBE, 0)).toEqual(["acceptance:ok", "start:ok", "completion:fail(FAILURE_TIMEOUT)"]);
  });

  it("DUPLICATE: the same (source, APID, sequence count) is not executed twice", async () => {
    const s = await stack();
    const first = s.ground.tc(COUNTER, 8, 1, (await import("../src/app-data.js")).encodeFunctionCall({ name: "add", args: new Uint8Array([0x08, 0x02]) }), Ack.ALL, 77);
    const again = s.ground.tc(COUNTER, 8, 1, (await import("../src/app-data.js")).encodeFunctionCall({ name: "add", args: new Uint8Array([0x08, 0x02]) }), Ack.ALL, 77);
    await s.send(first);
    await s.send(again);
    expect(s.counter.value).toBe(1);
    expect(s.stages(COUNTER, 77)).toEqual(["acceptance:ok", "start:ok", "completion:ok", "acceptance:fail(FAILURE_DUPLICATE)"]);
  });

  it("property: random bytes on the uplink never crash the TTC and are always reported", async () => {
    const s = await stack();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (bytes) => {
        const before = s.verifications.length;
        await s.send(bytes);
        expect(s.verifications.length).toBe(before + 1);
        expect(s.verifications.at(-1)!.success).toBe(false);
      }),
      { numRuns: 60 },
    );
    expect(s.counter.value).toBe(0);
    expect(s.ttc.stateName).toBe("running");
  });
});

describe("TTC: critical commands", () => {
  it("arm then fire within the window; each arm allows one execution; an arm expires", async () => {
    const s = await stack();
    await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 9n }));
    const arm = () => s.ground.perform(TTC_APID, "arm", umbra.ttc.v1.ArmCommand, { apid: COUNTER, function: "reset" });
    const reset = () => s.ground.perform(COUNTER, "reset", umbra.examples.v1.CounterReset, {});
    await s.send(arm());
    expect(s.verifications.at(-1)).toMatchObject({ success: true, detail: "counter.reset armed for 30 s" });
    await s.send(reset());
    expect(s.counter.value).toBe(0);
    expect(s.events.map((e) => e.name)).toEqual(expect.arrayContaining(["criticalArmed", "criticalFired"]));
    await s.send(s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 3n }));
    await s.send(reset());
    expect(s.counter.value).toBe(3);
    expect(s.verifications.at(-1)).toMatchObject({ success: false, detail: "counter.reset is critical and not armed" });
    await s.send(arm());
    await s.clock.advance(31_000);
    await s.send(reset());
    expect(s.verifications.at(-1)).toMatchObject({ success: false, detail: "counter.reset is critical and arm expired" });
    expect(s.counter.value).toBe(3);
    // Arming something that is not critical is refused.
    await s.send(s.ground.perform(TTC_APID, "arm", umbra.ttc.v1.ArmCommand, { apid: COUNTER, function: "add" }));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, detail: "counter.add is not critical; it needs no arm" });
  });

  it("rotates the key by critical command: the old SPI is refused afterwards", async () => {
    const s = await stack();
    await s.send(s.ground.perform(TTC_APID, "arm", umbra.ttc.v1.ArmCommand, { apid: TTC_APID, function: "rotateKey" }));
    await s.send(s.ground.perform(TTC_APID, "rotateKey", umbra.ttc.v1.RotateKey, { oldSpi: 1, newSpi: 2 }));
    expect(s.verifications.at(-1)).toMatchObject({ success: true, detail: "SPI 2 active, SPI 1 revoked" });
    await s.send(s.ground.areYouAlive(TTC_APID));
    expect(s.security.at(-1)!.reason).toBe("revoked-spi");
    s.ground.spi = 2;
    await s.send(s.ground.areYouAlive(TTC_APID));
    expect(s.verifications.at(-1)).toMatchObject({ success: true, stage: umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION });
  });
});

describe("TTC: parameters (ST[20])", () => {
  it("reports values as TM(20,2) and sets several atomically: one bad value changes none", async () => {
    const s = await stack();
    await s.send(s.ground.reportParameters(COUNTER, ["limit", "frozen"]));
    const report = s.tm.find((t) => t.service === 20 && t.subtype === 2)!;
    expect(decodeParameterValues(report.appData)).toEqual({ ok: true, value: [{ name: "limit", value: 100n }, { name: "frozen", value: false }] });
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 50n }, { name: "reportPeriodMs", value: 5n }]));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, detail: "reportPeriodMs: 5 is below the minimum 100" });
    expect(s.counter.parameters.get("limit")).toBe(100);
    await s.send(s.ground.setParameters(COUNTER, [{ name: "limit", value: 50n }, { name: "reportPeriodMs", value: 500n }]));
    expect(s.counter.parameters.snapshot()).toMatchObject({ limit: 50, reportPeriodMs: 500 });
    await s.send(s.ground.setParameters(PROBE, [{ name: "label", value: "y" }, { name: "level", value: 3n }]));
    expect(s.probe.parameters.snapshot()).toEqual({ level: 3, label: "y" });
  });
});

describe("TTC: time-tagged schedule (ST[11])", () => {
  it("releases an activity at its time, deletes and shifts on command, and reports the schedule", async () => {
    const s = await stack();
    const now = s.clock.nowTaiNs();
    const add = (n: bigint) => s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: n });
    const a = add(7n);
    const b = add(11n);
    // The release function starts disabled, as PUS ST[11] specifies; (11,1) enables it.
    await s.send(s.ground.tc(TTC_APID, 11, 1));
    await s.send(s.ground.schedule(TTC_APID, [{ releaseNs: now + 60_000_000_000n, packet: a }, { releaseNs: now + 120_000_000_000n, packet: b }]));
    expect(s.verifications.at(-1)).toMatchObject({ success: true, detail: "2 activities scheduled" });
    await s.send(s.ground.tc(TTC_APID, 11, 16));
    const report = s.tm.find((t) => t.service === 11 && t.subtype === 10)!;
    expect(Buffer.from(report.appData).readUInt16BE(0)).toBe(2);
    await s.send(s.ground.deleteActivities(TTC_APID, [{ sourceId: 1, apid: COUNTER, sequenceCount: seqOf(b) }]));
    await s.send(s.ground.timeShift(TTC_APID, 30_000n));
    await s.clock.advance(61_000);
    await s.settle();
    expect(s.counter.value).toBe(0); // shifted to +90 s
    await s.clock.advance(30_000);
    await s.settle();
    expect(s.counter.value).toBe(7);
    expect(s.stages(COUNTER, seqOf(a))).toEqual(["acceptance:ok", "start:ok", "completion:ok"]);
    // A shift that would move activities into the past is refused; a past release time too.
    await s.send(s.ground.schedule(TTC_APID, [{ releaseNs: now - 1n, packet: add(1n) }]));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, detail: "activities[0]: release time is in the past" });
  });

  it("refuses an activity that does not authenticate", async () => {
    const s = await stack();
    const rogue = new TcBuilder({ keys: new KeyStore([{ spi: 9, algorithm: "hmac-sha256", state: "active", key: ROGUE }]), spi: 9 });
    await s.send(s.ground.schedule(TTC_APID, [{ releaseNs: s.clock.nowTaiNs() + 10_000_000_000n, packet: rogue.areYouAlive(TTC_APID) }]));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, code: umbra.ttc.v1.FailureCode.FAILURE_AUTHENTICATION });
  });

  it("survives a restart: an activity due while down runs late within tolerance, one too late is rejected and reported", async () => {
    const s = await stack();
    const now = s.clock.nowTaiNs();
    const soon = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 2n });
    const early = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 100n });
    await s.send(s.ground.tc(TTC_APID, 11, 1));
    await s.send(s.ground.schedule(TTC_APID, [{ releaseNs: now + 20_000_000_000n, packet: early }, { releaseNs: now + 250_000_000_000n, packet: soon }]));
    const { dbPath, clock } = s;
    stacks.splice(stacks.indexOf(s), 1);
    await s.stop();
    // Down for five minutes: the first is 280 s late (rejected), the second 50 s late (runs).
    clock.advanceSync(0);
    await clock.advance(300_000);
    const again = await stack({ dbPath, clock, securitySequence: 100 });
    await again.clock.advance(1_000); // recovery runs on the first schedule tick
    await again.settle();
    expect(again.counter.value).toBe(2);
    expect(again.events.filter((e) => e.name === "scheduleMissed")).toHaveLength(1);
  });
});

describe("TTC: command history", () => {
  it("keeps every command with its source, arguments and each stage with its time, across a restart", async () => {
    const s = await stack();
    const p = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 4n });
    await s.send(p);
    const id = Number(s.verifications.at(-1)!.commandId);
    const { dbPath } = s;
    stacks.splice(stacks.indexOf(s), 1);
    await s.stop();
    const db = openTtcDatabase(dbPath);
    const cmd = new CommandHistory(db).get(id)!;
    db.close();
    expect(cmd).toMatchObject({ apid: COUNTER, sourceId: 1, link: "test", resolution: { targetService: "counter", command: "add" }, outcome: "success" });
    expect(JSON.parse(cmd.resolution!.argumentsJson)).toEqual({ amount: "4" });
    expect(cmd.stages.map((st) => `${st.stage}:${st.success}`)).toEqual(["acceptance:true", "start:true", "completion:true"]);
    expect(cmd.stages.every((st) => typeof st.atNs === "bigint" && st.atNs > 0n)).toBe(true);
  });
});

describe("ground tooling", () => {
  it("builds packets the payload's own decoder accepts", () => {
    const keys = keyStore();
    const b = new TcBuilder({ keys, spi: 1 });
    const p = b.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n });
    expect(authenticateTc(p, keys, new AntiReplay({})).ok).toBe(true);
  });
});

describe("TTC: progress reports", () => {
  it("turns a service's progress into (1,5) reports between start and completion", async () => {
    const s = await stack();
    const p = s.ground.perform(PROBE, "countdown", umbra.examples.v1.CounterAdd, { amount: 3n });
    await s.send(p);
    expect(s.stages(PROBE, seqOf(p))).toEqual(["acceptance:ok", "start:ok", "progress:ok", "progress:ok", "progress:ok", "completion:ok"]);
    const progress = s.tm.filter((t) => t.service === 1 && t.subtype === 5);
    expect(progress.map((t) => Buffer.from(t.appData).readUInt16BE(4))).toEqual([1, 2, 3]);
    expect(s.verifications.filter((v) => v.stage === umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_PROGRESS).map((v) => v.detail)).toEqual([
      "step 1 of 3",
      "step 2 of 3",
      "step 3 of 3",
    ]);
  });
});

describe("TTC: security state across a reset", () => {
  it("refuses a replay of a command accepted before the reset, and keeps a rotated-out key revoked", async () => {
    const s = await stack();
    const replayable = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n });
    await s.send(replayable);
    await s.send(s.ground.perform(TTC_APID, "arm", umbra.ttc.v1.ArmCommand, { apid: TTC_APID, function: "rotateKey" }));
    await s.send(s.ground.perform(TTC_APID, "rotateKey", umbra.ttc.v1.RotateKey, { oldSpi: 1, newSpi: 2 }));
    const { dbPath } = s;
    stacks.splice(stacks.indexOf(s), 1);
    await s.stop();
    // The key file still says SPI 1 active and SPI 2 standby; the database knows better.
    const again = await stack({ dbPath });
    await again.send(replayable);
    expect(again.security.at(-1)!.reason).toBe("revoked-spi");
    again.ground.spi = 2;
    // A fresh sequence count: (source 1, APID 16, count 0) was used before the reset and is still a duplicate.
    await again.send(again.ground.tc(TTC_APID, 17, 1, new Uint8Array(0), Ack.ALL, 100));
    expect(again.verifications.at(-1)).toMatchObject({ success: true });
  });

  it("refuses a pre-reset sequence number on a key that is still active", async () => {
    const s = await stack();
    const first = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n });
    await s.send(first);
    const { dbPath } = s;
    stacks.splice(stacks.indexOf(s), 1);
    await s.stop();
    const again = await stack({ dbPath, securitySequence: 500 });
    await again.send(first);
    expect(again.security.at(-1)!.reason).toBe("replay");
    expect(again.counter.value).toBe(0);
  });
});

describe("TTC: commands in flight at a reset", () => {
  it("are reported as failed, interrupted by the reset, when the TTC comes back", async () => {
    const crashed = await startStack();
    crashed.bus.publish(umbra.ttc.v1.TcUplink, { packet: crashed.ground.perform(PROBE, "stall", umbra.bench.v1.Ping, { id: 1n }), link: "test" });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(crashed.stages(PROBE, 0)).toEqual(["acceptance:ok", "start:ok"]);
    // The process dies here: nothing is stopped or closed; a new TTC opens the same database.
    const again = await stack({ dbPath: crashed.dbPath, securitySequence: 100 });
    expect(again.events.find((e) => e.name === "interrupted")?.message).toBe("1 command(s) were in flight at the last reset");
    const db = openTtcDatabase(crashed.dbPath);
    const cmd = new CommandHistory(db).list({ limit: 10 }).find((c) => c.apid === PROBE)!;
    const full = new CommandHistory(db).get(cmd.id)!;
    db.close();
    expect(full.stages.at(-1)).toMatchObject({ stage: "completion", success: false, detail: "interrupted by a reset" });
  });
});

describe("TTC: packet edges", () => {
  it("refuses octets after the end of an authenticated packet (BAD_LENGTH), as a command and as an activity", async () => {
    const s = await stack();
    const p = s.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n });
    await s.send(Buffer.concat([p, Buffer.from([1, 2, 3])]));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, code: umbra.ttc.v1.FailureCode.FAILURE_BAD_LENGTH, detail: "3 octets after the end of the packet" });
    await s.send(s.ground.schedule(TTC_APID, [{ releaseNs: s.clock.nowTaiNs() + 10_000_000_000n, packet: Buffer.concat([s.ground.areYouAlive(TTC_APID), Buffer.from([9])]) }]));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, code: umbra.ttc.v1.FailureCode.FAILURE_BAD_LENGTH });
    expect(s.counter.value).toBe(0);
  });

  it("keeps a hostile link name short and printable, and still commands", async () => {
    const s = await stack();
    s.bus.publish(umbra.ttc.v1.TcUplink, { packet: s.ground.areYouAlive(TTC_APID), link: "x\u0000".repeat(500) });
    await s.settle();
    expect(s.verifications.at(-1)).toMatchObject({ success: true, stage: umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION });
  });

  it("an activity that fails authentication is a security event too", async () => {
    const s = await stack();
    const rogue = new TcBuilder({ keys: new KeyStore([{ spi: 9, algorithm: "hmac-sha256", state: "active", key: ROGUE }]), spi: 9 });
    await s.send(s.ground.schedule(TTC_APID, [{ releaseNs: s.clock.nowTaiNs() + 10_000_000_000n, packet: rogue.areYouAlive(TTC_APID) }]));
    expect(s.security.at(-1)).toMatchObject({ link: "schedule", reason: "unknown-spi" });
  });
});
