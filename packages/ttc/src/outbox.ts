// Publishes held back until the transaction that recorded them has committed.
//
// Accepting one telecommand writes its anti-replay number, the command and its
// duplicate key, what it resolved to, and its acceptance and start stages. As
// separate commits that is five fsyncs on the event loop; as ONE transaction it
// is one. The rules "on disk before anything is acknowledged" and "a stage is in
// the history before its report" then hold at that single commit, so whatever
// the TTC would say meanwhile (Verification, TM reports, events, the command
// request to the service) is posted here instead of published, and sent in the
// order it was posted once the commit has returned. If the transaction throws,
// the posts are dropped: nothing is ever said about writes that were rolled back.

/** Runs `work` in one database transaction and returns its result (e.g. a better-sqlite3 `transaction(...).immediate`). */
export type Transaction = <T>(work: () => T) => T;

export class Outbox {
  #held: (() => void)[] | undefined;

  /** Whether a {@link run} is open, i.e. posts are being held. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** Runs `send` now, or, inside {@link run}, after its transaction commits. */
  post(send: () => void): void {
    if (this.#held) this.#held.push(send);
    else send();
  }

  /**
   * Runs `work` inside `transaction`, then sends what it posted, in order. If
   * `work` or the commit throws, the posts are dropped and the error goes on.
   * Inside another run, `work` joins it: `transaction` is then expected to be
   * a savepoint (better-sqlite3 nests that way), its posts wait for the outer
   * commit, and if it throws only its own posts are dropped.
   */
  run<T>(transaction: Transaction, work: () => T): T {
    if (this.#held) {
      const held = this.#held;
      const mark = held.length;
      try {
        return transaction(work);
      } catch (err) {
        held.length = mark;
        throw err;
      }
    }
    const held: (() => void)[] = [];
    this.#held = held;
    let result: T;
    try {
      result = transaction(work);
    } finally {
      this.#held = undefined;
    }
    // Committed. One send that throws does not hold back the others.
    let failure: { err: unknown } | undefined;
    for (const send of held) {
      try {
        send();
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure) throw failure.err;
    return result;
  }
}
