// WebSocket /api/stream: live telemetry, events and verification reports.
import type { FastifyInstance } from "fastify";
import { userOf, type GatewayContext } from "../context.js";

export function streamRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/stream",
    {
      websocket: true,
      config: { role: "viewer" },
      schema: {
        summary: "WebSocket: live telemetry, events and verification reports",
        description:
          'Token in ?token= or the Authorization header. Send {"type":"subscribe","telemetry":["<service>.<name>"|"<service>.*"|"*"],"events":bool,"verifications":bool} (again to change it). ' +
          'Messages: {"type":"telemetry",...}, {"type":"event",...}, {"type":"verification",...}, {"type":"subscribed",...}, {"type":"error","message"}. ' +
          "A client that falls more than wsBufferBytes behind is closed with 4008 \"too slow\".",
        tags: ["stream"],
        querystring: { type: "object", properties: { token: { type: "string", maxLength: 128 } } },
      },
    },
    (socket, request) => {
      ctx.stream.add(socket, userOf(request).name);
    },
  );
}
