// Commanding over REST: send a command (JSON in; an authenticated TC on the
// bus out), arm a critical one, and read the gateway's command history.
//
// Nothing reaches the bus until every check has passed: the command exists
// in the dictionary, its arguments fit the argument message and the declared
// rules, and a critical command was armed through this gateway.
import { BusClosedError, BusTimeoutError } from "@umbra/core";
import { umbra } from "@umbra/proto";
import type { FastifyInstance } from "fastify";
import { CommandSendError, type CommandRequest } from "../commanding.js";
import { userOf, type GatewayContext } from "../context.js";
import { checkArguments } from "../dictionary/validate.js";
import { ruleSpecs } from "../dictionary/rules.js";
import type { CommandRecord } from "../history.js";
import { MAX_HISTORY_PAGE } from "../history.js";
import { HttpError, badRequest, notFound } from "../http-errors.js";
import { commandRecordSchema, errors } from "./schemas.js";

interface SendBody {
  service: string;
  command: string;
  args?: unknown;
}

const sendBody = {
  type: "object",
  properties: {
    service: { type: "string", maxLength: 64, description: "service name, as in the dictionary" },
    command: { type: "string", maxLength: 64, description: "command name, as in the dictionary" },
    args: { type: "object", description: "the argument message as JSON (see the command's `arguments` schema in /api/dictionary)" },
  },
  required: ["service", "command"],
  additionalProperties: false,
} as const;

const armBody = {
  type: "object",
  properties: { service: { type: "string", maxLength: 64 }, command: { type: "string", maxLength: 64 } },
  required: ["service", "command"],
  additionalProperties: false,
} as const;

