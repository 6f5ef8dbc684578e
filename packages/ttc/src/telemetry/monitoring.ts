// PUS ST[12] on-board parameter monitoring: definitions (PMONs), their
// checks, the repetition filter and the check transitions. Pure state:
// samples and their mission time (ns) come in through observe().
//
// Checks and checking statuses (status code on the wire in brackets):
//   any check:  unchecked [0] (disabled, just enabled or modified, or a delta check's first sample),
//               invalid [1] (no value, a type the check cannot use, NaN or ±Infinity,
//               or for a delta check a sample not later than the previous one)
//   limit:      within limits [2], below low yellow [3], below low red [4],
//               above high yellow [5], above high red [6]; a value equal to a limit is
//               within it. Red is checked before yellow.
//   expected:   expected value [7], unexpected value [8]; for an integer with a mask,
//               (value AND mask) == (expected AND mask) on the 64-bit two's complement.
//               bool, int, float and string must match in type as well as value.
//   delta:      within thresholds [9], below low threshold [10], above high threshold [11].
//               The delta is a rate, units per second of mission time, between a sample
//               and the previous valid one, so it does not depend on how often a service
//               publishes; a negative low threshold catches a fall.
// A new status takes effect when `repetition` consecutive checks gave it
// (the counter restarts whenever a check gives something else); only then is
// a transition reported. So a value flapping across a limit faster than the
// repetition count never changes the status.
//
// Application data ("name" = 1 length octet + ASCII: services [A-Za-z0-9][A-Za-z0-9_.:-]{0,63},
// parameters [A-Za-z][A-Za-z0-9_]{0,63}; "value" = type octet + value as in ST[03]:
// 0 none, 1 bool, 2 int64, 3 float64, 4 string (u8 length + UTF-8); integers big-endian):
//
//   definition: PMON id u16, service name, parameter name, repetition u8 (1..255), check type u8, then
//     1 limit:    presence u8 (bit 0 lowRed, 1 lowYellow, 2 highYellow, 3 highRed; other bits 0),
//                 then a float64 for each bit set, in bit order
//     2 expected: value (type 1..4), mask flag u8 (0 none, 1 present), mask u64 if present
//     3 delta:    presence u8 (bit 0 low, 1 high; other bits 0), a float64 (units/s) for each bit set
//   (12,1) enable, (12,2) disable, (12,6) delete, (12,8) report: N u16, N × PMON id u16
//          ((12,8) with N = 0: every definition)
//   (12,5) add, (12,7) modify: N u16, N × definition
//   (12,9) definitions report: N u16, N × (status u8 (0 disabled, 1 enabled), definition)
//   (12,12) check transition report: N u16, N × (PMON id u16, service name, parameter name,
//          check type u8, parameter value (type 0..4), limit crossed (type 0..4; 0 none),
//          previous status u8, current status u8, transition time CUC (4+2 octets by default))
import type { CucFormat, CucTime } from "@umbra/ccsds";
import { cucOctets, decodeCuc, encodeCuc, taiNsToCuc } from "@umbra/ccsds";
import { OK, Reader, Writer, PARAMETER_NAME, SERVICE_NAME, MAX_STRING_VALUE_BYTES, checkEach, decodeIdList, encodeIdList, fail, isEncodableValue, isUint, readName, readValue, truncateUtf8 } from "./wire.js";
import type { Checked, ParamValue, Parsed, Refusal, TelemetryLookup } from "./wire.js";

export type CheckingStatus =
  | "unchecked"
  | "invalid"
  | "within-limits"
  | "below-low-yellow"
  | "below-low-red"
  | "above-high-yellow"
  | "above-high-red"
  | "expected-value"
  | "unexpected-value"
  | "within-thresholds"
  | "below-low-threshold"
  | "above-high-threshold";

export const CHECKING_STATUSES: readonly CheckingStatus[] = Object.freeze([
  "unchecked",
  "invalid",
  "within-limits",
  "below-low-yellow",
  "below-low-red",
  "above-high-yellow",
  "above-high-red",
  "expected-value",
  "unexpected-value",
  "within-thresholds",
  "below-low-threshold",
  "above-high-threshold",
]);

export interface LimitCheck {
  kind: "limit";
  lowRed?: number;
  lowYellow?: number;
  highYellow?: number;
  highRed?: number;
}

