// The load generator of `pnpm bench gateway`, run in a worker thread so that
// the client's work is not on the gateway's event loop (as a ground client
// on another machine would be).
//
// Open loop: requests start on a fixed schedule whatever the answers do, so a
// slow server shows as latency, not as a lower rate (no coordinated
// omission). Latency runs from the scheduled start to the whole answer, so a
// request that waits for a free connection counts that wait too.
//
// HTTP/1.1 over a pool of keep-alive connections opened before the clock
// starts, with requests written as prepared bytes and answers read by their
// Content-Length (or chunks). fetch() cost this worker more CPU per request
// than the bare fastify route it measured, on two cores: the client was
// the bottleneck, not the servers. The same client measures the gateway and
// the baseline.
import net from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";

export interface LoadJob {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  /** One body per request (cycled); none for GET. */
  bodies?: string[];
  ratePerS: number;
  count: number;
  /** Keep-alive connections opened before the first request (default 64). */
  connections?: number;
  /** Answers must contain this text to count as successes (default: none). */
  expect?: string;
  /** When the request with this index is due, the worker posts {ready: "ramp done"} (phases of a run). */
  rampCount?: number;
}

export interface LoadResult {
  /** Milliseconds from the scheduled start of each answered request to its whole answer, in the order they were scheduled. */
  latenciesMs: number[];
  /** The same by request index (NaN where it failed), to split a run into phases. */
  latencyByIndexMs: number[];
  failures: number;
  firstFailure: string;
  wallS: number;
}

interface Answer {
  status: number;
  body: string;
}

/** One keep-alive connection: one request at a time. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(err);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed by the server")));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  request(bytes: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const answer = parseAnswer(this.buffer);
    if (!answer) return;
    this.buffer = this.buffer.subarray(answer.used);
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve(answer.answer);
  }
}

/** One whole HTTP/1.1 answer at the start of `buf`, or undefined while it is incomplete. */
export function parseAnswer(buf: Buffer): { answer: Answer; used: number } | undefined {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = buf.subarray(0, headEnd).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const bodyStart = headEnd + 4;
  if (length) {
    const end = bodyStart + Number(length[1]);
    if (buf.length < end) return undefined;
    return { answer: { status, body: buf.subarray(bodyStart, end).toString("utf8") }, used: end };
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const parts: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(at, lineEnd).toString("latin1"), 16);
      if (Number.isNaN(size)) throw new Error("bad chunk size in the answer");
      const dataStart = lineEnd + 2;
      if (buf.length < dataStart + size + 2) return undefined;
      if (size === 0) return { answer: { status, body: Buffer.concat(parts).toString("utf8") }, used: dataStart + 2 };
      parts.push(buf.subarray(dataStart, dataStart + size));
      at = dataStart + size + 2;
    }
  }
  return { answer: { status, body: "" }, used: bodyStart };
}

function requestBytes(job: LoadJob, url: URL, body: string | undefined): Buffer {
  const lines = [`${job.method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, "connection: keep-alive"];
  for (const [k, v] of Object.entries(job.headers)) lines.push(`${k}: ${v}`);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body, "utf8");
  if (body !== undefined) lines.push(`content-length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), payload]);
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const url = new URL(job.url);
  const port = Number(url.port || 80);
  const requests = (job.bodies ?? [undefined]).map((b) => requestBytes(job, url, b));
  const pool = await Promise.all(Array.from({ length: job.connections ?? 64 }, () => Connection.open(url.hostname, port)));
  const idle = [...pool];
  const queued: number[] = [];
  const latencies: number[] = new Array<number>(job.count).fill(Number.NaN);
  let failures = 0;
  let firstFailure = "";
  let finished = 0;
  const intervalMs = 1000 / job.ratePerS;
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));

  const fail = (why: string) => {
    failures++;
    if (!firstFailure) firstFailure = why;
  };
  const finish = () => {
    if (++finished === job.count) allDone();
  };
  const dispatch = (i: number, conn: Connection) => {
    // From the scheduled start, or from the actual one when the timer let it go a little early.
    const due = Math.min(t0 + i * intervalMs, performance.now());
    conn.request(requests[i % requests.length]!).then(
      (a) => {
        latencies[i] = performance.now() - due;
        if (a.status >= 300) fail(`${a.status} ${a.body.slice(0, 200)}`);
        else if (job.expect && !a.body.includes(job.expect)) fail(a.body.slice(0, 300));
        release(conn);
        finish();
      },
      (err: Error) => {
        fail(String(err.message));
        finish();
        // A lost connection is replaced, so the pool keeps its size.
        Connection.open(url.hostname, port).then(release, (e: Error) => fail(`reconnect: ${e.message}`));
      },
    );
  };
  const release = (conn: Connection) => {
    const next = queued.shift();
    if (next !== undefined && !conn.closed) dispatch(next, conn);
    else if (!conn.closed) idle.push(conn);
  };

  const t0 = performance.now();
  for (let i = 0; i < job.count; i++) {
    const wait = t0 + i * intervalMs - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (i === job.rampCount) parentPort?.postMessage({ ready: "ramp done" });
    const conn = idle.pop();
    if (conn) dispatch(i, conn);
    else queued.push(i);
  }
  await done;
  const wallS = (performance.now() - t0) / 1000;
  for (const c of pool) c.close();
  for (const c of idle) c.close();
  return { latenciesMs: latencies.filter((l) => !Number.isNaN(l)), latencyByIndexMs: latencies, failures, firstFailure, wallS };
}

if (parentPort && workerData) {
  const port = parentPort;
  runLoad(workerData as LoadJob).then(
    (r) => port.postMessage(r),
    (err: unknown) => port.postMessage({ latenciesMs: [], latencyByIndexMs: [], failures: 1, firstFailure: String(err), wallS: 0 } satisfies LoadResult),
  );
}
