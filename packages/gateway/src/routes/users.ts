// User management (admin only). A token is shown once, when it is made.
import type { FastifyInstance } from "fastify";
import { ROLES } from "../auth/roles.js";
import { UserStoreError } from "../auth/users.js";
import { userOf, type GatewayContext } from "../context.js";
import { HttpError } from "../http-errors.js";
import { errors } from "./schemas.js";

const STATUS = { bad_request: 400, not_found: 404, conflict: 409 } as const;

function storeCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserStoreError) throw new HttpError(STATUS[err.code], err.code, err.message);
    throw err;
  }
}

const nameParam = { type: "object", properties: { name: { type: "string", maxLength: 64 } }, required: ["name"] } as const;

export function userRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/users",
    {
      config: { role: "admin" },
      schema: {
        summary: "Every user, with how many tokens each has",
        tags: ["users"],
        response: {
          200: {
            type: "array",
            items: { type: "object", properties: { name: { type: "string" }, role: { type: "string" }, createdAt: { type: "string" }, tokens: { type: "integer" } } },
          },
          ...errors(401, 403),
        },
      },
    },
    async () => ctx.users.list(),
  );

  app.post<{ Body: { name: string; role: string } }>(
    "/api/users",
    {
      config: { role: "admin" },
      schema: {
        summary: "Create a user; the response holds their first token (shown once)",
        tags: ["users"],
        body: {
          type: "object",
          properties: { name: { type: "string", maxLength: 64 }, role: { type: "string", enum: [...ROLES] } },
          required: ["name", "role"],
          additionalProperties: false,
        },
        response: { 201: { type: "object", properties: { name: { type: "string" }, role: { type: "string" }, token: { type: "string" } } }, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { user, token } = storeCall(() => ctx.users.create(request.body.name, request.body.role));
      ctx.log.info({ by: userOf(request).name, user: user.name, role: user.role }, "user created");
      reply.code(201);
      return { name: user.name, role: user.role, token };
    },
  );

  app.post<{ Params: { name: string } }>(
    "/api/users/:name/tokens",
    {
      config: { role: "admin" },
      schema: {
        summary: "Issue another token for a user (shown once)",
        tags: ["users"],
        params: nameParam,
        response: { 201: { type: "object", properties: { token: { type: "string" } } }, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const token = storeCall(() => ctx.users.issueToken(request.params.name));
      ctx.log.info({ by: userOf(request).name, user: request.params.name }, "token issued");
      reply.code(201);
      return { token };
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/api/users/:name",
    {
      config: { role: "admin" },
      schema: { summary: "Delete a user and all their tokens", tags: ["users"], params: nameParam, response: { 204: { type: "null" }, ...errors(401, 403, 404, 409) } },
    },
    async (request, reply) => {
      storeCall(() => ctx.users.delete(request.params.name));
      ctx.log.info({ by: userOf(request).name, user: request.params.name }, "user deleted");
      reply.code(204).send();
    },
  );
}
