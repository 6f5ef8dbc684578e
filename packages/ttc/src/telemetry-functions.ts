// The TTC's telemetry functions on the bus: ST[03] housekeeping from the
// services' TelemetryReports, ST[05] event reports from their Events, ST[12]
// monitoring of every sample, ST[19] event-actions. The tables are the pure
// logic in ./telemetry; this wires them to the bus, to TM and to the
// telecommands that manage them (all to the TTC's APID).
import type { MessageOf, umbra } from "@umbra/proto";
import { FailureCode, Failure } from "./failure.js";
import type { MissionDictionary } from "./dictionary.js";
import {
  EventActionTable,
  EventFilter,
  HousekeepingTable,
  MonitoringTable,
  decodeCreateStructure,
  decodeEventActions,
  decodeEventRefs,
  decodeIntervalChanges,
  decodeMonitoringDefinitions,
  decodePmonIds,
  decodeSids,
  encodeEventActionStatus,
  encodeEventRefs,
  encodeMonitoringDefinitionReport,
  encodeStructureDefinitions,
  transitionReport,
  eventReport,
  fromDeclaration,
  valueFromProto,
  type Checked,
  type TelemetryLookup,
} from "./telemetry/index.js";

type TelemetryReport = MessageOf<typeof umbra.core.v1.TelemetryReport>;
type EventMessage = MessageOf<typeof umbra.core.v1.Event>;

/** What the telemetry functions need from the TTC around them. */
export interface TelemetryHooks {
  dictionary: MissionDictionary;
  emitTm(service: number, subtype: number, data: Uint8Array): void;
  /** Runs a stored, already-authenticated TC (an event-action) like any command. */
  dispatchStored(packet: Uint8Array, link: string): void;
  /** Checks a TC packet to be stored as an event-action: authenticates it now. Returns why not, or undefined. */
  checkStoredPacket(packet: Uint8Array): string | undefined;
  nowNs(): bigint;
  monotonicMs(): number;
}

/**
 * An event-action fires at most once per this long (mission time). Events
 * come back over the bus after the action's command has been dispatched, so a
 * nesting count cannot see a loop; a minimum interval bounds one instead.
 */
export const EVENT_ACTION_MIN_INTERVAL_NS = 1_000_000_000n;

export class TelemetryFunctions {
  readonly housekeeping: HousekeepingTable;
  readonly events: EventFilter;
  readonly monitoring: MonitoringTable;
  readonly actions: EventActionTable;
  private nextPmonId = 0x8000; // ids from 0x8000 up are seeded from declarations
  private readonly seeded = new Set<string>();
  /** When each (service, event) last fired its actions. */
  private readonly lastFired = new Map<string, bigint>();
  /** Actions skipped because their event came again within the minimum interval. */
  suppressedActions = 0;

  constructor(private readonly hooks: TelemetryHooks) {
    const lookup: TelemetryLookup = {
      hasParameter: (service, name) => hooks.dictionary.serviceNamed(service)?.declaration.telemetry.some((t) => t.name === name) ?? false,
      hasEvent: (service, id) => hooks.dictionary.serviceNamed(service)?.declaration.events.some((e) => e.id === id) ?? false,
    };
    this.housekeeping = new HousekeepingTable({ lookup });
    this.events = new EventFilter({ lookup });
    this.monitoring = new MonitoringTable({ lookup });
    this.actions = new EventActionTable({ lookup, checkAction: (p) => hooks.checkStoredPacket(p) });
  }

  /** A service declared itself: monitor its declared limits from now on (enabled, as the declaration asks). */
  learned(declaration: MessageOf<typeof umbra.core.v1.ServiceDeclaration>): void {
    for (const t of declaration.telemetry) {
      const key = `${declaration.name}/${t.name}`;
      if (this.seeded.has(key)) continue;
      const def = fromDeclaration(declaration.name, t as never, this.nextPmonId);
      if (def === undefined || !def.ok) continue;
      if (this.monitoring.add([def.value], { enabled: true }).ok) {
        this.seeded.add(key);
        this.nextPmonId++;
      }
    }
  }

  onTelemetry(report: TelemetryReport): void {
    const transitions = [];
    for (const s of report.samples) {
      const value = valueFromProto(s.value);
      this.housekeeping.observe(report.service, s.name, value, report.missionTimeNs);
      transitions.push(...this.monitoring.observe(report.service, s.name, value, report.missionTimeNs));
    }
    if (transitions.length) this.hooks.emitTm(12, 12, transitionReport(transitions));
  }

  onEvent(event: EventMessage): void {
    if (this.events.isEnabled(event.service, event.id)) {
      const r = eventReport(event);
      if (r.ok) this.hooks.emitTm(5, r.value.subtype, r.value.data);
    }
    const packets = this.actions.onEvent(event.service, event.id);
    if (packets.length === 0) return;
    const key = `${event.service}/${event.id}`;
    const now = this.hooks.nowNs();
    const last = this.lastFired.get(key);
    // An action whose command raises its own event again would loop: one firing per interval at most.
    if (last !== undefined && now - last < EVENT_ACTION_MIN_INTERVAL_NS) {
      this.suppressedActions += packets.length;
      return;
    }
    this.lastFired.set(key, now);
    for (const packet of packets) this.hooks.dispatchStored(packet, `event-action:${key}`);
  }

  /** Sends the housekeeping reports that are due. */
  tick(): void {
    const nowNs = this.hooks.nowNs();
    for (const s of this.housekeeping.due(this.hooks.monotonicMs())) {
      const r = this.housekeeping.report(s.sid, nowNs);
      if (r.ok) this.hooks.emitTm(3, 25, r.value.data);
    }
  }

