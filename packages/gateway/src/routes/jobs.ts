// Jobs: the jobs service's own queries, passed through (QueryJobs -> JobList,
// GetJobReport -> JobReport; see packages/jobs/README.md). 503 when the jobs
// service does not answer.
import { umbra } from "@umbra/proto";
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "../context.js";
import { badRequest } from "../http-errors.js";
import { messageToJson } from "../dictionary/to-json.js";
import { askService } from "./telemetry.js";
import { anyObject, errors } from "./schemas.js";

const JOB_STATE = "umbra.jobs.v1.JobState";

export function jobRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const states = ctx.types.enum(JOB_STATE);
  const stateNames = states ? [...states.values.keys()].filter((n) => !n.endsWith("UNSPECIFIED")).map((n) => n.replace("JOB_STATE_", "").toLowerCase()) : [];

  app.get<{ Querystring: { state?: string; tenant?: string; limit?: string } }>(
    "/api/jobs",
    {
      config: { role: "viewer" },
      schema: {
        summary: "Jobs, as the jobs service lists them (umbra.jobs.v1.JobList)",
        tags: ["jobs"],
        querystring: {
          type: "object",
          properties: {
            state: { type: "string", maxLength: 200, description: `comma-separated: ${stateNames.join(", ")}` },
            tenant: { type: "string", maxLength: 64 },
            limit: { type: "string", pattern: "^[0-9]{1,6}$" },
          },
          additionalProperties: false,
        },
        response: { 200: anyObject, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const wanted: number[] = [];
      for (const s of (request.query.state ?? "").split(",").map((x) => x.trim()).filter(Boolean)) {
        const n = states?.values.get(`JOB_STATE_${s.toUpperCase().replace(/^JOB_STATE_/, "")}`);
        if (n === undefined || n === 0) throw badRequest(`state: ${JSON.stringify(s.slice(0, 40))} is not one of ${stateNames.join(", ")}`);
        wanted.push(n);
      }
      const list = await askService(
        ctx,
        "jobs",
        umbra.jobs.v1.QueryJobs,
        { states: wanted, tenant: request.query.tenant ?? "", limit: request.query.limit === undefined ? 0 : Number(request.query.limit) },
        umbra.jobs.v1.JobList,
      );
      return messageToJson(ctx.types, "umbra.jobs.v1.JobList", list);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/jobs/:id",
    {
      config: { role: "viewer" },
      schema: {
        summary: "One job's status and decision history (umbra.jobs.v1.JobReport)",
        tags: ["jobs"],
        params: { type: "object", properties: { id: { type: "string", maxLength: 128 } }, required: ["id"] },
        response: { 200: anyObject, ...errors(401, 404, 503) },
      },
    },
    async (request) => {
      const report = await askService(ctx, "jobs", umbra.jobs.v1.GetJobReport, { jobId: request.params.id }, umbra.jobs.v1.JobReport, 404);
      return messageToJson(ctx.types, "umbra.jobs.v1.JobReport", report);
    },
  );
}
