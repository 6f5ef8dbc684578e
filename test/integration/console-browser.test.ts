// The operator console end to end, in a real browser: `umbra start` (the
// compiled CLI: supervisor, every service in its own process, the HIL, the
// gateway serving the built console) with the example counter service on,
// and Debian's chromium driven headless by playwright-core. As an operator
// would: a bad token is refused with the gateway's reason; the admin logs
// in; a telemetry parameter's value changes and its plot fills; a command
// is refused by the form's own check, then sent and followed to completion
// through its verification stages; the counter's value turns yellow past
// its warning limit; a critical command is armed, confirmed and completes;
// the events it raised appear, and filter by severity; jobs and status
// show; the stream, cut, reconnects; a viewer created through the API sees
// no command controls at all, and a reload keeps the session.
// Screenshots of each step go to test/artifacts/console/.
//
// The page may reach nothing but the gateway (the console works offline),
// and must log no error, CSP violations included.
//
// Runs when /usr/bin/chromium exists, or always with UMBRA_BROWSER_TESTS=1
// (CI), where a missing chromium fails it; skipped otherwise (see
// helpers/browser.ts).
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserGate, CHROMIUM, requireChromium } from "./helpers/browser.js";
import { adminToken, callApi, gatewayUrl } from "./helpers/gateway.js";
import { ROOT, startUmbra, until, type UmbraRun } from "./helpers/stack.js";

const gate = browserGate();
if (!gate.run) console.log(`console-browser: skipped: ${gate.reason}`);

const ARTIFACTS = join(ROOT, "test/artifacts/console");

// The default configuration, with the example counter service on (its add and
// critical reset commands, a count with warning and critical limits, events),
// and the TTC's arm window at 10 simulated minutes: 10 wall seconds at 60x,
// time for a person (or this test) to confirm.
const CONFIG = `services:
  counter:
    enabled: true
  ttc:
    parameters:
      armWindowMs: 600000
`;

let run: UmbraRun | undefined;
let context: BrowserContext | undefined;
let url = "";
let admin = "";
const problems: string[] = [];

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const tid = (id: string) => `[data-testid="${id}"]`;

