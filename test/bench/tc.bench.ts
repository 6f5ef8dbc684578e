// `pnpm bench tc`: what the telecommand path costs (issue "Telecommand path").
//
// 1. Codec throughput on one core, for a typical TC: ST[08,1] perform-function
//    of the counter's `add` command (6 octets of application data; a 41-octet
//    packet with the security header and MAC, 19 octets without).
//    - authenticated: encode (TcBuilder.perform: argument protobuf, function
//      call, secureTc with HMAC-SHA-256) + decode and verify (authenticateTc:
//      CRC, key, MAC, anti-replay, PUS header), per second;
//    - baseline: the same packet without the security header and MAC
//      (encodeFunctionCall + encodeTc + decodeTc, which checks the CRC).
//    Target: over 20,000 authenticated commands/s encoded, decoded and verified.
//    Also decode + verify alone of pre-built packets (against decodeTc alone).
// 2. Dispatch round trip over an in-process bus: a real TtcService with the
//    counter service, each TcUplink timed until its COMPLETION Verification
//    arrives, one at a time (p50/p99) and 32 in flight (throughput). Baseline:
//    the same command sent straight to the counter with sendCommand (no TTC, no
//    packet, no authentication, no SQLite). The TTC writes every command and
//    stage to SQLite (WAL, synchronous=FULL): the same stack on a ":memory:"
//    database runs alongside, and the time spent inside the command history's
//    calls is measured on both.
//
// Ratios are always value / baseline: for throughput higher is better, for
// latency lower is better.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Ack, AntiReplay, KeyStore, authenticateTc, decodeTc, encodeTc } from "@umbra/ccsds";
import { Bus, RealClock, sendCommand } from "@umbra/core";
import { CounterService } from "@umbra/example-counter-service";
import { codecFor, umbra } from "@umbra/proto";
import { CommandHistory, ScheduleStore, SecurityState, TcBuilder, TtcService, encodeFunctionCall, openTtcDatabase, type TtcDatabase } from "@umbra/ttc";
import { median, percentile, result, type BenchContext, type BenchResult, type Benchmark } from "./report.js";

const COUNTER_APID = 0x7f0;
const ADD = umbra.examples.v1.CounterAdd;
const ADD_ARGS = { amount: 5n };
const KEY = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);

const CODEC_WARMUP_MS = 300;
const CODEC_ROUND_MS = 400;
const CODEC_ROUNDS = 3;
const CODEC_BATCH = 500;
/** Pre-built packets for the decode-only rows (one pass, then a fresh anti-replay window). */
const PREBUILT = 20_000;
const CODEC_TARGET = 20_000;

const RT_WARMUP = 300;
const RT_ROUND = 500;
const RT_ROUNDS = 4;
const WINDOW = 32;
const WINDOW_COMMANDS = 2_000;
/** A round that has not finished by then is abandoned (the benchmark fails). */
const ROUND_TIMEOUT_MS = 30_000;

function keys(): KeyStore {
  return new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: KEY }]);
}

// ---- 1. codec ----------------------------------------------------------------

/** Runs `batch(n)` (n operations) for about `ms`; operations per second. */
function opsPerSecond(ms: number, batch: (n: number) => void): number {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    batch(CODEC_BATCH);
    ops += CODEC_BATCH;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/** Median of alternating rounds of each variant, after a warm-up of each. */
function compare(variants: Record<string, (n: number) => void>): Record<string, number> {
  const rates: Record<string, number[]> = {};
  for (const [name, batch] of Object.entries(variants)) {
    opsPerSecond(CODEC_WARMUP_MS, batch);
    rates[name] = [];
  }
  for (let round = 0; round < CODEC_ROUNDS; round++) {
    for (const [name, batch] of Object.entries(variants)) rates[name]!.push(opsPerSecond(CODEC_ROUND_MS, batch));
  }
  return Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, median(r)]));
}

