// Which of the workspace's files go into a bundle's app/ folder. Pure.
//
// The app keeps the workspace's shape (packages/<name>/dist, hil/, config/),
// because the supervisor and the CLI find the services' main scripts and the
// HIL relative to an installation root laid out like the workspace.

/** Workspace projects whose code runs on the payload or plays its environment. */
export const SHIPPED_PROJECT_GLOBS = ["packages/*", "examples/*", "hil"] as const;

/** Does this workspace-relative path (POSIX) belong in the bundle? */
export function isShipped(path: string): boolean {
  if (path.includes("/node_modules/") || path.startsWith("node_modules/")) return false;
  if (path === "config/umbra.yaml") return true;
  const m = /^(packages\/[^/]+|examples\/[^/]+|hil)\/(.+)$/.exec(path);
  if (!m) return false;
  const [, project, rest] = m as unknown as [string, string, string];
  if (rest === "package.json") return true;
  // The operator console's built static files, which the gateway serves (source maps stay behind, as everywhere).
  if (project === "packages/console" && rest.startsWith("dist/www/")) return /^dist\/www\/[A-Za-z0-9._-]+\.(html|js|css)$/.test(rest);
  if (rest.endsWith(".d.ts") || rest.endsWith(".map") || rest.endsWith(".tsbuildinfo")) return false;
  if (rest.startsWith("dist/")) return rest.endsWith(".js") || rest.endsWith(".json");
  // Runtime files outside dist/: generated protobuf code, HIL scenarios, installer assets.
  if (project === "packages/proto" && rest.startsWith("generated/")) return rest.endsWith(".js");
  if (project === "hil" && rest.startsWith("scenarios/")) return true;
  if (project === "packages/installer" && rest.startsWith("assets/")) return true;
  return false;
}

/** The staging workspace's pnpm-workspace.yaml: the shipped projects only (tests and benchmarks stay behind). */
export function stagingWorkspaceYaml(): string {
  return `packages:\n${SHIPPED_PROJECT_GLOBS.map((g) => `  - "${g}"`).join("\n")}\n`;
}

/**
 * A package folder name in pnpm's virtual store (node_modules/.pnpm) as
 * name and version: "fastify@5.1.0", "@scope+name@1.2.3_peer@1" (peer suffix
 * dropped). Undefined for anything else.
 */
export function storeEntryPackage(entry: string): { name: string; version: string } | undefined {
  const m = /^(@[^+@/]+\+[^@/]+|[^@/+][^@/]*)@([0-9][^_/]*)(?:_.*)?$/.exec(entry);
  if (!m) return undefined;
  return { name: m[1]!.replace("+", "/"), version: m[2]! };
}
