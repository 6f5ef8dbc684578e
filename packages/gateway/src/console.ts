// The operator console (@umbra/console): its built static files served at
// "/" (index.html, app.js, app.css, source maps). They need no token: the
// app logs in through the API like any client, and the auth hook only
// guards routes that declare a role. Hidden from the OpenAPI document.
//
// The files are listed once at start (wildcard off), so only what the build
// wrote is served and every other path still gets the API's JSON 404. If
// the console was not built, GET / answers 503 saying how to build it.
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import { consoleBuilt } from "@umbra/console";
import type { Logger } from "@umbra/core";
import type { FastifyInstance } from "fastify";

/**
 * What the page may load: only the gateway itself (scripts, styles, the API
 * and its WebSocket); no inline script, no frames, nothing from elsewhere.
 */
export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export async function consoleRoutes(app: FastifyInstance, root: string, log: Logger): Promise<void> {
  if (!consoleBuilt(root)) {
    log.warn({ root }, "the operator console is not built: GET / answers 503 until it is built and the gateway restarts");
    app.get("/", { schema: { hide: true } }, async (_request, reply) => {
      reply.code(503).type("application/json; charset=utf-8");
      return {
        error: "console_not_built",
        message: `the operator console is not built (no ${join(root, "index.html")}): run "pnpm build" (or "pnpm --filter @umbra/console run build:www") and restart the gateway; the API is at /api (see /api/openapi.json)`,
      };
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    wildcard: false,
    index: ["index.html"],
    schemaHide: true,
    // File names do not change between builds (index.html references them with a content hash): revalidate every time.
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader("cache-control", "no-cache");
      res.setHeader("x-content-type-options", "nosniff");
      if (path.endsWith(".html")) {
        res.setHeader("content-security-policy", CONSOLE_CSP);
        res.setHeader("referrer-policy", "no-referrer");
      }
    },
  });
  log.debug({ root }, "serving the operator console at /");
}
