import { InvalidFieldError } from "../store/errors.js";
import * as v from "../store/validate.js";
import type { DownlinkDatabase } from "./database.js";
import { openDownlinkDatabase, prepareDownlinkDatabase } from "./database.js";
import type { OpenDownlinkDatabaseOptions } from "./database.js";
import type { DownlinkPriority } from "./priority.js";
import { byteCount, checkPriority, priorityOfRank, priorityRank } from "./priority.js";

/** How a packet is filed: its class, and the header fields kept for retrieval and reports. */
export interface EnqueueOptions {
  readonly priority: DownlinkPriority;
  /** Mission time (TAI ns) the packet was generated: the key of retrieval by time range. */
  readonly generatedNs: bigint;
  readonly apid: number;
  /** PUS service type (0..255). */
  readonly service: number;
  /** PUS message subtype (0..255). */
  readonly subtype: number;
}

/** A packet in the queue: queued, or in flight under a lease. */
export interface DownlinkPacket {
  /** Queue id: increases with enqueue order and is never reused, across restarts too. */
  readonly id: number;
  readonly priority: DownlinkPriority;
  readonly generatedNs: bigint;
  readonly apid: number;
  readonly service: number;
  readonly subtype: number;
  readonly bytes: number;
  readonly packet: Uint8Array;
  /** The lease it is in flight under, or null while queued. */
  readonly leaseId: number | null;
  /** For a copy made by {@link DownlinkQueue.retrieve}: the archive entry it copies; else null. */
  readonly retrievedFrom: number | null;
}

/** A packet kept after its downlink was confirmed, for retrieval. */
export interface ArchivedPacket {
  /** Archive id (not the queue id). */
  readonly id: number;
  /** The queue id it had when it was sent. */
  readonly packetId: number;
  /** The class it was sent in. */
  readonly priority: DownlinkPriority;
  readonly generatedNs: bigint;
  readonly apid: number;
  readonly service: number;
  readonly subtype: number;
  readonly bytes: number;
  readonly packet: Uint8Array;
  /** When its downlink was confirmed. */
  readonly sentNs: bigint;
}

/** Packets handed to the link layer together: in flight until confirmed or released. */
export interface Lease {
  readonly leaseId: number;
  /** In order of service. */
  readonly packets: readonly DownlinkPacket[];
  readonly bytes: number;
}

/** A packet removed by overflow, unsent. */
export interface DroppedPacket {
  readonly id: number;
  readonly priority: DownlinkPriority;
  readonly bytes: number;
  readonly generatedNs: bigint;
  readonly apid: number;
}

export interface EnqueueResult {
  /** The packet's queue id (assigned even when the packet itself was dropped). */
  readonly id: number;
  /** False when the new packet was itself the one overflow dropped (it is then in `dropped`). */
  readonly queued: boolean;
  /** Packets overflow removed to make room, in the order removed. */
  readonly dropped: readonly DroppedPacket[];
}

/** One packet of a batch for {@link DownlinkQueue.enqueueAll}. */
export interface EnqueueItem {
  readonly packet: Uint8Array;
  readonly options: EnqueueOptions;
}

export interface EnqueueAllResult {
  /** Queue ids of the batch's packets, in the order given (all queued). */
  readonly ids: readonly number[];
  /** Bytes of the batch's packets together. */
  readonly bytes: number;
  /** Older packets overflow removed to make room for the batch, in the order removed. */
  readonly dropped: readonly DroppedPacket[];
}

/**
 * An all-or-none batch ({@link DownlinkQueue.enqueueAll}) that the overflow
 * rule cannot admit whole: making room would drop one of the batch's own
 * packets. Nothing was written.
 */
export class DownlinkFullError extends Error {
  override readonly name = "DownlinkFullError";
  constructor(
    /** Bytes of the batch. */
    readonly batchBytes: number,
    /** Bytes the batch could have had after every older packet the rule may drop was dropped. */
    readonly roomBytes: number,
    readonly budgetBytes: number,
  ) {
    super(
      `downlink queue full: ${batchBytes} bytes do not fit; at most ${Math.max(0, roomBytes)} of its ${budgetBytes}-byte budget ` +
        `can be made free (the rest is held by higher classes or in flight)`,
    );
  }
}

export interface RetrieveOptions {
  /** Only packets of this APID. */
  readonly apid?: number;
  /** Class the copies are queued in (default "bulk"). */
  readonly priority?: DownlinkPriority;
}