function codecBench(ctx: BenchContext): BenchResult[] {
  const groundKeys = keys();
  const payloadKeys = keys();
  const argsCodec = codecFor(ADD);
  const ground = new TcBuilder({ keys: groundKeys, spi: 1 });
  const replay = new AntiReplay();
  let plainCount = 0;
  let sink = 0;

  const plainTc = (appData: Uint8Array) =>
    encodeTc({ apid: COUNTER_APID, sequenceCount: plainCount++ & 0x3fff, ack: Ack.ALL, service: 8, subtype: 1, sourceId: 1, appData });

  const sample = ground.perform(COUNTER_APID, "add", ADD, ADD_ARGS);
  const sampleAppData = encodeFunctionCall({ name: "add", args: argsCodec.encode(ADD_ARGS) });
  ctx.log(`tc codec: ST[08,1] add: ${sampleAppData.length} octets of application data; packet ${sample.length} octets authenticated, ${plainTc(sampleAppData).length} plain`);

  // Encode + decode (+ authenticate) per command.
  const authenticated = (n: number) => {
    for (let i = 0; i < n; i++) {
      const packet = ground.perform(COUNTER_APID, "add", ADD, ADD_ARGS);
      const r = authenticateTc(packet, payloadKeys, replay);
      if (!r.ok) throw new Error(`authenticateTc refused a fresh packet: ${r.error.field}: ${r.error.reason}`);
      sink += r.tc.appData.length;
    }
  };
  const plain = (n: number) => {
    for (let i = 0; i < n; i++) {
      const packet = plainTc(encodeFunctionCall({ name: "add", args: argsCodec.encode(ADD_ARGS) }));
      const r = decodeTc(packet);
      if (!r.ok) throw new Error(`decodeTc refused a fresh packet: ${r.error.field}: ${r.error.reason}`);
      sink += r.value.appData.length;
    }
  };

  // Decode (+ verify) alone of pre-built packets. Security sequence numbers only
  // increase along the array; after each pass the window starts afresh.
  ctx.log(`tc codec: building ${PREBUILT.toLocaleString("en-US")} packets of each kind`);
  const prebuiltGround = new TcBuilder({ keys: groundKeys, spi: 1 });
  const securePackets = Array.from({ length: PREBUILT }, () => prebuiltGround.perform(COUNTER_APID, "add", ADD, ADD_ARGS));
  const plainPackets = Array.from({ length: PREBUILT }, () => plainTc(encodeFunctionCall({ name: "add", args: argsCodec.encode(ADD_ARGS) })));
  let verifyAt = 0;
  let verifyReplay = new AntiReplay();
  const verifyOnly = (n: number) => {
    for (let i = 0; i < n; i++) {
      if (verifyAt === PREBUILT) {
        verifyAt = 0;
        verifyReplay = new AntiReplay();
      }
      const r = authenticateTc(securePackets[verifyAt++]!, payloadKeys, verifyReplay);
      if (!r.ok) throw new Error(`authenticateTc refused a pre-built packet: ${r.error.field}: ${r.error.reason}`);
      sink += r.tc.appData.length;
    }
  };
  let decodeAt = 0;
  const decodeOnly = (n: number) => {
    for (let i = 0; i < n; i++) {
      if (decodeAt === PREBUILT) decodeAt = 0;
      const r = decodeTc(plainPackets[decodeAt++]!);
      if (!r.ok) throw new Error(`decodeTc refused a pre-built packet: ${r.error.field}: ${r.error.reason}`);
      sink += r.value.appData.length;
    }
  };

  ctx.log(`tc codec: ${CODEC_ROUNDS} alternating rounds of ${CODEC_ROUND_MS} ms per variant, median`);
  const rates = compare({ authenticated, plain, verifyOnly, decodeOnly });
  if (sink === 0) throw new Error("nothing was decoded");
  const auth = rates["authenticated"]!;
  const verify = rates["verifyOnly"]!;
  ctx.log(
    `tc codec: authenticated ${Math.round(auth)}/s (${(1e6 / auth).toFixed(2)} µs), plain ${Math.round(rates["plain"]!)}/s; ` +
      `verify alone ${Math.round(verify)}/s (${(1e6 / verify).toFixed(2)} µs), decodeTc alone ${Math.round(rates["decodeOnly"]!)}/s`,
  );
  return [
    result("ST[08,1] add: encode + authenticate + decode + verify, one core (baseline: encodeTc + decodeTc, no security)", auth, "cmd/s", {
      baseline: rates["plain"]!,
      target: `> ${CODEC_TARGET.toLocaleString("en-US")} cmd/s`,
      met: auth > CODEC_TARGET,
    }),
    result("ST[08,1] add: decode + verify of pre-built packets, one core (baseline: decodeTc alone)", verify, "cmd/s", {
      baseline: rates["decodeOnly"]!,
      target: `> ${CODEC_TARGET.toLocaleString("en-US")} cmd/s`,
      met: verify > CODEC_TARGET,
    }),
  ];
}

