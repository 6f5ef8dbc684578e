#!/usr/bin/env node
// Generates typed static code for every .proto under proto/ with protobufjs-cli:
// generated/messages.js (ESM) and generated/messages.d.ts. Run by `pnpm build`.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..");
const protoRoot = join(pkg, "proto");
const outDir = join(pkg, "generated");
const out = join(outDir, "messages.js");

function protoFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return protoFiles(p);
    return name.endsWith(".proto") ? [p] : [];
  });
}

const sources = protoFiles(protoRoot).sort();
if (sources.length === 0) {
  console.error(`gen: no .proto files under ${protoRoot}`);
  process.exit(1);
}

// Skip the work when nothing changed: generated output is newer than every source.
if (existsSync(out) && existsSync(join(outDir, "messages.d.ts")) && process.argv[2] !== "--force") {
  const built = statSync(out).mtimeMs;
  if (sources.every((s) => statSync(s).mtimeMs < built) && statSync(fileURLToPath(import.meta.url)).mtimeMs < built) {
    process.exit(0);
  }
}

mkdirSync(outDir, { recursive: true });
const require = createRequire(import.meta.url);
const pbjs = join(dirname(require.resolve("protobufjs-cli/package.json")), "bin", "pbjs");
const args = [
  pbjs,
  "--target", "static-module",
  "--wrap", "esm",
  "--dts",
  "--force-long",
  "--path", protoRoot,
  "--out", out,
  ...sources.map((s) => relative(protoRoot, s)),
];
const run = spawnSync(process.execPath, args, { cwd: protoRoot, stdio: "inherit" });
if (run.status !== 0) {
  console.error(`gen: pbjs failed with status ${run.status}`);
  process.exit(run.status ?? 1);
}
console.log(`gen: ${sources.length} .proto files -> ${relative(process.cwd(), out)}`);
