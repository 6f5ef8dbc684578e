// Reads the payload configuration (YAML) and validates it. An error names the
// file (or the command line, for an overridden field), the field and what was
// expected; nothing half-checked ever reaches the supervisor.
import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { z } from "zod";
import { buildPayloadConfig, type FieldProblem } from "./build.js";
import { mergeConfigOverrides, overriddenFields, spreadDefaultsOverride, toConfigFile } from "./overrides.js";
import { knownFieldsAt, payloadFileSchema, show } from "./schema.js";
import { suggest } from "./suggest.js";
import { SERVICE_NAMES, type PayloadConfig, type PayloadConfigOverrides, type ServiceName } from "./types.js";

/** Files larger than this are refused before they are read. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** YAML aliases a file may use, so an alias bomb ("billion laughs") cannot blow up memory. */
export const MAX_ALIAS_COUNT = 100;
/** At most this many problems are reported at once. */
const MAX_PROBLEMS = 20;

export interface ConfigProblem {
  /** Where the bad value came from: the file as it was named, or the overrides' source ("command line"). */
  source: string;
  /** Dotted path of the field, e.g. "services.jobs.restart.maxFailures" or "safeMode.keep[2]"; "" for the whole file. */
  field: string;
  message: string;
  /** 1-based, where the file says where. */
  line?: number;
  column?: number;
}

/** A configuration that cannot be used. `message` has one line per problem: "file: field: what is wrong". */
export class ConfigError extends Error {
  constructor(
    /** The file as it was named (or "<defaults>", ...). */
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => `${p.source}: ${p.field ? `${p.field}: ` : ""}${p.message}`).join("\n"));
    this.name = "ConfigError";
  }

  /** The first problem's field ("" for the whole file). */
  get field(): string {
    return this.problems[0]?.field ?? "";
  }
}

export interface ParseOptions {
  /** Relative paths (in the file and in overrides) are resolved against this; default process.cwd(). */
  cwd?: string;
  /** Values that replace the file's, e.g. from command-line flags. Validated with the file. */
  overrides?: PayloadConfigOverrides;
  /** Names the overrides in errors; default "command line". */
  overridesSource?: string;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out;
}

function fileProblem(source: string, message: string, at?: { line: number; col: number }): ConfigError {
  return new ConfigError(source, [{ source, field: "", message, ...(at ? { line: at.line, column: at.col } : {}) }]);
}

/** Where in the YAML a field is, or undefined if it is not there. */
type Locator = (path: readonly (string | number)[]) => { line: number; col: number } | undefined;

function problemsOf(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.map((k) => (typeof k === "number" ? k : String(k)));
    if (issue.code === "unrecognized_keys") {
      const known = knownFieldsAt(path) ?? [];
      const isServices = path.length === 1 && path[0] === "services";
      for (const key of issue.keys) {
        const close = suggest(key, known);
        const what = isServices ? "unknown service" : "unknown field";
        const hint = close ? ` (did you mean ${close}?)` : known.length ? `; known ${isServices ? "services" : "fields"}: ${known.join(", ")}` : "";
        out.push({ path: [...path, key], message: `${what}${hint}` });
      }
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/**
 * Validates a configuration already in the file's layout (parsed YAML, or an
 * object built in code); `source` names it in errors.
 */
export function validatePayloadConfig(value: unknown, source: string, options: ParseOptions = {}): PayloadConfig {
  return validate(value, source, options, () => undefined);
}

function validate(value: unknown, source: string, options: ParseOptions, locate: Locator): PayloadConfig {
  const cwd = resolve(options.cwd ?? process.cwd());
  const merged = value === null || value === undefined ? {} : value;
  const input = mergeConfigOverrides(merged, options.overrides);
  const overridden = overriddenFields(options.overrides);
  const overridesSource = options.overridesSource ?? "command line";

  const toConfigProblem = (p: FieldProblem): ConfigProblem => {
    const field = fieldPath(p.path);
    if (overridden.some((o) => field === o || field.startsWith(`${o}.`) || field.startsWith(`${o}[`))) {
      return { source: overridesSource, field, message: p.message };
    }
    const at = locate(p.path);
    return { source, field, message: p.message, ...(at ? { line: at.line, column: at.col } : {}) };
  };

  const parsed = payloadFileSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(source, problemsOf(parsed.error.issues).slice(0, MAX_PROBLEMS).map(toConfigProblem));
  const built = buildPayloadConfig(parsed.data, source, cwd);
  if (!built.ok) throw new ConfigError(source, built.problems.slice(0, MAX_PROBLEMS).map(toConfigProblem));
  return built.config;
}

function locator(doc: Document, lines: LineCounter): Locator {
  return (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = [...node.items].reverse().find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) return undefined;
        offset = (pair.key as Node).range?.[0];
        node = pair.value;
      } else if (isSeq(node) && typeof key === "number") {
        const item = node.items[key];
        if (!item) return undefined;
        offset = (item as Node).range?.[0];
        node = item;
      } else return undefined;
    }
    return offset === undefined ? undefined : lines.linePos(offset);
  };
}

