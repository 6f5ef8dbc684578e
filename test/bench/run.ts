// Benchmark runner: `node test/bench/dist/run.js [name ...] [--json]`
// (normally `pnpm bench [name ...] [--json]`). With no name it runs every
// registered benchmark. A target that is not met is reported (met: false),
// not turned into a failing exit code: benchmarks check speed, tests check
// behaviour. The exit code is 2 for bad arguments and 1 if a benchmark broke.
import { archiveBenchmark } from "./archive.bench.js";
import { busBenchmark } from "./bus.bench.js";
import { gatewayBenchmark } from "./gateway.bench.js";
import { hilBenchmark } from "./hil.bench.js";
import { jobsBenchmark } from "./jobs.bench.js";
import { scrubBenchmark } from "./scrub.bench.js";
import { stackBenchmark } from "./stack.bench.js";
import { tcBenchmark } from "./tc.bench.js";
import { thermalBenchmark } from "./thermal.bench.js";
import { tmrBenchmark } from "./tmr.bench.js";
import { formatJson, formatTable, makeReport, type Benchmark } from "./report.js";

/** Every benchmark, in the order a plain `pnpm bench` runs them. */
const BENCHMARKS: readonly Benchmark[] = [busBenchmark, hilBenchmark, tcBenchmark, archiveBenchmark, thermalBenchmark, scrubBenchmark, tmrBenchmark, jobsBenchmark, gatewayBenchmark, stackBenchmark];

function usage(): string {
  const names = BENCHMARKS.map((b) => `  ${b.name.padEnd(10)} ${b.description}`).join("\n");
  return `usage: pnpm bench [name ...] [--json]\n\nbenchmarks:\n${names}`;
}

async function main(argv: string[]): Promise<number> {
  let json = false;
  const names: string[] = [];
  for (const arg of argv) {
    if (arg === "--json") json = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(usage());
      return 0;
    } else if (arg.startsWith("-")) {
      console.error(`unknown option ${arg}\n\n${usage()}`);
      return 2;
    } else names.push(arg);
  }
  const known = new Map(BENCHMARKS.map((b) => [b.name, b]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(", ")}; known: ${[...known.keys()].join(", ")}`);
    return 2;
  }
  const selected = names.length > 0 ? [...new Set(names)].map((n) => known.get(n)!) : [...BENCHMARKS];

  let failed = false;
  for (const bench of selected) {
    const log = (message: string) => {
      if (!json) process.stderr.write(`[${bench.name}] ${message}\n`);
    };
    try {
      const report = makeReport(bench.name, await bench.run({ log }));
      console.log(json ? formatJson(report) : `\n${formatTable(report)}\n`);
    } catch (err) {
      failed = true;
      console.error(`benchmark ${bench.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
// Benchmarks close what they open; should a handle linger anyway, do not hang.
setTimeout(() => process.exit(), 2000).unref();
