// How many SQLite commits (each one fsync, synchronous FULL) a telecommand
// costs (one up to its start stage, one for its completion; the telecommands
// of one burst share their commits: group-commit.ts), and that folding its acceptance into one transaction kept the
// durability rules: the anti-replay number and the command are on disk before
// anything is acknowledged, every stage is on disk before its report, and a
// crash between the commit and the publish loses nothing acknowledged and
// runs nothing twice.
//
// Commits are counted in the WAL itself: every committed write transaction
// appends frames whose last one is a commit frame (non-zero "database size
// after commit" in its header). With automatic checkpoints off, the WAL keeps
// every commit since the database was opened.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Ack, KeyStore } from "@umbra/ccsds";
import { Bus, SimClock } from "@umbra/core";
import { codecFor, umbra, type MessageOf } from "@umbra/proto";
import { CounterService } from "@umbra/example-counter-service";
import { TtcService } from "../src/service.js";
import { TcBuilder } from "../src/ground.js";
import { encodeFunctionCall } from "../src/app-data.js";
import { openTtcDatabase, type TtcDatabase } from "../src/store/database.js";
import { CommandHistory } from "../src/store/command-history.js";
import { ScheduleStore } from "../src/store/schedule-store.js";
import { SecurityState } from "../src/security-state.js";
import { ContactPlan, DownlinkQueue } from "../src/index.js";
import { ensureDistCurrent, runAndKill } from "./support/crash.js";
import { ROGUE, groundKeys, keyStore, startStack, type Stack } from "./support/stack.js";

const COUNTER = 0x7f0;
const { VerificationStage, FailureCode } = umbra.ttc.v1;
const STAGE = ["?", "acceptance", "start", "progress", "completion"] as const;

