// Replaying a run's faults: read the fault log of an earlier report and apply
// exactly the same actions (same bits, same sensors, same processes) at the
// same simulated times. The log is outside input, so it is validated like a
// scenario: errors name the file and the entry.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { REGION_NAME } from "@umbra/platform";
import type { FaultAction } from "../report/report.js";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/);
const offsets = z.array(z.number().int().min(0).max(2 ** 53 - 1)).min(1).max(64);
const action = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("flip"), name: z.enum(["bit-flip", "multi-bit-flip"]), service: name, region: z.string().regex(REGION_NAME), bitOffsets: offsets }).strict(),
  z.object({ kind: z.literal("replica-output"), service: name, replica: z.number().int().min(0).max(15), bitOffsets: offsets }).strict(),
  z
    .object({ kind: z.literal("sensor"), sensor: name, mode: z.enum(["stuck", "spike", "nan"]), value: z.number().finite().optional(), durationS: z.number().finite().min(0).max(366 * 86400) })
    .strict(),
  z.object({ kind: z.literal("signal"), service: name, signal: z.enum(["hang", "kill"]), durationS: z.number().finite().min(0).max(86400) }).strict(),
  z.object({ kind: z.literal("latch-up"), stepW: z.number().finite().positive().max(1000) }).strict(),
  z.object({ kind: z.literal("reset-payload") }).strict(),
]);
const logEntry = z.object({ elapsedS: z.number().finite().min(0).max(366 * 86400), action: action.optional() }).loose();
const reportShape = z.object({ format: z.literal("umbra-hil-report/1"), scenario: z.object({ name: z.string() }).loose(), faults: z.array(logEntry).max(1_000_000) }).loose();

export interface ReplayStep {
  elapsedS: number;
  action: FaultAction;
}

export interface ReplayLog {
  scenario: string;
  steps: ReplayStep[];
}

export class ReplayError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "ReplayError";
  }
}

/** Validates a parsed report and keeps the faults that carry an action, in time order. */
export function parseReplayLog(value: unknown, file = "<report>"): ReplayLog {
  const r = reportShape.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("").replace(/^\./, "");
    throw new ReplayError(file, `${path ? `${path}: ` : ""}${issue.message}`);
  }
  const steps = r.data.faults.filter((f): f is { elapsedS: number; action: FaultAction } => f.action !== undefined).map((f) => ({ elapsedS: f.elapsedS, action: f.action }));
  steps.sort((a, b) => a.elapsedS - b.elapsedS);
  return { scenario: r.data.scenario.name, steps };
}

export async function loadReplayLog(path: string): Promise<ReplayLog> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ReplayError(path, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ReplayError(path, `not JSON: ${(err as Error).message}`);
  }
  return parseReplayLog(value, path);
}
