// Group commit: the writes that arrive together go to disk together.
//
// The TTC commits each telecommand's acceptance (and, later, its completion)
// as one transaction, and each commit is an fsync on the event loop. Under
// load many telecommands arrive in one burst (one bus drain, one socket
// read), and a commit each made the fsyncs most of the TTC's time
// (docs/benchmarks.md, "gateway"). Here the work of one burst is queued and
// run at the end of the current microtask sequence (so synchronously before
// any I/O or timer, and before `bus.idle()` can look), as ONE outer
// transaction with each unit in its own savepoint: a unit that throws is
// rolled back alone and its outbox posts are dropped, the others commit. What
// the units said (the outbox) goes out after the one commit, in order.

/** Runs `work` as a transaction, or as a savepoint inside an open one (the TTC's `atomically`). */
export type Atomically = (work: () => void) => void;

interface Unit {
  work: () => void;
  /** Called when the unit's work, or the commit that carried it, failed: report it (nothing of the unit is on disk). */
  failed: (err: unknown) => void;
  done: () => void;
}

export interface GroupCommitOptions {
  /** The TTC's transaction runner (outer: a transaction; nested: a savepoint). */
  atomically: Atomically;
  /** Whether the database has a transaction open: SQLite may roll a whole transaction back on an I/O error or a full disk. */
  inTransaction: () => boolean;
  /** The outbox's post: sends after the open transaction commits. */
  post: (send: () => void) => void;
  /** Told when something said after the commit could not be sent (the writes stand). */
  sendFailed: (err: unknown) => void;
  /** Runs a flush at the end of the current microtask sequence (default queueMicrotask). */
  scheduleSoon?: (run: () => void) => void;
  /** Runs a flush at the end of the event-loop turn (default setImmediate). */
  scheduleTurn?: (run: () => void) => void;
}

/**
 * When a unit's commit must happen: "soon" at the end of the current
 * microtask sequence (before `bus.idle()` or any I/O can look: a burst of
 * packets from one bus drain); "turn" at the end of the event-loop turn (the
 * completions, which services answer one request at a time, over several
 * microtask sequences). Whichever flush comes first takes every unit queued.
 */
export type Urgency = "soon" | "turn";

export class GroupCommit {
  #queue: Unit[] = [];
  /** Units that schedule no flush of their own: they ride the next commit, whatever makes it (see {@link addBehind}). */
  #behind: Unit[] = [];
  /** The flushes already scheduled, by urgency. */
  readonly #scheduled = new Set<Urgency>();
  /** Commits made and units carried (for diagnostics and tests). */
  readonly stats = { commits: 0, units: 0 };

  constructor(private readonly o: GroupCommitOptions) {}

  /** Units waiting for a commit (behind ones included). */
  get waiting(): number {
    return this.#queue.length + this.#behind.length;
  }

  /** Units waiting behind: for the next commit made for something else, or for whoever calls {@link flush}. */
  get waitingBehind(): number {
    return this.#behind.length;
  }

  /** Queues `work` for the next commit; resolves once that commit is made (or failed and `failed` was told). */
  add(work: () => void, failed: (err: unknown) => void, urgency: Urgency = "soon"): Promise<void> {
    return new Promise((done) => {
      this.#queue.push({ work, failed, done });
      if (this.#scheduled.has(urgency)) return;
      this.#scheduled.add(urgency);
      const schedule = urgency === "soon" ? (this.o.scheduleSoon ?? queueMicrotask) : (this.o.scheduleTurn ?? setImmediate);
      schedule(() => {
        this.#scheduled.delete(urgency);
        this.flush();
      });
    });
  }

  /**
   * Queues `work` without scheduling a commit: it is written with the next
   * commit made for other units, or by the owner's own {@link flush} (a
   * timer, a read that must see it, stop). For writes that need not be on
   * disk before anything is said (the TTC's copies of TM for the downlink),
   * so that they cost no fsync of their own. Resolves like {@link add}.
   */
  addBehind(work: () => void, failed: (err: unknown) => void): Promise<void> {
    return new Promise((done) => void this.#behind.push({ work, failed, done }));
  }

  /** Runs and commits everything queued now, behind units first (also called by the scheduled flush). */
  flush(): void {
    if (this.#queue.length + this.#behind.length === 0) return;
    // Behind units were queued before anything that is urgent now: written first, they keep the order things were said in.
    const units = this.#behind.length === 0 ? this.#queue : [...this.#behind, ...this.#queue];
    this.#behind = [];
    this.#queue = [];
    try {
      this.commit(units);
    } finally {
      for (const unit of units) unit.done();
    }
  }

  private commit(units: Unit[]): void {
    let committed = false;
    try {
      this.o.atomically(() => {
        // The first thing sent after the commit: tells a failed send from a failed commit.
        this.o.post(() => (committed = true));
        for (const unit of units) {
          try {
            this.o.atomically(unit.work);
          } catch (err) {
            // SQLite rolled the whole transaction back: what follows would commit on its own. Give up the burst.
            if (!this.o.inTransaction()) throw err;
            // Rolled back to its savepoint; its report joins the others' commit.
            unit.failed(err);
          }
        }
      });
    } catch (err) {
      if (committed) {
        this.count(units.length);
        this.o.sendFailed(err);
        return;
      }
      // The commit itself failed: none of the burst is on disk and nothing it said went out.
      for (const unit of units) {
        try {
          unit.failed(err);
        } catch {
          // one report that cannot be made does not stop the others
        }
      }
      return;
    }
    this.count(units.length);
  }

  private count(units: number): void {
    this.stats.commits++;
    this.stats.units += units;
  }
}
