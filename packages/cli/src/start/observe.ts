// What the launcher watches on the bus for its status line and its summary:
// the HIL's environment, the supervisor's status, and the services' newest
// telemetry. Pure bookkeeping: the bus subscriptions feed it, the status line
// and the summary read it.
import { fromValueMessage } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";

export type TelemetryValues = Record<string, unknown>;

export interface StackObservation {
  /** Simulated seconds since the scenario started. */
  elapsedS: number;
  missionUtcMs: number | undefined;
  socPct: number | undefined;
  minSocPct: number;
  sunlit: boolean | undefined;
  inSaa: boolean;
  stationsInView: string[];
  dieC: number | undefined;
  mode: "nominal" | "safe" | undefined;
  safeReason: string;
  boot: number;
  resetReason: string;
  servicesUp: number;
  servicesWanted: number;
  restarts: number;
  failed: string[];
  /** Newest telemetry by service, by parameter. */
  telemetry: Record<string, TelemetryValues>;
}

export function emptyObservation(): StackObservation {
  return {
    elapsedS: 0,
    missionUtcMs: undefined,
    socPct: undefined,
    minSocPct: Number.POSITIVE_INFINITY,
    sunlit: undefined,
    inSaa: false,
    stationsInView: [],
    dieC: undefined,
    mode: undefined,
    safeReason: "",
    boot: 0,
    resetReason: "",
    servicesUp: 0,
    servicesWanted: 0,
    restarts: 0,
    failed: [],
    telemetry: {},
  };
}

const RESET_NAMES: Record<number, string> = { 1: "power-on", 2: "watchdog", 3: "command", 4: "crash" };

/** A SupervisorStatus reset reason as a word ("unknown" for anything else). */
export function resetReasonName(reason: number): string {
  return RESET_NAMES[reason] ?? "unknown";
}

export function observeEnvironment(o: StackObservation, e: MessageOf<typeof umbra.hil.v1.EnvironmentSample>): void {
  o.elapsedS = e.elapsedS;
  if (e.power && Number.isFinite(e.power.batterySocPct)) {
    o.socPct = e.power.batterySocPct;
    o.minSocPct = Math.min(o.minSocPct, e.power.batterySocPct);
  }
  if (e.orbit) {
    o.sunlit = e.orbit.sunlit;
    o.inSaa = e.orbit.inSaa;
    o.stationsInView = [...e.orbit.stationsInView];
  }
  if (e.thermal && Number.isFinite(e.thermal.dieC)) o.dieC = e.thermal.dieC;
}

export function observeSupervisor(o: StackObservation, s: MessageOf<typeof umbra.supervisor.v1.SupervisorStatus>): void {
  const P = umbra.supervisor.v1.ProcessState;
  o.mode = s.mode === umbra.supervisor.v1.PayloadMode.PAYLOAD_MODE_SAFE ? "safe" : "nominal";
  o.safeReason = s.safeModeReason;
  o.boot = s.bootCount;
  o.resetReason = resetReasonName(s.resetReason);
  o.servicesUp = s.services.filter((x) => x.state === P.PROCESS_STATE_RUNNING).length;
  o.servicesWanted = s.services.filter((x) => x.state !== P.PROCESS_STATE_STOPPED).length;
  o.restarts = s.services.reduce((n, x) => n + x.restarts, 0);
  o.failed = s.services.filter((x) => x.state === P.PROCESS_STATE_FAILED).map((x) => x.name);
}

export function observeTelemetry(o: StackObservation, r: MessageOf<typeof umbra.core.v1.TelemetryReport>): void {
  const t = (o.telemetry[r.service] ??= {});
  for (const s of r.samples) t[s.name] = fromValueMessage(s.value);
}

const hms = (s: number) => {
  const t = Math.max(0, Math.floor(s));
  return `${String(Math.floor(t / 3600)).padStart(2, "0")}:${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`;
};
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** One line: simulated time, mode, services, power, thermal, orbit, jobs, resets (pure). */
export function statusLine(o: StackObservation, resets: number): string {
  const parts = [`T+${hms(o.elapsedS)}`];
  parts.push(o.mode ? (o.mode === "safe" ? "SAFE MODE" : "nominal") : "booting");
  parts.push(`services ${o.servicesUp}/${o.servicesWanted}`);
  if (o.socPct !== undefined) parts.push(`SoC ${o.socPct.toFixed(1)}%`);
  if (o.sunlit !== undefined) parts.push(o.sunlit ? "sunlit" : "eclipse");
  if (o.inSaa) parts.push("SAA");
  if (o.stationsInView.length) parts.push(`contact ${o.stationsInView.join("+")}`);
  if (o.dieC !== undefined) parts.push(`die ${o.dieC.toFixed(1)}°C`);
  const jobs = o.telemetry["jobs"];
  const done = num(jobs?.["done"]);
  if (done !== undefined) parts.push(`jobs ${done} done`);
  const corrected = num(o.telemetry["scrubber"]?.["correctedBits"]);
  if (corrected !== undefined) parts.push(`${corrected} bits scrubbed`);
  parts.push(`restarts ${o.restarts}`, `resets ${resets}`);
  if (o.failed.length) parts.push(`FAILED ${o.failed.join(",")}`);
  return parts.join(" | ");
}