export interface ExpectedValueCheck {
  kind: "expected";
  value: ParamValue;
  /** Integers only: the bits compared (as uint64). */
  mask?: bigint;
}

/** Thresholds on the rate of change, in units per second. */
export interface DeltaCheck {
  kind: "delta";
  lowThreshold?: number;
  highThreshold?: number;
}

export type MonitoringCheck = LimitCheck | ExpectedValueCheck | DeltaCheck;
export type CheckKind = MonitoringCheck["kind"];

export interface MonitoringDefinition {
  pmonId: number;
  service: string;
  name: string;
  /** Consecutive checks with the same new result needed to change status, 1..255. */
  repetition: number;
  check: MonitoringCheck;
}

export interface MonitoringDefinitionStatus {
  enabled: boolean;
  definition: MonitoringDefinition;
}

export interface MonitoringTransition {
  pmonId: number;
  service: string;
  name: string;
  checkType: CheckKind;
  previous: CheckingStatus;
  current: CheckingStatus;
  /** The sample that completed the repetition count (undefined: the sample had no value). */
  value: ParamValue | undefined;
  /**
   * The limit or threshold the current status is defined by (for a return
   * to within limits/thresholds, the one the previous status was defined by;
   * the expected value for an expected-value check; none for invalid/unchecked).
   */
  limit: ParamValue | undefined;
  tNs: bigint;
}

const CHECK_CODES: Record<CheckKind, number> = { limit: 1, expected: 2, delta: 3 };
const CHECK_KINDS: readonly CheckKind[] = ["limit", "expected", "delta"];
const LIMIT_FIELDS = ["lowRed", "lowYellow", "highYellow", "highRed"] as const;
const DELTA_FIELDS = ["lowThreshold", "highThreshold"] as const;
const U64_MAX = (1n << 64n) - 1n;

// ---- definitions ----------------------------------------------------------------

/** Checks a definition's content (the table also checks that the parameter exists). */
export function checkMonitoringDefinition(def: MonitoringDefinition, field = ""): Refusal | undefined {
  if (!isUint(def.pmonId, 0xffff)) return fail(`${field}pmonId`, `${String(def.pmonId)} is not 0..65535`);
  if (typeof def.service !== "string" || !SERVICE_NAME.test(def.service)) return fail(`${field}service`, "not a service name");
  if (typeof def.name !== "string" || !PARAMETER_NAME.test(def.name)) return fail(`${field}name`, "not a parameter name");
  if (!Number.isInteger(def.repetition) || def.repetition < 1 || def.repetition > 255) return fail(`${field}repetition`, `${String(def.repetition)} is not 1..255`);
  const c = def.check as MonitoringCheck | undefined;
  const f = `${field}check`;
  switch (c?.kind) {
    case "limit": {
      const set = LIMIT_FIELDS.filter((k) => c[k] !== undefined);
      if (set.length === 0) return fail(f, "a limit check needs at least one limit");
      for (const k of set) if (typeof c[k] !== "number" || !Number.isFinite(c[k])) return fail(`${f}.${k}`, "not a finite number");
      if (c.lowRed !== undefined && c.lowYellow !== undefined && c.lowRed > c.lowYellow) return fail(`${f}.lowRed`, `lowRed ${c.lowRed} is above lowYellow ${c.lowYellow}`);
      if (c.highRed !== undefined && c.highYellow !== undefined && c.highRed < c.highYellow) return fail(`${f}.highRed`, `highRed ${c.highRed} is below highYellow ${c.highYellow}`);
      for (const low of ["lowYellow", "lowRed"] as const) {
        for (const high of ["highYellow", "highRed"] as const) {
          const l = c[low];
          const h = c[high];
          if (l !== undefined && h !== undefined && !(l < h)) return fail(`${f}.${low}`, `${low} ${l} is not below ${high} ${h}`);
        }
      }
      return undefined;
    }
    case "expected": {
      if (!isValue(c.value)) return fail(`${f}.value`, "not a bool, integer (bigint), float or string");
      if (typeof c.value === "number" && !Number.isFinite(c.value)) return fail(`${f}.value`, "not a finite number (a non-finite sample is invalid)");
      if (!isEncodableValue(c.value)) return fail(`${f}.value`, `an integer beyond int64 or a string beyond ${MAX_STRING_VALUE_BYTES} bytes`);
      if (c.mask !== undefined) {
        if (typeof c.value !== "bigint") return fail(`${f}.mask`, "a mask is for integer values only");
        if (typeof c.mask !== "bigint" || c.mask < 0n || c.mask > U64_MAX) return fail(`${f}.mask`, "not a uint64");
      }
      return undefined;
    }
    case "delta": {
      const set = DELTA_FIELDS.filter((k) => c[k] !== undefined);
      if (set.length === 0) return fail(f, "a delta check needs at least one threshold");
      for (const k of set) if (typeof c[k] !== "number" || !Number.isFinite(c[k])) return fail(`${f}.${k}`, "not a finite number");
      if (c.lowThreshold !== undefined && c.highThreshold !== undefined && !(c.lowThreshold < c.highThreshold)) {
        return fail(`${f}.lowThreshold`, `lowThreshold ${c.lowThreshold} is not below highThreshold ${c.highThreshold}`);
      }
      return undefined;
    }
    default:
      return fail(`${f}.kind`, "not limit, expected or delta");
  }
}