// ---- 2. dispatch round trip --------------------------------------------------------

interface HistoryTime {
  ms: number;
  calls: number;
}

/** Times every call the TTC makes into the command history (instance methods shadowed, nothing else changed). */
function timeHistory(history: CommandHistory): HistoryTime {
  const acc: HistoryTime = { ms: 0, calls: 0 };
  const target = history as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ["received", "resolved", "stage"]) {
    const original = target[name]!.bind(history);
    target[name] = (...args: unknown[]) => {
      const t = performance.now();
      try {
        return original(...args);
      } finally {
        acc.ms += performance.now() - t;
        acc.calls++;
      }
    };
  }
  return acc;
}

interface TtcStack {
  label: string;
  bus: Bus;
  ground: TcBuilder;
  historyTime: HistoryTime;
  /** Resolves with success when the COMPLETION (or a failed) report for this sequence count arrives. */
  expect(sequenceCount: number): Promise<boolean>;
  stop(): Promise<void>;
}

async function startTtcStack(label: string, dbPath: string): Promise<TtcStack> {
  const clock = new RealClock({ unref: true });
  const bus = new Bus({ node: `bench-${label}`, clock, queueCapacity: 100_000 });
  const db: TtcDatabase = openTtcDatabase(dbPath);
  const history = new CommandHistory(db);
  const historyTime = timeHistory(history);
  const counter = new CounterService({ bus, clock });
  await counter.start();
  const ttc = new TtcService({ bus, clock }, { keys: keys(), history, schedule: new ScheduleStore(db), security: new SecurityState(db) });
  const waiting = new Map<number, (ok: boolean) => void>();
  bus.subscribe(umbra.ttc.v1.Verification, (v) => {
    if (v.apid !== COUNTER_APID) return;
    if (v.stage !== umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION && v.success) return;
    const resolve = waiting.get(v.sequenceCount);
    if (!resolve) return;
    waiting.delete(v.sequenceCount);
    resolve(v.success);
  });
  await ttc.start();
  // The TTC learns the counter's APID from its declaration, republished on the TTC's DescribeRequest.
  const deadline = performance.now() + 5000;
  while (!ttc.dictionary.service(COUNTER_APID)) {
    if (performance.now() > deadline) throw new Error(`${label}: the TTC never learned the counter's APID`);
    await bus.idle();
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    label,
    bus,
    ground: new TcBuilder({ keys: keys(), spi: 1 }),
    historyTime,
    expect(sequenceCount) {
      if (waiting.has(sequenceCount)) throw new Error(`${label}: sequence count ${sequenceCount} is already in flight`);
      return new Promise((resolve) => waiting.set(sequenceCount, resolve));
    },
    async stop() {
      await ttc.stop();
      await counter.stop();
      bus.close();
      db.close();
    },
  };
}

function sequenceCountOf(packet: Uint8Array): number {
  return ((packet[2]! & 0x3f) << 8) | packet[3]!;
}

/** One way to send one command and wait until it has completed; false if it failed. */
type SendOne = () => Promise<boolean>;

