// startGateway: the fastify server, its auth, and the parts behind it.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import websocket from "@fastify/websocket";
import rateLimit from "@fastify/rate-limit";
import type { KeyStore } from "@umbra/ccsds";
import { consoleWwwRoot } from "@umbra/console";
import { createLogger, type Bus, type Clock, type Logger } from "@umbra/core";
import { GatewayArms } from "./arms.js";
import { roleAtLeast } from "./auth/roles.js";
import { UserStore } from "./auth/users.js";
import { Commander } from "./commanding.js";
import { consoleRoutes } from "./console.js";
import type { GatewayConfig, GatewayContext } from "./context.js";
import { openGatewayDatabase, type GatewayDatabase } from "./db.js";
import { loadProtoTypes } from "./dictionary/descriptor.js";
import { LiveDictionary } from "./dictionary/live.js";
import { HistoryStore } from "./history.js";
import { HttpError } from "./http-errors.js";
import { toJson } from "./json.js";
import { LiveState } from "./live.js";
import { startRawLink, type RawLink } from "./raw-link.js";
import { commandRoutes } from "./routes/commands.js";
import { dictionaryRoutes } from "./routes/dictionary.js";
import { jobRoutes } from "./routes/jobs.js";
import { metaRoutes } from "./routes/meta.js";
import { statusRoutes } from "./routes/status.js";
import { streamRoutes } from "./routes/stream.js";
import { telemetryRoutes } from "./routes/telemetry.js";
import { userRoutes } from "./routes/users.js";
import { StreamHub } from "./stream.js";

export interface GatewayOptions {
  bus: Bus;
  clock: Clock;
  /** Mission time for telemetry and event ranges and the TTC's arm window (default: clock). On a HIL bench, a ToneClock following the HIL. */
  missionClock?: Clock;
  /** How many mission seconds pass per wall second now (a HIL bench at speed 60: 60); default 1. */
  missionRate?: () => number;
  logger?: Logger;
  /** <dataDir>/gateway.db: users, hashed tokens, command history, anti-replay high-water mark. */
  dataDir: string;
  /** The gateway's TC key (ground copy) and its SPI. */
  keys: KeyStore;
  spi: number;
  /** PUS source id of the gateway's TCs (default 0x21). */
  sourceId?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 8080; 0 = ephemeral. */
  port?: number;
  /** Raw CCSDS TCP/UDP link, started when given. */
  rawLink?: { host?: string; tcpPort?: number; udpPort?: number; udpTmTo?: string };
  /** Per user on the command routes, default 600. */
  commandRatePerMinute?: number;
  /** How long ?wait=completion (and an arm) waits, default 30,000. */
  commandTimeoutMs?: number;
  /** On first start (no users): creates user "admin" (role admin) and writes its token here, mode 600. */
  adminTokenFile?: string;
  /** Default 64 KiB. */
  maxBodyBytes?: number;
  /** Per WebSocket client send buffer limit, default 1 MiB. */
  wsBufferBytes?: number;
  /** Timeout of bus queries (TTC archive, jobs, the TTC's arm window), default 5,000 ms. */
  queryTimeoutMs?: number;
  /** Folder of the built operator console served at "/" (default: @umbra/console's dist/www). */
  consoleRoot?: string;
}

export interface Gateway {
  url: string;
  port: number;
  rawLink?: { tcpPort?: number; udpPort?: number };
  close(): Promise<void>;
}

