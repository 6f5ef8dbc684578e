// The TTC's write-behind feed into the archive: rows wait for a flush, a
// refused row costs only itself, and a full buffer writes at once.
import { afterEach, describe, expect, it } from "vitest";
import { ArchiveFeed, ARCHIVE_FEED_MAX_PENDING } from "../src/archive-feed.js";
import { openArchive, type Archive } from "../src/archive/index.js";
import { join } from "node:path";
import { tempDir } from "./support/temp.js";

const dir = tempDir("umbra-ttc-feed-");
const open: Archive[] = [];
afterEach(() => {
  for (const a of open.splice(0)) a.close();
});

function archive(): Archive {
  const a = openArchive(join(dir(), "archive.db"));
  open.push(a);
  return a;
}

const sample = (i: number) => ({ service: "svc", name: "x", tNs: BigInt(1_000 + i), value: i });

describe("ArchiveFeed", () => {
  it("holds rows until flushed, then writes every class", () => {
    const a = archive();
    const refused: unknown[] = [];
    const feed = new ArchiveFeed(a, (e) => refused.push(e));
    feed.addSamples([sample(1), sample(2)]);
    feed.addEvent({ tNs: 1_500n, service: "svc", id: 1, name: "e", severity: "low", message: "m" });
    feed.addVerification({ tNs: 1_600n, commandId: 7, apid: 16, sequenceCount: 3, stage: "completion", success: true, code: null, detail: "" });
    expect(feed.pending).toBe(4);
    expect(a.samples("svc", "x", 0n, 10_000n).length).toBe(0);
    feed.flush();
    expect(feed.pending).toBe(0);
    expect(a.samples("svc", "x", 0n, 10_000n).values).toEqual([1, 2]);
    expect(a.events({ fromNs: 0n, toNs: 10_000n })).toHaveLength(1);
    expect(a.verifications({ fromNs: 0n, toNs: 10_000n })).toHaveLength(1);
    expect(refused).toEqual([]);
  });

  it("a refused row costs only itself; the rest of its batch is written", () => {
    const a = archive();
    const refused: unknown[] = [];
    const feed = new ArchiveFeed(a, (e) => refused.push(e));
    feed.addEvent({ tNs: 1n, service: "svc", id: 1, name: "good", severity: "low", message: "" });
    feed.addEvent({ tNs: 2n, service: "svc", id: 2, name: "bad", severity: "catastrophic" as never, message: "" });
    feed.addEvent({ tNs: 3n, service: "svc", id: 3, name: "also good", severity: "high", message: "" });
    feed.flush();
    expect(a.events({ fromNs: 0n, toNs: 10n }).map((e) => e.name)).toEqual(["good", "also good"]);
    expect(refused).toHaveLength(1);
    expect(String(refused[0])).toMatch(/severity/);
  });

  it("writes at once when too many rows wait", () => {
    const a = archive();
    const feed = new ArchiveFeed(a, () => undefined);
    feed.addSamples(Array.from({ length: ARCHIVE_FEED_MAX_PENDING }, (_, i) => sample(i)));
    expect(feed.pending).toBe(0);
    expect(a.samples("svc", "x", 0n, 10n ** 9n).length).toBe(ARCHIVE_FEED_MAX_PENDING);
  });
});