function ttcSender(stack: TtcStack, count: number): SendOne {
  // Built before the clock starts: only the payload side is timed.
  const packets = Array.from({ length: count }, () => stack.ground.perform(COUNTER_APID, "add", ADD, ADD_ARGS));
  let next = 0;
  return () => {
    const packet = packets[next++];
    if (!packet) throw new Error(`${stack.label}: more commands sent than built`);
    const done = stack.expect(sequenceCountOf(packet));
    stack.bus.publish(umbra.ttc.v1.TcUplink, { packet, link: "bench" });
    return done;
  };
}

function directSender(bus: Bus): SendOne {
  return async () => {
    const r = await sendCommand(bus, "counter", ADD, ADD_ARGS, { timeoutMs: 10_000 });
    return r.status === umbra.core.v1.CommandStatus.COMMAND_STATUS_COMPLETED;
  };
}

function deadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Sends `count` commands one at a time; round-trip times in µs and the number that failed. */
async function oneAtATime(send: SendOne, count: number, what: string): Promise<{ us: number[]; failed: number }> {
  const us: number[] = [];
  let failed = 0;
  await deadline(
    (async () => {
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const ok = await send();
        us.push((performance.now() - t0) * 1000);
        if (!ok) failed++;
      }
    })(),
    what,
  );
  return { us, failed };
}

/** Sends `count` commands keeping `window` in flight; completed commands per second and the number that failed. */
async function windowed(send: SendOne, count: number, window: number, what: string): Promise<{ rate: number; failed: number }> {
  let started = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < count) {
      started++;
      if (!(await send())) failed++;
    }
  };
  await deadline(Promise.all(Array.from({ length: window }, worker)), what);
  return { rate: count / ((performance.now() - t0) / 1000), failed };
}

