// "service.command" and "service.parameter" names on the command line, looked
// up in the dictionary with suggestions when they are not there (pure).
import { UsageError } from "./errors.js";
import type { CommandJson, DictionaryJson, ServiceJson } from "./client/types.js";

export function splitTarget(text: string, what: "command" | "telemetry parameter"): { service: string; name: string } {
  const dot = text.indexOf(".");
  if (dot <= 0 || dot === text.length - 1) {
    throw new UsageError(`${JSON.stringify(text)}: name the ${what} as <service>.<name>, e.g. ${what === "command" ? "counter.add" : "counter.count"}`);
  }
  return { service: text.slice(0, dot), name: text.slice(dot + 1) };
}

export function findService(dict: DictionaryJson, name: string): ServiceJson {
  const s = dict.services.find((x) => x.name === name);
  if (!s) {
    const known = dict.services.map((x) => x.name).sort();
    throw new UsageError(`no service ${JSON.stringify(name)} in the dictionary (${known.length ? `known: ${known.join(", ")}` : "no service has declared itself yet"}); see umbra dict`);
  }
  return s;
}

export function findCommand(dict: DictionaryJson, target: string): { service: ServiceJson; command: CommandJson } {
  const { service: serviceName, name } = splitTarget(target, "command");
  const service = findService(dict, serviceName);
  const command = service.commands.find((c) => c.name === name);
  if (!command) {
    const known = service.commands.map((c) => `${service.name}.${c.name}`);
    throw new UsageError(`${service.name} has no command ${JSON.stringify(name)} (${known.length ? `its commands: ${known.join(", ")}` : "it has no commands"}); see umbra dict ${service.name}`);
  }
  return { service, command };
}
