// The WebSocket side of `pnpm bench gateway`, in a worker thread: `clients`
// connections to a stream URL, each subscribed to every telemetry sample;
// every message carries its send time (wall-clock ms, comparable across
// threads) in a number value, so each client measures delivery latency.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

export interface FanoutJob {
  url: string;
  clients: number;
  /** Sent once open (the gateway's subscribe message), or nothing for the bare baseline. */
  subscribe?: string;
  /** Stop after each client has this many timed messages. */
  expectPerClient: number;
  timeoutMs: number;
}

export interface FanoutResult {
  latenciesMs: number[];
  received: number;
  closedEarly: number;
  error: string;
}

const now = () => performance.timeOrigin + performance.now();

async function run(job: FanoutJob): Promise<FanoutResult> {
  const latencies: number[] = [];
  let received = 0;
  let closedEarly = 0;
  let error = "";
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from({ length: job.clients }, () => {
      return new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(job.url);
        sockets.push(ws);
        ws.on("open", () => {
          if (job.subscribe) ws.send(job.subscribe);
          else resolve();
        });
        ws.on("message", (data) => {
          const text = data.toString();
          if (text.includes('"subscribed"')) return resolve();
          const m = /"value":([0-9.e+]+)/.exec(text);
          if (!m) return;
          latencies.push(now() - Number(m[1]));
          received++;
        });
        ws.on("close", () => closedEarly++);
        ws.on("error", (err) => {
          error ||= String(err);
          reject(err);
        });
      });
    }),
  );
  parentPort!.postMessage({ ready: true });
  const deadline = Date.now() + job.timeoutMs;
  while (received < job.expectPerClient * job.clients && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const closing = closedEarly;
  for (const ws of sockets) ws.close();
  return { latenciesMs: latencies, received, closedEarly: closing, error };
}

if (parentPort && workerData) {
  const port = parentPort;
  run(workerData as FanoutJob).then(
    (r) => port.postMessage(r),
    (err: unknown) => port.postMessage({ latenciesMs: [], received: 0, closedEarly: 0, error: String(err) } satisfies FanoutResult),
  );
}
