#!/usr/bin/env node
// Bundles the operator console into static files the gateway serves:
//   dist/www/index.html  the page (references the two files below, with a content hash for caching)
//   dist/www/app.js      the app: Preact views, uPlot, the pure logic; minified ES module
//   dist/www/app.css     the console's CSS with uPlot's
//   dist/www/*.map       source maps
// Everything is local: no CDN, no web fonts, nothing fetched at run time but
// the gateway's own API. Usage: node scripts/build-www.mjs [--outdir DIR] [--no-minify]
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
let outdir = join(pkg, "dist", "www");
let minify = true;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--outdir" && argv[i + 1]) outdir = resolve(argv[++i]);
  else if (argv[i] === "--no-minify") minify = false;
  else {
    console.error(`build-www: unknown argument ${JSON.stringify(argv[i])}; usage: build-www.mjs [--outdir DIR] [--no-minify]`);
    process.exit(2);
  }
}

const started = Date.now();
const result = await build({
  entryPoints: [
    { in: join(pkg, "src/app/main.tsx"), out: "app" },
    { in: join(pkg, "src/app/app.css"), out: "app" },
  ],
  absWorkingDir: pkg,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome109", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify,
  sourcemap: "linked",
  // Nothing may be loaded from elsewhere at run time: a url() in CSS becomes part of the file or fails the build.
  loader: { ".woff": "file", ".woff2": "file", ".png": "dataurl", ".svg": "dataurl" },
  legalComments: "eof",
  metafile: true,
  write: false,
  outdir,
  logLevel: "warning",
});

// Only the files this script writes are removed: --outdir may name any folder.
mkdirSync(outdir, { recursive: true });
for (const f of ["index.html", "app.js", "app.js.map", "app.css", "app.css.map"]) rmSync(join(outdir, f), { force: true });

const written = {};
const sizes = [];
for (const file of result.outputFiles) {
  const name = basename(file.path);
  writeFileSync(join(outdir, name), file.contents);
  written[name] = createHash("sha256").update(file.contents).digest("hex").slice(0, 12);
  if (!name.endsWith(".map")) sizes.push(`${name} ${Math.ceil(file.contents.length / 1024)} KiB`);
}
for (const needed of ["app.js", "app.css"]) {
  if (!written[needed]) {
    console.error(`build-www: esbuild wrote no ${needed}`);
    process.exit(1);
  }
}

const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light" />
    <title>Umbra console</title>
    <link rel="stylesheet" href="app.css?v=${written["app.css"]}" />
    <script type="module" src="app.js?v=${written["app.js"]}"></script>
  </head>
  <body>
    <div id="app"><noscript>The Umbra operator console needs JavaScript.</noscript></div>
  </body>
</html>
`;
writeFileSync(join(outdir, "index.html"), html);
console.log(`build-www: ${outdir} (index.html, ${sizes.join(", ")}) in ${Date.now() - started} ms`);
