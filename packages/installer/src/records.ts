// What the installer remembers about each release: when it was installed,
// whether it was ever proven healthy, and whether it failed. "Proven" is what
// lets the automatic rollback (umbra-rollback.service) tell a new release
// that never worked, which it may roll back, from one that worked and then
// hit trouble, which it leaves to the operator. Kept as one small JSON file,
// written atomically; a file that cannot be read is treated as empty (the
// installer then knows less, and says so, but never guesses "proven").
import { readFile } from "node:fs/promises";
import { paths, writeFileAtomic, type Layout } from "./layout.js";

export interface ReleaseRecord {
  installedAt?: string;
  provenAt?: string;
  failedAt?: string;
  failure?: string;
}

export type Records = Record<string, ReleaseRecord>;

const MAX_RECORDS_BYTES = 1024 * 1024;

export async function readRecords(l: Layout): Promise<Records> {
  let text: string;
  try {
    text = await readFile(paths(l).records, "utf8");
  } catch {
    return {};
  }
  if (text.length > MAX_RECORDS_BYTES) return {};
  try {
    const raw = JSON.parse(text) as unknown;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return {};
    const releases = (raw as { releases?: unknown }).releases;
    if (typeof releases !== "object" || releases === null || Array.isArray(releases)) return {};
    const out: [string, ReleaseRecord][] = [];
    for (const [name, r] of Object.entries(releases)) {
      if (typeof r !== "object" || r === null) continue;
      const rec: ReleaseRecord = {};
      for (const k of ["installedAt", "provenAt", "failedAt", "failure"] as const) {
        const v = (r as Record<string, unknown>)[k];
        if (typeof v === "string") rec[k] = v;
      }
      out.push([name, rec]);
    }
    return Object.fromEntries(out);
  } catch {
    return {};
  }
}

export async function writeRecords(l: Layout, records: Records): Promise<void> {
  await writeFileAtomic(paths(l).records, JSON.stringify({ format: 1, releases: records }, null, 2) + "\n");
}

/** Reads, changes one release's record, writes back. Call under the installer's lock. */
export async function updateRecord(l: Layout, name: string, change: (r: ReleaseRecord) => ReleaseRecord | undefined): Promise<void> {
  const records = await readRecords(l);
  const next = change({ ...records[name] });
  if (next === undefined) delete records[name];
  else records[name] = next;
  await writeRecords(l, records);
}