function isValue(v: unknown): v is ParamValue {
  return typeof v === "boolean" || typeof v === "bigint" || typeof v === "number" || typeof v === "string";
}

function copyDefinition(d: MonitoringDefinition): MonitoringDefinition {
  return { pmonId: d.pmonId, service: d.service, name: d.name, repetition: d.repetition, check: copyCheck(d.check) };
}

function copyCheck(c: MonitoringCheck): MonitoringCheck {
  switch (c.kind) {
    case "limit": {
      const out: LimitCheck = { kind: "limit" };
      for (const k of LIMIT_FIELDS) if (c[k] !== undefined) out[k] = c[k];
      return out;
    }
    case "expected":
      return c.mask === undefined ? { kind: "expected", value: c.value } : { kind: "expected", value: c.value, mask: c.mask };
    case "delta": {
      const out: DeltaCheck = { kind: "delta" };
      for (const k of DELTA_FIELDS) if (c[k] !== undefined) out[k] = c[k];
      return out;
    }
  }
}

// ---- checks -------------------------------------------------------------------------

type Numeric = number | bigint;

function numeric(v: ParamValue | undefined): Numeric | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return undefined;
}

function checkLimit(c: LimitCheck, v: ParamValue | undefined): CheckingStatus {
  const x = numeric(v);
  if (x === undefined) return "invalid";
  // bigint and number compare exactly in JavaScript.
  if (c.lowRed !== undefined && x < c.lowRed) return "below-low-red";
  if (c.highRed !== undefined && x > c.highRed) return "above-high-red";
  if (c.lowYellow !== undefined && x < c.lowYellow) return "below-low-yellow";
  if (c.highYellow !== undefined && x > c.highYellow) return "above-high-yellow";
  return "within-limits";
}

function checkExpected(c: ExpectedValueCheck, v: ParamValue | undefined): CheckingStatus {
  if (v === undefined || typeof v !== typeof c.value) return "invalid";
  if (typeof v === "number" && !Number.isFinite(v)) return "invalid";
  if (typeof v === "bigint" && c.mask !== undefined) {
    return (BigInt.asUintN(64, v) & c.mask) === (BigInt.asUintN(64, c.value as bigint) & c.mask) ? "expected-value" : "unexpected-value";
  }
  return v === c.value ? "expected-value" : "unexpected-value";
}

function checkDelta(c: DeltaCheck, rt: Runtime, v: ParamValue | undefined, tNs: bigint): CheckingStatus {
  const x = numeric(v);
  if (x === undefined) return "invalid";
  const prev = rt.previous;
  if (prev === undefined) {
    rt.previous = { x, tNs };
    return "unchecked";
  }
  if (tNs <= prev.tNs) return "invalid"; // a rate needs time to pass; the previous sample stays the reference
  const diff = typeof x === "bigint" && typeof prev.x === "bigint" ? Number(x - prev.x) : Number(x) - Number(prev.x);
  const rate = diff / (Number(tNs - prev.tNs) / 1e9);
  rt.previous = { x, tNs };
  if (c.lowThreshold !== undefined && rate < c.lowThreshold) return "below-low-threshold";
  if (c.highThreshold !== undefined && rate > c.highThreshold) return "above-high-threshold";
  return "within-thresholds";
}

