// Telemetry and events: the latest values seen live, and time-range queries
// answered by the TTC from its archive over the bus (QueryTelemetry,
// QueryEvents): the gateway never opens the TTC's files.
import { BusClosedError, BusRemoteError, BusTimeoutError } from "@umbra/core";
import { umbra, type GeneratedMessageClass, type InitOf, type MessageOf } from "@umbra/proto";
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "../context.js";
import { HttpError, badRequest } from "../http-errors.js";
import { isoOfTaiNs, parseTime } from "../time-params.js";
import { anyObject, errors } from "./schemas.js";

const HOUR_NS = 3_600_000_000_000n;
const SEVERITIES = ["info", "low", "medium", "high"];
export const MAX_TELEMETRY_POINTS = 100_000;
export const MAX_EVENTS = 10_000;

/** A request to a service over the bus, its failures as HTTP errors (503 when nobody answers). */
export async function askService<Q extends GeneratedMessageClass, R extends GeneratedMessageClass>(
  ctx: GatewayContext,
  target: string,
  type: Q,
  value: InitOf<Q>,
  replyType: R,
  remoteStatus = 502,
): Promise<MessageOf<R>> {
  try {
    return await ctx.bus.request(type, value, replyType, { target, timeoutMs: ctx.config.queryTimeoutMs });
  } catch (err) {
    if (err instanceof BusTimeoutError) throw new HttpError(503, `${target}_unavailable`, `the ${target} service did not answer within ${ctx.config.queryTimeoutMs} ms`);
    if (err instanceof BusClosedError) throw new HttpError(503, "bus_closed", "the gateway's bus is closed");
    if (err instanceof BusRemoteError) throw new HttpError(remoteStatus, remoteStatus === 404 ? "not_found" : `${target}_error`, `${target}: ${err.remoteMessage}`);
    throw err;
  }
}

function range(query: { from?: string; to?: string }, nowNs: bigint): { fromNs: bigint; toNs: bigint } {
  let toNs = nowNs;
  if (query.to !== undefined) {
    const t = parseTime("to", query.to);
    if (!t.ok) throw badRequest(t.message);
    toNs = t.ns;
  }
  let fromNs = toNs > HOUR_NS ? toNs - HOUR_NS : 0n;
  if (query.from !== undefined) {
    const f = parseTime("from", query.from);
    if (!f.ok) throw badRequest(f.message);
    fromNs = f.ns;
  }
  if (fromNs > toNs) throw badRequest(`from: ${isoOfTaiNs(fromNs) || fromNs} is after to (${isoOfTaiNs(toNs) || toNs})`);
  return { fromNs, toNs };
}

function limitOf(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw badRequest(`limit: must be an integer 1..${max}, got ${JSON.stringify(text.slice(0, 20))}`);
  return n;
}

const timeProps = {
  from: { type: "string", maxLength: 64, description: "ISO 8601 or TAI ns (decimal); default: one hour before `to`" },
  to: { type: "string", maxLength: 64, description: "ISO 8601 or TAI ns (decimal); default: now" },
} as const;

type Point = MessageOf<typeof umbra.ttc.v1.TelemetryPoint>;

