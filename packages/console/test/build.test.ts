// The bundle the gateway serves: scripts/build-www.mjs writes index.html,
// app.js and app.css (uPlot's CSS included) into a folder, with nothing
// that would be fetched from elsewhere (the console works offline), and the
// Node side says where the build is and whether it is complete.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_FILES, consoleBuilt, consoleWwwRoot } from "../src/index.js";

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCRIPT = join(PKG, "scripts/build-www.mjs");
/** Absolute URLs a bundle may contain: XML namespace names (Preact's and uPlot's SVG), never fetched. */
const NAMESPACES = new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1998/Math/MathML", "http://www.w3.org/1999/xlink"]);

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "umbra-console-build-"));
  execFileSync(process.execPath, [SCRIPT, "--outdir", out], { stdio: "pipe" });
}, 60_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const read = (f: string) => readFileSync(join(out, f), "utf8");
const hash = (f: string) => createHash("sha256").update(readFileSync(join(out, f))).digest("hex").slice(0, 12);

describe("build-www", () => {
  it("writes the page, the app and its CSS, the page naming each by its content hash", () => {
    expect(consoleBuilt(out)).toBe(true);
    const html = read("index.html");
    expect(html).toContain(`<script type="module" src="app.js?v=${hash("app.js")}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="app.css?v=${hash("app.css")}" />`);
    expect(html).toContain('<div id="app">');
    expect(read("app.js").length).toBeGreaterThan(20_000);
    expect(read("app.js")).toMatch(/\/\/# sourceMappingURL=app\.js\.map\s*$/);
    expect(JSON.parse(read("app.js.map")).version).toBe(3);
  });

  it("includes uPlot's CSS and the console's own limit and severity colours", () => {
    const css = read("app.css");
    expect(css).toContain(".uplot");
    expect(css).toContain(".limit-warning");
    expect(css).toContain(".sev-high");
    expect(css).not.toContain("@import");
  });

  it("loads nothing from elsewhere: no external script, style, font or image; the only absolute URLs are XML namespace names", () => {
    const html = read("index.html");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const css = read("app.css");
    expect(css).not.toMatch(/url\(\s*["']?(https?:)?\/\//);
    expect(css).not.toMatch(/@font-face/);
    const urls = new Set(read("app.js").match(/https?:\/\/[^\s"'`)]+/g) ?? []);
    for (const u of urls) expect(NAMESPACES.has(u), u).toBe(true);
  });

  it("rebuilds over an earlier build, and refuses an unknown argument", () => {
    writeFileSync(join(out, "app.js"), "stale");
    execFileSync(process.execPath, [SCRIPT, "--outdir", out, "--no-minify"], { stdio: "pipe" });
    expect(read("app.js")).not.toBe("stale");
    expect(read("index.html")).toContain(`app.js?v=${hash("app.js")}`);
    const bad = spawnSync(process.execPath, [SCRIPT, "--cdn"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown argument "--cdn"/);
  });
});

describe("where the gateway finds the console", () => {
  it("is the package's dist/www, and a folder counts as built only with every file", () => {
    expect(consoleWwwRoot()).toBe(join(PKG, "dist", "www"));
    expect(CONSOLE_FILES).toEqual(["index.html", "app.js", "app.css"]);
    const partial = mkdtempSync(join(tmpdir(), "umbra-console-partial-"));
    try {
      expect(consoleBuilt(partial)).toBe(false);
      writeFileSync(join(partial, "index.html"), "x");
      writeFileSync(join(partial, "app.js"), "x");
      expect(consoleBuilt(partial)).toBe(false);
      writeFileSync(join(partial, "app.css"), "x");
      expect(consoleBuilt(partial)).toBe(true);
      expect(consoleBuilt(join(partial, "missing"))).toBe(false);
      expect(consoleBuilt(join(partial, "index.html"))).toBe(false);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  });
});
