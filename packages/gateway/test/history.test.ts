// The gateway's command history group commit: the commands and stage updates
// of one event-loop turn go to disk in one transaction, a command's promise
// resolves only once its row is committed, and a failed commit rejects every
// command of that turn and leaves nothing half written.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { openGatewayDatabase, type GatewayDatabase } from "../src/db.js";
import { HistoryStore, type NewCommand } from "../src/history.js";

const open: GatewayDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function store() {
  const path = join(mkdtempSync(join(tmpdir(), "umbra-gw-history-")), "gateway.db");
  const db = openGatewayDatabase(path);
  open.push(db);
  const rows = () => db.prepare("SELECT count(*) FROM command").pluck().get() as number;
  return { db, path, history: new HistoryStore(db), rows };
}

const command = (i: number): NewCommand => ({
  kind: "execute",
  user: "olga",
  service: "counter",
  command: "add",
  args: { amount: i },
  apid: 0x7f0,
  sequenceCount: i % 16_384,
  sourceId: 0x21,
  spi: 1,
  securitySequence: i + 1,
});

describe("HistoryStore group commit", () => {
  it("commands given in one turn are written in one transaction; each resolves with its own id, in order, only once on disk", async () => {
    const { history, rows, path } = store();
    const promises = Array.from({ length: 25 }, (_, i) => history.insert(command(i)));
    expect(rows()).toBe(0); // nothing is on disk before the turn's commit
    const records = await Promise.all(promises);
    expect(history.commits).toEqual({ transactions: 1, commands: 25 });
    expect(records.map((r) => r.id)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(records.map((r) => r.securitySequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(records.every((r) => r.state === "sent" && r.stages.length === 0)).toBe(true);
    // Another connection sees them: committed, not just in this one's transaction.
    const other = openGatewayDatabase(path);
    open.push(other);
    expect(other.prepare("SELECT count(*) FROM command").pluck().get()).toBe(25);
  });

  it("stage updates ride with the next commit of new commands, or go alone within stageFlushMs; reads see them at once", async () => {
    const { history, db, path } = store();
    const other = openGatewayDatabase(path);
    open.push(other);
    const onDisk = (id: number) => other.prepare("SELECT state FROM command WHERE id = ?").pluck().get(id);
    const a = await history.insert(command(1));
    const stage = { stage: "acceptance" as const, success: true, code: "FAILURE_NONE", detail: "", missionTimeNs: "1", at: "2026-11-21T00:00:00.000Z" };
    history.update(a.id, "accepted", [stage]);
    const b = history.insert(command(2));
    expect((await b).id).toBe(a.id + 1);
    expect(onDisk(a.id)).toBe("accepted"); // carried by b's commit
    expect(history.commits.transactions).toBe(2);

    history.update(a.id, "started", [stage]);
    await new Promise((r) => setImmediate(r));
    expect(onDisk(a.id)).toBe("accepted"); // alone, it waits
    expect(history.get(a.id)!.state).toBe("started"); // a read flushes first
    expect(onDisk(a.id)).toBe("started");

    const quick = new HistoryStore(db, () => new Date(), 5);
    quick.update(a.id, "completed", [stage]);
    await new Promise((r) => setTimeout(r, 60));
    expect(onDisk(a.id)).toBe("completed"); // within stageFlushMs, with no read and no new command
  });

  it("a stage update writes the stages as they were when given; of several before a commit, the last is written", async () => {
    const { history, path } = store();
    const other = openGatewayDatabase(path);
    open.push(other);
    const onDisk = (id: number) => other.prepare<[number], { state: string; stages_json: string }>("SELECT state, stages_json FROM command WHERE id = ?").get(id)!;
    const a = await history.insert(command(1));
    const at = (stage: "acceptance" | "start" | "completion") => ({ stage, success: true, code: "FAILURE_NONE", detail: stage, missionTimeNs: "1", at: "2026-11-21T00:00:00.000Z" });
    const stages = [at("acceptance")];
    history.update(a.id, "accepted", stages);
    stages.push(at("start")); // the caller's list grows after the update: not what was recorded
    history.flush();
    expect(onDisk(a.id).state).toBe("accepted");
    expect(JSON.parse(onDisk(a.id).stages_json)).toEqual([at("acceptance")]);

    history.update(a.id, "started", stages);
    stages.push(at("completion"));
    history.update(a.id, "completed", stages);
    history.flush();
    expect(onDisk(a.id).state).toBe("completed");
    expect(JSON.parse(onDisk(a.id).stages_json)).toEqual([at("acceptance"), at("start"), at("completion")]);
    expect(history.get(a.id)!.stages.map((s) => s.stage)).toEqual(["acceptance", "start", "completion"]);
  });

  it("refuses a stageFlushMs out of range", () => {
    const { db } = store();
    for (const bad of [-1, 1.5, 10_001, Number.NaN]) expect(() => new HistoryStore(db, () => new Date(), bad)).toThrow(/stageFlushMs: must be an integer 0..10000/);
  });

  it("a commit that fails rejects every command of the turn, and none of them is on disk", async () => {
    const { db, history, rows } = store();
    await history.insert(command(0));
    db.exec("CREATE TRIGGER refuse_13 BEFORE INSERT ON command WHEN json_extract(NEW.args_json, '$.amount') = 13 BEGIN SELECT RAISE(ABORT, 'thirteen refused'); END");
    const outcomes = await Promise.allSettled([12, 13, 14].map((i) => history.insert(command(i))));
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/thirteen refused/);
    expect(rows()).toBe(1);
    // The next turn commits normally.
    expect((await history.insert(command(15))).args).toEqual({ amount: 15 });
    expect(rows()).toBe(2);
  });

  it("a command given after the database closed is rejected with a reason, not lost silently", async () => {
    const { db, history } = store();
    const p = history.insert(command(1));
    db.close();
    await expect(p).rejects.toThrow(/closed; the command was not recorded/);
  });

  it("property: however commands are spread over turns, every one is on disk once, with ids in the order given", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }), async (turns) => {
        const { history, rows, db } = store();
        let n = 0;
        const all: Promise<{ id: number; securitySequence: number }>[] = [];
        for (const size of turns) {
          for (let i = 0; i < size; i++) all.push(history.insert(command(n++)));
          await new Promise((r) => setImmediate(r));
        }
        const records = await Promise.all(all);
        expect(rows()).toBe(n);
        expect(records.map((r) => r.securitySequence)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        expect(records.map((r) => r.id)).toEqual([...records.map((r) => r.id)].sort((x, y) => x - y));
        expect(history.commits.transactions).toBeLessThanOrEqual(turns.length);
        db.close();
      }),
      { numRuns: 25 },
    );
  });
});