describe.skipIf(!gate.run)("the operator console in chromium", () => {
  beforeAll(async () => {
    if (gate.run && gate.required) requireChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const f of readdirSync(ARTIFACTS)) if (f.endsWith(".png")) rmSync(join(ARTIFACTS, f));
    // Stops by itself after 5 minutes, should every cleanup below fail.
    run = startUmbra({ config: CONFIG, args: ["--speed", "60", "--duration", "300"] });
    url = await gatewayUrl(run);
    admin = await adminToken(run);
    // The services declare themselves as they start; the console reads the dictionary as it grows, but the test needs these now.
    await until(
      async () => {
        const d = await callApi(url, "GET", "/api/dictionary", admin);
        const names: string[] = (d.body?.services ?? []).map((s: { name: string }) => s.name);
        return ["ttc", "thermal", "counter", "jobs", "supervisor"].every((n) => names.includes(n));
      },
      "ttc, thermal, counter, jobs and supervisor in the dictionary",
      90_000,
      500,
    );
    const { chromium } = await import("playwright-core");
    // A persistent context: its profile folder lies in the run's folder, so the run's cleanup
    // (every process group whose command line names that folder) also ends chromium if close() fails.
    context = await chromium.launchPersistentContext(join(run.dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
    });
    // Nothing but the gateway: a request elsewhere (a CDN, a web font) is refused and recorded.
    const origin = new URL(url).origin;
    await context.route("**/*", (route) => {
      const u = route.request().url();
      if (u.startsWith(origin) || u.startsWith("data:") || u.startsWith("blob:")) return route.continue();
      problems.push(`request outside the gateway: ${u}`);
      return route.abort();
    });
  }, 150_000);

  afterAll(async () => {
    await Promise.race([context?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
    await run?.cleanup();
  }, 60_000);

  it("logs in, watches telemetry, commands with verification, arms a critical command, shows events, jobs and status; a viewer sees no command controls", { timeout: 150_000 }, async () => {
    const page = context!.pages()[0] ?? (await context!.newPage());
    // Every error the page logs is a problem, except the browser's own note of a failed request: those are judged by their response below.
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
    });
    // Every refused request is a problem, except the one this test provokes (the bad token's whoami).
    let expected401 = 1;
    page.on("response", async (r) => {
      if (r.status() < 400) return;
      if (r.status() === 401 && r.url().endsWith("/api/whoami") && expected401-- > 0) return;
      problems.push(`${r.status()} from ${r.request().method()} ${r.url()}: ${(await r.text().catch(() => "")).slice(0, 300)}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

    // Every stream connection passes through here (forwarded as it is), so the test can cut one.
    const streams: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/api\/stream/, (ws) => {
      ws.connectToServer();
      streams.push(ws);
    });

    // ---- a bad token is refused, with the gateway's reason ----
    await page.goto(url + "/");
    await page.fill(tid("login-token"), "umb_thisIsNotAToken0123456789");
    await page.click(tid("login-submit"));
    await page.locator(tid("login-error")).waitFor();
    expect(await page.textContent(tid("login-error"))).toBe("401 unauthorized: authorization: unknown token");
    await shot(page, "01-bad-token");

    // ---- the admin logs in: the status page ----
    await page.fill(tid("login-token"), admin);
    await page.click(tid("login-submit"));
    await page.locator(tid("whoami")).waitFor();
    expect((await page.textContent(tid("whoami")))?.replace(/\s+/g, " ").trim()).toBe("admin admin");
    await page.locator(`${tid("status-mode")} strong:text("nominal")`).waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="service-row"][data-alive="true"]').length >= 6, undefined, { timeout: 30_000 });
    await page.locator(`${tid("stream-state")}:text("live")`).waitFor({ timeout: 15_000 });
    expect(await page.textContent(tid("contact-window"))).toMatch(/contact|station/);
    await shot(page, "02-status");

    // ---- telemetry: a parameter's value changes, and its plot gets points ----
    await page.click(tid("nav-telemetry"));
    await page.selectOption(tid("picker-service"), "thermal");
    await page.selectOption(tid("picker-parameter"), "dieC");
    await page.click(tid("picker-add"));
    const die = page.locator(`${tid("param-card")}[data-key="thermal.dieC"]`);
    await die.waitFor();
    const value = die.locator(tid("param-value"));
    await page.waitForFunction((el) => el?.getAttribute("data-value") !== "", await value.elementHandle(), { timeout: 20_000 });
    const first = await value.getAttribute("data-value");
    await page.waitForFunction(([el, v]) => (el as Element | null)?.getAttribute("data-value") !== v, [await value.elementHandle(), first] as const, { timeout: 30_000 });
    expect(await value.getAttribute("data-value")).not.toBe(first);
    expect(await value.textContent()).toMatch(/°C/);
    // The header's mission time (the gateway's clock, carried on between readings at 60×) keeps up with the samples' time:
    // within 5 minutes of mission time, 5 wall seconds at 60×.
    await page.waitForTimeout(2500);
    const header = Number(await page.getAttribute(tid("mission-time"), "data-utc-ms"));
    const sampled = Number(await value.getAttribute("data-utc-ms"));
    expect(Math.abs(header - sampled), `header ${new Date(header).toISOString()}, sample ${new Date(sampled).toISOString()}`).toBeLessThan(5 * 60_000);
    const plot = page.locator(tid("plot-thermal.dieC"));
    await page.waitForFunction((el) => Number(el?.getAttribute("data-points") ?? 0) >= 5, await plot.elementHandle(), { timeout: 30_000 });
    expect(await plot.locator("canvas").count()).toBeGreaterThan(0);
    // The stream drops: the console reconnects by itself, subscribes again, and the value moves on.
    const opened = streams.length;
    const opens = Number(await page.getAttribute(tid("stream-state"), "data-opens"));
    await streams[opened - 1]!.close({ code: 4000, reason: "cut by the test" });
    await page.locator(`${tid("stream-state")}[data-opens="${opens + 1}"]:text("live")`).waitFor({ timeout: 15_000 });
    expect(streams.length).toBe(opened + 1);
    const afterDrop = await value.getAttribute("data-value");
    await page.waitForFunction(([el, v]) => (el as Element | null)?.getAttribute("data-value") !== v, [await value.elementHandle(), afterDrop] as const, { timeout: 30_000 });
    // The counter's value too, to watch the command below change it.
    await page.selectOption(tid("picker-service"), "counter");
    await page.selectOption(tid("picker-parameter"), "count");
    await page.click(tid("picker-add"));
    const count = page.locator(`${tid("param-card")}[data-key="counter.count"] ${tid("param-value")}`);
    await page.waitForFunction((el) => el?.getAttribute("data-value") === "0", await count.elementHandle(), { timeout: 20_000 });
    expect(await count.getAttribute("data-limit")).toBe("ok");
    await shot(page, "03-telemetry");

    // ---- a command: the form's own check refuses, then it is sent and completes ----
    await page.click(tid("nav-commands"));
    await page.selectOption(tid("command-service"), "counter");
    await page.selectOption(tid("command-name"), "add");
    await page.fill(tid("arg-amount"), "5000");
    await page.click(tid("command-send"));
    expect(await page.textContent(tid("arg-error-amount"))).toBe("amount: 5000 is above the maximum 1000");
    await page.fill(tid("arg-amount"), "150");
    await page.click(tid("command-send"));
    const add = page.locator(`${tid("sent-command")}[data-command="counter.add"]`).first();
    await add.waitFor();
    await page.locator(`${tid("sent-command")}[data-command="counter.add"][data-state="completed"]`).first().waitFor({ timeout: 20_000 });
    expect(await add.locator(`${tid("stage")}`).evaluateAll((els) => els.map((e) => `${e.getAttribute("data-stage")}:${e.getAttribute("data-status")}`))).toEqual([
      "acceptance:ok",
      "start:ok",
      "completion:ok",
    ]);
    expect(await add.locator(`${tid("stage")}[data-stage="completion"]`).textContent()).toContain("count is 150");
    await page.locator(`${tid("history-row")}[data-state="completed"]`).first().waitFor({ timeout: 10_000 });
    await shot(page, "04-command-completed");

    // Past the warning limit (900): the counter's value turns yellow.
    await page.fill(tid("arg-amount"), "800");
    await page.click(tid("command-send"));
    await page.locator(`${tid("sent-command")}[data-command="counter.add"][data-state="completed"]`).nth(1).waitFor({ timeout: 20_000 });
    await page.click(tid("nav-telemetry"));
    await page.waitForFunction((el) => el?.getAttribute("data-value") === "950", await count.elementHandle(), { timeout: 20_000 });
    expect(await count.getAttribute("data-limit")).toBe("warning");
    await shot(page, "05-limit-warning");

    // ---- a critical command: arm, then confirm ----
    await page.click(tid("nav-commands"));
    await page.selectOption(tid("command-service"), "counter");
    await page.selectOption(tid("command-name"), "reset");
    await page.locator(tid("critical-badge")).waitFor();
    expect(await page.locator(tid("command-send")).count()).toBe(0);
    await page.click(tid("command-arm"));
    await page.locator(tid("confirm-panel")).waitFor({ timeout: 20_000 });
    expect(await page.textContent(tid("confirm-panel"))).toMatch(/Send counter\.reset\?.*Armed by arm command \d+ until/s);
    await shot(page, "06-critical-armed");
    await page.click(tid("command-confirm"));
    await page.locator(`${tid("sent-command")}[data-command="counter.reset"][data-state="completed"]`).first().waitFor({ timeout: 20_000 });
    await shot(page, "07-critical-completed");
    await page.click(tid("nav-telemetry"));
    await page.waitForFunction((el) => el?.getAttribute("data-value") === "0", await count.elementHandle(), { timeout: 20_000 });
    expect(await count.getAttribute("data-limit")).toBe("ok");

    // ---- events: the counter's limitExceeded (medium) and reset (info) appear; filters ----
    await page.click(tid("nav-events"));
    const row = (name: string) => page.locator(`${tid("event-row")}[data-service="counter"][data-name="${name}"]`);
    await row("limitExceeded").first().waitFor({ timeout: 20_000 });
    await row("reset").first().waitFor({ timeout: 20_000 });
    expect(await row("limitExceeded").first().getAttribute("data-severity")).toBe("medium");
    await page.selectOption(tid("filter-severity"), "medium");
    await page.selectOption(tid("filter-service"), "counter");
    await page.waitForFunction(() => !document.querySelector('[data-testid="event-row"][data-name="reset"]'));
    expect(await row("limitExceeded").count()).toBeGreaterThan(0);
    expect(await page.locator(`${tid("event-row")}:not([data-service="counter"])`).count()).toBe(0);
    await page.fill(tid("filter-text"), "above limit");
    expect(await row("limitExceeded").count()).toBeGreaterThan(0);
    await shot(page, "08-events");

    // ---- jobs (the launcher's workload submits them) ----
    await page.click(tid("nav-jobs"));
    await page.locator(tid("job-row")).first().waitFor({ timeout: 30_000 });
    await shot(page, "09-jobs");

    // ---- a viewer, created through the API: no command controls anywhere ----
    const created = await callApi(url, "POST", "/api/users", admin, { name: "vera", role: "viewer" });
    expect(created.status).toBe(201);
    await page.click(tid("logout"));
    await page.fill(tid("login-token"), created.body.token);
    await page.click(tid("login-submit"));
    await page.locator(tid("whoami")).waitFor();
    expect((await page.textContent(tid("whoami")))?.replace(/\s+/g, " ").trim()).toBe("vera viewer");
    // The session lasts as long as the tab: a reload keeps it.
    await page.reload();
    await page.locator(`${tid("whoami")}:text("vera")`).waitFor();
    expect(await page.textContent(tid("nav-commands"))).toBe("Command history");
    const controls = ["command-form", "command-sender", "command-send", "command-arm", "command-confirm", "confirm-panel", "command-service"].map(tid).join(", ");
    for (const view of ["status", "telemetry", "commands", "events", "jobs"]) {
      await page.click(tid(`nav-${view}`));
      await page.locator(tid(`view-${view}`)).waitFor();
      expect(await page.locator(controls).count(), view).toBe(0);
    }
    await page.click(tid("nav-commands"));
    await page.locator(tid("viewer-note")).waitFor();
    await page.locator(`${tid("history-row")}`).first().waitFor({ timeout: 10_000 });
    expect(await page.locator("form button, button[type=submit]").count()).toBe(0);
    await shot(page, "10-viewer");

    // Nothing went wrong on the page, and nothing was fetched from elsewhere.
    expect(problems).toEqual([]);
    expect(readdirSync(ARTIFACTS).filter((f) => f.endsWith(".png")).length).toBe(10);
  });
});
