// PUS ST[03] housekeeping: report structures, their collection schedule and
// the reports themselves. Pure state: parameter samples come in through
// observe(), time comes in as arguments (monotonic ms for the schedule,
// mission time ns for samples and reports).
//
// Application data (all integers big-endian; "name" = 1 length octet + ASCII,
// services as bus node names [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}, parameters
// [A-Za-z][A-Za-z0-9_]{0,63}; "value" = 1 type octet then
//   0 no sample yet (nothing follows)   1 bool (1 octet, 0 or 1)
//   2 int64 (8 octets, two's complement) 3 float64 (8 octets IEEE 754, NaN only as 7FF8000000000000)
//   4 string (1 length octet + UTF-8, at most 255 bytes)):
//
//   (3,1)  create:          SID u16, collection interval u32 (ms), status u8 (0 disabled, 1 enabled),
//                           N u8, N × (service name, parameter name)
//   (3,3) delete, (3,5) enable, (3,6) disable, (3,27) one-shot, (3,9) report definitions:
//                           N u16, N × SID u16   ((3,9) with N = 0: every structure)
//   (3,10) definitions:     N u16, N × (the (3,1) layout)
//   (3,31) modify interval: N u16, N × (SID u16, collection interval u32 (ms))
//   (3,25) report:          SID u16, then one value per parameter, in the structure's order
//                           (type 0 where no sample has been seen yet; the structure, from
//                           (3,10), says which parameter each value is)
import { OK, Reader, Writer, PARAMETER_NAME, SERVICE_NAME, MAX_STRING_VALUE_BYTES, checkEach, decodeIdList, encodeIdList, fail, isEncodableValue, isUint, readName, readValue, truncateUtf8 } from "./wire.js";
import type { Checked, ParamValue, Parsed, Refusal, TelemetryLookup } from "./wire.js";

export const HK_MIN_INTERVAL_MS = 100;
export const HK_MAX_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** Keeps a report within one TM packet even if every value is a 255-byte string. */
export const HK_MAX_PARAMETERS = 100;

export interface ParameterRef {
  service: string;
  name: string;
}

export interface HousekeepingStructure {
  sid: number;
  collectionIntervalMs: number;
  enabled: boolean;
  parameters: ParameterRef[];
}

export interface IntervalChange {
  sid: number;
  collectionIntervalMs: number;
}

/** One (3,25) report: the values in the structure's order (undefined: no sample yet) and its app data. */
export interface HousekeepingReport {
  sid: number;
  tNs: bigint;
  values: (ParamValue | undefined)[];
  data: Uint8Array;
}

export interface HousekeepingTableOptions {
  lookup: Pick<TelemetryLookup, "hasParameter">;
  /** Most structures the table holds (default 256). */
  maxStructures?: number;
  /** Most distinct parameters whose latest sample is kept when no structure names them (default 4096). */
  maxSamples?: number;
}

interface Entry {
  s: HousekeepingStructure;
  /** The schedule is anchorMs + period × interval, so it never accumulates drift. */
  anchorMs: number;
  period: number;
}

const key = (service: string, name: string): string => `${service}/${name}`; // "/" is in neither name set

function copy(s: HousekeepingStructure): HousekeepingStructure {
  return { sid: s.sid, collectionIntervalMs: s.collectionIntervalMs, enabled: s.enabled, parameters: s.parameters.map((p) => ({ service: p.service, name: p.name })) };
}

export class HousekeepingTable {
  private readonly entries = new Map<number, Entry>();
  private readonly samples = new Map<string, { value: ParamValue | undefined; tNs: bigint }>();
  private readonly referenced = new Map<string, number>(); // parameter key -> structures naming it
  private readonly maxStructures: number;
  private readonly maxSamples: number;
  private skipped = 0;

  constructor(private readonly options: HousekeepingTableOptions) {
    this.maxStructures = options.maxStructures ?? 256;
    this.maxSamples = options.maxSamples ?? 4096;
  }

  /** Periodic reports not generated because due() was called more than one interval late. */
  get skippedReports(): number {
    return this.skipped;
  }

  get size(): number {
    return this.entries.size;
  }