export interface RetrieveResult {
  /** Queue ids of the copies now queued, in generation-time order. */
  readonly ids: readonly number[];
  /** Archive entries that already had a copy in the queue, so were not copied again. */
  readonly alreadyQueued: number;
  /** Packets overflow removed while the copies went in (copies included). */
  readonly dropped: readonly DroppedPacket[];
}

export interface ArchiveFilter {
  /** Generated at or after (TAI ns). */
  readonly fromNs: bigint;
  /** Generated at or before (TAI ns). */
  readonly toNs: bigint;
  readonly apid?: number;
}

export interface DownlinkClassStats {
  readonly queuedPackets: number;
  readonly queuedBytes: number;
  readonly inFlightPackets: number;
  readonly inFlightBytes: number;
  /** Persisted, since the database was created. */
  readonly enqueuedPackets: number;
  readonly enqueuedBytes: number;
  /** Persisted: removed by overflow, never sent. */
  readonly droppedPackets: number;
  readonly droppedBytes: number;
  /** Persisted: confirmed by the link layer. */
  readonly sentPackets: number;
  readonly sentBytes: number;
}

export interface DownlinkStats {
  readonly budgetBytes: number;
  /** Queued plus in-flight bytes: what counts against the budget. */
  readonly residentBytes: number;
  readonly classes: Readonly<Record<DownlinkPriority, DownlinkClassStats>>;
  readonly archivePackets: number;
  readonly archiveBytes: number;
}

export interface ArchiveRetention {
  /** Keep a sent packet this long after its confirmation (default 24 h). */
  readonly maxAgeNs?: bigint;
  /** And at most this many archive bytes, oldest sent removed first (default 64 MiB; 0 keeps nothing). */
  readonly maxBytes?: number;
}

export interface DownlinkQueueOptions {
  /** Queued plus in-flight bytes allowed before overflow drops packets (default 64 MiB). */
  readonly budgetBytes?: number;
  readonly retention?: ArchiveRetention;
}

export const DEFAULT_DOWNLINK_BUDGET_BYTES = 64 * 1024 * 1024;
export const DEFAULT_ARCHIVE_MAX_AGE_NS = 24n * 3600n * 1_000_000_000n;
export const DEFAULT_ARCHIVE_MAX_BYTES = 64 * 1024 * 1024;

interface PacketRow {
  id: bigint;
  rank: bigint;
  generated_ns: bigint;
  apid: bigint;
  service: bigint;
  subtype: bigint;
  bytes: bigint;
  packet: Buffer;
  lease_id: bigint | null;
  retrieved_from: bigint | null;
}

interface SentRow {
  id: bigint;
  packet_id: bigint;
  rank: bigint;
  generated_ns: bigint;
  apid: bigint;
  service: bigint;
  subtype: bigint;
  bytes: bigint;
  packet: Buffer;
  sent_ns: bigint;
}

interface VictimRow {
  id: bigint;
  rank: bigint;
  bytes: bigint;
  generated_ns: bigint;
  apid: bigint;
}

interface ClassRow {
  rank: bigint;
  resident_packets: bigint;
  resident_bytes: bigint;
  enqueued_packets: bigint;
  enqueued_bytes: bigint;
  dropped_packets: bigint;
  dropped_bytes: bigint;
  sent_packets: bigint;
  sent_bytes: bigint;
}

const PACKET_COLUMNS = `id, rank, generated_ns, apid, service, subtype, bytes, packet, lease_id, retrieved_from`;
const SENT_COLUMNS = `id, packet_id, rank, generated_ns, apid, service, subtype, bytes, packet, sent_ns`;
const MAX_CONFIRM_IDS = 100_000;

function toPacket(row: PacketRow): DownlinkPacket {
  return {
    id: Number(row.id),
    priority: priorityOfRank(Number(row.rank)),
    generatedNs: row.generated_ns,
    apid: Number(row.apid),
    service: Number(row.service),
    subtype: Number(row.subtype),
    bytes: Number(row.bytes),
    packet: row.packet,
    leaseId: row.lease_id === null ? null : Number(row.lease_id),
    retrievedFrom: row.retrieved_from === null ? null : Number(row.retrieved_from),
  };
}

function toArchived(row: SentRow): ArchivedPacket {
  return {
    id: Number(row.id),
    packetId: Number(row.packet_id),
    priority: priorityOfRank(Number(row.rank)),
    generatedNs: row.generated_ns,
    apid: Number(row.apid),
    service: Number(row.service),
    subtype: Number(row.subtype),
    bytes: Number(row.bytes),
    packet: row.packet,
    sentNs: row.sent_ns,
  };
}

