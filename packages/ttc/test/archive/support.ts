import { tempDir as sharedTempDir } from "../support/temp.js";
import type { EventInput, SampleInput, VerificationInput } from "../../src/archive/index.js";

/** A fresh directory under os.tmpdir(), removed after the file's tests. */
export function tempDir(prefix = "umbra-archive-"): () => string {
  return sharedTempDir(prefix);
}

export const T0 = 2_200_000_000_000_000_000n; // a mission time around 2.2e18 ns TAI
export const SECOND = 1_000_000_000n;
export const HOUR = 3600n * SECOND;

export function sample(over: Partial<SampleInput> = {}): SampleInput {
  return { service: "power", name: "busVoltage", tNs: T0, value: 28.1, ...over };
}

export function event(over: Partial<EventInput> = {}): EventInput {
  return {
    tNs: T0,
    service: "thermal",
    id: 3,
    name: "overTemperature",
    severity: "medium",
    message: "GPU 0 above 85 °C",
    args: { gpu: 0, celsius: 86.5 },
    ...over,
  };
}

export function report(over: Partial<VerificationInput> = {}): VerificationInput {
  return {
    tNs: T0,
    commandId: 1,
    apid: 100,
    sequenceCount: 0,
    stage: "acceptance",
    success: true,
    code: null,
    detail: "",
    ...over,
  };
}

/** One sample per parameter at each of `seconds` consecutive seconds from `from`. */
export function grid(names: readonly string[], from: bigint, seconds: number, value: (name: string, second: number) => SampleInput["value"] = (_n, s) => s): SampleInput[] {
  const out: SampleInput[] = [];
  for (let s = 0; s < seconds; s++) {
    for (const name of names) out.push({ service: "hk", name, tNs: from + BigInt(s) * SECOND, value: value(name, s) });
  }
  return out;
}
