// `pnpm bench hil`: how fast the HIL environment runs in simulated time.
// Target (issue "HIL harness"): one simulated day of the environment alone in
// under 10 s on this machine. The same run also times the full HIL run (bus
// publishing of hardware state and ground truth every step, fault handling,
// report assembly) against the bare environment loop as its baseline.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Environment, HilRun, loadScenario } from "@umbra/hil";
import { result, type Benchmark } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCENARIO = join(here, "../../../hil/scenarios/nominal-day.yaml");

async function timeEnvironmentDay(): Promise<{ wallS: number; simS: number }> {
  const scenario = await loadScenario(SCENARIO);
  const start = performance.now();
  const env = new Environment(scenario);
  const steps = Math.floor(scenario.duration / scenario.step);
  const bits = scenario.hardware.memoryBytes * 8;
  for (let i = 0; i < steps; i++) env.step(scenario.step, 30, bits);
  return { wallS: (performance.now() - start) / 1000, simS: steps * scenario.step };
}

async function timeFullRun(): Promise<{ wallS: number; simS: number }> {
  const scenario = await loadScenario(SCENARIO);
  const start = performance.now();
  const report = await new HilRun({ scenario }).run();
  return { wallS: (performance.now() - start) / 1000, simS: report.timeS.at(-1) ?? 0 };
}

export const hilBenchmark: Benchmark = {
  name: "hil",
  description: "HIL environment: simulated day vs wall time (environment alone, and the full run on the bus)",
  async run(ctx) {
    ctx.log("hil: warming up");
    await timeEnvironmentDay();
    ctx.log("hil: one simulated day, environment alone");
    const env = await timeEnvironmentDay();
    ctx.log("hil: one simulated day, full HIL run");
    const full = await timeFullRun();
    return [
      result("environment alone: wall time for one simulated day", env.wallS, "s", { target: "< 10 s", met: env.wallS < 10 }),
      result("environment alone: simulated/wall time", env.simS / env.wallS, "x", { target: "> 8640 (a day in under 10 s)", met: env.simS / env.wallS > 8640 }),
      result("full HIL run (bus, faults, report): wall time for one simulated day", full.wallS, "s", {
        baseline: env.wallS,
        target: "< 10 s",
        met: full.wallS < 10,
      }),
      result("full HIL run: simulated/wall time", full.simS / full.wallS, "x", { baseline: env.simS / env.wallS, target: "informational" }),
    ];
  },
};
