// PUS ST[05] event reporting: severity to subtype, the on-board filter of
// which events are reported, and the event report's application data.
//
// Application data ("name" = 1 length octet + ASCII bus node name
// [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}; integers big-endian):
//
//   (5,5) enable, (5,6) disable, (5,8) disabled list:
//        N u16, N × (service name, event id u16)
//   (5,7) report the disabled list: no application data
//   (5,1) informative, (5,2) low, (5,3) medium, (5,4) high severity report:
//        service name, event id u16, message (u16 length + UTF-8, at most 1024 bytes),
//        M u8 (at most 32) arguments, M × (key: u8 length + UTF-8, 1..64 bytes;
//        value: u8 length + UTF-8, at most 255 bytes), keys in strictly ascending
//        byte order (so each key once, and one encoding per report)
import type { SeverityName } from "@umbra/core";
import { OK, Reader, Writer, SERVICE_NAME, checkEach, fail, isUint, readName, readUtf8, truncateUtf8, utf8Bytes } from "./wire.js";
import type { Checked, Parsed, Refusal, TelemetryLookup } from "./wire.js";

export type { SeverityName };
export type EventSubtype = 1 | 2 | 3 | 4;

export const EVENT_SUBTYPES: Readonly<Record<SeverityName, EventSubtype>> = Object.freeze({ info: 1, low: 2, medium: 3, high: 4 });
export const MAX_EVENT_MESSAGE_BYTES = 1024;
export const MAX_EVENT_ARGS = 32;
export const MAX_EVENT_ARG_KEY_BYTES = 64;
export const MAX_EVENT_ARG_VALUE_BYTES = 255;

/**
 * The PUS subtype of an event's report. Takes a severity name or the
 * umbra.core.v1.Severity number (1..4, which equal the subtypes). An
 * unspecified or unknown severity is reported as a low-severity anomaly
 * (5,2): an event nobody classified is something for an operator to look
 * at, not to file as informative.
 */
export function eventSubtype(severity: SeverityName | number): EventSubtype {
  if (typeof severity === "string") return EVENT_SUBTYPES[severity] ?? 2;
  return severity === 1 || severity === 2 || severity === 3 || severity === 4 ? severity : 2;
}

export function severityOfSubtype(subtype: number): SeverityName | undefined {
  return (["info", "low", "medium", "high"] as const)[subtype - 1];
}

/** An event definition: which service declared it, and its id there. */
export interface EventRef {
  service: string;
  eventId: number;
}

export const eventKey = (service: string, eventId: number): string => `${service}/${eventId}`;

export function checkEventRef(ref: EventRef, field: string, lookup: Pick<TelemetryLookup, "hasEvent">): Refusal | undefined {
  if (typeof ref.service !== "string" || !SERVICE_NAME.test(ref.service)) return fail(`${field}.service`, "not a service name");
  if (!isUint(ref.eventId, 0xffff)) return fail(`${field}.eventId`, `${String(ref.eventId)} is not 0..65535`);
  if (!lookup.hasEvent(ref.service, ref.eventId)) return fail(field, `${ref.service} declares no event ${ref.eventId}`);
  return undefined;
}

export interface EventFilterOptions {
  lookup: Pick<TelemetryLookup, "hasEvent">;
  /** Most event definitions that can be disabled at once (default 4096). */
  maxDisabled?: number;
}

/** Which event reports are generated: all, except the disabled ones (5,5)/(5,6). */
export class EventFilter {
  private readonly off = new Map<string, EventRef>();
  private readonly maxDisabled: number;

  constructor(private readonly options: EventFilterOptions) {
    this.maxDisabled = options.maxDisabled ?? 4096;
  }

  /** (5,5). All or nothing: an unknown event refuses the whole request. */
  enable(refs: readonly EventRef[]): Checked {
    const bad = checkEach("events", refs, (ref, field) => checkEventRef(ref, field, this.options.lookup));
    if (bad) return bad;
    for (const r of refs) this.off.delete(eventKey(r.service, r.eventId));
    return OK;
  }

  /** (5,6). */
  disable(refs: readonly EventRef[]): Checked {
    const bad = checkEach("events", refs, (ref, field) => checkEventRef(ref, field, this.options.lookup));
    if (bad) return bad;
    const added = new Set(refs.map((r) => eventKey(r.service, r.eventId)).filter((k) => !this.off.has(k)));
    if (this.off.size + added.size > this.maxDisabled) return fail("events", `more than ${this.maxDisabled} events would be disabled`);
    for (const r of refs) this.off.set(eventKey(r.service, r.eventId), { service: r.service, eventId: r.eventId });
    return OK;
  }

  isEnabled(service: string, eventId: number): boolean {
    return !this.off.has(eventKey(service, eventId));
  }

  /** (5,7) → (5,8): the disabled events, by service then id. */
  disabled(): EventRef[] {
    return [...this.off.values()].map((r) => ({ ...r })).sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.eventId - b.eventId));
  }
}

// ---- codecs -------------------------------------------------------------------

/** (5,5), (5,6), (5,8); also (19,2), (19,4), (19,5). */
export function encodeEventRefs(refs: readonly EventRef[]): Uint8Array {
  const w = new Writer().u16("events.count", refs.length);
  refs.forEach((r, i) => w.name(`events[${i}].service`, r.service, SERVICE_NAME).u16(`events[${i}].eventId`, r.eventId));
  return w.bytes();
}

export function decodeEventRefs(data: Uint8Array): Parsed<EventRef[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail("events.count", "missing");
  const out: EventRef[] = [];
  for (let i = 0; i < count; i++) {
    const service = readName(r, `events[${i}].service`, SERVICE_NAME);
    if (!service.ok) return service;
    const eventId = r.u16();
    if (eventId === undefined) return fail(`events[${i}].eventId`, "missing");
    out.push({ service: service.value, eventId });
  }
  if (r.left !== 0) return fail("events", `${r.left} bytes after the last event`);
  return { ok: true, value: out };
}