const LIMIT_OF: Partial<Record<CheckingStatus, keyof LimitCheck | keyof DeltaCheck>> = {
  "below-low-red": "lowRed",
  "below-low-yellow": "lowYellow",
  "above-high-yellow": "highYellow",
  "above-high-red": "highRed",
  "below-low-threshold": "lowThreshold",
  "above-high-threshold": "highThreshold",
};

function limitCrossed(c: MonitoringCheck, previous: CheckingStatus, current: CheckingStatus): ParamValue | undefined {
  if (current === "invalid" || current === "unchecked") return undefined;
  if (c.kind === "expected") return c.value;
  const own = LIMIT_OF[current] ?? LIMIT_OF[previous];
  return own === undefined ? undefined : (c as unknown as Record<string, number | undefined>)[own];
}

// ---- the table --------------------------------------------------------------------

interface Runtime {
  enabled: boolean;
  status: CheckingStatus;
  candidate: CheckingStatus | undefined;
  count: number;
  /** Delta checks: the last valid sample. */
  previous: { x: Numeric; tNs: bigint } | undefined;
}

interface Entry {
  def: MonitoringDefinition;
  rt: Runtime;
}

export interface MonitoringTableOptions {
  lookup: Pick<TelemetryLookup, "hasParameter">;
  /** Most definitions the table holds (default 1024). */
  maxDefinitions?: number;
}

const paramKey = (service: string, name: string): string => `${service}/${name}`;

function fresh(enabled: boolean): Runtime {
  return { enabled, status: "unchecked", candidate: undefined, count: 0, previous: undefined };
}

export class MonitoringTable {
  private readonly entries = new Map<number, Entry>();
  private readonly byParameter = new Map<string, Set<number>>();
  private readonly maxDefinitions: number;

