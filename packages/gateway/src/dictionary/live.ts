// The dictionary as the gateway keeps it: the ServiceDeclaration messages
// that arrive on the bus, in a MissionDictionary from @umbra/ttc (so the APID
// rules are the TTC's: the first service to claim an APID keeps it). It asks
// for every declaration at start and again for a service it hears a
// heartbeat from but has no declaration of (one that started before the
// gateway, or whose declaration was lost).
import { Priority, type Bus, type Clock, type Logger, type Subscription } from "@umbra/core";
import { umbra } from "@umbra/proto";
import { MissionDictionary, type CommandEntry, type ServiceEntry } from "@umbra/ttc";
import type { ProtoTypes } from "./proto-types.js";
import { serviceJson, type Declaration, type ServiceJson } from "./view.js";

/** At most one DescribeRequest per unknown service this often. */
const ASK_AGAIN_MS = 10_000;

export type CommandLookup =
  | { ok: true; service: ServiceEntry; command: CommandEntry }
  | { ok: false; message: string };

export class LiveDictionary {
  private readonly dictionary = new MissionDictionary();
  private readonly subscriptions: Subscription[] = [];
  private readonly asked = new Map<string, number>();
  private view: ServiceJson[] | undefined;
  private readonly listeners: ((d: Declaration) => void)[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    readonly types: ProtoTypes,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.subscriptions.push(
      this.bus.subscribe(umbra.core.v1.ServiceDeclaration, (d) => this.learn(d)),
      this.bus.subscribe(umbra.core.v1.Heartbeat, (h) => {
        if (this.dictionary.serviceNamed(h.service)) return;
        const now = this.clock.monotonicMs();
        const last = this.asked.get(h.service);
        if (last !== undefined && now - last < ASK_AGAIN_MS) return;
        if (this.asked.size > 10_000) this.asked.clear();
        this.asked.set(h.service, now);
        this.describe(h.service);
      }),
    );
    this.describe("");
  }

  stop(): void {
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
  }

  onDeclaration(listener: (d: Declaration) => void): void {
    this.listeners.push(listener);
  }

  private describe(service: string): void {
    if (this.bus.isClosed) return;
    this.bus.publish(umbra.core.v1.DescribeRequest, { service }, { priority: Priority.PRIORITY_COMMAND });
  }

  learn(d: Declaration): void {
    const r = this.dictionary.update(d);
    if (!r.ok) {
      this.log.warn({ service: d.name, apid: d.apid, reason: r.reason }, "declaration refused");
      return;
    }
    this.view = undefined;
    for (const l of this.listeners) l(d);
  }

  services(): ServiceEntry[] {
    return this.dictionary.services();
  }

  serviceNamed(name: string): ServiceEntry | undefined {
    return this.dictionary.serviceNamed(name);
  }

  get size(): number {
    return this.dictionary.services().length;
  }

  declarations(): Declaration[] {
    return this.dictionary.services().map((s) => s.declaration);
  }

  /** The REST view, rebuilt only when a declaration changed. */
  json(): ServiceJson[] {
    this.view ??= this.dictionary.services().map((s) => serviceJson(this.types, s.declaration));
    return this.view;
  }

  command(service: string, command: string): CommandLookup {
    const s = this.dictionary.serviceNamed(service);
    if (!s) {
      const known = this.dictionary.services().map((x) => x.name);
      return { ok: false, message: `service: no service ${JSON.stringify(service.slice(0, 64))} in the dictionary${known.length ? ` (known: ${known.join(", ")})` : ""}` };
    }
    const c = s.commands.get(command);
    if (!c) return { ok: false, message: `command: ${s.name} has no command ${JSON.stringify(command.slice(0, 64))} (it has ${[...s.commands.keys()].join(", ") || "none"})` };
    return { ok: true, service: s, command: c };
  }
}