  /** The work of a telemetry-management TC to the TTC, or a Failure (acceptance fails). */
  route(service: number, subtype: number, data: Uint8Array, named: (command: string) => void): () => Promise<string> {
    const bad = (field: string, reason: string) => new Failure(FailureCode.FAILURE_BAD_ARGUMENT, `${field}: ${reason}`);
    const apply = (what: string, r: Checked) => {
      if (!r.ok) throw bad(r.field, r.reason);
      return what;
    };
    const parse = <T>(r: { ok: true; value: T } | { ok: false; field: string; reason: string }): T => {
      if (!r.ok) throw bad(r.field, r.reason);
      return r.value;
    };
    const now = () => this.hooks.monotonicMs();
    const key = `${service},${subtype}`;
    switch (key) {
      // ---- ST[03] housekeeping
      case "3,1": {
        const s = parse(decodeCreateStructure(data));
        named("hk-create");
        return async () => apply(`structure ${s.sid} created`, this.housekeeping.create(s, now()));
      }
      case "3,3": {
        const sids = parse(decodeSids(data));
        named("hk-delete");
        return async () => apply(`${sids.length} structure(s) deleted`, this.housekeeping.delete(sids));
      }
      case "3,5":
      case "3,6": {
        const sids = parse(decodeSids(data));
        named(subtype === 5 ? "hk-enable" : "hk-disable");
        return async () => apply(`${sids.length} structure(s) ${subtype === 5 ? "enabled" : "disabled"}`, subtype === 5 ? this.housekeeping.enable(sids, now()) : this.housekeeping.disable(sids));
      }
      case "3,9": {
        const sids = parse(decodeSids(data));
        named("hk-report-definitions");
        return async () => {
          this.hooks.emitTm(3, 10, encodeStructureDefinitions(parse(this.housekeeping.definitions(sids))));
          return "definitions reported";
        };
      }
      case "3,27": {
        const sids = parse(decodeSids(data));
        named("hk-one-shot");
        return async () => {
          const reports = parse(this.housekeeping.oneShot(sids, this.hooks.nowNs()));
          for (const r of reports) this.hooks.emitTm(3, 25, r.data);
          return `${reports.length} report(s) sent`;
        };
      }
      case "3,31": {
        const changes = parse(decodeIntervalChanges(data));
        named("hk-modify-interval");
        return async () => apply(`${changes.length} interval(s) changed`, this.housekeeping.modifyInterval(changes, now()));
      }
      // ---- ST[05] events
      case "5,5":
      case "5,6": {
        const refs = parse(decodeEventRefs(data));
        named(subtype === 5 ? "events-enable" : "events-disable");
        return async () => apply(`${refs.length} event(s) ${subtype === 5 ? "enabled" : "disabled"}`, subtype === 5 ? this.events.enable(refs) : this.events.disable(refs));
      }
      case "5,7":
        named("events-report-disabled");
        return async () => {
          this.hooks.emitTm(5, 8, encodeEventRefs(this.events.disabled()));
          return "disabled events reported";
        };
      // ---- ST[12] monitoring
      case "12,1":
      case "12,2": {
        const ids = parse(decodePmonIds(data));
        named(subtype === 1 ? "pmon-enable" : "pmon-disable");
        return async () => apply(`${ids.length} monitor(s) ${subtype === 1 ? "enabled" : "disabled"}`, subtype === 1 ? this.monitoring.enable(ids) : this.monitoring.disable(ids));
      }
      case "12,5":
      case "12,7": {
        const defs = parse(decodeMonitoringDefinitions(data));
        named(subtype === 5 ? "pmon-add" : "pmon-modify");
        return async () => apply(`${defs.length} monitor(s) ${subtype === 5 ? "added" : "modified"}`, subtype === 5 ? this.monitoring.add(defs) : this.monitoring.modify(defs));
      }
      case "12,6": {
        const ids = parse(decodePmonIds(data));
        named("pmon-delete");
        return async () => apply(`${ids.length} monitor(s) deleted`, this.monitoring.delete(ids));
      }
      case "12,8": {
        const ids = parse(decodePmonIds(data));
        named("pmon-report-definitions");
        return async () => {
          this.hooks.emitTm(12, 9, encodeMonitoringDefinitionReport(parse(this.monitoring.definitions(ids))));
          return "monitor definitions reported";
        };
      }
      // ---- ST[19] event-action
      case "19,1": {
        const defs = parse(decodeEventActions(data));
        named("event-action-add");
        return async () => apply(`${defs.length} event-action(s) added`, this.actions.add(defs));
      }
      case "19,2":
      case "19,4":
      case "19,5": {
        const refs = parse(decodeEventRefs(data));
        named(subtype === 2 ? "event-action-delete" : subtype === 4 ? "event-action-enable" : "event-action-disable");
        return async () =>
          apply(
            `${refs.length} event-action(s) ${subtype === 2 ? "deleted" : subtype === 4 ? "enabled" : "disabled"}`,
            subtype === 2 ? this.actions.delete(refs) : subtype === 4 ? this.actions.enable(refs) : this.actions.disable(refs),
          );
      }
      case "19,6":
        named("event-action-report");
        return async () => {
          this.hooks.emitTm(19, 7, encodeEventActionStatus(this.actions.report()));
          return "event-actions reported";
        };
      default:
        throw new Failure(FailureCode.FAILURE_UNKNOWN_SERVICE, `service ${service} subtype ${subtype} is not supported`);
    }
  }
}