export const DEFAULT_SOURCE_ID = 0x21;
export const DEFAULT_PORT = 8080;
/** When the TTC does not say how long an arm lasts. */
const DEFAULT_ARM_WINDOW_MS = 60_000;
/** A command's reports are followed at least this long (wait=none commands too). */
const MIN_FOLLOW_MS = 15 * 60_000;

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name}: must be an integer ${min}..${max}, got ${String(value)}`);
  return value;
}

/** "body.args.amount: must be ..." from fastify's schema validation error. */
function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0];
  const context = err.validationContext ?? "body";
  if (!first) return err.message;
  const path = context + (first.instancePath ? first.instancePath.replace(/\//g, ".") : "");
  const params = first.params as Record<string, unknown>;
  if (first.keyword === "additionalProperties") return `${path}.${String(params["additionalProperty"])}: unknown field`;
  if (first.keyword === "required") return `${path}.${String(params["missingProperty"])}: is required`;
  if (first.keyword === "enum") return `${path}: ${first.message ?? "is not allowed"} (${(params["allowedValues"] as unknown[] | undefined)?.join(", ") ?? ""})`;
  return `${path}: ${first.message ?? "is not valid"}`;
}

/** JSON.parse reviver: a body may not carry __proto__, or constructor.prototype (prototype poisoning). */
function refusePoisoning(key: string, value: unknown): unknown {
  if (key === "__proto__") throw new HttpError(400, "bad_request", "body: a __proto__ property is not accepted");
  if (key === "constructor" && value !== null && typeof value === "object" && Object.prototype.hasOwnProperty.call(value, "prototype")) {
    throw new HttpError(400, "bad_request", "body: a constructor.prototype property is not accepted");
  }
  return value;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { bus, clock, keys } = options;
  const log = (options.logger ?? createLogger({ name: "gateway" })).child({ component: "gateway" });
  const spi = int("spi", options.spi, 0, 1, 65534);
  if (!keys.has(spi)) throw new RangeError(`spi: the key store has no key with SPI ${spi}`);
  if (keys.info(spi)?.state !== "active") log.warn({ spi, state: keys.info(spi)?.state }, "the gateway's key is not active in its key store; the TTC may refuse its TCs");
  const config: GatewayConfig = {
    commandRatePerMinute: int("commandRatePerMinute", options.commandRatePerMinute, 600, 1, 1_000_000),
    commandTimeoutMs: int("commandTimeoutMs", options.commandTimeoutMs, 30_000, 1, 3_600_000),
    maxBodyBytes: int("maxBodyBytes", options.maxBodyBytes, 64 * 1024, 64, 64 * 1024 * 1024),
    wsBufferBytes: int("wsBufferBytes", options.wsBufferBytes, 1024 * 1024, 1024, 1024 * 1024 * 1024),
    queryTimeoutMs: int("queryTimeoutMs", options.queryTimeoutMs, 5_000, 1, 600_000),
    defaultArmWindowMs: DEFAULT_ARM_WINDOW_MS,
    consoleRoot: options.consoleRoot ?? consoleWwwRoot(),
  };
  const sourceId = int("sourceId", options.sourceId, DEFAULT_SOURCE_ID, 0, 65535);
  const port = int("port", options.port, DEFAULT_PORT, 0, 65535);
  const host = options.host ?? "127.0.0.1";

  mkdirSync(options.dataDir, { recursive: true });
  const db = openGatewayDatabase(join(options.dataDir, "gateway.db"));
  let app: FastifyInstance | undefined;
  let rawLink: RawLink | undefined;
  const cleanups: (() => void | Promise<void>)[] = [];
  try {
    const users = new UserStore(db, () => new Date(clock.utcMs()));
    bootstrapAdmin(users, options.adminTokenFile, log);
    const history = new HistoryStore(db, () => new Date(clock.utcMs()));
    const types = await loadProtoTypes();
    const dictionary = new LiveDictionary(bus, clock, types, log);
    const live = new LiveState(bus, clock);
    const commander = new Commander({ bus, clock, log, db, history, keys, spi, sourceId, followMs: Math.max(config.commandTimeoutMs, MIN_FOLLOW_MS) });
    const stream = new StreamHub(config.wsBufferBytes, log);
    live.onTelemetryNotices((n) => stream.telemetry(n));
    live.onEventNotice((e) => stream.event(e));
    commander.onVerification((n) => stream.verification(n));
    const ctx: GatewayContext = { bus, clock, missionClock: options.missionClock ?? clock, missionRate: options.missionRate ?? (() => 1), log, keys, config, users, history, dictionary, types, live, commander, stream, arms: new GatewayArms() };

    app = await buildApp(ctx);
    dictionary.start();
    cleanups.push(() => dictionary.stop());
    live.start();
    cleanups.push(() => live.stop());
    commander.start();
    cleanups.push(() => commander.stop());

    await app.listen({ host, port });
    const address = app.server.address();
    const boundPort = typeof address === "object" && address ? address.port : port;
    if (options.rawLink) {
      rawLink = await startRawLink({ bus, logger: log, ...options.rawLink });
    }
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
    log.info({ url, sourceId, spi, rawLink: rawLink ? { tcpPort: rawLink.tcpPort, udpPort: rawLink.udpPort } : undefined }, "gateway listening");
    let closed = false;
    const server = app;
    return {
      url,
      port: boundPort,
      ...(rawLink ? { rawLink: { ...(rawLink.tcpPort === undefined ? {} : { tcpPort: rawLink.tcpPort }), ...(rawLink.udpPort === undefined ? {} : { udpPort: rawLink.udpPort }) } } : {}),
      async close() {
        if (closed) return;
        closed = true;
        stream.closeAll();
        await server.close();
        await rawLink?.close();
        for (const c of cleanups.reverse()) await c();
        history.flush();
        db.close();
        log.info("gateway closed");
      },
    };
  } catch (err) {
    // Leave nothing behind (a port, a timer, the database open), so a caller may try again.
    try {
      await app?.close();
      await rawLink?.close();
      for (const c of cleanups.reverse()) await c();
    } catch (cleanupErr) {
      log.warn({ err: cleanupErr }, "cleanup after a failed start");
    }
    closeDb(db);
    throw err;
  }
}

function closeDb(db: GatewayDatabase): void {
  try {
    db.close();
  } catch {
    // already closed
  }
}

function bootstrapAdmin(users: UserStore, file: string | undefined, log: Logger): void {
  if (users.count() > 0) return;
  if (!file) {
    log.warn("no users yet and no adminTokenFile: nobody can use the API until an admin is created");
    return;
  }
  const { token } = users.create("admin", "admin");
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, token + "\n", { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (err) {
    users.delete("admin");
    throw new Error(`adminTokenFile: cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  log.info({ file }, "first start: created user admin; its token is in the admin token file");
}

