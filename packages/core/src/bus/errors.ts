/** A request got no reply within its timeout. */
export class BusTimeoutError extends Error {
  constructor(
    readonly topic: string,
    readonly target: string,
    readonly timeoutMs: number,
  ) {
    super(`request ${topic}${target ? ` to ${target}` : ""} got no reply within ${timeoutMs} ms`);
    this.name = "BusTimeoutError";
  }
}

/** The handler on the other side failed and said why. */
export class BusRemoteError extends Error {
  constructor(
    readonly topic: string,
    readonly responder: string,
    readonly remoteMessage: string,
  ) {
    super(`request ${topic} failed on ${responder}: ${remoteMessage}`);
    this.name = "BusRemoteError";
  }
}

/** The bus was closed while a request was waiting, or before a call. */
export class BusClosedError extends Error {
  constructor(node: string) {
    super(`bus node ${node} is closed`);
    this.name = "BusClosedError";
  }
}