  constructor(private readonly options: MonitoringTableOptions) {
    this.maxDefinitions = options.maxDefinitions ?? 1024;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * (12,5). All or nothing. New definitions are disabled until (12,1), as in
   * PUS; pass enabled to seed the table from the declarations at start.
   */
  add(defs: readonly MonitoringDefinition[], options: { enabled?: boolean } = {}): Checked {
    const ids = new Set<number>();
    const bad = checkEach("definitions", defs, (d, field) => {
      const r = this.checkContent(d, `${field}.`);
      if (r) return r;
      if (this.entries.has(d.pmonId) || ids.has(d.pmonId)) return fail(`${field}.pmonId`, `PMON ${d.pmonId} already exists`);
      ids.add(d.pmonId);
      return undefined;
    });
    if (bad) return bad;
    if (this.entries.size + defs.length > this.maxDefinitions) return fail("definitions", `the table would hold more than ${this.maxDefinitions} definitions`);
    for (const d of defs) {
      const def = copyDefinition(d);
      this.entries.set(def.pmonId, { def, rt: fresh(options.enabled === true) });
      const k = paramKey(def.service, def.name);
      const set = this.byParameter.get(k) ?? new Set<number>();
      set.add(def.pmonId);
      this.byParameter.set(k, set);
    }
    return OK;
  }

  /** (12,6). All or nothing; an enabled definition must be disabled first (PUS). */
  delete(pmonIds: readonly number[]): Checked {
    const bad = checkEach("pmonIds", pmonIds, (id, field) => this.known(id, field) ?? (this.entries.get(id)!.rt.enabled ? fail(field, `PMON ${id} is enabled`) : undefined));
    if (bad) return bad;
    for (const id of pmonIds) {
      const e = this.entries.get(id);
      if (!e) continue; // listed twice
      this.entries.delete(id);
      const k = paramKey(e.def.service, e.def.name);
      const set = this.byParameter.get(k);
      set?.delete(id);
      if (set?.size === 0) this.byParameter.delete(k);
    }
    return OK;
  }

  /**
   * (12,7). All or nothing. A definition keeps its parameter (PUS): to monitor
   * another, delete and add. Its status returns to unchecked, its
   * enabled/disabled state is kept.
   */
  modify(defs: readonly MonitoringDefinition[]): Checked {
    const bad = checkEach("definitions", defs, (d, field) => {
      const r = this.checkContent(d, `${field}.`);
      if (r) return r;
      const e = this.entries.get(d.pmonId);
      if (!e) return fail(`${field}.pmonId`, `no PMON ${d.pmonId}`);
      if (e.def.service !== d.service || e.def.name !== d.name) return fail(`${field}.name`, `PMON ${d.pmonId} monitors ${e.def.service}.${e.def.name}; delete and add to monitor another parameter`);
      return undefined;
    });
    if (bad) return bad;
    for (const d of defs) {
      const e = this.entries.get(d.pmonId)!;
      e.def = copyDefinition(d);
      e.rt = fresh(e.rt.enabled);
    }
    return OK;
  }

  /** (12,1). Restarts checking (status unchecked, counter 0) of each definition that was disabled. */
  enable(pmonIds: readonly number[]): Checked {
    const bad = checkEach("pmonIds", pmonIds, (id, field) => this.known(id, field));
    if (bad) return bad;
    for (const id of pmonIds) {
      const e = this.entries.get(id)!;
      if (!e.rt.enabled) e.rt = fresh(true);
    }
    return OK;
  }

  /** (12,2). The status becomes unchecked, without a transition report. */
  disable(pmonIds: readonly number[]): Checked {
    const bad = checkEach("pmonIds", pmonIds, (id, field) => this.known(id, field));
    if (bad) return bad;
    for (const id of pmonIds) this.entries.get(id)!.rt = fresh(false);
    return OK;
  }

  /** (12,8) → (12,9): the listed definitions, or all of them (by PMON id) for an empty list. */
  definitions(pmonIds: readonly number[] = []): Parsed<MonitoringDefinitionStatus[]> {
    const ids = pmonIds.length === 0 ? [...this.entries.keys()].sort((a, b) => a - b) : pmonIds;
    const bad = pmonIds.length === 0 ? undefined : checkEach("pmonIds", pmonIds, (id, field) => this.known(id, field));
    if (bad) return bad;
    return { ok: true, value: ids.map((id) => ({ enabled: this.entries.get(id)!.rt.enabled, definition: copyDefinition(this.entries.get(id)!.def) })) };
  }

  status(pmonId: number): { enabled: boolean; status: CheckingStatus } | undefined {
    const e = this.entries.get(pmonId);
    return e && { enabled: e.rt.enabled, status: e.rt.status };
  }

  /**
   * Checks one sample against every enabled definition of that parameter;
   * returns the transitions it completed, by PMON id. `value` undefined
   * means the sample carried no value (checked as invalid).
   */
  observe(service: string, name: string, value: ParamValue | undefined, tNs: bigint): MonitoringTransition[] {
    const ids = this.byParameter.get(paramKey(service, name));
    if (!ids) return [];
    const out: MonitoringTransition[] = [];
    for (const id of [...ids].sort((a, b) => a - b)) {
      const { def, rt } = this.entries.get(id)!;
      if (!rt.enabled) continue;
      const c = def.check;
      const result = c.kind === "limit" ? checkLimit(c, value) : c.kind === "expected" ? checkExpected(c, value) : checkDelta(c, rt, value, tNs);
      if (result === rt.status) {
        rt.candidate = undefined;
        rt.count = 0;
        continue;
      }
      if (result === rt.candidate) rt.count++;
      else {
        rt.candidate = result;
        rt.count = 1;
      }
      if (rt.count < def.repetition) continue;
      out.push({ pmonId: id, service, name, checkType: c.kind, previous: rt.status, current: result, value, limit: limitCrossed(c, rt.status, result), tNs });
      rt.status = result;
      rt.candidate = undefined;
      rt.count = 0;
    }
    return out;
  }

  private known(id: number, field: string): Refusal | undefined {
    if (!isUint(id, 0xffff)) return fail(field, `${String(id)} is not a PMON id (0..65535)`);
    return this.entries.has(id) ? undefined : fail(field, `no PMON ${id}`);
  }

  private checkContent(d: MonitoringDefinition, field: string): Refusal | undefined {
    const r = checkMonitoringDefinition(d, field);
    if (r) return r;
    if (!this.options.lookup.hasParameter(d.service, d.name)) return fail(`${field}name`, `${d.service} declares no telemetry parameter ${d.name}`);
    return undefined;
  }
}

// ---- seeding from the service declarations ------------------------------------------

/** umbra.core.v1.Limits, decoded or as written. */
export interface DeclaredLimits {
  hasLow?: boolean | null;
  low?: number | null;
  hasHigh?: boolean | null;
  high?: number | null;
}

/** The part of umbra.core.v1.TelemetryDeclaration that monitoring uses. */
export interface DeclaredTelemetry {
  name?: string | null;
  /** umbra.core.v1.ValueType: 1 bool, 2 int, 3 float, 4 string. */
  type?: number | null;
  warning?: DeclaredLimits | null;
  critical?: DeclaredLimits | null;
}

const DECLARATION_FIELD: Record<string, string> = {
  "check.lowYellow": "warning.low",
  "check.highYellow": "warning.high",
  "check.lowRed": "critical.low",
  "check.highRed": "critical.high",
  check: "warning",
};

/**
 * A limit check from a declaration's warning (yellow) and critical (red)
 * limits; undefined when it declares none. Refused, naming the declaration's
 * field, when the limits are inconsistent (e.g. a warning low below the
 * critical low) or set on a bool or string parameter.
 */
export function fromDeclaration(service: string, declaration: DeclaredTelemetry, pmonId: number, repetition = 1): Parsed<MonitoringDefinition> | undefined {
  const w = declaration.warning;
  const c = declaration.critical;
  const check: LimitCheck = { kind: "limit" };
  if (c?.hasLow) check.lowRed = c.low ?? 0;
  if (w?.hasLow) check.lowYellow = w.low ?? 0;
  if (w?.hasHigh) check.highYellow = w.high ?? 0;
  if (c?.hasHigh) check.highRed = c.high ?? 0;
  if (LIMIT_FIELDS.every((k) => check[k] === undefined)) return undefined;
  if (declaration.type === 1 || declaration.type === 4) return fail("type", "limits on a bool or string parameter");
  const def: MonitoringDefinition = { pmonId, service, name: declaration.name ?? "", repetition, check };
  const bad = checkMonitoringDefinition(def);
  if (bad) return fail(DECLARATION_FIELD[bad.field] ?? bad.field, bad.reason);
  return { ok: true, value: def };
}

// ---- codecs -----------------------------------------------------------------------------

function writeDefinition(w: Writer, d: MonitoringDefinition, field: string): void {
  w.u16(`${field}pmonId`, d.pmonId).name(`${field}service`, d.service, SERVICE_NAME).name(`${field}name`, d.name, PARAMETER_NAME).u8(`${field}repetition`, d.repetition);
  const c = d.check;
  const f = `${field}check`;
  switch (c.kind) {
    case "limit": {
      w.u8(`${f}.kind`, CHECK_CODES.limit);
      const set = LIMIT_FIELDS.map((k, bit) => [k, bit] as const).filter(([k]) => c[k] !== undefined);
      w.u8(`${f}.presence`, set.reduce((m, [, bit]) => m | (1 << bit), 0));
      for (const [k] of set) w.f64(`${f}.${k}`, c[k]!);
      return;
    }
    case "expected":
      w.u8(`${f}.kind`, CHECK_CODES.expected).value(`${f}.value`, c.value);
      if (c.mask === undefined) w.u8(`${f}.mask`, 0);
      else w.u8(`${f}.mask`, 1).u64(`${f}.mask`, c.mask);
      return;
    case "delta": {
      w.u8(`${f}.kind`, CHECK_CODES.delta);
      const set = DELTA_FIELDS.map((k, bit) => [k, bit] as const).filter(([k]) => c[k] !== undefined);
      w.u8(`${f}.presence`, set.reduce((m, [, bit]) => m | (1 << bit), 0));
      for (const [k] of set) w.f64(`${f}.${k}`, c[k]!);
      return;
    }
    default:
      throw new RangeError(`${f}.kind: not limit, expected or delta`);
  }
}

function readThresholds<K extends string>(r: Reader, f: string, fields: readonly K[]): Parsed<Partial<Record<K, number>>> {
  const presence = r.u8();
  if (presence === undefined) return fail(`${f}.presence`, "missing");
  if (presence >> fields.length !== 0) return fail(`${f}.presence`, `bits above ${fields.length - 1} must be 0`);
  const out: Partial<Record<K, number>> = {};
  for (let bit = 0; bit < fields.length; bit++) {
    if ((presence & (1 << bit)) === 0) continue;
    const k = fields[bit]!;
    if (r.left < 8) return fail(`${f}.${k}`, "runs past the end");
    const v = r.f64();
    if (v === undefined) return fail(`${f}.${k}`, "NaN with a non-canonical payload");
    out[k] = v;
  }
  return { ok: true, value: out };
}

function readDefinition(r: Reader, field: string): Parsed<MonitoringDefinition> {
  const pmonId = r.u16();
  if (pmonId === undefined) return fail(`${field}pmonId`, "missing");
  const service = readName(r, `${field}service`, SERVICE_NAME);
  if (!service.ok) return service;
  const name = readName(r, `${field}name`, PARAMETER_NAME);
  if (!name.ok) return name;
  const repetition = r.u8();
  if (repetition === undefined) return fail(`${field}repetition`, "missing");
  const f = `${field}check`;
  const kind = r.u8();
  let check: MonitoringCheck;
  switch (kind) {
    case CHECK_CODES.limit: {
      const t = readThresholds(r, f, LIMIT_FIELDS);
      if (!t.ok) return t;
      check = { kind: "limit", ...t.value };
      break;
    }
    case CHECK_CODES.expected: {
      const v = readValue(r, `${f}.value`, false);
      if (!v.ok) return v;
      const flag = r.u8();
      if (flag === undefined || flag > 1) return fail(`${f}.mask`, "flag must be 0 or 1");
      if (flag === 1) {
        const mask = r.u64();
        if (mask === undefined) return fail(`${f}.mask`, "runs past the end");
        check = { kind: "expected", value: v.value!, mask };
      } else check = { kind: "expected", value: v.value! };
      break;
    }
    case CHECK_CODES.delta: {
      const t = readThresholds(r, f, DELTA_FIELDS);
      if (!t.ok) return t;
      check = { kind: "delta", ...t.value };
      break;
    }
    default:
      return fail(`${f}.kind`, kind === undefined ? "missing" : `unknown check type ${kind}`);
  }
  return { ok: true, value: { pmonId, service: service.value, name: name.value, repetition, check } };
}

function readCounted<T>(data: Uint8Array, field: string, item: (r: Reader, field: string) => Parsed<T>): Parsed<T[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail(`${field}.count`, "missing");
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const v = item(r, `${field}[${i}].`);
    if (!v.ok) return v;
    out.push(v.value);
  }
  if (r.left !== 0) return fail(field, `${r.left} bytes after the last entry`);
  return { ok: true, value: out };
}

