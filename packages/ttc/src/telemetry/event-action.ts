// PUS ST[19] event-action: when a service raises a given event, the TTC
// executes a telecommand stored for it. The action is a complete TC packet,
// kept byte for byte as uplinked; the TTC dispatches and verifies it like
// any other command (authentication included), so this table never looks
// inside it beyond an optional check supplied by the TTC.
//
// Application data ("name" = 1 length octet + ASCII bus node name; integers big-endian):
//   (19,1) add:                N u16, N × (service name, event id u16, packet length u16 (1..65535), packet)
//   (19,2) delete, (19,4) enable, (19,5) disable:
//                              N u16, N × (service name, event id u16)   (as ST[05] (5,5))
//   (19,6) report status:      no application data
//   (19,7) status report:      N u16, N × (service name, event id u16, status u8 (0 disabled, 1 enabled))
import { OK, Reader, Writer, SERVICE_NAME, checkEach, fail, readName } from "./wire.js";
import type { Checked, Parsed, Refusal, TelemetryLookup } from "./wire.js";
import { checkEventRef, eventKey, type EventRef } from "./events.js";

export interface EventActionDefinition {
  service: string;
  eventId: number;
  /** One complete TC packet. */
  action: Uint8Array;
}

export interface EventActionStatus {
  service: string;
  eventId: number;
  enabled: boolean;
}

export interface EventActionTableOptions {
  lookup: Pick<TelemetryLookup, "hasEvent">;
  /** Most definitions the table holds (default 256). */
  maxDefinitions?: number;
  /** The TTC's check of a stored packet (e.g. that it parses as a TC); returns why it is refused. */
  checkAction?: (packet: Uint8Array) => string | undefined;
}

interface Entry {
  service: string;
  eventId: number;
  action: Uint8Array;
  enabled: boolean;
}

const byServiceThenId = (a: EventRef, b: EventRef): number => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.eventId - b.eventId);

export class EventActionTable {
  private readonly entries = new Map<string, Entry>();
  private readonly maxDefinitions: number;

  constructor(private readonly options: EventActionTableOptions) {
    this.maxDefinitions = options.maxDefinitions ?? 256;
  }

  get size(): number {
    return this.entries.size;
  }

  /** (19,1). All or nothing; one action per event; new definitions are disabled until (19,4), as in PUS. */
  add(defs: readonly EventActionDefinition[]): Checked {
    const keys = new Set<string>();
    const bad = checkEach("definitions", defs, (d, field) => {
      const r = checkEventRef(d, field, this.options.lookup);
      if (r) return r;
      const k = eventKey(d.service, d.eventId);
      if (this.entries.has(k) || keys.has(k)) return fail(field, `event ${d.service}/${d.eventId} already has an action`);
      keys.add(k);
      if (!(d.action instanceof Uint8Array) || d.action.length === 0 || d.action.length > 0xffff) return fail(`${field}.action`, "not a packet of 1..65535 bytes");
      const why = this.options.checkAction?.(d.action);
      return why === undefined ? undefined : fail(`${field}.action`, why);
    });
    if (bad) return bad;
    if (this.entries.size + defs.length > this.maxDefinitions) return fail("definitions", `the table would hold more than ${this.maxDefinitions} definitions`);
    for (const d of defs) this.entries.set(eventKey(d.service, d.eventId), { service: d.service, eventId: d.eventId, action: new Uint8Array(d.action), enabled: false });
    return OK;
  }

  /** (19,2). All or nothing; an enabled definition must be disabled first (PUS). */
  delete(refs: readonly EventRef[]): Checked {
    const bad = checkEach("events", refs, (r, field) => this.known(r, field) ?? (this.entries.get(eventKey(r.service, r.eventId))!.enabled ? fail(field, `the action of ${r.service}/${r.eventId} is enabled`) : undefined));
    if (bad) return bad;
    for (const r of refs) this.entries.delete(eventKey(r.service, r.eventId));
    return OK;
  }

  /** (19,4). */
  enable(refs: readonly EventRef[]): Checked {
    return this.set(refs, true);
  }

  /** (19,5). */
  disable(refs: readonly EventRef[]): Checked {
    return this.set(refs, false);
  }

