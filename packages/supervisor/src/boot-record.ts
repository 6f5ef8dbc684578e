// The boot record: a counter of boots, why each one happened, whether it
// became stable, how it ended, the payload's mode and the parameter values
// changed by command. It lives in SQLite (WAL, synchronous FULL) because it
// must say the truth after power is cut at any instant: a boot whose end was
// never written ended in a crash or a cut.
import Database from "better-sqlite3";
import type { PayloadModeName } from "./mode.js";

export type ResetReasonName = "power-on" | "watchdog" | "command" | "crash";

/** What the watchdog hardware says about the last reset. */
export interface WatchdogEvidence {
  /** The hardware flags that the last reset came from it (Linux bootstatus WDIOF_CARDRESET). */
  cardReset?: boolean;
  /** Expirations the (emulated) hardware has counted since it powered on (HIL). */
  expirations?: number;
}

export interface BootInfo {
  /** This boot's number (1 = first boot ever on this data). */
  boot: number;
  reason: ResetReasonName;
  /** Boots in a row before this one that ended in a reset before they became stable. */
  unstableBefore: number;
  /** unstableBefore reached the loop threshold. */
  bootLoop: boolean;
  /** The mode to boot into: the persisted one, or safe for a boot loop. */
  mode: PayloadModeName;
  safeReason: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS boots (
  boot INTEGER PRIMARY KEY,
  started_tai_ns TEXT NOT NULL,
  reset_reason TEXT NOT NULL,
  stable INTEGER NOT NULL DEFAULT 0,
  -- NULL while it runs, and forever if it died; 'clean' or 'reset-command' when it ended on purpose.
  ended TEXT,
  ended_tai_ns TEXT
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parameters (
  service TEXT NOT NULL,
  name TEXT NOT NULL,
  value_json TEXT NOT NULL,
  updated_tai_ns TEXT NOT NULL,
  PRIMARY KEY (service, name)
);
`;

export type ParameterScalar = boolean | number | string;

export class BootRecord {
  private readonly db: Database.Database;

  constructor(path: string) {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: 5000 });
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.exec(SCHEMA);
    } catch (err) {
      db?.close();
      // better-sqlite3's messages ("file is not a database", "the directory does not exist") do not say which file.
      throw new Error(`boot record ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.db = db;
  }

  /**
   * Records a new boot and says why it happened. Order of evidence: a reset
   * the previous boot asked for by command; the watchdog's own flag or count;
   * a clean end (a normal power-on); otherwise the previous boot died (crash).
   */
  begin(nowTaiNs: bigint, watchdog: WatchdogEvidence, loopThreshold: number): BootInfo {
    return this.db.transaction((): BootInfo => {
      const prev = this.db.prepare("SELECT boot, stable, ended FROM boots ORDER BY boot DESC LIMIT 1").get() as { boot: number; stable: number; ended: string | null } | undefined;
      const seenExpirations = Number(this.get("watchdog_expirations") ?? "0");
      const countRose = watchdog.expirations !== undefined && watchdog.expirations > seenExpirations;
      if (watchdog.expirations !== undefined) this.set("watchdog_expirations", String(watchdog.expirations));
      let reason: ResetReasonName;
      if (!prev) reason = "power-on";
      else if (prev.ended === "reset-command") reason = "command";
      else if (watchdog.cardReset === true || countRose) reason = "watchdog";
      else if (prev.ended === "clean") reason = "power-on";
      else reason = "crash";

      // Walk back over boots that died before they became stable.
      const recent = this.db.prepare("SELECT stable, ended FROM boots ORDER BY boot DESC LIMIT ?").all(Math.max(1, loopThreshold) + 1) as { stable: number; ended: string | null }[];
      let unstableBefore = 0;
      for (const b of recent) {
        if (b.stable || b.ended !== null) break;
        unstableBefore++;
      }
      const bootLoop = loopThreshold > 0 && unstableBefore >= loopThreshold;
      let mode = (this.get("mode") as PayloadModeName | undefined) ?? "nominal";
      let safeReason = this.get("safe_reason") ?? "";
      if (bootLoop && mode !== "safe") {
        mode = "safe";
        safeReason = `boot loop: ${unstableBefore} boots in a row reset before they became stable`;
        this.set("mode", mode);
        this.set("safe_reason", safeReason);
      }
      const boot = (prev?.boot ?? 0) + 1;
      this.db.prepare("INSERT INTO boots (boot, started_tai_ns, reset_reason) VALUES (?, ?, ?)").run(boot, nowTaiNs.toString(), reason);
      return { boot, reason, unstableBefore, bootLoop, mode, safeReason };
    })();
  }

  markStable(boot: number): void {
    this.db.prepare("UPDATE boots SET stable = 1 WHERE boot = ?").run(boot);
  }

  /** The boot ends on purpose: a clean stop, or a reset the next boot will report as "command". */
  end(boot: number, how: "clean" | "reset-command", nowTaiNs: bigint): void {
    this.db.prepare("UPDATE boots SET ended = ?, ended_tai_ns = ? WHERE boot = ?").run(how, nowTaiNs.toString(), boot);
  }

  saveMode(mode: PayloadModeName, reason: string): void {
    this.db.transaction(() => {
      this.set("mode", mode);
      this.set("safe_reason", reason);
    })();
  }

  /** The newest boots, newest first. */
  history(limit = 20): { boot: number; startedTaiNs: bigint; reason: ResetReasonName; stable: boolean; ended: string | null }[] {
    const rows = this.db.prepare("SELECT boot, started_tai_ns, reset_reason, stable, ended FROM boots ORDER BY boot DESC LIMIT ?").all(limit) as {
      boot: number;
      started_tai_ns: string;
      reset_reason: ResetReasonName;
      stable: number;
      ended: string | null;
    }[];
    return rows.map((r) => ({ boot: r.boot, startedTaiNs: BigInt(r.started_tai_ns), reason: r.reset_reason, stable: r.stable === 1, ended: r.ended }));
  }

  saveParameter(service: string, name: string, value: ParameterScalar, nowTaiNs: bigint): void {
    this.db
      .prepare("INSERT INTO parameters (service, name, value_json, updated_tai_ns) VALUES (?, ?, ?, ?) ON CONFLICT (service, name) DO UPDATE SET value_json = excluded.value_json, updated_tai_ns = excluded.updated_tai_ns")
      .run(service, name, JSON.stringify(value), nowTaiNs.toString());
  }

  /** Parameter values changed by command for one service. */
  parameters(service: string): Record<string, ParameterScalar> {
    const rows = this.db.prepare("SELECT name, value_json FROM parameters WHERE service = ? ORDER BY name").all(service) as { name: string; value_json: string }[];
    const out: Record<string, ParameterScalar> = {};
    for (const r of rows) {
      try {
        const v = JSON.parse(r.value_json) as unknown;
        if (typeof v === "boolean" || typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) out[r.name] = v;
      } catch {
        // A damaged row is skipped: the service then starts from its configured value.
      }
    }
    return out;
  }

  close(): void {
    this.db.close();
  }

  private get(key: string): string | undefined {
    return (this.db.prepare("SELECT value FROM state WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }

  private set(key: string, value: string): void {
    this.db.prepare("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  }
}