/** Keys given twice in one mapping, with the path to each and where both are. */
function duplicateKeys(doc: Document, lines: LineCounter): { path: (string | number)[]; message: string; at: { line: number; col: number } }[] {
  const out: { path: (string | number)[]; message: string; at: { line: number; col: number } }[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        const offset = (pair.key as Node | null)?.range?.[0] ?? 0;
        if (key !== undefined) {
          const first = seen.get(key);
          if (first !== undefined) {
            const a = lines.linePos(first);
            const b = lines.linePos(offset);
            out.push({ path: [...path, key], message: `given twice (line ${a.line}, column ${a.col} and line ${b.line}, column ${b.col}); keep one`, at: b });
          } else seen.set(key, offset);
        }
        walk(pair.value, key === undefined ? path : [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return out;
}

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

function lineColOf(text: string, index: number): { line: number; col: number } {
  const before = text.slice(0, index);
  const line = before.split("\n").length;
  return { line, col: index - before.lastIndexOf("\n") };
}

/**
 * Parses YAML text into a validated configuration. Pure: reads no file.
 * `source` names the text in errors; if it is a file name it becomes the
 * configuration's `source`, made absolute against `options.cwd`.
 */
export function parsePayloadConfig(text: string, source: string, options: ParseOptions = {}): PayloadConfig {
  if (typeof text !== "string") throw fileProblem(source, `expected YAML text, got ${show(text)}`);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) throw fileProblem(source, `file is ${bytes} bytes, more than the ${MAX_CONFIG_BYTES / 1024} KiB a configuration may be`);
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const control = CONTROL.exec(text);
  if (control) {
    const at = lineColOf(text, control.index);
    const code = control[0].charCodeAt(0).toString(16).padStart(2, "0");
    throw fileProblem(source, `not a text file: control character 0x${code} at line ${at.line}, column ${at.col}`, at);
  }

  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, strict: true, lineCounter: lines });
  const syntax = doc.errors.filter((e) => e.code !== "DUPLICATE_KEY");
  if (syntax.length > 0) {
    throw new ConfigError(
      source,
      syntax.slice(0, 5).map((e) => {
        const at = e.linePos?.[0];
        // The first line of yaml's message already says where ("at line 2, column 1").
        const message = `YAML syntax: ${e.message.split("\n")[0]!.replace(/:$/, "")}`;
        return { source, field: "", message, ...(at ? { line: at.line, column: at.col } : {}) };
      }),
    );
  }
  const duplicates = duplicateKeys(doc, lines);
  if (duplicates.length > 0) {
    throw new ConfigError(
      source,
      duplicates.slice(0, MAX_PROBLEMS).map((d) => ({ source, field: fieldPath(d.path), message: d.message, line: d.at.line, column: d.at.col })),
    );
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = (err as Error).message;
    throw fileProblem(
      source,
      /alias/i.test(message) ? `YAML: too many aliases (more than ${MAX_ALIAS_COUNT} expansions); a configuration has no need of them` : `YAML: ${message}`,
    );
  }
  if (value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))) {
    throw fileProblem(source, `expected a mapping of configuration sections (platform, paths, services, ...) at the top level, got ${show(value)}`);
  }
  return validate(value, source, options, locator(doc, lines));
}