  /** (19,6) → (19,7): every definition's status, by service then event id. */
  report(): EventActionStatus[] {
    return [...this.entries.values()].map((e) => ({ service: e.service, eventId: e.eventId, enabled: e.enabled })).sort(byServiceThenId);
  }

  /** The stored definition of one event (a copy), enabled or not. */
  definition(service: string, eventId: number): EventActionDefinition | undefined {
    const e = this.entries.get(eventKey(service, eventId));
    return e && { service: e.service, eventId: e.eventId, action: new Uint8Array(e.action) };
  }

  /** The TC packets to execute for an event that has just been raised (copies; empty when none or disabled). */
  onEvent(service: string, eventId: number): Uint8Array[] {
    const e = this.entries.get(eventKey(service, eventId));
    return e?.enabled ? [new Uint8Array(e.action)] : [];
  }

  private set(refs: readonly EventRef[], enabled: boolean): Checked {
    const bad = checkEach("events", refs, (r, field) => this.known(r, field));
    if (bad) return bad;
    for (const r of refs) this.entries.get(eventKey(r.service, r.eventId))!.enabled = enabled;
    return OK;
  }

  private known(r: EventRef, field: string): Refusal | undefined {
    return this.entries.has(eventKey(r.service, r.eventId)) ? undefined : fail(field, `no action for event ${String(r.service)}/${String(r.eventId)}`);
  }
}

// ---- codecs -----------------------------------------------------------------------

/** (19,1). Throws RangeError naming the field for what the layout cannot hold. */
export function encodeEventActions(defs: readonly EventActionDefinition[]): Uint8Array {
  const w = new Writer().u16("definitions.count", defs.length);
  defs.forEach((d, i) => {
    const f = `definitions[${i}].`;
    if (d.action.length === 0) throw new RangeError(`${f}action: empty`);
    w.name(`${f}service`, d.service, SERVICE_NAME).u16(`${f}eventId`, d.eventId).u16(`${f}action`, d.action.length).raw(d.action);
  });
  return w.bytes();
}

export function decodeEventActions(data: Uint8Array): Parsed<EventActionDefinition[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail("definitions.count", "missing");
  const out: EventActionDefinition[] = [];
  for (let i = 0; i < count; i++) {
    const f = `definitions[${i}].`;
    const service = readName(r, `${f}service`, SERVICE_NAME);
    if (!service.ok) return service;
    const eventId = r.u16();
    if (eventId === undefined) return fail(`${f}eventId`, "missing");
    const len = r.u16();
    if (len === undefined || len === 0) return fail(`${f}action`, "length missing or 0");
    const action = r.bytes(len);
    if (action === undefined) return fail(`${f}action`, `${len} bytes run past the end`);
    out.push({ service: service.value, eventId, action: new Uint8Array(action) });
  }
  if (r.left !== 0) return fail("definitions", `${r.left} bytes after the last definition`);
  return { ok: true, value: out };
}

/** (19,7). */
export function encodeEventActionStatus(items: readonly EventActionStatus[]): Uint8Array {
  const w = new Writer().u16("definitions.count", items.length);
  items.forEach((it, i) => w.name(`definitions[${i}].service`, it.service, SERVICE_NAME).u16(`definitions[${i}].eventId`, it.eventId).u8(`definitions[${i}].enabled`, it.enabled ? 1 : 0));
  return w.bytes();
}

export function decodeEventActionStatus(data: Uint8Array): Parsed<EventActionStatus[]> {
  const r = new Reader(data);
  const count = r.u16();
  if (count === undefined) return fail("definitions.count", "missing");
  const out: EventActionStatus[] = [];
  for (let i = 0; i < count; i++) {
    const f = `definitions[${i}].`;
    const service = readName(r, `${f}service`, SERVICE_NAME);
    if (!service.ok) return service;
    const eventId = r.u16();
    if (eventId === undefined) return fail(`${f}eventId`, "missing");
    const status = r.u8();
    if (status === undefined || status > 1) return fail(`${f}enabled`, "status must be 0 or 1");
    out.push({ service: service.value, eventId, enabled: status === 1 });
  }
  if (r.left !== 0) return fail("definitions", `${r.left} bytes after the last definition`);
  return { ok: true, value: out };
}
