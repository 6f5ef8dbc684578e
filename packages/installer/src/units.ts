// systemd unit files: the bundle carries them written for the default layout
// (/opt/umbra, /etc/umbra, /var/lib/umbra); the installer rewrites those
// paths for another --prefix/--etc/--state and writes them to the unit
// folder. A small parser reads them back, for the process service manager
// (which runs umbra.service's ExecStart itself) and for the tests.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_LAYOUT, InstallError, type Layout } from "./layout.js";

export const MAIN_UNIT = "umbra.service";

export type UnitFile = Map<string, [string, string][]>;

/** Parses a unit file: sections of Key=Value lines (comments and continuations as systemd reads them). */
export function parseUnit(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: [string, string][] | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = unit.get(head[1]!) ?? [];
      unit.set(head[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || !section) throw new Error(`line ${i + 1}: expected [Section] or Key=Value, got ${JSON.stringify(line)}`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Every value of a key in a section (systemd keys may repeat). */
export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  const all = unitValues(unit, section, key);
  return all[all.length - 1];
}

const pathRe = (p: string) => new RegExp(`${p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(?=[/\\s'"]|$)`, "gm");

/** Rewrites the default layout's paths in a unit file or the default configuration for this layout. */
export function relocate(text: string, l: Layout): string {
  return text
    .replace(pathRe(DEFAULT_LAYOUT.prefix), l.prefix)
    .replace(pathRe(DEFAULT_LAYOUT.etc), l.etc)
    .replace(pathRe(DEFAULT_LAYOUT.state), l.state);
}

/** The release's unit files, relocated for this layout: file name -> text. */
export async function releaseUnits(releaseDir: string, l: Layout): Promise<Map<string, string>> {
  const dir = join(releaseDir, "systemd");
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^[A-Za-z0-9@._-]+\.(service|timer|target|path)$/.test(n)).sort();
  } catch {
    return new Map();
  }
  const out = new Map<string, string>();
  for (const n of names) out.set(n, relocate(await readFile(join(dir, n), "utf8"), l));
  return out;
}

/**
 * The command line of a unit's ExecStart, split into words. Only what our own
 * units use: no quoting, no $-expansion (refused rather than misread).
 */
export function execStartArgv(unit: UnitFile): string[] {
  const exec = unitValue(unit, "Service", "ExecStart");
  if (!exec) throw new InstallError("the unit has no ExecStart");
  const cmd = exec.replace(/^[-@:+!]+/, "");
  if (/["'$\\;]/.test(cmd)) throw new InstallError(`ExecStart ${JSON.stringify(exec)}: quoting, variables and ';' are not supported by the process service manager`);
  return cmd.split(/\s+/).filter(Boolean);
}

/** Environment= assignments of a unit (simple KEY=VALUE words only). */
export function unitEnvironment(unit: UnitFile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of unitValues(unit, "Service", "Environment")) {
    for (const word of v.split(/\s+/)) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word);
      if (m) env[m[1]!] = m[2]!;
    }
  }
  return env;
}
