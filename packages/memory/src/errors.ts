/** Misuse of a protected region or the scrubber: a bad argument or a call in the wrong state. Nothing was changed. */
export class RegionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "RegionError";
  }
}

/** A golden copy that cannot be used: missing, unreadable, the wrong size, the wrong hash, or not a copy of the data. */
export class GoldenCopyError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** The file is not (any more) the copy that was verified: stop using it. */
    readonly untrusted = false,
  ) {
    super(`golden copy ${JSON.stringify(path)}: ${reason}`);
    this.name = "GoldenCopyError";
  }
}
