// The gateway's live stream (WebSocket /api/stream): subscribe to telemetry
// patterns, events and verifications, and hand each message over until the
// caller stops (Ctrl-C, --count) or the gateway closes it. Node 20 has no
// global WebSocket, hence the ws package.
import WebSocket from "ws";
import { CliError } from "../errors.js";
import type { GatewayClient } from "./http.js";

export interface Subscription {
  telemetry?: string[];
  events?: boolean;
  verifications?: boolean;
}

export interface StreamMessage {
  type: string;
  [field: string]: unknown;
}

export interface FollowOptions {
  /** Aborting it closes the stream; the promise then resolves. */
  signal?: AbortSignal;
  /** Called once the subscription was sent. */
  onOpen?: () => void;
}

/**
 * Follows the stream; `onMessage` returns "stop" to end it. Resolves when it
 * ends (stopped, aborted, or closed by the gateway); rejects with a CliError
 * when the gateway cannot be reached, refuses the token, or reports an error.
 */
export function followStream(client: GatewayClient, subscription: Subscription, onMessage: (m: StreamMessage) => void | "stop", options: FollowOptions = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const ws = new WebSocket(client.streamUrl(), { handshakeTimeout: 10_000 });
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", abort);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (err) reject(err);
      else resolve();
    };
    const abort = () => finish();
    if (options.signal?.aborted) return finish();
    options.signal?.addEventListener("abort", abort, { once: true });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => {
        let message = body;
        try {
          const parsed = JSON.parse(body) as { message?: string; error?: string };
          message = parsed.message ?? parsed.error ?? body;
        } catch {
          // not JSON
        }
        if (res.statusCode === 401) finish(client.badToken(message));
        else finish(new CliError(`the gateway refused the stream (${res.statusCode ?? "?"}): ${message || "no reason given"}`));
      });
    });
    ws.on("error", (err: NodeJS.ErrnoException) => finish(client.unreachable(err.code ?? err.message)));
    ws.on("open", () => {
      ws.send(JSON.stringify({ type: "subscribe", ...subscription }));
      options.onOpen?.();
    });
    ws.on("message", (data) => {
      // Frames that arrived with the one that stopped it are still emitted after terminate(): drop them.
      if (settled) return;
      let m: StreamMessage;
      try {
        m = JSON.parse(data.toString()) as StreamMessage;
      } catch {
        return;
      }
      if (m.type === "error") {
        finish(new CliError(`the gateway's stream reported an error: ${String(m["message"] ?? m["error"] ?? JSON.stringify(m))}`));
        return;
      }
      try {
        if (onMessage(m) === "stop") finish();
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    ws.on("close", (code, reason) => {
      if (code === 1000 || code === 1001 || code === 1005) finish();
      else finish(new CliError(`the gateway closed the stream (${code}${reason.length ? `: ${reason.toString()}` : ""})`));
    });
  });
}
