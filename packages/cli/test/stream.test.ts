// followStream against a real WebSocket server on loopback: once the caller
// says "stop", nothing more is handed over, even messages that arrived in the
// same read (umbra tm --count printed more samples than asked for).
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { GatewayClient } from "../src/client/http.js";
import { followStream, type StreamMessage } from "../src/client/stream.js";

let server: WebSocketServer | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function burstServer(messages: number): Promise<string> {
  server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
  server.on("connection", (socket) => {
    socket.once("message", () => {
      // All at once, so they reach the client in one read.
      for (let i = 0; i < messages; i++) socket.send(JSON.stringify({ type: "telemetry", n: i }));
    });
  });
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

describe("followStream", () => {
  it("hands over nothing after the caller said stop, even messages that came in the same read", async () => {
    const baseUrl = await burstServer(50);
    const client = new GatewayClient({ baseUrl, token: "umb_test" });
    const seen: StreamMessage[] = [];
    await followStream(client, { telemetry: ["*"] }, (m) => {
      seen.push(m);
      return seen.length === 3 ? "stop" : undefined;
    });
    await new Promise((r) => setTimeout(r, 50)); // anything late would have arrived by now
    expect(seen.map((m) => m["n"])).toEqual([0, 1, 2]);
  });
});