export function commandRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { dictionary, commander, config } = ctx;
  const rateLimit = {
    max: config.commandRatePerMinute,
    timeWindow: 60_000,
    hook: "preParsing" as const,
    keyGenerator: (request: { user: { name: string } | null; ip: string }) => (request.user ? `user:${request.user.name}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request: unknown, context: { after: string; max: number }) =>
      new HttpError(429, "rate_limited", `more than ${context.max} command requests a minute from this user; retry in ${context.after}`),
  };

  /** Looks the command up and checks its arguments; throws the 4xx that explains why not. */
  const prepare = (service: string, command: string, args: unknown) => {
    const found = dictionary.command(service, command);
    if (!found.ok) throw notFound(found.message, "unknown_command");
    const checked = checkArguments(ctx.types, found.command.argumentType, found.command.rules, args ?? {});
    if (!checked.ok) throw badRequest(checked.message, "bad_argument");
    return { found, checked };
  };

  const send = async (req: CommandRequest): Promise<CommandRecord> => {
    try {
      return await commander.send(req);
    } catch (err) {
      if (err instanceof CommandSendError) throw new HttpError(err.status, err.code, err.message);
      throw err;
    }
  };

  app.post<{ Body: SendBody; Querystring: { wait?: "none" | "completion" } }>(
    "/api/commands",
    {
      config: { role: "operator", rateLimit },
      schema: {
        summary: "Send a command: checked against the dictionary, sent as an authenticated ST[8,1] TC, followed through its verification stages",
        description:
          "wait=none (default) answers 202 once the TC is on the bus; wait=completion answers 200 after the completion or failure stage, or 504 with the stages so far. " +
          "A critical command must first be armed with POST /api/commands/arm (409 not_armed otherwise).",
        tags: ["commands"],
        querystring: { type: "object", properties: { wait: { type: "string", enum: ["none", "completion"] } }, additionalProperties: false },
        body: sendBody,
        response: { 200: commandRecordSchema, 202: commandRecordSchema, 504: commandRecordSchema, ...errors(400, 401, 403, 404, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const user = userOf(request);
      const { service, command, args } = request.body;
      const { found, checked } = prepare(service, command, args);
      if (found.command.critical) {
        const arm = ctx.arms.consume(found.service.name, found.command.name, ctx.missionClock.monotonicMs());
        if (!arm.ok) {
          ctx.log.warn({ user: user.name, service, command, reason: arm.reason }, "critical command refused: not armed");
          throw new HttpError(409, "not_armed", `${found.service.name}.${found.command.name} is critical and ${arm.reason}: arm it first with POST /api/commands/arm`);
        }
        ctx.log.info({ user: user.name, service, command, armedBy: arm.arm.armedBy, armCommandId: arm.arm.armCommandId }, "critical command executed");
      }
      const record = await send({
        kind: "execute",
        user: user.name,
        service: found.service.name,
        apid: found.service.apid,
        command: found.command.name,
        args: args ?? {},
        encodedArgs: checked.encoded,
        critical: found.command.critical,
      });
      if ((request.query.wait ?? "none") === "none") {
        reply.code(202);
        return record;
      }
      const { record: now, timedOut } = await commander.wait(record.id, config.commandTimeoutMs);
      if (timedOut) {
        reply.code(504);
        return { ...now, state: "timeout" };
      }
      return now;
    },
  );

  app.post<{ Body: { service: string; command: string } }>(
    "/api/commands/arm",
    {
      config: { role: "operator", rateLimit },
      schema: {
        summary: "Arm a critical command (the TTC's `arm`) for one execution within the TTC's arm window",
        tags: ["commands"],
        body: armBody,
        response: {
          200: { ...commandRecordSchema, properties: { ...commandRecordSchema.properties, armedUntil: { type: "string", format: "date-time" }, target: { type: "object", additionalProperties: true } } },
          ...errors(400, 401, 403, 404, 409, 413, 429, 503, 504),
        },
      },
    },
    async (request) => {
      const user = userOf(request);
      const target = dictionary.command(request.body.service, request.body.command);
      if (!target.ok) throw notFound(target.message, "unknown_command");
      if (!target.command.critical) throw badRequest(`command: ${target.service.name}.${target.command.name} is not critical; it needs no arm`, "not_critical");
      const ttc = dictionary.command("ttc", "arm");
      if (!ttc.ok) throw new HttpError(503, "ttc_unavailable", "the TTC has not declared itself (no ttc.arm in the dictionary); nothing was sent");
      const args = { apid: target.service.apid, function: target.command.name };
      const checked = checkArguments(ctx.types, ttc.command.argumentType, ttc.command.rules, args);
      if (!checked.ok) throw badRequest(checked.message, "bad_argument");
      const windowMs = await armWindowMs(ctx);
      // The TTC counts its arm window in mission time (the HIL's, on a bench): so does the gateway.
      const startedMissionMs = ctx.missionClock.monotonicMs();
      const record = await send({ kind: "arm", user: user.name, service: ttc.service.name, apid: ttc.service.apid, command: ttc.command.name, args: { ...args, service: target.service.name }, encodedArgs: checked.encoded });
      const { record: now, timedOut } = await commander.wait(record.id, config.commandTimeoutMs);
      const targetJson = { service: target.service.name, command: target.command.name };
      if (timedOut) throw new HttpError(504, "timeout", `the TTC did not complete the arm within ${config.commandTimeoutMs} ms`, { command: { ...now, state: "timeout" } });
      if (now.state !== "completed") {
        const last = now.stages.at(-1);
        throw new HttpError(409, "arm_refused", `the TTC refused to arm ${targetJson.service}.${targetJson.command}: ${last?.detail || last?.code || "no reason given"}`, { command: now });
      }
      // The arm counts from before the TC was sent: never later than the TTC's own expiry. armedUntil is
      // when that is on the wall clock, at the mission clock's present rate (a HIL bench runs faster).
      const untilMissionMs = startedMissionMs + windowMs;
      const armedUntil = new Date(ctx.clock.utcMs() + wallMsUntil(untilMissionMs - ctx.missionClock.monotonicMs(), ctx.missionRate())).toISOString();
      ctx.arms.set({ service: target.service.name, command: target.command.name, untilMs: untilMissionMs, armedUntil, armedBy: user.name, armCommandId: now.id });
      ctx.log.info({ user: user.name, service: targetJson.service, command: targetJson.command, armedUntil, id: now.id }, "critical command armed");
      return { ...now, armedUntil, target: targetJson };
    },
  );

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    "/api/commands",
    {
      config: { role: "viewer" },
      schema: {
        summary: "The gateway's command history, newest first",
        tags: ["commands"],
        querystring: {
          type: "object",
          properties: { limit: { type: "string", pattern: "^[0-9]{1,7}$", description: `1..${MAX_HISTORY_PAGE} (default 100)` }, before: { type: "string", pattern: "^[0-9]{1,15}$", description: "an id: older commands only" } },
          additionalProperties: false,
        },
        response: { 200: { type: "array", items: commandRecordSchema }, ...errors(400, 401) },
      },
    },
    async (request) => {
      const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
      if (limit < 1 || limit > MAX_HISTORY_PAGE) throw badRequest(`limit: must be 1..${MAX_HISTORY_PAGE}, got ${limit}`);
      const before = request.query.before === undefined ? undefined : Number(request.query.before);
      return ctx.history.list({ limit, ...(before === undefined ? {} : { before }) }).map((r) => commander.get(r.id) ?? r);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/commands/:id",
    {
      config: { role: "viewer" },
      schema: {
        summary: "One command of the history, with its stages",
        tags: ["commands"],
        params: { type: "object", properties: { id: { type: "string", pattern: "^[0-9]{1,15}$" } }, required: ["id"] },
        response: { 200: commandRecordSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const record = commander.get(Number(request.params.id));
      if (!record) throw notFound(`id: no command ${request.params.id}`);
      return record;
    },
  );
}

/** The TTC's arm window, asked each time (an operator may change it); the default when the TTC does not answer. */
/** Wall milliseconds until `missionMs` of mission time have passed at `rate` mission seconds per wall second. */
export function wallMsUntil(missionMs: number, rate: number): number {
  if (missionMs <= 0) return 0;
  // A paused or unknown rate: mission time stands still, and the arm with it; say what the window is at speed 1.
  if (!Number.isFinite(rate) || rate <= 0) return missionMs;
  return missionMs / rate;
}

async function armWindowMs(ctx: GatewayContext): Promise<number> {
  try {
    const report = await ctx.bus.request(umbra.core.v1.GetParameters, { service: "ttc", names: ["armWindowMs"] }, umbra.core.v1.ParameterReport, {
      target: "ttc",
      timeoutMs: Math.min(ctx.config.queryTimeoutMs, 2000),
    });
    const v = report.values.find((p) => p.name === "armWindowMs")?.value;
    const ms = v?.kind === "intValue" ? Number(v.intValue) : v?.kind === "floatValue" ? v.floatValue : undefined;
    if (report.ok && ms !== undefined && Number.isFinite(ms) && ms > 0) return ms;
  } catch (err) {
    if (!(err instanceof BusTimeoutError) && !(err instanceof BusClosedError)) ctx.log.warn({ err }, "arm window not read from the TTC");
  }
  return ctx.config.defaultArmWindowMs;
}
