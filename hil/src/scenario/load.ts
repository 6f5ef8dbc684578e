// Reads a scenario file (YAML) and validates it. Errors name the file, the
// field and what was expected; nothing half-parsed ever reaches a run.
import { readFile, stat } from "node:fs/promises";
import { parseDocument } from "yaml";
import { scenarioSchema, type Scenario } from "./schema.js";
import { createPropagator } from "../orbit/index.js";
import { orbitSpecOf } from "../engine/environment.js";

/** Scenario files larger than this are refused before parsing. */
export const MAX_SCENARIO_BYTES = 1024 * 1024;

export interface ScenarioProblem {
  /** Dotted path of the field, e.g. "orbit.altitudeKm" or "faults[2].at"; "" for the whole file. */
  field: string;
  message: string;
}

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ScenarioProblem[],
  ) {
    super(problems.map((p) => `${file}: ${p.field ? `${p.field}: ` : ""}${p.message}`).join("\n"));
    this.name = "ScenarioError";
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out;
}

/** Validates an already-parsed scenario object; `file` names it in errors. */
export function parseScenario(value: unknown, file = "<scenario>"): Scenario {
  const result = scenarioSchema.safeParse(value);
  if (result.success) {
    // Field by field the orbit can look right and still not fly: a TLE whose
    // checksum or numbers are wrong, an altitude with no sun-synchronous inclination.
    try {
      createPropagator(orbitSpecOf(result.data));
    } catch (err) {
      throw new ScenarioError(file, [{ field: "orbit", message: (err as Error).message }]);
    }
    return result.data;
  }
  const problems = result.error.issues.slice(0, 20).map((issue) => ({
    field: fieldPath(issue.path),
    message: issue.code === "unrecognized_keys" ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}` : issue.message,
  }));
  throw new ScenarioError(file, problems);
}

/** Parses YAML text into a validated scenario. */
export function parseScenarioText(text: string, file = "<scenario>"): Scenario {
  if (Buffer.byteLength(text) > MAX_SCENARIO_BYTES) throw new ScenarioError(file, [{ field: "", message: `larger than ${MAX_SCENARIO_BYTES} bytes` }]);
  // Aliases are limited so a "billion laughs" file cannot blow up memory.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      // The first line of yaml's message already says where ("at line 2, column 1").
      doc.errors.slice(0, 5).map((e) => ({ field: "", message: `YAML: ${e.message.split("\n")[0]!.replace(/:$/, "")}` })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ScenarioError(file, [{ field: "", message: `YAML: ${(err as Error).message}` }]);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ScenarioError(file, [{ field: "", message: "expected a mapping of scenario fields at the top level" }]);
  }
  return parseScenario(value, file);
}

/** Reads and validates a scenario file. */
export async function loadScenario(path: string): Promise<Scenario> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ScenarioError(path, [{ field: "", message: "not a regular file" }]);
    size = info.size;
  } catch (err) {
    if (err instanceof ScenarioError) throw err;
    throw new ScenarioError(path, [{ field: "", message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  if (size > MAX_SCENARIO_BYTES) throw new ScenarioError(path, [{ field: "", message: `larger than ${MAX_SCENARIO_BYTES} bytes` }]);
  const text = await readFile(path, "utf8");
  return parseScenarioText(text, path);
}
