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
        summary: "Services (alive = a heartbeat within 3x its period), and the latest power, thermal, scrubber, inference, jobs, TTC and supervisor telemetry, and the contact window",
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
              contact: {
                type: "object",
                description: "From the HIL environment's samples (empty on a board without one): stations in view now, and the window the gateway saw",
                properties: {
                  inContact: { type: "boolean" },
                  stationsInView: { type: "array", items: { type: "string" } },
                  sunlit: { type: "boolean", description: "null when not known" },
                  missionTimeNs: { type: "string", description: "mission time of the last sample (TAI ns)" },
                  time: { type: "string", description: "the same, ISO 8601 UTC" },
                  since: { type: "string", description: "when the current state (in contact or not) began (TAI ns)" },
                  sinceTime: { type: "string", description: "the same, ISO 8601 UTC" },
                  sinceSeen: { type: "boolean", description: "false when the state was already so at the gateway's first sample (the true start is earlier)" },
                  lastWindow: {
                    type: "object",
                    description: "the last contact window that ended",
                    properties: {
                      start: { type: "string" },
                      startTime: { type: "string" },
                      end: { type: "string" },
                      endTime: { type: "string" },
                      stations: { type: "array", items: { type: "string" } },
                    },
                  },
                },
              },
              ttc: anyObject,
              supervisor: { ...anyObject, description: "the supervisor's telemetry: mode (1 nominal, 2 safe), bootCount, resetReason, servicesDown, ..." },
            },
          },
          ...errors(401),
        },
      },
    },
    async () => ctx.live.status(),
  );
}
