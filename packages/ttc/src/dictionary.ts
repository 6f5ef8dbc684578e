// The mission dictionary as the TTC needs it: which service owns an APID and
// what commands it declared, with their argument types and rules. Built from
// the ServiceDeclaration messages services publish (DESIGN.md "Service
// contract": nothing about a command is written twice).
import type { ArgumentRuleSpec } from "@umbra/core";
import type { MessageOf, umbra } from "@umbra/proto";

type Declaration = MessageOf<typeof umbra.core.v1.ServiceDeclaration>;

export interface CommandEntry {
  service: string;
  name: string;
  argumentType: string;
  critical: boolean;
  rules: [string, ArgumentRuleSpec][];
}

export interface ServiceEntry {
  name: string;
  apid: number;
  commands: Map<string, CommandEntry>;
  declaration: Declaration;
}

export class MissionDictionary {
  private readonly byApid = new Map<number, ServiceEntry>();
  private readonly byName = new Map<string, ServiceEntry>();

  /**
   * Adds or replaces a service's entry. A second service claiming an APID
   * that another already holds is refused (the first keeps it) and reported.
   */
  update(d: Declaration): { ok: true } | { ok: false; reason: string } {
    const holder = this.byApid.get(d.apid);
    if (holder && holder.name !== d.name) return { ok: false, reason: `APID ${d.apid} is already held by ${holder.name}` };
    const previous = this.byName.get(d.name);
    if (previous && previous.apid !== d.apid) this.byApid.delete(previous.apid);
    const commands = new Map<string, CommandEntry>();
    for (const c of d.commands) {
      commands.set(c.name, {
        service: d.name,
        name: c.name,
        argumentType: c.argumentType,
        critical: c.critical,
        rules: c.arguments.map((r) => [
          r.field,
          {
            ...(r.hasMin ? { min: r.min } : {}),
            ...(r.hasMax ? { max: r.max } : {}),
            ...(r.allowed.length ? { allowed: r.allowed } : {}),
            ...(r.nonZero ? { nonZero: true } : {}),
          },
        ]),
      });
    }
    const entry = { name: d.name, apid: d.apid, commands, declaration: d };
    this.byApid.set(d.apid, entry);
    this.byName.set(d.name, entry);
    return { ok: true };
  }

  service(apid: number): ServiceEntry | undefined {
    return this.byApid.get(apid);
  }

  serviceNamed(name: string): ServiceEntry | undefined {
    return this.byName.get(name);
  }

  services(): ServiceEntry[] {
    return [...this.byApid.values()].sort((a, b) => a.apid - b.apid);
  }
}
