// The mission dictionary, from the services' declarations.
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "../context.js";
import { exportXtce } from "../xtce.js";
import { errors } from "./schemas.js";

const limitsSchema = { type: "object", properties: { low: { type: "number" }, high: { type: "number" } } } as const;

export function dictionaryRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/dictionary",
    {
      config: { role: "viewer" },
      schema: {
        summary: "Every declared service: commands (argument JSON Schemas with the declared rules), telemetry, events, parameters",
        tags: ["dictionary"],
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
                    apid: { type: "integer" },
                    description: { type: "string" },
                    commands: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          name: { type: "string" },
                          description: { type: "string" },
                          critical: { type: "boolean" },
                          argumentType: { type: "string" },
                          arguments: { type: "object", additionalProperties: true, description: "JSON Schema of the argument message" },
                        },
                      },
                    },
                    telemetry: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          name: { type: "string" },
                          type: { type: "string" },
                          unit: { type: "string" },
                          description: { type: "string" },
                          limits: { ...limitsSchema, description: "warning limits" },
                          criticalLimits: limitsSchema,
                        },
                      },
                    },
                    events: {
                      type: "array",
                      items: { type: "object", properties: { id: { type: "integer" }, name: { type: "string" }, severity: { type: "string" }, description: { type: "string" } } },
                    },
                    parameters: { type: "array", items: { type: "object", additionalProperties: true } },
                  },
                },
              },
            },
          },
          ...errors(401),
        },
      },
    },
    async () => ({ services: ctx.dictionary.json() }),
  );

  app.get(
    "/api/dictionary/xtce",
    {
      config: { role: "viewer" },
      schema: {
        summary: "The dictionary as an XTCE 1.2 document (for COSMOS, YAMCS and other ground tools)",
        tags: ["dictionary"],
        produces: ["application/xml"],
        response: { 200: { type: "string" }, ...errors(401) },
      },
    },
    async (_request, reply) => {
      reply.type("application/xml; charset=utf-8");
      return exportXtce(ctx.dictionary.declarations());
    },
  );
}
