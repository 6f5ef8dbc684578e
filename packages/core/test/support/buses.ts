// Buses for tests: a node on a SimClock, two nodes joined in-process, and a wait until all are quiet.
import { Bus } from "../../src/bus/bus.js";
import { InProcessLink } from "../../src/bus/in-process-link.js";
import { SimClock } from "../../src/time/sim-clock.js";

export function node(name: string, clock = new SimClock(), queueCapacity?: number): Bus {
  return new Bus({ node: name, clock, ...(queueCapacity ? { queueCapacity } : {}) });
}

/** Connects two buses with an in-process link pair (link queues of `queueCapacity` frames). */
export function join(a: Bus, b: Bus, queueCapacity?: number) {
  const [la, lb] = InProcessLink.pair(`${a.node}-${b.node}`, queueCapacity);
  a.attach(la);
  b.attach(lb);
  return [la, lb] as const;
}

export async function settle(...buses: Bus[]): Promise<void> {
  // Frames cross links on later turns; idle each bus a few times until all are quiet.
  for (let i = 0; i < 5; i++) for (const b of buses) await b.idle();
}
