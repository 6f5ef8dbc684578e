// Errors the routes throw; the error handler turns each into
// { error: <short code>, message: <reason naming the field> } with its status.
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Extra fields for the response body (e.g. the command record of a timed-out command). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string, code = "bad_request") => new HttpError(400, code, message);
export const notFound = (message: string, code = "not_found") => new HttpError(404, code, message);