  /** (3,1). An enabled structure is first due one interval after `nowMs`. */
  create(structure: HousekeepingStructure, nowMs: number): Checked {
    const bad = this.checkStructure(structure);
    if (bad) return bad;
    if (this.entries.has(structure.sid)) return fail("sid", `structure ${structure.sid} already exists`);
    if (this.entries.size >= this.maxStructures) return fail("sid", `the table is full (${this.maxStructures} structures)`);
    const s = copy(structure);
    this.entries.set(s.sid, { s, anchorMs: nowMs, period: 1 });
    for (const p of s.parameters) this.referenced.set(key(p.service, p.name), (this.referenced.get(key(p.service, p.name)) ?? 0) + 1);
    return OK;
  }

  /** (3,3). All or nothing; an enabled structure must be disabled first (PUS). */
  delete(sids: readonly number[]): Checked {
    const bad = checkEach("sids", sids, (sid, field) => this.known(sid, field) ?? (this.entries.get(sid)!.s.enabled ? fail(field, `structure ${sid} is enabled`) : undefined));
    if (bad) return bad;
    for (const sid of sids) {
      const e = this.entries.get(sid);
      if (!e) continue; // listed twice
      this.entries.delete(sid);
      for (const p of e.s.parameters) {
        const k = key(p.service, p.name);
        const n = (this.referenced.get(k) ?? 1) - 1;
        if (n > 0) this.referenced.set(k, n);
        else this.referenced.delete(k);
      }
    }
    return OK;
  }

  /** (3,5). A structure that was disabled is next due one interval after `nowMs`; an enabled one keeps its schedule. */
  enable(sids: readonly number[], nowMs: number): Checked {
    const bad = checkEach("sids", sids, (sid, field) => this.known(sid, field));
    if (bad) return bad;
    for (const sid of sids) {
      const e = this.entries.get(sid)!;
      if (e.s.enabled) continue;
      e.s.enabled = true;
      e.anchorMs = nowMs;
      e.period = 1;
    }
    return OK;
  }

  /** (3,6). */
  disable(sids: readonly number[]): Checked {
    const bad = checkEach("sids", sids, (sid, field) => this.known(sid, field));
    if (bad) return bad;
    for (const sid of sids) this.entries.get(sid)!.s.enabled = false;
    return OK;
  }

  /** (3,31). The new interval counts from `nowMs`. */
  modifyInterval(changes: readonly IntervalChange[], nowMs: number): Checked {
    const bad = checkEach("changes", changes, (c, field) => this.known(c.sid, `${field}.sid`) ?? checkInterval(`${field}.collectionIntervalMs`, c.collectionIntervalMs));
    if (bad) return bad;
    for (const c of changes) {
      const e = this.entries.get(c.sid)!;
      e.s.collectionIntervalMs = c.collectionIntervalMs;
      e.anchorMs = nowMs;
      e.period = 1;
    }
    return OK;
  }

  /** (3,27): a report for each SID now, enabled or not; the periodic schedule is untouched. */
  oneShot(sids: readonly number[], tNs: bigint): Parsed<HousekeepingReport[]> {
    const bad = checkEach("sids", sids, (sid, field) => this.known(sid, field));
    if (bad) return bad;
    return { ok: true, value: sids.map((sid) => this.build(this.entries.get(sid)!.s, tNs)) };
  }

  /** (3,9) → (3,10): the listed structures, or all of them (by SID) for an empty list. */
  definitions(sids: readonly number[] = []): Parsed<HousekeepingStructure[]> {
    if (sids.length === 0) return { ok: true, value: [...this.entries.keys()].sort((a, b) => a - b).map((sid) => copy(this.entries.get(sid)!.s)) };
    const bad = checkEach("sids", sids, (sid, field) => this.known(sid, field));
    if (bad) return bad;
    return { ok: true, value: sids.map((sid) => copy(this.entries.get(sid)!.s)) };
  }

  /**
   * Keeps the latest sample of a parameter (time is mission time, ns). A
   * sample without a value (undefined) replaces the previous one: the report
   * then says "no sample" rather than repeat a stale value.
   */
  observe(service: string, name: string, value: ParamValue | undefined, tNs: bigint): void {
    const k = key(service, name);
    if (!this.samples.has(k) && !this.referenced.has(k) && this.samples.size >= this.maxSamples) return;
    this.samples.set(k, { value, tNs });
  }

