// Errors the CLI reports to the user: the message is printed as it is (it
// says what to do), and the exit code says what kind of failure it was.

/** Exit codes: 0 success, 1 the operation failed (command failed, gateway error), 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A bad command line or bad input the user typed: exit status 2, nothing was sent. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}
