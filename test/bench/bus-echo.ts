// Echo peer for the bus benchmark, run as a child process (child_process.fork):
//
//   bus-echo.js bus <socket-path>   a Bus + BusClient; every Ping comes back as a Pong
//                                   (published), every Ping request is answered with a Pong
//   bus-echo.js raw <socket-path>   a plain Unix socket; every length-prefixed frame
//                                   comes back unchanged (the baseline: no protobuf, no bus)
//
// It tells the parent "ready" over the IPC channel once connected, answers
// "cpu" with the CPU time it has used, and exits when told to ("stop") or when
// the parent goes away (IPC disconnect), so a crashed benchmark leaves no echo
// process behind.
import { createConnection, type Socket } from "node:net";
import { Bus, BusClient, CorkedWriter, FrameDecoder, Priority, RealClock, encodeFrame, parseEndpoint } from "@umbra/core";
import { umbra } from "@umbra/proto";

/** The echo node's name; bus.bench.ts asks it for its BusStats under this name. */
const ECHO_NODE = "bench-echo";

async function runBus(path: string): Promise<() => void> {
  const bus = new Bus({ node: ECHO_NODE, clock: new RealClock({ unref: true }), queueCapacity: 65536 });
  bus.subscribe(umbra.bench.v1.Ping, (msg) => {
    bus.publish(umbra.bench.v1.Pong, { id: msg.id, data: msg.data }, { priority: Priority.PRIORITY_TELEMETRY });
  });
  bus.serve(umbra.bench.v1.Ping, umbra.bench.v1.Pong, (req) => ({ id: req.id, data: req.data }));
  const client = await BusClient.connect(bus, parseEndpoint(`unix:${path}`), { timeoutMs: 5000 });
  return () => {
    client.close();
    bus.close();
  };
}

async function runRaw(path: string): Promise<() => void> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
  socket.setNoDelay?.(true);
  const decoder = new FrameDecoder();
  // Batched as the bus's StreamLink batches its writes.
  const writer = new CorkedWriter(socket);
  socket.on("data", (chunk: Buffer) => {
    const { frames, violation } = decoder.push(chunk);
    if (violation) {
      socket.destroy();
      return;
    }
    for (const frame of frames) writer.write(encodeFrame(frame));
  });
  socket.on("error", () => undefined);
  return () => socket.destroy();
}

async function main(): Promise<void> {
  const [mode, path] = process.argv.slice(2);
  if ((mode !== "bus" && mode !== "raw") || !path || !process.send) {
    console.error("usage (as a forked child): bus-echo.js bus|raw <socket-path>");
    process.exit(2);
  }
  const stop = mode === "bus" ? await runBus(path) : await runRaw(path);
  const exit = () => {
    stop();
    process.exit(0);
  };
  process.on("disconnect", exit);
  process.on("message", (message) => {
    if (message === "stop") exit();
    // CPU time this process has used so far (µs), so the parent can work out CPU per message.
    else if (message === "cpu") {
      const usage = process.cpuUsage();
      process.send?.({ cpuMicros: usage.user + usage.system });
    }
  });
  process.send("ready");
}

main().catch((err: unknown) => {
  console.error(`bus-echo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