async function buildApp(ctx: GatewayContext): Promise<FastifyInstance> {
  const { config, log } = ctx;
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // Per-request lines would drown the audit lines (arms, critical commands; see commanding.ts) at 1,000 commands a second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    forceCloseConnections: true,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // Bodies are checked as they are: no coercion ("5" is not 5), no silently removed fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
  });
  // Response schemas document the API; JSON.stringify writes it, so nothing is dropped or coerced.
  app.setSerializerCompiler(() => toJson);
  app.setReplySerializer(toJson);
  app.decorateRequest("user", null);

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    const send = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) => {
      if (status === 401) reply.header("www-authenticate", 'Bearer realm="umbra"');
      if (status >= 500 && status !== 503 && status !== 504) log.error({ err, url: request.url }, "request failed");
      reply.code(status).type("application/json; charset=utf-8").send({ error: code, message, ...extra });
    };
    if (err instanceof HttpError) return send(err.statusCode, err.code, err.message, err.extra);
    const e = err as FastifyError;
    if (e.validation) return send(400, "bad_request", validationMessage(e));
    switch (e.code) {
      case "FST_ERR_CTP_BODY_TOO_LARGE":
        return send(413, "body_too_large", `body: larger than the limit of ${config.maxBodyBytes} bytes`);
      case "FST_ERR_CTP_INVALID_JSON_BODY":
        return send(400, "malformed_json", `body: not valid JSON (${e.message})`);
      case "FST_ERR_CTP_EMPTY_JSON_BODY":
        return send(400, "malformed_json", "body: empty, but Content-Type says JSON");
      case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
        return send(415, "unsupported_media_type", `body: Content-Type ${JSON.stringify(request.headers["content-type"] ?? "")} is not accepted; send application/json`);
      case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
        return send(400, "bad_request", "body: its length does not match Content-Length");
    }
    if (e instanceof SyntaxError || e.statusCode === 400) {
      const proto = /prototype|constructor/i.test(e.message);
      return send(400, proto ? "bad_request" : "malformed_json", proto ? `body: ${e.message}` : `body: not valid JSON (${e.message})`);
    }
    if (e.statusCode === 429) return send(429, "rate_limited", e.message);
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return send(e.statusCode, "bad_request", e.message);
    return send(500, "internal_error", "internal error; see the gateway's log");
  });
  // Our own JSON parser, for refusals that say what is wrong (fastify's hides the reason).
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(new HttpError(400, "malformed_json", "body: empty, but Content-Type says JSON"), undefined);
    try {
      done(null, JSON.parse(text, refusePoisoning));
    } catch (err) {
      if (err instanceof HttpError) return done(err, undefined);
      done(new HttpError(400, "malformed_json", `body: not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: "not_found", message: `no route ${request.method} ${request.url.split("?")[0]}` });
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Umbra gateway",
        version: "0.1.0",
        description: "REST and WebSocket access to an Umbra payload: the mission dictionary, commanding with verification, history, telemetry, events, jobs and status.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API token (umb_...)" } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(rateLimit, { global: false });

  // Every route that declares a role needs a token of that role or above.
  app.addHook("onRequest", async (request) => {
    const needed = request.routeOptions.config.role;
    if (!needed) return;
    const header = request.headers.authorization;
    let token: string | undefined;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw new HttpError(401, "unauthorized", "authorization: expected \"Bearer <token>\"");
      token = m[1];
    } else if (request.ws) {
      const q = (request.query as Record<string, unknown> | undefined)?.["token"];
      if (typeof q === "string") token = q;
    }
    if (!token) throw new HttpError(401, "unauthorized", `authorization: a token is needed (Authorization: Bearer <token>${request.ws ? " or ?token=" : ""})`);
    const user = ctx.users.authenticate(token);
    if (!user) throw new HttpError(401, "unauthorized", "authorization: unknown token");
    if (!roleAtLeast(user.role, needed)) throw new HttpError(403, "forbidden", `${user.name} is a ${user.role}; this needs ${needed} or above`);
    request.user = user;
  });

  metaRoutes(app, ctx);
  userRoutes(app, ctx);
  dictionaryRoutes(app, ctx);
  commandRoutes(app, ctx);
  telemetryRoutes(app, ctx);
  jobRoutes(app, ctx);
  statusRoutes(app, ctx);
  streamRoutes(app, ctx);
  await consoleRoutes(app, config.consoleRoot, log);
  await app.ready();
  return app;
}