function toDropped(row: VictimRow): DroppedPacket {
  return {
    id: Number(row.id),
    priority: priorityOfRank(Number(row.rank)),
    bytes: Number(row.bytes),
    generatedNs: row.generated_ns,
    apid: Number(row.apid),
  };
}

/**
 * The store-and-forward downlink queue (PUS ST[15] in spirit), on SQLite.
 *
 * - **Order of service**: by class (`verification`, `event-high`,
 *   `housekeeping`, `event-low`, `bulk`), FIFO by enqueue order within a class.
 * - **Durable on return**: every write is one IMMEDIATE transaction on a WAL
 *   database with synchronous FULL.
 * - **Nothing is removed before confirmation**: {@link takeNext} only marks
 *   packets in flight under a lease; {@link confirm} removes them (into the
 *   archive of sent packets), {@link release} puts them back. Constructing the
 *   queue puts anything left in flight by a previous run back in the queue,
 *   in its original place (order is by class and id, never by lease).
 * - **Overflow**: queued plus in-flight bytes are bounded by `budgetBytes`.
 *   When an enqueue goes over, queued packets are dropped, the oldest of the
 *   last class present first (bulk before low events before housekeeping
 *   before high events before verification reports), each counted in its
 *   class. A verification report is therefore dropped only when no packet of
 *   any other class is left queued. In-flight packets are never dropped (the
 *   link layer holds them); a packet bigger than the whole budget is dropped
 *   on arrival without touching the others.
 *
 * Use one DownlinkQueue per database at a time: constructing one releases
 * every lease in it.
 */
export class DownlinkQueue {
  readonly #db: DownlinkDatabase;
  #owned = false;
  readonly #budgetBytes: number;
  readonly #maxAgeNs: bigint;
  readonly #maxArchiveBytes: number;
  /** How many in-flight packets construction put back in the queue. */
  readonly recoveredOnOpen: number;

  readonly #insert;
  readonly #insertCopy;
  readonly #countEnqueued;
  readonly #countDropped;
  readonly #countSent;
  readonly #residentBytes;
  readonly #victim;
  readonly #victimRow;
  readonly #delete;
  readonly #queuedOrder;
  readonly #nextLease;
  readonly #bumpLease;
  readonly #setLease;
  readonly #leaseRows;
  readonly #getPacket;
  readonly #archive;
  readonly #releaseLease;
  readonly #releaseAll;
  readonly #head;
  readonly #classes;
  readonly #inFlightByClass;
  readonly #archiveTotals;
  readonly #pruneAge;
  readonly #oldestSent;
  readonly #deleteSent;
  readonly #leases;
  readonly #cache = new Map<string, ReturnType<DownlinkDatabase["prepare"]>>();