  /**
   * The enabled structures whose next report time has come, by SID. Each is
   * reported once even if `nowMs` is several intervals late (the missed
   * ones are counted in skippedReports); the schedule keeps its phase.
   */
  due(nowMs: number): HousekeepingStructure[] {
    const out: HousekeepingStructure[] = [];
    for (const sid of [...this.entries.keys()].sort((a, b) => a - b)) {
      const e = this.entries.get(sid)!;
      const interval = e.s.collectionIntervalMs;
      if (!e.s.enabled || nowMs < e.anchorMs + e.period * interval) continue;
      // max(): a float quotient a hair below a whole number must not move the schedule back.
      const periodsDue = Math.max(e.period, Math.floor((nowMs - e.anchorMs) / interval));
      this.skipped += periodsDue - e.period;
      e.period = periodsDue + 1;
      out.push(copy(e.s));
    }
    return out;
  }

  /** When due() will next return something; undefined if nothing is enabled. */
  nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) {
      if (!e.s.enabled) continue;
      const t = e.anchorMs + e.period * e.s.collectionIntervalMs;
      if (next === undefined || t < next) next = t;
    }
    return next;
  }

  /** The (3,25) report of one structure from the latest samples. */
  report(sid: number, tNs: bigint): Parsed<HousekeepingReport> {
    const bad = this.known(sid, "sid");
    if (bad) return bad;
    return { ok: true, value: this.build(this.entries.get(sid)!.s, tNs) };
  }

  private build(s: HousekeepingStructure, tNs: bigint): HousekeepingReport {
    // A report must never fail because of what a service published: long
    // strings are cut at a character boundary, what cannot be encoded at all
    // (an integer beyond int64) is reported as "no sample".
    const values = s.parameters.map((p): ParamValue | undefined => {
      const v = this.samples.get(key(p.service, p.name))?.value;
      if (typeof v === "string") return truncateUtf8(v, MAX_STRING_VALUE_BYTES);
      return v === undefined || isEncodableValue(v) ? v : undefined;
    });
    return { sid: s.sid, tNs, values, data: encodeHousekeepingReport({ sid: s.sid, values }) };
  }

  private known(sid: number, field: string): Refusal | undefined {
    if (!isUint(sid, 0xffff)) return fail(field, `${String(sid)} is not a SID (0..65535)`);
    return this.entries.has(sid) ? undefined : fail(field, `no structure ${sid}`);
  }

  private checkStructure(s: HousekeepingStructure): Refusal | undefined {
    if (!isUint(s.sid, 0xffff)) return fail("sid", `${String(s.sid)} is not 0..65535`);
    const bad = checkInterval("collectionIntervalMs", s.collectionIntervalMs);
    if (bad) return bad;
    if (typeof s.enabled !== "boolean") return fail("enabled", "not a boolean");
    if (!Array.isArray(s.parameters) || s.parameters.length === 0) return fail("parameters", "empty");
    if (s.parameters.length > HK_MAX_PARAMETERS) return fail("parameters", `${s.parameters.length} parameters, more than ${HK_MAX_PARAMETERS}`);
    const seen = new Set<string>();
    for (let i = 0; i < s.parameters.length; i++) {
      const p = s.parameters[i]!;
      const field = `parameters[${i}]`;
      if (typeof p.service !== "string" || !SERVICE_NAME.test(p.service)) return fail(`${field}.service`, "not a service name");
      if (typeof p.name !== "string" || !PARAMETER_NAME.test(p.name)) return fail(`${field}.name`, "not a parameter name");
      if (!this.options.lookup.hasParameter(p.service, p.name)) return fail(field, `${p.service} declares no telemetry parameter ${p.name}`);
      const k = key(p.service, p.name);
      if (seen.has(k)) return fail(field, `${p.service}.${p.name} is listed twice`);
      seen.add(k);
    }
    return undefined;
  }
}

function checkInterval(field: string, ms: number): Refusal | undefined {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < HK_MIN_INTERVAL_MS || ms > HK_MAX_INTERVAL_MS) {
    return fail(field, `${String(ms)} ms is not an integer in ${HK_MIN_INTERVAL_MS}..${HK_MAX_INTERVAL_MS}`);
  }
  return undefined;
}

// ---- codecs -------------------------------------------------------------------

function writeStructure(w: Writer, s: HousekeepingStructure, field: string): void {
  w.u16(`${field}sid`, s.sid).u32(`${field}collectionIntervalMs`, s.collectionIntervalMs).u8(`${field}enabled`, s.enabled ? 1 : 0);
  w.u8(`${field}parameters.count`, s.parameters.length);
  s.parameters.forEach((p, i) => w.name(`${field}parameters[${i}].service`, p.service, SERVICE_NAME).name(`${field}parameters[${i}].name`, p.name, PARAMETER_NAME));
}