/** (12,5), (12,7). Throws RangeError naming the field for what the layout cannot hold; the table checks the content. */
export function encodeMonitoringDefinitions(defs: readonly MonitoringDefinition[]): Uint8Array {
  const w = new Writer().u16("definitions.count", defs.length);
  defs.forEach((d, i) => writeDefinition(w, d, `definitions[${i}].`));
  return w.bytes();
}

export function decodeMonitoringDefinitions(data: Uint8Array): Parsed<MonitoringDefinition[]> {
  return readCounted(data, "definitions", readDefinition);
}

/** (12,9). */
export function encodeMonitoringDefinitionReport(items: readonly MonitoringDefinitionStatus[]): Uint8Array {
  const w = new Writer().u16("definitions.count", items.length);
  items.forEach((it, i) => {
    w.u8(`definitions[${i}].enabled`, it.enabled ? 1 : 0);
    writeDefinition(w, it.definition, `definitions[${i}].`);
  });
  return w.bytes();
}

export function decodeMonitoringDefinitionReport(data: Uint8Array): Parsed<MonitoringDefinitionStatus[]> {
  return readCounted(data, "definitions", (r, field) => {
    const status = r.u8();
    if (status === undefined || status > 1) return fail(`${field}enabled`, "status must be 0 or 1");
    const d = readDefinition(r, field);
    return d.ok ? { ok: true, value: { enabled: status === 1, definition: d.value } } : d;
  });
}