/** Commit frames in the database's WAL (valid frames only: those carrying the header's salts). */
function walCommits(dbPath: string): number {
  const wal = readFileSync(`${dbPath}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

/** The TTC as the gateway bench runs it: history, schedule and security state on one database, no downlink queue. */
interface Payload {
  bus: Bus;
  clock: SimClock;
  db: TtcDatabase;
  dbPath: string;
  ttc: TtcService;
  counter: CounterService;
  ground: TcBuilder;
  history: CommandHistory;
  verifications: MessageOf<typeof umbra.ttc.v1.Verification>[];
  settle(): Promise<void>;
  close(): Promise<void>;
}

const open: Payload[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
});

async function payload(options: { downlink?: boolean; downlinkFlushMs?: number } = {}): Promise<Payload> {
  const clock = new SimClock({ startUtcMs: Date.UTC(2026, 5, 1) });
  const bus = new Bus({ node: "payload", clock, queueCapacity: 100_000 });
  const dbPath = join(mkdtempSync(join(tmpdir(), "umbra-ttc-commits-")), "ttc.db");
  const db = openTtcDatabase(dbPath);
  db.pragma("wal_autocheckpoint = 0"); // the WAL keeps every commit, to be counted
  const verifications: Payload["verifications"] = [];
  bus.subscribe(umbra.ttc.v1.Verification, (v) => void verifications.push(v));
  const counter = new CounterService({ bus, clock });
  await counter.start();
  const history = new CommandHistory(db);
  const ttc = new TtcService(
    { bus, clock, ...(options.downlinkFlushMs === undefined ? {} : { parameters: { downlinkFlushMs: options.downlinkFlushMs } }) },
    { keys: keyStore(), history, schedule: new ScheduleStore(db), security: new SecurityState(db), ...(options.downlink ? { downlink: { queue: new DownlinkQueue(db), plan: new ContactPlan(db) } } : {}) },
  );
  await ttc.start();
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await bus.idle();
      await ttc.drain();
    }
    await bus.idle();
  };
  await settle();
  const p: Payload = {
    bus,
    clock,
    db,
    dbPath,
    ttc,
    counter,
    history,
    verifications,
    ground: new TcBuilder({ keys: groundKeys(), spi: 1 }),
    settle,
    async close() {
      await ttc.stop();
      await counter.stop();
      bus.close();
      db.close();
    },
  };
  open.push(p);
  return p;
}

const add = (p: Payload, amount = 1n) => p.ground.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount });
const latest = (p: Payload) => p.history.get(p.history.list({ limit: 1 })[0]!.id)!;

describe("TTC: commits per telecommand", () => {
  it("an ordinary (8,1) costs two commits: one up to its start stage, one for its completion", async () => {
    const p = await payload();
    p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p), link: "test" });
    await p.settle();

    const before = walCommits(p.dbPath);
    const packet = add(p);
    p.ttc.uplink(packet, "test");
    // One commit: anti-replay number, the command and its key, its resolution, acceptance and start.
    expect(walCommits(p.dbPath) - before).toBe(1);
    const accepted = latest(p);
    expect(accepted.resolution).toMatchObject({ targetService: "counter", command: "add" });
    expect(accepted.stages.map((s) => s.stage)).toEqual(["acceptance", "start"]);
    expect(p.db.prepare("SELECT highest FROM security_replay WHERE spi = 1").pluck().get()).toBe(p.ground.securitySequence - 1);
    expect(p.counter.value).toBe(1);

    await p.settle();
    expect(walCommits(p.dbPath) - before).toBe(2);
    expect(latest(p).stages.map((s) => `${s.stage}:${s.success}`)).toEqual(["acceptance:true", "start:true", "completion:true"]);
    expect(p.counter.value).toBe(2);

    // A burst, as the gateway sends them (one bus drain): the 50 acceptances share ONE commit (group commit), made
    // before anything of them is said, and their 50 completions, answered within the turn, share another.
    const burst = walCommits(p.dbPath);
    const stagesSeen = p.verifications.length;
    for (let i = 0; i < 50; i++) p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p), link: "test" });
    let commitsWhenFirstSaid = -1;
    const said = p.bus.subscribe(umbra.ttc.v1.Verification, () => {
      if (commitsWhenFirstSaid < 0) commitsWhenFirstSaid = walCommits(p.dbPath) - burst;
    });
    await p.settle();
    said.unsubscribe();
    expect(commitsWhenFirstSaid).toBe(1);
    expect(walCommits(p.dbPath) - burst).toBe(1 + 1);
    expect(p.counter.value).toBe(52);
    expect(p.verifications.length - stagesSeen).toBe(150);
    expect(p.verifications.filter((v) => v.stage === VerificationStage.VERIFICATION_STAGE_COMPLETION && v.success)).toHaveLength(52);
    const last50 = p.history.list({ limit: 50 });
    expect(last50.every((c) => p.history.get(c.id)!.stages.map((x) => x.stage).join() === "acceptance,start,completion")).toBe(true);
  });

  it("with a downlink queue, the TM reports of a burst are queued together: the burst costs three commits, and every report is on disk", async () => {
    const p = await payload({ downlink: true });
    const queued = () => p.db.prepare("SELECT count(*) FROM downlink_packet WHERE service = 1").pluck().get() as number;
    const before = walCommits(p.dbPath);
    const packetsBefore = queued();
    for (let i = 0; i < 20; i++) p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p), link: "test" });
    await p.settle();
    expect(p.counter.value).toBe(20);
    // (1,1), (1,3) and (1,7) for each: acknowledgement of every stage was asked for (Ack.ALL).
    expect(queued() - packetsBefore).toBe(60);
    // Acceptances (with their (1,1) and (1,3) queued in the completions' commit), completions, the (1,7)s.
    expect(walCommits(p.dbPath) - before).toBe(3);
  });

  describe("TM copies for the downlink queue (downlinkFlushMs)", () => {
    const queued = (p: Payload) => p.db.prepare("SELECT service, subtype FROM downlink_packet WHERE service = 1 ORDER BY id").all() as { service: number; subtype: number }[];
    /** One command, left to run its course over a few event-loop turns: no drain, so nothing is written but what the TTC writes itself. */
    const one = async (p: Payload) => {
      p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p), link: "test" });
      for (let i = 0; i < 10; i++) {
        await p.bus.idle();
        await new Promise((r) => setImmediate(r));
      }
    };

    it("ride the next command commit: a lone command costs its two commits, and its (1,7) waits for the next one or the timer", async () => {
      const p = await payload({ downlink: true });
      const before = walCommits(p.dbPath);
      const packetsBefore = queued(p).length;
      await one(p);
      expect(p.counter.value).toBe(1);
      // Its acceptance, and its completion, which carried the (1,1) and (1,3) said after the acceptance.
      expect(walCommits(p.dbPath) - before).toBe(2);
      expect(queued(p).slice(packetsBefore).map((r) => r.subtype)).toEqual([1, 3]);
      // The next command's acceptance carries the first one's (1,7).
      await one(p);
      expect(walCommits(p.dbPath) - before).toBe(4);
      expect(queued(p).slice(packetsBefore).map((r) => r.subtype)).toEqual([1, 3, 7, 1, 3]);
      // Nothing else commits: the timer writes the last (1,7) within downlinkFlushMs (100 ms by default), in a commit of its own.
      await p.clock.advance(99);
      expect(queued(p).slice(packetsBefore)).toHaveLength(5);
      await p.clock.advance(1);
      expect(queued(p).slice(packetsBefore).map((r) => r.subtype)).toEqual([1, 3, 7, 1, 3, 7]);
      expect(walCommits(p.dbPath) - before).toBe(5);
    });

    it("with downlinkFlushMs 0, each turn's copies are committed at the end of that turn, none left waiting", async () => {
      const p = await payload({ downlink: true, downlinkFlushMs: 0 });
      const before = walCommits(p.dbPath);
      const packetsBefore = queued(p).length;
      await one(p);
      expect(p.counter.value).toBe(1);
      expect(queued(p).slice(packetsBefore).map((r) => r.subtype)).toEqual([1, 3, 7]);
      // The acceptance; the completion with the (1,1) and (1,3) (the counter answers within the turn here); the (1,7), a turn later.
      expect(walCommits(p.dbPath) - before).toBe(3);
    });

    it("are written before the queue is read or the TTC stops: a product queued next goes after them, and stop leaves none in memory", async () => {
      const p = await payload({ downlink: true });
      const packetsBefore = queued(p).length;
      await one(p);
      expect(queued(p).slice(packetsBefore)).toHaveLength(2); // the (1,7) waits
      const reply = await p.bus.request(umbra.ttc.v1.QueueProduct, { source: "jobs", productId: "run-1", kind: "umbra.test.Summary", data: new TextEncoder().encode("done") }, umbra.ttc.v1.ProductQueued, { target: "ttc" });
      expect(reply.packets).toBe(1);
      const rows = p.db.prepare("SELECT service, subtype FROM downlink_packet ORDER BY id").all() as { service: number; subtype: number }[];
      const tail = rows.slice(-2);
      // The (1,7) said before the product is queued before it (ST[13] segments after).
      expect(tail[0]).toEqual({ service: 1, subtype: 7 });
      expect(tail[1]!.service).toBe(13);
      await one(p);
      expect(queued(p).slice(packetsBefore)).toHaveLength(5);
      await p.ttc.stop();
      expect(queued(p).slice(packetsBefore).map((r) => r.subtype)).toEqual([1, 3, 7, 1, 3, 7]);
    });
  });

  it("in a burst, a packet whose handling throws is rolled back alone and reported; the others are accepted in the same commit", async () => {
    const p = await payload();
    const packets = [add(p), add(p), add(p)];
    // The second packet's handling fails inside its savepoint (a store error, simulated at the history).
    const history = p.history as unknown as { received: (...a: unknown[]) => number };
    const received = history.received.bind(p.history);
    let calls = 0;
    history.received = (...a: unknown[]) => {
      if (++calls === 2) throw new Error("disk says no");
      return received(...a);
    };
    const before = walCommits(p.dbPath);
    const listed = p.history.list({ limit: 1000 }).length;
    for (const packet of packets) p.bus.publish(umbra.ttc.v1.TcUplink, { packet, link: "test" });
    await p.settle();
    history.received = received;
    expect(p.history.list({ limit: 1000 }).length - listed).toBe(2);
    expect(p.counter.value).toBe(2);
    const internal = p.verifications.filter((v) => v.stage === VerificationStage.VERIFICATION_STAGE_ACCEPTANCE && !v.success);
    expect(internal).toHaveLength(1);
    expect(internal[0]!.detail).toMatch(/internal error: disk says no/);
    // One commit for the burst's acceptances, one for its completions.
    expect(walCommits(p.dbPath) - before).toBe(1 + 1);
  });

  it("a refused TC costs one commit, and its (1,2) is on disk and reported", async () => {
    const p = await payload();
    const rogue = new TcBuilder({ keys: new KeyStore([{ spi: 9, algorithm: "hmac-sha256", state: "active", key: ROGUE }]), spi: 9 });
    const call = encodeFunctionCall({ name: "add", args: codecFor(umbra.examples.v1.CounterAdd).encode({ amount: 1n }) });
    const first = p.ground.tc(COUNTER, 8, 1, call, Ack.ALL, 77);
    p.ttc.uplink(first, "test");
    await p.settle();
    const cases: [string, Uint8Array, number][] = [
      ["bad MAC / unknown SPI", rogue.perform(COUNTER, "add", umbra.examples.v1.CounterAdd, { amount: 1n }), FailureCode.FAILURE_AUTHENTICATION],
      ["replay", first, FailureCode.FAILURE_AUTHENTICATION],
      ["duplicate", p.ground.tc(COUNTER, 8, 1, call, Ack.ALL, 77), FailureCode.FAILURE_DUPLICATE],
      ["unknown function", p.ground.perform(COUNTER, "divide", umbra.examples.v1.CounterAdd, { amount: 1n }), FailureCode.FAILURE_BAD_ARGUMENT],
      ["argument out of range", add(p, 0n), FailureCode.FAILURE_BAD_ARGUMENT],
    ];
    for (const [name, packet, code] of cases) {
      const before = walCommits(p.dbPath);
      const reported = p.verifications.length;
      p.ttc.uplink(packet, "test");
      expect(walCommits(p.dbPath) - before, name).toBe(1);
      const c = latest(p);
      expect(c.stages, name).toMatchObject([{ stage: "acceptance", success: false, code }]);
      await p.settle();
      expect(p.verifications.slice(reported), name).toMatchObject([{ commandId: BigInt(c.id), success: false, code }]);
      expect(walCommits(p.dbPath) - before, name).toBe(1);
    }
    expect(p.counter.value).toBe(1);
  });
});

describe("TTC: every stage is on disk before it is reported", () => {
  it("seen from a second connection, at the publish and in a bus subscriber", async () => {
    const p = await payload();
    const reader = new Database(p.dbPath, { readonly: true });
    const stagesOnDisk = reader.prepare("SELECT stage FROM command_stage WHERE command_id = ? ORDER BY id").pluck();
    const lastCommand = reader.prepare("SELECT max(id) FROM command").pluck();
    const problems: string[] = [];
    let checks = 0;
    const expectOnDisk = (where: string, commandId: number, stage: string, published: number) => {
      checks++;
      const onDisk = (stagesOnDisk.all(commandId) as string[]).filter((s) => s === stage).length;
      if (onDisk < published) problems.push(`${where}: command ${commandId} ${stage} reported ${published}, on disk ${onDisk}`);
    };

    // At the very moment the TTC publishes: a Verification's stage, a (1,x) TM's stage, the command request's start.
    const said = new Map<string, number>();
    const order: string[] = [];
    const bus = p.bus as unknown as Record<string, (...args: unknown[]) => unknown>;
    const publish = bus["publish"]!.bind(p.bus);
    const request = bus["request"]!.bind(p.bus);
    let lastVerification = "";
    bus["publish"] = (type, value, options) => {
      if (type === umbra.ttc.v1.Verification) {
        const v = value as MessageOf<typeof umbra.ttc.v1.Verification>;
        const id = Number(v.commandId);
        const key = `${id}/${STAGE[v.stage]}`;
        said.set(key, (said.get(key) ?? 0) + 1);
        if (id > 0) expectOnDisk("publish", id, STAGE[v.stage]!, said.get(key)!);
        lastVerification = `${id}/${STAGE[v.stage]}`;
        order.push(`V ${STAGE[v.stage]}`);
      }
      if (type === umbra.ttc.v1.TmDownlink && (value as { service: number }).service === 1) {
        // Its Verification went just before it, and was checked then.
        const subtype = (value as { subtype: number }).subtype;
        order.push(`TM 1,${subtype}`);
        const [id, stage] = lastVerification.split("/");
        if (Number(id) > 0) expectOnDisk("TM", Number(id), stage!, 1);
      }
      return publish(type, value, options);
    };
    bus["request"] = (type, value, reply, options) => {
      if ((options as { target?: string } | undefined)?.target === "counter") {
        const id = lastCommand.get() as number;
        order.push("request");
        expectOnDisk("request", id, "acceptance", 1);
        expectOnDisk("request", id, "start", 1);
      }
      return request(type, value, reply, options);
    };
    // And where a ground tool would read it: in a subscriber.
    p.bus.subscribe(umbra.ttc.v1.Verification, (v) => {
      if (v.commandId > 0n) expectOnDisk("subscriber", Number(v.commandId), STAGE[v.stage]!, 1);
    });

    const rogue = new TcBuilder({ keys: new KeyStore([{ spi: 9, algorithm: "hmac-sha256", state: "active", key: ROGUE }]), spi: 9 });
    p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p), link: "test" });
    await p.settle();
    expect(order).toEqual(["V acceptance", "TM 1,1", "V start", "TM 1,3", "request", "V completion", "TM 1,7"]);
    for (let i = 0; i < 20; i++) {
      p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p), link: "test" });
      if (i % 5 === 0) p.bus.publish(umbra.ttc.v1.TcUplink, { packet: add(p, 0n), link: "test" });
      if (i % 7 === 0) p.bus.publish(umbra.ttc.v1.TcUplink, { packet: rogue.areYouAlive(COUNTER), link: "test" });
    }
    await p.settle();
    reader.close();
    expect(problems).toEqual([]);
    expect(p.counter.value).toBe(21);
    expect(checks).toBeGreaterThan(21 * 5 + 4 * 2 + 3 * 2);
  });
});

describe("TTC: a crash between the commit and the publish", () => {
  const fixture = fileURLToPath(new URL("./fixtures/accept-crash.mjs", import.meta.url));
  // The fixture runs the compiled TTC: dist must not be older than src.
  beforeAll(() => ensureDistCurrent([".", "store"]), 120_000);
  const stacks: Stack[] = [];
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.stop();
  });

  it.each([
    ["verification", "committed, nothing said yet"],
    ["request", "acceptance and start said, the work not yet sent"],
  ])("killed at the %s (%s): nothing acknowledged is lost, nothing runs again", async (killAt) => {
    const dbPath = join(mkdtempSync(join(tmpdir(), "umbra-ttc-crash-")), "ttc.db");
    const commands = 5;
    const lines = await runAndKill(fixture, [dbPath, killAt, String(commands)], 20_000, "ready\n");
    const sent = lines.filter((l) => l.startsWith("sent ")).map((l) => Buffer.from(l.split(" ")[2]!, "hex"));
    const acked = lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.split(" ")[1]));
    const counts = lines.filter((l) => l.startsWith("count ")).map((l) => Number(l.split(" ")[1]));
    expect(sent).toHaveLength(commands);
    expect(counts).toEqual([1, 2, 3, 4]); // the last command never ran
    expect(acked).toHaveLength(killAt === "request" ? commands : commands - 1);

    // On disk after the kill: every acknowledged command, and the last one (committed) with its acceptance and start.
    const db = openTtcDatabase(dbPath);
    const history = new CommandHistory(db);
    const all = history.list({ limit: 100 }).reverse();
    expect(all).toHaveLength(commands);
    for (const id of acked) expect(history.get(id)?.stages[0]).toMatchObject({ stage: "acceptance", success: true });
    const victim = history.get(all.at(-1)!.id)!;
    expect(victim.outcome).toBe("open");
    expect(victim.stages.map((s) => s.stage)).toEqual(["acceptance", "start"]);
    const highest = db.prepare("SELECT highest FROM security_replay WHERE spi = 1").pluck().get();
    expect(highest).toBe(commands); // the ground's security sequence numbers are 1..commands
    expect(history.isDuplicate(victim.sourceId, victim.apid, victim.sequenceCount)).toBe(true);
    db.close();

    // The payload comes back on the same database: the open command is closed as interrupted, and reported.
    const s = await startStack({ dbPath, securitySequence: 1000 });
    stacks.push(s);
    expect(s.counter.value).toBe(0);
    expect(s.verifications.filter((v) => Number(v.commandId) === victim.id)).toMatchObject([
      { stage: VerificationStage.VERIFICATION_STAGE_COMPLETION, success: false, detail: "interrupted by a reset" },
    ]);
    // The ground sends the same packets again: each is a replay, refused, and nothing runs.
    const before = s.verifications.length;
    await s.send(...sent);
    expect(s.verifications.slice(before).map((v) => [v.success, v.code])).toEqual(sent.map(() => [false, FailureCode.FAILURE_AUTHENTICATION]));
    expect(s.security.slice(-commands).map((e) => e.reason)).toEqual(sent.map(() => "replay"));
    expect(s.counter.value).toBe(0);
    // Signed again (a new anti-replay number) but the same command: its key is claimed, so it is a duplicate.
    const call = encodeFunctionCall({ name: "add", args: codecFor(umbra.examples.v1.CounterAdd).encode({ amount: 3n }) });
    await s.send(s.ground.tc(COUNTER, 8, 1, call, Ack.ALL, victim.sequenceCount));
    expect(s.verifications.at(-1)).toMatchObject({ success: false, code: FailureCode.FAILURE_DUPLICATE });
    expect(s.counter.value).toBe(0);
    // A new command goes through as usual.
    await s.send(s.ground.tc(COUNTER, 8, 1, call, Ack.ALL, victim.sequenceCount + 1));
    expect(s.counter.value).toBe(3);
  }, 60_000);
});