export interface EventReportData {
  service: string;
  eventId: number;
  message: string;
  args: Record<string, string>;
}

/** (5,1..4). Throws RangeError naming the field for what the layout cannot hold. */
export function encodeEventReport(report: EventReportData): Uint8Array {
  const w = new Writer().name("service", report.service, SERVICE_NAME).u16("eventId", report.eventId);
  w.utf8("message", report.message, 2, MAX_EVENT_MESSAGE_BYTES);
  const args = Object.entries(report.args).map(([k, v]) => [utf8Bytes(`args.${k}`, k), v] as const);
  if (args.length > MAX_EVENT_ARGS) throw new RangeError(`args: ${args.length} arguments, more than ${MAX_EVENT_ARGS}`);
  args.sort((a, b) => Buffer.compare(a[0], b[0]));
  w.u8("args.count", args.length);
  for (const [k, v] of args) {
    if (k.length === 0 || k.length > MAX_EVENT_ARG_KEY_BYTES) throw new RangeError(`args: key of ${k.length} bytes is not 1..${MAX_EVENT_ARG_KEY_BYTES}`);
    w.u8("args.key", k.length).raw(k).utf8(`args.${k.toString("utf8")}`, v, 1, MAX_EVENT_ARG_VALUE_BYTES);
  }
  return w.bytes();
}

export function decodeEventReport(data: Uint8Array): Parsed<EventReportData> {
  const r = new Reader(data);
  const service = readName(r, "service", SERVICE_NAME);
  if (!service.ok) return service;
  const eventId = r.u16();
  if (eventId === undefined) return fail("eventId", "missing");
  const message = readUtf8(r, "message", 2, MAX_EVENT_MESSAGE_BYTES);
  if (!message.ok) return message;
  const count = r.u8();
  if (count === undefined) return fail("args.count", "missing");
  if (count > MAX_EVENT_ARGS) return fail("args.count", `${count} arguments, more than ${MAX_EVENT_ARGS}`);
  const pairs: [string, string][] = [];
  let previous: Buffer | undefined;
  for (let i = 0; i < count; i++) {
    const n = r.u8();
    if (n === undefined || n === 0 || n > MAX_EVENT_ARG_KEY_BYTES) return fail(`args[${i}].key`, `length is not 1..${MAX_EVENT_ARG_KEY_BYTES}`);
    const raw = r.bytes(n);
    if (raw === undefined) return fail(`args[${i}].key`, "runs past the end");
    const keyBytes = Buffer.from(raw);
    const key = new Reader(keyBytes).utf8(n);
    if (key === undefined) return fail(`args[${i}].key`, "not valid UTF-8");
    if (previous && Buffer.compare(previous, keyBytes) >= 0) return fail(`args[${i}].key`, "keys must be in strictly ascending byte order");
    previous = keyBytes;
    const value = readUtf8(r, `args[${i}].value`, 1, MAX_EVENT_ARG_VALUE_BYTES);
    if (!value.ok) return value;
    pairs.push([key, value.value]);
  }
  if (r.left !== 0) return fail("args", `${r.left} bytes after the last argument`);
  // fromEntries defines own properties, so a key like "__proto__" stays data.
  return { ok: true, value: { service: service.value, eventId, message: message.value, args: Object.fromEntries(pairs) } };
}

/** An event as the bus carries it (umbra.core.v1.Event, decoded), or as a service declares it. */
export interface EventLike {
  service: string;
  id: number;
  severity: SeverityName | number;
  message: string;
  args?: Record<string, string> | null;
}

export interface EventReport {
  subtype: EventSubtype;
  report: EventReportData;
  data: Uint8Array;
  /** Whether the message or arguments had to be cut to fit the layout. */
  truncated: boolean;
}

/**
 * The report for an event from the bus. Never throws: a message or argument
 * too long is cut at a character boundary, arguments beyond the limits are
 * left out (in key order), and `truncated` says so. Refused only when the
 * event cannot be identified (bad service name or an id beyond u16).
 */
export function eventReport(event: EventLike): Parsed<EventReport> {
  if (typeof event.service !== "string" || !SERVICE_NAME.test(event.service)) return fail("service", "not a service name");
  if (!isUint(event.id, 0xffff)) return fail("id", `${String(event.id)} is not 0..65535`);
  let truncated = false;
  const cut = (s: unknown, max: number): string => {
    const text = typeof s === "string" ? s : "";
    const t = truncateUtf8(text, max);
    if (t !== text) truncated = true;
    return t;
  };
  const message = cut(event.message, MAX_EVENT_MESSAGE_BYTES);
  const entries = Object.entries(event.args ?? {})
    .map(([k, v]) => [Buffer.from(k, "utf8"), k, v] as const)
    .filter(([kb, k]) => kb.length >= 1 && kb.length <= MAX_EVENT_ARG_KEY_BYTES && kb.toString("utf8") === k)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  if (entries.length !== Object.keys(event.args ?? {}).length) truncated = true;
  if (entries.length > MAX_EVENT_ARGS) truncated = true;
  const args = Object.fromEntries(entries.slice(0, MAX_EVENT_ARGS).map(([, k, v]) => [k, cut(v, MAX_EVENT_ARG_VALUE_BYTES)]));
  const report: EventReportData = { service: event.service, eventId: event.id, message, args };
  return { ok: true, value: { subtype: eventSubtype(event.severity), report, data: encodeEventReport(report), truncated } };
}