async function dispatchBench(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "umbra-bench-tc-"));
  const stacks: TtcStack[] = [];
  try {
    const file = await startTtcStack("file", path.join(dir, "ttc.db"));
    stacks.push(file);
    const memory = await startTtcStack("memory", ":memory:");
    stacks.push(memory);
    const perStack = RT_WARMUP + RT_ROUNDS * RT_ROUND + WINDOW_COMMANDS;
    ctx.log(`tc dispatch: TTC + counter on one bus, command history in ${dir} (WAL, synchronous=FULL) and on ":memory:"`);
    const fileSend = ttcSender(file, perStack);
    const memorySend = ttcSender(memory, perStack);
    // Baseline on the file stack's bus: the same counter, straight over the bus.
    const directSend = directSender(file.bus);

    ctx.log(`tc dispatch: warming up (${RT_WARMUP} commands each)`);
    let failed = 0;
    for (const [send, what] of [
      [fileSend, "file"],
      [memorySend, "memory"],
      [directSend, "direct"],
    ] as const) {
      failed += (await oneAtATime(send, RT_WARMUP, `warm-up ${what}`)).failed;
    }

    ctx.log(`tc dispatch: ${RT_ROUNDS} alternating rounds of ${RT_ROUND} commands one at a time`);
    const samples = { file: [] as number[], memory: [] as number[], direct: [] as number[] };
    const historyMs = { file: 0, memory: 0 };
    const historyCalls = { file: 0, memory: 0 };
    for (let round = 0; round < RT_ROUNDS; round++) {
      for (const [stack, send, key] of [
        [file, fileSend, "file"],
        [memory, memorySend, "memory"],
      ] as const) {
        const before = { ms: stack.historyTime.ms, calls: stack.historyTime.calls };
        const r = await oneAtATime(send, RT_ROUND, `round ${round} ${key}`);
        historyMs[key] += stack.historyTime.ms - before.ms;
        historyCalls[key] += stack.historyTime.calls - before.calls;
        samples[key].push(...r.us);
        failed += r.failed;
      }
      const r = await oneAtATime(directSend, RT_ROUND, `round ${round} direct`);
      samples.direct.push(...r.us);
      failed += r.failed;
    }
    const sequential = RT_ROUNDS * RT_ROUND;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const stat = (key: keyof typeof samples) => ({ p50: percentile(samples[key], 50), p99: percentile(samples[key], 99), mean: mean(samples[key]), max: Math.max(...samples[key]) });
    const st = { file: stat("file"), memory: stat("memory"), direct: stat("direct") };
    for (const key of ["file", "memory", "direct"] as const) {
      ctx.log(`tc dispatch: ${key}: p50 ${st[key].p50.toFixed(1)} µs, p99 ${st[key].p99.toFixed(1)} µs, mean ${st[key].mean.toFixed(1)} µs, max ${st[key].max.toFixed(0)} µs`);
    }
    const historyPerCmd = { file: (historyMs.file * 1000) / sequential, memory: (historyMs.memory * 1000) / sequential };
    ctx.log(
      `tc dispatch: command history: ${(historyCalls.file / sequential).toFixed(1)} calls per command; ` +
        `${historyPerCmd.file.toFixed(1)} µs per command on file (${((100 * historyPerCmd.file) / st.file.mean).toFixed(0)} % of the mean round trip), ` +
        `${historyPerCmd.memory.toFixed(1)} µs on :memory: (${((100 * historyPerCmd.memory) / st.memory.mean).toFixed(0)} %)`,
    );

    ctx.log(`tc dispatch: throughput, ${WINDOW_COMMANDS} commands with ${WINDOW} in flight`);
    const wFile = await windowed(fileSend, WINDOW_COMMANDS, WINDOW, "windowed file");
    const wMemory = await windowed(memorySend, WINDOW_COMMANDS, WINDOW, "windowed memory");
    const wDirect = await windowed(directSend, WINDOW_COMMANDS, WINDOW, "windowed direct");
    failed += wFile.failed + wMemory.failed + wDirect.failed;
    ctx.log(`tc dispatch: ${WINDOW} in flight: file ${Math.round(wFile.rate)}/s, memory ${Math.round(wMemory.rate)}/s, direct ${Math.round(wDirect.rate)}/s`);

    return [
      result("TTC round trip, TcUplink to COMPLETION, one at a time, p50 (baseline: sendCommand straight to the counter)", st.file.p50, "µs", { baseline: st.direct.p50 }),
      result("TTC round trip, one at a time, p99 (baseline: sendCommand)", st.file.p99, "µs", { baseline: st.direct.p99 }),
      result("TTC round trip, history on :memory:, p50 (baseline: sendCommand)", st.memory.p50, "µs", { baseline: st.direct.p50 }),
      result("TTC round trip, history on :memory:, p99 (baseline: sendCommand)", st.memory.p99, "µs", { baseline: st.direct.p99 }),
      result("command history calls per command, file, synchronous=FULL (baseline: mean round trip; ratio = share)", historyPerCmd.file, "µs", { baseline: st.file.mean }),
      result("command history calls per command, :memory: (baseline: mean round trip on :memory:; ratio = share)", historyPerCmd.memory, "µs", { baseline: st.memory.mean }),
      result(`TTC throughput, ${WINDOW} in flight (baseline: sendCommand, ${WINDOW} in flight)`, wFile.rate, "cmd/s", { baseline: wDirect.rate }),
      result(`TTC throughput, ${WINDOW} in flight, history on :memory: (baseline: sendCommand)`, wMemory.rate, "cmd/s", { baseline: wDirect.rate }),
      result("commands that did not complete successfully", failed, "count", { target: "0", met: failed === 0 }),
    ];
  } finally {
    for (const stack of stacks.reverse()) {
      try {
        await stack.stop();
      } catch {
        // keep closing the rest
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export const tcBenchmark: Benchmark = {
  name: "tc",
  description: "Telecommand path: authenticated TC codec rate, TTC dispatch round trip over the bus vs sendCommand",
  async run(ctx) {
    const codec = codecBench(ctx);
    const dispatch = await dispatchBench(ctx);
    return [...codec, ...dispatch];
  },
};
