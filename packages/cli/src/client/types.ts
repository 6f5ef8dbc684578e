// What the gateway's REST API sends back, as far as the CLI reads it. Fields
// the CLI does not know are passed through untouched (--json prints them).
import type { JsonSchema } from "../coerce.js";

export interface LimitsJson {
  low?: number;
  high?: number;
}

export interface CommandJson {
  name: string;
  description: string;
  critical: boolean;
  argumentType: string;
  arguments: JsonSchema;
}

export interface TelemetryJson {
  name: string;
  type: string;
  unit: string;
  description: string;
  limits?: LimitsJson;
  criticalLimits?: LimitsJson;
}

export interface EventDefJson {
  id: number;
  name: string;
  severity: string;
  description: string;
}

export interface ParameterJson {
  name: string;
  type: string;
  unit: string;
  description: string;
  default?: unknown;
  min?: number;
  max?: number;
  allowed?: string[];
}

export interface ServiceJson {
  name: string;
  apid: number;
  description: string;
  commands: CommandJson[];
  telemetry: TelemetryJson[];
  events: EventDefJson[];
  parameters: ParameterJson[];
}

export interface DictionaryJson {
  services: ServiceJson[];
}

export interface StageJson {
  stage: string;
  success: boolean;
  code?: string | number;
  detail?: string;
  missionTimeNs?: string | number;
  at?: string | number;
  [field: string]: unknown;
}

export type CommandState = "sent" | "accepted" | "started" | "completed" | "failed" | "timeout" | string;

export interface CommandRecord {
  id: string | number;
  user?: string;
  service: string;
  command: string;
  args?: unknown;
  apid?: number;
  sequenceCount?: number;
  state: CommandState;
  stages: StageJson[];
  [field: string]: unknown;
}

export const FINAL_STATES: ReadonlySet<string> = new Set(["completed", "failed", "timeout"]);

export interface LatestSample {
  value: unknown;
  missionTimeNs?: string | number;
  receivedAt?: string | number;
}

export type LatestJson = Record<string, Record<string, LatestSample>>;

export interface PointJson {
  missionTimeNs?: string | number;
  time?: string | number;
  value: unknown;
}

export interface HistoryJson {
  service: string;
  name: string;
  points: PointJson[];
  truncated?: boolean;
}

export interface EventJson {
  service?: string;
  name?: string;
  id?: number;
  severity?: string | number;
  message?: string;
  missionTimeNs?: string | number;
  time?: string | number;
  receivedAt?: string | number;
  [field: string]: unknown;
}

export interface JobJson {
  jobId?: string;
  id?: string;
  tenant?: string;
  state?: string | number;
  model?: string;
  variant?: string;
  tilesDone?: number;
  tilesTotal?: number;
  priority?: number;
  reason?: string;
  energyJ?: number;
  [field: string]: unknown;
}

export interface UserJson {
  name: string;
  role: string;
  [field: string]: unknown;
}