  /** Opens (creating if needed) a database file of the queue's own; {@link close} closes it. */
  static open(path: string, options: DownlinkQueueOptions & OpenDownlinkDatabaseOptions = {}): DownlinkQueue {
    const db = openDownlinkDatabase(path, options);
    try {
      const queue = new DownlinkQueue(db, options);
      queue.#owned = true;
      return queue;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Uses the downlink tables of an open database (the TTC database, or one
   * from openDownlinkDatabase), creating them if needed. A file database
   * must be in WAL mode with synchronous FULL.
   */
  constructor(db: DownlinkDatabase, options: DownlinkQueueOptions = {}) {
    const o = v.record("options", options);
    this.#budgetBytes =
      o["budgetBytes"] === undefined
        ? DEFAULT_DOWNLINK_BUDGET_BYTES
        : v.intInRange("budgetBytes", o["budgetBytes"], 1, Number.MAX_SAFE_INTEGER);
    const r = v.record("retention", o["retention"] ?? {});
    this.#maxAgeNs = r["maxAgeNs"] === undefined ? DEFAULT_ARCHIVE_MAX_AGE_NS : v.timeNs("retention.maxAgeNs", r["maxAgeNs"]);
    this.#maxArchiveBytes =
      r["maxBytes"] === undefined ? DEFAULT_ARCHIVE_MAX_BYTES : byteCount("retention.maxBytes", r["maxBytes"]);
    prepareDownlinkDatabase(db);
    this.#db = db;

    this.#insert = db.prepare(
      `INSERT INTO downlink_packet (rank, generated_ns, apid, service, subtype, bytes, packet) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertCopy = db.prepare(
      `INSERT INTO downlink_packet (rank, generated_ns, apid, service, subtype, bytes, packet, retrieved_from)
       SELECT ?, generated_ns, apid, service, subtype, bytes, packet, id FROM downlink_sent WHERE id = ?`,
    );
    this.#countEnqueued = db.prepare(
      `UPDATE downlink_class SET enqueued_packets = enqueued_packets + 1, enqueued_bytes = enqueued_bytes + ? WHERE rank = ?`,
    );
    this.#countDropped = db.prepare(
      `UPDATE downlink_class SET dropped_packets = dropped_packets + 1, dropped_bytes = dropped_bytes + ? WHERE rank = ?`,
    );
    this.#countSent = db.prepare(
      `UPDATE downlink_class SET sent_packets = sent_packets + ?, sent_bytes = sent_bytes + ? WHERE rank = ?`,
    );
    this.#residentBytes = db.prepare(`SELECT total(resident_bytes) FROM downlink_class`).pluck();
    this.#victim = db
      .prepare(
        `SELECT id, rank, bytes, generated_ns, apid FROM downlink_packet WHERE lease_id IS NULL ORDER BY rank DESC, id LIMIT 1`,
      )
      .safeIntegers(true);
    this.#victimRow = db
      .prepare(`SELECT id, rank, bytes, generated_ns, apid FROM downlink_packet WHERE id = ?`)
      .safeIntegers(true);
    this.#delete = db.prepare(`DELETE FROM downlink_packet WHERE id = ?`);
    this.#queuedOrder = db
      .prepare(`SELECT id, bytes FROM downlink_packet WHERE lease_id IS NULL ORDER BY rank, id`)
      .raw(true);
    this.#nextLease = db.prepare(`SELECT next_lease FROM downlink_state WHERE id = 1`).pluck();
    this.#bumpLease = db.prepare(`UPDATE downlink_state SET next_lease = next_lease + 1 WHERE id = 1`);
    this.#setLease = db.prepare(`UPDATE downlink_packet SET lease_id = ? WHERE id = ? AND lease_id IS NULL`);
    this.#leaseRows = db
      .prepare(`SELECT ${PACKET_COLUMNS} FROM downlink_packet WHERE lease_id = ? ORDER BY rank, id`)
      .safeIntegers(true);
    this.#getPacket = db.prepare(`SELECT ${PACKET_COLUMNS} FROM downlink_packet WHERE id = ?`).safeIntegers(true);
    // A retrieved copy whose archive entry is still there is not archived twice.
    this.#archive = db.prepare(
      `INSERT INTO downlink_sent (packet_id, rank, generated_ns, apid, service, subtype, bytes, packet, sent_ns)
       SELECT id, rank, generated_ns, apid, service, subtype, bytes, packet, ? FROM downlink_packet
       WHERE id = ? AND (retrieved_from IS NULL OR NOT EXISTS (SELECT 1 FROM downlink_sent s WHERE s.id = retrieved_from))`,
    );
    this.#releaseLease = db.prepare(`UPDATE downlink_packet SET lease_id = NULL WHERE lease_id = ?`);
    this.#releaseAll = db.prepare(`UPDATE downlink_packet SET lease_id = NULL WHERE lease_id IS NOT NULL`);
    this.#head = db
      .prepare(`SELECT bytes FROM downlink_packet WHERE lease_id IS NULL ORDER BY rank, id LIMIT 1`)
      .pluck();
    this.#classes = db.prepare(`SELECT * FROM downlink_class ORDER BY rank`).safeIntegers(true);
    this.#inFlightByClass = db
      .prepare(
        `SELECT rank, count(*) AS packets, total(bytes) AS bytes FROM downlink_packet WHERE lease_id IS NOT NULL GROUP BY rank`,
      )
      .safeIntegers(true);
    this.#archiveTotals = db.prepare(`SELECT archive_packets, archive_bytes FROM downlink_state WHERE id = 1`).safeIntegers(true);
    this.#pruneAge = db.prepare(`DELETE FROM downlink_sent WHERE sent_ns < ?`);
    this.#oldestSent = db.prepare(`SELECT id, bytes FROM downlink_sent ORDER BY id LIMIT 1`).raw(true);
    this.#deleteSent = db.prepare(`DELETE FROM downlink_sent WHERE id = ?`);
    this.#leases = db
      .prepare(`SELECT DISTINCT lease_id FROM downlink_packet WHERE lease_id IS NOT NULL ORDER BY lease_id`)
      .pluck();

    // Leases do not survive a restart: the link layer that held them is gone.
    this.recoveredOnOpen = db.transaction(() => this.#releaseAll.run().changes).immediate();
  }

  /** The database handle, to put a ContactPlan in the same file. */
  get database(): DownlinkDatabase {
    return this.#db;
  }

  get budgetBytes(): number {
    return this.#budgetBytes;
  }

  /** Closes the database if {@link open} opened it; a handle passed in is left open. */
  close(): void {
    if (this.#owned && this.#db.open) this.#db.close();
  }

  /**
   * Files a packet for downlink; once this returns the packet (and any drop it
   * caused) is on disk. The bytes are copied. Throws InvalidFieldError naming
   * the field (`packet`, `priority`, `generatedNs`, `apid`, `service`,
   * `subtype`) and writes nothing when the input is bad.
   */
  enqueue(packet: Uint8Array, options: EnqueueOptions): EnqueueResult {
    const bytes = v.packet("packet", packet);
    const o = v.record("options", options);
    const rank = priorityRank(checkPriority("priority", o["priority"]));
    const generatedNs = v.timeNs("generatedNs", o["generatedNs"]);
    const apid = v.apid("apid", o["apid"]);
    const service = v.intInRange("service", o["service"], 0, 255);
    const subtype = v.intInRange("subtype", o["subtype"], 0, 255);
    return this.#db
      .transaction((): EnqueueResult => {
        const id = Number(this.#insert.run(rank, generatedNs, apid, service, subtype, bytes.length, bytes).lastInsertRowid);
        this.#countEnqueued.run(bytes.length, rank);
        const dropped = this.#admit(id, bytes.length);
        return { id, queued: !dropped.some((d) => d.id === id), dropped };
      })
      .immediate();
  }

  /**
   * Files a batch of packets in ONE transaction, all or none (a data product's
   * segments): once this returns every packet is on disk; if it throws,
   * nothing was written. Each packet is validated as by {@link enqueue}
   * (InvalidFieldError naming `items[i].packet`, `items[i].priority`, ...).
   *
   * Overflow applies the same rule as {@link enqueue}, with the whole batch
   * entering at once: queued packets are dropped, the oldest of the last
   * class present first, until the queue is within its budget. If that rule
   * would drop any packet of the batch itself (the batch is bigger than the
   * budget, or than what older packets of its class and lower ones leave free
   * besides higher classes and in-flight packets), the batch is refused with
   * DownlinkFullError and nothing is dropped: a partial batch is never queued.
   */
  enqueueAll(items: readonly EnqueueItem[]): EnqueueAllResult {
    if (!Array.isArray(items)) throw new InvalidFieldError("items", "must be an array");
    if (items.length === 0) throw new InvalidFieldError("items", "must not be empty");
    const rows = items.map((raw: unknown, i) => {
      const item = v.record(`items[${i}]`, raw);
      const bytes = v.packet(`items[${i}].packet`, item["packet"]);
      const o = v.record(`items[${i}].options`, item["options"]);
      return {
        bytes,
        rank: priorityRank(checkPriority(`items[${i}].priority`, o["priority"])),
        generatedNs: v.timeNs(`items[${i}].generatedNs`, o["generatedNs"]),
        apid: v.apid(`items[${i}].apid`, o["apid"]),
        service: v.intInRange(`items[${i}].service`, o["service"], 0, 255),
        subtype: v.intInRange(`items[${i}].subtype`, o["subtype"], 0, 255),
      };
    });
    const total = rows.reduce((a, r) => a + r.bytes.length, 0);
    return this.#db
      .transaction((): EnqueueAllResult => {
        const ids: number[] = [];
        for (const r of rows) {
          ids.push(Number(this.#insert.run(r.rank, r.generatedNs, r.apid, r.service, r.subtype, r.bytes.length, r.bytes).lastInsertRowid));
          this.#countEnqueued.run(r.bytes.length, r.rank);
        }
        const dropped = this.#admitBatch(new Set(ids), total);
        return { ids, bytes: total, dropped };
      })
      .immediate();
  }

  /**
   * Leases the next queued packets, in order of service, as many as fit in
   * `maxBytes` together: the longest prefix of the queue that fits. A packet
   * that does not fit stops the lease; smaller packets behind it are not
   * taken ahead of it, so a lower class never overtakes a higher one. Returns
   * null (and allocates no lease) when the queue is empty or its first packet
   * is bigger than `maxBytes`. The packets stay in the database, in flight,
   * until {@link confirm} or {@link release}.
   */
  takeNext(maxBytes: number): Lease | null {
    const limit = byteCount("maxBytes", maxBytes);
    return this.#db
      .transaction((): Lease | null => {
        const ids: number[] = [];
        let total = 0;
        for (const row of this.#queuedOrder.iterate() as IterableIterator<[number, number]>) {
          const size = row[1];
          if (total + size > limit) break;
          total += size;
          ids.push(row[0]);
        }
        if (ids.length === 0) return null;
        const leaseId = Number(this.#nextLease.get());
        this.#bumpLease.run();
        for (const id of ids) this.#setLease.run(leaseId, id);
        const packets = (this.#leaseRows.all(leaseId) as PacketRow[]).map(toPacket);
        return { leaseId, packets, bytes: total };
      })
      .immediate();
  }

  /**
   * The link layer confirmed these packets went out: removes them from the
   * queue, copies them to the archive of sent packets (kept for
   * {@link retrieve} under the retention rule, measured from `sentNs`), and
   * counts them as sent in their class. Returns how many were confirmed.
   *
   * `target` is a lease id (every packet still in flight under it) or a list
   * of packet ids, each of which must be in flight (under any lease). All or
   * nothing: an unknown lease, or an id that is queued, unknown, already
   * confirmed or dropped, throws InvalidFieldError (`leaseId`, `ids[3]`) and
   * changes nothing, so a packet is never confirmed twice.
   */
  confirm(target: number | readonly number[], sentNs: bigint): number {
    const at = v.timeNs("sentNs", sentNs);
    let leaseId: number | null = null;
    let ids: number[] = [];
    if (typeof target === "number") {
      leaseId = v.rowId("leaseId", target);
    } else if (Array.isArray(target)) {
      if (target.length === 0) throw new InvalidFieldError("ids", "must not be empty");
      if (target.length > MAX_CONFIRM_IDS) throw new InvalidFieldError("ids", `at most ${MAX_CONFIRM_IDS} ids at once`);
      const seen = new Map<number, number>();
      ids = target.map((raw: unknown, i) => {
        const id = v.rowId(`ids[${i}]`, raw);
        const first = seen.get(id);
        if (first !== undefined) throw new InvalidFieldError(`ids[${i}]`, `packet ${id} repeats ids[${first}]`);
        seen.set(id, i);
        return id;
      });
    } else {
      throw new InvalidFieldError("target", "must be a lease id or an array of packet ids");
    }
    return this.#db
      .transaction((): number => {
        let rows: PacketRow[];
        if (leaseId !== null) {
          rows = this.#leaseRows.all(leaseId) as PacketRow[];
          if (rows.length === 0) {
            throw new InvalidFieldError("leaseId", `no packets are in flight under lease ${leaseId} (confirmed or released already?)`);
          }
        } else {
          rows = ids.map((id, i) => {
            const row = this.#getPacket.get(id) as PacketRow | undefined;
            if (row === undefined) {
              throw new InvalidFieldError(`ids[${i}]`, `packet ${id} is not in the queue (confirmed or dropped already, or never enqueued)`);
            }
            if (row.lease_id === null) throw new InvalidFieldError(`ids[${i}]`, `packet ${id} is queued, not in flight`);
            return row;
          });
        }
        const perClass = new Map<number, { packets: number; bytes: number }>();
        for (const row of rows) {
          this.#archive.run(at, row.id);
          this.#delete.run(row.id);
          const rank = Number(row.rank);
          const c = perClass.get(rank) ?? { packets: 0, bytes: 0 };
          c.packets += 1;
          c.bytes += Number(row.bytes);
          perClass.set(rank, c);
        }
        for (const [rank, c] of perClass) this.#countSent.run(c.packets, c.bytes, rank);
        this.#prune(at);
        return rows.length;
      })
      .immediate();
  }

  /**
   * The link was lost before confirmation: every packet still in flight under
   * the lease goes back to the queue, in its original place. Returns how many.
   * Throws InvalidFieldError("leaseId") when nothing is in flight under it.
   */
  release(leaseId: number): number {
    const id = v.rowId("leaseId", leaseId);
    return this.#db
      .transaction((): number => {
        const n = this.#releaseLease.run(id).changes;
        if (n === 0) {
          throw new InvalidFieldError("leaseId", `no packets are in flight under lease ${id} (confirmed or released already?)`);
        }
        return n;
      })
      .immediate();
  }

  /** Puts every in-flight packet back in the queue (link down); returns how many. */
  releaseAll(): number {
    return this.#db.transaction(() => this.#releaseAll.run().changes).immediate();
  }

  /** Leases with packets in flight, oldest first. */
  leases(): number[] {
    return this.#leases.all() as number[];
  }

  /** Size of the first queued packet in order of service, or null when nothing is queued. */
  headBytes(): number | null {
    const b = this.#head.get() as number | undefined;
    return b === undefined ? null : b;
  }

  /**
   * Resident packets (queued and in flight) in order of service; the first
   * `limit` when given. In-flight packets appear in their place, with their
   * lease id.
   */
  list(options: { readonly limit?: number; readonly state?: "queued" | "in-flight" } = {}): DownlinkPacket[] {
    const o = v.record("options", options);
    const limit = o["limit"] === undefined ? -1 : v.intInRange("limit", o["limit"], 0, Number.MAX_SAFE_INTEGER);
    const state = o["state"];
    if (state !== undefined && state !== "queued" && state !== "in-flight") {
      throw new InvalidFieldError("state", `must be "queued" or "in-flight", got ${String(state)}`);
    }
    const where = state === "queued" ? "WHERE lease_id IS NULL" : state === "in-flight" ? "WHERE lease_id IS NOT NULL" : "";
    const rows = this.#stmt(`SELECT ${PACKET_COLUMNS} FROM downlink_packet ${where} ORDER BY rank, id LIMIT ?`).all(
      limit,
    ) as PacketRow[];
    return rows.map(toPacket);
  }

  /** A resident packet (queued or in flight), or undefined. */
  get(id: number): DownlinkPacket | undefined {
    const row = this.#getPacket.get(v.rowId("id", id)) as PacketRow | undefined;
    return row === undefined ? undefined : toPacket(row);
  }

  /** Per-class counts (resident now, and the persisted enqueued/dropped/sent counters) and archive totals. */
  stats(): DownlinkStats {
    const inFlight = new Map<number, { packets: number; bytes: number }>();
    for (const r of this.#inFlightByClass.all() as { rank: bigint; packets: bigint; bytes: number }[]) {
      inFlight.set(Number(r.rank), { packets: Number(r.packets), bytes: Number(r.bytes) });
    }
    const classes = {} as Record<DownlinkPriority, DownlinkClassStats>;
    let residentBytes = 0;
    for (const r of this.#classes.all() as ClassRow[]) {
      const f = inFlight.get(Number(r.rank)) ?? { packets: 0, bytes: 0 };
      residentBytes += Number(r.resident_bytes);
      classes[priorityOfRank(Number(r.rank))] = {
        queuedPackets: Number(r.resident_packets) - f.packets,
        queuedBytes: Number(r.resident_bytes) - f.bytes,
        inFlightPackets: f.packets,
        inFlightBytes: f.bytes,
        enqueuedPackets: Number(r.enqueued_packets),
        enqueuedBytes: Number(r.enqueued_bytes),
        droppedPackets: Number(r.dropped_packets),
        droppedBytes: Number(r.dropped_bytes),
        sentPackets: Number(r.sent_packets),
        sentBytes: Number(r.sent_bytes),
      };
    }
    const a = this.#archiveTotals.get() as { archive_packets: bigint; archive_bytes: bigint };
    return {
      budgetBytes: this.#budgetBytes,
      residentBytes,
      classes,
      archivePackets: Number(a.archive_packets),
      archiveBytes: Number(a.archive_bytes),
    };
  }

  /** Archived (sent) packets generated in [fromNs, toNs], optionally of one APID, in generation-time order. */
  archived(filter: ArchiveFilter): ArchivedPacket[] {
    const f = this.#archiveFilter(filter);
    return (this.#stmt(`SELECT ${SENT_COLUMNS} FROM downlink_sent WHERE ${f.where} ORDER BY generated_ns, id`).all(
      f.params,
    ) as SentRow[]).map(toArchived);
  }

  /**
   * ST[15] retrieval: copies the archived (already sent) packets generated in
   * [fromNs, toNs] (optionally of one APID) back into the queue, in
   * generation-time order, in class `priority` (default "bulk"). The archive
   * keeps its entries; an entry that already has a copy queued or in flight
   * is not copied again; a copy, once confirmed, is not archived a second
   * time. Copies are enqueued like new packets, so the byte budget applies
   * (a retrieval bigger than the room left keeps its newest part if it is
   * the last class present). Durable on return.
   */
  retrieve(fromNs: bigint, toNs: bigint, options: RetrieveOptions = {}): RetrieveResult {
    const o = v.record("options", options);
    const f = this.#archiveFilter({ fromNs, toNs, apid: o["apid"] });
    const rank = priorityRank(o["priority"] === undefined ? "bulk" : checkPriority("priority", o["priority"]));
    return this.#db
      .transaction((): RetrieveResult => {
        const rows = this.#stmt(
          `SELECT id, bytes, EXISTS (SELECT 1 FROM downlink_packet p WHERE p.retrieved_from = s.id) AS queued
           FROM downlink_sent s WHERE ${f.where} ORDER BY generated_ns, id`,
        )
          .raw(true)
          .all(f.params) as [bigint, bigint, bigint][];
        const ids: number[] = [];
        const dropped: DroppedPacket[] = [];
        let alreadyQueued = 0;
        for (const [sentId, size, queued] of rows) {
          if (queued !== 0n) {
            alreadyQueued += 1;
            continue;
          }
          const id = Number(this.#insertCopy.run(rank, sentId).lastInsertRowid);
          this.#countEnqueued.run(size, rank);
          ids.push(id);
          dropped.push(...this.#admit(id, Number(size)));
        }
        const gone = new Set(dropped.map((d) => d.id));
        return { ids: ids.filter((id) => !gone.has(id)), alreadyQueued, dropped };
      })
      .immediate();
  }

  /**
   * Applies the archive retention as of `nowNs` (confirm does it too):
   * removes entries sent before `nowNs - maxAgeNs`, then the oldest until the
   * archive is within `maxBytes`. Returns how many were removed.
   */
  pruneArchive(nowNs: bigint): number {
    const now = v.timeNs("nowNs", nowNs);
    return this.#db.transaction(() => this.#prune(now)).immediate();
  }

  #prune(nowNs: bigint): number {
    let removed = 0;
    if (nowNs > this.#maxAgeNs) removed += this.#pruneAge.run(nowNs - this.#maxAgeNs).changes;
    let total = Number((this.#archiveTotals.get() as { archive_bytes: bigint }).archive_bytes);
    while (total > this.#maxArchiveBytes) {
      const oldest = this.#oldestSent.get() as [number, number] | undefined;
      if (oldest === undefined) break;
      this.#deleteSent.run(oldest[0]);
      total -= oldest[1];
      removed += 1;
    }
    return removed;
  }

  /** Inside a transaction, after inserting packet `id`: enforces the byte budget. */
  #admit(id: number, size: number): DroppedPacket[] {
    const dropped: DroppedPacket[] = [];
    const drop = (row: VictimRow): void => {
      this.#delete.run(row.id);
      this.#countDropped.run(row.bytes, row.rank);
      dropped.push(toDropped(row));
    };
    if (size > this.#budgetBytes) {
      // It could never fit: drop it alone rather than empty the queue for nothing.
      drop(this.#victimRow.get(id) as VictimRow);
      return dropped;
    }
    let resident = this.#residentBytes.get() as number;
    while (resident > this.#budgetBytes) {
      const victim = this.#victim.get() as VictimRow | undefined;
      if (victim === undefined) break; // only in-flight packets left: they are never dropped
      drop(victim);
      resident -= Number(victim.bytes);
    }
    return dropped;
  }

  /**
   * Inside a transaction, after inserting a batch: enforces the byte budget as
   * #admit does, but throws DownlinkFullError (so the caller's transaction
   * rolls back, drops included) as soon as a victim is one of the batch.
   */
  #admitBatch(batch: ReadonlySet<number>, batchBytes: number): DroppedPacket[] {
    const dropped: DroppedPacket[] = [];
    let resident = this.#residentBytes.get() as number;
    if (batchBytes > this.#budgetBytes) throw new DownlinkFullError(batchBytes, this.#budgetBytes, this.#budgetBytes);
    while (resident > this.#budgetBytes) {
      const victim = this.#victim.get() as VictimRow | undefined;
      if (victim === undefined) break; // cannot happen: the batch itself is queued
      if (batch.has(Number(victim.id))) {
        throw new DownlinkFullError(batchBytes, this.#budgetBytes - (resident - batchBytes), this.#budgetBytes);
      }
      this.#delete.run(victim.id);
      this.#countDropped.run(victim.bytes, victim.rank);
      dropped.push(toDropped(victim));
      resident -= Number(victim.bytes);
    }
    return dropped;
  }

  #archiveFilter(filter: unknown): { where: string; params: unknown[] } {
    const f = v.record("filter", filter);
    const from = v.timeNs("fromNs", f["fromNs"]);
    const to = v.timeNs("toNs", f["toNs"]);
    if (to < from) throw new InvalidFieldError("toNs", `must not be before fromNs (${from}), got ${to}`);
    const where = ["generated_ns BETWEEN ? AND ?"];
    const params: unknown[] = [from, to];
    if (f["apid"] !== undefined) {
      where.push("apid = ?");
      params.push(v.apid("apid", f["apid"]));
    }
    return { where: where.join(" AND "), params };
  }

  #stmt(sql: string): ReturnType<DownlinkDatabase["prepare"]> {
    let s = this.#cache.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql).safeIntegers(true);
      this.#cache.set(sql, s);
    }
    return s;
  }
}