function pointValue(p: Point): number | string | boolean | null {
  switch (p.value) {
    case "number":
      return p.number ?? null;
    case "integer": {
      const n = p.integer;
      if (n === undefined || n === null) return null;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
    case "flag":
      return p.flag ?? null;
    case "text":
      return p.text ?? null;
    default:
      return null;
  }
}

export function telemetryRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/telemetry/latest",
    {
      config: { role: "viewer" },
      schema: {
        summary: "The latest value of every telemetry parameter seen on the bus: { service: { name: { value, missionTimeNs, receivedAt } } }",
        tags: ["telemetry"],
        response: { 200: anyObject, ...errors(401) },
      },
    },
    async () => ctx.live.latestTelemetry(),
  );

  app.get<{ Params: { service: string; name: string }; Querystring: { from?: string; to?: string; limit?: string } }>(
    "/api/telemetry/:service/:name",
    {
      config: { role: "viewer" },
      schema: {
        summary: "Samples of one parameter in a time range, from the TTC's archive (earliest first)",
        tags: ["telemetry"],
        params: { type: "object", properties: { service: { type: "string", maxLength: 64 }, name: { type: "string", maxLength: 64 } }, required: ["service", "name"] },
        querystring: {
          type: "object",
          properties: { ...timeProps, limit: { type: "string", maxLength: 10, description: `1..${MAX_TELEMETRY_POINTS} (default 10,000)` } },
          additionalProperties: false,
        },
        response: {
          200: {
            type: "object",
            properties: {
              service: { type: "string" },
              name: { type: "string" },
              points: { type: "array", items: { type: "object", properties: { missionTimeNs: { type: "string" }, time: { type: "string" }, value: {} } } },
              truncated: { type: "boolean" },
            },
          },
          ...errors(400, 401, 503),
        },
      },
    },
    async (request) => {
      const { service, name } = request.params;
      const { fromNs, toNs } = range(request.query, ctx.missionClock.nowTaiNs());
      const limit = limitOf(request.query.limit, 10_000, MAX_TELEMETRY_POINTS);
      const series = await askService(ctx, "ttc", umbra.ttc.v1.QueryTelemetry, { service, name, fromNs, toNs, limit }, umbra.ttc.v1.TelemetrySeries);
      if (series.error) throw badRequest(`ttc: ${series.error}`, "query_refused");
      return {
        service,
        name,
        points: series.points.map((p) => ({ missionTimeNs: p.tNs.toString(), time: isoOfTaiNs(p.tNs), value: pointValue(p) })),
        truncated: series.truncated,
      };
    },
  );

  app.get<{ Querystring: { from?: string; to?: string; minSeverity?: string; service?: string; limit?: string } }>(
    "/api/events",
    {
      config: { role: "viewer" },
      schema: {
        summary: "Events in a time range, from the TTC's archive (earliest first)",
        tags: ["events"],
        querystring: {
          type: "object",
          properties: {
            ...timeProps,
            minSeverity: { type: "string", enum: SEVERITIES },
            service: { type: "string", maxLength: 64 },
            limit: { type: "string", maxLength: 10, description: `1..${MAX_EVENTS} (default 1,000)` },
          },
          additionalProperties: false,
        },
        response: { 200: { type: "object", properties: { events: { type: "array", items: anyObject }, truncated: { type: "boolean" } } }, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const { fromNs, toNs } = range(request.query, ctx.missionClock.nowTaiNs());
      const limit = limitOf(request.query.limit, 1_000, MAX_EVENTS);
      const list = await askService(
        ctx,
        "ttc",
        umbra.ttc.v1.QueryEvents,
        { fromNs, toNs, limit, minSeverity: request.query.minSeverity ?? "", service: request.query.service ?? "" },
        umbra.ttc.v1.EventList,
      );
      if (list.error) throw badRequest(`ttc: ${list.error}`, "query_refused");
      return {
        events: list.events.map((e) => {
          let args: unknown = {};
          try {
            args = JSON.parse(e.argsJson || "{}");
          } catch {
            args = { raw: e.argsJson };
          }
          return { service: e.service, id: e.id, name: e.name, severity: e.severity, message: e.message, missionTimeNs: e.tNs.toString(), time: isoOfTaiNs(e.tNs), args };
        }),
        truncated: list.truncated,
      };
    },
  );

  app.get(
    "/api/events/recent",
    {
      config: { role: "viewer" },
      schema: { summary: "The last 200 events seen live on the bus, oldest first", tags: ["events"], response: { 200: { type: "array", items: anyObject }, ...errors(401) } },
    },
    async () => ctx.live.recentEvents(),
  );
}
