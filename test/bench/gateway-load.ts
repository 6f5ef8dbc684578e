// The load generator of `pnpm bench gateway`, run in a worker thread so that
// the client's work is not on the gateway's event loop (as a ground client
// on another machine would be). Open loop: requests start on a fixed
// schedule whatever the answers do, so a slow server shows as latency, not
// as a lower rate (no coordinated omission).
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
}

export interface LoadResult {
  /** Milliseconds from the scheduled start of each request to its whole answer. */
  latenciesMs: number[];
  failures: number;
  firstFailure: string;
  wallS: number;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure = "";
  const intervalMs = 1000 / job.ratePerS;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < job.count; i++) {
    const due = t0 + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const body = job.bodies?.[i % job.bodies.length];
    pending.push(
      fetch(job.url, { method: job.method, headers: job.headers, ...(body === undefined ? {} : { body }) })
        .then(async (res) => {
          const text = await res.text();
          if (res.status >= 300) {
            failures++;
            if (!firstFailure) firstFailure = `${res.status} ${text.slice(0, 200)}`;
          } else if (job.method === "POST" && !text.includes('"state":"completed"')) {
            failures++;
            if (!firstFailure) firstFailure = text.slice(0, 300);
          }
          latencies.push(performance.now() - due);
        })
        .catch((err: unknown) => {
          failures++;
          if (!firstFailure) firstFailure = `${String(err)} (${String((err as { cause?: unknown }).cause)})`;
        }),
    );
  }
  await Promise.all(pending);
  return { latenciesMs: latencies, failures, firstFailure, wallS: (performance.now() - t0) / 1000 };
}

if (parentPort && workerData) {
  const port = parentPort;
  run(workerData as LoadJob).then(
    (r) => port.postMessage(r),
    (err: unknown) => port.postMessage({ latenciesMs: [], failures: 1, firstFailure: String(err), wallS: 0 } satisfies LoadResult),
  );
}
