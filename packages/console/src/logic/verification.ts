// A sent command's verification, as the console follows it: the gateway's
// record (from POST /api/commands or GET /api/commands/:id) merged with the
// stage reports that arrive live on the stream, into the stages an operator
// sees fill in: acceptance, start, progress (any number), completion, or the
// failure that ended it.
//
// Stream reports can arrive before the POST's answer (the TTC can be that
// fast), so they are kept per command id until the record is known.

export const STAGES = ["acceptance", "start", "progress", "completion"] as const;
export type StageName = (typeof STAGES)[number];
export type CommandState = "sent" | "accepted" | "started" | "completed" | "failed" | "timeout";

export interface StageReport {
  stage: StageName;
  success: boolean;
  /** FailureCode name; FAILURE_NONE on success. */
  code: string;
  detail: string;
  step?: number;
  at?: string;
}

export interface CommandRecord {
  id: number;
  kind: "execute" | "arm";
  user: string;
  service: string;
  command: string;
  args: Record<string, unknown>;
  state: CommandState;
  stages: StageReport[];
  createdAt: string;
  updatedAt?: string;
  armedUntil?: string;
}

export function isStageName(s: unknown): s is StageName {
  return typeof s === "string" && (STAGES as readonly string[]).includes(s);
}

/** A stage report from JSON (a record's stage or a stream message), or undefined if it is not one. */
export function toStageReport(raw: unknown): StageReport | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  if (!isStageName(r["stage"]) || typeof r["success"] !== "boolean") return undefined;
  return {
    stage: r["stage"],
    success: r["success"],
    code: typeof r["code"] === "string" ? r["code"] : "",
    detail: typeof r["detail"] === "string" ? r["detail"] : "",
    ...(typeof r["step"] === "number" ? { step: r["step"] } : {}),
    ...(typeof r["at"] === "string" ? { at: r["at"] } : {}),
  };
}

const STATES: readonly CommandState[] = ["sent", "accepted", "started", "completed", "failed", "timeout"];

/** A command record from JSON, or undefined if it is not one. */
export function toCommandRecord(raw: unknown): CommandRecord | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r["id"] !== "number" || typeof r["service"] !== "string" || typeof r["command"] !== "string") return undefined;
  const state = STATES.includes(r["state"] as CommandState) ? (r["state"] as CommandState) : "sent";
  const stages = Array.isArray(r["stages"]) ? r["stages"].map(toStageReport).filter((s): s is StageReport => s !== undefined) : [];
  return {
    id: r["id"],
    kind: r["kind"] === "arm" ? "arm" : "execute",
    user: typeof r["user"] === "string" ? r["user"] : "",
    service: r["service"],
    command: r["command"],
    args: r["args"] && typeof r["args"] === "object" && !Array.isArray(r["args"]) ? (r["args"] as Record<string, unknown>) : {},
    state,
    stages,
    createdAt: typeof r["createdAt"] === "string" ? r["createdAt"] : "",
    ...(typeof r["updatedAt"] === "string" ? { updatedAt: r["updatedAt"] } : {}),
    ...(typeof r["armedUntil"] === "string" ? { armedUntil: r["armedUntil"] } : {}),
  };
}

/**
 * The stages to show: the record's, with the stream's added where the record
 * does not have them yet. A non-progress stage is reported once; progress
 * reports are counted (the i-th progress from the stream is new only when
 * the record has fewer than i).
 */
export function mergeStages(record: readonly StageReport[], streamed: readonly StageReport[]): StageReport[] {
  const out = [...record];
  let streamedProgress = 0;
  for (const s of streamed) {
    if (s.stage === "progress") {
      streamedProgress++;
      if (out.filter((x) => x.stage === "progress").length < streamedProgress) out.push(s);
    } else if (!out.some((x) => x.stage === s.stage)) {
      out.push(s);
    }
  }
  // Report order: acceptance, start, progress..., completion (a progress cannot follow completion).
  const rank = (s: StageReport) => (s.stage === "completion" ? 3 : s.stage === "progress" ? 2 : s.stage === "start" ? 1 : 0);
  return out.map((s, i) => ({ s, i })).sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i).map((x) => x.s);
}

/** The state the stages say, or the record's own when they say less (sent, timeout). */
export function stateOf(stages: readonly StageReport[], recordState: CommandState): CommandState {
  if (stages.some((s) => !s.success)) return "failed";
  if (stages.some((s) => s.stage === "completion")) return "completed";
  if (recordState === "timeout") return "timeout";
  if (stages.some((s) => s.stage === "start" || s.stage === "progress")) return "started";
  if (stages.some((s) => s.stage === "acceptance")) return "accepted";
  return recordState === "failed" || recordState === "completed" ? recordState : "sent";
}

export function isFinal(state: CommandState): boolean {
  return state === "completed" || state === "failed" || state === "timeout";
}

export type StepStatus = "ok" | "failed" | "pending" | "skipped";

export interface PipelineStep {
  stage: StageName;
  label: string;
  status: StepStatus;
  detail: string;
  code: string;
}

/**
 * The row of stages an operator reads: acceptance, start, each progress
 * report, completion. Stages not reached yet are "pending"; after a failure,
 * the stages it prevented are "skipped".
 */
export function pipeline(stages: readonly StageReport[], state: CommandState): PipelineStep[] {
  const steps: PipelineStep[] = [];
  const failed = stages.find((s) => !s.success);
  const one = (stage: "acceptance" | "start" | "completion", label: string) => {
    const s = stages.find((x) => x.stage === stage);
    if (s) steps.push({ stage, label, status: s.success ? "ok" : "failed", detail: s.detail, code: s.success ? "" : s.code });
    else steps.push({ stage, label, status: failed || state === "timeout" || state === "failed" ? "skipped" : "pending", detail: "", code: "" });
  };
  one("acceptance", "acceptance");
  one("start", "start");
  stages
    .filter((s) => s.stage === "progress")
    .forEach((s, i) => steps.push({ stage: "progress", label: `progress ${s.step ?? i + 1}`, status: s.success ? "ok" : "failed", detail: s.detail, code: s.success ? "" : s.code }));
  one("completion", "completion");
  return steps;
}

/** Stream reports kept per command id until the command's record is known; bounded. */
export class PendingReports {
  private readonly byId = new Map<number, StageReport[]>();

  constructor(
    readonly maxCommands = 256,
    readonly maxPerCommand = 64,
  ) {}

  add(commandId: number, report: StageReport): void {
    if (!Number.isSafeInteger(commandId)) return;
    let list = this.byId.get(commandId);
    if (!list) {
      if (this.byId.size >= this.maxCommands) {
        const oldest = this.byId.keys().next().value;
        if (oldest !== undefined) this.byId.delete(oldest);
      }
      list = [];
      this.byId.set(commandId, list);
    }
    if (list.length < this.maxPerCommand) list.push(report);
  }

  get(commandId: number): StageReport[] {
    return this.byId.get(commandId) ?? [];
  }

  delete(commandId: number): void {
    this.byId.delete(commandId);
  }

  get size(): number {
    return this.byId.size;
  }
}