/** (12,1), (12,2), (12,6), (12,8). */
export function encodePmonIds(ids: readonly number[]): Uint8Array {
  return encodeIdList("pmonIds", ids);
}

export function decodePmonIds(data: Uint8Array): Parsed<number[]> {
  return decodeIdList("pmonIds", data);
}

/** One entry of a (12,12) report: a transition with its time as CUC. */
export interface TransitionRecord {
  pmonId: number;
  service: string;
  name: string;
  checkType: CheckKind;
  value: ParamValue | undefined;
  limit: ParamValue | undefined;
  previous: CheckingStatus;
  current: CheckingStatus;
  time: CucTime;
}

/** (12,12). Throws RangeError naming the field for what the layout cannot hold. */
export function encodeTransitionReport(records: readonly TransitionRecord[], format?: CucFormat): Uint8Array {
  const w = new Writer().u16("transitions.count", records.length);
  records.forEach((t, i) => {
    const f = `transitions[${i}].`;
    const status = (k: "previous" | "current"): number => {
      const code = CHECKING_STATUSES.indexOf(t[k]);
      if (code < 0) throw new RangeError(`${f}${k}: not a checking status`);
      return code;
    };
    const kind = CHECK_CODES[t.checkType];
    if (kind === undefined) throw new RangeError(`${f}checkType: not limit, expected or delta`);
    w.u16(`${f}pmonId`, t.pmonId).name(`${f}service`, t.service, SERVICE_NAME).name(`${f}name`, t.name, PARAMETER_NAME).u8(`${f}checkType`, kind);
    w.value(`${f}value`, t.value).value(`${f}limit`, t.limit).u8(`${f}previous`, status("previous")).u8(`${f}current`, status("current"));
    w.raw(encodeCuc(t.time, format));
  });
  return w.bytes();
}

