// What the command-link security must remember across a reset: the highest
// anti-replay sequence number accepted per SPI (else a recorded command could
// be replayed after a reboot), and the key rotations made by command (else a
// revoked key would come back from the key file). Kept in the TTC's database
// next to the command history, with the same durability.
import type Database from "better-sqlite3";
import type { AntiReplay, KeyStore } from "@umbra/ccsds";

export class SecurityState {
  private readonly saveHighest: Database.Statement;
  private readonly addRotation: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS security_replay (
        spi INTEGER PRIMARY KEY CHECK (spi BETWEEN 1 AND 65534),
        highest INTEGER NOT NULL CHECK (highest BETWEEN 0 AND 4294967295)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS security_rotation (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        old_spi INTEGER NOT NULL,
        new_spi INTEGER NOT NULL,
        at_ns INTEGER NOT NULL
      ) STRICT;`);
    this.saveHighest = db.prepare(
      "INSERT INTO security_replay (spi, highest) VALUES (?, ?) ON CONFLICT (spi) DO UPDATE SET highest = max(highest, excluded.highest)",
    );
    this.addRotation = db.prepare("INSERT INTO security_rotation (old_spi, new_spi, at_ns) VALUES (?, ?, ?)");
  }

  /** Brings a freshly loaded key store and anti-replay window back to where they were. */
  restore(keys: KeyStore, antiReplay: AntiReplay): { rotations: number; failures: string[] } {
    const failures: string[] = [];
    const rotations = this.db.prepare("SELECT old_spi AS oldSpi, new_spi AS newSpi FROM security_rotation ORDER BY id").all() as { oldSpi: number; newSpi: number }[];
    for (const r of rotations) {
      try {
        keys.rotate(r.oldSpi, r.newSpi);
      } catch (err) {
        // Already applied in the key file (or the file changed): keep the stronger state.
        try {
          if (keys.info(r.oldSpi)?.state !== "revoked") keys.revoke(r.oldSpi);
        } catch {
          // the old key is no longer in the file at all
        }
        failures.push(`rotation ${r.oldSpi} -> ${r.newSpi}: ${(err as Error).message}`);
      }
    }
    for (const row of this.db.prepare("SELECT spi, highest FROM security_replay").all() as { spi: number; highest: number }[]) {
      antiReplay.restore(row.spi, row.highest);
    }
    return { rotations: rotations.length, failures };
  }

  /** The database handle: the TTC writes this state in the same transaction as the command history. */
  get database(): Database.Database {
    return this.db;
  }

  /**
   * Called after every accepted command; on disk before the command is
   * acknowledged. One autocommit statement, or, inside a transaction on the
   * same handle (the TTC accepting a command), part of that transaction's commit.
   */
  accepted(spi: number, sequence: number): void {
    this.saveHighest.run(spi, sequence);
  }

  rotated(oldSpi: number, newSpi: number, atNs: bigint): void {
    this.addRotation.run(oldSpi, newSpi, atNs);
  }
}