/**
 * Reads and validates the configuration file. `file` is resolved against
 * `options.cwd`, and named in errors as it was given.
 */
export async function loadPayloadConfig(file: string, options: ParseOptions = {}): Promise<PayloadConfig> {
  const path = resolve(options.cwd ?? process.cwd(), file);
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw fileProblem(file, "not a regular file");
    if (info.size > MAX_CONFIG_BYTES) throw fileProblem(file, `file is ${info.size} bytes, more than the ${MAX_CONFIG_BYTES / 1024} KiB a configuration may be`);
    // Read at most one byte past the limit: a file that grew since stat is caught too.
    const handle = await open(path, "r");
    try {
      const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      bytes = buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw fileProblem(file, code === "ENOENT" ? "no such file" : `cannot read: ${code ?? (err as Error).message}`);
  }
  if (bytes.length > MAX_CONFIG_BYTES) throw fileProblem(file, `file is larger than the ${MAX_CONFIG_BYTES / 1024} KiB a configuration may be`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder("utf-8").decode(bytes);
    const at = lineColOf(loose, Math.max(0, loose.indexOf("\uFFFD")));
    throw fileProblem(file, `not UTF-8 text: invalid byte sequence at line ${at.line}, column ${at.col}`, at);
  }
  return parsePayloadConfig(text, file, options);
}

/** The configuration with nothing but defaults (no file), paths resolved against `options.cwd`. */
export function defaultPayloadConfig(options: Omit<ParseOptions, "overrides" | "overridesSource"> = {}): PayloadConfig {
  return validatePayloadConfig({}, "<defaults>", options);
}

/**
 * A loaded configuration with overrides applied and validated again, e.g. a
 * flag given after the file was read. A `defaults` override reaches every
 * service, under what the override gives a service itself.
 */
export function applyOverrides(config: PayloadConfig, overrides: PayloadConfigOverrides, options: ParseOptions = {}): PayloadConfig {
  const result = validatePayloadConfig(toConfigFile(config), config.source, { ...options, overrides: spreadDefaultsOverride(overrides) });
  return { ...result, source: config.source };
}

/**
 * The APID each enabled service will have: its configured one, else the one
 * it declares (`declared`, from the services' declarations, which this
 * package does not import). Two enabled services on one APID are an error
 * naming the field to change.
 */
export function effectiveApids(config: PayloadConfig, declared: Partial<Record<ServiceName, number>>): Partial<Record<ServiceName, number>> {
  const out: Partial<Record<ServiceName, number>> = {};
  const owner = new Map<number, ServiceName>();
  const problems: ConfigProblem[] = [];
  for (const name of SERVICE_NAMES) {
    const s = config.services[name];
    const apid = s.apid ?? declared[name];
    if (!s.enabled || apid === undefined) continue;
    const other = owner.get(apid);
    if (other !== undefined) {
      const hex = `0x${apid.toString(16).padStart(3, "0")}`;
      problems.push({
        source: config.source,
        field: `services.${name}.apid`,
        message: `APID ${apid} (${hex}) is also ${other}'s; give ${s.apid === undefined ? name : "it"} an APID of its own`,
      });
      continue;
    }
    owner.set(apid, name);
    out[name] = apid;
  }
  if (problems.length > 0) throw new ConfigError(config.source, problems);
  return out;
}
