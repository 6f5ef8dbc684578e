/**
 * Errors raised by the TTC stores. Every one of them is raised before anything
 * is written (or inside a transaction that is then rolled back), so a caller
 * that catches one knows the database is exactly as it was.
 */

/**
 * Bad input: a field out of range, of the wrong type, or naming something that
 * does not exist. `field` names the offending field (`apid`, `items[3].packet`,
 * `ids[0]`) so the caller can turn it into a PUS failure report or a 4xx.
 */
export class InvalidFieldError extends RangeError {
  override readonly name = "InvalidFieldError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** The identity PUS gives a telecommand: who sent it, to which APID, which count. */
export interface RequestKey {
  readonly sourceId: number;
  readonly apid: number;
  readonly sequenceCount: number;
}

/**
 * A telecommand whose (source, APID, sequence count) is already known: a
 * retransmission inside the duplicate window (command history), or a request
 * that is already in the schedule (schedule store).
 */
export class DuplicateRequestError extends Error {
  override readonly name = "DuplicateRequestError";
  constructor(
    readonly key: RequestKey,
    /** The command id (history) or schedule item id that holds the key. */
    readonly existingId: number,
    message: string,
  ) {
    super(message);
  }
}

/** The database file cannot be used: not openable, not a database, or from newer software. */
export class TtcDatabaseError extends Error {
  override readonly name = "TtcDatabaseError";
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function describeKey(key: RequestKey): string {
  return `(source ${key.sourceId}, apid ${key.apid}, sequence count ${key.sequenceCount})`;
}