export function decodeTransitionReport(data: Uint8Array, format?: CucFormat): Parsed<TransitionRecord[]> {
  const size = cucOctets(format);
  return readCounted(data, "transitions", (r, f) => {
    const pmonId = r.u16();
    if (pmonId === undefined) return fail(`${f}pmonId`, "missing");
    const service = readName(r, `${f}service`, SERVICE_NAME);
    if (!service.ok) return service;
    const name = readName(r, `${f}name`, PARAMETER_NAME);
    if (!name.ok) return name;
    const kind = r.u8();
    const checkType = kind === undefined ? undefined : CHECK_KINDS[kind - 1];
    if (checkType === undefined) return fail(`${f}checkType`, kind === undefined ? "missing" : `unknown check type ${kind}`);
    const value = readValue(r, `${f}value`, true);
    if (!value.ok) return value;
    const limit = readValue(r, `${f}limit`, true);
    if (!limit.ok) return limit;
    const previous = CHECKING_STATUSES[r.u8() ?? 255];
    if (previous === undefined) return fail(`${f}previous`, "missing or not a checking status");
    const current = CHECKING_STATUSES[r.u8() ?? 255];
    if (current === undefined) return fail(`${f}current`, "missing or not a checking status");
    const t = r.bytes(size);
    if (t === undefined) return fail(`${f}time`, "runs past the end");
    const time = decodeCuc(t, format);
    if (!time.ok) return fail(`${f}time`, time.error.reason);
    return { ok: true, value: { pmonId, service: service.value, name: name.value, checkType, value: value.value, limit: limit.value, previous, current, time: time.value } };
  });
}

/**
 * The (12,12) application data for transitions from MonitoringTable.observe.
 * Does not throw for what a service published: a string value is cut to 255
 * bytes, an integer beyond int64 is reported as no value. `tNs` is mission
 * time (TAI ns since 1958), written as CUC in `format`.
 */
export function transitionReport(transitions: readonly MonitoringTransition[], format?: CucFormat): Uint8Array {
  const fit = (v: ParamValue | undefined): ParamValue | undefined =>
    typeof v === "string" ? truncateUtf8(v, MAX_STRING_VALUE_BYTES) : v === undefined || isEncodableValue(v) ? v : undefined;
  return encodeTransitionReport(
    transitions.map((t) => ({
      pmonId: t.pmonId,
      service: t.service,
      name: t.name,
      checkType: t.checkType,
      value: fit(t.value),
      limit: fit(t.limit),
      previous: t.previous,
      current: t.current,
      time: taiNsToCuc(t.tNs, format),
    })),
    format,
  );
}