function readStructure(r: Reader, field: string): Parsed<HousekeepingStructure> {
  const sid = r.u16();
  if (sid === undefined) return fail(`${field}sid`, "missing");
  const collectionIntervalMs = r.u32();
  if (collectionIntervalMs === undefined) return fail(`${field}collectionIntervalMs`, "missing");
  const status = r.u8();
  if (status === undefined || status > 1) return fail(`${field}enabled`, "status must be 0 or 1");
  const count = r.u8();
  if (count === undefined) return fail(`${field}parameters.count`, "missing");
  const parameters: ParameterRef[] = [];
  for (let i = 0; i < count; i++) {
    const service = readName(r, `${field}parameters[${i}].service`, SERVICE_NAME);
    if (!service.ok) return service;
    const name = readName(r, `${field}parameters[${i}].name`, PARAMETER_NAME);
    if (!name.ok) return name;
    parameters.push({ service: service.value, name: name.value });
  }
  return { ok: true, value: { sid, collectionIntervalMs, enabled: status === 1, parameters } };
}

/** (3,1). Throws RangeError naming the field for what does not fit the layout. */
export function encodeCreateStructure(s: HousekeepingStructure): Uint8Array {
  const w = new Writer();
  writeStructure(w, s, "");
  return w.bytes();
}

/** (3,1). Checks the layout only; HousekeepingTable.create checks the content. */
export function decodeCreateStructure(data: Uint8Array): Parsed<HousekeepingStructure> {
  const r = new Reader(data);
  const s = readStructure(r, "");
  if (!s.ok) return s;
  if (r.left !== 0) return fail("parameters", `${r.left} bytes after the last parameter`);
  return s;
}

/** (3,10). */
export function encodeStructureDefinitions(structures: readonly HousekeepingStructure[]): Uint8Array {
  const w = new Writer().u16("structures.count", structures.length);
  structures.forEach((s, i) => writeStructure(w, s, `structures[${i}].`));
  return w.bytes();
}

export function decodeStructureDefinitions(data: Uint8Array): Parsed<HousekeepingStructure[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail("structures.count", "missing");
  const out: HousekeepingStructure[] = [];
  for (let i = 0; i < count; i++) {
    const s = readStructure(r, `structures[${i}].`);
    if (!s.ok) return s;
    out.push(s.value);
  }
  if (r.left !== 0) return fail("structures", `${r.left} bytes after the last structure`);
  return { ok: true, value: out };
}

/** (3,3), (3,5), (3,6), (3,27), (3,9). */
export function encodeSids(sids: readonly number[]): Uint8Array {
  return encodeIdList("sids", sids);
}

export function decodeSids(data: Uint8Array): Parsed<number[]> {
  return decodeIdList("sids", data);
}

/** (3,31). */
export function encodeIntervalChanges(changes: readonly IntervalChange[]): Uint8Array {
  const w = new Writer().u16("changes.count", changes.length);
  changes.forEach((c, i) => w.u16(`changes[${i}].sid`, c.sid).u32(`changes[${i}].collectionIntervalMs`, c.collectionIntervalMs));
  return w.bytes();
}

export function decodeIntervalChanges(data: Uint8Array): Parsed<IntervalChange[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail("changes.count", "missing");
  if (r.left !== count * 6) return fail("changes", `count ${count} needs ${count * 6} bytes, ${r.left} follow`);
  const out: IntervalChange[] = [];
  for (let i = 0; i < count; i++) out.push({ sid: r.u16()!, collectionIntervalMs: r.u32()! });
  return { ok: true, value: out };
}

/** (3,25). At least one value (a structure has at least one parameter). */
export function encodeHousekeepingReport(report: { sid: number; values: readonly (ParamValue | undefined)[] }): Uint8Array {
  if (report.values.length === 0) throw new RangeError("values: none");
  const w = new Writer().u16("sid", report.sid);
  report.values.forEach((v, i) => w.value(`values[${i}]`, v));
  return w.bytes();
}

export function decodeHousekeepingReport(data: Uint8Array): Parsed<{ sid: number; values: (ParamValue | undefined)[] }> {
  const r = new Reader(data);
  const sid = r.u16();
  if (sid === undefined) return fail("sid", "missing");
  if (r.left === 0) return fail("values", "none");
  const values: (ParamValue | undefined)[] = [];
  while (r.left > 0) {
    const v = readValue(r, `values[${values.length}]`, true);
    if (!v.ok) return v;
    values.push(v.value);
  }
  return { ok: true, value: { sid, values } };
}
