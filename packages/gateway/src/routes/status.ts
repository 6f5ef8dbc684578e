// Payload status at a glance, from what the gateway sees live on the bus.
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "../context.js";
import { anyObject, errors } from "./schemas.js";

export function statusRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/status",
    {
      config: { role: "viewer" },
      schema: {
        summary: "Services (alive = a heartbeat within 3x its period), and the latest power, thermal, scrubber, inference, jobs and contact telemetry",
        tags: ["status"],
        response: {
          200: {
            type: "object",
            properties: {
              services: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    name: { type: "string" },
                    node: { type: "string" },
                    host: { type: "string" },
                    pid: { type: "integer" },
                    uptimeMs: { type: "integer" },
                    state: { type: "string" },
                    lastHeartbeat: { type: "string", format: "date-time" },
                    periodMs: { type: "integer" },
                    alive: { type: "boolean" },
                  },
                },
              },
              power: anyObject,
              thermal: anyObject,
              scrubber: anyObject,
              inference: anyObject,
              jobs: anyObject,
              contact: anyObject,
              ttc: anyObject,
            },
          },
          ...errors(401),
        },
      },
    },
    async () => ctx.live.status(),
  );
}
