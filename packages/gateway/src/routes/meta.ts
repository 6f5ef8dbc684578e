// Health, the OpenAPI document, and who the caller is.
import type { FastifyInstance } from "fastify";
import { userOf, type GatewayContext } from "../context.js";
import { isoOfTaiNs } from "../time-params.js";
import { errors } from "./schemas.js";

export function metaRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/health",
    {
      schema: {
        summary: "Liveness of the gateway and its bus (no token needed)",
        tags: ["meta"],
        security: [],
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string", enum: ["ok"] },
              bus: { type: "string", enum: ["connected", "closed"] },
              services: { type: "integer", description: "services in the dictionary" },
              stream: { type: "object", properties: { clients: { type: "integer" }, droppedSlow: { type: "integer" }, sent: { type: "integer" } } },
              commandsSent: { type: "integer" },
              missionTimeNs: { type: "string", description: "the gateway's mission time now (TAI ns, decimal): on a HIL bench the HIL's simulated time; the default end of telemetry and event ranges" },
              missionTime: { type: "string", description: "the same, ISO 8601 UTC" },
            },
          },
        },
      },
    },
    async () => {
      const missionNs = ctx.missionClock.nowTaiNs();
      return {
        status: "ok",
        bus: ctx.bus.isClosed ? "closed" : "connected",
        services: ctx.dictionary.size,
        stream: ctx.stream.stats(),
        commandsSent: ctx.commander.sent,
        missionTimeNs: missionNs.toString(),
        missionTime: isoOfTaiNs(missionNs),
      };
    },
  );

  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/api/whoami",
    {
      config: { role: "viewer" },
      schema: {
        summary: "The user the token belongs to",
        tags: ["users"],
        response: { 200: { type: "object", properties: { user: { type: "string" }, role: { type: "string", enum: ["viewer", "operator", "admin"] } } }, ...errors(401) },
      },
    },
    async (request) => {
      const user = userOf(request);
      return { user: user.name, role: user.role };
    },
  );
}
